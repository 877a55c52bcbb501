//! The console terminal (`/dev/console`, major 5 minor 1) on the serial
//! port, with a line discipline like a Unix terminal in canonical mode:
//! typed characters are echoed, Backspace erases, Ctrl-U kills the line,
//! Enter completes it, Ctrl-D at the start of a line is end of input.
//! `read` returns at most one completed line and sleeps until there is one.
//!
//! Input reaches the serial driver's ring through its interrupt;
//! [`poll`] (called from the timer tick, the idle loop and `read`) moves it
//! through the line discipline and wakes readers.

use super::Result;
use super::device::CharDevice;
use crate::proc::sched;
use crate::serial;
use crate::sync::IrqLock;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Minor number of the console.
pub const CONSOLE_MINOR: u32 = 1;

/// Longest line kept; further characters are dropped until Enter.
const LINE_MAX: usize = 512;

struct Discipline {
    /// The line being typed.
    editing: Vec<u8>,
    /// Completed lines (each ending in `\n`) not yet read.
    ready: VecDeque<u8>,
    /// Ctrl-D typed on an empty line: the next read returns 0.
    eof: bool,
}

static LINE: IrqLock<Discipline> =
    IrqLock::new(Discipline { editing: Vec::new(), ready: VecDeque::new(), eof: false });

/// The wait channel console readers sleep on.
fn channel() -> usize {
    &LINE as *const _ as usize
}

/// Feeds received bytes through the line discipline; wakes readers when a
/// line is complete.
pub fn poll() {
    let mut completed = false;
    {
        let mut line = LINE.lock();
        while let Some(byte) = serial::read_byte() {
            match byte {
                b'\r' | b'\n' => {
                    serial::write_bytes(b"\n");
                    let text = core::mem::take(&mut line.editing);
                    line.ready.extend(text);
                    line.ready.push_back(b'\n');
                    completed = true;
                }
                0x08 | 0x7f => {
                    if line.editing.pop().is_some() {
                        serial::write_bytes(b"\x08 \x08");
                    }
                }
                0x15 => {
                    for _ in 0..line.editing.len() {
                        serial::write_bytes(b"\x08 \x08");
                    }
                    line.editing.clear();
                }
                0x04 => {
                    if line.editing.is_empty() {
                        line.eof = true;
                    } else {
                        let text = core::mem::take(&mut line.editing);
                        line.ready.extend(text);
                    }
                    completed = true;
                }
                b'\t' | 0x20..=0x7e => {
                    if line.editing.len() < LINE_MAX {
                        line.editing.push(byte);
                        serial::write_bytes(&[byte]);
                    }
                }
                _ => {}
            }
        }
    }
    if completed {
        sched::wakeup(channel());
    }
}

/// The console driver.
pub struct Console;

impl CharDevice for Console {
    fn name(&self) -> &str {
        "tty"
    }

    fn open(&self, minor: u32, _flags: u32) -> Result<()> {
        if minor == CONSOLE_MINOR { Ok(()) } else { Err(abi::Errno::ENXIO) }
    }

    fn read(&self, _minor: u32, _offset: u64, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        sched::sleep_until(channel(), || {
            poll();
            let line = LINE.lock();
            !line.ready.is_empty() || line.eof
        });
        let mut line = LINE.lock();
        let mut n = 0;
        while n < buf.len() {
            let Some(byte) = line.ready.pop_front() else { break };
            buf[n] = byte;
            n += 1;
            if byte == b'\n' {
                break;
            }
        }
        if n == 0 && line.eof {
            line.eof = false;
        }
        Ok(n)
    }

    fn write(&self, _minor: u32, _offset: u64, data: &[u8]) -> Result<usize> {
        serial::write_bytes(data);
        Ok(data.len())
    }
}
