//! A hook's gate: unloading shuts it, waits until no run of the hook is in
//! progress, and takes the hook out, so no run can start between the wait
//! and the removal.
//!
//! Every run of the hook enters the gate first ([`Gate::enter`]) and leaves
//! it when the [`Pass`] drops. [`Gate::drain`] shuts the gate at once —
//! from then on a caller is turned away and behaves as if the hook were
//! gone — then waits, yielding, until nobody is inside, and takes the hook
//! out. A run may sleep inside the module (a system call that yields), so
//! the wait is bounded by [`DRAIN_MS`]: past it the gate opens again, the
//! hook stays as it was, and the unload is refused with the reason (the
//! callers turned away meanwhile did without the module). With
//! users on every CPU the gate is seldom empty at any one moment; shutting
//! it first is what lets it empty, so an unload under constant use waits
//! for the runs in progress instead of starving.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::sync::IrqLock;
use crate::{arch, proc::sched, time};

/// Longest an unload waits for the runs in progress, in milliseconds.
pub const DRAIN_MS: u64 = 1000;

/// Runs of a hook in progress, and whether the gate is shut.
pub struct Gate {
    state: IrqLock<State>,
}

struct State {
    inside: usize,
    /// Shut for a drain in progress, or for good once the hook is out.
    shut: bool,
}

/// One run inside the gate; leaving is dropping it.
pub struct Pass<'a> {
    gate: &'a Gate,
}

/// Drains that found runs in progress and waited for them to end.
static WAITED: AtomicU64 = AtomicU64::new(0);
/// TSC cycles those drains waited, in all and the longest.
static WAITED_CYCLES: AtomicU64 = AtomicU64::new(0);
static LONGEST: AtomicU64 = AtomicU64::new(0);

impl Gate {
    pub const fn new() -> Gate {
        Gate { state: IrqLock::new(State { inside: 0, shut: false }) }
    }

    /// Enters for one run: `None` while the gate is shut (the hook is
    /// being or was taken out).
    pub fn enter(&self) -> Option<Pass<'_>> {
        let mut state = self.state.lock();
        if state.shut {
            return None;
        }
        state.inside = state.inside.saturating_add(1);
        Some(Pass { gate: self })
    }

    /// Shuts the gate, waits up to [`DRAIN_MS`] for the runs in progress to
    /// leave, then runs `take_out` holding the lock that [`Gate::enter`]
    /// takes. The gate stays shut for good when `take_out` succeeds; it
    /// opens again when the wait times out (the error `busy` makes) or
    /// `take_out` fails. Call with interrupts on and holding no `IrqLock`:
    /// the wait yields to the runs it waits for.
    pub fn drain<T, E>(&self, busy: impl FnOnce() -> E, take_out: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let start = arch::rdtsc();
        let limit = u128::from(time::tsc_hz()) * u128::from(DRAIN_MS) / 1000;
        let mut state = self.state.lock();
        state.shut = true;
        let waited = state.inside > 0;
        while state.inside > 0 {
            drop(state);
            if u128::from(arch::rdtsc().saturating_sub(start)) > limit {
                self.state.lock().shut = false;
                return Err(busy());
            }
            sched::yield_now();
            core::hint::spin_loop();
            state = self.state.lock();
        }
        if waited {
            let cycles = arch::rdtsc().saturating_sub(start);
            WAITED.fetch_add(1, Ordering::Relaxed);
            WAITED_CYCLES.fetch_add(cycles, Ordering::Relaxed);
            LONGEST.fetch_max(cycles, Ordering::Relaxed);
        }
        let taken = take_out();
        if taken.is_err() {
            state.shut = false;
        }
        taken
    }
}

/// The drains so far that had to wait: how many, the TSC cycles they
/// waited in all, and the longest (for docs/performance.md).
pub fn waited() -> (u64, u64, u64) {
    (WAITED.load(Ordering::Relaxed), WAITED_CYCLES.load(Ordering::Relaxed), LONGEST.load(Ordering::Relaxed))
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock();
        state.inside = state.inside.saturating_sub(1);
    }
}
