//! Per-CPU data, reached through the GS base.
//!
//! Every CPU has one [`PerCpu`] record in a static table. While the CPU
//! runs kernel code its `IA32_GS_BASE` holds the record's address, so
//! `mov %gs:0, %rax` finds it without knowing which CPU this is; while it
//! runs user code the record's address waits in `IA32_KERNEL_GS_BASE` and
//! the user's own GS base is loaded. The entries swap the two with
//! `swapgs`:
//!
//! * `syscall` comes only from user mode: `syscall_entry` always swaps on
//!   entry and before `sysretq`.
//! * Interrupts and exceptions swap only when the saved `cs` says the CPU
//!   was in ring 3 (`trap_entry`, and the page-fault stub, which swaps
//!   twice around reading the kernel stack top). A nested entry (an
//!   interrupt of kernel code, or an exception in a handler) finds the
//!   kernel's GS base already loaded and leaves it.
//! * The exception: an NMI or machine check that hits the few instructions
//!   between `syscall` and `swapgs` (or between `swapgs` and `sysretq` /
//!   `iretq`) arrives from kernel mode with the user's GS base. Their
//!   handlers therefore never use per-CPU data (the NMI handler only
//!   counts in atomics: `klog::nmi`).
//!
//! The record holds the CPU's number and APIC id, the kernel stack top and
//! `syscall` scratch slot, the running task's id, the scheduler's time
//! slice, counters for the `cpus` table, and the state of module code
//! running on this CPU ([`ModuleState`]): the "module code running" flag,
//! the fuel counter the JIT's code spends (`sub qword gs:[FUEL], n`), the
//! stack pointer a fault or a run-out unwinds to, and the registers saved
//! at a fault. Module code therefore runs on every CPU at once, each with
//! its own budget and recovery state.
//!
//! The fields that assembly reads are at fixed offsets ([`KERNEL_STACK`],
//! [`USER_RSP`], [`FUEL`] and the others below), computed with
//! `offset_of!` from the `repr(C)` record.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use x86_64::VirtAddr;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};

/// The most CPUs Warden starts (more in the MADT are left halted).
pub const MAX_CPUS: usize = 16;

/// Offset of [`PerCpu::kernel_stack_top`] (read by the entry stubs).
pub const KERNEL_STACK: usize = 8;
/// Offset of the `syscall` entry's scratch slot for the user's `rsp`.
pub const USER_RSP: usize = 16;
/// Offset of the fuel counter module code spends (`jit::FuelCounter::Gs`).
pub const FUEL: usize = core::mem::offset_of!(PerCpu, module) + core::mem::offset_of!(ModuleState, fuel);
/// Offset of the flag `jit_out_of_fuel` sets.
pub const OUT_OF_FUEL: usize = core::mem::offset_of!(PerCpu, module) + core::mem::offset_of!(ModuleState, out_of_fuel);
/// Offset of the stack pointer a run of module code unwinds to.
pub const SAVED_RSP: usize = core::mem::offset_of!(PerCpu, module) + core::mem::offset_of!(ModuleState, saved_rsp);
/// Offset of module code's stack pointer at its latest helper call.
pub const CALLER_RSP: usize = core::mem::offset_of!(PerCpu, module) + core::mem::offset_of!(ModuleState, caller_rsp);
/// Offset of the 15 registers saved at a fault in module code.
pub const SAVED_REGS: usize = core::mem::offset_of!(PerCpu, module) + core::mem::offset_of!(ModuleState, saved_regs);

/// The state of module code running on one CPU (used by `super::jit` and
/// `super::helper_entry`; module code never nests on a CPU, so one of each).
#[repr(C)]
pub struct ModuleState {
    /// Whether module code is running on this CPU.
    pub(super) running: AtomicBool,
    /// Set by `jit_out_of_fuel`: the run ended there, not at a fault.
    pub(super) out_of_fuel: AtomicBool,
    /// The fuel left to the running code, which decrements it.
    pub(super) fuel: AtomicU64,
    /// The stack pointer `guarded_call_raw` saved after its pushes.
    pub(super) saved_rsp: AtomicU64,
    /// Module code's stack pointer at its latest helper call.
    pub(super) caller_rsp: AtomicU64,
    /// The general registers at a fault, in `jit::FaultRegs` order.
    pub(super) saved_regs: [AtomicU64; 15],
}

