//! A user address space: the kernel's [`AddressSpace`] (lower half empty,
//! kernel half shared) plus the bookkeeping to check user pointers, to
//! write into pages before the program runs, and to give every frame back
//! when the process ends.
//!
//! The kernel writes into a user address space only where the process
//! itself could write: [`UserSpace::write`] and the system calls' copies
//! ([`UserSpace::check`]) refuse pages that are read-only or come from the
//! shared text cache. Read-only pages get their bytes before they are
//! mapped ([`UserSpace::map_private`]), and frames of the text cache are
//! filled once, when the cache makes them, and never written again.
//!
//! Zero-filled memory (`.bss`, the heap arena inside it, most of the stack)
//! is *reserved* rather than mapped: its pages get a frame on first touch,
//! from the page-fault handler ([`UserSpace::fault_in`]) or when the kernel
//! checks a user pointer into it. A program that never touches its heap
//! never pays for it.

use crate::memory::{self, AddressSpace, MapFlags, PAGE_SIZE};
use abi::Errno;
use alloc::vec::Vec;
use x86_64::structures::paging::{PageTable, PageTableFlags, PhysFrame};
use x86_64::PhysAddr;

/// User addresses lie in `USER_BOTTOM..USER_TOP`: the first 64 KiB stay
/// unmapped so a null pointer always faults.
pub const USER_BOTTOM: u64 = 0x1_0000;
/// End of the user part of the address space.
pub const USER_TOP: u64 = 0x0000_8000_0000_0000;
/// The user stack ends here (a guard page above, unmapped pages below).
pub const STACK_TOP: u64 = abi::proc::STACK_TOP;
/// Size of the user stack.
pub const STACK_SIZE: u64 = abi::proc::STACK_SIZE;
/// The stack with a guard page on either side: no program segment may
/// lie here.
pub const STACK_REGION: core::ops::Range<u64> = STACK_TOP - STACK_SIZE - PAGE_SIZE..STACK_TOP + PAGE_SIZE;

/// The lower half of one process's address space.
pub struct UserSpace {
    space: AddressSpace,
    /// Every user page mapped, by virtual address.
    pages: Vec<u64>,
    /// Page-aligned ranges mapped zero-filled on first touch.
    lazy: Vec<(u64, u64, MapFlags)>,
    /// Read-only pages mapped from the shared text cache (not ours to free).
    shared: Vec<u64>,
}

impl UserSpace {
    /// An empty user space.
    pub fn new() -> Result<UserSpace, Errno> {
        let space = AddressSpace::new_user().map_err(|_| Errno::ENOMEM)?;
        Ok(UserSpace { space, pages: Vec::new(), lazy: Vec::new(), shared: Vec::new() })
    }

    pub fn space(&self) -> &AddressSpace {
        &self.space
    }

    /// Bytes of user memory mapped (shared pages included).
    pub fn mapped_bytes(&self) -> u64 {
        (self.pages.len() + self.shared.len()) as u64 * PAGE_SIZE
    }

    /// Maps page `virt` read-only (executable or not) to a frame of the
    /// shared text cache holding `contents` (one page); falls back to a
    /// private copy when the cache cannot take it. A shared frame is never
    /// mapped writable, so nothing a process does can change what another
    /// process runs.
    pub fn map_shared(&mut self, virt: u64, contents: &[u8], executable: bool) -> Result<(), Errno> {
        let flags = MapFlags { writable: false, executable, user: true };
        self.check_free(virt)?;
        self.shared.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        match super::text::share(contents) {
            Some(frame) => {
                if self.space.map(virt, frame, flags).is_err() {
                    super::text::release(frame);
                    return Err(Errno::ENOMEM);
                }
                self.shared.push(virt);
                Ok(())
            }
            None => self.map_private(virt, contents, flags),
        }
    }

    /// Maps a fresh frame of this process at page `virt` with `flags`,
    /// holding `contents` (at most a page; zeros after it). The frame is
    /// filled before it is mapped, so a read-only page gets its bytes
    /// without the kernel ever writing through a read-only mapping.
    pub fn map_private(&mut self, virt: u64, contents: &[u8], flags: MapFlags) -> Result<(), Errno> {
        self.check_free(virt)?;
        if contents.len() > PAGE_SIZE as usize {
            return Err(Errno::EINVAL);
        }
        self.pages.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let frame = memory::alloc_zeroed_frame().ok_or(Errno::ENOMEM)?;
        // SAFETY: the frame was just allocated: no page table maps it yet,
        // so the direct map is its only mapping; `contents` fits in it.
        unsafe {
            let dst = memory::phys_to_virt(frame.start_address().as_u64()) as *mut u8;
            core::ptr::copy_nonoverlapping(contents.as_ptr(), dst, contents.len());
        }
        if self.space.map(virt, frame, flags).is_err() {
            // Not mapped, so still ours to give back.
            let _ = memory::free_frame(frame);
            return Err(Errno::ENOMEM);
        }
        self.pages.push(virt);
        Ok(())
    }

