//! Entering JIT-compiled module code: [`jit_enter`], the one function
//! through which the kernel runs a module's native code.
//!
//! The code is a System V function `extern "C" fn(ctx) -> u64`. It runs
//! with interrupts off on this CPU, never nested, on the current kernel
//! stack: the JIT's prologue reserves each BPF frame (at most 512 bytes)
//! with `sub rsp`, so nothing lives below the stack pointer.
//!
//! Run time: a verified program ends, but only its budget makes it end
//! soon. The JIT meters the code (docs/jit.md, "Fuel"): it subtracts its
//! charges from this CPU's fuel counter in the per-CPU record
//! (`sub qword gs:[FUEL], n`: [`super::percpu::FUEL`]), which `jit_enter`
//! sets to the run's budget, and jumps to `jit_out_of_fuel` when a charge
//! is more than what is left. That target unwinds exactly as a fault does (below), and
//! `jit_enter` returns [`JitStop::OutOfFuel`]. Each run's length in TSC
//! cycles, interrupts off, is measured and returned ([`JitRun`]); the
//! module keeps its longest (`modstat -v`).
//!
//! Recovery: the whole code region ([`crate::memory::code`]) is registered
//! with [`super::fault`]. If native module code faults (only a kernel or JIT
//! bug can make it), the exception handler asks [`resume`], which sends
//! execution to `jit_landing` with the stack pointer saved by
//! `fault::guarded_call_raw` (the same call the tests' `call_guarded`
//! makes). The landing first stores the general registers as they were at
//! the fault into [`FaultRegs`], then unwinds through the guarded call's
//! landing to `jit_enter`, whose run ends with `JitStop::Fault`.
//!
//! Every CPU runs module code at the same time as the others: the
//! "running" flag, the fuel counter, the saved stack pointer, the
//! run-out flag and the fault's registers are all in the CPU's per-CPU
//! record ([`super::percpu::ModuleState`]), which the assembly below
//! reaches through GS. Module code runs in kernel mode with interrupts
//! off, so the GS base holds this CPU's record for the whole run (and
//! for the fault or run-out that ends it).

use core::arch::naked_asm;
use core::fmt;
use core::sync::atomic::Ordering;

use super::fault::{self, Fault, Resume};
use super::percpu::{self, ModuleState};
use crate::memory::code::{CODE_SIZE, CODE_START};

/// Why module code did not return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitStop {
    /// The code faulted (a kernel or JIT bug).
    Fault(JitFault),
    /// The code used up the run's budget.
    OutOfFuel,
}

/// One run of module code: how it ended and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitRun {
    /// r0, or why the code did not return.
    pub end: Result<u64, JitStop>,
    /// TSC cycles from entering the code to leaving it, interrupts off.
    pub cycles: u64,
}

/// A fault in module code: what the CPU reported and the registers at the
/// faulting instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitFault {
    pub fault: Fault,
    pub regs: FaultRegs,
}

/// General registers at a fault (rsp and rip are in [`Fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

impl JitFault {
    /// The registers, four to a line (with the BPF register each x86
    /// register holds in JIT code).
    pub fn regs_display(&self) -> impl fmt::Display + '_ {
        RegsDisplay(self)
    }
}

struct RegsDisplay<'a>(&'a JitFault);

impl fmt::Display for RegsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.0.regs;
        let regs = [
            ("rax/r0", r.rax), ("rdi/r1", r.rdi), ("rsi/r2", r.rsi), ("rdx/r3", r.rdx),
            ("rcx/r4", r.rcx), ("r8/r5", r.r8), ("rbx/r6", r.rbx), ("r13/r7", r.r13),
            ("r14/r8", r.r14), ("r15/r9", r.r15), ("rbp/r10", r.rbp), ("r9", r.r9),
            ("r10", r.r10), ("r11", r.r11), ("r12", r.r12), ("rsp", self.0.fault.rsp),
        ];
        for (i, (name, value)) in regs.iter().enumerate() {
            write!(f, "  {name:>7} {value:#018x}")?;
            if i % 4 == 3 && i + 1 < regs.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for JitFault {
    /// The fault, then the registers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.fault)?;
        write!(f, "{}", self.regs_display())
    }
}

/// This CPU's module-code state.
fn state() -> &'static ModuleState {
    &percpu::current().module
}

/// The fuel options for the JIT: the counter, the exhaustion target and
/// the helpers' weights (`lkm::helpers::weight`).
pub fn fuel() -> jit::Fuel<'static> {
    jit::Fuel {
        counter: jit::FuelCounter::Gs(percpu::FUEL as i32),
        exhausted: jit_out_of_fuel as *const () as u64,
        helper_weight: &lkm::helpers::weight,
    }
}

/// Registers the code region for recovery (once, at boot of the module
/// facility). `false` if the region table is full.
pub fn init() -> bool {
    static DONE: spin::Once<bool> = spin::Once::new();
    *DONE.call_once(|| fault::register_region(CODE_START, CODE_START + CODE_SIZE, resume).is_ok())
}

/// Where a fault in the code region continues: the landing, if module code
/// is running (otherwise the fault is not ours and stays fatal).
fn resume(_fault: &Fault) -> Option<Resume> {
    let state = state();
    if !state.running.load(Ordering::Acquire) {
        return None;
    }
    Some(Resume { rip: jit_landing as *const () as u64, rsp: state.saved_rsp.load(Ordering::Acquire) })
}

/// Whether module code is running on this CPU now.
pub fn is_running() -> bool {
    state().running.load(Ordering::Acquire)
}

