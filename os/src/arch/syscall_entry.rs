//! The `syscall`/`sysret` entry into the kernel.
//!
//! `syscall` jumps to [`syscall_entry`] with interrupts off (FMASK clears
//! IF), the user's return address in `rcx` and flags in `r11`, and the
//! user's stack still loaded. The entry swaps in the kernel's GS base
//! (the per-CPU record, `super::percpu`), switches to the running thread's
//! kernel stack ([`set_kernel_stack`]) kept there, saves a [`SyscallFrame`], calls the
//! handler installed with [`init`], restores the user's registers (the
//! handler may have changed `rax`, and `rip`/`rsp` for `exec`) and returns
//! with `sysretq`. Every register but `rax`, `rcx` and `r11` is preserved.

use core::arch::naked_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::VirtAddr;

use super::gdt;

/// What the entry saved, in stack order (lowest address first).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct SyscallFrame {
    pub r9: u64,
    pub r8: u64,
    pub r10: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    /// The call number on entry; the result on return.
    pub rax: u64,
    pub rflags: u64,
    /// Where `sysret` returns to (the instruction after `syscall`).
    pub rip: u64,
    pub rsp: u64,
}

impl SyscallFrame {
    /// The six arguments in ABI order.
    pub fn args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
}

/// The handler called for every system call.
pub type SyscallHandler = extern "C" fn(&mut SyscallFrame);

static HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Sets the kernel stack that system calls and interrupts from user mode of
/// the thread about to run on this CPU use (call on every thread switch,
/// with interrupts off): the per-CPU record's copy, which the entry reads,
/// and this CPU's TSS.rsp0.
pub fn set_kernel_stack(top: u64) {
    super::percpu::current().set_kernel_stack_top(top);
    gdt::set_kernel_stack(top);
}

/// Installs `handler` and turns on `syscall`/`sysret` on every online CPU
/// (the MSRs are per CPU; a CPU started later turns them on itself).
pub fn init(handler: SyscallHandler) {
    HANDLER.store(handler as usize, Ordering::Release);
    enable_on_this_cpu();
    super::ipi::call_on_others(|_| enable_on_this_cpu(), 0);
}

/// Turns on `syscall`/`sysret` on this CPU if [`init`] has run.
pub(super) fn enable_if_installed() {
    if HANDLER.load(Ordering::Acquire) != 0 {
        enable_on_this_cpu();
    }
}

fn enable_on_this_cpu() {
    // SAFETY: the GDT has kernel code/data at 0x08/0x10 and user data/code
    // at 0x18/0x20 as STAR requires; the entry below is a valid handler.
    unsafe {
        Star::write(
            SegmentSelector(gdt::USER_CODE),
            SegmentSelector(gdt::USER_DATA),
            SegmentSelector(gdt::KERNEL_CODE),
            SegmentSelector(gdt::KERNEL_DATA),
        )
        .expect("the GDT layout fits STAR");
        LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
        SFMask::write(RFlags::INTERRUPT_FLAG | RFlags::DIRECTION_FLAG | RFlags::TRAP_FLAG | RFlags::ALIGNMENT_CHECK);
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
    }
}

/// Where `syscall` enters the kernel on this CPU: LSTAR, or 0 while
/// `syscall` is off (EFER.SCE clear).
pub fn entry_on_this_cpu() -> u64 {
    if Efer::read().contains(EferFlags::SYSTEM_CALL_EXTENSIONS) { LStar::read().as_u64() } else { 0 }
}

extern "C" fn dispatch(frame: &mut SyscallFrame) {
    let handler = HANDLER.load(Ordering::Acquire);
    if handler == 0 {
        frame.rax = (-(abi::Errno::ENOSYS.code() as i64)) as u64;
        return;
    }
    // SAFETY: only `init` stores non-zero values, and it stores a `SyscallHandler`.
    let handler: SyscallHandler = unsafe { core::mem::transmute(handler) };
    handler(frame);
}

/// The `LSTAR` target.
#[unsafe(naked)]
unsafe extern "C" fn syscall_entry() {
    naked_asm!(
        // The per-CPU record (GS base) has a scratch slot for the user's
        // rsp and this CPU's kernel stack top; interrupts are off.
        "swapgs",
        "mov gs:[{user_rsp}], rsp",
        "mov rsp, gs:[{kstack}]",
        "push qword ptr gs:[{user_rsp}]",
        "push rcx",
        "push r11",
        "push rax",
        "push rdi",
        "push rsi",
        "push rdx",
        "push r10",
        "push r8",
        "push r9",
        // Ten quadwords on a 16-byte aligned stack: aligned for the call.
        "mov rdi, rsp",
        "cld",
        "call {dispatch}",
        // The handler returns with interrupts off.
        "pop r9",
        "pop r8",
        "pop r10",
        "pop rdx",
        "pop rsi",
        "pop rdi",
        "pop rax",
        "pop r11",
        "pop rcx",
        "pop rsp",
        "swapgs",
        "sysretq",
        user_rsp = const super::percpu::USER_RSP,
        kstack = const super::percpu::KERNEL_STACK,
        dispatch = sym dispatch,
    )
}
