//! The physical frame allocator: one bit per 4 KiB frame of the first
//! [`MAX_PHYS`] bytes (1 = free). Built from the boot memory map; the low
//! megabyte, the kernel image and the boot modules stay reserved.

use x86_64::PhysAddr;
use x86_64::structures::paging::{PhysFrame, Size4KiB};

use crate::bootinfo::BootInfo;
use crate::sync::{IrqLock, LockClass};

/// Physical memory above this is not used.
pub const MAX_PHYS: u64 = 8 << 30;
const FRAME_SIZE: u64 = 4096;
const MAX_FRAMES: usize = (MAX_PHYS / FRAME_SIZE) as usize;
const WORDS: usize = MAX_FRAMES / 64;

/// Frame counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStats {
    /// Usable frames the allocator manages (free or handed out).
    pub total: usize,
    /// Frames available now.
    pub free: usize,
}

impl FrameStats {
    pub fn used(&self) -> usize {
        self.total - self.free
    }
}

/// Why a frame could not be freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeError {
    /// The frame is outside the memory the allocator manages.
    OutOfRange(u64),
    /// The frame is already free.
    DoubleFree(u64),
}

struct Bitmap {
    /// Zero-initialised so it lives in `.bss`: every frame starts "used".
    free: [u64; WORDS],
    total: usize,
    free_count: usize,
    /// Word where the next search starts.
    hint: usize,
}

static FRAMES: IrqLock<Bitmap> = IrqLock::with_class(LockClass::Frames, Bitmap { free: [0; WORDS], total: 0, free_count: 0, hint: 0 });

impl Bitmap {
    fn is_free(&self, frame: usize) -> bool {
        self.free[frame / 64] & (1 << (frame % 64)) != 0
    }

    fn set_free(&mut self, frame: usize, free: bool) {
        if free {
            self.free[frame / 64] |= 1 << (frame % 64);
        } else {
            self.free[frame / 64] &= !(1 << (frame % 64));
        }
    }

    /// Frame numbers of `start..end` (bytes), limited to what is tracked.
    fn frames_in(start: u64, end: u64, round_out: bool) -> core::ops::Range<usize> {
        let (first, last) = if round_out {
            (start / FRAME_SIZE, end.div_ceil(FRAME_SIZE))
        } else {
            (start.div_ceil(FRAME_SIZE), end / FRAME_SIZE)
        };
        let clamp = |f: u64| f.min(MAX_FRAMES as u64) as usize;
        clamp(first)..clamp(last).max(clamp(first))
    }
}

/// Marks usable RAM free, then reserves `reserved` physical ranges.
pub fn init(info: &BootInfo, reserved: &[(u64, u64)]) {
    let mut bitmap = FRAMES.lock();
    for region in info.regions().iter().filter(|r| r.usable) {
        for frame in Bitmap::frames_in(region.start, region.start + region.len, false) {
            if !bitmap.is_free(frame) {
                bitmap.set_free(frame, true);
                bitmap.total += 1;
                bitmap.free_count += 1;
            }
        }
    }
    for &(start, end) in reserved {
        for frame in Bitmap::frames_in(start, end, true) {
            if bitmap.is_free(frame) {
                bitmap.set_free(frame, false);
                bitmap.total -= 1;
                bitmap.free_count -= 1;
            }
        }
    }
}

/// A free frame, now owned by the caller (contents undefined).
pub fn alloc_frame() -> Option<PhysFrame> {
    let mut bitmap = FRAMES.lock();
    let start = bitmap.hint;
    let word = (start..WORDS).chain(0..start).find(|&w| bitmap.free[w] != 0)?;
    let frame = word * 64 + bitmap.free[word].trailing_zeros() as usize;
    bitmap.set_free(frame, false);
    bitmap.free_count -= 1;
    bitmap.hint = word;
    Some(PhysFrame::containing_address(PhysAddr::new(frame as u64 * FRAME_SIZE)))
}

/// A free frame filled with zeros.
pub fn alloc_zeroed_frame() -> Option<PhysFrame> {
    let frame = alloc_frame()?;
    let ptr = super::phys_to_virt(frame.start_address().as_u64()) as *mut u8;
    // SAFETY: the frame was just handed out, so nothing else uses it, and the
    // direct map covers it.
    unsafe { core::ptr::write_bytes(ptr, 0, FRAME_SIZE as usize) };
    Some(frame)
}

/// Gives a frame back.
pub fn free_frame(frame: PhysFrame) -> Result<(), FreeError> {
    let addr = frame.start_address().as_u64();
    let index = (addr / FRAME_SIZE) as usize;
    if index >= MAX_FRAMES {
        return Err(FreeError::OutOfRange(addr));
    }
    let mut bitmap = FRAMES.lock();
    if bitmap.is_free(index) {
        return Err(FreeError::DoubleFree(addr));
    }
    bitmap.set_free(index, true);
    bitmap.free_count += 1;
    bitmap.hint = bitmap.hint.min(index / 64);
    Ok(())
}

pub fn stats() -> FrameStats {
    let bitmap = FRAMES.lock();
    FrameStats { total: bitmap.total, free: bitmap.free_count }
}

/// Adapter for the `x86_64` crate's mapper, which needs frames for new page tables.
pub(super) struct TableFrames;

// SAFETY: `alloc_frame` hands out each frame once until it is freed.
unsafe impl x86_64::structures::paging::FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        alloc_frame()
    }
}
