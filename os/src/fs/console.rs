//! The console terminal (`/dev/console`, major 5 minor 1) on the serial
//! port, with a line discipline like a Unix terminal in canonical mode:
//! typed characters are echoed, Backspace erases, Ctrl-U kills the line,
//! Enter completes it, Ctrl-D at the start of a line is end of input.
//! `read` returns at most one completed line and sleeps until there is one.
//!
//! Two keys never reach a program (docs/userspace.md, "Console keys"):
//! Ctrl-C ends the *foreground program*, the child the shell named with
//! the [`CONSOLE_SET_FOREGROUND`] ioctl, and every process it started
//! (status 137, as `kill`); with no foreground program it cancels the line
//! being typed. Ctrl-\ followed by a letter is the magic key, handed to
//! [`crate::sysrq`] whatever programs and modules do.
//!
//! Input reaches the serial driver's ring through its interrupt;
//! [`poll`] (called from the timer tick, the idle loop and `read`) moves it
//! through the line discipline and wakes readers.

use super::Result;
use super::device::CharDevice;
use crate::proc::{self, INIT_PID, Pid, State, Task, TASKS, sched};
use crate::sync::{IrqLock, LockClass};
use crate::syscall::kill;
use crate::{serial, sysrq};
use abi::Errno;
use abi::fs::CONSOLE_SET_FOREGROUND;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

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
    /// Ctrl-\ typed: the next byte is a magic-key letter.
    magic: bool,
}

static LINE: IrqLock<Discipline> =
    IrqLock::with_class(LockClass::ConsoleLine, Discipline { editing: Vec::new(), ready: VecDeque::new(), eof: false, magic: false });

/// The foreground program's pid (0: none), set by [`CONSOLE_SET_FOREGROUND`].
static FOREGROUND: AtomicU32 = AtomicU32::new(0);

/// Ctrl-C: ends the foreground program.
const INTERRUPT: u8 = 0x03;
/// Ctrl-\: the next byte goes to the magic key.
const MAGIC: u8 = 0x1c;

/// The wait channel console readers sleep on.
fn channel() -> usize {
    &LINE as *const _ as usize
}

/// Feeds received bytes through the line discipline; wakes readers when a
/// line is complete.
pub fn poll() {
    let mut completed = false;
    let mut interrupted = false;
    {
        let mut line = LINE.lock();
        while let Some(byte) = serial::read_byte() {
            if core::mem::take(&mut line.magic) {
                sysrq::request(byte);
                continue;
            }
            match byte {
                MAGIC => line.magic = true,
                INTERRUPT => {
                    serial::write_bytes(b"^C\n");
                    line.editing.clear();
                    interrupted = true;
                }
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
    if interrupted && !interrupt_foreground() {
        // Nothing to end: an empty line, so a shell reading it prompts again.
        LINE.lock().ready.push_back(b'\n');
        completed = true;
    }
    if completed {
        sched::wakeup(channel());
    }
}

/// Marks the foreground program and every process it started as killed
/// (which wakes those asleep); `false` if there is no foreground program
/// alive.
fn interrupt_foreground() -> bool {
    let family = family(FOREGROUND.load(Ordering::Acquire));
    for &pid in &family {
        if let Err(e) = kill::mark(pid) {
            log::warn!("console: Ctrl-C cannot end process {pid}: {e}");
        }
    }
    !family.is_empty()
}

/// A user process that has not ended yet.
fn alive(task: &Task) -> bool {
    !task.kernel && !matches!(task.state, State::Zombie(_))
}

/// `root` (if alive) and its living descendants, never `init`.
fn family(root: Pid) -> Vec<Pid> {
    let tasks = TASKS.lock();
    let mut found = Vec::new();
    if root == INIT_PID || !tasks.get(&root).is_some_and(|t| alive(t)) || found.try_reserve(tasks.len()).is_err() {
        return found;
    }
    found.push(root);
    let mut next = 0;
    while let Some(&parent) = found.get(next) {
        for t in tasks.values() {
            if t.ppid == parent && t.pid != INIT_PID && alive(t) && !found.contains(&t.pid) {
                // Within the capacity reserved above: no allocation.
                found.push(t.pid);
            }
        }
        next += 1;
    }
    found
}

/// [`CONSOLE_SET_FOREGROUND`]: `pid` must be a living child of the caller
/// (`EPERM` if it is another's, `ESRCH` if there is none), or 0.
fn set_foreground(arg: usize) -> Result<usize> {
    let pid = Pid::try_from(arg).map_err(|_| Errno::ESRCH)?;
    if pid != 0 {
        let tasks = TASKS.lock();
        let task = tasks.get(&pid).filter(|t| alive(t)).ok_or(Errno::ESRCH)?;
        if task.ppid != proc::current_pid() {
            return Err(Errno::EPERM);
        }
    }
    FOREGROUND.store(pid, Ordering::Release);
    Ok(0)
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
        let me = proc::current_pid();
        sched::sleep_until(channel(), || {
            poll();
            kill::is_killed(me) || {
                let line = LINE.lock();
                !line.ready.is_empty() || line.eof
            }
        });
        if kill::is_killed(me) {
            return Err(Errno::EINTR);
        }
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

    fn ioctl(&self, _minor: u32, cmd: usize, arg: usize) -> Result<usize> {
        match cmd {
            CONSOLE_SET_FOREGROUND => set_foreground(arg),
            _ => Err(Errno::ENOTTY),
        }
    }
}
