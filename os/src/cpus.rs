//! What the CPUs are doing, in words: the banner's `cpus:` line, and the
//! table that the kernel console's `cpus` prints and `/dev/cpus` reads.
//!
//! Every CPU runs tasks, their system calls and module code (the one run
//! queue of `proc::sched`); device interrupts still go to CPU 0 (the 8259
//! PIC). The table shows, per CPU, how often it switched tasks and what
//! it runs now.

use alloc::sync::Arc;
use core::fmt;

use abi::Errno;
use abi::fs::{S_IFCHR, makedev};

use crate::arch::{ipi, percpu};
use crate::arch::smp::{self, SmpReport};
use crate::fs::device::{self, CharDevice};
use crate::fs::devfs;

/// Major number of `/dev/cpus`.
pub const CPUS_MAJOR: u32 = 10;

/// The banner line, e.g. `cpus: 4 online (xAPIC); tasks run on every CPU`.
pub struct Summary<'a>(pub &'a SmpReport);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let mode = if r.x2apic { "x2APIC" } else { "xAPIC" };
        write!(f, "cpus: {} online ({mode})", r.online)?;
        if r.online > 1 {
            write!(f, "; tasks run on every CPU")?;
        }
        if !r.failed.is_empty() {
            write!(f, "; {} did not start", r.failed.len())?;
        }
        Ok(())
    }
}

/// One row per online CPU: number, APIC id, calibrated timer count, timer
/// ticks, idle wake-ups, task switches, functions run for other CPUs (TLB
/// shootdowns, grace periods) and what runs there now.
pub struct Table;

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "CPU  APIC  timer/tick  timer ticks  idle wake-ups  switches  calls  now")?;
        for cpu in percpu::online() {
            let now = match cpu.is_idle() {
                true => alloc::string::String::from("idle"),
                false => alloc::format!("pid {}", cpu.current_task()),
            };
            writeln!(
                f,
                "{:>3}  {:>4}  {:>10}  {:>11}  {:>13}  {:>8}  {:>5}  {now}",
                cpu.id(),
                cpu.apic_id(),
                smp::timer_count(cpu.id()),
                cpu.timer_ticks(),
                cpu.wakeups(),
                cpu.switches(),
                ipi::calls_run(cpu.id())
            )?;
        }
        match smp::report() {
            Some(_) if crate::arch::ioapic::is_active() => {
                write!(f, "note: the I/O APIC routes device interrupts to CPU 0 (the 8259 PIC is masked)")
            }
            Some(_) => write!(f, "note: the 8259 PIC routes device interrupts to CPU 0"),
            None => write!(f, "note: the CPUs were not set up (no usable MADT): only CPU 0 runs"),
        }
    }
}

/// `/dev/cpus`: reading it gives the [`Table`] as it is at the time.
struct CpusDevice;

impl CharDevice for CpusDevice {
    fn name(&self) -> &str {
        "cpus"
    }

    fn read(&self, _minor: u32, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let text = alloc::format!("{Table}\n");
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
        let n = buf.len().min(text.len() - start);
        buf[..n].copy_from_slice(&text.as_bytes()[start..start + n]);
        Ok(n)
    }

    fn write(&self, _minor: u32, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EPERM)
    }
}

/// Installs `/dev/cpus` (readable by everyone).
pub fn init_device() {
    let installed = device::register_char(Some(CPUS_MAJOR), Arc::new(CpusDevice))
        .and_then(|_| devfs::add_node("cpus", S_IFCHR | 0o444, 0, makedev(CPUS_MAJOR, 0)));
    if let Err(e) = installed {
        log::warn!("cpus: /dev/cpus not installed: {e}");
    }
}
