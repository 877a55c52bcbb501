//! Memory: physical frames, page tables, the kernel heap and the region for
//! generated code.
//!
//! Virtual layout (kernel half, shared by every address space):
//!
//! | range | what |
//! |---|---|
//! | `0xffff_8000_0000_0000` + phys | direct map of all RAM ([`PHYS_OFFSET`], 2 MiB pages, no-execute) |
//! | `0xffff_c000_0000_0000` ..     | kernel heap, grown on demand ([`heap`]) |
//! | `0xffff_d000_0000_0000` ..     | kernel stacks with guard pages ([`stack`]) |
//! | `0xffff_ffff_8000_0000` + phys | kernel image ([`KERNEL_BASE`]; text RX, rodata R, data RW) |
//! | `0xffff_ffff_c000_0000` ..     | code region for the JIT, within ±2 GiB of kernel text ([`code`]) |
//!
//! The lower half (below `0x0000_8000_0000_0000`) belongs to user processes.

pub mod code;
pub mod frame;
pub mod heap;
pub mod paging;
pub mod region;
pub mod stack;

use x86_64::PhysAddr;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{Mapper, OffsetPageTable, Page, PageTableFlags, PhysFrame, Size2MiB};
use x86_64::VirtAddr;

pub use frame::{FrameStats, alloc_frame, alloc_zeroed_frame, free_frame};
pub use heap::{HeapStats, frames_outside_heap, heap_stats};
pub use paging::{AddressSpace, MapError, MapFlags, map_page, protect_page, translate, unmap_page};

use crate::bootinfo::BootInfo;

/// Where the direct map of physical memory starts.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Where the kernel image is linked (plus its physical address).
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;
/// Size of a page and a frame.
pub const PAGE_SIZE: u64 = 4096;

/// The virtual address of physical address `phys` in the direct map.
pub fn phys_to_virt(phys: u64) -> u64 {
    PHYS_OFFSET + phys
}

/// The physical address behind a direct-map or kernel-image address.
pub fn virt_to_phys(virt: u64) -> Option<u64> {
    translate(virt).map(|(phys, _)| phys.as_u64())
}

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

/// Address of a linker symbol.
macro_rules! sym {
    ($name:ident) => {
        &raw const $name as u64
    };
}

/// Physical range occupied by the kernel image (boot code included).
pub fn kernel_image() -> (u64, u64) {
    (sym!(__kernel_phys_start), sym!(__kernel_phys_end))
}

/// What [`init`] found.
#[derive(Debug, Clone, Copy)]
pub struct MemoryReport {
    /// Bytes of usable RAM in the memory map.
    pub usable_bytes: u64,
    /// Highest usable physical address (end of the direct map).
    pub top: u64,
}

/// Sets up the frame allocator from the memory map, builds the kernel's page
/// tables (direct map, kernel image with per-section permissions, guard
/// pages left unmapped) and switches to them.
pub fn init(info: &BootInfo) -> MemoryReport {
    let (image_start, image_end) = kernel_image();
    let mut reserved = [(0u64, 0u64); 10];
    reserved[0] = (0, 0x10_0000); // real-mode area, PVH start info
    reserved[1] = (image_start, image_end);
    for (slot, module) in reserved[2..].iter_mut().zip(info.modules()) {
        *slot = (module.start, module.start + module.len);
    }
    frame::init(info, &reserved);

    let usable = info.regions().iter().filter(|r| r.usable);
    let usable_bytes = usable.clone().map(|r| r.len).sum();
    let top = usable.map(|r| r.start + r.len).max().unwrap_or(0).min(frame::MAX_PHYS);

    let root = alloc_zeroed_frame().expect("a frame for the kernel PML4");
    let space = AddressSpace::from_root(root);
    map_direct(root, top);
    map_kernel_image(space);
    // Create the kernel-half top-level entries now, so that every address
    // space copied from this one shares them.
    heap::reserve_tables(space);
    stack::reserve_tables(space);
    code::reserve_tables(space);
    paging::AddressSpace::set_kernel(space);
    // SAFETY: the new tables map the kernel image, its stacks and the direct
    // map exactly as the boot tables did (minus the identity map, which no
    // code uses after boot).
    unsafe { Cr3::write(root, Cr3Flags::empty()) };
    MemoryReport { usable_bytes, top }
}

/// Maps physical `0..top` at [`PHYS_OFFSET`] with 2 MiB writable, no-execute pages.
fn map_direct(root: PhysFrame, top: u64) {
    // SAFETY: the new PML4 is reached through the boot direct map and is not active.
    let mut mapper = unsafe {
        OffsetPageTable::new(
            &mut *(phys_to_virt(root.start_address().as_u64()) as *mut x86_64::structures::paging::PageTable),
            VirtAddr::new(PHYS_OFFSET),
        )
    };
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    let mut phys = 0;
    while phys < top {
        let page = Page::<Size2MiB>::containing_address(VirtAddr::new(phys_to_virt(phys)));
        let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
        // SAFETY: the direct map aliases physical memory only as data (no-execute).
        let result = unsafe { mapper.map_to(page, frame, flags, &mut frame::TableFrames) };
        // Not flushed: these tables are not active yet.
        result.expect("direct map of physical memory").ignore();
        phys += 2 << 20;
    }
}

/// Maps the kernel image at [`KERNEL_BASE`]: text read+execute, rodata
/// read-only, data and bss read+write, the stacks' guard pages not at all.
fn map_kernel_image(space: AddressSpace) {
    let guards = crate::arch::gdt::guard_pages();
    let boot_guard = crate::arch::boot::boot_stack_guard();
    let sections = [
        (sym!(__text_start), sym!(__text_end), MapFlags::KERNEL_CODE),
        (sym!(__rodata_start), sym!(__rodata_end), MapFlags::KERNEL_RODATA),
        (sym!(__data_start), sym!(__data_end), MapFlags::KERNEL_DATA),
    ];
    for (start, end, flags) in sections {
        let mut virt = start;
        while virt < end {
            if virt != boot_guard && !guards.contains(&virt) {
                let frame = PhysFrame::containing_address(PhysAddr::new(virt - KERNEL_BASE));
                space.map(virt, frame, flags).expect("mapping the kernel image");
            }
            virt += PAGE_SIZE;
        }
    }
}
