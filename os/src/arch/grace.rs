//! Grace periods: waiting until no CPU can still be inside module code
//! that started before the wait.
//!
//! Module code runs with interrupts off from entry to return
//! (`super::jit::jit_enter`), so a CPU that takes an interrupt is not
//! inside module code at that moment: that is a *quiescent point*, in the
//! sense of RCU ("read-copy-update"). [`wait`] asks every other online CPU
//! to run an empty function through an IPI (`super::ipi`) and returns when
//! all have: each has then passed a quiescent point after the call began,
//! so any run of module code that started before it has ended.
//!
//! `lkm::unload` unlinks a module from its hooks first (no new run can
//! start), then waits for a grace period, and only then frees the
//! module's code and maps. With one CPU online the wait is empty: the
//! unloading task itself is not inside module code.

use core::sync::atomic::{AtomicU64, Ordering};

use super::ipi;

/// Grace periods completed with other CPUs online.
static COMPLETED: AtomicU64 = AtomicU64::new(0);
/// TSC cycles spent in those grace periods, and the longest one.
static WAITED: AtomicU64 = AtomicU64::new(0);
static LONGEST: AtomicU64 = AtomicU64::new(0);

fn quiescent(_: u64) {}

/// Returns once every other online CPU has passed a quiescent point.
pub fn wait() {
    if ipi::others_online() {
        let start = super::rdtsc();
        ipi::call_on_others(quiescent, 0);
        let cycles = super::rdtsc().saturating_sub(start);
        COMPLETED.fetch_add(1, Ordering::Relaxed);
        WAITED.fetch_add(cycles, Ordering::Relaxed);
        LONGEST.fetch_max(cycles, Ordering::Relaxed);
    }
}

/// How many grace periods waited for other CPUs since boot.
pub fn completed() -> u64 {
    COMPLETED.load(Ordering::Relaxed)
}

/// The grace periods so far: how many, the TSC cycles they took in all,
/// and the longest (for the measurements of docs/performance.md).
pub fn waited() -> (u64, u64, u64) {
    (COMPLETED.load(Ordering::Relaxed), WAITED.load(Ordering::Relaxed), LONGEST.load(Ordering::Relaxed))
}
