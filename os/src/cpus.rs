//! What the CPUs are doing, in words: the banner's `cpus:` line and the
//! kernel console's `cpus` table.
//!
//! Until the scheduler runs tasks on every CPU, CPU 0 (the boot CPU) runs
//! every task, system call and module, and the others only idle, taking
//! their own timer interrupts; both outputs say so.

use core::fmt;

use crate::arch::percpu;
use crate::arch::smp::{self, SmpReport};

/// The banner line, e.g. `cpus: 4 online (xAPIC); CPU 0 runs every task, CPUs 1-3 idle`.
pub struct Summary<'a>(pub &'a SmpReport);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let mode = if r.x2apic { "x2APIC" } else { "xAPIC" };
        write!(f, "cpus: {} online ({mode}); CPU 0 runs every task", r.online)?;
        match r.online {
            0 | 1 => {}
            2 => write!(f, ", CPU 1 idles")?,
            n => write!(f, ", CPUs 1-{} idle", n - 1)?,
        }
        if !r.failed.is_empty() {
            write!(f, "; {} did not start", r.failed.len())?;
        }
        Ok(())
    }
}

/// One row per online CPU: number, APIC id, timer ticks, idle wake-ups and
/// what runs there.
pub struct Table;

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "CPU  APIC  timer/tick  timer ticks  idle wake-ups  runs")?;
        for cpu in percpu::online() {
            let runs = if cpu.id() == 0 { "every task, system call and module" } else { "nothing: idle (hlt)" };
            let wakeups = if cpu.id() == 0 { "-".into() } else { alloc::format!("{}", cpu.wakeups()) };
            writeln!(
                f,
                "{:>3}  {:>4}  {:>10}  {:>11}  {:>13}  {runs}",
                cpu.id(),
                cpu.apic_id(),
                smp::timer_count(cpu.id()),
                cpu.timer_ticks(),
                wakeups
            )?;
        }
        match smp::report() {
            Some(report) if !report.io_apics.is_empty() => write!(
                f,
                "note: {} I/O APIC(s) found, not used yet: the 8259 PIC routes device interrupts to CPU 0",
                report.io_apics.len()
            ),
            Some(_) => write!(f, "note: the 8259 PIC routes device interrupts to CPU 0"),
            None => write!(f, "note: the CPUs were not set up (no usable MADT): only CPU 0 runs"),
        }
    }
}
