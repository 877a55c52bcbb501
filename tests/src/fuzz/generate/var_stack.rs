//! Stack accesses at a variable offset: an index from the context, masked
//! (a bound off by one now and then), added to a stack pointer, then a load
//! or a store of any size; some of the bytes it may reach were written,
//! some not, one may hold a spilled pointer. A store is followed by a
//! constant load near the edge of what every offset writes, and what a
//! load gives is used as an offset into the read-only data, so a byte the
//! verifier wrongly takes as written, or as zero, is a violation.

use verifier::{AluOp, Imm64, Insn, Reg, Size, Src, Width};

use super::{add, addr, ld, mov, movr, st, Gen, SIZES};
use crate::fuzz::{F_VALUE, RODATA};

impl Gen<'_> {
    pub(super) fn var_stack(&mut self) {
        let span = self.rng.pick(&[4i16, 8, 16]);
        let base = -8 * (2 + self.rng.below(4) as i16);
        // Write some of the array first: usually all of it, in zeros.
        for slot in (base..base + span + 8).step_by(8) {
            if slot < 0 && self.rng.chance(80) {
                let v = if self.rng.chance(70) { Src::Imm(0) } else { Src::Reg(self.scratch()) };
                self.a.push(st(Size::DW, Reg::R10, slot, v));
            }
        }
        let i = self.scratch();
        self.a.push(ld(Size::B, i, Reg::R6, F_VALUE));
        let mask = (span - 1) as i32 + if self.rng.chance(10) { 1 } else { 0 };
        self.a.push(Insn::Alu { width: Width::W64, op: AluOp::And, dst: i, src: Src::Imm(mask) });
        self.a.push(movr(Reg::R1, Reg::R10));
        self.a.push(add(Reg::R1, base as i32));
        self.a.push(addr(Reg::R1, i));
        let size = self.rng.pick(&SIZES);
        if self.rng.chance(50) {
            let v = if self.rng.chance(50) { Src::Imm(self.small()) } else { Src::Reg(self.scratch()) };
            self.a.push(st(size, Reg::R1, 0, v));
            // Every offset writes base + mask .. base + size; read next to it.
            let edge = base + mask as i16 + self.rng.pick(&[-1i16, 0, 0, 1]);
            let lsize = self.rng.pick(&[Size::B, Size::H]);
            let dst = self.scratch();
            self.a.push(ld(lsize, dst, Reg::R10, edge.min(-(lsize.bytes() as i16))));
        } else {
            let dst = self.scratch();
            self.a.push(ld(size, dst, Reg::R1, 0));
            if self.rng.chance(50) {
                // A zero must be zero: use it as an offset into 8 bytes.
                self.a.push(Insn::LoadImm64 { dst: Reg::R2, imm: Imm64::MapValue { map: 2, offset: 0 } });
                self.a.push(addr(Reg::R2, dst));
                self.a.push(ld(Size::B, dst, Reg::R2, (RODATA - 1) as i16));
                self.a.push(mov(dst, 0));
            }
        }
    }
}
