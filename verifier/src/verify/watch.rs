//! The analysis watched from outside: a [`Watch`] supplied by whoever runs
//! it (the kernel) is asked often whether the analysis may go on, and stops
//! it with a [`Stop`] when the memory really in use or the time spent is
//! more than that environment allows. The verifier itself knows neither
//! the kernel's heap nor its clock.

use alloc::format;

use crate::report::{ErrorKind, Report};

/// The watch is asked every this many processed instructions (as well as
/// at every fork and every stored state, where memory is taken).
pub(super) const WATCH_EVERY: u64 = 256;

/// What the environment running the analysis checks while it runs.
pub trait Watch {
    /// `Ok` to go on; a [`Stop`] ends the analysis with its report.
    fn check(&mut self) -> Result<(), Stop>;
}

/// Why a [`Watch`] stopped the analysis.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stop {
    /// The analysis holds `used` bytes (as the allocator counts them), more
    /// than the `limit` it may use now.
    Memory { used: usize, limit: usize },
    /// The analysis ran for more than `limit_ms` milliseconds.
    Time { limit_ms: u64 },
}

impl Stop {
    /// The rejection at slot `pc`.
    pub(super) fn report(self, pc: usize) -> Report {
        match self {
            Stop::Memory { used, limit } => Report::new(
                ErrorKind::OutOfMemory,
                pc,
                format!(
                    "the verifier ran out of memory: the analysis holds {} KiB, more than the {} KiB it may use now",
                    used / 1024,
                    limit / 1024
                ),
            )
            .hint("keep fewer paths and less stack alive at once (fewer branches in a row, smaller stack frames), or load the module when the system holds less"),
            Stop::Time { limit_ms } => Report::new(
                ErrorKind::TimeLimit,
                pc,
                format!("the verifier ran for more than its limit of {limit_ms} ms"),
            )
            .hint("bound loops by small constants and reduce the number of branches inside them"),
        }
    }
}
