//! Running a module program: the invocation record and the one path into
//! module code.
//!
//! [`run`] fills the invocation record (which module, which process, the
//! context, the stack range, the output buffer), then enters the code
//! through [`arch::jit::jit_enter`] with interrupts off and the entry
//! point's run-time budget (`lkm::EntryPoint::budget`). Helpers read the
//! record ([`current`]) to find what they may touch. There is one record
//! per CPU, and every CPU may run module code at the same time. Runs
//! never nest on one CPU: a hook that would fire while module code runs
//! there is skipped and counted. A
//! fault in module code marks the module failed; it never runs again but
//! can still be unloaded.
//!
//! A run that uses up its budget is stopped, counted and logged, and
//! answers `-ETIMEDOUT` as if the program had returned it, so the caller
//! gets `ETIMEDOUT` whatever the class. The module keeps running on later
//! calls (the next input may need less work), but after
//! [`OUT_OF_FUEL_LIMIT`] such runs in a row it is marked failed as after a
//! fault: a tick hook that always runs out stops burning its budget on
//! every tick.

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

use super::module::{LoadedProgram, Module};
use crate::arch::percpu::{self, MAX_CPUS};
use crate::arch::{self, jit};

/// Bytes of kernel stack below the entry that module code may use: eight
/// frames of 512 bytes plus the JIT's saved registers, and room for the
/// helpers' own frames.
pub const STACK_WINDOW: u64 = 8 * (512 + 48) + 4096;

/// What helpers know about the run in progress.
pub struct Invocation {
    pub module: *const Module,
    pub pid: u32,
    pub uid: u32,
    /// The context: address and size.
    pub ctx: (u64, usize),
    /// The stack module code may use: `lo..hi`.
    pub stack: (u64, u64),
    /// The output buffer (`emit`), with its capacity reserved beforehand.
    pub out: *mut Vec<u8>,
    pub out_limit: usize,
}

struct Record(UnsafeCell<Option<Invocation>>);

// SAFETY: CPU n's record is touched only on CPU n (`this_cpu`): written
// with interrupts off right before and after a run there, and read only by
// the helpers of that run, which end before it does.
unsafe impl Sync for Record {}

static RECORDS: [Record; MAX_CPUS] = [const { Record(UnsafeCell::new(None)) }; MAX_CPUS];

/// This CPU's record (called with interrupts off or during a run, so the
/// caller stays on this CPU while it uses it).
fn this_cpu() -> &'static Record {
    // `cpu_id` is below MAX_CPUS for every CPU that runs.
    &RECORDS[percpu::cpu_id() % MAX_CPUS]
}
/// Runs skipped because module code was already running.
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Runs in a row that use up their budget before the module is marked
/// failed.
pub const OUT_OF_FUEL_LIMIT: u64 = 3;

/// The record of the run in progress; `None` outside a run.
pub fn current() -> Option<&'static Invocation> {
    if !jit::is_running() {
        return None;
    }
    // SAFETY: during a run the record is set and not changed until the run
    // ends, and helpers (the only callers during a run) finish before that.
    unsafe { (*this_cpu().0.get()).as_ref() }
}

/// How many runs were skipped so far because another was in progress.
pub fn skipped_total() -> u64 {
    SKIPPED.load(Ordering::Relaxed)
}

/// The result of asking a module to run an entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The program returned this `r0`.
    Done(u64),
    /// The module has no program for this entry.
    Absent,
    /// Module code was already running, or the kernel stack had no room
    /// for it ([`STACK_NEEDED`]): skipped and counted.
    Skipped,
    /// The module has failed (now or before): it does not run.
    Failed,
}

