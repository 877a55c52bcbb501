//! The user/kernel boundary of Warden: system call numbers, `errno` values
//! and the structures passed through system calls (the equivalent of
//! `sys/syscall.h`, `sys/errno.h` and `sys/stat.h`). Shared by the kernel
//! (`os/`), the user programs (`user/`) and the module interface (`lkm/`).
#![no_std]
