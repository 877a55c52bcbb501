//! Everything specific to x86-64 lives here; the rest of the kernel calls
//! the functions re-exported below.
//!
//! * [`boot`]: PVH note and 32-bit entry that switches to long mode.
//! * [`gdt`]: segments, the TSS and the IST stacks for double and page faults.
//! * [`idt`]: the interrupt descriptor table.
//! * [`trap`]: naked entry stubs that save a full [`TrapFrame`] and the
//!   dispatcher that routes vectors to exception and IRQ handlers.
//! * [`exceptions`]: a handler for every CPU exception, with readable reports.
//! * [`fault`]: fault recovery (registered regions, the guarded call into
//!   generated code); `probe` (in-kernel tests only) probes memory with it.
//! * [`jit`]: entering JIT-compiled module code, with fault recovery.
//! * [`helper_entry`]: the stubs module code calls helpers through, which
//!   note where module code's frames end.
//! * [`pic`], [`pit`]: the legacy interrupt lines and timer.
//! * [`ioapic`]: the I/O APIC, which takes the legacy lines over from the
//!   8259 PIC.
//! * [`port`]: port I/O.
//! * [`context`]: switching kernel threads, first entry into user mode.
//! * [`syscall_entry`]: the `syscall`/`sysret` entry.
//! * [`percpu`]: each CPU's record, reached through the GS base.
//! * [`acpi`]: the MADT, which lists the CPUs.
//! * [`apic`]: each CPU's local APIC: IPIs, its timer, EOI.
//! * [`trampoline`]: the real-mode code the other CPUs start in.
//! * [`smp`]: starting the other CPUs, and their idle loop.
//! * [`ipi`]: asking the other CPUs to run a function.
//! * [`tlb`]: TLB shootdown.
//! * [`grace`]: grace periods (no CPU still inside old module code).

pub mod acpi;
pub mod apic;
pub mod boot;
pub mod context;
pub mod exceptions;
pub mod fault;
pub mod gdt;
pub mod grace;
pub mod helper_entry;
pub mod idt;
pub mod ioapic;
pub mod ipi;
pub mod jit;
pub mod pic;
pub mod percpu;
pub mod pit;
pub mod port;
#[cfg(feature = "ktest")]
pub mod probe;
pub mod smp;
pub mod syscall_entry;
pub mod tlb;
pub mod trampoline;
pub mod trap;

pub use trap::{TrapFrame, register_irq_handler, set_cpu_timer_handler};

/// Loads the boot CPU's per-CPU record into its GS base: the first thing
/// the kernel does, because locks note which CPU holds them.
pub fn init_boot_cpu() {
    // CPU 0 always has a record, so this cannot fail.
    let _ = percpu::install(0, apic::cpuid_apic_id());
}

/// Loads GDT, TSS and IDT and programs the interrupt controller.
/// Interrupts stay off until [`enable_interrupts`].
pub fn init() {
    gdt::init();
    idt::init();
    pic::init();
    #[cfg(feature = "ktest")]
    probe::init();
}

/// Whether maskable interrupts are on (RFLAGS.IF).
pub fn interrupts_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

pub fn disable_interrupts() {
    x86_64::instructions::interrupts::disable();
}

/// Runs `f` with interrupts off, restoring the previous state afterwards.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// Sleeps until the next interrupt (turning interrupts on first, atomically).
pub fn wait_for_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        disable_interrupts();
        x86_64::instructions::hlt();
    }
}

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` only reads a counter; it has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Executes `int3` (used by tests and debugging).
pub fn breakpoint() {
    x86_64::instructions::interrupts::int3();
}

/// Enters the NMI handler through its gate with `int 2` (tests of the
/// NMI path; a real NMI takes the same gate and stack).
#[cfg(feature = "ktest")]
pub fn nmi_gate() {
    // SAFETY: vector 2 has a gate (on its own IST stack) whose handler
    // only notes the interrupt and returns.
    unsafe { core::arch::asm!("int 2") };
}

/// The faulting address of the last page fault (CR2).
pub fn read_cr2() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}
