//! TLB shootdown: after a mapping is removed or loses a permission, no CPU
//! may keep using the old translation from its TLB.
//!
//! A CPU's `invlpg` drops an entry from its own TLB only. So when the
//! kernel's page tables change (the kernel half, shared by every address
//! space, or the lower half of the kernel's own address space, which
//! every CPU uses while idle), [`shoot_down`] also asks every other online
//! CPU to run `invlpg` for the page, through [`super::ipi`], and returns
//! only when all have. A user address space is loaded only on the CPU
//! that runs its (single-threaded) process, so its changes stay local.
//! New mappings need no shootdown: the CPU does not cache "not present".
//!
//! The wait is done with interrupts off, and never under a lock: the
//! page tables change under `Paging`, which is released before the
//! shootdown (`memory::paging`). A CPU spinning on a lock has interrupts
//! off and would never answer, so a wait under a lock it wants would be a
//! deadlock (docs/locks.md).

use core::sync::atomic::{AtomicU64, Ordering};

use super::ipi;

/// Pages shot down on other CPUs since boot.
static SHOT: AtomicU64 = AtomicU64::new(0);

fn invalidate(virt: u64) {
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(virt));
}

/// Drops the translation of the page at `virt` from every online CPU's
/// TLB, this one's included.
pub fn shoot_down(virt: u64) {
    invalidate(virt);
    if ipi::others_online() {
        ipi::call_on_others(invalidate, virt);
        SHOT.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many pages were shot down on other CPUs since boot.
pub fn shootdowns() -> u64 {
    SHOT.load(Ordering::Relaxed)
}
