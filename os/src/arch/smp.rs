//! Starting the other CPUs, and what they do until the scheduler uses them.
//!
//! [`init`] runs on the boot CPU after memory and the TSC are set up:
//!
//! 1. read the MADT ([`super::acpi`]) for every CPU's local APIC id;
//! 2. set up the boot CPU's local APIC ([`super::apic`]) and its timer,
//!    and route the legacy interrupts through the I/O APIC to it
//!    ([`super::ioapic`]), masking the 8259 PIC;
//! 3. copy the real-mode trampoline below 1 MiB ([`super::trampoline`]);
//! 4. for each other usable CPU, one at a time: give it a kernel stack and
//!    three IST stacks (each a `KernelStack` with a guard page below it),
//!    write the trampoline's parameters, and send INIT, wait 10 ms, then
//!    STARTUP twice 200 µs apart (the sequence of Intel SDM vol. 3,
//!    11.4.4.1, and of xv6's `lapicstartap`); wait until it says it is
//!    online, or give up on it after [`START_TIMEOUT_MS`].
//!
//! A started CPU runs [`ap_entry`]: the kernel's page tables, its per-CPU
//! record in the GS base, its own GDT and TSS, the shared IDT, its local
//! APIC, the `syscall` MSRs (if the system-call table is installed yet;
//! otherwise `syscall_entry::init` sets them on every CPU) and a
//! calibrated periodic timer; then it says it is online and enters the
//! scheduler's idle loop (`proc::sched::idle_loop`), from which it runs
//! tasks, their system calls and module code like the boot CPU.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::percpu::{self, MAX_CPUS};
use super::{acpi, apic, gdt, idt, ioapic, trampoline};
use crate::memory::stack::KernelStack;
use crate::time;

/// Size of each started CPU's kernel stack.
const AP_STACK_SIZE: usize = 64 * 1024;
/// How long to wait for a started CPU to come online.
pub const START_TIMEOUT_MS: u64 = 2000;

/// The stacks of a started CPU (kept for as long as the CPU runs: forever).
struct ApStacks {
    kernel: KernelStack,
    ist: [KernelStack; gdt::IST_STACKS],
}

static AP_STACKS: [spin::Once<ApStacks>; MAX_CPUS] = [const { spin::Once::new() }; MAX_CPUS];

/// What [`init`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmpReport {
    /// Processor entries in the MADT marked usable.
    pub found: usize,
    /// CPUs online (the boot CPU included).
    pub online: usize,
    /// Usable CPUs beyond [`MAX_CPUS`], left halted.
    pub ignored: usize,
    /// APIC ids of CPUs that did not come online in time.
    pub failed: Vec<u32>,
    /// I/O APICs in the MADT (the first routes the legacy interrupts to the
    /// boot CPU: [`super::ioapic`]).
    pub io_apics: Vec<acpi::IoApicEntry>,
    /// Whether the local APICs run in x2APIC mode.
    pub x2apic: bool,
}

static REPORT: spin::Once<SmpReport> = spin::Once::new();
/// Counts of timer interrupts per tick, measured on each CPU.
static TIMER_COUNTS: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// Finds and starts every CPU; without a usable MADT or local APIC the
/// boot CPU goes on alone (`Err` says why). Interrupts are on.
pub fn init(rsdp: u64) -> Result<&'static SmpReport, acpi::AcpiError> {
    let madt = acpi::read_madt(rsdp)?;
    if let Err(e) = apic::init_boot(madt.local_apic) {
        log::warn!("the local APIC's registers cannot be mapped: {e}; only the boot CPU runs");
        return Ok(REPORT.call_once(SmpReport::default));
    }
    start_timer(0);
    percpu::current().set_online();
    let boot_apic = apic::id();
    if let Err(e) = ioapic::init(&madt, boot_apic) {
        log::warn!("the 8259 PIC keeps routing device interrupts: {e}");
    }
    let mut report = SmpReport {
        found: madt.cpus.iter().filter(|c| c.usable).count(),
        online: 1,
        x2apic: apic::is_x2apic(),
        io_apics: madt.io_apics,
        ..SmpReport::default()
    };
    trampoline::install();
    // A CPU that did not start keeps its number (and stacks): it might
    // still come online late.
    let mut next_id = 1;
    for cpu in madt.cpus.iter().filter(|c| c.usable && c.apic_id != boot_apic) {
        let id = next_id;
        if id >= MAX_CPUS {
            report.ignored += 1;
            continue;
        }
        next_id += 1;
        match start(id, cpu.apic_id) {
            Ok(()) => report.online += 1,
            Err(e) => {
                log::warn!("CPU with APIC id {} not started: {e}", cpu.apic_id);
                report.failed.push(cpu.apic_id);
            }
        }
    }
    if report.ignored > 0 {
        log::warn!("{} CPUs left halted: Warden starts at most {MAX_CPUS}", report.ignored);
    }
    Ok(REPORT.call_once(|| report))
}

