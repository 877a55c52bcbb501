//! The I/O APIC: routes the legacy device interrupts (the PIT's IRQ 0, the
//! serial port's IRQ 4, ...) to the boot CPU's local APIC, in place of the
//! 8259 PIC (Intel 82093AA datasheet; ACPI 6.5, 5.2.12.5 and 5.2.12.6).
//!
//! An I/O APIC has a row of inputs, each a *global system interrupt*
//! (GSI) numbered from the `gsi_base` the MADT gives it, and for each
//! input a 64-bit *redirection entry*: the vector, the destination local
//! APIC, the polarity and trigger mode, and a mask bit. ISA IRQ `n` is GSI
//! `n`, active high and edge-triggered, unless the MADT has an *interrupt
//! source override* for it (QEMU wires the PIT's IRQ 0 to GSI 2).
//!
//! [`init`] (from `smp::init`, once the boot CPU's local APIC is on)
//! masks every input, writes an entry for each of IRQ 0..16 (vector
//! `pic::IRQ_BASE + irq`, to the boot CPU, masked), opens the inputs of the
//! lines the 8259 had open, and then masks the 8259. From then on
//! `pic::unmask` and `pic::end_of_interrupt` come here ([`unmask`], and an
//! EOI to the local APIC). The local APIC timers are not routed here: each
//! CPU's is its own. Without an I/O APIC in the MADT, or one whose
//! registers cannot be mapped, the 8259 keeps the lines.
//!
//! The registers are two words: write a register number to `IOREGSEL`,
//! then read or write it through `IOWIN`. Two CPUs doing that at once
//! would mix their numbers, so only the boot CPU touches them, with
//! interrupts off: at boot, and when a driver registers its interrupt
//! (which drivers do while booting, on the boot CPU). [`unmask`] refuses
//! another CPU.

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::acpi::{IoApicEntry, Madt};
use super::{percpu, pic};
use crate::memory::MapError;

/// The legacy lines routed here: ISA IRQs 0..16.
pub const LEGACY_IRQS: u8 = 16;

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECTION: u32 = 0x10;

const ENTRY_MASKED: u64 = 1 << 16;
const ENTRY_LEVEL: u64 = 1 << 15;
const ENTRY_ACTIVE_LOW: u64 = 1 << 13;

/// Why the 8259 keeps the legacy lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoApicError {
    /// The MADT lists no I/O APIC.
    NoIoApic,
    /// The I/O APIC's registers could not be mapped.
    Map(MapError),
    /// No I/O APIC input carries this IRQ's GSI.
    NoInput { irq: u8, gsi: u32 },
}

impl fmt::Display for IoApicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoApicError::NoIoApic => write!(f, "the MADT lists no I/O APIC"),
            IoApicError::Map(e) => write!(f, "the I/O APIC's registers cannot be mapped: {e}"),
            IoApicError::NoInput { irq, gsi } => {
                write!(f, "IRQ {irq} arrives on GSI {gsi}, which is not an input of the first I/O APIC")
            }
        }
    }
}

/// Where a legacy IRQ arrives, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The global system interrupt (the input is `gsi - gsi_base`).
    pub gsi: u32,
    pub active_low: bool,
    pub level: bool,
}

/// The route of ISA IRQ `irq`: its override in `madt`, if it has one, else
/// GSI `irq`, active high, edge-triggered; `None` if another IRQ's
/// override takes GSI `irq` (QEMU's IRQ 0 on GSI 2 leaves IRQ 2, the
/// 8259's cascade, without an input).
pub fn route(madt: &Madt, irq: u8) -> Option<Route> {
    match madt.overrides.iter().find(|o| o.irq == irq) {
        Some(o) => Some(Route { gsi: o.gsi, active_low: o.active_low, level: o.level }),
        None if madt.overrides.iter().any(|o| o.gsi == u32::from(irq)) => None,
        None => Some(Route { gsi: u32::from(irq), active_low: false, level: false }),
    }
}

/// The redirection entry that sends `route` to `vector` on the local APIC
/// `apic_id` (fixed delivery, physical destination), masked.
pub fn entry(route: Route, vector: u8, apic_id: u32) -> u64 {
    let mut e = u64::from(vector) | ENTRY_MASKED | (u64::from(apic_id & 0xff) << 56);
    if route.active_low {
        e |= ENTRY_ACTIVE_LOW;
    }
    if route.level {
        e |= ENTRY_LEVEL;
    }
    e
}