    /// `EFAULT` unless `virt` is a page-aligned user address not mapped yet.
    fn check_free(&self, virt: u64) -> Result<(), Errno> {
        if !(USER_BOTTOM..USER_TOP).contains(&virt) || virt % PAGE_SIZE != 0 || self.space.translate(virt).is_some() {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// Reserves zero-filled memory from `start` to `end` (rounded out to
    /// pages), mapped on first touch with `flags`.
    pub fn reserve(&mut self, start: u64, end: u64, flags: MapFlags) -> Result<(), Errno> {
        let start = start & !(PAGE_SIZE - 1);
        let end = end.checked_add(PAGE_SIZE - 1).ok_or(Errno::EFAULT)? & !(PAGE_SIZE - 1);
        if start < USER_BOTTOM || end > USER_TOP || start >= end {
            return Err(Errno::EFAULT);
        }
        self.lazy.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.lazy.push((start, end, flags));
        Ok(())
    }

    /// Maps the page holding `addr` if it lies in reserved memory and is
    /// not mapped yet; whether it did.
    pub fn fault_in(&mut self, addr: u64) -> bool {
        let page = addr & !(PAGE_SIZE - 1);
        let Some(&(_, _, flags)) = self.lazy.iter().find(|(s, e, _)| (*s..*e).contains(&page)) else {
            return false;
        };
        self.space.translate(page).is_none() && self.map_private(page, &[], flags).is_ok()
    }

    /// Copies `data` to user address `virt` (for the initial stack, before
    /// the program runs), under the same rule as a system call's copy to
    /// user memory: every page must be mapped (or reserved) user-writable
    /// and private to this process ([`UserSpace::check`]); `EFAULT`
    /// otherwise, with nothing written.
    pub fn write(&mut self, mut virt: u64, mut data: &[u8]) -> Result<(), Errno> {
        if !self.check(virt, data.len() as u64, true) {
            return Err(Errno::EFAULT);
        }
        while !data.is_empty() {
            let (phys, _) = self.space.translate(virt).ok_or(Errno::EFAULT)?;
            let room = (PAGE_SIZE - virt % PAGE_SIZE) as usize;
            let n = room.min(data.len());
            // SAFETY: `check` found the page mapped user-writable and not
            // shared: `phys` is a frame this space owns alone, reached
            // through the kernel's direct map; `n` stays within its page.
            unsafe {
                core::ptr::copy_nonoverlapping(data.as_ptr(), memory::phys_to_virt(phys.as_u64()) as *mut u8, n);
            }
            virt += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// Whether `len` bytes at `ptr` are all user memory (writable too, if
    /// `write`: mapped user-writable and not a page of the shared text
    /// cache); reserved pages in the range are mapped now.
    pub fn check(&mut self, ptr: u64, len: u64, write: bool) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = ptr.checked_add(len) else { return false };
        if ptr < USER_BOTTOM || end > USER_TOP {
            return false;
        }
        let mut page = ptr & !(PAGE_SIZE - 1);
        while page < end {
            if self.space.translate(page).is_none() && !self.fault_in(page) {
                return false;
            }
            match self.space.translate(page) {
                Some((_, flags)) if flags.user && !write => {}
                Some((_, flags)) if flags.user && flags.writable && !self.shared.contains(&page) => {}
                _ => return false,
            }
            page += PAGE_SIZE;
        }
        true
    }
}

impl Drop for UserSpace {
    /// Gives back every user frame, then the lower-half page tables and
    /// the top-level table. The space must not be active.
    fn drop(&mut self) {
        for &virt in &self.pages {
            if let Ok(frame) = self.space.unmap(virt) {
                let _ = memory::free_frame(frame);
            }
        }
        for &virt in &self.shared {
            if let Ok(frame) = self.space.unmap(virt) {
                super::text::release(frame);
            }
        }
        let root = self.space.root();
        // SAFETY: the space is not active (callers switch to another first),
        // no page of the lower half is mapped any more, and no other code
        // holds this space: its lower-half tables belong to it alone. The
        // kernel half (entries 256..512) is shared and left alone.
        unsafe { free_tables(root.start_address().as_u64(), 4, 0..256) };
        let _ = memory::free_frame(root);
    }
}

/// Frees the page tables below entries `range` of the table at physical
/// address `table` (at `level` 4 = PML4 .. 1 = page table).
///
/// # Safety
/// The tables must be unused and owned by the caller.
unsafe fn free_tables(table: u64, level: u8, range: core::ops::Range<usize>) {
    if level == 1 {
        return;
    }
    // SAFETY: `table` is a page table reached through the direct map; see
    // the caller's guarantee.
    let entries = unsafe { &*(memory::phys_to_virt(table) as *const PageTable) };
    for i in range {
        let entry = &entries[i];
        if entry.flags().contains(PageTableFlags::PRESENT) && !entry.flags().contains(PageTableFlags::HUGE_PAGE) {
            let child = entry.addr().as_u64();
            // SAFETY: same ownership as the parent table.
            unsafe { free_tables(child, level - 1, 0..512) };
            let _ = memory::free_frame(PhysFrame::containing_address(PhysAddr::new(child)));
        }
    }
}
