//! 4-level paging through the `x86_64` crate.
//!
//! An [`AddressSpace`] is a PML4 frame. All address spaces share the kernel
//! half (PML4 entries 256..512): `memory::init` creates those entries once,
//! [`AddressSpace::new_user`] copies them, so a kernel mapping made later in
//! any address space is seen by all. The lower half is per process.
//!
//! Every mapping states its permissions with [`MapFlags`] — writable,
//! executable, user — and nothing is writable and executable at once unless
//! a caller asks for both explicitly.

use core::fmt;

use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, TranslateResult, UnmapError};
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use super::frame::{self, TableFrames};
use super::{PHYS_OFFSET, phys_to_virt};
use crate::sync::{IrqLock, LockClass};

/// Serialises every page-table change.
static PAGING: IrqLock<()> = IrqLock::with_class(LockClass::Paging, ());
static KERNEL_ROOT: spin::Once<PhysFrame> = spin::Once::new();
/// First address of the kernel half (PML4 entries 256..512).
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// Permissions of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapFlags {
    pub writable: bool,
    pub executable: bool,
    pub user: bool,
}

impl MapFlags {
    pub const KERNEL_DATA: Self = Self { writable: true, executable: false, user: false };
    pub const KERNEL_RODATA: Self = Self { writable: false, executable: false, user: false };
    pub const KERNEL_CODE: Self = Self { writable: false, executable: true, user: false };
    pub const USER_DATA: Self = Self { writable: true, executable: false, user: true };
    pub const USER_RODATA: Self = Self { writable: false, executable: false, user: true };
    pub const USER_CODE: Self = Self { writable: false, executable: true, user: true };

    pub(super) fn to_pte(self) -> PageTableFlags {
        let mut flags = PageTableFlags::PRESENT;
        if self.writable {
            flags |= PageTableFlags::WRITABLE;
        }
        if !self.executable {
            flags |= PageTableFlags::NO_EXECUTE;
        }
        if self.user {
            flags |= PageTableFlags::USER_ACCESSIBLE;
        }
        flags
    }

    fn from_pte(flags: PageTableFlags) -> Self {
        Self {
            writable: flags.contains(PageTableFlags::WRITABLE),
            executable: !flags.contains(PageTableFlags::NO_EXECUTE),
            user: flags.contains(PageTableFlags::USER_ACCESSIBLE),
        }
    }

    fn table_flags(self) -> PageTableFlags {
        let mut flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
        if self.user {
            flags |= PageTableFlags::USER_ACCESSIBLE;
        }
        flags
    }
}

/// Why a paging operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// The page is mapped already.
    AlreadyMapped(u64),
    /// The page is not mapped.
    NotMapped(u64),
    /// No frame was left for a page table.
    OutOfMemory,
    /// The address lies inside a 2 MiB or 1 GiB mapping.
    HugePage(u64),
    /// The address is not page-aligned or not canonical.
    BadAddress(u64),
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::AlreadyMapped(a) => write!(f, "page {a:#x} is already mapped"),
            MapError::NotMapped(a) => write!(f, "page {a:#x} is not mapped"),
            MapError::OutOfMemory => write!(f, "out of physical memory for page tables"),
            MapError::HugePage(a) => write!(f, "address {a:#x} is inside a huge page"),
            MapError::BadAddress(a) => write!(f, "address {a:#x} is not a canonical page address"),
        }
    }
}

fn map_error(error: MapToError<Size4KiB>, virt: u64) -> MapError {
    match error {
        MapToError::PageAlreadyMapped(_) => MapError::AlreadyMapped(virt),
        MapToError::ParentEntryHugePage => MapError::HugePage(virt),
        MapToError::FrameAllocationFailed => MapError::OutOfMemory,
    }
}

fn page(virt: u64) -> Result<Page<Size4KiB>, MapError> {
    let addr = VirtAddr::try_new(virt).map_err(|_| MapError::BadAddress(virt))?;
    Page::from_start_address(addr).map_err(|_| MapError::BadAddress(virt))
}

