//! The kernel heap: a `GlobalAlloc` in a virtual range starting at
//! [`HEAP_START`] that grows on demand.
//!
//! Two layers, so that the many small, short-lived blocks of the verifier
//! (states, vectors of registers) cost a few instructions each:
//!
//! * **Size classes.** A request of at most [`LARGEST_CLASS`] bytes (size and
//!   alignment rounded up to a power of two, at least 16) is served from
//!   that class's free list: a singly linked list threaded through the free
//!   blocks themselves. An empty list is refilled with a [`REFILL`]-byte,
//!   page-aligned chunk cut into blocks of the class; freed blocks go back
//!   on their class's list (they are never merged or handed to another
//!   class).
//! * **Large blocks** and the refill chunks come from `linked_list_allocator`
//!   (first fit, merging neighbours on free). When a request does not fit,
//!   the heap maps fresh frames at its end (at least [`GROW_STEP`] bytes)
//!   and extends that allocator.
//!
//! Memory is never given back to the frame allocator; [`heap_stats`] tells
//! how much is in use (the blocks handed out and not yet freed, counted at
//! their real size: a class block as its class, a large block as the large
//! allocator rounds it), how much is mapped, and how much could still be
//! handed out, so leak tests compare `bytes_in_use` and the verifier's limit
//! reads both (`lkm::watch`).
//!
//! In the in-kernel tests, [`fail_after`] makes every allocation from the
//! n-th on fail, to prove that a code path allocates only fallibly.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use linked_list_allocator::Heap;

use super::paging::{self, AddressSpace, MapFlags};
use super::{PAGE_SIZE, alloc_frame};
use crate::sync::{IrqLock, LockClass};

/// First address of the heap.
pub const HEAP_START: u64 = 0xffff_c000_0000_0000;
/// Largest the heap may grow.
pub const HEAP_MAX: u64 = 1 << 30;
/// Smallest growth step.
const GROW_STEP: u64 = 256 * 1024;
/// Smallest size class, in bytes.
const SMALLEST_CLASS: usize = 16;
/// Number of size classes: 16, 32, ..., 4096 bytes.
const CLASSES: usize = 9;
/// Largest size class, in bytes.
const LARGEST_CLASS: usize = SMALLEST_CLASS << (CLASSES - 1);
/// Bytes taken from the large-block allocator to refill an empty class.
const REFILL: usize = 16 * 1024;

/// Heap figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes of the blocks handed out and not yet freed (real block sizes).
    pub bytes_in_use: usize,
    /// Bytes that can still be handed out as large blocks: free in the
    /// mapped heap, plus the free frames the heap may still grow by. (Free
    /// blocks on a class's list serve only that class and do not count.)
    pub bytes_available: usize,
    /// Bytes of heap mapped so far.
    pub bytes_mapped: usize,
    /// Frames backing the heap.
    pub frames: usize,
    /// Frames of page tables made while the heap grew (not in `frames`):
    /// growth past a 2 MiB boundary needs a new table, so frames in use
    /// outside the heap are `used - frames - table_frames`.
    pub table_frames: usize,
}

struct KernelHeap {
    /// Large blocks and refill chunks.
    large: Heap,
    /// Address of the first free block of each size class, 0 when empty;
    /// each free block starts with the address of the next.
    free: [usize; CLASSES],
    /// Bytes of the blocks handed out and not yet freed.
    in_use: usize,
    mapped: u64,
    table_frames: usize,
}

static HEAP: IrqLock<KernelHeap> = IrqLock::with_class(LockClass::Heap, KernelHeap {
    large: Heap::empty(),
    free: [0; CLASSES],
    in_use: 0,
    mapped: 0,
    table_frames: 0,
});

struct Allocator;

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

// SAFETY: all heap state is behind the `HEAP` lock; every block is handed
// out once: class blocks are popped off their free list, large blocks come
// from `linked_list_allocator`, and a block returns to where it came from.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut state = HEAP.lock();
        if injected_failure() {
            return core::ptr::null_mut();
        }
        let block = match class_of(layout) {
            Some(class) => state.alloc_small(class).inspect(|_| state.in_use += SMALLEST_CLASS << class),
            None => {
                let before = state.large.used();
                let block = state.alloc_large(layout);
                state.in_use += state.large.used() - before;
                block
            }
        };
        block.map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(ptr) = NonNull::new(ptr) else { return };
        let mut state = HEAP.lock();
        match class_of(layout) {
            Some(class) => {
                state.in_use -= SMALLEST_CLASS << class;
                // SAFETY: `ptr` is a block of this class (same layout as when allocated), now unused.
                unsafe { state.push_free(class, ptr.as_ptr() as usize) }
            }
            None => {
                let before = state.large.used();
                // SAFETY: the caller passes a large block this allocator returned, with its layout.
                unsafe { state.large.deallocate(ptr, layout) };
                state.in_use -= before - state.large.used();
            }
        }
    }
}

/// The size class serving `layout`, if it is small enough for one: the
/// block size is a power of two at least as large as size and alignment,
/// and blocks of a class are aligned to their size.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(SMALLEST_CLASS);
    if size > LARGEST_CLASS {
        return None;
    }
    Some((size.next_power_of_two() / SMALLEST_CLASS).trailing_zeros() as usize)
}

/// The heap could not grow (limit reached or no frames left).
#[derive(Debug)]
struct OutOfMemory;

