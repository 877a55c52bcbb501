//! What each function's prologue must save and reserve.
//!
//! A function saves only the callee-saved registers it writes (BPF r6-r9 in
//! `rbx`, `r13`-`r15`) and sets up `rbp` (BPF r10) only if it refers to r10.
//! A leaf function that touches neither, like most small local callees,
//! gets no prologue at all. The BPF stack is reserved below the saved
//! registers with `sub rsp`. A function that calls a helper, directly or
//! through local calls, pads its frame so that `rsp` is 16-byte aligned at
//! each call, as System V requires; other functions need not.

use super::Function;
use crate::regs::x86;
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

/// The frames of all functions.
pub fn frames(insns: &[Insn], functions: &[Function]) -> Vec<Frame> {
    let body = |f: &Function| insns.get(f.start..f.end).unwrap_or_default();
    // Which functions reach a helper call; local calls form no cycles (the
    // verifier refuses recursion), so this settles within `functions.len()`
    // rounds.
    let mut aligned: Vec<bool> = functions.iter().map(|f| body(f).iter().any(|i| matches!(i, Insn::Call { .. }))).collect();
    for _ in 0..functions.len() {
        let mut changed = false;
        for (i, f) in functions.iter().enumerate() {
            if aligned[i] {
                continue;
            }
            let reaches = (f.start..f.end).any(|pc| match insns.get(pc).and_then(|insn| insn.target(pc).map(|t| (insn, t))) {
                Some((Insn::CallLocal { .. }, t)) => functions.iter().zip(&aligned).any(|(g, &a)| a && g.start as i64 == t),
                _ => false,
            });
            if reaches {
                aligned[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    functions.iter().zip(aligned).map(|(f, a)| frame_of(body(f), f.stack_depth, a)).collect()
}

/// The frame of a function with this body; `aligned` if it reaches a
/// helper call.
fn frame_of(body: &[Insn], stack_depth: u32, aligned: bool) -> Frame {
    let (mut uses_r10, mut writes) = (stack_depth > 0, [false; Reg::COUNT]);
    for insn in body {
        uses_r10 |= mentions_r10(insn);
        if let Some(r) = written(insn) {
            writes[r.index()] = true;
        }
    }
    let mut saved = Vec::new();
    if uses_r10 {
        saved.push(R::Rbp);
    }
    for r in [Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
        if writes[r.index()] {
            saved.push(x86(r));
        }
    }
    let mut reserve = stack_depth.next_multiple_of(16);
    // At entry rsp = 8 (mod 16); each push moves it by 8.
    if aligned && saved.len() % 2 == 0 {
        reserve += 8;
    }
    Frame { saved, sets_rbp: uses_r10, reserve }
}