/// A page-table hierarchy, named by its PML4 frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSpace {
    root: PhysFrame,
}

impl AddressSpace {
    /// The kernel's own address space (after `memory::init`).
    pub fn kernel() -> AddressSpace {
        AddressSpace { root: *KERNEL_ROOT.get().expect("memory::init has run") }
    }

    /// Wraps an existing PML4 frame.
    pub(super) fn from_root(root: PhysFrame) -> AddressSpace {
        AddressSpace { root }
    }

    pub(super) fn set_kernel(space: AddressSpace) {
        KERNEL_ROOT.call_once(|| space.root);
    }

    /// A new address space with an empty lower half and the kernel half shared.
    pub fn new_user() -> Result<AddressSpace, MapError> {
        let root = frame::alloc_zeroed_frame().ok_or(MapError::OutOfMemory)?;
        let _guard = PAGING.lock();
        // SAFETY: both tables are valid PML4s reached through the direct map,
        // and the new one is not in use yet.
        unsafe {
            let kernel = &*table(AddressSpace::kernel().root);
            let new = &mut *table(root);
            for i in 256..512 {
                new[i] = kernel[i].clone();
            }
        }
        Ok(AddressSpace { root })
    }

    pub fn root(&self) -> PhysFrame {
        self.root
    }

    /// Makes this the CPU's current address space.
    ///
    /// # Safety
    /// The code, stack and data in use must be mapped in this space (the
    /// kernel half always is).
    pub unsafe fn activate(&self) {
        // SAFETY: upheld by the caller.
        unsafe { Cr3::write(self.root, Cr3Flags::empty()) };
    }

    /// Maps the 4 KiB page at `virt` to `frame`.
    pub fn map(&self, virt: u64, frame: PhysFrame, flags: MapFlags) -> Result<(), MapError> {
        let page = page(virt)?;
        let _guard = PAGING.lock();
        // SAFETY: the mapper works on this space's tables under the paging
        // lock; the caller owns `frame`.
        let result = unsafe {
            self.mapper().map_to_with_table_flags(page, frame, flags.to_pte(), flags.table_flags(), &mut TableFrames)
        };
        result.map(|flush| flush.flush()).map_err(|e| map_error(e, virt))
    }

    /// Removes the mapping at `virt` and returns its frame (not freed).
    pub fn unmap(&self, virt: u64) -> Result<PhysFrame, MapError> {
        let page = page(virt)?;
        let guard = PAGING.lock();
        match self.mapper().unmap(page) {
            Ok((frame, flush)) => {
                flush.ignore();
                drop(guard);
                self.flush_everywhere(virt);
                Ok(frame)
            }
            Err(UnmapError::PageNotMapped) => Err(MapError::NotMapped(virt)),
            Err(UnmapError::ParentEntryHugePage) => Err(MapError::HugePage(virt)),
            Err(UnmapError::InvalidFrameAddress(_)) => Err(MapError::BadAddress(virt)),
        }
    }

    /// Changes the permissions of the mapped page at `virt`.
    pub fn protect(&self, virt: u64, flags: MapFlags) -> Result<(), MapError> {
        let page = page(virt)?;
        let guard = PAGING.lock();
        // SAFETY: only permission bits of an existing mapping change.
        match unsafe { self.mapper().update_flags(page, flags.to_pte()) } {
            Ok(flush) => {
                flush.ignore();
                drop(guard);
                self.flush_everywhere(virt);
                Ok(())
            }
            Err(x86_64::structures::paging::mapper::FlagUpdateError::PageNotMapped) => {
                Err(MapError::NotMapped(virt))
            }
            Err(x86_64::structures::paging::mapper::FlagUpdateError::ParentEntryHugePage) => {
                Err(MapError::HugePage(virt))
            }
        }
    }

