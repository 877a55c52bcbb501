//! Which registers may still be read: a backward data-flow analysis over
//! each function. State comparison ignores dead registers, so two paths
//! that differ only in values never read again are recognised as the same.

use alloc::vec::Vec;
use core::ops::BitOr;

use crate::cfg::{successors, try_vec};
use crate::report::Report;
use crate::insn::{AluOp, AtomicOp, Insn, Src};
use crate::profile::Profile;

/// A set of registers, bit `i` for `ri`.
pub type RegSet = u16;

/// R1..R5, the argument registers.
pub const ARGS: RegSet = 0b11_1110;
/// R0..R5, written (or clobbered) by a call.
pub const CALL_CLOBBERED: RegSet = 0b11_1111;
/// R6..R9 and R10, preserved across calls.
pub const CALLEE_SAVED: RegSet = 0b111_1100_0000;

fn bit(r: crate::insn::Reg) -> RegSet {
    1 << r.index()
}

fn src_bit(src: Src) -> RegSet {
    match src {
        Src::Reg(r) => bit(r),
        Src::Imm(_) => 0,
    }
}

/// Registers read and registers written by one instruction.
fn use_def(insn: &Insn, profile: &Profile) -> (RegSet, RegSet) {
    match *insn {
        Insn::Alu { op: AluOp::Mov | AluOp::MovSx(_), dst, src, .. } => (src_bit(src), bit(dst)),
        Insn::Alu { dst, src, .. } => (bit(dst) | src_bit(src), bit(dst)),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(dst), bit(dst)),
        Insn::LoadImm64 { dst, .. } => (0, bit(dst)),
        Insn::Imm64Tail | Insn::Ja { .. } => (0, 0),
        Insn::Load { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Store { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Insn::Atomic { op: AtomicOp::CmpXchg, dst, src, .. } => (bit(dst) | bit(src) | 1, 1),
        Insn::Atomic { op, fetch, dst, src, .. } => {
            let def = if fetch || op == AtomicOp::Xchg { bit(src) } else { 0 };
            (bit(dst) | bit(src), def)
        }
        Insn::Jump { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Insn::Call { helper } => {
            let used = match profile.helper(helper) {
                Some(sig) => (1u16 << (sig.args.len().min(5) + 1)) - 2,
                None => ARGS,
            };
            (used, CALL_CLOBBERED)
        }
        Insn::CallLocal { .. } => (ARGS, CALL_CLOBBERED),
        Insn::Exit => (1, 0),
    }
}

/// The registers live before each slot (R10 always counts as live).
pub fn live_in(insns: &[Insn], profile: &Profile) -> Result<Vec<RegSet>, Report> {
    let mut ud = try_vec(insns.len(), (0 as RegSet, 0 as RegSet))?;
    for (u, insn) in ud.iter_mut().zip(insns) {
        *u = use_def(insn, profile);
    }
    solve_backward(insns, |pc, out| {
        let (u, d) = ud[pc];
        u | (out & !d) | (1 << 10)
    })
}

/// The fixpoint of a backward analysis over sets (of registers, or of
/// registers and stack slots): the set before each slot is `transfer(pc,
/// out)`, where `out` is the union of the sets before its successors.
/// Shared by liveness, [`crate::relevance`] and [`crate::links`].
///
/// Backward passes over the program until nothing changes: one pass
/// suffices for code without loops, each loop adds at most a few.
pub(crate) fn solve_backward<T: Copy + Default + PartialEq + BitOr<Output = T>>(
    insns: &[Insn],
    transfer: impl Fn(usize, T) -> T,
) -> Result<Vec<T>, Report> {
    let n = insns.len();
    let mut sets = try_vec(n, T::default())?;
    loop {
        let mut changed = false;
        for pc in (0..n).rev() {
            if insns[pc] == Insn::Imm64Tail {
                continue;
            }
            let (succ, count) = successors(insns, pc);
            let out = succ[..count].iter().filter(|&&s| s < n).fold(T::default(), |acc, &s| acc | sets[s]);
            let new = transfer(pc, out);
            if new != sets[pc] {
                sets[pc] = new;
                changed = true;
            }
        }
        if !changed {
            return Ok(sets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{Reg, Width};

    #[test]
    fn overwritten_registers_are_dead() {
        let insns = [
            Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R2, src: Src::Imm(1) },
            Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Reg(Reg::R2) },
            Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R2, src: Src::Imm(2) },
            Insn::Exit,
        ];
        let live = live_in(&insns, &Profile::new()).unwrap();
        assert_eq!(live[0] & !(1 << 10), 0);
        assert_eq!(live[1] & !(1 << 10), 0b100);
        assert_eq!(live[2] & !(1 << 10), 0b1);
        assert_eq!(live[3] & !(1 << 10), 0b1);
    }
}
