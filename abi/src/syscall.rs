//! System call numbers and the calling convention.
//!
//! A user program puts the number in `rax` and up to six arguments in
//! `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`, then executes `syscall`. The
//! result comes back in `rax`: a value `>= 0` on success, `-errno` on
//! failure (see [`crate::errno::Errno::from_ret`]). `rcx` and `r11` are
//! clobbered by the instruction itself; every other register is preserved.
//!
//! Strings are passed as a pointer and a length (no NUL terminator), so
//! the kernel never scans user memory for an end.
//!
//! The table in the kernel has [`NSYSCALL`] slots; numbers from
//! [`FIRST_FREE`] up are free for system-call modules to take.

/// `exit(status) -> !`
pub const SYS_EXIT: usize = 0;
/// `read(fd, buf, len) -> bytes read`
pub const SYS_READ: usize = 1;
/// `write(fd, buf, len) -> bytes written`
pub const SYS_WRITE: usize = 2;
/// `open(path, path_len, flags, mode) -> fd`
pub const SYS_OPEN: usize = 3;
/// `close(fd) -> 0`
pub const SYS_CLOSE: usize = 4;
/// `ioctl(fd, cmd, arg) -> device-defined`
pub const SYS_IOCTL: usize = 5;
/// `lseek(fd, offset, whence) -> new offset`
pub const SYS_LSEEK: usize = 6;
/// `getdents(fd, buf, len) -> bytes filled with [`crate::fs::Dirent`] records`
pub const SYS_GETDENTS: usize = 7;
/// `stat(path, path_len, *mut Stat) -> 0`
pub const SYS_STAT: usize = 8;
/// `mkdir(path, path_len, mode) -> 0`
pub const SYS_MKDIR: usize = 9;
/// `mknod(path, path_len, mode, dev) -> 0`
pub const SYS_MKNOD: usize = 10;
/// `mount(fstype, fstype_len, source, source_len, target, target_len) -> 0`
pub const SYS_MOUNT: usize = 11;
/// `umount(target, target_len) -> 0`
pub const SYS_UMOUNT: usize = 12;
/// `spawn(*const SpawnRequest) -> pid`: a new process running a program.
pub const SYS_SPAWN: usize = 13;
/// `exec(path, path_len, argv: *const UserStr, argc) -> !` (only returns on error)
pub const SYS_EXEC: usize = 14;
/// `wait(pid or -1, *mut i32 status) -> pid of the child that ended`
pub const SYS_WAIT: usize = 15;
/// `getpid() -> pid`
pub const SYS_GETPID: usize = 16;
/// `getuid() -> uid`
pub const SYS_GETUID: usize = 17;
/// `setuid(uid) -> 0` (superuser only, or to one's own uid)
pub const SYS_SETUID: usize = 18;
/// `sleep(milliseconds) -> 0`
pub const SYS_SLEEP: usize = 19;
/// `uptime() -> nanoseconds since boot`
pub const SYS_UPTIME: usize = 20;
/// `procinfo(*mut ProcInfo, max) -> number of entries filled` (for `ps`)
pub const SYS_PROCINFO: usize = 21;
/// `klog(buf, len, *mut u64 pos) -> bytes copied` from the kernel log ring
/// (`dmesg`): reads from position `*pos` (0: the oldest text kept) and
/// stores the position to continue from; 0 bytes means up to date.
pub const SYS_KLOG: usize = 22;
/// `chdir(path, path_len) -> 0`
pub const SYS_CHDIR: usize = 23;
/// `getcwd(buf, len) -> length of the path`
pub const SYS_GETCWD: usize = 24;
/// `fstat(fd, *mut Stat) -> 0`
pub const SYS_FSTAT: usize = 25;
/// `yield() -> 0`: give the processor to the next runnable thread.
pub const SYS_YIELD: usize = 26;
/// `unlink(path, path_len) -> 0`
pub const SYS_UNLINK: usize = 27;
/// `kinfo(what, arg) -> value`: kernel figures for tests and benchmarks,
/// see the `KINFO_*` constants.
pub const SYS_KINFO: usize = 28;

