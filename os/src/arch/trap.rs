//! Interrupt and exception entry.
//!
//! Each vector has a tiny naked stub that makes the stack look the same for
//! every vector (a zero is pushed where the CPU pushes no error code, then
//! the vector number) and jumps to `trap_entry`, which saves all general
//! registers, calls [`trap_dispatch`] with a pointer to the resulting
//! [`TrapFrame`], restores the registers — possibly changed by the handler,
//! e.g. to resume at a recovery point — and returns with `iretq`.
//! Entries from user mode swap in the kernel's GS base (`swapgs`).

use core::arch::naked_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::{apic, exceptions, pic};

/// The registers of the interrupted code, as saved on the stack.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Vector number pushed by the stub.
    pub vector: u64,
    /// Error code pushed by the CPU, or 0.
    pub error_code: u64,
    // Pushed by the CPU:
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Whether the interrupted code ran in ring 3.
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

/// Saves the registers, calls the dispatcher, restores them and returns.
#[unsafe(naked)]
unsafe extern "C" fn trap_entry() {
    naked_asm!(
        // Stack: vector, error code, rip, cs, ... ; cs at 24(%rsp).
        "testb $3, 24(%rsp)",
        "jz 1f",
        "swapgs",
        "1:",
        "push %rax",
        "push %rbx",
        "push %rcx",
        "push %rdx",
        "push %rsi",
        "push %rdi",
        "push %rbp",
        "push %r8",
        "push %r9",
        "push %r10",
        "push %r11",
        "push %r12",
        "push %r13",
        "push %r14",
        "push %r15",
        "mov %rsp, %rdi",
        "cld",
        // 22 quadwords are on the stack and the CPU aligned it to 16 bytes
        // before pushing its frame, so the call sees an aligned stack.
        "call {dispatch}",
        "pop %r15",
        "pop %r14",
        "pop %r13",
        "pop %r12",
        "pop %r11",
        "pop %r10",
        "pop %r9",
        "pop %r8",
        "pop %rbp",
        "pop %rdi",
        "pop %rsi",
        "pop %rdx",
        "pop %rcx",
        "pop %rbx",
        "pop %rax",
        "testb $3, 24(%rsp)",
        "jz 2f",
        "swapgs",
        "2:",
        "add $16, %rsp",
        "iretq",
        dispatch = sym trap_dispatch,
        options(att_syntax)
    );
}

macro_rules! stubs {
    ($($vector:literal $name:ident $kind:ident),* $(,)?) => {
        $(stubs!(@one $vector $name $kind);)*
        /// Every vector that has an entry stub, with the stub's address.
        pub static STUBS: &[(u8, unsafe extern "C" fn())] = &[$(($vector, $name)),*];
    };
    (@one $vector:literal $name:ident none) => {
        #[unsafe(naked)]
        unsafe extern "C" fn $name() {
            naked_asm!("push $0", "push ${v}", "jmp {entry}",
                v = const $vector, entry = sym trap_entry, options(att_syntax));
        }
    };
    (@one $vector:literal $name:ident custom) => {};
    (@one $vector:literal $name:ident code) => {
        #[unsafe(naked)]
        unsafe extern "C" fn $name() {
            naked_asm!("push ${v}", "jmp {entry}",
                v = const $vector, entry = sym trap_entry, options(att_syntax));
        }
    };
}

// `code`: the CPU pushes an error code for this vector; `none`: it does
// not; `custom`: the stub is written out below.
stubs! {
    0 vec0 none, 1 vec1 none, 2 vec2 none, 3 vec3 none, 4 vec4 none, 5 vec5 none,
    6 vec6 none, 7 vec7 none, 8 vec8 code, 9 vec9 none, 10 vec10 code, 11 vec11 code,
    12 vec12 code, 13 vec13 code, 14 page_fault_entry custom, 15 vec15 none, 16 vec16 none,
    17 vec17 code, 18 vec18 none, 19 vec19 none, 20 vec20 none, 21 vec21 code,
    22 vec22 none, 23 vec23 none, 24 vec24 none, 25 vec25 none, 26 vec26 none,
    27 vec27 none, 28 vec28 none, 29 vec29 code, 30 vec30 code, 31 vec31 none,
    32 irq0 none, 33 irq1 none, 34 irq2 none, 35 irq3 none, 36 irq4 none, 37 irq5 none,
    38 irq6 none, 39 irq7 none, 40 irq8 none, 41 irq9 none, 42 irq10 none,
    43 irq11 none, 44 irq12 none, 45 irq13 none, 46 irq14 none, 47 irq15 none,
    48 apic_timer none, 49 apic_wake none, 50 apic_call none, 255 apic_spurious none,
}

