//! `/dev/ttyS2`: the third serial port (COM3, a 16550 UART at 0x3e8),
//! polled, without interrupts. `cargo xtask run` connects it to a UNIX
//! socket on the host, and `lkmd` serves `modc load` over it (see
//! docs/tools.md). Installed only when the UART answers, so machines
//! started without the port (every test) have no such node.
//!
//! `read` returns the bytes waiting in the UART now (0 when none: the
//! reader polls); `write` sends every byte, waiting for the transmitter.

use super::device::{self, CharDevice};
use super::{Result, devfs};
use crate::arch::port::{inb, outb};
use abi::fs::{S_IFCHR, makedev};
use alloc::sync::Arc;

/// Major number of the serial ports (that of `com` in the classic i386 BSDs).
pub const COM_MAJOR: u32 = 8;
const BASE: u16 = 0x3e8;
const DATA: u16 = BASE;
const IER: u16 = BASE + 1;
const FCR: u16 = BASE + 2;
const LCR: u16 = BASE + 3;
const MCR: u16 = BASE + 4;
const LSR: u16 = BASE + 5;
const SCRATCH: u16 = BASE + 7;
const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;
/// Polls of the line status before a byte is given up on.
const TX_SPINS: u32 = 100_000;

struct Com;

impl CharDevice for Com {
    fn name(&self) -> &str {
        "com"
    }

    fn read(&self, _minor: u32, _offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        // SAFETY: COM3's registers; this driver is their only user (the
        // module port allowlist does not include 0x3e8).
        while n < buf.len() && unsafe { inb(LSR) } & LSR_DATA_READY != 0 {
            buf[n] = unsafe { inb(DATA) };
            n += 1;
        }
        Ok(n)
    }

    fn write(&self, _minor: u32, _offset: u64, data: &[u8]) -> Result<usize> {
        for &b in data {
            let mut spins = 0;
            // SAFETY: as in `read`.
            while unsafe { inb(LSR) } & LSR_THR_EMPTY == 0 && spins < TX_SPINS {
                spins += 1;
                core::hint::spin_loop();
            }
            // SAFETY: as in `read`.
            unsafe { outb(DATA, b) };
        }
        Ok(data.len())
    }
}

/// Programs COM3 (115200 8N1, FIFO, no interrupts) and installs
/// `/dev/ttyS2` if the UART is there (its scratch register keeps a value).
pub fn init() {
    // SAFETY: 0x3e8..0x3ef is COM3 on PC machines; when no UART is there,
    // reads return 0xff and writes go nowhere.
    let present = unsafe {
        outb(SCRATCH, 0x5a);
        let a = inb(SCRATCH);
        outb(SCRATCH, 0xa5);
        a == 0x5a && inb(SCRATCH) == 0xa5
    };
    if !present {
        return;
    }
    // SAFETY: the UART answered; set it up as `init`'s comment says.
    unsafe {
        outb(IER, 0x00);
        outb(LCR, 0x80);
        outb(DATA, 0x01);
        outb(IER, 0x00);
        outb(LCR, 0x03);
        outb(FCR, 0xc7);
        outb(MCR, 0x03);
    }
    let installed = device::register_char(Some(COM_MAJOR), Arc::new(Com))
        .and_then(|_| devfs::add_node("ttyS2", S_IFCHR | 0o600, 0, makedev(COM_MAJOR, 0)));
    match installed {
        Ok(()) => log::info!("com: /dev/ttyS2 on COM3 (0x3e8), for modc load"),
        Err(e) => log::warn!("com: /dev/ttyS2 not installed: {}", e),
    }
}
