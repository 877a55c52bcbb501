//! The analysis: abstract interpretation of every path of a program.
//!
//! [`verify`] runs the control-flow checks ([`crate::cfg`]), then explores
//! paths depth-first from slot 0 with an abstract [`State`], one instruction
//! at a time (`step`: ALU and jumps; `mem`: loads, stores and atomics;
//! `call`: helpers, local calls and exits). At a conditional jump both
//! feasible edges are followed, each with what the condition teaches.
//!
//! Loops are handled by *pruning* (`explore`): at a prune point (a jump
//! target or function start) the current state is compared with the states
//! stored there before. A stored state whose every continuation has been
//! checked (*fully explored*) and that covers the current one proves the
//! current path safe, so it ends. A stored state still on the current path
//! that is identical (over live registers) means the path has come back to
//! where it was with nothing changed: an infinite loop (those states are
//! found by fingerprint, `on_path`). Every processed instruction counts
//! against a limit, so the analysis always ends. A stored state compares
//! exactly only the numbers whose values decided something after it,
//! found by backtracking (`precision`).
//!
//! Where it runs (the kernel) may also watch it ([`Watch`], `watch`): asked
//! at every stored state, every fork and every few hundred instructions, a
//! watch stops the analysis when the memory really in use or the time
//! spent passes what that environment allows.
//!
//! A tool may follow the analysis step by step ([`Trace`], `trace`):
//! [`verify_traced`] tells it every visit, branch, stored and pruned state
//! and the rejection; everything else runs with a trace that does nothing
//! and compiles away.

mod call;
mod explore;
mod mem;
mod on_path;
mod precision;
mod step;
mod trace;
mod watch;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::cfg::Function;
use crate::insn::{Insn, Reg};
use crate::profile::Profile;
use crate::program::Program;
use crate::report::{ErrorKind, Report};
use crate::state::{Frame, Region, State, Value};

/// What the analysis did, for `modload -v` and benchmarks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Stats {
    /// Instructions processed over all paths.
    pub insns_processed: u64,
    /// States stored at prune points.
    pub states_stored: u64,
    /// Paths ended because a fully explored state covered them.
    pub states_pruned: u64,
    /// Stored states dropped because they kept failing to cover.
    pub states_evicted: u64,
    /// Most paths waiting to be explored at once.
    pub peak_pending: usize,
}

/// A program the verifier accepted, with what the JIT may rely on.
/// Only [`verify`] can make one.
#[derive(Clone, Debug)]
pub struct Verified {
    program: Program,
    functions: Vec<Function>,
    stats: Stats,
}

impl Verified {
    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The functions, the entry first, each with its stack depth.
    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    /// What the analysis did.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// Registers known at entry, replacing the default (`r1` = context).
///
/// Tests and the command-line tool use it to check one rule in isolation:
/// "given `r2` in `[0, 10]`, is this access safe?".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// Registers and what they hold; others start uninitialised, r10 is the
    /// frame pointer. Without any, r1 holds the context pointer.
    pub regs: Vec<(Reg, Value)>,
}

pub use trace::{NoTrace, Trace};
pub use watch::{Stop, Watch};

/// Verifies `program` for the entry point described by `profile`.
pub fn verify(program: &Program, profile: &Profile) -> Result<Verified, Report> {
    verify_with(program, profile, &Entry::default(), None)
}

/// Like [`verify`], asking `watch` often whether to go on.
pub fn verify_watched(program: &Program, profile: &Profile, watch: &mut dyn Watch) -> Result<Verified, Report> {
    analyse(program, profile, &Entry::default(), None, Some(watch), &mut NoTrace)
}

/// Like [`verify`], appending to `log` the state before each instruction,
/// as the Linux verifier log does.
pub fn verify_verbose(program: &Program, profile: &Profile, log: &mut String) -> Result<Verified, Report> {
    verify_with(program, profile, &Entry::default(), Some(log))
}

/// The general form: an explicit entry state and an optional log.
pub fn verify_with(
    program: &Program,
    profile: &Profile,
    entry: &Entry,
    log: Option<&mut String>,
) -> Result<Verified, Report> {
    analyse(program, profile, entry, log, None, &mut NoTrace)
}

/// Like [`verify_with`] without a log, telling `trace` every step of the
/// analysis (for `modc explain`).
pub fn verify_traced<T: Trace + ?Sized>(
    program: &Program,
    profile: &Profile,
    entry: &Entry,
    trace: &mut T,
) -> Result<Verified, Report> {
    analyse(program, profile, entry, None, None, trace)
}

/// The analysis, with everything optional given; a rejection is told to
/// `trace` too.
fn analyse<T: Trace + ?Sized>(
    program: &Program,
    profile: &Profile,
    entry: &Entry,
    log: Option<&mut String>,
    watch: Option<&mut dyn Watch>,
    trace: &mut T,
) -> Result<Verified, Report> {
    let result = explore_all(program, profile, entry, log, watch, trace);
    if let Err(r) = &result {
        trace.rejected(r);
    }
    result
}

/// The checks and the exploration of every path.
fn explore_all<T: Trace + ?Sized>(
    program: &Program,
    profile: &Profile,
    entry: &Entry,
    log: Option<&mut String>,
    watch: Option<&mut dyn Watch>,
    trace: &mut T,
) -> Result<Verified, Report> {
    let insns = program.insns();
    // The trait object's lifetime shrinks to the other borrows' here.
    let watch = watch.map(|w| -> &mut dyn Watch { w });
    let disasm = |r: Report| with_insn(r, insns);
    let cfg = crate::cfg::check(insns, &profile.limits).map_err(disasm)?;
    let live = crate::liveness::live_in(insns, profile)?;
    let relevant = crate::relevance::relevant_in(insns, profile, &cfg.func_of)?;
    let links = crate::links::links_in(insns, &relevant)?;
    let mut checker = explore::Checker::new(insns, profile, &cfg, &live, &relevant, &links, log, watch)?;
    let mut state = State { frames: Vec::new() };
    if state.frames.try_reserve(profile.limits.max_call_depth as usize).is_err() {
        return Err(Report::out_of_memory(0));
    }
    state.frames.push(Frame::new(0, 0, 0));
    if entry.regs.is_empty() {
        state.set(Reg::R1, Value::ptr(Region::Ctx, 0));
    }
    for &(r, v) in &entry.regs {
        state.set(r, v);
    }
    checker.run(state, trace).map_err(disasm)?;
    let (depths, stats) = checker.finish();
    crate::cfg::check_stack(&cfg, &depths, &profile.limits).map_err(disasm)?;
    let mut functions = cfg.functions;
    for (f, &d) in functions.iter_mut().zip(&depths) {
        f.stack_depth = d;
    }
    let mut copy = Vec::new();
    if copy.try_reserve_exact(insns.len()).is_err() {
        return Err(Report::out_of_memory(0));
    }
    copy.extend_from_slice(insns);
    Ok(Verified { program: Program::from_insns(copy), functions, stats })
}

/// Fills in the disassembled instruction of a report (not of one saying
/// memory ran out: that one must not allocate).
fn with_insn(mut r: Report, insns: &[Insn]) -> Report {
    if r.insn.is_empty()
        && r.kind != ErrorKind::OutOfMemory
        && let Some(insn) = insns.get(r.pc)
    {
        r.insn = format!("{insn}");
    }
    r
}

#[cfg(test)]
mod tests;
