//! The legacy interrupt lines, IRQ 0..16, on vectors 32..48: first through
//! the two 8259 interrupt controllers, then, once `ioapic::init` has
//! routed them through the I/O APIC, through that (the 8259 masked).
//! [`unmask`] and [`end_of_interrupt`] go to whichever has the lines.

use super::port::{inb, outb};
use super::{apic, ioapic};

/// Vector of IRQ 0.
pub const IRQ_BASE: u8 = 32;
pub const IRQ_TIMER: u8 = 0;
pub const IRQ_COM1: u8 = 4;

const MASTER_CMD: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_CMD: u16 = 0xa0;
const SLAVE_DATA: u16 = 0xa1;
const EOI: u8 = 0x20;
/// The master's line the slave is wired to.
const CASCADE: u8 = 2;

/// Remaps both controllers and masks every line; [`unmask`] opens lines.
pub fn init() {
    // SAFETY: the PIC ports are owned by this module.
    unsafe {
        outb(MASTER_CMD, 0x11); // initialise, expect ICW4
        outb(SLAVE_CMD, 0x11);
        outb(MASTER_DATA, IRQ_BASE);
        outb(SLAVE_DATA, IRQ_BASE + 8);
        outb(MASTER_DATA, 1 << CASCADE); // slave on line 2
        outb(SLAVE_DATA, CASCADE);
        outb(MASTER_DATA, 0x01); // 8086 mode
        outb(SLAVE_DATA, 0x01);
        outb(MASTER_DATA, !(1 << CASCADE)); // all masked but the cascade
        outb(SLAVE_DATA, 0xff);
    }
}

/// Lets IRQ `irq` (0..16) through.
pub fn unmask(irq: u8) {
    if ioapic::is_active() {
        ioapic::unmask(irq);
        return;
    }
    let (port, bit) = if irq < 8 { (MASTER_DATA, irq) } else { (SLAVE_DATA, irq - 8) };
    // SAFETY: the PIC ports are owned by this module.
    unsafe { outb(port, inb(port) & !(1 << bit)) }
}

/// The IRQs the 8259s let through now, one bit each (the cascade left out).
pub fn open_lines() -> u16 {
    // SAFETY: the PIC ports are owned by this module; reading a mask
    // register has no side effect.
    let masks = unsafe { u16::from(inb(MASTER_DATA)) | u16::from(inb(SLAVE_DATA)) << 8 };
    !masks & !(1 << CASCADE)
}

/// Masks every line of both 8259s (the I/O APIC has taken them over).
pub fn mask_all() {
    // SAFETY: the PIC ports are owned by this module.
    unsafe {
        outb(MASTER_DATA, 0xff);
        outb(SLAVE_DATA, 0xff);
    }
}

/// Acknowledges IRQ `irq` so the controller can deliver the next one.
pub fn end_of_interrupt(irq: u8) {
    if ioapic::is_active() {
        apic::end_of_interrupt();
        return;
    }
    // SAFETY: the PIC ports are owned by this module.
    unsafe {
        if irq >= 8 {
            outb(SLAVE_CMD, EOI);
        }
        outb(MASTER_CMD, EOI);
    }
}
