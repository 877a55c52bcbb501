//! Segments and the task-state segment.
//!
//! Long mode ignores most of segmentation, but the CPU still needs a code
//! segment for each privilege level, and a TSS that names the stacks to
//! switch to: `rsp0` for interrupts from user mode (set per process with
//! [`set_kernel_stack`]) and the interrupt stack table (IST), which gives the
//! double-fault and page-fault handlers stacks of their own so that even a
//! kernel stack overflow ends in a readable report rather than a triple
//! fault.
//!
//! The order of the segments suits `syscall`/`sysret`: user data right
//! before user code (STAR's sysret base is [`KERNEL_DATA`]).

use core::cell::UnsafeCell;

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

/// Kernel code selector.
pub const KERNEL_CODE: u16 = 0x08;
/// Kernel data selector.
pub const KERNEL_DATA: u16 = 0x10;
/// User data selector (RPL 3).
pub const USER_DATA: u16 = 0x18 | 3;
/// User code selector (RPL 3).
pub const USER_CODE: u16 = 0x20 | 3;
/// TSS selector.
pub const TSS: u16 = 0x28;

/// IST slot (1-based, as in the IDT) of the double-fault stack.
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST slot of the page-fault stack.
pub const IST_PAGE_FAULT: u8 = 2;
/// IST slot of the NMI and machine-check stack.
pub const IST_NMI: u8 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;
const IST_STACKS: usize = 3;

/// A stack with an unmapped guard page below it.
#[repr(C, align(4096))]
struct GuardedStack {
    guard: [u8; 4096],
    stack: [u8; IST_STACK_SIZE],
}

struct IstStacks(UnsafeCell<[GuardedStack; IST_STACKS]>);
// SAFETY: the stacks are only used by the CPU through the TSS; Rust code
// takes nothing but their addresses.
unsafe impl Sync for IstStacks {}

static IST: IstStacks = IstStacks(UnsafeCell::new(
    [const { GuardedStack { guard: [0; 4096], stack: [0; IST_STACK_SIZE] } }; IST_STACKS],
));

pub(super) struct TssCell(UnsafeCell<TaskStateSegment>);
// SAFETY: the TSS is written during init and by `set_kernel_stack`, both
// with interrupts off on the only CPU.
unsafe impl Sync for TssCell {}

pub(super) static TSS_CELL: TssCell = TssCell(UnsafeCell::new(TaskStateSegment::new()));
static GDT: spin::Once<GlobalDescriptorTable> = spin::Once::new();

/// Fills the TSS, loads the GDT, reloads the segment registers and the task register.
pub fn init() {
    let stacks = IST.0.get();
    let tss = TSS_CELL.0.get();
    for slot in 0..IST_STACKS {
        // SAFETY: only the address of the stack is computed.
        let stack = unsafe { &raw const (*stacks)[slot].stack };
        let top = VirtAddr::from_ptr(stack) + IST_STACK_SIZE as u64;
        // SAFETY: init runs once, with interrupts off, before the TSS is loaded.
        unsafe { (*tss).interrupt_stack_table[slot] = top };
    }
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a static, so it lives as long as the GDT.
        gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
        gdt
    });
    gdt.load();
    // SAFETY: the selectors name the descriptors appended above.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CODE));
        SS::set_reg(SegmentSelector(KERNEL_DATA));
        DS::set_reg(SegmentSelector(KERNEL_DATA));
        ES::set_reg(SegmentSelector(KERNEL_DATA));
        load_tss(SegmentSelector(TSS));
    }
}

/// Sets the stack the CPU switches to on an interrupt or exception from
/// user mode (TSS.rsp0). Call with interrupts off.
pub fn set_kernel_stack(top: u64) {
    // SAFETY: single CPU; callers keep interrupts off while switching stacks.
    unsafe { (*TSS_CELL.0.get()).privilege_stack_table[0] = VirtAddr::new(top) };
}

/// Virtual addresses of the guard pages below the IST stacks (left unmapped).
pub fn guard_pages() -> [u64; IST_STACKS] {
    let stacks = IST.0.get();
    // SAFETY: only addresses are computed.
    core::array::from_fn(|slot| unsafe { &raw const (*stacks)[slot].guard as u64 })
}