/// `mounts(buf, len) -> bytes`: the mount table as text, one line a mount
/// (`SOURCE on DIR type TYPE`); `ERANGE` if `buf` is too small.
pub const SYS_MOUNTS: usize = 29;
/// `chmod(path, path_len, mode) -> 0`: the owner or the superuser sets the
/// permission bits (`mode` at most `0o777`).
pub const SYS_CHMOD: usize = 30;
/// `kill(pid) -> 0`: ends process `pid` (same uid, or the superuser) with
/// status [`crate::proc::STATUS_KILLED`].
pub const SYS_KILL: usize = 31;

/// Number of slots in the kernel's system-call table.
pub const NSYSCALL: usize = 64;
/// The first slot that no built-in call uses.
pub const FIRST_FREE: usize = 32;

/// `kinfo(KINFO_SYSCALL_CYCLES, n)`: median cycles of `n` in-kernel
/// round trips through the system-call table (a `getpid` each).
pub const KINFO_SYSCALL_CYCLES: usize = 1;
/// `kinfo(KINFO_TSC, 0)`: the time-stamp counter.
pub const KINFO_TSC: usize = 2;
/// `kinfo(KINFO_TSC_HZ, 0)`: time-stamp counter ticks per second.
pub const KINFO_TSC_HZ: usize = 3;
/// `kinfo(KINFO_HEAP_IN_USE, 0)`: bytes of the kernel heap in use (for
/// leak checks such as `sysfuzz`'s).
pub const KINFO_HEAP_IN_USE: usize = 4;
/// `kinfo(KINFO_FRAMES_USED, 0)`: physical frames in use outside the
/// kernel heap (user memory, page tables, stacks, module code).
pub const KINFO_FRAMES_USED: usize = 5;

/// The name of a built-in system call, for traces and `strace`-like tools.
pub fn name(nr: usize) -> Option<&'static str> {
    Some(match nr {
        SYS_EXIT => "exit",
        SYS_READ => "read",
        SYS_WRITE => "write",
        SYS_OPEN => "open",
        SYS_CLOSE => "close",
        SYS_IOCTL => "ioctl",
        SYS_LSEEK => "lseek",
        SYS_GETDENTS => "getdents",
        SYS_STAT => "stat",
        SYS_MKDIR => "mkdir",
        SYS_MKNOD => "mknod",
        SYS_MOUNT => "mount",
        SYS_UMOUNT => "umount",
        SYS_SPAWN => "spawn",
        SYS_EXEC => "exec",
        SYS_WAIT => "wait",
        SYS_GETPID => "getpid",
        SYS_GETUID => "getuid",
        SYS_SETUID => "setuid",
        SYS_SLEEP => "sleep",
        SYS_UPTIME => "uptime",
        SYS_PROCINFO => "procinfo",
        SYS_KLOG => "klog",
        SYS_CHDIR => "chdir",
        SYS_GETCWD => "getcwd",
        SYS_FSTAT => "fstat",
        SYS_YIELD => "yield",
        SYS_UNLINK => "unlink",
        SYS_KINFO => "kinfo",
        SYS_MOUNTS => "mounts",
        SYS_CHMOD => "chmod",
        SYS_KILL => "kill",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_calls_sit_below_the_free_slots() {
        let named: usize = (0..NSYSCALL).filter(|&nr| name(nr).is_some()).count();
        let named_below: usize = (0..FIRST_FREE).filter(|&nr| name(nr).is_some()).count();
        assert_eq!(named, named_below);
        assert_eq!(name(SYS_GETPID), Some("getpid"));
        assert_eq!(name(FIRST_FREE), None);
        assert!(FIRST_FREE < NSYSCALL);
    }
}
