//! Shared program text: read-only pages of programs (code and constants)
//! are kept in a small cache and mapped into every process that runs the
//! same bytes, instead of being copied into fresh frames for each process.
//! This saves memory and time, and under QEMU's TCG it saves the most: TCG
//! caches translated code per physical page, so shared code frames are
//! translated once, not once per process.
//!
//! Pages are found by content (a hash of the page's bytes, then a full
//! comparison), so a program file that changes can never be served stale
//! bytes. The cache keeps every page it holds (a reference of its own),
//! up to [`MAX_FRAMES`] frames; past that, programs get private copies.
//!
//! A cached frame is immutable for its whole life: it is filled once, when
//! the cache makes it, then its alias in the kernel's direct map becomes
//! read-only, and processes map it read-only. A write to it, by a program
//! or by the kernel, faults instead of changing what other processes run.

use crate::memory::{self, PAGE_SIZE};
use crate::sync::{IrqLock, LockClass};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use x86_64::structures::paging::PhysFrame;

/// Most frames the cache holds.
pub const MAX_FRAMES: usize = 1024;

struct Cached {
    frame: PhysFrame,
    /// Mappings in address spaces (the cache's own reference not counted).
    users: usize,
}

struct Cache {
    by_hash: BTreeMap<u64, Vec<Cached>>,
    frames: usize,
}

static CACHE: IrqLock<Cache> = IrqLock::with_class(LockClass::TextCache, Cache { by_hash: BTreeMap::new(), frames: 0 });

/// FNV-1a over the page.
fn hash(page: &[u8]) -> u64 {
    page.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn contents(frame: PhysFrame) -> &'static [u8] {
    // SAFETY: cached frames are never written after they are filled, and
    // are reached through the kernel's direct map.
    unsafe { core::slice::from_raw_parts(memory::phys_to_virt(frame.start_address().as_u64()) as *const u8, PAGE_SIZE as usize) }
}

/// A frame holding exactly `page` (4096 bytes), shared; counts one more
/// user. `None` if the cache is full or memory is short.
pub fn share(page: &[u8]) -> Option<PhysFrame> {
    if page.len() != PAGE_SIZE as usize {
        return None;
    }
    let key = hash(page);
    let mut cache = CACHE.lock();
    if let Some(hit) = cache.by_hash.get_mut(&key).and_then(|v| v.iter_mut().find(|c| contents(c.frame) == page)) {
        hit.users += 1;
        return Some(hit.frame);
    }
    if cache.frames >= MAX_FRAMES {
        return None;
    }
    let frame = memory::alloc_frame()?;
    // SAFETY: the frame was just allocated and is not mapped anywhere else
    // but the direct map.
    unsafe {
        core::ptr::copy_nonoverlapping(page.as_ptr(), memory::phys_to_virt(frame.start_address().as_u64()) as *mut u8, page.len());
    }
    if memory::paging::set_direct_map_writable(frame, false).is_err() {
        let _ = memory::free_frame(frame);
        return None;
    }
    cache.by_hash.entry(key).or_default().push(Cached { frame, users: 1 });
    cache.frames += 1;
    Some(frame)
}

/// One user of `frame` is gone (the frame stays cached).
pub fn release(frame: PhysFrame) {
    let mut cache = CACHE.lock();
    if let Some(c) = cache.by_hash.values_mut().flat_map(|v| v.iter_mut()).find(|c| c.frame == frame) {
        c.users = c.users.saturating_sub(1);
    }
}

/// Frames held by the cache, and mappings of them in use.
pub fn stats() -> (usize, usize) {
    let cache = CACHE.lock();
    let users = cache.by_hash.values().flat_map(|v| v.iter()).map(|c| c.users).sum();
    (cache.frames, users)
}
