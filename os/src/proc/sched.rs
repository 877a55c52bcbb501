//! The scheduler: round robin over the ready tasks, preempted by the timer.
//!
//! A task runs until it sleeps, exits, yields, or uses up its time slice
//! of [`SLICE_TICKS`] timer ticks; then [`schedule`] switches to the task
//! at the head of the run queue (the idle task if the queue is empty).
//! The idle task takes its turn in the queue like any other (it gives the
//! processor away at once when others are ready, and halts otherwise), so
//! code running as the idle task during boot and tests is never starved.
//! Sleeping is on a *channel*, any number that names what is awaited
//! (`sleep_until` / `wakeup`, as in xv6), or until a tick count.
//!
//! Everything here runs with interrupts off while it touches the queues,
//! and no lock is held across a switch.

use super::{IDLE_PID, Pid, State, TASKS, Task, current_pid, set_current, with_current};
use crate::arch::{self, context, syscall_entry};
use crate::fs::console;
use crate::memory::AddressSpace;
use crate::sync::{IrqLock, LockClass};
use crate::time;
use abi::Errno;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicU32, Ordering};

/// Ticks a task may run before it is preempted.
pub const SLICE_TICKS: u32 = 2;

static READY: IrqLock<VecDeque<Pid>> = IrqLock::with_class(LockClass::Ready, VecDeque::new());
static SLICE: AtomicU32 = AtomicU32::new(SLICE_TICKS);

/// Makes the code running now (the boot thread) the idle task, pid 0, and
/// starts preemption on the timer tick.
pub fn init() {
    if TASKS.lock().contains_key(&IDLE_PID) {
        return;
    }
    let idle = Box::new(Task {
        pid: IDLE_PID,
        ppid: IDLE_PID,
        name: "idle".into(),
        state: State::Running,
        kstack: None,
        saved_rsp: 0,
        space: None,
        fds: crate::fs::file::FdTable::new(),
        cwd: "/".into(),
        uid: 0,
        ticks: 0,
        user_start: None,
        kernel: true,
    });
    TASKS.lock().insert(IDLE_PID, idle);
    set_current(IDLE_PID);
    if !time::add_tick_hook(on_tick) {
        log::error!("sched: no free tick hook; tasks will only switch when they sleep");
    }
}

/// Adds a task to the table and the run queue.
pub(super) fn admit(task: Box<Task>) -> Pid {
    let pid = task.pid;
    let mut tasks = TASKS.lock();
    tasks.insert(pid, task);
    READY.lock().push_back(pid);
    pid
}

/// Starts a kernel thread running `entry(arg)`; `ENOMEM` without a stack.
pub fn spawn_kernel_thread(name: &str, entry: extern "C" fn(u64) -> !, arg: u64) -> Result<Pid, Errno> {
    let task = Task::new(super::next_pid(), current_pid(), name, entry, arg)?;
    Ok(admit(task))
}

/// Switches to the next ready task. The caller turned interrupts off and
/// set the running task's state: still `Running` means "yield" (it goes
/// to the back of the queue); `Sleeping` or `Zombie` means it leaves the
/// processor until woken (or for good).
pub fn schedule() {
    let cur = current_pid();
    let (save, load, kstack_top, space, kernel, next) = {
        let mut tasks = TASKS.lock();
        let mut ready = READY.lock();
        if let Some(t) = tasks.get_mut(&cur) {
            if t.state == State::Running {
                t.state = State::Ready;
                ready.push_back(cur);
            }
        }
        let next = loop {
            match ready.pop_front() {
                Some(pid) if tasks.get(&pid).is_some_and(|t| t.state == State::Ready) => break pid,
                Some(_) => continue,
                None => break IDLE_PID,
            }
        };
        SLICE.store(SLICE_TICKS, Ordering::Relaxed);
        let Some(n) = tasks.get_mut(&next) else { return };
        n.state = State::Running;
        if next == cur {
            return;
        }
        let load = n.saved_rsp;
        let top = n.kstack_top();
        let space = n.space.as_ref().map(|s| *s.space());
        let kernel = n.kernel;
        let Some(c) = tasks.get_mut(&cur) else { return };
        (&mut c.saved_rsp as *mut u64, load, top, space, kernel, next)
    };
    set_current(next);
    if !kernel {
        syscall_entry::set_kernel_stack(kstack_top);
    }
    // SAFETY: the kernel half, where this code and every kernel stack
    // live, is the same in every address space.
    unsafe { space.unwrap_or_else(AddressSpace::kernel).activate() };
    // SAFETY: interrupts are off; `save` points into the current task's
    // boxed record, which stays in the table at least until it is reaped
    // (after this switch); `load` was saved by `switch` or made by
    // `prepare_stack` on a stack that is still allocated.
    unsafe { context::switch(save, load) };
}

