//! Joins whose two paths bound an index differently in one view of its
//! bounds, so that pruning has to tell them apart.
//!
//! An index from the context is moved into a region where only one view
//! (unsigned or signed, 64 or 32 bits) is informative, each path checks it
//! against its own bound in that view, and after the join it is moved back
//! and used as an offset into the read-only data. One bound keeps the
//! access within the data; the other is the same, one less or one more. If
//! the verifier pruned the wider path against the narrower one, the index
//! one past the data is a violation. Both bounds lie beyond the point where
//! the view crosses over, so the other views and the known bits stay the
//! same on both paths.

use verifier::{AluOp, Cond, Imm64, Insn, Reg, Size, Src, Width};

use super::{jmp, ld, Gen};
use crate::fuzz::{F_VALUE, RODATA};

/// How the index is moved into one view's region and back.
#[derive(Clone, Copy)]
enum View {
    /// Across the sign bit of 64 bits: the signed view learns nothing.
    U64,
    /// Across zero: the unsigned view learns nothing.
    S64,
    /// Across the sign bit of the low half (the 64-bit bounds follow the
    /// zero-extended low half, so they differ too).
    U32,
    /// Across zero in the low half: only the signed 32-bit view learns.
    S32,
}

impl View {
    /// The offset added to an index in `0 ..= 9` (so that the range
    /// crosses over at index 4) and the width of the arithmetic and of the
    /// checks.
    fn shift(self) -> (i64, Width) {
        match self {
            View::U64 => (i64::MAX - 3, Width::W64),
            View::S64 => (-4, Width::W64),
            View::U32 => (0x7fff_fffc, Width::W32),
            View::S32 => (-4, Width::W32),
        }
    }

    /// The unsigned or signed "greater than" of the view.
    fn greater(self) -> Cond {
        match self {
            View::U64 | View::U32 => Cond::Gt,
            View::S64 | View::S32 => Cond::SGt,
        }
    }
}

impl Gen<'_> {
    /// `r3 = index + shift`, two paths `if r3 > bound goto skip` with
    /// bounds that may differ by one, a join, `r3 -= shift`, and a
    /// one-byte load at `rodata + r3`.
    pub(super) fn join(&mut self) {
        let view = self.rng.pick(&[View::U64, View::S64, View::U32, View::S32]);
        let (shift, width) = view.shift();
        let (skip, second, join) = (self.a.label(), self.a.label(), self.a.label());
        let (i, sel, k) = (Reg::R3, Reg::R4, Reg::R5);
        self.a.push(ld(Size::B, i, Reg::R6, F_VALUE));
        // 0, 1, 8 or 9: the verifier knows [0, 9], and one run in four has
        // the index one past the data.
        self.a.push(Insn::Alu { width: Width::W64, op: AluOp::And, dst: i, src: Src::Imm(RODATA as i32 + 1) });
        self.a.push(ld(Size::B, sel, Reg::R6, F_VALUE + 1));
        // The shift and the bounds are in a register: 64-bit immediates of
        // jumps are sign-extended 32-bit ones.
        self.a.push(Insn::LoadImm64 { dst: k, imm: Imm64::Value(shift as u64) });
        self.a.push(Insn::Alu { width, op: AluOp::Add, dst: i, src: Src::Reg(k) });
        let bounds = [RODATA - 1, RODATA - 2 + self.rng.below(3) as i64];
        let first = self.rng.below(2) as usize;
        self.a.jump(jmp(Width::W64, Cond::Set, sel, Src::Imm(1)), second);
        for (n, bound) in [bounds[first], bounds[1 - first]].into_iter().enumerate() {
            if n == 1 {
                self.a.bind(second);
            }
            self.a.push(Insn::LoadImm64 { dst: k, imm: Imm64::Value(shift.wrapping_add(bound) as u64) });
            self.a.jump(jmp(width, view.greater(), i, Src::Reg(k)), skip);
            if n == 0 {
                self.a.jump(Insn::Ja { off: 0, long: false }, join);
            }
        }
        self.a.bind(join);
        self.a.push(Insn::LoadImm64 { dst: k, imm: Imm64::Value(shift as u64) });
        self.a.push(Insn::Alu { width, op: AluOp::Sub, dst: i, src: Src::Reg(k) });
        self.a.push(Insn::LoadImm64 { dst: Reg::R2, imm: Imm64::MapValue { map: 2, offset: 0 } });
        self.a.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Reg(i) });
        let dst = self.scratch();
        self.a.push(ld(Size::B, dst, Reg::R2, 0));
        self.a.bind(skip);
    }
}
