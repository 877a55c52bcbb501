//! Kernel logging: the `log` facade's backend and the kernel log ring.
//!
//! Every record becomes one line `[seconds.micros] level: message`. The line
//! is appended to a ring of [`RING_CAPACITY`] bytes (read by `dmesg` and by
//! tests through [`read`]) and, if its level passes the console filter
//! ([`set_console_level`]), printed on the serial console as well.
//!
//! A non-maskable interrupt can arrive while any code holds the ring's
//! lock (turning interrupts off does not stop it), so the NMI path
//! ([`nmi`]) never waits for a lock: it counts the interrupt in atomics,
//! prints to the serial port only if nobody is writing there, and appends
//! to the ring only if the ring is free; otherwise the next record appends
//! the note for it.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::sync::{IrqLock, LockClass};
use crate::{serial, time};

/// Bytes of log text the ring keeps; older text is overwritten.
pub const RING_CAPACITY: usize = 32 * 1024;
/// Longest line kept; longer messages are cut.
const MAX_LINE: usize = 512;

static RING: IrqLock<Ring> = IrqLock::with_class(LockClass::LogRing, Ring::new());
static CONSOLE_LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);
static LOGGER: KernelLogger = KernelLogger;
/// Non-maskable interrupts since boot, the ones already in the ring, and
/// the `rip` of the last: the NMI path's lock-free slot.
static NMI_COUNT: AtomicU64 = AtomicU64::new(0);
static NMI_IN_RING: AtomicU64 = AtomicU64::new(0);
static NMI_RIP: AtomicU64 = AtomicU64::new(0);

struct Ring {
    bytes: [u8; RING_CAPACITY],
    /// Bytes ever written; the ring holds `total - RING_CAPACITY .. total`.
    total: u64,
}

impl Ring {
    const fn new() -> Self {
        Self { bytes: [0; RING_CAPACITY], total: 0 }
    }

    fn append(&mut self, data: &[u8]) {
        for &byte in data {
            self.bytes[(self.total % RING_CAPACITY as u64) as usize] = byte;
            self.total += 1;
        }
    }

    fn oldest(&self) -> u64 {
        self.total.saturating_sub(RING_CAPACITY as u64)
    }
}

/// Installs the logger; records at `Trace` and above reach the ring.
pub fn init() {
    // `set_logger` fails only if a logger is already set: keep the first one.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Trace);
}

/// Which records are also printed on the serial console (default `Info`).
pub fn set_console_level(level: LevelFilter) {
    CONSOLE_LEVEL.store(level as usize, Ordering::Relaxed);
}

/// What one call to [`read`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadResult {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// Position to pass to the next call.
    pub next: u64,
    /// Bytes lost between `pos` and the oldest text still kept.
    pub lost: u64,
}

/// Copies log text starting at byte position `pos` (0 for "from the
/// oldest") into `buf`. Positions only grow, so a reader that keeps `next`
/// sees each byte once; `len == 0` means it is up to date. A position past
/// the end (any value may come from user space) reads nothing and returns
/// the end.
pub fn read(pos: u64, buf: &mut [u8]) -> ReadResult {
    let ring = RING.lock();
    let start = pos.clamp(ring.oldest(), ring.total);
    let len = (ring.total - start).min(buf.len() as u64) as usize;
    for (i, slot) in buf[..len].iter_mut().enumerate() {
        *slot = ring.bytes[((start + i as u64) % RING_CAPACITY as u64) as usize];
    }
    ReadResult { len, next: start + len as u64, lost: start.saturating_sub(pos) }
}

/// The current end of the log (a position for [`read`]).
pub fn end() -> u64 {
    RING.lock().total
}

/// Records a non-maskable interrupt at `rip`, from the NMI handler. Takes
/// no lock another context can hold: a console line only if the serial
/// port is free, the ring's line now if the ring is free, else with the
/// next record.
pub fn nmi(rip: u64) {
    NMI_RIP.store(rip, Ordering::Relaxed);
    NMI_COUNT.fetch_add(1, Ordering::AcqRel);
    let line = nmi_line();
    if Level::Warn as usize <= CONSOLE_LEVEL.load(Ordering::Relaxed) {
        serial::write_bytes_no_wait(line.as_bytes());
    }
    if let Some(mut ring) = RING.try_lock() {
        append_nmi_note(&mut ring);
    }
}

/// Non-maskable interrupts since boot.
pub fn nmi_count() -> u64 {
    NMI_COUNT.load(Ordering::Acquire)
}

fn nmi_line() -> LineBuf {
    stamped(
        Level::Warn,
        format_args!(
            "non-maskable interrupt at rip {:#x} ({} since boot)",
            NMI_RIP.load(Ordering::Relaxed),
            NMI_COUNT.load(Ordering::Acquire)
        ),
    )
}

/// One line of the log: `[seconds.micros] level: message`.
fn stamped(level: Level, message: fmt::Arguments<'_>) -> LineBuf {
    let mut line = LineBuf::new();
    let ns = time::uptime_ns();
    let _ = writeln!(
        line,
        "[{:5}.{:06}] {}: {}",
        ns / 1_000_000_000,
        (ns / 1000) % 1_000_000,
        level_name(level),
        message
    );
    line
}

/// Appends the note of non-maskable interrupts the ring does not show yet
/// (the holder of the ring's lock calls it).
fn append_nmi_note(ring: &mut Ring) {
    let count = NMI_COUNT.load(Ordering::Acquire);
    if NMI_IN_RING.swap(count, Ordering::AcqRel) != count {
        ring.append(nmi_line().as_bytes());
    }
}

/// Runs `f` with the ring's lock held (tests of the NMI path).
#[cfg(feature = "ktest")]
pub fn with_ring_locked<R>(f: impl FnOnce() -> R) -> R {
    let _ring = RING.lock();
    f()
}

struct KernelLogger;

impl Log for KernelLogger {
    fn enabled(&self, _metadata: &Metadata) -> bool {
        true
    }

    fn log(&self, record: &Record) {
        let line = stamped(record.level(), *record.args());
        {
            let mut ring = RING.lock();
            append_nmi_note(&mut ring);
            ring.append(line.as_bytes());
        }
        if record.level() as usize <= CONSOLE_LEVEL.load(Ordering::Relaxed) {
            serial::write_bytes(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// A fixed buffer for one log line; text beyond [`MAX_LINE`] is cut and the
/// line still ends with `\n`.
struct LineBuf {
    bytes: [u8; MAX_LINE],
    len: usize,
    cut: bool,
}

impl LineBuf {
    fn new() -> Self {
        Self { bytes: [0; MAX_LINE], len: 0, cut: false }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        // One byte always stays free for the newline of a cut line.
        let room = MAX_LINE - 1 - self.len;
        let take = s.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.bytes[self.len] = b'\n';
            self.len += 1;
            self.cut = true;
        }
        Ok(())
    }
}
