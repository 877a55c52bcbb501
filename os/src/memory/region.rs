//! Reserving runs of pages in a fixed virtual region.
//!
//! The code region and the kernel-stack region hand out page-aligned runs
//! of virtual addresses; a [`VirtRegion`] tracks which pages are taken with
//! one bit each. It only reserves addresses: mapping frames there is the
//! caller's job.

use super::PAGE_SIZE;
use crate::sync::IrqLock;

/// A virtual region of `WORDS * 64` pages starting at `start`.
pub struct VirtRegion<const WORDS: usize> {
    start: u64,
    taken: IrqLock<[u64; WORDS]>,
}

impl<const WORDS: usize> VirtRegion<WORDS> {
    pub const PAGES: usize = WORDS * 64;

    pub const fn new(start: u64) -> Self {
        Self { start, taken: IrqLock::new([0; WORDS]) }
    }

    pub fn start(&self) -> u64 {
        self.start
    }

    /// One past the last address of the region.
    pub fn end(&self) -> u64 {
        self.start + Self::PAGES as u64 * PAGE_SIZE
    }

    /// Takes the first free run of `count` pages; returns its address.
    pub fn reserve(&self, count: usize) -> Option<u64> {
        if count == 0 || count > Self::PAGES {
            return None;
        }
        let mut taken = self.taken.lock();
        let mut run = 0;
        for page in 0..Self::PAGES {
            run = if is_set(&taken[..], page) { 0 } else { run + 1 };
            if run == count {
                let first = page + 1 - count;
                (first..=page).for_each(|p| taken[p / 64] |= 1 << (p % 64));
                return Some(self.start + first as u64 * PAGE_SIZE);
            }
        }
        None
    }

    /// Gives back `count` pages starting at `addr` (from [`Self::reserve`]).
    pub fn release(&self, addr: u64, count: usize) {
        let first = ((addr - self.start) / PAGE_SIZE) as usize;
        let mut taken = self.taken.lock();
        for p in first..(first + count).min(Self::PAGES) {
            taken[p / 64] &= !(1 << (p % 64));
        }
    }

    /// Whether the page holding `addr` is reserved. `None` if the table is
    /// locked (only possible when asked from an exception handler).
    pub fn is_reserved(&self, addr: u64) -> Option<bool> {
        if !(self.start..self.end()).contains(&addr) {
            return Some(false);
        }
        let page = ((addr - self.start) / PAGE_SIZE) as usize;
        Some(is_set(&self.taken.try_lock()?[..], page))
    }

    /// Pages reserved now.
    pub fn pages_in_use(&self) -> usize {
        self.taken.lock().iter().map(|w| w.count_ones() as usize).sum()
    }
}

fn is_set(taken: &[u64], page: usize) -> bool {
    taken[page / 64] & (1 << (page % 64)) != 0
}