    /// The physical address and permissions `virt` maps to, if mapped.
    pub fn translate(&self, virt: u64) -> Option<(PhysAddr, MapFlags)> {
        let _guard = PAGING.lock();
        self.translate_locked(virt)
    }

    /// [`Self::translate`] for callers holding `PAGING`.
    fn translate_locked(&self, virt: u64) -> Option<(PhysAddr, MapFlags)> {
        let addr = VirtAddr::try_new(virt).ok()?;
        match self.mapper().translate(addr) {
            TranslateResult::Mapped { frame, offset, flags } => {
                Some((frame.start_address() + offset, MapFlags::from_pte(flags)))
            }
            _ => None,
        }
    }

    /// Drops the old translation of `virt` from every TLB that may hold
    /// it: every online CPU's for the kernel half and the kernel's own
    /// space, which all CPUs use (`arch::tlb`); this CPU's for a user
    /// space's lower half: a user space is loaded only on the CPU running
    /// its process (one thread per process), and a CPU that leaves it
    /// loads another space, which drops its entries.
    ///
    /// Called after `PAGING` is released, and never with another lock
    /// held: the shootdown waits for every other CPU to answer an IPI, and
    /// a CPU spinning on a lock (interrupts off) answers none, so waiting
    /// under a lock it wants would deadlock (docs/locks.md). The frame of
    /// an unmapped page is handed back only after the wait.
    fn flush_everywhere(&self, virt: u64) {
        if virt >= KERNEL_HALF || KERNEL_ROOT.get() == Some(&self.root) {
            crate::arch::tlb::shoot_down(virt);
        } else {
            x86_64::instructions::tlb::flush(VirtAddr::new_truncate(virt));
        }
    }

    /// A mapper over this space's tables. Callers hold `PAGING`.
    fn mapper(&self) -> OffsetPageTable<'static> {
        // SAFETY: `root` is a PML4 frame; all page tables are reachable
        // through the direct map at PHYS_OFFSET; callers serialise through
        // the paging lock, so no two mappers change tables at once.
        unsafe { OffsetPageTable::new(&mut *table(self.root), VirtAddr::new(PHYS_OFFSET)) }
    }
}

/// The page table in `frame`, through the direct map.
fn table(frame: PhysFrame) -> *mut PageTable {
    phys_to_virt(frame.start_address().as_u64()) as *mut PageTable
}

/// Maps a page in the kernel half (shared by every address space).
pub fn map_page(virt: u64, frame: PhysFrame, flags: MapFlags) -> Result<(), MapError> {
    AddressSpace::kernel().map(virt, frame, flags)
}

/// Maps device registers at physical `phys` (page-aligned) to their
/// direct-map address, writable, not executable and not cached (the local
/// APIC's registers, which lie above the RAM the direct map covers).
/// Returns that address.
pub fn map_device_page(phys: u64) -> Result<u64, MapError> {
    let virt = phys_to_virt(phys);
    let page = page(virt)?;
    let frame = PhysFrame::from_start_address(PhysAddr::new(phys)).map_err(|_| MapError::BadAddress(phys))?;
    let flags =
        MapFlags::KERNEL_DATA.to_pte() | PageTableFlags::NO_CACHE | PageTableFlags::WRITE_THROUGH;
    let space = AddressSpace::kernel();
    let _guard = PAGING.lock();
    // SAFETY: the page is a device's registers, not memory Rust code owns;
    // uncached, as device registers must be.
    let result = unsafe {
        space.mapper().map_to_with_table_flags(page, frame, flags, MapFlags::KERNEL_DATA.table_flags(), &mut TableFrames)
    };
    result.map(|flush| flush.flush()).map_err(|e| map_error(e, virt))?;
    Ok(virt)
}

/// Unmaps a kernel page; returns its frame, which the caller may free.
pub fn unmap_page(virt: u64) -> Result<PhysFrame, MapError> {
    AddressSpace::kernel().unmap(virt)
}

