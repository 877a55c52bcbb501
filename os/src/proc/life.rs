//! How processes begin and end: `spawn` (a new process running a
//! program), `exec` (this process runs another program), `exit`, `wait`,
//! and the end of a program that faults in user mode.

use super::exec::{self, Image};
use super::sched;
use super::{INIT_PID, Pid, State, TASKS, Task, current_pid, next_pid, with_current};
use crate::arch::fault::{self, Fault};
use crate::arch::{self, TrapFrame, context};
use crate::fs::file::{self, OpenFile};
use crate::memory::AddressSpace;
use abi::Errno;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// The channel a parent sleeps on in `wait`.
fn wait_channel(parent: Pid) -> usize {
    0x5741_0000_0000 + parent as usize
}

/// First code of every user process: leave for user mode where exec said.
extern "C" fn user_entry(_arg: u64) -> ! {
    let start = with_current(|t| t.user_start.take());
    let Some((rip, rsp)) = start else { exit(abi::proc::STATUS_FAULT) };
    // SAFETY: the scheduler activated this task's address space, where exec
    // mapped `rip` as code and `rsp` as stack, and set its kernel stack.
    unsafe { context::enter_user(rip, rsp) }
}

/// What a new process is given.
pub struct SpawnSpec<'a> {
    pub path: &'a str,
    pub argv: Vec<String>,
    /// The child's descriptors 0, 1, 2.
    pub fds: [Option<Arc<OpenFile>>; 3],
    pub uid: u32,
    pub cwd: String,
    pub parent: Pid,
}

/// Loads a program and makes it a ready process; returns its pid.
pub fn spawn(spec: SpawnSpec<'_>) -> Result<Pid, Errno> {
    if super::task_count() >= super::MAX_TASKS {
        return Err(Errno::EAGAIN);
    }
    let Image { space, entry, stack_pointer, name } = exec::load(spec.uid, &spec.cwd, spec.path, spec.argv)?;
    let pid = next_pid();
    let mut task = Task::new(pid, spec.parent, &name, user_entry, 0)?;
    task.kernel = false;
    task.space = Some(space);
    task.uid = spec.uid;
    task.cwd = spec.cwd;
    task.user_start = Some((entry, stack_pointer));
    for (fd, f) in spec.fds.into_iter().enumerate() {
        if let Some(f) = f {
            task.fds.set(fd, f)?;
        }
    }
    Ok(sched::admit(task))
}

/// Starts `/bin/init` as pid 1 with the console on descriptors 0, 1, 2.
pub fn start_init(path: &str) -> Result<Pid, Errno> {
    let console = file::open(0, "/", "/dev/console", abi::fs::O_RDWR, 0)?;
    let fds = [Some(console.clone()), Some(console.clone()), Some(console)];
    let spec = SpawnSpec {
        path,
        argv: alloc::vec![String::from("init")],
        fds,
        uid: 0,
        cwd: String::from("/"),
        parent: super::IDLE_PID,
    };
    spawn(spec)
}

/// Replaces the running process's program. On success the system call
/// returns into the new program at the (rip, rsp) left in `user_start`.
pub fn exec(path: &str, argv: Vec<String>) -> Result<(), Errno> {
    let (uid, cwd) = with_current(|t| (t.uid, t.cwd.clone()));
    let image = exec::load(uid, &cwd, path, argv)?;
    // SAFETY: the new space maps the kernel half like every space.
    unsafe { image.space.space().activate() };
    let old = with_current(|t| {
        t.name = image.name;
        t.user_start = Some((image.entry, image.stack_pointer));
        t.space.replace(image.space)
    });
    drop(old);
    Ok(())
}

