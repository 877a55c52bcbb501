//! Which registers' *values* may still matter for safety: a backward
//! data-flow analysis, a static bound on what precision tracking
//! (`verify/precision.rs`) marks while the paths are explored: pruning
//! compares a register exactly only when both say its value may matter.
//!
//! A scalar matters if it may flow, before being overwritten, into
//! something a check depends on: a jump condition (which decides paths and
//! refines registers), the base or stored value of a memory access, a
//! helper argument other than a plain number, a local call's arguments, a
//! function's return value, or pointer arithmetic with a register operand.
//! A live scalar that does not matter may hold any number without changing
//! which checks pass, so state comparison for pruning only asks that it be a
//! scalar in both states. Counters and results computed on the side (`r0 +=
//! 1` in many branches) then no longer multiply the paths explored.

use alloc::vec::Vec;

use crate::insn::{AluOp, AtomicOp, Insn, Reg, Src};
use crate::liveness::{solve_backward, RegSet, ARGS, CALL_CLOBBERED};
use crate::profile::{ArgKind, Profile};
use crate::report::Report;

pub(crate) fn bit(r: Reg) -> RegSet {
    1 << r.index()
}

pub(crate) fn src_bit(src: Src) -> RegSet {
    match src {
        Src::Reg(r) => bit(r),
        Src::Imm(_) => 0,
    }
}

/// The registers that matter before `insn`, given those that matter after.
fn transfer(insn: &Insn, out: RegSet, in_entry: bool, profile: &Profile) -> RegSet {
    let flows = |dst: Reg, from: RegSet| if out & bit(dst) != 0 { from } else { 0 };
    match *insn {
        Insn::Alu { op: AluOp::Mov | AluOp::MovSx(_), dst, src, .. } => (out & !bit(dst)) | flows(dst, src_bit(src)),
        // Pointer arithmetic: a register operand of + or - may be an offset.
        Insn::Alu { op: AluOp::Add | AluOp::Sub, dst, src: Src::Reg(s), .. } => out | bit(dst) | bit(s),
        Insn::Alu { dst, src, .. } => out | flows(dst, bit(dst) | src_bit(src)),
        Insn::Neg { .. } | Insn::Endian { .. } | Insn::Imm64Tail | Insn::Ja { .. } => out,
        Insn::LoadImm64 { dst, .. } => out & !bit(dst),
        Insn::Load { dst, src, .. } => (out & !bit(dst)) | bit(src),
        Insn::Store { dst, src, .. } => out | src_bit(src) | bit(dst),
        Insn::Atomic { op, dst, src, .. } => {
            let r0 = if op == AtomicOp::CmpXchg { 1 } else { 0 };
            out | bit(dst) | bit(src) | r0
        }
        Insn::Jump { dst, src, .. } => out | bit(dst) | src_bit(src),
        Insn::Call { helper } => {
            let args = match profile.helper(helper) {
                Some(sig) => sig
                    .args
                    .iter()
                    .take(5)
                    .enumerate()
                    .filter(|(_, k)| !matches!(k, ArgKind::Scalar | ArgKind::UserAddr))
                    .fold(0, |acc, (i, _)| acc | 1 << (i + 1)),
                None => ARGS,
            };
            (out & !CALL_CLOBBERED) | args
        }
        Insn::CallLocal { .. } => (out & !CALL_CLOBBERED) | ARGS,
        // The entry's result need only be a number; a function's result
        // flows to its caller.
        Insn::Exit => {
            if in_entry {
                0
            } else {
                1
            }
        }
    }
}

/// The registers whose values matter before each slot.
pub fn relevant_in(insns: &[Insn], profile: &Profile, func_of: &[u32]) -> Result<Vec<RegSet>, Report> {
    solve_backward(insns, |pc, out| transfer(&insns[pc], out, func_of[pc] == 0, profile))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble;

    fn rel(src: &str) -> Vec<RegSet> {
        let p = assemble(src).unwrap();
        relevant_in(p.insns(), &Profile::new(), &alloc::vec![0; p.len()]).unwrap()
    }

    #[test]
    fn side_results_do_not_matter() {
        // r0 is only returned; r2 decides a branch; r3 is an offset.
        let r = rel("r0 = 0\nr2 = 1\nr3 = 2\nr0 += 1\nif r2 > 0 goto +0\nr1 += r3\nexit");
        assert_eq!(r[3] & 1, 0);
        assert_eq!(r[3] & 0b1100, 0b1100);
        assert_eq!(r[5] & 0b1000, 0b1000);
    }

    #[test]
    fn values_flowing_into_checks_matter() {
        // r4 flows into r2, which is compared.
        let r = rel("r4 = 1\nr2 = r4\nr2 *= 3\nif r2 > 5 goto +0\nr0 = 0\nexit");
        assert_ne!(r[1] & 0b1_0000, 0);
        assert_ne!(r[2] & 0b100, 0);
        // Stored values matter (the stack is compared as it is).
        let r = rel("r5 = 1\n*(u64 *)(r10 - 8) = r5\nr0 = 0\nexit");
        assert_ne!(r[1] & 0b10_0000, 0);
    }
}
