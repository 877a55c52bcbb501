//! Copying a loop's likely path so that it runs without taken jumps.
//!
//! A processor fetches straight-line code fastest: every taken jump ends a
//! fetch block, and a core takes at most one or two a cycle. A loop like
//!
//! ```text
//! loop: r5 = *(u8 *)(r1 + 0)
//!       r6 = *(u8 *)(r3 + 0)
//!       if r5 == r6 goto same        ; taken on every byte but the last
//!       r0 = r5; r0 -= r6; exit
//! same: if r5 != 0 goto next         ; taken, too
//!       r0 = 0; exit
//! next: r1 += 1; r3 += 1; r4 -= 1
//!       if r4 != 0 goto loop
//! ```
//!
//! takes three jumps a byte, translated one instruction at a time. Compilers
//! guess that a path leading to a return is the unlikely one (the "return
//! heuristic" of static branch prediction) and lay the likely path out
//! straight. This JIT keeps every instruction's code at its place (the
//! fault map and listings rely on that order) and instead copies the likely
//! path into the jump's own code: at `if r5 == r6 goto same` it emits
//!
//! ```text
//!       cmp r8, rbx
//!       jne <slot 6>                 ; the exit path, in place
//!       test r8, r8                  ; copy of `same`
//!       je <slot 10>
//!       add rdi, 1; add rdx, 1       ; copy of `next`
//!       sub rcx, 1
//!       jne <loop>                   ; the only jump taken per byte
//!       jmp <slot 16>
//! ```
//!
//! A *head* is a forward conditional jump whose fall-through path ends in
//! `exit` (the instruction before its target is an `exit`), or a forward
//! `goto` (tail duplication: a `goto next` at the end of a case, where
//! `next` closes the loop, becomes a copy of `next`). From its target
//! the copy follows the likely path: arithmetic without memory access or
//! division (nothing in a copy can fault, so the fault map stays exact),
//! further heads (inverted the same way), up to a jump back to or before
//! the head, which closes the loop. Paths that reach no such jump within
//! [`MAX_STEPS`] instructions are not copied: outside loops a copy saves
//! nothing. Every jump out of a copy goes to the code of an instruction in
//! place, with a `rel32` (the copy's size never depends on distances).
//! A copied step that is a loop header pays its fuel charge as its code in
//! place does ([`super::fuel`]).

use super::emit::Emitter;
use super::Function;
use crate::error::JitError;
use crate::x86::Cc;
use alloc::vec::Vec;
use verifier::{AluOp, Insn};

/// The longest copied path, in instructions.
pub const MAX_STEPS: usize = 8;

/// One instruction of a copied path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// Arithmetic, emitted as in place.
    Insn(usize),
    /// A head on the path: leave for the instruction after it (in place)
    /// when its condition is false; the path goes on at its target.
    Invert(usize),
    /// The jump that closes the loop: to its target when taken, else to the
    /// instruction after it; both in place. Ends the path.
    BackEdge(usize),
}

/// A head and the path its code copies.
pub type Head = (usize, Vec<Step>);

/// Every head with the path it copies, in slot order.
pub fn plan(insns: &[Insn], functions: &[Function]) -> Vec<Head> {
    let mut heads = Vec::new();
    for f in functions {
        for pc in f.start..f.end {
            let target = exit_skipping_target(insns, f, pc).or_else(|| forward_goto_target(insns, f, pc));
            if let Some(target) = target
                && let Some(path) = likely_path(insns, f, pc, target)
            {
                heads.push((pc, path));
            }
        }
    }
    heads
}

/// The path the head at `pc` copies, if `pc` is one.
pub fn path_of(heads: &[Head], pc: usize) -> Option<&[Step]> {
    let i = heads.binary_search_by_key(&pc, |h| h.0).ok()?;
    heads.get(i).map(|h| h.1.as_slice())
}

/// The target of the jump at `pc` if it is a head: a forward conditional
/// jump in `f` whose fall-through path ends in `exit` just before the target.
fn exit_skipping_target(insns: &[Insn], f: &Function, pc: usize) -> Option<usize> {
    let insn = insns.get(pc)?;
    if !matches!(insn, Insn::Jump { .. }) {
        return None;
    }
    let target = usize::try_from(insn.target(pc)?).ok()?;
    let skips_exit = target >= pc + 2 && target < f.end && insns.get(target - 1) == Some(&Insn::Exit);
    skips_exit.then_some(target)
}

/// The target of the jump at `pc` if it is a forward `goto` in `f` (not
/// to the next instruction, where it emits nothing).
fn forward_goto_target(insns: &[Insn], f: &Function, pc: usize) -> Option<usize> {
    let insn = insns.get(pc)?;
    if !matches!(insn, Insn::Ja { .. }) {
        return None;
    }
    let target = usize::try_from(insn.target(pc)?).ok()?;
    (target >= pc + 2 && target < f.end).then_some(target)
}

/// The path from `start`, the target of the head at `head`, to a jump back
/// to or before the head.
fn likely_path(insns: &[Insn], f: &Function, head: usize, start: usize) -> Option<Vec<Step>> {
    let mut path = Vec::new();
    let mut pc = start;
    while path.len() < MAX_STEPS {
        let insn = insns.get(pc).filter(|_| pc < f.end)?;
        let back = |t: i64| (f.start as i64..=head as i64).contains(&t);
        match insn {
            Insn::Alu { op: AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod, .. } => return None,
            Insn::Alu { .. } | Insn::Neg { .. } | Insn::Endian { .. } => {
                path.push(Step::Insn(pc));
                pc += 1;
            }
            // (A conditional jump also falls through: not past the end.)
            Insn::Jump { .. } | Insn::Ja { .. } if insn.target(pc).is_some_and(back) => {
                let falls_out = matches!(insn, Insn::Jump { .. }) && pc + 1 >= f.end;
                path.push(Step::BackEdge(pc));
                return (!falls_out).then_some(path);
            }
            Insn::Jump { .. } => {
                let target = exit_skipping_target(insns, f, pc)?;
                path.push(Step::Invert(pc));
                pc = target;
            }
            _ => return None,
        }
    }
    None
}

impl Emitter<'_> {
    /// The code of the head at `pc` after its comparison (whose condition
    /// is `cc`; none for a `goto`): the exit path in place when `cc` is
    /// false, else the copy.
    pub(super) fn hot_path(&mut self, pc: usize, cc: Option<Cc>, path: &[Step]) -> Result<(), JitError> {
        if let Some(cc) = cc {
            self.jump_to_slot(pc, Some(cc.negate()), pc + 1)?;
        }
        let insns = self.insns;
        let insn = |s: usize| insns.get(s).ok_or(JitError::BadTarget { pc });
        for &step in path {
            match step {
                Step::Insn(s) => self.insn(s, insn(s)?)?,
                Step::Invert(s) => {
                    self.meter_at(s)?;
                    let cc = self.condition_of(s, insn(s)?).ok_or(JitError::BadTarget { pc: s })?;
                    self.jump_to_slot(s, Some(cc.negate()), s + 1)?;
                }
                Step::BackEdge(s) => {
                    self.meter_at(s)?;
                    let target = insn(s)?.target(s).and_then(|t| usize::try_from(t).ok());
                    let target = target.ok_or(JitError::BadTarget { pc: s })?;
                    match self.condition_of(s, insn(s)?) {
                        Some(cc) => {
                            self.jump_to_slot(s, Some(cc), target)?;
                            self.jump_to_slot(s, None, s + 1)?;
                        }
                        None => self.jump_to_slot(s, None, target)?,
                    }
                }
            }
        }
        self.clear_flags();
        Ok(())
    }
}