impl ModuleState {
    const fn new() -> ModuleState {
        ModuleState {
            running: AtomicBool::new(false),
            out_of_fuel: AtomicBool::new(false),
            fuel: AtomicU64::new(0),
            saved_rsp: AtomicU64::new(0),
            caller_rsp: AtomicU64::new(0),
            saved_regs: [const { AtomicU64::new(0) }; 15],
        }
    }
}

/// One CPU's record.
#[repr(C)]
pub struct PerCpu {
    /// The record's own address (`%gs:0`), so Rust code can find it.
    self_addr: AtomicU64,
    /// Top of the running task's kernel stack: where `syscall` switches to
    /// (the same value as this CPU's TSS.rsp0).
    kernel_stack_top: AtomicU64,
    /// Where `syscall_entry` keeps the user's `rsp` while it switches stacks.
    user_rsp: AtomicU64,
    /// This CPU's number: 0 for the boot CPU, then in MADT order.
    id: AtomicU32,
    /// The local APIC's id (what IPIs are addressed to).
    apic_id: AtomicU32,
    /// Whether this CPU finished starting.
    online: AtomicBool,
    /// The id of the task running on this CPU (the scheduler's pid).
    current_task: AtomicU32,
    /// Local APIC timer interrupts taken on this CPU.
    timer_ticks: AtomicU64,
    /// Times this CPU woke from `hlt` in its idle loop.
    wakeups: AtomicU64,
    /// Wake-up IPIs taken on this CPU.
    wake_ipis: AtomicU64,
    /// Task switches on this CPU.
    switches: AtomicU64,
    /// Timer ticks left of the running task's time slice.
    slice: AtomicU32,
    /// Whether this CPU is in its idle loop (it may be halted: a task made
    /// ready elsewhere wakes it with an IPI).
    idle: AtomicBool,
    /// Where the scheduler keeps the stack pointer of this CPU's own idle
    /// loop while the CPU runs a task (a started CPU's idle loop is not a
    /// task in the table).
    idle_rsp: AtomicU64,
    /// Stands in for the "on a CPU" flag of a task when the CPU switches
    /// away from its own idle loop.
    idle_on_cpu: AtomicBool,
    /// Module code running on this CPU.
    pub(super) module: ModuleState,
}

const _: () = {
    assert!(core::mem::offset_of!(PerCpu, kernel_stack_top) == KERNEL_STACK);
    assert!(core::mem::offset_of!(PerCpu, user_rsp) == USER_RSP);
};

impl PerCpu {
    const fn new() -> PerCpu {
        PerCpu {
            self_addr: AtomicU64::new(0),
            kernel_stack_top: AtomicU64::new(0),
            user_rsp: AtomicU64::new(0),
            id: AtomicU32::new(0),
            apic_id: AtomicU32::new(0),
            online: AtomicBool::new(false),
            current_task: AtomicU32::new(0),
            timer_ticks: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
            wake_ipis: AtomicU64::new(0),
            switches: AtomicU64::new(0),
            slice: AtomicU32::new(0),
            idle: AtomicBool::new(false),
            idle_rsp: AtomicU64::new(0),
            idle_on_cpu: AtomicBool::new(false),
            module: ModuleState::new(),
        }
    }

    /// This CPU's number (0 = the boot CPU).
    pub fn id(&self) -> usize {
        self.id.load(Ordering::Relaxed) as usize
    }

    /// The local APIC id.
    pub fn apic_id(&self) -> u32 {
        self.apic_id.load(Ordering::Relaxed)
    }

    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    /// The id of the task running on this CPU.
    pub fn current_task(&self) -> u32 {
        self.current_task.load(Ordering::Relaxed)
    }

    /// Notes the task the scheduler switches to on this CPU.
    pub fn set_current_task(&self, id: u32) {
        self.current_task.store(id, Ordering::Relaxed);
    }

    /// Local APIC timer interrupts taken so far.
    pub fn timer_ticks(&self) -> u64 {
        self.timer_ticks.load(Ordering::Relaxed)
    }

    /// Wake-ups from the idle loop so far.
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Wake-up IPIs taken so far.
    pub fn wake_ipis(&self) -> u64 {
        self.wake_ipis.load(Ordering::Relaxed)
    }

    /// The kernel stack top `syscall` switches to.
    pub fn kernel_stack_top(&self) -> u64 {
        self.kernel_stack_top.load(Ordering::Relaxed)
    }

    pub(super) fn set_kernel_stack_top(&self, top: u64) {
        self.kernel_stack_top.store(top, Ordering::Relaxed);
    }

