//! System calls: the table and the calls themselves.
//!
//! The table is data: an array of [`NSYSCALL`] slots, each holding an
//! [`Entry`] (a name and a handler) or nothing. [`dispatch`] looks the
//! number up and calls the handler; a free slot gives `ENOSYS`. The
//! system-call module class uses [`replace`] to put its own handler in a
//! slot (getting back what was there, to chain to it or to put back) and
//! [`restore`] to put the old entry back when it unloads. A handler runs
//! with interrupts on and may sleep; the slot's handler is cloned out of
//! the table first, so a module's handler stays alive until every call
//! into it has returned.
//!
//! - [`usercopy`]: checked access to user memory.
//! - [`files`], [`process`], [`info`], [`chmod`], [`kill`]: the built-in calls.
//!
//! Every number here may come from a program, so arithmetic in this module
//! is checked (`checked_`, `saturating_`, `wrapping_` where wrapping is
//! meant): clippy's `arithmetic_side_effects` is denied, and a plain `+`
//! on a user's value does not get past `cargo clippy`.
#![deny(clippy::arithmetic_side_effects)]

pub mod chmod;
pub mod files;
pub mod info;
pub mod kill;
pub mod process;
pub mod usercopy;

use crate::arch::{self, syscall_entry::SyscallFrame};
use crate::proc;
use crate::sync::{IrqLock, LockClass};
use abi::Errno;
use abi::syscall::*;
use alloc::borrow::Cow;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

pub use abi::syscall::{FIRST_FREE, NSYSCALL};

/// The number and the six raw arguments of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Args {
    pub nr: usize,
    pub a: [u64; 6],
}

/// A handler that is not a plain function (a module's, for instance).
pub trait SyscallHandler: Send + Sync {
    fn call(&self, args: &Args) -> isize;
}

/// What a slot runs.
#[derive(Clone)]
pub enum Handler {
    Builtin(fn(&Args) -> isize),
    Dynamic(Arc<dyn SyscallHandler>),
}

impl Handler {
    pub fn call(&self, args: &Args) -> isize {
        match self {
            Handler::Builtin(f) => f(args),
            Handler::Dynamic(h) => h.call(args),
        }
    }
}

/// One slot of the table.
#[derive(Clone)]
pub struct Entry {
    pub name: Cow<'static, str>,
    pub handler: Handler,
}

static TABLE: IrqLock<[Option<Entry>; NSYSCALL]> = IrqLock::with_class(LockClass::SyscallTable, [const { None }; NSYSCALL]);
static COUNTS: [AtomicU64; NSYSCALL] = [const { AtomicU64::new(0) }; NSYSCALL];

/// Fills the table with the built-in calls and turns on the `syscall` entry.
pub fn init() {
    let builtin: [(usize, fn(&Args) -> isize); 32] = [
        (SYS_EXIT, process::sys_exit),
        (SYS_READ, files::sys_read),
        (SYS_WRITE, files::sys_write),
        (SYS_OPEN, files::sys_open),
        (SYS_CLOSE, files::sys_close),
        (SYS_IOCTL, files::sys_ioctl),
        (SYS_LSEEK, files::sys_lseek),
        (SYS_GETDENTS, files::sys_getdents),
        (SYS_STAT, files::sys_stat),
        (SYS_MKDIR, files::sys_mkdir),
        (SYS_MKNOD, files::sys_mknod),
        (SYS_MOUNT, files::sys_mount),
        (SYS_UMOUNT, files::sys_umount),
        (SYS_SPAWN, process::sys_spawn),
        (SYS_EXEC, process::sys_exec),
        (SYS_WAIT, process::sys_wait),
        (SYS_GETPID, process::sys_getpid),
        (SYS_GETUID, process::sys_getuid),
        (SYS_SETUID, process::sys_setuid),
        (SYS_SLEEP, process::sys_sleep),
        (SYS_UPTIME, info::sys_uptime),
        (SYS_PROCINFO, info::sys_procinfo),
        (SYS_KLOG, info::sys_klog),
        (SYS_CHDIR, files::sys_chdir),
        (SYS_GETCWD, files::sys_getcwd),
        (SYS_FSTAT, files::sys_fstat),
        (SYS_YIELD, process::sys_yield),
        (SYS_UNLINK, files::sys_unlink),
        (SYS_KINFO, info::sys_kinfo),
        (SYS_MOUNTS, info::sys_mounts),
        (SYS_CHMOD, chmod::sys_chmod),
        (SYS_KILL, kill::sys_kill),
    ];
    let mut table = TABLE.lock();
    for (nr, f) in builtin {
        let name = abi::syscall::name(nr).unwrap_or("?");
        table[nr] = Some(Entry { name: Cow::Borrowed(name), handler: Handler::Builtin(f) });
    }
    drop(table);
    arch::syscall_entry::init(on_syscall);
}

/// Runs call `args.nr` through the table.
pub fn dispatch(args: &Args) -> isize {
    let handler = TABLE.lock().get(args.nr).and_then(|e| e.as_ref().map(|e| e.handler.clone()));
    match handler {
        Some(h) => {
            COUNTS[args.nr].fetch_add(1, Ordering::Relaxed);
            h.call(args)
        }
        None => Errno::ENOSYS.to_ret(),
    }
}

/// Puts `entry` in slot `nr` (or empties it with `None`); returns what was
/// there. `EINVAL` for a number outside the table.
pub fn replace(nr: usize, entry: Option<Entry>) -> Result<Option<Entry>, Errno> {
    let mut table = TABLE.lock();
    let slot = table.get_mut(nr).ok_or(Errno::EINVAL)?;
    Ok(core::mem::replace(slot, entry))
}

/// Puts back what [`replace`] returned.
pub fn restore(nr: usize, previous: Option<Entry>) -> Result<(), Errno> {
    replace(nr, previous).map(drop)
}

/// The entry in slot `nr`, if any.
pub fn entry(nr: usize) -> Option<Entry> {
    TABLE.lock().get(nr).and_then(Clone::clone)
}

/// The first empty slot at or after [`FIRST_FREE`].
pub fn first_free() -> Option<usize> {
    let table = TABLE.lock();
    (FIRST_FREE..NSYSCALL).find(|&nr| table[nr].is_none())
}

/// How many times call `nr` was made since boot.
pub fn call_count(nr: usize) -> u64 {
    COUNTS.get(nr).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// (number, name) of every filled slot.
pub fn names() -> Vec<(usize, alloc::string::String)> {
    let table = TABLE.lock();
    table.iter().enumerate().filter_map(|(nr, e)| e.as_ref().map(|e| (nr, e.name.clone().into_owned()))).collect()
}

/// Converts a handler's result into the raw return value.
pub(crate) fn ret(r: Result<usize, Errno>) -> isize {
    match r {
        Ok(v) => v.min(isize::MAX as usize) as isize,
        Err(e) => e.to_ret(),
    }
}

/// Called by the `syscall` entry for every system call.
extern "C" fn on_syscall(frame: &mut SyscallFrame) {
    arch::enable_interrupts();
    let args = Args { nr: frame.rax as usize, a: frame.args() };
    let result = dispatch(&args);
    kill::end_if_killed();
    frame.rax = result as u64;
    if let Some((rip, rsp)) = proc::with_current(|t| t.user_start.take()) {
        // `exec` succeeded: return into the new program, registers cleared.
        *frame = SyscallFrame { rip, rsp, rflags: 0x202, ..SyscallFrame::default() };
    }
    arch::disable_interrupts();
}

#[cfg(feature = "ktest")]
mod tests;
