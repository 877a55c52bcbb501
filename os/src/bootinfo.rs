//! What the boot loader (QEMU's PVH loader) told the kernel: the physical
//! memory map, the modules (the initrd, if `-initrd` was given), the
//! command line and where the ACPI tables begin (the RSDP). Read once at boot through the direct map and copied into a
//! static, so nothing depends on the loader's memory afterwards except the
//! module contents, whose frames the frame allocator keeps reserved.

use core::alloc::Layout;

use pvh::start_info::reader::{MemMap, StartInfoReader};

use crate::memory::phys_to_virt;

const MAX_REGIONS: usize = 64;
const MAX_MODULES: usize = 8;
const MAX_CMDLINE: usize = 256;

/// One entry of the memory map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemRegion {
    pub start: u64,
    pub len: u64,
    /// `true` for ordinary RAM (E820 type 1).
    pub usable: bool,
}

/// A module loaded next to the kernel (physical range).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Module {
    pub start: u64,
    pub len: u64,
}

#[derive(Debug)]
pub struct BootInfo {
    regions: [MemRegion; MAX_REGIONS],
    region_count: usize,
    modules: [Module; MAX_MODULES],
    module_count: usize,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    rsdp: u64,
}

impl BootInfo {
    pub fn regions(&self) -> &[MemRegion] {
        &self.regions[..self.region_count]
    }

    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }

    /// Physical address of the ACPI RSDP (0 if the loader gave none).
    pub fn rsdp(&self) -> u64 {
        self.rsdp
    }

    /// The kernel command line (`-append`), or "" if absent or not UTF-8.
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }
}

static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();

/// Reads physical memory through the direct map (the boot page tables
/// already provide it for the first 4 GiB).
struct DirectMap;

impl MemMap for DirectMap {
    fn ptr(&self, paddr: usize, layout: Layout) -> *const u8 {
        let ptr = phys_to_virt(paddr as u64) as *const u8;
        if (ptr as usize).is_multiple_of(layout.align()) { ptr } else { core::ptr::null() }
    }
}

/// Parses the PVH start info at physical address `start_info`; `None` if
/// its magic number is wrong.
pub fn init(start_info: u32) -> Option<&'static BootInfo> {
    // SAFETY: QEMU passes the address of a valid start info, and the direct
    // map covers it.
    let reader = unsafe { StartInfoReader::from_paddr(start_info, DirectMap) }?;
    let mut info = BootInfo {
        regions: [MemRegion::default(); MAX_REGIONS],
        region_count: 0,
        modules: [Module::default(); MAX_MODULES],
        module_count: 0,
        cmdline: [0; MAX_CMDLINE],
        cmdline_len: 0,
        rsdp: reader.raw().rsdp_paddr,
    };
    for entry in reader.memmap().iter().take(MAX_REGIONS) {
        info.regions[info.region_count] = MemRegion { start: entry.addr, len: entry.size, usable: entry.ty == 1 };
        info.region_count += 1;
    }
    for module in reader.modlist().take(MAX_MODULES) {
        let raw = module.raw();
        info.modules[info.module_count] = Module { start: raw.paddr, len: raw.size };
        info.module_count += 1;
    }
    if let Some(cmdline) = reader.cmdline() {
        let bytes = cmdline.to_bytes();
        let len = bytes.len().min(MAX_CMDLINE);
        info.cmdline[..len].copy_from_slice(&bytes[..len]);
        info.cmdline_len = len;
    }
    Some(BOOT_INFO.call_once(|| info))
}

/// The boot information (after [`init`]).
pub fn get() -> Option<&'static BootInfo> {
    BOOT_INFO.get()
}

/// The contents of the first boot module (the initrd), if any.
pub fn initrd() -> Option<&'static [u8]> {
    let module = *get()?.modules().first()?;
    let ptr = phys_to_virt(module.start) as *const u8;
    // SAFETY: the module's frames are reserved by the frame allocator and
    // mapped by the direct map; nothing writes them.
    Some(unsafe { core::slice::from_raw_parts(ptr, module.len as usize) })
}
