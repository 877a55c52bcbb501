//! Code generation: a program and its function table to x86-64.
//!
//! A jump's encoding (rel8, 2 bytes, or rel32, 5-6 bytes) depends on its
//! distance, which depends on the encodings of the jumps in between. The
//! first pass emits every jump long and records where each jump is; since
//! nothing else changes size with distances, *relaxation* then works on
//! numbers alone: a jump becomes short when its distance fits in a byte,
//! which only shortens other distances, until nothing changes (like the
//! passes of production JITs, without re-emitting the code). The second pass
//! emits the program with those decisions and the exact layout. Should its
//! layout ever differ from the computed one, a last pass with every jump
//! long over the first layout is exact by construction.
//!
//! Before the passes, [`frame`] decides each function's prologue,
//! [`inline`] which callees' code replaces the calls to them, and
//! [`hotpath`] which jumps copy a loop's likely path. [`emit`] then handles
//! one instruction at a time (control flow and the frame there, arithmetic
//! in [`alu`], memory and atomics in [`mem`], fuel metering at loop headers
//! in [`fuel`]).

mod alu;
mod emit;
mod frame;
mod fuel;
mod hotpath;
mod inline;
mod mem;

use crate::error::{JitError, MAX_STACK};
use crate::options::{JitOptions, JitOutput};
use alloc::vec;
use alloc::vec::Vec;
use emit::Emitter;
use frame::Frame;
use verifier::Insn;

/// One BPF function: slots `start..end` and the stack it uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Function {
    pub start: usize,
    pub end: usize,
    pub stack_depth: u32,
}

/// What every pass emits from: the program and the decisions made about it
/// before emitting.
struct Program<'a> {
    insns: &'a [Insn],
    functions: &'a [Function],
    frames: &'a [Frame],
    /// Which slots are jump targets.
    targets: &'a [bool],
    /// Which functions' calls are replaced by their code.
    inlined: &'a [bool],
    /// The jumps that copy a likely path, and their paths.
    hot_paths: &'a [hotpath::Head],
    /// The fuel charges, when the code is metered.
    plan: Option<&'a vm::fuel::Plan>,
}

/// Where each part of the code landed in one pass.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
struct Layout {
    /// Offset of each function's prologue.
    entry: Vec<u32>,
    /// Offset of each slot's code.
    start: Vec<u32>,
    /// Offset just past each slot's code.
    end: Vec<u32>,
}

/// A jump whose encoding depends on its distance: the last instruction of
/// slot `pc`'s code.
#[derive(Clone, Copy, Debug)]
pub struct Site {
    pc: usize,
    target: usize,
    conditional: bool,
}

impl Site {
    /// Bytes saved by the short form (`jcc rel32` is 6 bytes, `jmp rel32` 5).
    fn saving(&self) -> u32 {
        if self.conditional { 4 } else { 3 }
    }
}

/// How a pass sizes its jumps.
#[derive(Clone, Copy)]
enum Jumps<'a> {
    /// Every jump long, distances unknown (the first pass).
    AllLongUnknown,
    /// Every jump long, distances from this exact all-long layout.
    AllLong(&'a Layout),
    /// Short where `short[pc]` says so, distances from the final layout.
    Decided { layout: &'a Layout, short: &'a [bool] },
}

/// Functions start at multiples of this many bytes (the gap is filled
/// with `int3`), as compilers align functions: where a small function
/// lands in the instruction cache and branch predictors measurably changes
/// the speed of calls. (A chain of six 14-byte functions ran 25% faster
/// 32-byte aligned than 16-byte aligned; 64 gained nothing more.)
const FUNCTION_ALIGN: u32 = 32;

/// The first offset at or after `at` where a function may start.
fn align_function(at: u32) -> u32 {
    at.next_multiple_of(FUNCTION_ALIGN)
}

/// An upper bound on the code size of a program with `slots` instruction
/// slots and `functions` functions, so that a caller can reserve memory at
/// its final address before compiling. (The longest single instruction, a
/// signed 64-bit division by a register, takes under 50 bytes, an `exit`
/// with the longest epilogue 18; a prologue at most 27, its alignment at
/// most 31. Fuel metering adds at most 21 bytes in the kernel's mode, to
/// the entry's prologue and to a loop header, whose back edge is another
/// slot of at most 17; the JIT checks the bound all the same.)
pub fn code_size_bound(slots: usize, functions: usize) -> usize {
    slots.saturating_mul(64).saturating_add(functions.saturating_mul(64))
}

