//! The 8254 programmable interval timer: channel 0 drives the tick
//! interrupt, channel 2 measures the TSC frequency once at boot.

use super::port::{inb, outb};

/// Input clock of the PIT in Hz.
pub const PIT_HZ: u64 = 1_193_182;

const CHANNEL0: u16 = 0x40;
const CHANNEL2: u16 = 0x42;
const COMMAND: u16 = 0x43;
const GATE: u16 = 0x61;

/// Makes channel 0 interrupt `hz` times a second (rate generator).
pub fn start_periodic(hz: u32) {
    let divisor = (PIT_HZ / u64::from(hz)).clamp(1, 0xffff) as u16;
    // SAFETY: the PIT ports are owned by this module.
    unsafe {
        outb(COMMAND, 0b0011_0100); // channel 0, low then high byte, mode 2
        outb(CHANNEL0, divisor as u8);
        outb(CHANNEL0, (divisor >> 8) as u8);
    }
}

/// Counts TSC cycles during `ms` milliseconds of PIT channel 2 (one-shot,
/// polled; interrupts play no part) and returns the TSC frequency in Hz.
pub fn measure_tsc_hz(ms: u64) -> u64 {
    let count = (PIT_HZ * ms / 1000).min(0xffff) as u16;
    // SAFETY: the PIT and its gate port are owned by this module.
    let cycles = unsafe {
        outb(GATE, (inb(GATE) & !0x02) | 0x01); // speaker off, gate on
        outb(COMMAND, 0b1011_0000); // channel 2, low then high byte, mode 0
        outb(CHANNEL2, count as u8);
        outb(CHANNEL2, (count >> 8) as u8);
        let start = super::rdtsc();
        while inb(GATE) & 0x20 == 0 {
            core::hint::spin_loop();
        }
        super::rdtsc() - start
    };
    cycles * PIT_HZ / u64::from(count)
}
