//! `callrate [P] [N] [-n MODULE]`: system-call throughput with P processes
//! at once. Starts P copies of itself (`callrate -w N NR`), each making N
//! calls of `getpid`, or of the system call that module MODULE added (with
//! all arguments 0), waits for all, and prints the calls per second of the
//! whole: `callrate: 4 processes x 20000 calls of getpid in 85 ms: 941176
//! calls/s`. With as many processes as CPUs, the figure shows how the
//! system-call path scales across CPUs (docs/performance.md).
#![no_std]
#![no_main]
extern crate alloc;
use user::{println, sys};
user::entry!(main);

const USAGE: &str = "callrate [PROCESSES] [CALLS] [-n MODULE]";

fn main(args: user::Args) -> i32 {
    if args.get(1) == Some("-w") {
        let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
        let nr: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(abi::syscall::SYS_GETPID);
        for _ in 0..n {
            // SAFETY: all arguments are 0: a call that takes a pointer
            // gets a null one, which the kernel checks and refuses.
            let _ = unsafe { sys::raw(nr, [0; 6]) };
        }
        return 0;
    }
    let number = |i: usize, default: u64| match args.get(i).map(str::parse::<u64>) {
        None => Some(default),
        Some(Ok(n)) if (1..=1_000_000_000).contains(&n) => Some(n),
        Some(_) => None,
    };
    let (Some(procs), Some(calls)) = (number(1, 4), number(2, 20_000)) else { return user::usage(USAGE) };
    let (nr, what) = match (args.get(3), args.get(4)) {
        (None, _) => (abi::syscall::SYS_GETPID, alloc::string::String::from("getpid")),
        (Some("-n"), Some(module)) => match user::lkm::syscall_slot(module) {
            Ok(nr) => (nr, alloc::format!("`{module}`'s system call")),
            Err(f) => {
                user::eprint!("{}", f.render("callrate"));
                return 1;
            }
        },
        _ => return user::usage(USAGE),
    };
    let (calls_text, nr_text) = (alloc::format!("{calls}"), alloc::format!("{nr}"));
    let start = sys::uptime_ns();
    let mut started = 0;
    for i in 0..procs {
        match sys::spawn("/bin/callrate", &["callrate", "-w", &calls_text, &nr_text]) {
            Ok(_) => started += 1,
            Err(e) => {
                user::report(&alloc::format!("spawn {i}"), e);
                break;
            }
        }
    }
    let mut failed = 0;
    for _ in 0..started {
        match sys::wait(None) {
            Ok((_, 0)) => {}
            Ok(_) => failed += 1,
            Err(e) => return user::report("wait", e),
        }
    }
    let ns = sys::uptime_ns().saturating_sub(start).max(1);
    let total = started * calls;
    println!(
        "callrate: {started} processes x {calls} calls of {what} in {} ms: {} calls/s",
        ns / 1_000_000,
        u128::from(total) * 1_000_000_000 / u128::from(ns)
    );
    if failed == 0 && started == procs { 0 } else { 1 }
}