/// Compiles `insns` split into `functions` (function 0 is the entry).
pub fn compile_program(
    insns: &[Insn],
    functions: &[Function],
    opts: &JitOptions,
) -> Result<JitOutput, JitError> {
    check_functions(insns, functions)?;
    check_targets(insns, functions)?;
    let frames: Vec<Frame> = frame::frames(insns, functions, opts.blinding.is_some());
    let mut targets = vec![false; insns.len()];
    for (pc, insn) in insns.iter().enumerate() {
        if let (Insn::Jump { .. } | Insn::Ja { .. }, Some(t)) = (insn, insn.target(pc))
            && let Some(slot) = usize::try_from(t).ok().and_then(|t| targets.get_mut(t))
        {
            *slot = true;
        }
    }
    let inlined = inline::inlined(insns, functions, &frames);
    let hot_paths = hotpath::plan(insns, functions);
    let plan = opts.fuel.map(|f| vm::fuel::Plan::new(insns, f.helper_weight));
    let program = Program {
        insns,
        functions,
        frames: &frames,
        targets: &targets,
        inlined: &inlined,
        hot_paths: &hot_paths,
        plan: plan.as_ref(),
    };
    match compile_passes(&program, opts) {
        // Copies (of inlined callees, of likely paths) can make code longer
        // than the bound promises (it counts every slot once); the program
        // then goes without them.
        Err(JitError::CodeTooLarge { .. }) if inlined.contains(&true) || !hot_paths.is_empty() => {
            let no_inlining = vec![false; functions.len()];
            compile_passes(&Program { inlined: &no_inlining, hot_paths: &[], ..program }, opts)
        }
        result => result,
    }
}

/// The passes over one program: sizing, relaxation, emission.
fn compile_passes(program: &Program, opts: &JitOptions) -> Result<JitOutput, JitError> {
    let pass = |jumps, capacity| emit_pass(program, opts, jumps, capacity);
    let (_, first, sites) = pass(Jumps::AllLongUnknown, 256)?;
    let (layout, short) = relax(&first, &sites, program.functions);
    let size = layout.end.last().copied().unwrap_or(0) as usize;
    let (code, got, _) = pass(Jumps::Decided { layout: &layout, short: &short }, size)?;
    if got == layout {
        return Ok(output(code, layout, program.functions, opts, 2));
    }
    let bound = code_size_bound(program.insns.len(), program.functions.len());
    let (code, layout, _) = pass(Jumps::AllLong(&first), bound)?;
    Ok(output(code, layout, program.functions, opts, 3))
}

/// How many jumps of a program copy a likely path, for tests.
#[cfg(test)]
pub fn hot_paths_of(insns: &[Insn], functions: &[Function]) -> usize {
    hotpath::plan(insns, functions).len()
}