/// Changes the permissions of a kernel page.
pub fn protect_page(virt: u64, flags: MapFlags) -> Result<(), MapError> {
    AddressSpace::kernel().protect(virt, flags)
}

/// Where a kernel address maps to.
pub fn translate(virt: u64) -> Option<(PhysAddr, MapFlags)> {
    AddressSpace::kernel().translate(virt)
}

/// Like [`translate`], for exception handlers: `None` if the page tables
/// are being changed right now, else `Some(translation)`.
pub fn translate_no_wait(virt: u64) -> Option<Option<(PhysAddr, MapFlags)>> {
    let _guard = PAGING.try_lock()?;
    Some(AddressSpace::kernel().translate_locked(virt))
}

/// Makes the direct-map alias of `frame` writable or read-only. The direct
/// map uses 2 MiB pages; the one holding `frame` is split into 4 KiB pages
/// the first time.
pub fn set_direct_map_writable(frame: PhysFrame, writable: bool) -> Result<(), MapError> {
    let virt = phys_to_virt(frame.start_address().as_u64());
    let space = AddressSpace::kernel();
    {
        let _guard = PAGING.lock();
        split_huge_page(space.root, virt)?;
    }
    let flags = MapFlags { writable, executable: false, user: false };
    space.protect(virt, flags)
}

/// If `virt` lies in a 2 MiB page, replaces that page with a page table of
/// 512 4 KiB entries with the same permissions. Caller holds `PAGING`.
fn split_huge_page(root: PhysFrame, virt: u64) -> Result<(), MapError> {
    let addr = VirtAddr::new(virt);
    // SAFETY: the walk reads and writes kernel page tables through the
    // direct map under the paging lock.
    unsafe {
        let pml4 = &mut *table(root);
        let pml4e = &pml4[addr.p4_index()];
        if pml4e.is_unused() {
            return Err(MapError::NotMapped(virt));
        }
        let pdpt = &mut *(phys_to_virt(pml4e.addr().as_u64()) as *mut PageTable);
        let pdpte = &pdpt[addr.p3_index()];
        if pdpte.is_unused() {
            return Err(MapError::NotMapped(virt));
        }
        if pdpte.flags().contains(PageTableFlags::HUGE_PAGE) {
            return Err(MapError::HugePage(virt));
        }
        let pd = &mut *(phys_to_virt(pdpte.addr().as_u64()) as *mut PageTable);
        let pde = &mut pd[addr.p2_index()];
        if !pde.flags().contains(PageTableFlags::HUGE_PAGE) {
            return Ok(());
        }
        let base = pde.addr().as_u64();
        let leaf_flags = pde.flags() - PageTableFlags::HUGE_PAGE;
        let pt_frame = frame::alloc_zeroed_frame().ok_or(MapError::OutOfMemory)?;
        let pt = &mut *table(pt_frame);
        for (i, entry) in pt.iter_mut().enumerate() {
            entry.set_addr(PhysAddr::new(base + i as u64 * 4096), leaf_flags);
        }
        pde.set_addr(pt_frame.start_address(), PageTableFlags::PRESENT | PageTableFlags::WRITABLE);
        x86_64::instructions::tlb::flush_all();
    }
    Ok(())
}

/// Makes sure the PML4 entry covering `virt` points at a page-directory-
/// pointer table, so that address spaces copied later share it.
pub(super) fn ensure_top_level(space: AddressSpace, virt: u64) -> Result<(), MapError> {
    let index = VirtAddr::new(virt).p4_index();
    let _guard = PAGING.lock();
    // SAFETY: the PML4 is reached through the direct map under the paging lock.
    let pml4 = unsafe { &mut *table(space.root) };
    if pml4[index].is_unused() {
        let pdpt = frame::alloc_zeroed_frame().ok_or(MapError::OutOfMemory)?;
        pml4[index].set_addr(pdpt.start_address(), PageTableFlags::PRESENT | PageTableFlags::WRITABLE);
    }
    Ok(())
}
