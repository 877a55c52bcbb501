//! Segments and the task-state segment.
//!
//! Long mode ignores most of segmentation, but the CPU still needs a code
//! segment for each privilege level, and a TSS that names the stacks to
//! switch to: `rsp0` for interrupts from user mode (set per process with
//! [`set_kernel_stack`]) and the interrupt stack table (IST), which gives the
//! double-fault and page-fault handlers stacks of their own so that even a
//! kernel stack overflow ends in a readable report rather than a triple
//! fault. Every CPU has its own GDT and TSS (the boot CPU's IST stacks are
//! statics; the other CPUs' are `KernelStack`s with guard pages, made by
//! `super::smp`).
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

use super::percpu::MAX_CPUS;

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

/// Size of each IST stack (on every CPU).
pub const IST_STACK_SIZE: usize = 16 * 1024;
/// How many IST stacks each CPU has.
pub const IST_STACKS: usize = 3;

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

/// One CPU's GDT and TSS (the GDT holds the TSS descriptor, so each CPU
/// needs its own).
struct CpuTables {
    tss: UnsafeCell<TaskStateSegment>,
    gdt: spin::Once<GlobalDescriptorTable>,
}

// SAFETY: a CPU's TSS is written by `load` before the CPU loads it and then
// only by `set_kernel_stack` on that same CPU with interrupts off, so no two
// CPUs (and no interrupt) ever write one TSS at a time.
unsafe impl Sync for CpuTables {}

static TABLES: [CpuTables; MAX_CPUS] =
    [const { CpuTables { tss: UnsafeCell::new(TaskStateSegment::new()), gdt: spin::Once::new() } }; MAX_CPUS];

/// Fills the boot CPU's TSS with the static IST stacks and loads its
/// tables (see [`load`]).
pub fn init() {
    let stacks = IST.0.get();
    let tops = core::array::from_fn(|slot| {
        // SAFETY: only the address of the stack is computed.
        let stack = unsafe { &raw const (*stacks)[slot].stack };
        stack as u64 + IST_STACK_SIZE as u64
    });
    load(0, tops);
}

/// Fills CPU `cpu`'s TSS with the IST stack tops `ist_tops` (one per IST
/// slot), builds its GDT, loads both and reloads the segment registers.
/// Runs on that CPU, once, with interrupts off; `cpu` is below `MAX_CPUS`
/// (callers get it from `percpu`).
pub(super) fn load(cpu: usize, ist_tops: [u64; IST_STACKS]) {
    let Some(tables) = TABLES.get(cpu) else { return };
    let tss = tables.tss.get();
    for (slot, top) in ist_tops.into_iter().enumerate() {
        // SAFETY: this CPU has not loaded its TSS yet and nothing else
        // writes it (see `CpuTables`).
        unsafe { (*tss).interrupt_stack_table[slot] = VirtAddr::new(top) };
    }
    let gdt = tables.gdt.call_once(|| {
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

/// Sets the stack this CPU switches to on an interrupt or exception from
/// user mode (TSS.rsp0). Call with interrupts off.
pub fn set_kernel_stack(top: u64) {
    let Some(tables) = TABLES.get(super::percpu::cpu_id()) else { return };
    // SAFETY: only this CPU writes its own TSS, with interrupts off (see `CpuTables`).
    unsafe { (*tables.tss.get()).privilege_stack_table[0] = VirtAddr::new(top) };
}

/// Virtual addresses of the guard pages below the IST stacks (left unmapped).
pub fn guard_pages() -> [u64; IST_STACKS] {
    let stacks = IST.0.get();
    // SAFETY: only addresses are computed.
    core::array::from_fn(|slot| unsafe { &raw const (*stacks)[slot].guard as u64 })
}
