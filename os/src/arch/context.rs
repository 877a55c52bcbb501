//! Switching between kernel threads, and the first entry into user mode.
//!
//! Every thread has its own kernel stack. [`switch`] saves the callee-saved
//! registers of the running thread on its stack, stores the stack pointer,
//! loads the other thread's stack pointer and pops its registers: the
//! `ret` at the end returns into whatever that thread was doing when it
//! last called `switch`. A new thread's stack is prepared by
//! [`prepare_stack`] so that its first `switch` "returns" into
//! `thread_start`, which calls the thread's entry function.
//!
//! With several CPUs, a thread that leaves one CPU may be picked by
//! another as soon as it is on the run queue, or freed by its parent as
//! soon as it is a zombie; neither may happen while the first CPU still
//! runs on its stack. So `switch` clears the leaving thread's "on a CPU"
//! flag itself, after it has stored the stack pointer and moved to the
//! next thread's stack: the first instant at which the old stack is free.

use core::arch::naked_asm;
use core::sync::atomic::AtomicBool;

use super::gdt;

/// Saves the current thread's registers, stores its stack pointer in
/// `*save_rsp`, moves to the stack `load_rsp`, clears `*on_cpu` (the
/// leaving thread's flag: from now on nothing here uses its stack) and
/// resumes the thread whose saved stack pointer is `load_rsp`.
///
/// # Safety
/// Interrupts must be off. `load_rsp` must be a stack pointer saved by
/// `switch` or made by [`prepare_stack`], whose stack is still allocated;
/// `save_rsp` and `on_cpu` must stay valid until the flag is cleared.
#[unsafe(naked)]
pub unsafe extern "C" fn switch(save_rsp: *mut u64, load_rsp: u64, on_cpu: *const AtomicBool) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "mov byte ptr [rdx], 0",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// First code of every new thread: `r12` holds its entry function and
/// `r13` the argument (placed there by [`prepare_stack`]). The switch
/// happened with interrupts off; a new thread starts with them on.
#[unsafe(naked)]
unsafe extern "C" fn thread_start() -> ! {
    naked_asm!(
        "sti",
        "mov rdi, r13",
        "call r12",
        "ud2",
    )
}

/// Lays out a new thread's stack (`top` is its highest address, 16-byte
/// aligned) so that switching to the returned stack pointer calls
/// `entry(arg)`. `entry` must never return.
///
/// # Safety
/// `top` must be the end of a writable stack of at least 128 bytes that
/// nothing else uses.
pub unsafe fn prepare_stack(top: u64, entry: extern "C" fn(u64) -> !, arg: u64) -> u64 {
    // Layout from the new rsp up, as `switch` pops it: r15 r14 r13 r12 rbx
    // rbp, then the return address. After the `ret`, rsp == top (16-byte
    // aligned), so the `call` in `thread_start` gives the entry function
    // the alignment the ABI promises.
    let frame: [u64; 7] = [0, 0, arg, entry as usize as u64, 0, 0, thread_start as *const () as u64];
    let rsp = top - 8 * frame.len() as u64;
    // SAFETY: the caller guarantees the stack below `top` is ours to write.
    unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
    rsp
}

/// Leaves the kernel for user mode at `rip` with stack `rsp`, interrupts
/// on, all other general registers zero.
///
/// # Safety
/// The current address space must map `rip` as user code and `rsp` as a
/// user stack; the TSS and the syscall entry must name this thread's
/// kernel stack.
pub unsafe fn enter_user(rip: u64, rsp: u64) -> ! {
    // SAFETY: builds an interrupt-return frame for ring 3 and executes
    // `iretq`; `swapgs` gives user mode its own GS base as trap entry expects.
    unsafe {
        core::arch::asm!(
            "cli",
            "swapgs",
            "push {ss}",
            "push {rsp}",
            "push 0x202",
            "push {cs}",
            "push {rip}",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor ecx, ecx",
            "xor edx, edx",
            "xor esi, esi",
            "xor edi, edi",
            "xor ebp, ebp",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r11d, r11d",
            "xor r12d, r12d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "xor r15d, r15d",
            "iretq",
            ss = in(reg) u64::from(gdt::USER_DATA),
            rsp = in(reg) rsp,
            cs = in(reg) u64::from(gdt::USER_CODE),
            rip = in(reg) rip,
            options(noreturn),
        )
    }
}
