//! The Warden user runtime: what every program in `src/bin` is built on.
//!
//! - [`entry!`] defines the program entry `_start`: it reads `argc` and
//!   `argv` from the stack as the kernel's `exec` lays them out
//!   (`[rsp] = argc`, `[rsp + 8..]` = pointers to NUL-terminated strings,
//!   then a null pointer) and calls the program's `main(Args) -> i32`,
//!   whose result becomes the exit status.
//! - [`sys`]: one safe wrapper per system call, returning
//!   `Result<_, Errno>`.
//! - [`io`]: `print!`, `println!`, `eprintln!` on fds 1 and 2, reading lines.
//! - [`args`]: the argument list and a small option parser.
//! - [`heap`]: the allocator (a free list over a static arena), so programs
//!   can use `Vec` and `String`.
//! - [`lkm`]: `/dev/lkm` for `modload`, `modunload`, `modstat` and `lkmd`.
//! - [`passwd`]: user names from `/etc/passwd`.
//! - [`shell`]: the command language of `sh` (tested on the host by
//!   `tests/tests/shell.rs`).
//!
//! The entry, the panic handler and the allocator exist only when built
//! for Warden (`target_os = "none"`); on the host the crate is a plain
//! library, so the host tests can use its pure parts.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod args;
pub mod heap;
pub mod io;
pub mod lkm;
pub mod passwd;
pub mod shell;
pub mod sys;

pub use abi::Errno;
pub use args::Args;

/// Defines `_start` for a program whose entry is `fn main(args: Args) -> i32`.
///
/// ```ignore
/// #![no_std]
/// #![no_main]
/// user::entry!(main);
/// fn main(args: user::Args) -> i32 { 0 }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// Program entry: the kernel jumps here with `argc` at `[rsp]`.
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        #[unsafe(link_section = ".text._start")]
        pub unsafe extern "C" fn _start() -> ! {
            core::arch::naked_asm!(
                "mov rdi, [rsp]",
                "lea rsi, [rsp + 8]",
                "and rsp, -16",
                "call {start}",
                "ud2",
                start = sym $crate::start_program,
            )
        }

        #[unsafe(no_mangle)]
        extern "Rust" fn __user_main(args: $crate::Args) -> i32 {
            $main(args)
        }
    };
}

#[cfg(target_os = "none")]
unsafe extern "Rust" {
    safe fn __user_main(args: Args) -> i32;
}

/// Called by `_start`: sets up the heap and arguments, runs `main`, exits.
///
/// # Safety
/// `argv` must point to `argc` pointers to NUL-terminated strings that
/// live for the whole program, as the kernel's `exec` provides.
#[cfg(target_os = "none")]
pub unsafe extern "C" fn start_program(argc: usize, argv: *const *const u8) -> ! {
    heap::init();
    // SAFETY: the caller (the `_start` above, fed by `exec`) passes the
    // argument vector the kernel wrote onto the new stack.
    let args = unsafe { Args::from_raw(argc, argv) };
    let status = __user_main(args);
    sys::exit(status)
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    eprintln!("{}: panic: {}", args::program_name(), info.message());
    sys::exit(101)
}

/// Prints `PROGRAM: what: message` on stderr the way Unix tools do
/// (`cat: /nope: No such file or directory`) and returns exit status 1.
pub fn report(what: &str, err: Errno) -> i32 {
    eprintln!("{}: {}: {}", args::program_name(), what, err.message());
    1
}

/// Prints `usage: ...` on stderr and returns exit status 2.
pub fn usage(text: &str) -> i32 {
    eprintln!("usage: {text}");
    2
}