/// Runs the module code at `entry` with `ctx` in `rdi`, interrupts off,
/// with `budget` units of fuel. Returns the code's `rax`, the fault it
/// caused or its running out of fuel, with the run's length. `None` if
/// module code is already running (runs never nest; the caller skips and
/// counts).
///
/// # Safety
/// `entry` must be the entry of code the JIT produced from a verified
/// program with the options of [`fuel`], mapped executable in the code
/// region, and `ctx` must point to the context that program was verified
/// for, alive for the call.
pub unsafe fn jit_enter(entry: u64, ctx: u64, budget: u64) -> Option<JitRun> {
    super::without_interrupts(|| {
        // Interrupts are off: this task stays on this CPU, and the state
        // is this CPU's until the run ends.
        let state = state();
        if state.running.swap(true, Ordering::AcqRel) {
            return None;
        }
        state.fuel.store(budget, Ordering::Relaxed);
        state.out_of_fuel.store(false, Ordering::Relaxed);
        let start = super::rdtsc();
        // SAFETY: upheld by the caller; the saved stack pointer is written
        // before the code runs, and a fault in it or its running out of
        // fuel lands back here through `resume` or `jit_out_of_fuel`.
        let result = unsafe { fault::guarded_call_raw(entry, ctx, state.saved_rsp.as_ptr()) };
        let cycles = super::rdtsc().saturating_sub(start);
        state.running.store(false, Ordering::Release);
        let end = if result.faulted == 0 {
            Ok(result.value)
        } else if state.out_of_fuel.load(Ordering::Relaxed) {
            Err(JitStop::OutOfFuel)
        } else {
            let fault = fault::take_last_fault().unwrap_or(Fault {
                vector: 0xff,
                error_code: 0,
                rip: 0,
                rsp: 0,
                address: None,
            });
            Err(JitStop::Fault(JitFault { fault, regs: saved_regs(state) }))
        };
        Some(JitRun { end, cycles })
    })
}

fn saved_regs(state: &ModuleState) -> FaultRegs {
    let s = |i: usize| state.saved_regs[i].load(Ordering::Relaxed);
    FaultRegs {
        rax: s(0),
        rbx: s(1),
        rcx: s(2),
        rdx: s(3),
        rsi: s(4),
        rdi: s(5),
        rbp: s(6),
        r8: s(7),
        r9: s(8),
        r10: s(9),
        r11: s(10),
        r12: s(11),
        r13: s(12),
        r14: s(13),
        r15: s(14),
    }
}

/// The recovery point: reached with every register as at the fault except
/// `rip` and `rsp` (= the value `guarded_call_raw` saved), in kernel mode
/// with this CPU's GS base. Saves the registers in the per-CPU record,
/// then unwinds through [`fault::guarded_landing`], which returns from
/// `guarded_call_raw` with `faulted = 1`.
#[unsafe(naked)]
unsafe extern "C" fn jit_landing() {
    naked_asm!(
        "mov qword ptr gs:[{regs} + 0], rax",
        "mov qword ptr gs:[{regs} + 8], rbx",
        "mov qword ptr gs:[{regs} + 16], rcx",
        "mov qword ptr gs:[{regs} + 24], rdx",
        "mov qword ptr gs:[{regs} + 32], rsi",
        "mov qword ptr gs:[{regs} + 40], rdi",
        "mov qword ptr gs:[{regs} + 48], rbp",
        "mov qword ptr gs:[{regs} + 56], r8",
        "mov qword ptr gs:[{regs} + 64], r9",
        "mov qword ptr gs:[{regs} + 72], r10",
        "mov qword ptr gs:[{regs} + 80], r11",
        "mov qword ptr gs:[{regs} + 88], r12",
        "mov qword ptr gs:[{regs} + 96], r13",
        "mov qword ptr gs:[{regs} + 104], r14",
        "mov qword ptr gs:[{regs} + 112], r15",
        "jmp {unwind}",
        regs = const percpu::SAVED_REGS,
        unwind = sym fault::guarded_landing,
    );
}

/// Where metered code jumps (`jb`, no return address pushed) when a charge
/// is more than the fuel left: notes it in this CPU's record, then unwinds
/// through [`fault::guarded_landing`] from the stack pointer
/// `guarded_call_raw` saved, as [`jit_landing`] does after a fault,
/// dropping the code's frames.
#[unsafe(naked)]
unsafe extern "C" fn jit_out_of_fuel() {
    naked_asm!(
        "mov byte ptr gs:[{flag}], 1",
        "mov rsp, qword ptr gs:[{rsp}]",
        "jmp {unwind}",
        flag = const percpu::OUT_OF_FUEL,
        rsp = const percpu::SAVED_RSP,
        unwind = sym fault::guarded_landing,
    );
}

/// The current stack pointer (where module code's stack window begins).
pub fn stack_pointer() -> u64 {
    let rsp: u64;
    // SAFETY: reading `rsp` has no effect on memory or flags.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    rsp
}

/// The slot of the return address into the kernel of the module code now
/// running (`guarded_call_raw` pushes six registers, saves the stack
/// pointer, pads 8 bytes and calls): module code's frames lie below it,
/// the kernel's saved registers and return addresses at and above it.
/// Meaningful only while module code runs (helpers ask it).
pub fn module_return_slot() -> u64 {
    state().saved_rsp.load(Ordering::Acquire).saturating_sub(16)
}

/// Runs `f` as if module code were running (tests of the never-nested rule).
#[cfg(feature = "ktest")]
pub fn as_if_running<R>(f: impl FnOnce() -> R) -> R {
    super::without_interrupts(|| {
        let running = &state().running;
        let was = running.swap(true, Ordering::AcqRel);
        let r = f();
        running.store(was, Ordering::Release);
        r
    })
}
