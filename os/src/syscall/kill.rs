//! `kill(pid) -> 0`: ends another process, with the rule of Unix: the
//! caller's uid must be the target's, or the caller the superuser (else
//! `EPERM`); no such process (or a kernel thread, or one that has already
//! ended) is `ESRCH`; `init` cannot be killed (`EPERM`).
//!
//! A process cannot be torn down from outside while it may be inside the
//! kernel (it could hold a lock or a file it is reading), so killing marks
//! it, and it ends itself, with status [`STATUS_KILLED`], where that is
//! safe: at once if it kills itself, else when its current system call
//! returns or at the first timer tick that finds it running in user mode
//! (a tick hook, added on the first `kill`). A process asleep in the
//! kernel ends when that call returns; [`mark`] wakes it, and reading the
//! console then returns at once with `EINTR` (it checks [`is_killed`]).
//! The console's Ctrl-C uses [`mark`] too (docs/userspace.md).

use super::{Args, ret};
use crate::arch::TrapFrame;
use crate::proc::{self, INIT_PID, Pid, State, life, sched};
use crate::sync::{IrqLock, LockClass};
use crate::time;
use abi::Errno;
use abi::proc::STATUS_KILLED;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Processes killed that have not ended yet.
static KILLED: IrqLock<Vec<Pid>> = IrqLock::with_class(LockClass::Killed, Vec::new());
/// How many [`KILLED`] holds, read without the lock on every system call.
static KILLED_COUNT: AtomicUsize = AtomicUsize::new(0);
static HOOKED: AtomicBool = AtomicBool::new(false);

pub fn sys_kill(a: &Args) -> isize {
    ret((|| {
        let pid = Pid::try_from(a.a[0]).map_err(|_| Errno::ESRCH)?;
        let caller = proc::current_uid();
        let target_uid = {
            let tasks = proc::TASKS.lock();
            let t = tasks.get(&pid).filter(|t| !t.kernel && !matches!(t.state, State::Zombie(_))).ok_or(Errno::ESRCH)?;
            t.uid
        };
        if pid == INIT_PID || (caller != 0 && caller != target_uid) {
            return Err(Errno::EPERM);
        }
        if pid == proc::current_pid() {
            log::info!("process {pid} killed itself");
            life::exit(STATUS_KILLED);
        }
        mark(pid)?;
        log::info!("process {pid} killed by uid {caller}");
        Ok(0)
    })())
}

/// Marks process `pid` (checked by the caller: a user process, not
/// `init`) to end at its next safe point, and wakes it if it sleeps on a
/// channel. Safe in interrupt context (the console's Ctrl-C calls it):
/// `EAGAIN` without a free tick hook, `ENOMEM` when the list cannot grow.
pub fn mark(pid: Pid) -> Result<(), Errno> {
    if !HOOKED.swap(true, Ordering::AcqRel) && !time::add_tick_hook(on_tick) {
        HOOKED.store(false, Ordering::Release);
        return Err(Errno::EAGAIN);
    }
    let mut killed = KILLED.lock();
    if !killed.contains(&pid) {
        // Forget processes that ended another way (pids are never reused).
        killed.retain(|p| proc::TASKS.lock().get(p).is_some_and(|t| !matches!(t.state, State::Zombie(_))));
        killed.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        killed.push(pid);
        KILLED_COUNT.store(killed.len(), Ordering::Release);
    }
    drop(killed);
    // Wake it if it sleeps on a channel: a sleep that checks `is_killed`
    // (reading the console) then returns; others sleep again.
    let asleep_on = match proc::TASKS.lock().get(&pid).map(|t| t.state) {
        Some(State::Sleeping { channel, until: None }) => Some(channel),
        _ => None,
    };
    if let Some(channel) = asleep_on {
        sched::wakeup(channel);
    }
    Ok(())
}

/// True if `pid` was killed and has not ended yet: a sleep inside the
/// kernel that can be cut short (reading the console) checks it, so the
/// call returns and the process ends.
pub fn is_killed(pid: Pid) -> bool {
    KILLED_COUNT.load(Ordering::Acquire) != 0 && KILLED.lock().contains(&pid)
}

/// The tick hook: [`end_if_killed`] when the tick interrupted user mode.
fn on_tick(frame: &mut TrapFrame) {
    if frame.from_user() {
        end_if_killed();
    }
}

/// Ends the running process if it was killed. Called where it holds
/// nothing in the kernel: on a tick in user mode, and when a system call
/// has returned.
pub fn end_if_killed() {
    if KILLED_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let pid = proc::current_pid();
    let doomed = {
        let mut killed = KILLED.lock();
        let at = killed.iter().position(|&p| p == pid);
        let doomed = at.map(|i| killed.swap_remove(i)).is_some();
        KILLED_COUNT.store(killed.len(), Ordering::Release);
        doomed
    };
    if doomed {
        life::exit(STATUS_KILLED);
    }
}