/// Runs `entry` of `module` with context `ctx` (the entry's `#[repr(C)]`
/// context struct) and, for entries with output, `out` (emptied first,
/// filled up to `out_limit` bytes by `emit`).
pub fn run<C>(module: &Module, entry: &str, ctx: &mut C, out: Option<(&mut Vec<u8>, usize)>) -> Outcome {
    if module.is_failed() {
        return Outcome::Failed;
    }
    let Some(program) = module.program(entry) else { return Outcome::Absent };
    let budget = module.class().entry(program.entry).map_or(0, |e| e.budget);
    let (pid, uid) = (crate::proc::current_pid(), crate::proc::current_uid());
    if !stack_has_room(module, entry) {
        return Outcome::Skipped;
    }
    let (out_ptr, out_limit) = match out {
        Some((buf, limit)) => {
            buf.clear();
            if buf.try_reserve(limit).is_err() {
                return Outcome::Skipped;
            }
            (buf as *mut Vec<u8>, limit)
        }
        None => (core::ptr::null_mut(), 0),
    };
    let ctx_addr = ctx as *mut C as u64;
    let result = arch::without_interrupts(|| {
        if jit::is_running() {
            return None;
        }
        let hi = arch::jit::stack_pointer();
        let invocation = Invocation {
            module,
            pid,
            uid,
            ctx: (ctx_addr, size_of::<C>()),
            stack: (hi - STACK_WINDOW, hi),
            out: out_ptr,
            out_limit,
        };
        // SAFETY: interrupts are off and no module code runs on this CPU:
        // nothing reads this CPU's record now.
        unsafe { *this_cpu().0.get() = Some(invocation) };
        // SAFETY: the program was produced by the JIT from a program the
        // verifier accepted for this entry's context, which `ctx` is, and
        // its code block is executable for the module's whole life.
        let r = unsafe { jit::jit_enter(program.entry_address(), ctx_addr, budget) };
        // SAFETY: as above; the run is over.
        unsafe { *this_cpu().0.get() = None };
        r
    });
    let Some(run) = result else {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        module.skipped.fetch_add(1, Ordering::Relaxed);
        return Outcome::Skipped;
    };
    module.longest_run.fetch_max(run.cycles, Ordering::Relaxed);
    match run.end {
        Ok(r0) => {
            module.runs.fetch_add(1, Ordering::Relaxed);
            module.out_of_fuel_in_a_row.store(0, Ordering::Relaxed);
            Outcome::Done(r0)
        }
        Err(jit::JitStop::OutOfFuel) => {
            module.out_of_fuel.fetch_add(1, Ordering::Relaxed);
            let in_a_row = module.out_of_fuel_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
            if in_a_row >= OUT_OF_FUEL_LIMIT {
                module.mark_failed();
            }
            report_out_of_fuel(module, program.entry, budget, run.cycles, in_a_row);
            Outcome::Done(abi::Errno::ETIMEDOUT.to_ret() as u64)
        }
        Err(jit::JitStop::Fault(fault)) => {
            module.mark_failed();
            report_fault(module, program, &fault);
            Outcome::Failed
        }
    }
}

/// Logs a run stopped by its budget: the module, the entry, the budget,
/// how long the run took, and what happens next.
fn report_out_of_fuel(module: &Module, entry: &str, budget: u64, cycles: u64, in_a_row: u64) {
    let us = crate::time::cycles_to_ns(cycles) / 1000;
    log::error!(
        "lkm: module `{}` ran out of its run-time budget in `{entry}` ({budget} units) after {cycles} cycles ({us} us); the call fails with ETIMEDOUT",
        module.name
    );
    if in_a_row >= OUT_OF_FUEL_LIMIT {
        log::error!(
            "  note: {in_a_row} runs in a row ran out: the module is marked failed and no longer runs; unload it with `modunload -n {}`",
            module.name
        );
    } else {
        log::error!(
            "  help: do less work per call (fewer rounds, fewer `log` calls: docs/lkm.md lists each entry's budget and each helper's cost); after {OUT_OF_FUEL_LIMIT} run-outs in a row the module stops running"
        );
    }
}

/// Prints the fault of module code: which module and entry, the
/// instruction (index and text) from the JIT's native-offset map, and the
/// registers.
fn report_fault(module: &Module, program: &LoadedProgram, fault: &jit::JitFault) {
    let rip = fault.fault.rip;
    let insn = program.contains(rip).then(|| program.jit.insn_at((rip - program.code.addr()) as u32)).flatten();
    let text = insn
        .and_then(|i| program.program.insns().get(i))
        .map(verifier::disasm)
        .unwrap_or_else(|| alloc::string::String::from("(outside any instruction)"));
    // One record a line or two: the log keeps lines of up to 512 bytes.
    log::error!("lkm: module `{}` failed in `{}`: {}", module.name, program.entry, fault.fault);
    log::error!(
        "  at instruction {}: {text}",
        insn.map_or(alloc::string::String::from("?"), |i| alloc::format!("{i}"))
    );
    log::error!("{}", fault.regs_display());
    log::error!(
        "  note: the module is marked failed and no longer runs; unload it with `modunload -n {}`",
        module.name
    );
}

/// Bytes of kernel stack a run needs below [`run`]: the module's window
/// ([`STACK_WINDOW`]: its deepest frame chain and the helpers' frames) and
/// the frames of the path into module code.
pub const STACK_NEEDED: u64 = STACK_WINDOW + 2048;
/// Runs refused because the kernel stack had no room for them.
static NO_ROOM: AtomicU64 = AtomicU64::new(0);

/// How many runs were refused so far because the stack had no room.
pub fn no_room_total() -> u64 {
    NO_ROOM.load(Ordering::Relaxed)
}

/// Whether the current kernel stack has [`STACK_NEEDED`] bytes left for a
/// run of `entry`; logs and counts a refusal. (Every kernel stack ends in
/// a guard page, so what is mapped below the stack pointer is what is left.)
fn stack_has_room(module: &Module, entry: &str) -> bool {
    if crate::memory::stack::has_room(jit::stack_pointer(), STACK_NEEDED) {
        return true;
    }
    NO_ROOM.fetch_add(1, Ordering::Relaxed);
    log::warn!(
        "lkm: module `{}`: `{entry}` not run: less than {STACK_NEEDED} bytes of kernel stack left for its frames and helpers",
        module.name
    );
    false
}
