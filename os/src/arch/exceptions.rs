//! A handler for every CPU exception.
//!
//! In order, an exception is:
//! 1. a breakpoint (`int3`): logged and counted, execution goes on; a
//!    non-maskable interrupt: noted without taking a lock
//!    ([`crate::klog::nmi`]), execution goes on;
//! 2. recoverable: the faulting instruction is in a registered region
//!    ([`super::fault`]), so the frame is rewritten to the resume point;
//! 3. from user mode: passed to the handler installed with
//!    [`set_user_fault_handler`] (the process layer ends the program);
//! 4. otherwise fatal: a report with the exception, the decoded error code
//!    and every register, then a kernel panic. So is an exception in kernel
//!    mode while the user's GS base is loaded (between `swapgs` and
//!    `sysretq`/`iretq`), before anything reads per-CPU data.

use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::TrapFrame;
use super::fault::{self, Fault};

const NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "non-maskable interrupt",
    "breakpoint",
    "overflow",
    "bound range exceeded",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved exception 15",
    "x87 floating-point error",
    "alignment check",
    "machine check",
    "SIMD floating-point exception",
    "virtualization exception",
    "control protection exception",
    "reserved exception 22",
    "reserved exception 23",
    "reserved exception 24",
    "reserved exception 25",
    "reserved exception 26",
    "reserved exception 27",
    "hypervisor injection exception",
    "VMM communication exception",
    "security exception",
    "reserved exception 31",
];

/// The name of exception `vector` ("page fault", ...).
pub fn name(vector: u8) -> &'static str {
    NAMES.get(usize::from(vector)).copied().unwrap_or("unknown exception")
}

/// Handles faults raised by user-mode code; returns normally to resume the
/// (possibly changed) frame.
pub type UserFaultHandler = fn(&mut TrapFrame, &Fault);

static USER_FAULT_HANDLER: AtomicUsize = AtomicUsize::new(0);
static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// Installs the handler for exceptions raised in ring 3.
pub fn set_user_fault_handler(handler: UserFaultHandler) {
    USER_FAULT_HANDLER.store(handler as usize, Ordering::Release);
}

/// How many breakpoints were hit since boot.
pub fn breakpoint_count() -> u64 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

/// Entry from the dispatcher for vectors 0..32.
pub fn handle(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    if vector == 3 {
        BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
        log::info!("breakpoint at rip {:#x}", frame.rip.wrapping_sub(1));
        return;
    }
    if vector == 2 {
        // Never `log::`: the interrupted code may hold the log's lock.
        crate::klog::nmi(frame.rip);
        return;
    }
    let fault = Fault {
        vector,
        error_code: frame.error_code,
        rip: frame.rip,
        rsp: frame.rsp,
        address: (vector == Fault::PAGE_FAULT).then(super::read_cr2),
    };
    if !frame.from_user() && !super::percpu::gs_is_kernel() {
        // Kernel code between `swapgs` and the return to user mode (a bad
        // `sysretq` or `iretq`): nothing that uses per-CPU data may run.
        panic!("unrecoverable {fault} with the user's GS base loaded\n{}", Registers(frame));
    }
    if vector != 8
        && !frame.from_user()
        && let Some(resume) = fault::recover(&fault)
    {
        log::debug!("recovered: {fault}, resuming at {:#x}", resume.rip);
        frame.rip = resume.rip;
        frame.rsp = resume.rsp;
        return;
    }
    if frame.from_user() {
        let handler = USER_FAULT_HANDLER.load(Ordering::Acquire);
        if handler != 0 {
            // SAFETY: only `set_user_fault_handler` stores non-zero values,
            // and it stores `UserFaultHandler`s.
            let handler: UserFaultHandler = unsafe { core::mem::transmute(handler) };
            handler(frame, &fault);
            return;
        }
    }
    let note = match fault.address {
        Some(address) if is_guard_page(address) => "\nnote: the address is in a stack guard page: kernel stack overflow",
        _ => "",
    };
    panic!("unrecoverable {}{note}\n{}", fault, Registers(frame));
}

/// Whether `address` lies in the unmapped page below a kernel stack.
fn is_guard_page(address: u64) -> bool {
    let page = address & !0xfff;
    page == super::boot::boot_stack_guard()
        || super::gdt::guard_pages().contains(&page)
        || crate::memory::stack::is_guard_page(address)
}

/// Formats every saved register, four to a line.
pub struct Registers<'a>(pub &'a TrapFrame);

impl fmt::Display for Registers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let regs = [
            ("rax", r.rax), ("rbx", r.rbx), ("rcx", r.rcx), ("rdx", r.rdx),
            ("rsi", r.rsi), ("rdi", r.rdi), ("rbp", r.rbp), ("rsp", r.rsp),
            ("r8", r.r8), ("r9", r.r9), ("r10", r.r10), ("r11", r.r11),
            ("r12", r.r12), ("r13", r.r13), ("r14", r.r14), ("r15", r.r15),
            ("rip", r.rip), ("rflags", r.rflags), ("cs", r.cs), ("ss", r.ss),
        ];
        for (i, (name, value)) in regs.iter().enumerate() {
            write!(f, "  {name:>6} {value:#018x}")?;
            if i % 4 == 3 {
                writeln!(f)?;
            }
        }
        write!(f, "  error code {:#x}", r.error_code)
    }
}
