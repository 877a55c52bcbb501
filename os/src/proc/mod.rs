//! Processes and kernel threads.
//!
//! Every thread of control is a [`Task`] with its own kernel stack (a
//! [`KernelStack`], with an unmapped guard page below it). A user
//! process is a task with a user address space, descriptors, a current
//! directory and a uid; a kernel thread has none of these. Tasks live in
//! one table keyed by pid.
//!
//! - [`sched`]: the round-robin scheduler, preemption on the timer tick,
//!   sleeping and waking up.
//! - [`space`]: user address spaces and their pages; [`text`]: read-only
//!   program pages shared between processes.
//! - [`elf`], [`exec`]: loading programs through the exec switch.
//! - [`life`]: how processes begin and end: spawn, exec, exit, wait, and
//!   faults in user mode.

pub mod elf;
pub mod exec;
pub mod life;
pub mod sched;
pub mod space;
pub mod text;

use crate::fs::file::FdTable;
use crate::memory::stack::KernelStack;
use crate::sync::{IrqLock, LockClass};
use abi::Errno;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use space::UserSpace;

/// A process id.
pub type Pid = u32;

/// The idle thread's pid.
pub const IDLE_PID: Pid = 0;
/// `init`'s pid; orphans are given to it.
pub const INIT_PID: Pid = 1;

/// Most tasks (zombies included) at once; `spawn` beyond it is `EAGAIN`.
pub const MAX_TASKS: usize = abi::proc::MAX_PROCESSES;

/// Size of every kernel stack.
pub const KERNEL_STACK_SIZE: usize = 32 * 1024;

/// What a task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// On the processor now.
    Running,
    /// Waiting in the run queue.
    Ready,
    /// Waiting for [`sched::wakeup`] on `channel`, or for tick `until`.
    Sleeping { channel: usize, until: Option<u64> },
    /// Ended with this status; waiting for its parent to collect it.
    Zombie(i32),
}

/// One thread of control.
pub struct Task {
    pub pid: Pid,
    pub ppid: Pid,
    pub name: String,
    pub state: State,
    /// Kernel stack, with a guard page below (`None` for the idle task,
    /// which runs on the boot stack); `saved_rsp` points into it while the
    /// task is not running.
    kstack: Option<KernelStack>,
    pub saved_rsp: u64,
    /// User memory (`None` for kernel threads, and after exit).
    pub space: Option<UserSpace>,
    pub fds: FdTable,
    pub cwd: String,
    pub uid: u32,
    /// Timer ticks spent running.
    pub ticks: u64,
    /// For a new process: where user mode starts (rip, rsp). For `exec`:
    /// where the system call returns to.
    pub user_start: Option<(u64, u64)>,
    pub kernel: bool,
    /// Whether a CPU runs on this task's stack: set when a CPU switches to
    /// it, cleared by `arch::context::switch` once the CPU has left the
    /// stack. Another CPU may not switch to the task, nor free it, before.
    pub on_cpu: AtomicBool,
    /// The CPU that last ran the task (`ps` shows it).
    pub last_cpu: u32,
}

impl Task {
    /// Top of the kernel stack (16-byte aligned).
    pub fn kstack_top(&self) -> u64 {
        self.kstack.as_ref().map_or(0, KernelStack::top)
    }

    /// A task with a fresh kernel stack prepared to start at `entry(arg)`;
    /// `ENOMEM` if no stack can be made.
    fn new(pid: Pid, ppid: Pid, name: &str, entry: extern "C" fn(u64) -> !, arg: u64) -> Result<Box<Task>, Errno> {
        let kstack = KernelStack::new(KERNEL_STACK_SIZE).map_err(|_| Errno::ENOMEM)?;
        let mut task = Box::new(Task {
            pid,
            ppid,
            name: String::from(name),
            state: State::Ready,
            kstack: Some(kstack),
            saved_rsp: 0,
            space: None,
            fds: FdTable::new(),
            cwd: String::from("/"),
            uid: 0,
            ticks: 0,
            user_start: None,
            kernel: true,
            on_cpu: AtomicBool::new(false),
            last_cpu: 0,
        });
        let top = task.kstack_top();
        // SAFETY: the stack was just allocated and belongs to this task alone.
        task.saved_rsp = unsafe { crate::arch::context::prepare_stack(top, entry, arg) };
        Ok(task)
    }
}

/// Every task, by pid.
pub(crate) static TASKS: IrqLock<BTreeMap<Pid, Box<Task>>> = IrqLock::with_class(LockClass::Tasks, BTreeMap::new());
static NEXT_PID: AtomicU32 = AtomicU32::new(INIT_PID);

/// The pid of the task running on this CPU (kept in the CPU's per-CPU
/// record; `IDLE_PID`, 0, until the scheduler switches).
pub fn current_pid() -> Pid {
    crate::arch::percpu::current().current_task()
}

fn set_current(pid: Pid) {
    crate::arch::percpu::current().set_current_task(pid);
}

fn next_pid() -> Pid {
    NEXT_PID.fetch_add(1, Ordering::Relaxed)
}

/// Runs `f` on the running task (under the task lock: `f` must not sleep).
pub fn with_current<R>(f: impl FnOnce(&mut Task) -> R) -> R {
    let mut tasks = TASKS.lock();
    let task = tasks.get_mut(&current_pid()).expect("the running task is in the table");
    f(task)
}

/// The running process's uid: whose rights a system call, a device
/// request or a module run has. 0 (root) when no process is running, for
/// the kernel's own work.
pub fn current_uid() -> u32 {
    TASKS.lock().get(&current_pid()).map_or(0, |t| t.uid)
}

/// One row of `ps`.
pub fn snapshot() -> Vec<abi::proc::ProcInfo> {
    let tasks = TASKS.lock();
    tasks
        .values()
        .map(|t| {
            let mut info = abi::proc::ProcInfo::EMPTY;
            info.pid = t.pid;
            info.ppid = t.ppid;
            info.uid = t.uid;
            info.state = match t.state {
                State::Running => abi::proc::ProcState::Running,
                State::Ready => abi::proc::ProcState::Ready,
                State::Sleeping { .. } => abi::proc::ProcState::Sleeping,
                State::Zombie(_) => abi::proc::ProcState::Zombie,
            } as u32;
            info.ticks = t.ticks;
            info.mem = t.space.as_ref().map_or(0, UserSpace::mapped_bytes);
            info.kernel = t.kernel as u32;
            info.cpu = t.last_cpu;
            let name = t.name.as_bytes();
            let n = name.len().min(abi::proc::PROC_NAME_MAX);
            info.name[..n].copy_from_slice(&name[..n]);
            info.name_len = n as u32;
            info
        })
        .collect()
}

/// Number of tasks in the table (zombies included).
pub fn task_count() -> usize {
    TASKS.lock().len()
}

#[cfg(feature = "ktest")]
mod isolation_tests;
#[cfg(feature = "ktest")]
pub(crate) mod smp_tests;
#[cfg(feature = "ktest")]
mod tests;
