//! Arithmetic: ALU operations, division, shifts, byte swaps.
//!
//! Most BPF ALU instructions are one x86 instruction, because x86 32-bit
//! operations zero the upper half of their destination exactly as RFC 9669
//! requires. The exceptions are written out below:
//!
//! * division and modulo use `rdx:rax` and trap (#DE) on a zero divisor and
//!   on `INT_MIN / -1`; BPF defines both, so the divisor is tested first;
//!   and 64-bit `div` is slow, so small operands take the 32-bit one;
//! * variable shifts take their count in `cl`, and `rcx` is BPF r4;
//! * a 32-bit shift by 0 may leave the upper half alone, so it is cleared
//!   explicitly.

use super::emit::{size, Emitter};
use crate::error::JitError;
use crate::regs::{x86, AUX, AUX2, KEY, TMP};
use crate::x86::{AluKind, OpSize, ShiftKind, R};
use verifier::{AluOp, Endian, Reg, Src, Width};

impl Emitter<'_> {
    pub(super) fn alu(&mut self, pc: usize, width: Width, op: AluOp, dst: Reg, src: Src) -> Result<(), JitError> {
        let sz = size(width);
        let d = x86(dst);
        let kind = match op {
            AluOp::Add => AluKind::Add,
            AluOp::Sub => AluKind::Sub,
            AluOp::Or => AluKind::Or,
            AluOp::And => AluKind::And,
            AluOp::Xor => AluKind::Xor,
            AluOp::Mov => {
                self.mov(width, d, src);
                return Ok(());
            }
            AluOp::MovSx(bits) => return self.movsx(pc, width, bits, d, src),
            AluOp::Mul => {
                self.mul(sz, d, src);
                return Ok(());
            }
            AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => {
                self.divide(pc, width, op, d, src)?;
                return Ok(());
            }
            AluOp::Lsh => return self.shift(ShiftKind::Shl, width, d, src),
            AluOp::Rsh => return self.shift(ShiftKind::Shr, width, d, src),
            AluOp::Arsh => return self.shift(ShiftKind::Sar, width, d, src),
        };
        match src {
            Src::Reg(s) => self.asm.alu_rr(kind, sz, d, x86(s)),
            Src::Imm(k) if !self.blinding() => self.asm.alu_ri(kind, sz, d, k),
            Src::Imm(k) => {
                self.imm_to_reg(AUX, k as i64 as u64);
                self.asm.alu_rr(kind, sz, d, AUX);
            }
        }
        Ok(())
    }

    /// With blinding, `dst += imm` and `dst -= imm` as one
    /// `lea dst, [dst + KEY + (imm - key)]` where the function's key allows
    /// (where `imm - key` fits the displacement); returns whether it did.
    /// Unlike `add`, `lea` sets no flags.
    pub(super) fn add_with_key(&mut self, width: Width, op: AluOp, dst: Reg, src: Src) -> bool {
        let (Some(key), Src::Imm(k)) = (self.key(), src) else { return false };
        let addend = match op {
            AluOp::Add => k as i64,
            AluOp::Sub => -(k as i64),
            _ => return false,
        };
        let disp = match width {
            // The sum's low half is right whatever the upper bits.
            Width::W32 => Some((addend as u32).wrapping_sub(key as u32) as i32),
            Width::W64 => i32::try_from(addend - key as i64).ok(),
        };
        let Some(disp) = disp else { return false };
        let d = x86(dst);
        self.asm.lea_indexed(size(width), d, d, KEY, disp);
        true
    }

    fn mov(&mut self, width: Width, d: R, src: Src) {
        match (width, src) {
            // A 64-bit move to itself does nothing; a 32-bit one zero-extends.
            (Width::W64, Src::Reg(s)) if x86(s) == d => {}
            (_, Src::Reg(s)) => self.asm.mov_rr(size(width), d, x86(s)),
            (Width::W64, Src::Imm(k)) => self.imm_to_reg(d, k as i64 as u64),
            (Width::W32, Src::Imm(k)) => self.imm_to_reg(d, k as u32 as u64),
        }
    }

    fn movsx(&mut self, pc: usize, width: Width, bits: u8, d: R, src: Src) -> Result<(), JitError> {
        let unsupported = JitError::Unsupported { pc, what: "this sign-extending move width" };
        let s = match src {
            Src::Reg(s) => x86(s),
            Src::Imm(k) => {
                // Not an RFC 9669 encoding (the decoder refuses it), but a
                // well-defined instruction: the value is known now.
                let value = match (width, bits) {
                    (Width::W64, 8) => k as i8 as i64 as u64,
                    (Width::W64, 16) => k as i16 as i64 as u64,
                    (Width::W64, 32) => k as i64 as u64,
                    (Width::W32, 8) => k as i8 as i32 as u32 as u64,
                    (Width::W32, 16) => k as i16 as i32 as u32 as u64,
                    _ => return Err(unsupported),
                };
                self.imm_to_reg(d, value);
                return Ok(());
            }
        };
        let from = match (width, bits) {
            (_, 8) => OpSize::S8,
            (_, 16) => OpSize::S16,
            (Width::W64, 32) => OpSize::S32,
            _ => return Err(unsupported),
        };
        self.asm.movsx_rr(size(width), from, d, s);
        Ok(())
    }

    fn mul(&mut self, sz: OpSize, d: R, src: Src) {
        match src {
            Src::Reg(s) => self.asm.imul_rr(sz, d, x86(s)),
            Src::Imm(k) if !self.blinding() => self.asm.imul_rri(sz, d, d, k),
            Src::Imm(k) => {
                self.imm_to_reg(AUX, k as i64 as u64);
                self.asm.imul_rr(sz, d, AUX);
            }
        }
    }

    // ---- division ------------------------------------------------------------

    /// `dst = dst / src` or `dst % src`, unsigned or signed, with BPF's
    /// answers for the cases x86 traps on:
    ///
    /// | divisor | `/` | `%` |
    /// |---------|-----|-----|
    /// | 0       | 0   | dst (upper half cleared for 32-bit) |
    /// | -1, signed | -dst (wrapping) | 0 |
    fn divide(&mut self, pc: usize, width: Width, op: AluOp, d: R, src: Src) -> Result<(), JitError> {
        let sz = size(width);
        let signed = matches!(op, AluOp::SDiv | AluOp::SMod);
        let modulo = matches!(op, AluOp::Mod | AluOp::SMod);
        match src {
            Src::Imm(0) => self.divided_by_zero(sz, modulo, d),
            Src::Imm(-1) if signed => self.divided_by_minus_one(sz, modulo, d),
            Src::Imm(k) => {
                self.imm_to_reg(TMP, k as i64 as u64);
                self.div_core(pc, sz, signed, modulo, d)?;
            }
            Src::Reg(s) => {
                let bad = JitError::Unsupported { pc, what: "a division sequence this long" };
                self.asm.mov_rr(sz, TMP, x86(s));
                self.asm.test_rr(sz, TMP, TMP);
                let to_nonzero = self.jcc8_forward(crate::x86::Cc::Ne);
                self.divided_by_zero(sz, modulo, d);
                let zero_done = self.jmp8_forward();
                self.asm.patch_rel8_here(to_nonzero).ok_or(bad.clone())?;
                let mut minus_one_done = None;
                if signed {
                    self.asm.alu_ri(AluKind::Cmp, sz, TMP, -1);
                    let to_divide = self.jcc8_forward(crate::x86::Cc::Ne);
                    self.divided_by_minus_one(sz, modulo, d);
                    minus_one_done = Some(self.jmp8_forward());
                    self.asm.patch_rel8_here(to_divide).ok_or(bad.clone())?;
                }
                self.div_core(pc, sz, signed, modulo, d)?;
                self.asm.patch_rel8_here(zero_done).ok_or(bad.clone())?;
                if let Some(at) = minus_one_done {
                    self.asm.patch_rel8_here(at).ok_or(bad)?;
                }
            }
        }
        Ok(())
    }

    fn divided_by_zero(&mut self, sz: OpSize, modulo: bool, d: R) {
        match (modulo, sz) {
            (true, OpSize::S64) => {}
            (true, _) => self.asm.mov_rr(OpSize::S32, d, d),
            (false, _) => self.asm.alu_rr(AluKind::Xor, OpSize::S32, d, d),
        }
    }

    fn divided_by_minus_one(&mut self, sz: OpSize, modulo: bool, d: R) {
        if modulo {
            self.asm.alu_rr(AluKind::Xor, OpSize::S32, d, d);
        } else {
            self.asm.neg(sz, d);
        }
    }

    /// The division proper, divisor in TMP (neither 0 nor, when signed, -1).
    /// rax and rdx are BPF r0 and r3, so unless they are the destination
    /// they are kept in AUX and AUX2 meanwhile. An unsigned 64-bit division
    /// of two values that fit in 32 bits uses the faster 32-bit `div`, as
    /// compilers do.
    fn div_core(&mut self, pc: usize, sz: OpSize, signed: bool, modulo: bool, d: R) -> Result<(), JitError> {
        let bad = JitError::Unsupported { pc, what: "a division sequence this long" };
        if d != R::Rax {
            self.asm.mov_rr(OpSize::S64, AUX, R::Rax);
        }
        if d != R::Rdx {
            self.asm.mov_rr(OpSize::S64, AUX2, R::Rdx);
        }
        if d != R::Rax {
            self.asm.mov_rr(sz, R::Rax, d);
        }
        if signed {
            self.asm.sign_extend_rax(sz);
            self.asm.idiv(sz, TMP);
        } else if sz == OpSize::S64 {
            // rdx = (rax | divisor) >> 32 is 0 exactly when both fit.
            self.asm.mov_rr(OpSize::S64, R::Rdx, R::Rax);
            self.asm.alu_rr(AluKind::Or, OpSize::S64, R::Rdx, TMP);
            self.asm.shift_imm(ShiftKind::Shr, OpSize::S64, R::Rdx, 32);
            let to_wide = self.jcc8_forward(crate::x86::Cc::Ne);
            self.asm.div(OpSize::S32, TMP);
            let done = self.jmp8_forward();
            self.asm.patch_rel8_here(to_wide).ok_or(bad.clone())?;
            self.asm.alu_rr(AluKind::Xor, OpSize::S32, R::Rdx, R::Rdx);
            self.asm.div(OpSize::S64, TMP);
            self.asm.patch_rel8_here(done).ok_or(bad)?;
        } else {
            self.asm.alu_rr(AluKind::Xor, OpSize::S32, R::Rdx, R::Rdx);
            self.asm.div(sz, TMP);
        }
        self.asm.mov_rr(sz, TMP, if modulo { R::Rdx } else { R::Rax });
        if d != R::Rdx {
            self.asm.mov_rr(OpSize::S64, R::Rdx, AUX2);
        }
        if d != R::Rax {
            self.asm.mov_rr(OpSize::S64, R::Rax, AUX);
        }
        self.asm.mov_rr(sz, d, TMP);
        Ok(())
    }

    /// A forward `jcc rel8` to patch later; returns the rel8's position.
    fn jcc8_forward(&mut self, cc: crate::x86::Cc) -> usize {
        self.asm.jcc8(cc, 0);
        self.asm.len() - 1
    }

    fn jmp8_forward(&mut self) -> usize {
        self.asm.jmp8(0);
        self.asm.len() - 1
    }

    // ---- shifts --------------------------------------------------------------

    fn shift(&mut self, kind: ShiftKind, width: Width, d: R, src: Src) -> Result<(), JitError> {
        let sz = size(width);
        let count = match src {
            Src::Imm(k) => {
                let mask = if width == Width::W64 { 63 } else { 31 };
                let n = (k as u32 & mask) as u8;
                if n == 0 {
                    if width == Width::W32 {
                        self.asm.mov_rr(OpSize::S32, d, d);
                    }
                } else if self.blinding() {
                    // Two shifts whose counts add up to n, split at random.
                    let a = self.random_below(n as u32 + 1) as u8;
                    for part in [a, n - a] {
                        if part != 0 {
                            self.asm.shift_imm(kind, sz, d, part);
                        }
                    }
                } else {
                    self.asm.shift_imm(kind, sz, d, n);
                }
                return Ok(());
            }
            Src::Reg(s) => x86(s),
        };
        if count == R::Rcx {
            self.asm.shift_cl(kind, sz, d);
        } else if d == R::Rcx {
            self.asm.mov_rr(OpSize::S64, TMP, R::Rcx);
            self.asm.mov_rr(OpSize::S64, R::Rcx, count);
            self.asm.shift_cl(kind, sz, TMP);
            self.asm.mov_rr(sz, R::Rcx, TMP);
            return Ok(());
        } else {
            self.asm.mov_rr(OpSize::S64, TMP, R::Rcx);
            self.asm.mov_rr(OpSize::S64, R::Rcx, count);
            self.asm.shift_cl(kind, sz, d);
            self.asm.mov_rr(OpSize::S64, R::Rcx, TMP);
        }
        if width == Width::W32 {
            // The count may be 0 at run time.
            self.asm.mov_rr(OpSize::S32, d, d);
        }
        Ok(())
    }

    // ---- byte order ------------------------------------------------------------

    pub(super) fn endian(&mut self, pc: usize, kind: Endian, bits: u8, dst: Reg) -> Result<(), JitError> {
        let d = x86(dst);
        match (kind, bits) {
            (Endian::ToLe, 16) => self.asm.movzx_rr(OpSize::S16, d, d),
            (Endian::ToLe, 32) => self.asm.mov_rr(OpSize::S32, d, d),
            (Endian::ToLe, 64) => {}
            (Endian::ToBe | Endian::Swap, 16) => {
                self.asm.shift_imm(ShiftKind::Ror, OpSize::S16, d, 8);
                self.asm.movzx_rr(OpSize::S16, d, d);
            }
            (Endian::ToBe | Endian::Swap, 32) => self.asm.bswap(OpSize::S32, d),
            (Endian::ToBe | Endian::Swap, 64) => self.asm.bswap(OpSize::S64, d),
            _ => return Err(JitError::Unsupported { pc, what: "a byte swap of this width" }),
        }
        Ok(())
    }
}
