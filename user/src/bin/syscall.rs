//! `syscall NR [ARG...]` or `syscall -n MODULE [ARG...]`: makes system
//! call NR (or the one the loaded system-call module MODULE occupies, read
//! with `LMSTAT`) with up to six numeric arguments (decimal from
//! -9223372036854775808 to 18446744073709551615, or hex after `0x`) and prints what it
//! returned: `syscall 30 returned 5`, or `syscall 30 failed: Invalid
//! argument (EINVAL)`. For trying out a system call that a module added.
#![no_std]
#![no_main]
user::entry!(main);

const USAGE: &str = "syscall NR [ARG...] | syscall -n MODULE [ARG...] (at most 6 numeric arguments)";

/// A number as typed: hex after `0x`, else decimal, from the largest
/// unsigned 64-bit value down to the most negative signed one (passed as
/// its two's complement, as the register holds it).
fn number(text: &str) -> Option<usize> {
    let n = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => text.parse::<u64>().ok().or_else(|| text.parse::<i64>().ok().map(|n| n as u64))?,
    };
    usize::try_from(n).ok()
}

fn main(args: user::Args) -> i32 {
    let rest = args.rest();
    let (nr, call_args) = match rest {
        ["-n", module, tail @ ..] => match user::lkm::syscall_slot(module) {
            Ok(nr) => (nr, tail),
            Err(f) => {
                user::eprint!("{}", f.render("syscall"));
                return 1;
            }
        },
        [nr, tail @ ..] => match number(nr) {
            Some(nr) => (nr, tail),
            None => return user::usage(USAGE),
        },
        [] => return user::usage(USAGE),
    };
    if call_args.len() > 6 {
        return user::usage(USAGE);
    }
    let mut a = [0usize; 6];
    for (slot, text) in a.iter_mut().zip(call_args) {
        let Some(v) = number(text) else {
            user::eprintln!("syscall: error: `{text}` is not a number");
            user::eprintln!(
                "syscall: help: write decimal ({} to {}) or hex with 0x",
                i64::MIN,
                u64::MAX
            );
            return 2;
        };
        *slot = v;
    }
    // SAFETY: the arguments are plain numbers typed by the user; a call
    // that takes them as pointers gets them checked by the kernel, which
    // fails with EFAULT rather than touching memory it must not.
    let ret = unsafe { user::sys::raw(nr, a) };
    match user::Errno::from_ret(ret) {
        Ok(v) => {
            user::println!("syscall {nr} returned {v}");
            0
        }
        Err(e) => {
            user::println!("syscall {nr} failed: {} ({})", e.message(), e.name());
            1
        }
    }
}

extern crate alloc;
