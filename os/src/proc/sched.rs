//! The scheduler: round robin over the ready tasks, on every CPU,
//! preempted by each CPU's timer.
//!
//! A task runs until it sleeps, exits, yields, or uses up its time slice
//! of [`SLICE_TICKS`] ticks of its CPU's timer; then [`schedule`] switches
//! that CPU to the first task of the run queue it may run, or to the CPU's
//! idle loop if there is none. Sleeping is on a *channel*, any number that
//! names what is awaited (`sleep_until` / `wakeup`, as in xv6), or until a
//! tick count.
//!
//! One run queue for all CPUs, under one lock (`READY`, after `TASKS` in
//! docs/locks.md), as xv6 does: a teaching kernel on a few CPUs gains
//! little from per-CPU queues and balancing, and one queue is one place
//! to look. A CPU that makes a task ready wakes a halted idle CPU with an
//! IPI so the task does not wait for that CPU's next tick.
//!
//! Idle: pid 0 is the boot thread, which runs the boot, the in-kernel
//! tests, and the boot CPU's idle loop; it stays on CPU 0 (other CPUs
//! leave it in the queue). Every other CPU idles in its own loop on the
//! stack it started on, which is not a task in the table: while it runs,
//! the CPU's current pid is 0 too, and its stack pointer waits in the
//! CPU's record while the CPU runs a task.
//!
//! Three rules make this safe across CPUs:
//!
//! * A task's stack is in use until `arch::context::switch` has left it:
//!   each task has an `on_cpu` flag, set by the CPU that switches to it
//!   and cleared by `switch` once it has moved to the next stack. A CPU
//!   never picks a task whose flag is still set (it leaves it in the
//!   queue for the next look), and `wait` frees a zombie only after its
//!   flag is clear.
//! * No lost wake-ups (xv6's rule, in the form Linux uses): a sleeper
//!   marks itself sleeping under `TASKS` *before* it checks its
//!   condition, and `wakeup` changes the state under the same lock after
//!   the waker changed the condition. Either the sleeper sees the change,
//!   or the waker sees the sleeper and makes it ready again (then the
//!   sleeper's `schedule` finds itself in the queue).
//! * A task that exits becomes a zombie, wakes its parent and picks the
//!   next task under one hold of `TASKS` and `READY`, so the parent, on
//!   another CPU, cannot take the zombie out of the table before the
//!   exiting CPU has what it needs to switch away from it.
//!
//! Everything here runs with interrupts off while it touches the queue,
//! and no lock is held across a switch.

use super::{IDLE_PID, Pid, State, TASKS, Task, current_pid, set_current, with_current};
use crate::arch::{self, context, percpu, syscall_entry};
use crate::fs::console;
use crate::memory::AddressSpace;
use crate::sync::{IrqLock, IrqLockGuard, LockClass};
use crate::time;
use abi::Errno;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use core::sync::atomic::{AtomicBool, Ordering};

/// Ticks a task may run before it is preempted.
pub const SLICE_TICKS: u32 = 2;

static READY: IrqLock<VecDeque<Pid>> = IrqLock::with_class(LockClass::Ready, VecDeque::new());

type Tasks = IrqLockGuard<'static, BTreeMap<Pid, Box<Task>>>;
type Ready = IrqLockGuard<'static, VecDeque<Pid>>;

/// Makes the code running now (the boot thread) the idle task, pid 0, and
/// starts preemption on every CPU's timer tick.
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
        on_cpu: AtomicBool::new(true),
        last_cpu: 0,
    });
    TASKS.lock().insert(IDLE_PID, idle);
    set_current(IDLE_PID);
    if !time::add_tick_hook(on_tick) || !time::add_cpu_tick_hook(on_cpu_tick) {
        log::error!("sched: no free tick hook; tasks will only switch when they sleep");
    }
}

/// Adds a task to the table and the run queue.
pub(super) fn admit(task: Box<Task>) -> Pid {
    let pid = task.pid;
    {
        let mut tasks = TASKS.lock();
        tasks.insert(pid, task);
        READY.lock().push_back(pid);
    }
    wake_idle_cpu();
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
    let tasks = TASKS.lock();
    let ready = READY.lock();
    switch_locked(tasks, ready);
}

