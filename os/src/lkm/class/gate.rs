//! A hook's gate: unlinking checks that no run of the hook is in progress
//! and takes the hook out under one lock, so no run can start between the
//! check and the removal.
//!
//! Every run of the hook enters the gate first ([`Gate::enter`]) and leaves
//! it when the [`Pass`] drops. [`Gate::close`] takes the hook out only
//! while nobody is inside, and after that the gate stays shut: a caller
//! that found the hook just before it was taken out is turned away and
//! behaves as if the hook were gone.

use crate::sync::IrqLock;

/// Runs of a hook in progress, and whether the hook was taken out.
pub struct Gate {
    state: IrqLock<State>,
}

struct State {
    inside: usize,
    closed: bool,
}

/// One run inside the gate; leaving is dropping it.
pub struct Pass<'a> {
    gate: &'a Gate,
}

impl Gate {
    pub const fn new() -> Gate {
        Gate { state: IrqLock::new(State { inside: 0, closed: false }) }
    }

    /// Enters for one run: `None` once the hook was taken out.
    pub fn enter(&self) -> Option<Pass<'_>> {
        let mut state = self.state.lock();
        if state.closed {
            return None;
        }
        state.inside = state.inside.saturating_add(1);
        Some(Pass { gate: self })
    }

    /// Runs `take_out` if nobody is inside (else the error `busy` makes),
    /// holding the lock that [`Gate::enter`] takes; shuts the gate for good
    /// when `take_out` succeeds.
    pub fn close<T, E>(&self, busy: impl FnOnce() -> E, take_out: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let mut state = self.state.lock();
        if state.inside > 0 {
            return Err(busy());
        }
        let taken = take_out()?;
        state.closed = true;
        Ok(taken)
    }
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