/// Gives the processor to the next ready task, if any.
pub fn yield_now() {
    let were_on = arch::interrupts_enabled();
    arch::disable_interrupts();
    schedule();
    if were_on {
        arch::enable_interrupts();
    }
}

/// Sleeps on `channel` until `ready()` holds. `ready` is checked with
/// interrupts off, so a `wakeup` cannot slip in between the check and the
/// sleep.
pub fn sleep_until(channel: usize, mut ready: impl FnMut() -> bool) {
    let were_on = arch::interrupts_enabled();
    loop {
        arch::disable_interrupts();
        if ready() {
            break;
        }
        with_current(|t| t.state = State::Sleeping { channel, until: None });
        schedule();
        // Let interrupts in between two checks (the idle task itself may
        // sleep here during boot and tests, with nothing else to run).
        if were_on {
            arch::enable_interrupts();
        }
    }
    if were_on {
        arch::enable_interrupts();
    }
}

/// Sleeps for at least `ticks` timer ticks.
pub fn sleep_ticks(ticks: u64) {
    let until = time::ticks() + ticks.max(1);
    let were_on = arch::interrupts_enabled();
    while time::ticks() < until {
        arch::disable_interrupts();
        with_current(|t| t.state = State::Sleeping { channel: 0, until: Some(until) });
        schedule();
        if were_on {
            arch::enable_interrupts();
        }
    }
    if were_on {
        arch::enable_interrupts();
    }
}

/// Makes every task sleeping on `channel` ready.
pub fn wakeup(channel: usize) {
    let mut tasks = TASKS.lock();
    let mut ready = READY.lock();
    for t in tasks.values_mut() {
        if let State::Sleeping { channel: c, until: None } = t.state {
            if c == channel {
                t.state = State::Ready;
                ready.push_back(t.pid);
            }
        }
    }
}

/// The timer tick: accounting, timed wake-ups, console input, preemption.
fn on_tick(_frame: &mut arch::TrapFrame) {
    console::poll();
    let now = time::ticks();
    {
        let mut tasks = TASKS.lock();
        let mut ready = READY.lock();
        for t in tasks.values_mut() {
            match t.state {
                State::Running => t.ticks += 1,
                State::Sleeping { until: Some(u), .. } if u <= now => {
                    t.state = State::Ready;
                    ready.push_back(t.pid);
                }
                _ => {}
            }
        }
    }
    if SLICE.fetch_sub(1, Ordering::Relaxed) <= 1 || current_pid() == IDLE_PID {
        schedule();
    }
}

/// What the idle task does forever: serve the console's magic key
/// ([`crate::sysrq`]), wait for interrupts, run whatever becomes ready.
pub fn idle_loop() -> ! {
    loop {
        console::poll();
        crate::sysrq::run_pending();
        arch::disable_interrupts();
        if READY.lock().is_empty() {
            arch::wait_for_interrupt();
        } else {
            schedule();
            arch::enable_interrupts();
        }
    }
}