/// Decides which jumps are short, starting from the all-long `first`
/// layout, and computes the layout that results.
fn relax(first: &Layout, sites: &[Site], functions: &[Function]) -> (Layout, Vec<bool>) {
    let n = first.start.len();
    let mut short = vec![false; n];
    let mut saving = vec![0u32; n];
    for s in sites {
        if let Some(x) = saving.get_mut(s.pc) {
            *x = s.saving();
        }
    }
    // saved[pc] = bytes saved by short jumps in slots before pc.
    let mut saved = vec![0u32; n + 1];
    loop {
        for pc in 0..n {
            saved[pc + 1] = saved[pc] + if short[pc] { saving[pc] } else { 0 };
        }
        let mut changed = false;
        for s in sites {
            if short[s.pc] {
                continue;
            }
            let this = s.saving() as i64;
            let end = first.end[s.pc] as i64 - saved[s.pc + 1] as i64 - this;
            let mut to = first.start[s.target] as i64 - saved[s.target] as i64;
            if s.target > s.pc {
                to -= this;
            }
            if i8::try_from(to - end).is_ok() {
                short[s.pc] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Within a function every offset moves back by the bytes saved before
    // it in that function; each function then starts at the next aligned
    // offset after the previous one (jumps never leave their function, so
    // the padding between functions does not change any jump's distance).
    let mut layout = Layout { entry: Vec::new(), start: vec![0; n], end: vec![0; n] };
    let mut at = 0u32;
    for (f, &old_entry) in functions.iter().zip(&first.entry) {
        let entry = align_function(at);
        let moved = |old: u32, saved_before: u32| entry + (old - old_entry) - (saved_before - saved[f.start]);
        layout.entry.push(entry);
        for pc in f.start..f.end {
            layout.start[pc] = moved(first.start[pc], saved[pc]);
            layout.end[pc] = moved(first.end[pc], saved[pc + 1]);
        }
        at = layout.end.get(f.end.wrapping_sub(1)).copied().unwrap_or(entry);
    }
    (layout, short)
}

fn output(code: Vec<u8>, layout: Layout, functions: &[Function], opts: &JitOptions, passes: u32) -> JitOutput {
    JitOutput {
        code,
        code_address: opts.code_address,
        entries: layout.entry,
        function_starts: functions.iter().map(|f| f.start).collect(),
        insn_offsets: layout.start,
        passes,
    }
}

/// Function 0 starts at slot 0, each function ends where the next begins,
/// the last ends at the end of the program, and every frame fits.
fn check_functions(insns: &[Insn], functions: &[Function]) -> Result<(), JitError> {
    let mut at = 0;
    for (i, f) in functions.iter().enumerate() {
        if f.start != at || f.end <= f.start {
            return Err(JitError::BadFunctions);
        }
        if f.stack_depth > MAX_STACK {
            return Err(JitError::StackTooLarge { function: i, depth: f.stack_depth });
        }
        at = f.end;
    }
    if at != insns.len() || functions.is_empty() {
        return Err(JitError::BadFunctions);
    }
    Ok(())
}

/// Jumps stay inside their function and calls go to a function's first
/// slot; no target is the tail of a 64-bit load. The verifier guarantees
/// all this; checking it keeps the emitter free of out-of-range indexing.
fn check_targets(insns: &[Insn], functions: &[Function]) -> Result<(), JitError> {
    for f in functions {
        for pc in f.start..f.end {
            let Some(insn) = insns.get(pc) else { return Err(JitError::BadFunctions) };
            let Some(target) = insn.target(pc) else { continue };
            let bad = JitError::BadTarget { pc };
            let t = usize::try_from(target).map_err(|_| bad.clone())?;
            if matches!(insns.get(t), None | Some(Insn::Imm64Tail)) {
                return Err(bad);
            }
            let ok = match insn {
                Insn::CallLocal { .. } => functions.iter().any(|g| g.start == t),
                _ => (f.start..f.end).contains(&t),
            };
            if !ok {
                return Err(bad);
            }
        }
    }
    Ok(())
}

/// Emits the whole program once.
fn emit_pass(program: &Program, opts: &JitOptions, jumps: Jumps, capacity: usize) -> Result<(Vec<u8>, Layout, Vec<Site>), JitError> {
    let (insns, functions) = (program.insns, program.functions);
    let mut e = Emitter::new(opts, jumps, program, capacity);
    let mut layout = Layout {
        entry: Vec::with_capacity(functions.len()),
        start: Vec::with_capacity(insns.len()),
        end: Vec::with_capacity(insns.len()),
    };
    for (i, f) in functions.iter().enumerate() {
        e.align_function()?;
        layout.entry.push(e.offset()?);
        e.prologue(i);
        if i == 0 {
            e.meter_entry()?;
        }
        e.settle();
        for pc in f.start..f.end {
            layout.start.push(e.offset()?);
            if let Some(insn) = insns.get(pc) {
                e.insn(pc, insn)?;
            }
            layout.end.push(e.offset()?);
            e.settle();
        }
    }
    let size = e.offset()? as usize;
    let (code, sites) = e.finish();
    if size > code_size_bound(insns.len(), functions.len()) {
        return Err(JitError::CodeTooLarge { size });
    }
    Ok((code, layout, sites))
}