/// What [`init`] found (the default report before it ran or if it failed).
pub fn report() -> Option<&'static SmpReport> {
    REPORT.get()
}

/// The timer counts per tick measured on CPU `id` (0 if it has no timer).
pub fn timer_count(id: usize) -> usize {
    TIMER_COUNTS.get(id).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Calibrates and starts this CPU's local APIC timer at `time::HZ`.
fn start_timer(id: usize) {
    let count = apic::calibrate_timer(time::HZ);
    if let Some(slot) = TIMER_COUNTS.get(id) {
        slot.store(count as usize, Ordering::Relaxed);
    }
    apic::start_timer(count);
}

/// Why a CPU did not start.
#[derive(Debug)]
enum StartError {
    Stack(crate::memory::MapError),
    Timeout,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Stack(e) => write!(f, "no memory for its stacks ({e})"),
            StartError::Timeout => write!(f, "it did not come online within {START_TIMEOUT_MS} ms"),
        }
    }
}

/// Starts the CPU with local APIC `apic_id` as CPU number `id`.
fn start(id: usize, apic_id: u32) -> Result<(), StartError> {
    let stack = |size| KernelStack::new(size).map_err(StartError::Stack);
    let stacks = ApStacks {
        kernel: stack(AP_STACK_SIZE)?,
        ist: [stack(gdt::IST_STACK_SIZE)?, stack(gdt::IST_STACK_SIZE)?, stack(gdt::IST_STACK_SIZE)?],
    };
    let stacks = AP_STACKS[id].call_once(|| stacks);
    trampoline::set_params(&trampoline::Params { stack_top: stacks.kernel.top(), entry: ap_entry, arg: id as u64 });
    apic::send_init(apic_id);
    time::delay_us(10_000);
    for _ in 0..2 {
        apic::send_startup(apic_id, trampoline::startup_page());
        time::delay_us(200);
    }
    let cpu = percpu::get(id).ok_or(StartError::Timeout)?;
    let deadline = time::uptime_ns() + START_TIMEOUT_MS * 1_000_000;
    while !cpu.is_online() {
        if time::uptime_ns() > deadline {
            return Err(StartError::Timeout);
        }
        core::hint::spin_loop();
    }
    Ok(())
}

/// Where the trampoline lands, on the stack [`start`] gave CPU `id`.
extern "C" fn ap_entry(id: u64) -> ! {
    let id = id as usize;
    // SAFETY: the trampoline's tables share the kernel half (code, stacks,
    // data) with the kernel's own, which map it identically.
    unsafe { crate::memory::AddressSpace::kernel().activate() };
    let Some(cpu) = percpu::install(id, apic::cpuid_apic_id()) else { super::halt_forever() };
    let Some(stacks) = AP_STACKS.get(id).and_then(|s| s.get()) else { super::halt_forever() };
    gdt::load(id, core::array::from_fn(|slot| stacks.ist[slot].top()));
    idt::load();
    apic::init_cpu(false);
    super::syscall_entry::enable_if_installed();
    start_timer(id);
    cpu.set_online();
    crate::proc::sched::idle_loop()
}
