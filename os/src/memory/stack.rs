//! Kernel stacks with guard pages.
//!
//! A [`KernelStack`] is a run of fresh, writable, non-executable pages in
//! the stack region with one unmapped guard page below it, so an overflow
//! faults (and is reported as a stack overflow) instead of overwriting
//! whatever lies below. Dropping the stack unmaps it and frees its frames.
//! Every task's kernel stack is one. Because every kernel stack ends in a
//! guard page, [`has_room`] tells how much of the current one is left by
//! looking for the first unmapped page below the stack pointer.

use super::paging::{self, AddressSpace, MapError, MapFlags};
use super::region::VirtRegion;
use super::{PAGE_SIZE, alloc_zeroed_frame, free_frame};

/// First address of the kernel-stack region.
pub const STACK_REGION_START: u64 = 0xffff_d000_0000_0000;
/// Size of the kernel-stack region.
pub const STACK_REGION_SIZE: u64 = 256 << 20;

static REGION: VirtRegion<{ (STACK_REGION_SIZE / PAGE_SIZE) as usize / 64 }> = VirtRegion::new(STACK_REGION_START);

/// A kernel stack; the CPU uses it from [`KernelStack::top`] downwards.
#[derive(Debug)]
pub struct KernelStack {
    /// The guard page; the stack's pages follow it.
    guard: u64,
    pages: usize,
    mapped: usize,
}

impl KernelStack {
    /// A stack of at least `size` bytes (whole pages), zeroed: nothing of
    /// what the frames held before (another task's stack) is left in it.
    pub fn new(size: usize) -> Result<KernelStack, MapError> {
        let pages = (size as u64).div_ceil(PAGE_SIZE).max(1) as usize;
        let guard = REGION.reserve(pages + 1).ok_or(MapError::OutOfMemory)?;
        let mut stack = KernelStack { guard, pages, mapped: 0 };
        for i in 0..pages {
            let frame = alloc_zeroed_frame().ok_or(MapError::OutOfMemory)?;
            if let Err(e) = paging::map_page(stack.base() + i as u64 * PAGE_SIZE, frame, MapFlags::KERNEL_DATA) {
                let _ = free_frame(frame);
                return Err(e);
            }
            stack.mapped += 1;
        }
        Ok(stack)
    }

    /// Lowest usable address.
    pub fn base(&self) -> u64 {
        self.guard + PAGE_SIZE
    }

    /// One past the highest usable address (16-byte aligned): the initial
    /// stack pointer.
    pub fn top(&self) -> u64 {
        self.base() + self.pages as u64 * PAGE_SIZE
    }

    /// The unmapped page below the stack.
    pub fn guard_page(&self) -> u64 {
        self.guard
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for i in 0..self.mapped {
            if let Ok(frame) = paging::unmap_page(self.base() + i as u64 * PAGE_SIZE) {
                let _ = free_frame(frame);
            }
        }
        REGION.release(self.guard, self.pages + 1);
    }
}

/// Whether `addr` lies in the guard page of a live kernel stack (asked by
/// the page-fault report; `false` when that cannot be told safely).
pub fn is_guard_page(addr: u64) -> bool {
    REGION.is_reserved(addr) == Some(true) && paging::translate_no_wait(addr) == Some(None)
}

/// Whether the `bytes` below `rsp` are all mapped: on a stack with a guard
/// page below it (every kernel stack: the boot stack, the IST stacks and
/// every [`KernelStack`]), whether that much of the stack is left. Waits
/// for the page-table lock if another CPU is changing the tables (so the
/// caller must not hold it: `lkm::run`, the caller, runs module code,
/// which never happens under `Paging`).
pub fn has_room(rsp: u64, bytes: u64) -> bool {
    let Some(lowest) = rsp.checked_sub(bytes) else { return false };
    let mut page = lowest & !(PAGE_SIZE - 1);
    while page < rsp {
        if paging::translate(page).is_none() {
            return false;
        }
        page += PAGE_SIZE;
    }
    true
}

/// Pages of the stack region in use (stacks and their guard pages).
pub fn pages_in_use() -> usize {
    REGION.pages_in_use()
}

/// Creates the region's top-level page-table entry.
pub(super) fn reserve_tables(space: AddressSpace) {
    paging::ensure_top_level(space, STACK_REGION_START).expect("a frame for the stack region's page table");
}
