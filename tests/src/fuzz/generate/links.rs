//! Linked copies: an unknown number is copied (register to register, or
//! spilled and filled back), one copy is checked against a bound and
//! another one is used as an index into the context's buffer. Sometimes a
//! copy is written between the check and the use (a new number, a
//! constant, arithmetic, a narrow store over the spill), the copy is not
//! quite a copy (32 bits, sign-extending, plus one), or the check compares
//! two registers; sometimes two paths join, one holding a copy and the
//! other a different number. A bound given to anything that no longer
//! holds the checked number is a violation on some input.

use verifier::{AluOp, Cond, Insn, Reg, Size, Src, Width};

use super::{add, addr, jmp, ld, mov, movr, st, Gen};
use crate::fuzz::{DATA_CAP, F_DATA, F_RW, F_TAIL, F_VALUE};

/// The spill slot of the copies.
const SLOT: i16 = -40;

/// Where a copy lives.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Reg(Reg),
    Slot,
}

impl Gen<'_> {
    pub(super) fn links(&mut self) {
        let orig = Reg::R7;
        let copy = Reg::R8;
        // R3 reads the slot back; R2 addresses the buffer.
        self.a.push(ld(Size::DW, orig, Reg::R6, F_VALUE));
        let skip = self.a.label();
        let joined = self.rng.chance(25);
        let places = [Place::Reg(orig), if self.rng.chance(40) { Place::Slot } else { Place::Reg(copy) }];
        let join = self.a.label();
        if joined {
            // Padding, so that a state is stored at the join; the other
            // path holds a different number where the copy is.
            for _ in 0..6 + self.rng.below(4) {
                self.a.push(mov(Reg::R4, 0));
            }
            let other = self.a.label();
            self.a.push(ld(Size::W, Reg::R9, Reg::R6, F_RW));
            let v = self.rng.below(8) as i32;
            self.a.jump(jmp(Width::W64, Cond::Gt, Reg::R9, Src::Imm(v)), other);
            self.copy(orig, places[1]);
            self.a.jump(Insn::Ja { off: 0, long: false }, join);
            self.a.bind(other);
            self.a.push(ld(Size::DW, Reg::R9, Reg::R6, F_TAIL));
            match places[1] {
                Place::Reg(r) => self.a.push(movr(r, Reg::R9)),
                Place::Slot => self.a.push(st(Size::DW, Reg::R10, SLOT, Src::Reg(Reg::R9))),
            }
        } else {
            self.copy(orig, places[1]);
        }
        self.a.bind(join);
        let checked = self.rng.pick(&places);
        let used = self.rng.pick(&places);
        let bound = self.near(DATA_CAP - 1, 1) as i32;
        let r = self.read(checked, Reg::R3);
        match self.rng.below(8) {
            0 => {
                self.a.push(mov(Reg::R4, bound));
                self.a.jump(jmp(Width::W64, Cond::Gt, r, Src::Reg(Reg::R4)), skip);
            }
            1 => self.a.jump(jmp(Width::W32, Cond::Gt, r, Src::Imm(bound)), skip),
            2 => self.a.jump(jmp(Width::W64, Cond::Ge, r, Src::Imm(bound + 1)), skip),
            _ => self.a.jump(jmp(Width::W64, Cond::Gt, r, Src::Imm(bound)), skip),
        }
        if self.rng.chance(35) {
            let p = self.rng.pick(&places);
            self.write_between(p);
        }
        let i = self.read(used, Reg::R3);
        self.a.push(movr(Reg::R2, Reg::R6));
        self.a.push(addr(Reg::R2, i));
        let dst = self.scratch();
        self.a.push(ld(Size::B, dst, Reg::R2, F_DATA));
        self.a.bind(skip);
        self.a.push(mov(Reg::R7, 0));
        self.a.push(mov(Reg::R8, 0));
    }

    /// Copies `orig` to `to`, usually whole (a link), sometimes not.
    fn copy(&mut self, orig: Reg, to: Place) {
        match to {
            Place::Reg(r) => match self.rng.below(10) {
                0 => self.a.push(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst: r, src: Src::Reg(orig) }),
                1 => self.a.push(Insn::Alu { width: Width::W64, op: AluOp::MovSx(32), dst: r, src: Src::Reg(orig) }),
                2 => {
                    self.a.push(movr(r, orig));
                    self.a.push(add(r, 1));
                }
                _ => self.a.push(movr(r, orig)),
            },
            Place::Slot => {
                self.a.push(st(Size::DW, Reg::R10, SLOT, Src::Reg(orig)));
                if self.rng.chance(10) {
                    self.a.push(st(Size::B, Reg::R10, SLOT + 7, Src::Imm(1)));
                }
            }
        }
    }

    /// The register holding `p`'s number: itself, or `fill` filled from
    /// the slot.
    fn read(&mut self, p: Place, fill: Reg) -> Reg {
        match p {
            Place::Reg(r) => r,
            Place::Slot => {
                self.a.push(ld(Size::DW, fill, Reg::R10, SLOT));
                fill
            }
        }
    }

    /// Writes the copy at `p` after the check.
    fn write_between(&mut self, p: Place) {
        match (p, self.rng.below(4)) {
            (Place::Reg(r), 0) => self.a.push(ld(Size::DW, r, Reg::R6, F_VALUE)),
            (Place::Reg(r), 1) => self.a.push(add(r, 1)),
            (Place::Reg(r), 2) => {
                let v = self.rng.below(40) as i32;
                self.a.push(mov(r, v));
            }
            (Place::Reg(r), _) => {
                self.a.push(ld(Size::W, Reg::R9, Reg::R6, F_RW));
                self.a.push(movr(r, Reg::R9));
            }
            (Place::Slot, 0) => {
                let at = SLOT + self.rng.below(8) as i16;
                self.a.push(st(Size::B, Reg::R10, at, Src::Imm(1)));
            }
            (Place::Slot, 1) => {
                self.a.push(ld(Size::DW, Reg::R9, Reg::R6, F_VALUE));
                self.a.push(st(Size::DW, Reg::R10, SLOT, Src::Reg(Reg::R9)));
            }
            (Place::Slot, _) => {
                let v = self.rng.below(40) as i32;
                self.a.push(st(Size::DW, Reg::R10, SLOT, Src::Imm(v)));
            }
        }
    }
}
