//! The allocator of user programs: a free list (`linked_list_allocator`)
//! over a static arena in `.bss`, which the kernel maps zero-filled.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{addr_of_mut, NonNull};
use core::sync::atomic::{AtomicBool, Ordering};
use linked_list_allocator::Heap;

/// Bytes of heap each program gets.
pub const HEAP_SIZE: usize = 256 * 1024;

#[repr(align(4096))]
struct Arena([u8; HEAP_SIZE]);

static mut ARENA: Arena = Arena([0; HEAP_SIZE]);
static mut HEAP: Heap = Heap::empty();
static LOCK: AtomicBool = AtomicBool::new(false);

/// Gives the arena to the allocator; called once by `start_program`.
pub fn init() {
    with_heap(|heap| {
        // SAFETY: ARENA is used by nothing else and lives for the program.
        unsafe { heap.init(addr_of_mut!(ARENA.0).cast(), HEAP_SIZE) }
    });
}

fn with_heap<R>(f: impl FnOnce(&mut Heap) -> R) -> R {
    while LOCK.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        core::hint::spin_loop();
    }
    // SAFETY: LOCK gives exclusive access to HEAP (user programs have one
    // thread, but the lock keeps this sound anyway).
    let r = f(unsafe { &mut *addr_of_mut!(HEAP) });
    LOCK.store(false, Ordering::Release);
    r
}

#[cfg_attr(not(target_os = "none"), allow(dead_code))]
struct UserAlloc;

// SAFETY: allocation is delegated to linked_list_allocator under a lock.
unsafe impl GlobalAlloc for UserAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        with_heap(|h| h.allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr()))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this `layout`.
            with_heap(|h| unsafe { h.deallocate(p, layout) })
        }
    }
}

#[cfg(target_os = "none")]
#[global_allocator]
static ALLOCATOR: UserAlloc = UserAlloc;