/// Virtual address of the routing I/O APIC's registers (0: not in use).
static REGS: AtomicU64 = AtomicU64::new(0);
/// Whether the I/O APIC has the legacy lines (the 8259 is masked).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The input of each legacy IRQ on the routing I/O APIC ([`NO_INPUT`]: none).
static INPUTS: [AtomicU64; LEGACY_IRQS as usize] = [const { AtomicU64::new(NO_INPUT) }; LEGACY_IRQS as usize];
const NO_INPUT: u64 = u64::MAX;

/// Whether the I/O APIC routes the legacy lines now.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

fn read(reg: u32) -> u32 {
    let base = REGS.load(Ordering::Relaxed);
    // SAFETY: `init` mapped the register page uncached at `base` before
    // storing it; only the boot CPU with interrupts off gets here (module
    // documentation), so no other access comes between the two.
    unsafe {
        core::ptr::write_volatile((base + IOREGSEL) as *mut u32, reg);
        core::ptr::read_volatile((base + IOWIN) as *const u32)
    }
}

fn write(reg: u32, value: u32) {
    let base = REGS.load(Ordering::Relaxed);
    // SAFETY: as in `read`; writing a register is what this module is for.
    unsafe {
        core::ptr::write_volatile((base + IOREGSEL) as *mut u32, reg);
        core::ptr::write_volatile((base + IOWIN) as *mut u32, value);
    }
}

/// The redirection entry of input `input`.
pub fn redirection(input: u32) -> u64 {
    let reg = REG_REDIRECTION + 2 * input;
    u64::from(read(reg)) | u64::from(read(reg + 1)) << 32
}

fn set_redirection(input: u32, value: u64) {
    let reg = REG_REDIRECTION + 2 * input;
    // Masked while half written.
    write(reg, (value as u32) | ENTRY_MASKED as u32);
    write(reg + 1, (value >> 32) as u32);
    write(reg, value as u32);
}

/// Number of inputs of the routing I/O APIC (its version register's
/// "maximum redirection entry" plus one).
pub fn inputs() -> u32 {
    ((read(REG_VERSION) >> 16) & 0xff) + 1
}

/// The input legacy IRQ `irq` arrives on, once [`init`] succeeded.
pub fn input_of(irq: u8) -> Option<u32> {
    let input = INPUTS.get(usize::from(irq))?.load(Ordering::Relaxed);
    (is_active() && input != NO_INPUT).then_some(input as u32)
}

/// Routes IRQ 0..16 through the first I/O APIC of `madt` to the local
/// APIC `apic_id` (the boot CPU's, which calls this with its APIC on) and
/// masks the 8259; the lines the 8259 had open are open here.
pub fn init(madt: &Madt, apic_id: u32) -> Result<(), IoApicError> {
    let ioapic: &IoApicEntry = madt.io_apics.first().ok_or(IoApicError::NoIoApic)?;
    let page = crate::memory::paging::map_device_page(ioapic.address & !0xfff).map_err(IoApicError::Map)?;
    super::without_interrupts(|| {
        REGS.store(page + (ioapic.address & 0xfff), Ordering::Relaxed);
        let count = inputs();
        for input in 0..count {
            set_redirection(input, ENTRY_MASKED);
        }
        let mut routed = [None; LEGACY_IRQS as usize];
        for irq in 0..LEGACY_IRQS {
            let Some(r) = route(madt, irq) else { continue };
            let Some(input) = r.gsi.checked_sub(ioapic.gsi_base).filter(|&i| i < count) else {
                REGS.store(0, Ordering::Relaxed);
                return Err(IoApicError::NoInput { irq, gsi: r.gsi });
            };
            routed[usize::from(irq)] = Some((input, r));
        }
        for (irq, routed) in (0..LEGACY_IRQS).zip(routed) {
            let Some((input, r)) = routed else { continue };
            INPUTS[usize::from(irq)].store(u64::from(input), Ordering::Relaxed);
            set_redirection(input, entry(r, pic::IRQ_BASE + irq, apic_id));
        }
        let open = pic::open_lines();
        pic::mask_all();
        ACTIVE.store(true, Ordering::Release);
        for irq in (0..LEGACY_IRQS).filter(|irq| open & (1 << irq) != 0) {
            unmask(irq);
        }
        Ok(())
    })
}

/// Opens the input of legacy IRQ `irq`; `false` (and nothing changed)
/// for an IRQ with no input, before [`init`], or on a CPU other than the
/// boot CPU (see the module documentation).
pub fn unmask(irq: u8) -> bool {
    let Some(input) = input_of(irq) else { return false };
    if percpu::cpu_id() != 0 {
        log::warn!("IRQ {irq} not opened: only the boot CPU programs the I/O APIC");
        return false;
    }
    super::without_interrupts(|| set_redirection(input, redirection(input) & !ENTRY_MASKED));
    true
}
