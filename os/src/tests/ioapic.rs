//! The I/O APIC: the MADT's I/O APICs and interrupt source overrides, the
//! route each legacy IRQ takes, and, on the machine itself, the lines it
//! carries in place of the 8259 (the timer's ticks still come). The test
//! of the machine has `smp` in its name, so `--filter smp` runs it with
//! the other tests of several CPUs (on 1, 2 and 4, as every test).

use crate::arch::acpi::{self, IoApicEntry, IrqOverride};
use crate::arch::ioapic::{self, Route};
use crate::arch::{apic, pic, smp};
use crate::ktest::TestResult;
use super::smp::madt;
use crate::{arch, ensure, ensure_eq, kernel_test, time};

/// An interrupt source override entry: bus, IRQ, GSI, flags.
fn iso(bus: u8, irq: u8, gsi: u32, flags: u16) -> [u8; 10] {
    let g = gsi.to_le_bytes();
    let f = flags.to_le_bytes();
    [2, 10, bus, irq, g[0], g[1], g[2], g[3], f[0], f[1]]
}

fn the_madt_reader_gives_io_apics_and_irq_overrides() -> TestResult {
    let io = [1u8, 12, 3, 0, 0, 0, 0xc0, 0xfe, 0x18, 0, 0, 0];
    // IRQ 0 on GSI 2 as the bus does; IRQ 9 level, active high (0b1101);
    // IRQ 5 level, active low (0b1111); an override of another bus.
    let table = madt(&[&io, &iso(0, 0, 2, 0), &iso(0, 9, 9, 0xd), &iso(0, 5, 5, 0xf), &iso(1, 7, 30, 0xf)]);
    let parsed = acpi::parse_madt(&table).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(parsed.io_apics, alloc::vec![IoApicEntry { id: 3, address: 0xfec0_0000, gsi_base: 0x18 }]);
    ensure_eq!(
        parsed.overrides,
        alloc::vec![
            IrqOverride { irq: 0, gsi: 2, active_low: false, level: false },
            IrqOverride { irq: 9, gsi: 9, active_low: false, level: true },
            IrqOverride { irq: 5, gsi: 5, active_low: true, level: true },
        ]
    );
    ensure_eq!(ioapic::route(&parsed, 0), Some(Route { gsi: 2, active_low: false, level: false }));
    // GSI 2 is IRQ 0's: IRQ 2 (the cascade) has no input.
    ensure_eq!(ioapic::route(&parsed, 2), None);
    ensure_eq!(ioapic::route(&parsed, 4), Some(Route { gsi: 4, active_low: false, level: false }));
    ensure_eq!(ioapic::route(&parsed, 5), Some(Route { gsi: 5, active_low: true, level: true }));
    let short = madt(&[&[2u8, 8, 0, 0, 2, 0, 0, 0]]);
    ensure_eq!(acpi::parse_madt(&short), Err(acpi::AcpiError::BadLength("MADT entry")));

    // Vector in bits 0-7, active low bit 13, level bit 15, masked bit 16,
    // destination APIC id in bits 56-63.
    let e = ioapic::entry(Route { gsi: 5, active_low: true, level: true }, 37, 2);
    ensure_eq!(e, 37 | 1 << 13 | 1 << 15 | 1 << 16 | 2 << 56);
    ensure_eq!(ioapic::entry(Route { gsi: 4, active_low: false, level: false }, 36, 0), 36 | 1 << 16);
    Ok(())
}
kernel_test!(the_madt_reader_gives_io_apics_and_irq_overrides);

/// Where the MADT lists an I/O APIC, it carries the timer's and the
/// serial port's lines to this CPU, unmasked on their vectors, the 8259
/// lets nothing through, and timer ticks keep coming.
fn smp_the_io_apic_carries_the_legacy_lines() -> TestResult {
    let report = smp::report().ok_or("the CPUs were not set up")?;
    if report.io_apics.is_empty() {
        ensure!(!ioapic::is_active(), "no I/O APIC is listed, yet one is in use");
        return Ok(());
    }
    ensure!(ioapic::is_active(), "the MADT lists an I/O APIC, but the 8259 still routes the lines");
    ensure_eq!(pic::open_lines(), 0);
    ensure!(ioapic::inputs() >= 16, "the I/O APIC has {} inputs", ioapic::inputs());
    for irq in [pic::IRQ_TIMER, pic::IRQ_COM1] {
        let input = ioapic::input_of(irq).ok_or_else(|| alloc::format!("IRQ {irq} has no input"))?;
        let e = ioapic::redirection(input);
        ensure_eq!((irq, e & 0xff), (irq, u64::from(pic::IRQ_BASE + irq)));
        ensure_eq!((irq, e & (1 << 16)), (irq, 0));
        ensure_eq!((irq, (e >> 56) as u32), (irq, apic::id()));
    }
    let start = time::ticks();
    let deadline = time::uptime_ns() + 1_000_000_000;
    while time::ticks() < start + 3 {
        ensure!(time::uptime_ns() < deadline, "no timer tick in a second: {} then {}", start, time::ticks());
        arch::wait_for_interrupt();
    }
    Ok(())
}
kernel_test!(smp_the_io_apic_carries_the_legacy_lines);