impl KernelHeap {
    /// A block of size class `class`, refilling its list when empty.
    fn alloc_small(&mut self, class: usize) -> Option<NonNull<u8>> {
        if self.free[class] == 0 {
            self.refill(class)?;
        }
        let block = self.free[class];
        // SAFETY: `block` heads the class's free list: a free block of the
        // heap whose first word is the next free block's address.
        self.free[class] = unsafe { *(block as *const usize) };
        NonNull::new(block as *mut u8)
    }

    /// Cuts a fresh page-aligned chunk into blocks of `class`.
    fn refill(&mut self, class: usize) -> Option<()> {
        let chunk = Layout::from_size_align(REFILL, PAGE_SIZE as usize).ok()?;
        let start = self.alloc_large(chunk)?.as_ptr() as usize;
        let size = SMALLEST_CLASS << class;
        for block in (start..start + REFILL).step_by(size).rev() {
            // SAFETY: the chunk was just taken from the large allocator and
            // is used by nothing else; `block` is one of its class-sized,
            // class-aligned pieces.
            unsafe { self.push_free(class, block) };
        }
        Some(())
    }

    /// Puts `block` on the free list of `class`.
    ///
    /// # Safety
    /// `block` must be an unused, mapped block of that class's size and alignment.
    unsafe fn push_free(&mut self, class: usize, block: usize) {
        // SAFETY: the block is unused and at least a word large and aligned (caller).
        unsafe { *(block as *mut usize) = self.free[class] };
        self.free[class] = block;
    }

    /// A block from the large-block allocator, growing the heap if needed.
    fn alloc_large(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if let Ok(block) = self.large.allocate_first_fit(layout) {
            return Some(block);
        }
        self.grow(layout.size() as u64 + layout.align() as u64)
            .ok()?;
        self.large.allocate_first_fit(layout).ok()
    }

    /// Maps at least `bytes` more at the end of the heap.
    fn grow(&mut self, bytes: u64) -> Result<(), OutOfMemory> {
        let bytes = bytes.max(GROW_STEP).next_multiple_of(PAGE_SIZE);
        if self.mapped + bytes > HEAP_MAX {
            return Err(OutOfMemory);
        }
        let start = HEAP_START + self.mapped;
        let frames_before = super::frame::stats().used();
        let mut added = 0;
        while added < bytes {
            let Some(frame) = alloc_frame() else { break };
            if paging::map_page(start + added, frame, MapFlags::KERNEL_DATA).is_err() {
                let _ = super::free_frame(frame);
                break;
            }
            added += PAGE_SIZE;
        }
        let table_frames = super::frame::stats()
            .used()
            .saturating_sub(frames_before + (added / PAGE_SIZE) as usize);
        self.table_frames += table_frames;
        if added == 0 {
            return Err(OutOfMemory);
        }
        if self.mapped == 0 {
            // SAFETY: `start..start + added` was just mapped and is used by nothing else.
            unsafe { self.large.init(start as *mut u8, added as usize) };
        } else {
            // SAFETY: the new pages directly follow the heap's current end.
            unsafe { self.large.extend(added as usize) };
        }
        self.mapped += added;
        Ok(())
    }
}

/// Current heap figures.
pub fn heap_stats() -> HeapStats {
    let free_frames = super::frame::stats().free as u64;
    let state = HEAP.lock();
    let growable = (HEAP_MAX - state.mapped).min(free_frames * PAGE_SIZE);
    HeapStats {
        bytes_in_use: state.in_use,
        bytes_available: state.large.free() + growable as usize,
        bytes_mapped: state.mapped as usize,
        frames: (state.mapped / PAGE_SIZE) as usize,
        table_frames: state.table_frames,
    }
}

/// Allocations left before every allocation fails (in-kernel tests only);
/// `usize::MAX`: no failures.
#[cfg(feature = "ktest")]
static ALLOCATIONS_LEFT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(usize::MAX);

/// Makes every allocation from the `n`-th on fail (`None`: none fails),
/// to prove that a code path allocates only fallibly. In-kernel tests only;
/// code that may not fail (a panic message, the test's own report) must
/// run after the failures are turned off again.
#[cfg(feature = "ktest")]
pub fn fail_after(n: Option<usize>) {
    ALLOCATIONS_LEFT.store(n.unwrap_or(usize::MAX), core::sync::atomic::Ordering::Relaxed);
}

/// Whether the allocation being made must fail (under the heap lock).
fn injected_failure() -> bool {
    #[cfg(feature = "ktest")]
    {
        use core::sync::atomic::Ordering;
        let left = ALLOCATIONS_LEFT.load(Ordering::Relaxed);
        if left == 0 {
            return true;
        }
        if left != usize::MAX {
            ALLOCATIONS_LEFT.store(left - 1, Ordering::Relaxed);
        }
    }
    false
}

/// Frames in use for anything but the heap and the page tables it grew:
/// the figure leak tests compare before and after (the heap keeps the frames
/// it grew by, so they are not a leak).
pub fn frames_outside_heap() -> usize {
    let heap = heap_stats();
    super::frame::stats().used().saturating_sub(heap.frames + heap.table_frames)
}

/// Creates the heap's top-level page-table entry (see `paging::ensure_top_level`).
pub(super) fn reserve_tables(space: AddressSpace) {
    paging::ensure_top_level(space, HEAP_START).expect("a frame for the heap's page table");
}
