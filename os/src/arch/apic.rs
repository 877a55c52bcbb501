//! The local APIC: every CPU's own interrupt controller (Intel SDM vol. 3,
//! chapter 11).
//!
//! Each CPU has one. Warden uses it to send inter-processor interrupts
//! (INIT and STARTUP to start a CPU, fixed vectors later), to take a timer
//! interrupt on every CPU, and to acknowledge those interrupts (EOI).
//! Legacy device interrupts still come from the 8259 PIC: the boot CPU's
//! LINT0 is programmed as "ExtINT" (virtual-wire mode), so the PIC's output
//! reaches it as before; the other CPUs mask LINT0.
//!
//! The registers are reached in one of two ways, chosen once at boot:
//! * xAPIC: memory-mapped, 4 KiB at the MADT's local APIC address, mapped
//!   uncached ([`crate::memory::paging::map_device_page`]);
//! * x2APIC, where CPUID says the CPU has it: MSR `0x800 + offset / 16`,
//!   with a 64-bit ICR and 32-bit APIC ids. (QEMU's TCG before 8.0 has no
//!   x2APIC, so the tests exercise the xAPIC path.)
//!
//! The timer counts down from an initial count at the bus clock divided by
//! 16; [`calibrate_timer`] measures how many counts make one tick of
//! [`crate::time::HZ`] against the TSC, on each CPU.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use x86_64::registers::model_specific::Msr;

use crate::memory::MapError;

/// Vector of the local APIC timer.
pub const TIMER_VECTOR: u8 = 48;
/// Vector of the inter-processor interrupt that only wakes a CPU.
pub const WAKE_VECTOR: u8 = 49;
/// Vector of spurious interrupts (no EOI is sent for them).
pub const SPURIOUS_VECTOR: u8 = 255;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2: u64 = 1 << 10;

const REG_ID: u32 = 0x20;
const REG_TPR: u32 = 0x80;
const REG_EOI: u32 = 0xb0;
const REG_SVR: u32 = 0xf0;
const REG_ICR_LOW: u32 = 0x300;
const REG_ICR_HIGH: u32 = 0x310;
const REG_LVT_TIMER: u32 = 0x320;
const REG_LVT_LINT0: u32 = 0x350;
const REG_LVT_LINT1: u32 = 0x360;
const REG_LVT_ERROR: u32 = 0x370;
const REG_TIMER_INITIAL: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3e0;

const SVR_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const DELIVERY_NMI: u32 = 0b100 << 8;
const DELIVERY_EXTINT: u32 = 0b111 << 8;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
const ICR_LEVEL_ASSERT: u32 = 1 << 14;
const ICR_PENDING: u32 = 1 << 12;
/// Divide configuration 0b011: the timer counts at bus clock / 16.
const DIVIDE_BY_16: u32 = 0b011;

/// Virtual address of the xAPIC registers (0 in x2APIC mode).
static MMIO: AtomicU64 = AtomicU64::new(0);
static X2APIC: AtomicBool = AtomicBool::new(false);

/// Whether the CPU offers x2APIC mode (CPUID leaf 1, ECX bit 21).
fn has_x2apic() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 21) != 0
}

/// Whether the registers are reached through MSRs.
pub fn is_x2apic() -> bool {
    X2APIC.load(Ordering::Relaxed)
}

fn read(reg: u32) -> u32 {
    if is_x2apic() {
        // SAFETY: x2APIC mode is on, so MSR 0x800 + reg/16 is the register.
        unsafe { Msr::new(0x800 + (reg >> 4)).read() as u32 }
    } else {
        let base = MMIO.load(Ordering::Relaxed);
        // SAFETY: `init_boot` mapped the register page uncached at `base`
        // before any CPU enabled its APIC; registers are 32-bit aligned.
        unsafe { core::ptr::read_volatile((base + u64::from(reg)) as *const u32) }
    }
}

fn write(reg: u32, value: u32) {
    if is_x2apic() {
        // SAFETY: as in `read`; writing a register is what this module is for.
        unsafe { Msr::new(0x800 + (reg >> 4)).write(u64::from(value)) }
    } else {
        let base = MMIO.load(Ordering::Relaxed);
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((base + u64::from(reg)) as *mut u32, value) }
    }
}

