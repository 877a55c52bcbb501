//! Memory: loads, stores and atomic read-modify-write operations.
//!
//! The verifier has proved every access in bounds, so each is a single
//! `[base + off]` access. Narrow loads zero-extend (`movzx`, or a 32-bit
//! `mov`) or sign-extend (`movsx`/`movsxd`) as RFC 9669 says.

use super::emit::Emitter;
use crate::error::JitError;
use crate::regs::{x86, AUX, TMP};
use crate::x86::{AluKind, Cc, Mem, OpSize, R};
use verifier::{AtomicOp, Reg, Size, Src};

fn op_size(size: Size) -> OpSize {
    match size {
        Size::B => OpSize::S8,
        Size::H => OpSize::S16,
        Size::W => OpSize::S32,
        Size::DW => OpSize::S64,
    }
}

impl Emitter<'_> {
    pub(super) fn load(&mut self, size: Size, signed: bool, dst: Reg, src: Reg, off: i16) -> Result<(), JitError> {
        let (d, m) = (x86(dst), Mem::new(x86(src), off as i32));
        match (size, signed) {
            (Size::B | Size::H, false) => self.asm.movzx_load(op_size(size), d, m),
            (Size::W, false) => self.asm.load(OpSize::S32, d, m),
            // Sign-extending 64 bits to 64 is a plain load (the decoder
            // refuses this encoding, but its meaning is clear).
            (Size::DW, _) => self.asm.load(OpSize::S64, d, m),
            (Size::B | Size::H | Size::W, true) => self.asm.movsx_load(op_size(size), d, m),
        }
        Ok(())
    }

    pub(super) fn store(&mut self, size: Size, dst: Reg, off: i16, src: Src) -> Result<(), JitError> {
        let m = Mem::new(x86(dst), off as i32);
        match src {
            Src::Reg(s) => self.asm.store(op_size(size), m, x86(s)),
            Src::Imm(k) if !self.blinding() => self.asm.store_imm(op_size(size), m, k),
            Src::Imm(k) => {
                self.imm_to_reg(AUX, k as i64 as u64);
                self.asm.store(op_size(size), m, AUX);
            }
        }
        Ok(())
    }

    /// Atomic operations on 32- or 64-bit memory. With `fetch`, `src`
    /// receives the old value (zero-extended for 32-bit); `cmpxchg` always
    /// puts the old value in r0.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn atomic(
        &mut self,
        pc: usize,
        size: Size,
        op: AtomicOp,
        fetch: bool,
        dst: Reg,
        src: Reg,
        off: i16,
    ) -> Result<(), JitError> {
        let sz = match size {
            Size::W => OpSize::S32,
            Size::DW => OpSize::S64,
            _ => return Err(JitError::Unsupported { pc, what: "an atomic operation on 8 or 16 bits" }),
        };
        let (d, s) = (x86(dst), x86(src));
        let m = Mem::new(d, off as i32);
        let kind = match op {
            AtomicOp::Add if fetch => {
                self.asm.lock_xadd(sz, m, s);
                return Ok(());
            }
            AtomicOp::Xchg => {
                self.asm.xchg_mr(sz, m, s);
                return Ok(());
            }
            AtomicOp::CmpXchg => {
                self.asm.lock_cmpxchg(sz, m, s);
                if sz == OpSize::S32 {
                    // On success cmpxchg leaves eax alone, upper half included.
                    self.asm.mov_rr(OpSize::S32, R::Rax, R::Rax);
                }
                return Ok(());
            }
            AtomicOp::Add => AluKind::Add,
            AtomicOp::Or => AluKind::Or,
            AtomicOp::And => AluKind::And,
            AtomicOp::Xor => AluKind::Xor,
        };
        if !fetch {
            self.asm.lock_alu_mr(kind, sz, m, s);
            return Ok(());
        }
        self.fetch_loop(pc, kind, sz, d, s, off)
    }

    /// `src = atomic_fetch_op(dst + off, src)` for or/and/xor, which x86 has
    /// no single instruction for: a `lock cmpxchg` loop. `cmpxchg` works on
    /// rax (BPF r0), so r0 is kept in AUX meanwhile, and AUX stands in for
    /// r0 if r0 is the address or the operand.
    fn fetch_loop(&mut self, pc: usize, kind: AluKind, sz: OpSize, d: R, s: R, off: i16) -> Result<(), JitError> {
        let base = if d == R::Rax { AUX } else { d };
        let operand = if s == R::Rax { AUX } else { s };
        let m = Mem::new(base, off as i32);
        self.asm.mov_rr(OpSize::S64, AUX, R::Rax);
        self.asm.load(sz, R::Rax, m);
        let top = self.asm.len();
        self.asm.mov_rr(sz, TMP, R::Rax);
        self.asm.alu_rr(kind, sz, TMP, operand);
        self.asm.lock_cmpxchg(sz, m, TMP);
        let back = top as i64 - (self.asm.len() as i64 + 2);
        let back = i8::try_from(back).map_err(|_| JitError::Unsupported { pc, what: "a fetch loop this long" })?;
        self.asm.jcc8(Cc::Ne, back);
        self.asm.mov_rr(sz, operand, R::Rax);
        self.asm.mov_rr(OpSize::S64, R::Rax, AUX);
        Ok(())
    }
}
