//! System call wrappers: the `syscall` instruction and one safe function
//! per call. Arguments follow `abi::syscall`; results are
//! `Result<_, Errno>`.

use abi::proc::{ProcInfo, SpawnRequest, UserStr, FD_INHERIT};
use abi::syscall::*;
use abi::fs::Stat;
use abi::Errno;
use core::arch::asm;

/// Executes `syscall` with number `nr` and six arguments; the raw result.
///
/// # Safety
/// Pointers among the arguments must be valid for what call `nr` does with
/// them (the kernel checks them against the address space, but Rust must
/// not be told that memory it owns was left untouched when it was written).
#[inline(always)]
pub unsafe fn raw(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the `syscall` instruction saves rip in rcx and rflags in r11,
    // which are declared clobbered; the kernel preserves every other
    // register and returns on the same stack.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn call(nr: usize, a: [usize; 6]) -> Result<usize, Errno> {
    // SAFETY: every wrapper below passes pointers derived from live Rust
    // references with their true lengths.
    Errno::from_ret(unsafe { raw(nr, a) })
}

/// Ends the program with `status`.
pub fn exit(status: i32) -> ! {
    let _ = call(SYS_EXIT, [status as usize, 0, 0, 0, 0, 0]);
    // The kernel never returns from exit; spin if it somehow does.
    loop {
        core::hint::spin_loop();
    }
}

pub fn read(fd: usize, buf: &mut [u8]) -> Result<usize, Errno> {
    call(SYS_READ, [fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0])
}

pub fn write(fd: usize, buf: &[u8]) -> Result<usize, Errno> {
    call(SYS_WRITE, [fd, buf.as_ptr() as usize, buf.len(), 0, 0, 0])
}

/// Writes all of `buf`, retrying short writes.
pub fn write_all(fd: usize, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        buf = &buf[n..];
    }
    Ok(())
}

pub fn open(path: &str, flags: u32, mode: u32) -> Result<usize, Errno> {
    call(SYS_OPEN, [path.as_ptr() as usize, path.len(), flags as usize, mode as usize, 0, 0])
}

pub fn close(fd: usize) -> Result<usize, Errno> {
    call(SYS_CLOSE, [fd, 0, 0, 0, 0, 0])
}

pub fn ioctl(fd: usize, cmd: usize, arg: usize) -> Result<usize, Errno> {
    call(SYS_IOCTL, [fd, cmd, arg, 0, 0, 0])
}

pub fn lseek(fd: usize, offset: i64, whence: u32) -> Result<usize, Errno> {
    call(SYS_LSEEK, [fd, offset as usize, whence as usize, 0, 0, 0])
}

/// Fills `buf` with `abi::fs::Dirent` records; returns bytes filled (0 at the end).
pub fn getdents(fd: usize, buf: &mut [abi::fs::Dirent]) -> Result<usize, Errno> {
    let bytes = core::mem::size_of_val(buf);
    call(SYS_GETDENTS, [fd, buf.as_mut_ptr() as usize, bytes, 0, 0, 0])
}

pub fn stat(path: &str) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    call(SYS_STAT, [path.as_ptr() as usize, path.len(), &mut st as *mut Stat as usize, 0, 0, 0])?;
    Ok(st)
}

pub fn fstat(fd: usize) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    call(SYS_FSTAT, [fd, &mut st as *mut Stat as usize, 0, 0, 0, 0])?;
    Ok(st)
}

pub fn mkdir(path: &str, mode: u32) -> Result<usize, Errno> {
    call(SYS_MKDIR, [path.as_ptr() as usize, path.len(), mode as usize, 0, 0, 0])
}

pub fn mknod(path: &str, mode: u32, dev: u32) -> Result<usize, Errno> {
    call(SYS_MKNOD, [path.as_ptr() as usize, path.len(), mode as usize, dev as usize, 0, 0])
}

pub fn unlink(path: &str) -> Result<usize, Errno> {
    call(SYS_UNLINK, [path.as_ptr() as usize, path.len(), 0, 0, 0, 0])
}

pub fn chmod(path: &str, mode: u32) -> Result<usize, Errno> {
    call(SYS_CHMOD, [path.as_ptr() as usize, path.len(), mode as usize, 0, 0, 0])
}

pub fn kill(pid: usize) -> Result<usize, Errno> {
    call(SYS_KILL, [pid, 0, 0, 0, 0, 0])
}

pub fn mount(fstype: &str, source: &str, target: &str) -> Result<usize, Errno> {
    call(
        SYS_MOUNT,
        [
            fstype.as_ptr() as usize,
            fstype.len(),
            source.as_ptr() as usize,
            source.len(),
            target.as_ptr() as usize,
            target.len(),
        ],
    )
}