/// Chooses the access mode, maps the xAPIC registers at physical
/// `local_apic` if needed, and sets up the boot CPU's APIC.
pub fn init_boot(local_apic: u64) -> Result<(), MapError> {
    if has_x2apic() {
        X2APIC.store(true, Ordering::Relaxed);
    } else {
        MMIO.store(crate::memory::paging::map_device_page(local_apic & !0xfff)?, Ordering::Relaxed);
    }
    init_cpu(true);
    Ok(())
}

/// Enables this CPU's APIC (in the chosen mode) and programs its local
/// interrupt lines: on the boot CPU LINT0 carries the 8259's interrupts
/// (ExtINT), elsewhere it is masked; LINT1 is the NMI everywhere.
pub fn init_cpu(boot_cpu: bool) {
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: enabling the APIC (and x2APIC mode, only if CPUID offers it)
    // changes how interrupts reach this CPU, which is what init is for.
    unsafe {
        let value = base.read() | APIC_BASE_ENABLE | if is_x2apic() { APIC_BASE_X2 } else { 0 };
        base.write(value);
    }
    write(REG_TPR, 0);
    write(REG_LVT_LINT0, if boot_cpu { DELIVERY_EXTINT } else { LVT_MASKED });
    write(REG_LVT_LINT1, DELIVERY_NMI);
    write(REG_LVT_ERROR, LVT_MASKED);
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_SVR, SVR_ENABLE | u32::from(SPURIOUS_VECTOR));
}

/// This CPU's local APIC id.
pub fn id() -> u32 {
    if is_x2apic() { read(REG_ID) } else { read(REG_ID) >> 24 }
}

/// The APIC id CPUID reports (leaf 1, EBX bits 31..24), readable before
/// the APIC is set up.
pub fn cpuid_apic_id() -> u32 {
    core::arch::x86_64::__cpuid(1).ebx >> 24
}

/// Acknowledges the interrupt being handled.
pub fn end_of_interrupt() {
    write(REG_EOI, 0);
}

/// Sends an inter-processor interrupt (`command` = ICR low bits) to the
/// CPU with APIC id `target`, and waits until the APIC has sent it. With
/// interrupts off: in xAPIC mode the ICR is two registers, and an
/// interrupt handler that sent an IPI between the two writes (a wake-up,
/// a cross-CPU call) would send this one to its target instead.
fn send(target: u32, command: u32) {
    super::without_interrupts(|| {
        if is_x2apic() {
            // SAFETY: x2APIC mode; the ICR is MSR 0x830 with the destination
            // in its upper half. Sending an IPI is what the caller asked for.
            unsafe { Msr::new(0x830).write((u64::from(target) << 32) | u64::from(command)) };
            return;
        }
        write(REG_ICR_HIGH, target << 24);
        write(REG_ICR_LOW, command);
        while read(REG_ICR_LOW) & ICR_PENDING != 0 {
            core::hint::spin_loop();
        }
    })
}

/// INIT: resets the target CPU into its wait-for-STARTUP state.
pub fn send_init(target: u32) {
    send(target, ICR_INIT | ICR_LEVEL_ASSERT);
}

/// STARTUP: the target starts in real mode at physical `page * 4096`.
pub fn send_startup(target: u32, page: u8) {
    send(target, ICR_STARTUP | ICR_LEVEL_ASSERT | u32::from(page));
}

/// A fixed interrupt on `vector` to the CPU with APIC id `target`.
pub fn send_ipi(target: u32, vector: u8) {
    send(target, u32::from(vector));
}

/// Measures how many timer counts (at bus clock / 16) pass in one tick of
/// `hz` on this CPU, against the TSC. Of three 1 ms windows the smallest
/// count wins: a virtual CPU held up between the end of the wait and the
/// read of the count only makes a window look longer.
pub fn calibrate_timer(hz: u32) -> u32 {
    const WINDOW_US: u64 = 1000;
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED);
    let mut best = u64::MAX;
    for _ in 0..3 {
        write(REG_TIMER_INITIAL, u32::MAX);
        crate::time::delay_us(WINDOW_US);
        let counted = u64::from(u32::MAX - read(REG_TIMER_CURRENT));
        best = best.min(counted);
    }
    write(REG_TIMER_INITIAL, 0);
    let per_second = best.saturating_mul(1_000_000 / WINDOW_US);
    (per_second / u64::from(hz.max(1))).clamp(1, u64::from(u32::MAX)) as u32
}

/// Starts the periodic timer: an interrupt on [`TIMER_VECTOR`] every
/// `count` counts.
pub fn start_timer(count: u32) {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_PERIODIC | u32::from(TIMER_VECTOR));
    write(REG_TIMER_INITIAL, count);
}
