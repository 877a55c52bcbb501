//! The interrupt descriptor table: 256 gates, each pointing at an entry stub
//! from [`super::trap`].

use core::cell::UnsafeCell;

use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;

use super::gdt;
use super::trap;

/// One 16-byte interrupt gate.
#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const MISSING: Gate =
        Gate { offset_low: 0, selector: 0, ist: 0, attributes: 0, offset_mid: 0, offset_high: 0, reserved: 0 };

    /// An interrupt gate (interrupts off on entry) to `handler`.
    fn new(handler: u64, ist: u8, user_callable: bool) -> Gate {
        let dpl = if user_callable { 3 } else { 0 };
        Gate {
            offset_low: handler as u16,
            selector: gdt::KERNEL_CODE,
            ist,
            attributes: 0x8e | (dpl << 5),
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

struct Idt(UnsafeCell<[Gate; 256]>);
// SAFETY: written only by `init` on the boot CPU before its `lidt` and
// before any other CPU starts, with interrupts off.
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(UnsafeCell::new([Gate::MISSING; 256]));

/// Fills a gate for every stub and loads the table on the boot CPU.
pub fn init() {
    let table = IDT.0.get();
    for &(vector, stub) in trap::STUBS {
        let ist = match vector {
            8 => gdt::IST_DOUBLE_FAULT,
            14 => gdt::IST_PAGE_FAULT,
            2 | 18 => gdt::IST_NMI,
            _ => 0,
        };
        // `int3` may be used from user mode (debuggers); nothing else.
        let user_callable = vector == 3;
        // SAFETY: init runs once with interrupts off; nothing reads the table yet.
        unsafe { (*table)[usize::from(vector)] = Gate::new(stub as usize as u64, ist, user_callable) };
    }
    load();
}

/// Loads the table on this CPU (every CPU shares it; the IST slots it
/// names are in each CPU's own TSS).
pub fn load() {
    let table = IDT.0.get();
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<[Gate; 256]>() - 1) as u16,
        base: VirtAddr::from_ptr(table),
    };
    // SAFETY: the table is a static with a gate for every vector the CPU or
    // the PIC can raise.
    unsafe { lidt(&pointer) };
}
