//! The serial console: COM1, a 16550 UART at I/O port 0x3f8.
//!
//! Output goes straight to the UART (`\n` becomes `\r\n` for terminals).
//! Input arrives through IRQ 4: the interrupt handler drains the UART's FIFO
//! into a small ring, and [`read_byte`] takes bytes from there.

use uart_16550::backend::PioBackend;
use uart_16550::spec::registers::IER;
use uart_16550::{BaudRate, Config, Uart16550};

use crate::sync::{IrqLock, LockClass};

const COM1: u16 = 0x3f8;
const INPUT_CAPACITY: usize = 256;

static PORT: IrqLock<Option<Uart16550<PioBackend>>> = IrqLock::with_class(LockClass::SerialPort, None);
static INPUT: IrqLock<InputRing> = IrqLock::with_class(LockClass::SerialInput, InputRing::new());

/// Bytes received but not yet read; the oldest are dropped when it is full.
struct InputRing {
    bytes: [u8; INPUT_CAPACITY],
    start: usize,
    len: usize,
}

impl InputRing {
    const fn new() -> Self {
        Self { bytes: [0; INPUT_CAPACITY], start: 0, len: 0 }
    }

    fn push(&mut self, byte: u8) {
        if self.len == INPUT_CAPACITY {
            self.start = (self.start + 1) % INPUT_CAPACITY;
            self.len -= 1;
        }
        self.bytes[(self.start + self.len) % INPUT_CAPACITY] = byte;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let byte = self.bytes[self.start];
        self.start = (self.start + 1) % INPUT_CAPACITY;
        self.len -= 1;
        Some(byte)
    }
}

/// Programs COM1 (115200 8N1, FIFO, receive interrupt). Output before this
/// call is dropped.
pub fn init() {
    // SAFETY: 0x3f8..0x3ff is COM1 on every PC and QEMU machine, and this
    // driver is its only user.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else { return };
    let config = Config {
        baud_rate: BaudRate::Baud115200,
        interrupts: IER::DATA_READY,
        ..Config::default()
    };
    if uart.init(config).is_ok() {
        *PORT.lock() = Some(uart);
    }
}

/// Writes bytes to the console, turning `\n` into `\r\n`.
pub fn write_bytes(bytes: &[u8]) {
    let mut port = PORT.lock();
    if let Some(uart) = port.as_mut() {
        write_to(uart, bytes);
    }
}

/// Like [`write_bytes`] but gives up instead of waiting for the lock (for
/// the panic handler, which may have interrupted a writer).
pub fn write_bytes_no_wait(bytes: &[u8]) {
    if let Some(mut port) = PORT.try_lock()
        && let Some(uart) = port.as_mut()
    {
        write_to(uart, bytes);
    }
}

fn write_to(uart: &mut Uart16550<PioBackend>, bytes: &[u8]) {
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        match line.split_last() {
            Some((b'\n', text)) => {
                uart.send_bytes_exact(text);
                uart.send_bytes_exact(b"\r\n");
            }
            _ => uart.send_bytes_exact(line),
        }
    }
}

/// Called from the IRQ 4 handler: moves every received byte into the ring.
pub fn handle_interrupt() {
    let mut port = PORT.lock();
    let Some(uart) = port.as_mut() else { return };
    let mut input = INPUT.lock();
    while let Ok(byte) = uart.try_receive_byte() {
        input.push(byte);
    }
}

/// The next received byte, if any.
pub fn read_byte() -> Option<u8> {
    INPUT.lock().pop()
}

/// A `core::fmt::Write` sink for the console.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// `print!` to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::serial::Console, $($arg)*);
    }};
}

/// `println!` to the serial console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::serial::Console, $($arg)*);
    }};
}

/// Routes IRQ 4 (received data) to [`handle_interrupt`].
pub fn enable_input() {
    crate::arch::register_irq_handler(crate::arch::pic::IRQ_COM1, |_| handle_interrupt());
}
