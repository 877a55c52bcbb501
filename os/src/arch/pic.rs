//! The two legacy 8259 interrupt controllers, remapped to vectors 32..48.

use super::port::{inb, outb};

/// Vector of IRQ 0.
pub const IRQ_BASE: u8 = 32;
pub const IRQ_TIMER: u8 = 0;
pub const IRQ_COM1: u8 = 4;

const MASTER_CMD: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_CMD: u16 = 0xa0;
const SLAVE_DATA: u16 = 0xa1;
const EOI: u8 = 0x20;

/// Remaps both controllers and masks every line; [`unmask`] opens lines.
pub fn init() {
    // SAFETY: the PIC ports are owned by this module.
    unsafe {
        outb(MASTER_CMD, 0x11); // initialise, expect ICW4
        outb(SLAVE_CMD, 0x11);
        outb(MASTER_DATA, IRQ_BASE);
        outb(SLAVE_DATA, IRQ_BASE + 8);
        outb(MASTER_DATA, 4); // slave on line 2
        outb(SLAVE_DATA, 2);
        outb(MASTER_DATA, 0x01); // 8086 mode
        outb(SLAVE_DATA, 0x01);
        outb(MASTER_DATA, !(1 << 2)); // all masked but the cascade (line 2)
        outb(SLAVE_DATA, 0xff);
    }
}

/// Lets IRQ `irq` (0..16) through.
pub fn unmask(irq: u8) {
    let (port, bit) = if irq < 8 { (MASTER_DATA, irq) } else { (SLAVE_DATA, irq - 8) };
    // SAFETY: the PIC ports are owned by this module.
    unsafe { outb(port, inb(port) & !(1 << bit)) }
}

/// Acknowledges IRQ `irq` so the controller can deliver the next one.
pub fn end_of_interrupt(irq: u8) {
    // SAFETY: the PIC ports are owned by this module.
    unsafe {
        if irq >= 8 {
            outb(SLAVE_CMD, EOI);
        }
        outb(MASTER_CMD, EOI);
    }
}
