//! The code region: pages for generated code (the JIT's output), placed
//! within ±2 GiB of kernel text so generated code can call kernel helpers
//! with a direct `call rel32`.
//!
//! A [`CodeBlock`] starts writable and not executable; once the code is
//! written, [`CodeBlock::make_executable`] flips it to executable and
//! read-only. It is never both (W^X), and the direct-map alias of its frames
//! is read-only for the block's whole life, so no writable alias of
//! executable code exists. Blocks are separated by unmapped guard pages.
//! Dropping a block unmaps it (with a TLB shootdown on every CPU) and
//! frees its frames; in test builds each frame is first filled with `int3`
//! (0xcc), so code that ran late through a stale translation would trap at
//! once instead of running what the frame holds next.

use core::fmt;

use super::paging::{self, AddressSpace, MapError, MapFlags};
use super::region::VirtRegion;
use super::{PAGE_SIZE, alloc_zeroed_frame, free_frame, phys_to_virt};

/// First address of the code region.
pub const CODE_START: u64 = 0xffff_ffff_c000_0000;
/// Size of the code region.
pub const CODE_SIZE: u64 = 64 << 20;

/// Which pages of the region are taken (blocks plus their guard page).
static REGION: VirtRegion<{ (CODE_SIZE / PAGE_SIZE) as usize / 64 }> = VirtRegion::new(CODE_START);

/// Why a block could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    /// Zero bytes were asked for.
    Empty,
    /// No free run of pages is large enough.
    RegionFull,
    /// Out of frames or page tables.
    Map(MapError),
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Empty => write!(f, "empty code block"),
            CodeError::RegionFull => write!(f, "code region full"),
            CodeError::Map(e) => write!(f, "{e}"),
        }
    }
}

/// Pages of the code region holding one piece of generated code.
#[derive(Debug)]
pub struct CodeBlock {
    start: u64,
    pages: usize,
    mapped: usize,
    executable: bool,
}

impl CodeBlock {
    /// A writable, non-executable block of at least `len` bytes, zeroed.
    pub fn new(len: usize) -> Result<CodeBlock, CodeError> {
        if len == 0 {
            return Err(CodeError::Empty);
        }
        let pages = (len as u64).div_ceil(PAGE_SIZE) as usize;
        let start = REGION.reserve(pages + 1).ok_or(CodeError::RegionFull)?;
        let mut block = CodeBlock { start, pages, mapped: 0, executable: false };
        for i in 0..pages {
            let frame = alloc_zeroed_frame().ok_or(CodeError::Map(MapError::OutOfMemory))?;
            let virt = block.start + i as u64 * PAGE_SIZE;
            if let Err(e) = paging::map_page(virt, frame, MapFlags::KERNEL_DATA) {
                let _ = free_frame(frame);
                return Err(CodeError::Map(e));
            }
            block.mapped += 1;
            paging::set_direct_map_writable(frame, false).map_err(CodeError::Map)?;
        }
        Ok(block)
    }

    /// Address of the first byte (the address the JIT is told).
    pub fn addr(&self) -> u64 {
        self.start
    }

    /// Usable bytes (whole pages).
    pub fn size(&self) -> usize {
        self.pages * PAGE_SIZE as usize
    }

    pub fn is_executable(&self) -> bool {
        self.executable
    }

    /// The bytes, to write code into; `None` once executable.
    pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        if self.executable {
            return None;
        }
        // SAFETY: the block's pages are mapped writable and owned by `self`.
        Some(unsafe { core::slice::from_raw_parts_mut(self.start as *mut u8, self.size()) })
    }

    /// Flips the block to executable and read-only.
    pub fn make_executable(&mut self) -> Result<(), MapError> {
        for i in 0..self.pages {
            paging::protect_page(self.start + i as u64 * PAGE_SIZE, MapFlags::KERNEL_CODE)?;
        }
        self.executable = true;
        Ok(())
    }
}

impl Drop for CodeBlock {
    fn drop(&mut self) {
        for i in 0..self.mapped {
            let virt = self.start + i as u64 * PAGE_SIZE;
            if let Ok(frame) = paging::unmap_page(virt) {
                // The alias is made writable again before the frame is reused.
                if paging::set_direct_map_writable(frame, true).is_ok() {
                    poison(frame);
                }
                let _ = free_frame(frame);
            }
        }
        REGION.release(self.start, self.pages + 1);
    }
}

/// Fills a freed code frame with `int3` (test builds only).
fn poison(frame: x86_64::structures::paging::PhysFrame) {
    if cfg!(feature = "ktest") {
        let alias = phys_to_virt(frame.start_address().as_u64());
        // SAFETY: the frame was just unmapped from the code region and not
        // yet freed, so nothing else uses it; its direct-map alias is
        // writable again.
        unsafe { core::ptr::write_bytes(alias as *mut u8, 0xcc, PAGE_SIZE as usize) };
    }
}

/// Pages of the code region in use (blocks and their guard pages).
pub fn pages_in_use() -> usize {
    REGION.pages_in_use()
}

/// The direct-map address of a code page's frame (for tests of the alias).
pub fn direct_alias(virt: u64) -> Option<u64> {
    paging::translate(virt).map(|(phys, _)| phys_to_virt(phys.as_u64() & !(PAGE_SIZE - 1)))
}

/// Creates the region's top-level page-table entry.
pub(super) fn reserve_tables(space: AddressSpace) {
    paging::ensure_top_level(space, CODE_START).expect("a frame for the code region's page table");
}