/// Whether this CPU may switch to `task` now (`cur` is the pid it runs).
fn may_run(task: &Task, cur: Pid, cpu: usize) -> bool {
    task.state == State::Ready && (task.pid != IDLE_PID || cpu == 0) && (task.pid == cur || !task.on_cpu.load(Ordering::Acquire))
}

/// [`schedule`] with both locks already held (`exit` needs that); drops
/// them before the switch.
pub(super) fn switch_locked(mut tasks: Tasks, mut ready: Ready) {
    let here = percpu::current();
    let cpu = here.id();
    let cur = current_pid();
    // A started CPU's own idle loop runs as pid 0 but is not CPU 0's task.
    let in_idle_loop = cpu != 0 && cur == IDLE_PID;
    if !in_idle_loop && let Some(t) = tasks.get_mut(&cur) && t.state == State::Running {
        t.state = State::Ready;
        ready.push_back(cur);
    }
    // The first task this CPU may run; entries that are no longer ready
    // are dropped, ready ones this CPU may not run yet are left.
    let mut i = 0;
    let picked = loop {
        let Some(&pid) = ready.get(i) else { break None };
        match tasks.get(&pid) {
            Some(t) if may_run(t, cur, cpu) => {
                ready.remove(i);
                break Some(pid);
            }
            Some(t) if t.state == State::Ready => i += 1,
            _ => {
                ready.remove(i);
            }
        }
    };
    here.start_slice(SLICE_TICKS);
    // Nothing to run: CPU 0 runs pid 0, another CPU its idle loop.
    let next = picked.or((cpu == 0).then_some(IDLE_PID));
    if next == Some(cur) && !in_idle_loop || next.is_none() && in_idle_loop {
        if let Some(t) = tasks.get_mut(&cur) && !in_idle_loop {
            t.state = State::Running;
        }
        return;
    }
    let (save, on_cpu) = if in_idle_loop {
        let (rsp, flag) = here.idle_slots();
        (rsp, flag as *const AtomicBool)
    } else {
        let Some(c) = tasks.get_mut(&cur) else { return };
        (&mut c.saved_rsp as *mut u64, &c.on_cpu as *const AtomicBool)
    };
    let (load, top, space, kernel) = match next.and_then(|pid| tasks.get_mut(&pid)) {
        Some(n) => {
            n.state = State::Running;
            n.on_cpu.store(true, Ordering::Relaxed);
            n.last_cpu = cpu as u32;
            (n.saved_rsp, n.kstack_top(), n.space.as_ref().map(|s| *s.space()), n.kernel)
        }
        None => (here.idle_rsp(), 0, None, true),
    };
    here.set_idle(next.is_none());
    here.count_switch();
    set_current(next.unwrap_or(IDLE_PID));
    drop(ready);
    drop(tasks);
    if !kernel {
        syscall_entry::set_kernel_stack(top);
    }
    // SAFETY: the kernel half, where this code and every kernel stack
    // live, is the same in every address space.
    unsafe { space.unwrap_or_else(AddressSpace::kernel).activate() };
    // SAFETY: interrupts are off. `save` and `on_cpu` point into the
    // current task's boxed record (or this CPU's record), which is not
    // freed while its `on_cpu` flag is set: `wait` frees a zombie only
    // once `switch` has cleared it. `load` was saved by `switch` or made
    // by `prepare_stack` on a stack still allocated, and no other CPU runs
    // on it (its task's flag was clear when it was picked).
    unsafe { context::switch(save, load, on_cpu) };
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

/// Sleeps on `channel` until `ready()` holds. The task is marked sleeping
/// before `ready` is checked, so a `wakeup` on any CPU after the check
/// makes it ready again (see the module documentation).
pub fn sleep_until(channel: usize, mut ready: impl FnMut() -> bool) {
    let were_on = arch::interrupts_enabled();
    loop {
        arch::disable_interrupts();
        with_current(|t| t.state = State::Sleeping { channel, until: None });
        // The state is stored before the condition is read (x86 may
        // otherwise let the read pass the store).
        core::sync::atomic::fence(Ordering::SeqCst);
        if ready() {
            with_current(|t| t.state = State::Running);
            break;
        }
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

/// The run queue, locked (after `TASKS`, for `exit`).
pub(super) fn ready_queue() -> Ready {
    READY.lock()
}

/// Makes every task sleeping on `channel` ready.
pub fn wakeup(channel: usize) {
    let woke = {
        let mut tasks = TASKS.lock();
        let mut ready = READY.lock();
        wakeup_locked(&mut tasks, &mut ready, channel)
    };
    if woke {
        wake_idle_cpu();
    }
}

/// [`wakeup`] with both locks held; `true` if it woke a task.
pub(super) fn wakeup_locked(tasks: &mut Tasks, ready: &mut Ready, channel: usize) -> bool {
    let mut woke = false;
    for t in tasks.values_mut() {
        if let State::Sleeping { channel: c, until: None } = t.state
            && c == channel
        {
            t.state = State::Ready;
            ready.push_back(t.pid);
            woke = true;
        }
    }
    woke
}

/// Wakes one halted idle CPU (other than this one) with an IPI, so that a
/// task just made ready runs without waiting for that CPU's next tick.
/// The CPU is claimed (its idle flag cleared), so the next task made
/// ready wakes another.
pub(super) fn wake_idle_cpu() {
    let me = percpu::cpu_id();
    if let Some(cpu) = percpu::online().find(|c| c.id() != me && c.claim_idle()) {
        arch::ipi::wake(cpu.id());
    }
}

/// The boot CPU's PIT tick: timed wake-ups and console input, and
/// preemption when there is no local APIC timer (no other CPU either).
fn on_tick(frame: &mut arch::TrapFrame) {
    console::poll();
    let now = time::ticks();
    let woke = {
        let mut tasks = TASKS.lock();
        let mut ready = READY.lock();
        let mut woke = false;
        for t in tasks.values_mut() {
            if let State::Sleeping { until: Some(u), .. } = t.state
                && u <= now
            {
                t.state = State::Ready;
                ready.push_back(t.pid);
                woke = true;
            }
        }
        woke
    };
    if woke {
        wake_idle_cpu();
    }
    if percpu::online_count() == 0 {
        on_cpu_tick(frame);
    }
}

/// Every CPU's own timer tick: the running task's accounting and time
/// slice. (Ticks of pid 0 are not counted: on CPU 0 it is mostly the idle
/// loop, and the other CPUs' idle loops are no task.)
fn on_cpu_tick(_frame: &mut arch::TrapFrame) {
    let here = percpu::current();
    let cur = current_pid();
    if cur != IDLE_PID && let Some(t) = TASKS.lock().get_mut(&cur) {
        t.ticks += 1;
    }
    if here.spend_tick() || cur == IDLE_PID {
        schedule();
    }
}

/// Whether the run queue holds a task this CPU may run.
fn work_for(cpu: usize) -> bool {
    let tasks = TASKS.lock();
    let ready = READY.lock();
    ready.iter().any(|pid| tasks.get(pid).is_some_and(|t| may_run(t, IDLE_PID, cpu)))
}

/// What every CPU does when it has nothing else to do: wait for
/// interrupts, run whatever becomes ready. The boot CPU also serves the
/// console's magic key ([`crate::sysrq`]). A started CPU comes here from
/// `arch::smp` once it is online, and never leaves.
pub fn idle_loop() -> ! {
    let here = percpu::current();
    loop {
        if here.id() == 0 {
            console::poll();
            crate::sysrq::run_pending();
        }
        arch::disable_interrupts();
        here.set_idle(true);
        if work_for(here.id()) {
            schedule();
            arch::enable_interrupts();
        } else {
            arch::wait_for_interrupt();
            here.count_wakeup();
        }
    }
}
