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

fn quiescent(_: u64) {}

/// Returns once every other online CPU has passed a quiescent point.
pub fn wait() {
    if ipi::others_online() {
        ipi::call_on_others(quiescent, 0);
        COMPLETED.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many grace periods waited for other CPUs since boot.
pub fn completed() -> u64 {
    COMPLETED.load(Ordering::Relaxed)
}
