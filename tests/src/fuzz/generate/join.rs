//! Joins whose two paths differ in one fact, so that pruning has to tell
//! them apart: one view of an index's bounds, one known bit, one stack
//! byte or one pointer offset. After the join the fact decides whether an
//! access stays in bounds, and in some programs the two paths agree (then
//! the program can be accepted). If the verifier pruned the path that
//! knows less against the one that knows more, a run on the first path
//! is a violation. Either path may come first.
//!
//! For the bounds, an index from the context is moved into a region where
//! only one view (unsigned or signed, 64 or 32 bits) is informative, each
//! path checks it against its own bound in that view, and after the join
//! it is moved back and used as an offset into the read-only data. One
//! bound keeps the access within the data; the other is the same, one less
//! or one more. Both bounds lie beyond the point where the view crosses
//! over, so the other views and the known bits stay the same on both
//! paths.

use verifier::{AluOp, Cond, Imm64, Insn, Reg, Size, Src, Width};

use super::{jmp, ld, st, Gen};
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
    /// A join of one of the four kinds.
    pub(super) fn join(&mut self) {
        match self.rng.below(4) {
            0 => self.join_view(),
            1 => self.join_bit(),
            2 => self.join_stack_byte(),
            _ => self.join_offset(),
        }
    }

    /// `r3 = index + shift`, two paths `if r3 > bound goto skip` with
    /// bounds that may differ by one, a join, `r3 -= shift`, and a
    /// one-byte load at `rodata + r3`.
    fn join_view(&mut self) {
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

    /// `if sel & 1` chooses between `paths` (in random order) on a context
    /// byte, then they join. A [`Step::Skip`] jump leaves the snippet.
    fn two_paths(&mut self, paths: [Vec<Step>; 2], skip: usize) {
        let (second, join) = (self.a.label(), self.a.label());
        let sel = Reg::R4;
        self.a.push(ld(Size::B, sel, Reg::R6, F_VALUE + 2));
        self.a.jump(jmp(Width::W64, Cond::Set, sel, Src::Imm(1)), second);
        let first = self.rng.below(2) as usize;
        for (n, path) in [&paths[first], &paths[1 - first]].into_iter().enumerate() {
            if n == 1 {
                self.a.bind(second);
            }
            for step in path {
                match *step {
                    Step::Insn(insn) => self.a.push(insn),
                    Step::Skip(jump) => self.a.jump(jump, skip),
                }
            }
            if n == 0 {
                self.a.jump(Insn::Ja { off: 0, long: false }, join);
            }
        }
        self.a.bind(join);
    }

    /// `r2 = rodata + RODATA - 1; r2 += reg; dst = *(u8 *)r2`: in bounds
    /// only when `reg` is 0.
    fn load_at_the_last_byte_plus(&mut self, reg: Reg) {
        self.a.push(Insn::LoadImm64 { dst: Reg::R2, imm: Imm64::MapValue { map: 2, offset: RODATA as u32 - 1 } });
        self.a.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Reg(reg) });
        let dst = self.scratch();
        self.a.push(ld(Size::B, dst, Reg::R2, 0));
    }

    /// An index in [0, 32] from the context; one path learns that bit 3
    /// is clear, the other that bit 6 is (which the bounds already say) or
    /// also that bit 3 is. The bounds stay [0, 32] on both. After the join,
    /// `r3 & 8` is the offset past the last byte.
    fn join_bit(&mut self) {
        let (i, skip) = (Reg::R3, self.a.label());
        self.a.push(ld(Size::B, i, Reg::R6, F_VALUE + 3));
        self.a.jump(jmp(Width::W64, Cond::Gt, i, Src::Imm(32)), skip);
        let other = if self.rng.chance(50) { 64 } else { 8 };
        let test = |bit| vec![Step::Skip(jmp(Width::W64, Cond::Set, i, Src::Imm(bit)))];
        self.two_paths([test(8), test(other)], skip);
        self.a.push(Insn::Alu { width: Width::W64, op: AluOp::And, dst: i, src: Src::Imm(8) });
        self.load_at_the_last_byte_plus(i);
        self.a.bind(skip);
    }

    /// One path stores a known zero in a stack byte; the other stores zero
    /// too, or a context bit (0 or 1, unknown to the verifier), or nothing.
    /// After the join, the byte is the offset past the last byte.
    fn join_stack_byte(&mut self) {
        // Below the slots the other snippets use.
        let off = -64 + self.rng.below(8) as i16;
        let (bit, skip) = (Reg::R3, self.a.label());
        self.a.push(ld(Size::B, bit, Reg::R6, F_VALUE + 3));
        self.a.push(Insn::Alu { width: Width::W64, op: AluOp::And, dst: bit, src: Src::Imm(1) });
        let zero = vec![Step::Insn(st(Size::B, Reg::R10, off, Src::Imm(0)))];
        let other = match self.rng.below(3) {
            0 => zero.clone(),
            1 => vec![Step::Insn(st(Size::B, Reg::R10, off, Src::Reg(bit)))],
            _ => Vec::new(),
        };
        self.two_paths([zero, other], skip);
        self.a.push(ld(Size::B, Reg::R3, Reg::R10, off));
        self.load_at_the_last_byte_plus(Reg::R3);
        self.a.bind(skip);
    }

    /// Both paths point r3 into the read-only data, one at its last byte,
    /// the other there too or one past it; after the join, a byte is read
    /// through r3.
    fn join_offset(&mut self) {
        let skip = self.a.label();
        let at = |extra: i32| {
            vec![
                Step::Insn(Insn::LoadImm64 { dst: Reg::R3, imm: Imm64::MapValue { map: 2, offset: RODATA as u32 - 1 } }),
                Step::Insn(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R3, src: Src::Imm(extra) }),
            ]
        };
        let other = self.rng.below(2) as i32;
        self.two_paths([at(0), at(other)], skip);
        let dst = self.scratch();
        self.a.push(ld(Size::B, dst, Reg::R3, 0));
        self.a.bind(skip);
    }
}

/// One instruction of a path of [`Gen::two_paths`].
#[derive(Clone, Copy)]
enum Step {
    Insn(Insn),
    /// A jump to the end of the snippet.
    Skip(Insn),
}