pub fn umount(target: &str) -> Result<usize, Errno> {
    call(SYS_UMOUNT, [target.as_ptr() as usize, target.len(), 0, 0, 0, 0])
}

fn user_strs(args: &[&str]) -> alloc::vec::Vec<UserStr> {
    args.iter().map(|a| UserStr { ptr: a.as_ptr() as u64, len: a.len() as u64 }).collect()
}

/// Starts `path` as a new process with `argv`; `fds` names the caller's
/// descriptors that become the child's 0, 1, 2 (`FD_INHERIT` for the same).
pub fn spawn_with(path: &str, argv: &[&str], fds: [i32; 3]) -> Result<usize, Errno> {
    let strs = user_strs(argv);
    let req = SpawnRequest {
        path: UserStr { ptr: path.as_ptr() as u64, len: path.len() as u64 },
        argv: strs.as_ptr() as u64,
        argc: strs.len() as u64,
        fds,
        _pad: 0,
    };
    call(SYS_SPAWN, [&req as *const SpawnRequest as usize, 0, 0, 0, 0, 0])
}

/// Starts `path` with `argv`, sharing the caller's fds 0, 1, 2.
pub fn spawn(path: &str, argv: &[&str]) -> Result<usize, Errno> {
    spawn_with(path, argv, [FD_INHERIT; 3])
}

/// Replaces this program with `path`; returns only on error.
pub fn exec(path: &str, argv: &[&str]) -> Errno {
    let strs = user_strs(argv);
    match call(SYS_EXEC, [path.as_ptr() as usize, path.len(), strs.as_ptr() as usize, strs.len(), 0, 0]) {
        Ok(_) => Errno::EIO,
        Err(e) => e,
    }
}

/// Waits for child `pid` (or any child if `None`); returns its pid and status.
pub fn wait(pid: Option<usize>) -> Result<(usize, i32), Errno> {
    let mut status: i32 = 0;
    let target = pid.map_or(usize::MAX, |p| p);
    let got = call(SYS_WAIT, [target, &mut status as *mut i32 as usize, 0, 0, 0, 0])?;
    Ok((got, status))
}

pub fn getpid() -> usize {
    call(SYS_GETPID, [0; 6]).unwrap_or(0)
}

pub fn getuid() -> u32 {
    call(SYS_GETUID, [0; 6]).unwrap_or(0) as u32
}

pub fn setuid(uid: u32) -> Result<usize, Errno> {
    call(SYS_SETUID, [uid as usize, 0, 0, 0, 0, 0])
}

pub fn sleep_ms(ms: u64) -> Result<usize, Errno> {
    call(SYS_SLEEP, [ms as usize, 0, 0, 0, 0, 0])
}

/// Nanoseconds since boot.
pub fn uptime_ns() -> u64 {
    call(SYS_UPTIME, [0; 6]).unwrap_or(0) as u64
}

/// Fills `buf` with one row per process; returns the number of rows.
pub fn procinfo(buf: &mut [ProcInfo]) -> Result<usize, Errno> {
    call(SYS_PROCINFO, [buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0])
}

/// Copies kernel log text from position `*pos` into `buf` and advances
/// `*pos`; returns bytes copied (0 when up to date).
pub fn klog(buf: &mut [u8], pos: &mut u64) -> Result<usize, Errno> {
    call(SYS_KLOG, [buf.as_mut_ptr() as usize, buf.len(), pos as *mut u64 as usize, 0, 0, 0])
}

pub fn chdir(path: &str) -> Result<usize, Errno> {
    call(SYS_CHDIR, [path.as_ptr() as usize, path.len(), 0, 0, 0, 0])
}

/// The current directory, written into `buf`; returns it as a `&str`.
pub fn getcwd(buf: &mut [u8]) -> Result<&str, Errno> {
    let n = call(SYS_GETCWD, [buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0])?;
    core::str::from_utf8(&buf[..n.min(buf.len())]).map_err(|_| Errno::EIO)
}

pub fn yield_now() {
    let _ = call(SYS_YIELD, [0; 6]);
}

/// The mount table as text into `buf`; returns its length.
pub fn mounts(buf: &mut [u8]) -> Result<usize, Errno> {
    call(SYS_MOUNTS, [buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0])
}

/// A kernel figure (`abi::syscall::KINFO_*`).
pub fn kinfo(what: usize, arg: usize) -> Result<usize, Errno> {
    call(SYS_KINFO, [what, arg, 0, 0, 0, 0])
}