/// Ends the running process with `status`: closes its files, frees its
/// memory, gives its children to init, wakes its parent. Never returns.
pub fn exit(status: i32) -> ! {
    let pid = current_pid();
    if pid == INIT_PID && !with_current(|t| t.kernel) {
        log::error!("init exited with status {status}; nothing will start a shell again");
    }
    // SAFETY: the kernel's own space maps everything the kernel uses.
    unsafe { AddressSpace::kernel().activate() };
    let (fds, space, parent) = with_current(|t| (core::mem::take(&mut t.fds), t.space.take(), t.ppid));
    // Files and memory are released outside the task lock: a driver's
    // close may take other locks.
    drop(fds);
    drop(space);
    arch::disable_interrupts();
    // Zombie, wake-ups and the switch under one hold of the locks: the
    // parent (maybe on another CPU) cannot reap this task before this CPU
    // has taken what it needs to switch away from it (`sched`).
    let mut tasks = TASKS.lock();
    let mut orphans_done = false;
    for t in tasks.values_mut() {
        if t.ppid == pid {
            t.ppid = INIT_PID;
            orphans_done |= matches!(t.state, State::Zombie(_));
        }
    }
    if let Some(t) = tasks.get_mut(&pid) {
        t.state = State::Zombie(status);
    }
    let mut ready = sched::ready_queue();
    let mut woke = sched::wakeup_locked(&mut tasks, &mut ready, wait_channel(parent));
    if orphans_done {
        woke |= sched::wakeup_locked(&mut tasks, &mut ready, wait_channel(INIT_PID));
    }
    if woke {
        sched::wake_idle_cpu();
    }
    sched::switch_locked(tasks, ready);
    unreachable!("a zombie was scheduled again");
}

/// Waits for a child (`pid`, or any if `None`) to end; returns its pid
/// and status and forgets it. `ECHILD` if there is no such child.
pub fn wait(pid: Option<Pid>) -> Result<(Pid, i32), Errno> {
    let me = current_pid();
    let matches = move |t: &Task| t.ppid == me && t.pid != me && pid.is_none_or(|p| p == t.pid);
    let mut found = None;
    sched::sleep_until(wait_channel(me), || {
        let tasks = TASKS.lock();
        let mut children = tasks.values().filter(|t| matches(t)).peekable();
        if children.peek().is_none() {
            found = Some(Err(Errno::ECHILD));
            return true;
        }
        if let Some(z) = children.find(|t| matches!(t.state, State::Zombie(_))) {
            found = Some(Ok(z.pid));
            return true;
        }
        false
    });
    let child = found.unwrap_or(Err(Errno::ECHILD))?;
    let task = TASKS.lock().remove(&child).ok_or(Errno::ECHILD)?;
    let State::Zombie(status) = task.state else { return Err(Errno::ECHILD) };
    // The child may have exited on another CPU that is still switching
    // away from its stack (interrupts off, a few instructions): the stack
    // is freed only once that CPU has left it.
    while task.on_cpu.load(core::sync::atomic::Ordering::Acquire) {
        core::hint::spin_loop();
    }
    drop(task);
    Ok((child, status))
}

/// Installed as the handler of exceptions in user mode: reports the
/// program, the address and the reason on its standard error and in the
/// kernel log, and ends only that program.
pub fn on_user_fault(_frame: &mut TrapFrame, fault: &Fault) {
    // A first touch of reserved zero-filled memory: map it and retry.
    if let Some(addr) = fault.address.filter(|_| fault.error_code & fault::pf::PRESENT == 0) {
        if with_current(|t| t.space.as_mut().is_some_and(|s| s.fault_in(addr))) {
            return;
        }
    }
    let (pid, name, stderr) = with_current(|t| (t.pid, t.name.clone(), t.fds.get(2).ok()));
    let message = alloc::format!("{name}[{pid}]: killed by {fault}\n");
    log::info!("{}", message.trim_end());
    match stderr {
        Some(f) => {
            let _ = f.write(message.as_bytes());
        }
        None => crate::serial::write_bytes(message.as_bytes()),
    }
    exit(abi::proc::STATUS_FAULT);
}
