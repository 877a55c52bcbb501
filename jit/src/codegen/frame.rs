//! What each function's prologue must save and reserve.
//!
//! A function saves only the callee-saved registers it writes (BPF r6-r9 in
//! `rbx`, `r13`-`r15`, and `r12` where blinding keeps its key there) and
//! sets up `rbp` (BPF r10) only if it refers to r10.
//! A leaf function that touches neither, like most small local callees,
//! gets no prologue at all. The BPF stack is reserved below the saved
//! registers with `sub rsp`. A function that calls a helper, directly or
//! through local calls, pads its frame so that `rsp` is 16-byte aligned at
//! each call, as System V requires; other functions need not.

use super::Function;
use crate::regs::{x86, KEY};
use crate::x86::R;
use alloc::vec::Vec;
use verifier::{AtomicOp, Insn, Reg, Src};

/// The frame of one function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Registers pushed by the prologue, in push order.
    pub saved: Vec<R>,
    /// Whether the prologue points `rbp` at the top of the BPF stack.
    pub sets_rbp: bool,
    /// Bytes reserved below the saved registers with `sub rsp`.
    pub reserve: u32,
}

/// The register an instruction writes, if any (ignoring r0 written by calls).
fn written(insn: &Insn) -> Option<Reg> {
    match *insn {
        Insn::Alu { dst, .. } | Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => Some(dst),
        Insn::LoadImm64 { dst, .. } | Insn::Load { dst, .. } => Some(dst),
        Insn::Atomic { op: AtomicOp::CmpXchg, .. } => Some(Reg::R0),
        Insn::Atomic { fetch: true, src, .. } | Insn::Atomic { op: AtomicOp::Xchg, src, .. } => Some(src),
        _ => None,
    }
}

/// Whether an instruction mentions r10 at all.
fn mentions_r10(insn: &Insn) -> bool {
    let is = |r: Reg| r == Reg::R10;
    let src = |s: Src| matches!(s, Src::Reg(r) if is(r));
    match *insn {
        Insn::Alu { dst, src: s, .. } | Insn::Jump { dst, src: s, .. } | Insn::Store { dst, src: s, .. } => is(dst) || src(s),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::LoadImm64 { dst, .. } => is(dst),
        Insn::Load { dst, src: s, .. } | Insn::Atomic { dst, src: s, .. } => is(dst) || is(s),
        _ => false,
    }
}

/// What one scan of a function's body finds.
struct Facts {
    calls_helper: bool,
    /// Slots called with local calls.
    callees: Vec<usize>,
    uses_r10: bool,
    writes: [bool; Reg::COUNT],
    /// Whether the body has immediates (which blinding turns into key-based
    /// loads).
    has_immediates: bool,
}

fn facts(insns: &[Insn], f: &Function) -> Facts {
    let mut facts = Facts {
        calls_helper: false,
        callees: Vec::new(),
        uses_r10: f.stack_depth > 0,
        writes: [false; Reg::COUNT],
        has_immediates: false,
    };
    for pc in f.start..f.end {
        let Some(insn) = insns.get(pc) else { break };
        match insn {
            Insn::Call { .. } => facts.calls_helper = true,
            Insn::CallLocal { .. } => facts.callees.extend(insn.target(pc).and_then(|t| usize::try_from(t).ok())),
            _ => {}
        }
        facts.uses_r10 |= mentions_r10(insn);
        facts.has_immediates |= matches!(
            insn,
            Insn::Alu { src: Src::Imm(_), .. }
                | Insn::Jump { src: Src::Imm(_), .. }
                | Insn::Store { src: Src::Imm(_), .. }
                | Insn::LoadImm64 { imm: verifier::Imm64::Value(_), .. }
        );
        if let Some(r) = written(insn) {
            facts.writes[r.index()] = true;
        }
    }
    facts
}

/// The frames of all functions; `blinding` if constant blinding is on.
pub fn frames(insns: &[Insn], functions: &[Function], blinding: bool) -> Vec<Frame> {
    let facts: Vec<Facts> = functions.iter().map(|f| facts(insns, f)).collect();
    // Which functions reach a helper call; local calls form no cycles (the
    // verifier refuses recursion), so this settles within `functions.len()`
    // rounds.
    let mut aligned: Vec<bool> = facts.iter().map(|f| f.calls_helper).collect();
    for _ in 0..functions.len() {
        let mut changed = false;
        for (i, f) in facts.iter().enumerate() {
            let reaches = |&t: &usize| {
                functions.binary_search_by_key(&t, |g| g.start).is_ok_and(|j| aligned.get(j) == Some(&true))
            };
            if !aligned[i] && f.callees.iter().any(reaches) {
                aligned[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    facts.iter().zip(functions).zip(aligned).map(|((facts, f), a)| frame_of(facts, f.stack_depth, a, blinding)).collect()
}

/// The frame of a function; `aligned` if it reaches a helper call.
fn frame_of(facts: &Facts, stack_depth: u32, aligned: bool, blinding: bool) -> Frame {
    let mut saved = Vec::new();
    if facts.uses_r10 {
        saved.push(R::Rbp);
    }
    for r in [Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
        if facts.writes[r.index()] {
            saved.push(x86(r));
        }
    }
    if blinding && facts.has_immediates {
        saved.push(KEY);
    }
    let mut reserve = stack_depth.next_multiple_of(16);
    // At entry rsp = 8 (mod 16); each push moves it by 8.
    if aligned && saved.len() % 2 == 0 {
        reserve += 8;
    }
    Frame { saved, sets_rbp: facts.uses_r10, reserve }
}
