//! Creating a map allocates fallibly: when the allocator refuses, `new`
//! returns `MapError::OutOfMemory` (ENOMEM) instead of aborting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use vm::map::{Map, MapError, MapKind};

/// Refuses every request larger than `LARGEST` bytes.
struct Small;

static LARGEST: AtomicUsize = AtomicUsize::new(usize::MAX);

// SAFETY: requests are forwarded unchanged to `System` or refused with a
// null pointer, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for Small {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LARGEST.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout is passed on as it came.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: every block came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Small = Small;

#[test]
fn maps_too_large_for_the_allocator_are_refused_with_enomem() {
    let made = |kind, key, value, n| Map::new(kind, key, value, n).map(|_| ());
    assert_eq!(made(MapKind::Array, 4, 4096, 256), Ok(()));
    assert_eq!(made(MapKind::Hash, 8, 4096, 256), Ok(()));
    LARGEST.store(64 * 1024, Ordering::Relaxed);
    // 1 MiB of values; for the hash map, 1 MiB of keys and its index too.
    let array = made(MapKind::Array, 4, 4096, 256);
    let hash = made(MapKind::Hash, 4096, 8, 256);
    // 8 KiB of keys and of values, 32 KiB of free slots, 80 KiB of index.
    let index = made(MapKind::Hash, 1, 1, 8192);
    LARGEST.store(usize::MAX, Ordering::Relaxed);
    assert_eq!(array, Err(MapError::OutOfMemory));
    assert_eq!(hash, Err(MapError::OutOfMemory));
    assert_eq!(index, Err(MapError::OutOfMemory));
    assert_eq!(MapError::OutOfMemory.errno(), -12);
}