/// Page faults arrive on their own IST stack, so that a kernel stack
/// overflow can still be reported. A page fault from user mode, though, may
/// end in a task switch (the process is killed, or waits for memory), and a
/// task must never sleep on the IST stack, which the next page fault reuses.
/// So when the fault comes from ring 3, this stub moves the CPU's frame to
/// the top of the task's kernel stack (TSS.rsp0, where any other exception
/// from user mode lands; read from the per-CPU record) before the common
/// entry.
#[unsafe(naked)]
unsafe extern "C" fn page_fault_entry() {
    naked_asm!(
        "push $14",
        // Stack: vector, error code, rip, cs, rflags, rsp, ss.
        "testb $3, 24(%rsp)",
        "jz 2f",
        "push %rax",
        "push %rcx",
        "push %rdx",
        // This CPU's TSS.rsp0, copied in the per-CPU record: the GS base
        // is still the user's, so swap it in for the one read.
        "swapgs",
        "mov %gs:{kstack}, %rax",
        "swapgs",
        "sub $56, %rax",
        "xor %ecx, %ecx",
        "1:",
        "mov 24(%rsp,%rcx,8), %rdx",
        "mov %rdx, (%rax,%rcx,8)",
        "inc %ecx",
        "cmp $7, %ecx",
        "jne 1b",
        // Interrupts are off: the slot below the new frame stays intact.
        "mov 16(%rsp), %rcx",
        "mov %rcx, -8(%rax)",
        "mov (%rsp), %rdx",
        "mov 8(%rsp), %rcx",
        "mov %rax, %rsp",
        "mov -8(%rsp), %rax",
        "2:",
        "jmp {entry}",
        kstack = const super::percpu::KERNEL_STACK,
        entry = sym trap_entry,
        options(att_syntax)
    );
}

/// A handler for a hardware interrupt line.
pub type IrqHandler = fn(&mut TrapFrame);

static IRQ_HANDLERS: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];

/// Installs `handler` for IRQ `irq` (0..16) and unmasks the line.
pub fn register_irq_handler(irq: u8, handler: IrqHandler) {
    IRQ_HANDLERS[usize::from(irq)].store(handler as usize, Ordering::Release);
    pic::unmask(irq);
}

/// What every CPU's local APIC timer runs, if set.
static CPU_TIMER_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Installs `handler` for every CPU's local APIC timer interrupt (run on
/// the CPU whose timer it is, after the end of interrupt: it may switch
/// tasks).
pub fn set_cpu_timer_handler(handler: IrqHandler) {
    CPU_TIMER_HANDLER.store(handler as usize, Ordering::Release);
}

/// Routes a saved frame to the exception or IRQ handler of its vector.
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    match frame.vector {
        0..=31 => exceptions::handle(frame),
        32..=47 => {
            let irq = (frame.vector - 32) as u8;
            let handler = IRQ_HANDLERS[usize::from(irq)].load(Ordering::Acquire);
            // Acknowledge first: a handler may switch to another task.
            pic::end_of_interrupt(irq);
            if handler != 0 {
                // SAFETY: only `register_irq_handler` stores non-zero values,
                // and it stores `IrqHandler`s.
                let handler: IrqHandler = unsafe { core::mem::transmute(handler) };
                handler(frame);
            }
        }
        v if v == u64::from(apic::TIMER_VECTOR) => {
            super::percpu::current().count_timer_tick();
            apic::end_of_interrupt();
            let handler = CPU_TIMER_HANDLER.load(Ordering::Acquire);
            if handler != 0 {
                // SAFETY: only `set_cpu_timer_handler` stores non-zero
                // values, and it stores `IrqHandler`s.
                let handler: IrqHandler = unsafe { core::mem::transmute(handler) };
                handler(frame);
            }
        }
        v if v == u64::from(apic::WAKE_VECTOR) => {
            super::percpu::current().count_wake_ipi();
            apic::end_of_interrupt();
        }
        v if v == u64::from(super::ipi::CALL_VECTOR) => {
            super::ipi::run_pending();
            apic::end_of_interrupt();
        }
        // A spurious interrupt is not acknowledged (Intel SDM vol. 3, 11.9).
        v if v == u64::from(apic::SPURIOUS_VECTOR) => {}
        _ => log::warn!("interrupt on unexpected vector {}", frame.vector),
    }
}