    pub(super) fn count_timer_tick(&self) {
        self.timer_ticks.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn count_wake_ipi(&self) {
        self.wake_ipis.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a wake-up from `hlt` in the idle loop.
    pub fn count_wakeup(&self) {
        self.wakeups.fetch_add(1, Ordering::Relaxed);
    }

    /// Task switches so far.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Counts a task switch.
    pub fn count_switch(&self) {
        self.switches.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a new time slice of `ticks` ticks.
    pub fn start_slice(&self, ticks: u32) {
        self.slice.store(ticks, Ordering::Relaxed);
    }

    /// Spends one tick of the slice; `true` once it is used up.
    pub fn spend_tick(&self) -> bool {
        self.slice.fetch_sub(1, Ordering::Relaxed) <= 1
    }

    /// Whether the CPU is in its idle loop.
    pub fn is_idle(&self) -> bool {
        self.idle.load(Ordering::Acquire)
    }

    /// Claims an idle CPU for a task just made ready: clears the flag and
    /// says whether it was set, so that two tasks made ready at once wake
    /// two CPUs (the idle loop sets it again if it finds nothing to run).
    pub fn claim_idle(&self) -> bool {
        self.idle.swap(false, Ordering::AcqRel)
    }

    /// Notes that the CPU enters (`true`) or leaves its idle loop.
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::Release);
    }

    /// The slot for the idle loop's stack pointer, and the flag that stands
    /// in for its "on a CPU" flag (for `super::context::switch`).
    pub fn idle_slots(&self) -> (*mut u64, &AtomicBool) {
        (self.idle_rsp.as_ptr(), &self.idle_on_cpu)
    }

    /// The idle loop's saved stack pointer.
    pub fn idle_rsp(&self) -> u64 {
        self.idle_rsp.load(Ordering::Relaxed)
    }

    pub(super) fn set_online(&self) {
        if !self.online.swap(true, Ordering::AcqRel) {
            ONLINE.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The address the GS base holds for this record.
    pub fn addr(&self) -> u64 {
        self as *const PerCpu as u64
    }
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];
/// How many records are online (what the TLB shootdown asks on every unmap).
static ONLINE: AtomicUsize = AtomicUsize::new(0);

/// How many CPUs are online (0 before `smp::init` sets up the boot CPU's
/// local APIC).
pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// The record of CPU `id`, if Warden has that many slots.
pub fn get(id: usize) -> Option<&'static PerCpu> {
    CPUS.get(id)
}

/// The records of the CPUs that are online.
pub fn online() -> impl Iterator<Item = &'static PerCpu> {
    CPUS.iter().filter(|c| c.is_online())
}

/// Claims record `id` for the CPU with local APIC `apic_id` and loads its
/// address into this CPU's GS base (the user's GS base starts at zero);
/// `None` if `id` is not below [`MAX_CPUS`]. Called once per CPU, first
/// thing, with interrupts off.
pub(super) fn install(id: usize, apic_id: u32) -> Option<&'static PerCpu> {
    let cpu = CPUS.get(id)?;
    cpu.self_addr.store(cpu.addr(), Ordering::Relaxed);
    cpu.id.store(id as u32, Ordering::Relaxed);
    cpu.apic_id.store(apic_id, Ordering::Relaxed);
    GsBase::write(VirtAddr::new(cpu.addr()));
    KernelGsBase::write(VirtAddr::new(0));
    Some(cpu)
}

/// This CPU's `IA32_GS_BASE` and `IA32_KERNEL_GS_BASE` now: in kernel
/// mode the first is this CPU's record and the second the user's GS base.
pub fn gs_bases() -> (u64, u64) {
    (GsBase::read().as_u64(), KernelGsBase::read().as_u64())
}

/// Whether the GS base holds a per-CPU record now (false in the few
/// instructions around `swapgs` where kernel code runs with the user's).
pub fn gs_is_kernel() -> bool {
    let gs = GsBase::read().as_u64();
    let table = CPUS.as_ptr() as u64;
    (table..table + core::mem::size_of_val(&CPUS) as u64).contains(&gs)
}

/// The running CPU's record.
pub fn current() -> &'static PerCpu {
    let addr: u64;
    // SAFETY: in kernel mode the GS base holds the address of this CPU's
    // record (installed before interrupts are first enabled; see the module
    // documentation for the entries that swap it), whose first field is
    // that same address. Reading it has no side effect.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) addr, options(nostack, readonly, preserves_flags)) };
    // SAFETY: the address is that of an element of the static `CPUS`.
    unsafe { &*(addr as *const PerCpu) }
}

/// The running CPU's number.
pub fn cpu_id() -> usize {
    current().id()
}
