//! Which local calls are replaced by the callee's code.
//!
//! A local call costs a `call` and a `ret`, two taken branches that the
//! processor predicts but cannot overlap with much else: a chain of small
//! functions spends more time calling than computing. A callee whose body
//! is short, straight-line arithmetic is therefore copied into its caller
//! at the call site, as compilers inline small functions. Copying changes
//! nothing a program can see only when the callee
//!
//! * has no frame: no stack, no r10, writes none of r6-r9 (so nothing of
//!   the caller's needs saving), and calls no helper (so the stack's
//!   alignment at helper calls is not in question);
//! * is straight-line: no jumps, one `exit`, at its end, so its code falls
//!   through to the caller's next instruction;
//! * touches no memory, so nothing in the copy can fault (a fault report
//!   names the instruction whose code holds the faulting address; the copy
//!   lies in the code of the `call`);
//! * calls only functions that are inlined themselves, and has at most
//!   [`MAX_INLINED_SLOTS`] slots once they are.
//!
//! The callee is still compiled as a function of its own (its entry stays
//! in `JitOutput::entries`); only the calls to it disappear. r1-r5 hold after
//! the copy what they hold after a call (this JIT passes them in place),
//! and r0 holds the callee's result.

use super::frame::Frame;
use super::Function;
use crate::regs::KEY;
use alloc::vec;
use alloc::vec::Vec;
use verifier::{Imm64, Insn};

/// The largest callee, counting the slots of what it inlines in turn.
pub const MAX_INLINED_SLOTS: usize = 24;

/// Nesting deeper than this is not inlined (the verifier allows 8 frames).
const MAX_DEPTH: usize = 8;

/// For each function, whether calls to it are replaced by its code.
pub fn inlined(insns: &[Insn], functions: &[Function], frames: &[Frame]) -> Vec<bool> {
    let mut memo: Memo = vec![None; functions.len()];
    for f in 0..functions.len() {
        flat_size(insns, functions, frames, f, 0, &mut memo);
    }
    memo.iter().map(|s| matches!(s, Some(Some(_)))).collect()
}

/// What is known of each function: not yet looked at (`None`), inlined
/// with this many slots (`Some(Some(n))`), or not inlined (`Some(None)`).
type Memo = Vec<Option<Option<usize>>>;

/// The slots function `f` takes once inlined, or `None` if it is not
/// inlined; `depth` is how many inlined calls enclose this one.
fn flat_size(insns: &[Insn], functions: &[Function], frames: &[Frame], f: usize, depth: usize, memo: &mut Memo) -> Option<usize> {
    if let Some(known) = memo.get(f).copied().flatten() {
        return known;
    }
    let result = if depth < MAX_DEPTH { body_size(insns, functions, frames, f, depth, memo) } else { None };
    // Too deep here (a call chain too long, or recursion, which the
    // verifier refuses) need not mean too deep everywhere: only the
    // outermost visit decides against a function.
    if (depth == 0 || result.is_some())
        && let Some(slot) = memo.get_mut(f)
    {
        *slot = Some(result);
    }
    result
}

/// The slots of `f`'s body with its inlined calls, if `f` qualifies.
fn body_size(insns: &[Insn], functions: &[Function], frames: &[Frame], f: usize, depth: usize, memo: &mut Memo) -> Option<usize> {
    let func = functions.get(f)?;
    let frame = frames.get(f)?;
    let frameless = func.stack_depth == 0 && !frame.sets_rbp && frame.saved.iter().all(|&r| r == KEY);
    let (last, body) = insns.get(func.start..func.end)?.split_last()?;
    if !frameless || *last != Insn::Exit || body.len() > MAX_INLINED_SLOTS {
        return None;
    }
    let mut total = body.len();
    for (i, insn) in body.iter().enumerate() {
        match insn {
            Insn::Alu { .. } | Insn::Neg { .. } | Insn::Endian { .. } | Insn::Imm64Tail => {}
            Insn::LoadImm64 { imm: Imm64::Value(_), .. } => {}
            Insn::CallLocal { .. } => {
                let target = insn.target(func.start + i).and_then(|t| usize::try_from(t).ok())?;
                let g = functions.binary_search_by_key(&target, |g| g.start).ok()?;
                total += flat_size(insns, functions, frames, g, depth + 1, memo)?;
            }
            _ => return None,
        }
    }
    (total <= MAX_INLINED_SLOTS).then_some(total)
}
