//! The kernel heap: a `GlobalAlloc` over `linked_list_allocator`, in a
//! virtual range starting at [`HEAP_START`] that grows on demand.
//!
//! When an allocation does not fit, the heap maps more fresh frames at its
//! end (at least [`GROW_STEP`] bytes) and extends the allocator. Memory is
//! never given back to the frame allocator; [`heap_stats`] tells how much is
//! in use and how much is mapped, so leak tests compare `bytes_in_use`.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use linked_list_allocator::Heap;

use super::paging::{self, AddressSpace, MapFlags};
use super::{PAGE_SIZE, alloc_frame};
use crate::sync::IrqLock;

/// First address of the heap.
pub const HEAP_START: u64 = 0xffff_c000_0000_0000;
/// Largest the heap may grow.
pub const HEAP_MAX: u64 = 1 << 30;
/// Smallest growth step.
const GROW_STEP: u64 = 256 * 1024;

/// Heap figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes handed out and not yet freed.
    pub bytes_in_use: usize,
    /// Bytes of heap mapped so far.
    pub bytes_mapped: usize,
    /// Frames backing the heap.
    pub frames: usize,
}

struct KernelHeap {
    heap: Heap,
    mapped: u64,
}

static HEAP: IrqLock<KernelHeap> = IrqLock::new(KernelHeap { heap: Heap::empty(), mapped: 0 });

struct Allocator;

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

// SAFETY: all heap state is behind the `HEAP` lock; returned blocks come
// from `linked_list_allocator`, which hands each block out once.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut state = HEAP.lock();
        if let Ok(block) = state.heap.allocate_first_fit(layout) {
            return block.as_ptr();
        }
        if state.grow(layout.size() as u64 + layout.align() as u64).is_err() {
            return core::ptr::null_mut();
        }
        match state.heap.allocate_first_fit(layout) {
            Ok(block) => block.as_ptr(),
            Err(()) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a block this allocator returned, with its layout.
            unsafe { HEAP.lock().heap.deallocate(ptr, layout) };
        }
    }
}

/// The heap could not grow (limit reached or no frames left).
#[derive(Debug)]
struct OutOfMemory;

impl KernelHeap {
    /// Maps at least `bytes` more at the end of the heap.
    fn grow(&mut self, bytes: u64) -> Result<(), OutOfMemory> {
        let bytes = bytes.max(GROW_STEP).next_multiple_of(PAGE_SIZE);
        if self.mapped + bytes > HEAP_MAX {
            return Err(OutOfMemory);
        }
        let start = HEAP_START + self.mapped;
        let mut added = 0;
        while added < bytes {
            let Some(frame) = alloc_frame() else { break };
            if paging::map_page(start + added, frame, MapFlags::KERNEL_DATA).is_err() {
                let _ = super::free_frame(frame);
                break;
            }
            added += PAGE_SIZE;
        }
        if added == 0 {
            return Err(OutOfMemory);
        }
        if self.mapped == 0 {
            // SAFETY: `start..start + added` was just mapped and is used by nothing else.
            unsafe { self.heap.init(start as *mut u8, added as usize) };
        } else {
            // SAFETY: the new pages directly follow the heap's current end.
            unsafe { self.heap.extend(added as usize) };
        }
        self.mapped += added;
        Ok(())
    }
}

/// Current heap figures.
pub fn heap_stats() -> HeapStats {
    let state = HEAP.lock();
    HeapStats {
        bytes_in_use: state.heap.used(),
        bytes_mapped: state.mapped as usize,
        frames: (state.mapped / PAGE_SIZE) as usize,
    }
}

/// Creates the heap's top-level page-table entry (see `paging::ensure_top_level`).
pub(super) fn reserve_tables(space: AddressSpace) {
    paging::ensure_top_level(space, HEAP_START).expect("a frame for the heap's page table");
}
