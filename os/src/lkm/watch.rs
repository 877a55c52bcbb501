//! The kernel's watch over the verifier (`verifier::Watch`): while a
//! program is verified at `LMREADY`, the analysis is asked at every fork,
//! every stored state and every 256 instructions whether it may go on.
//!
//! * **Memory**, as the heap really hands it out (size classes and
//!   rounding included, `memory::heap_stats`): the analysis may hold at
//!   most the profile's `max_memory` more than when it started, and never
//!   so much that less than [`HEAP_RESERVE`] stays available to the rest
//!   of the kernel (a load never starves a running process). Past either,
//!   the load is refused with `ENOMEM`.
//! * **Time**: one program's verification may take [`TIME_LIMIT_MS`] of
//!   wall time, then it is refused (`EINVAL`, `time-limit`).
//!
//! Verification itself runs with interrupts on (`LMREADY` is a system
//! call, and `LOAD_LOCK` is not an interrupt lock), so the timer preempts
//! it like any other task: other processes keep running meanwhile.

use core::sync::atomic::{AtomicU64, Ordering};

use verifier::{Stop, Watch};

use crate::{arch, memory, time};

/// Heap bytes a verification always leaves available to the rest of the
/// kernel.
pub const HEAP_RESERVE: usize = 8 << 20;

/// Wall time one program's verification may take, in milliseconds. (The
/// longest verification the limits allow, a million instructions
/// processed, takes a few seconds under QEMU's emulation.)
pub const TIME_LIMIT_MS: u64 = 20_000;

/// The limit in force (tests lower it).
static LIMIT_MS: AtomicU64 = AtomicU64::new(TIME_LIMIT_MS);

/// Sets the time limit of later verifications (in-kernel tests only).
#[cfg(feature = "ktest")]
pub fn set_time_limit_ms(ms: u64) {
    LIMIT_MS.store(ms, Ordering::Relaxed);
}

/// The watch over one program's verification.
pub struct KernelWatch {
    start: u64,
    in_use_at_start: usize,
    /// Bytes the analysis may hold.
    limit: usize,
    limit_ms: u64,
}

impl KernelWatch {
    /// A watch starting now, for an analysis allowed `max_memory` bytes.
    pub fn new(max_memory: usize) -> KernelWatch {
        let heap = memory::heap_stats();
        KernelWatch {
            start: arch::rdtsc(),
            in_use_at_start: heap.bytes_in_use,
            limit: max_memory.min(heap.bytes_available.saturating_sub(HEAP_RESERVE)),
            limit_ms: LIMIT_MS.load(Ordering::Relaxed),
        }
    }
}

impl Watch for KernelWatch {
    fn check(&mut self) -> Result<(), Stop> {
        let heap = memory::heap_stats();
        let used = heap.bytes_in_use.saturating_sub(self.in_use_at_start);
        if used > self.limit || heap.bytes_available < HEAP_RESERVE {
            return Err(Stop::Memory {
                used,
                limit: self.limit,
            });
        }
        let ms = time::cycles_to_ns(arch::rdtsc().wrapping_sub(self.start)) / 1_000_000;
        if ms > self.limit_ms {
            return Err(Stop::Time {
                limit_ms: self.limit_ms,
            });
        }
        Ok(())
    }
}
