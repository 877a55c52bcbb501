//! Code generation: a program and its function table to x86-64.
//!
//! The program is emitted in *passes*. Each pass emits every instruction
//! and records where its code starts and ends ([`Layout`]). A jump needs the
//! distance to its target, which depends on the sizes of the jumps in
//! between; like production JITs we start from a layout where every jump is
//! long (rel32), then re-emit, choosing the short form (rel8) wherever the
//! previous pass's layout says it fits, until a pass produces the layout it
//! started from. That pass's bytes are exact. If that does not happen within
//! [`MAX_PASSES`], one more all-long pass over the first layout is exact by
//! construction, since with long jumps no size depends on a distance.
//!
//! [`emit`] handles one instruction at a time: control flow and the frame
//! there, arithmetic in [`alu`], memory and atomics in [`mem`].

mod alu;
mod emit;
mod mem;

use crate::error::{JitError, MAX_CODE, MAX_STACK};
use crate::options::{JitOptions, JitOutput};
use alloc::vec::Vec;
use emit::Emitter;
use verifier::Insn;

/// Passes after the first before falling back to all-long jumps.
const MAX_PASSES: u32 = 16;

/// One BPF function: slots `start..end` and the stack it uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Function {
    pub start: usize,
    pub end: usize,
    pub stack_depth: u32,
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

/// How a pass sizes its jumps.
#[derive(Clone, Copy)]
enum Jumps<'a> {
    /// Every jump long, distances unknown (the first pass).
    AllLongUnknown,
    /// Every jump long, distances from this exact all-long layout.
    AllLong(&'a Layout),
    /// Short where this layout of the previous pass says it fits.
    Shortest(&'a Layout),
}

/// An upper bound on the code size of a program with `slots` instruction
/// slots and `functions` functions, so that a caller can reserve memory at
/// its final address before compiling. (The longest single instruction, a
/// signed 64-bit division by a register, takes under 50 bytes; a prologue 18.)
pub fn code_size_bound(slots: usize, functions: usize) -> usize {
    slots.saturating_mul(64).saturating_add(functions.saturating_mul(32))
}

/// Compiles `insns` split into `functions` (function 0 is the entry).
pub fn compile_program(
    insns: &[Insn],
    functions: &[Function],
    opts: &JitOptions,
) -> Result<JitOutput, JitError> {
    check_functions(insns, functions)?;
    check_targets(insns, functions)?;
    let (_, first) = emit_pass(insns, functions, opts, Jumps::AllLongUnknown)?;
    let mut prev = first.clone();
    for pass in 1..=MAX_PASSES {
        let (code, layout) = emit_pass(insns, functions, opts, Jumps::Shortest(&prev))?;
        if layout == prev {
            return Ok(output(code, layout, functions, opts, pass + 1));
        }
        prev = layout;
    }
    let (code, layout) = emit_pass(insns, functions, opts, Jumps::AllLong(&first))?;
    Ok(output(code, layout, functions, opts, MAX_PASSES + 2))
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
fn emit_pass(
    insns: &[Insn],
    functions: &[Function],
    opts: &JitOptions,
    jumps: Jumps,
) -> Result<(Vec<u8>, Layout), JitError> {
    let mut e = Emitter::new(opts, jumps, functions);
    let mut layout = Layout {
        entry: Vec::with_capacity(functions.len()),
        start: Vec::with_capacity(insns.len()),
        end: Vec::with_capacity(insns.len()),
    };
    for f in functions {
        layout.entry.push(e.offset()?);
        e.prologue(f.stack_depth);
        for pc in f.start..f.end {
            layout.start.push(e.offset()?);
            if let Some(insn) = insns.get(pc) {
                e.insn(pc, insn)?;
            }
            layout.end.push(e.offset()?);
        }
    }
    let code = e.finish();
    if code.len() > MAX_CODE || code.len() > code_size_bound(insns.len(), functions.len()) {
        return Err(JitError::CodeTooLarge { size: code.len() });
    }
    Ok((code, layout))
}
