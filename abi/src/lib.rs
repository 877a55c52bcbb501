//! The user/kernel boundary of Warden: system call numbers, `errno` values
//! and the structures passed through system calls (the equivalent of
//! `sys/syscall.h`, `sys/errno.h` and `sys/stat.h`). Shared by the kernel
//! (`os/`), the user programs (`user/`) and the module interface (`lkm/`).
//!
//! How the modules fit:
//! - [`syscall`]: the calling convention and the number of every system call.
//! - [`errno`]: error numbers (Linux numbering) with their names and messages.
//! - [`fs`]: open flags, file modes, `Stat`, `Dirent`, device numbers.
//! - [`proc`]: what `spawn`, `wait` and `ps` exchange with the kernel.
//!
//! Every struct here is `#[repr(C)]` with explicit padding, so kernel and
//! user programs agree on its bytes.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod errno;
pub mod fs;
pub mod proc;
pub mod syscall;

pub use errno::Errno;
