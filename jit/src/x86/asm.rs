//! Instruction encoders.
//!
//! Every x86-64 instruction the JIT needs has the same skeleton (SDM vol. 2,
//! chapter 2): optional prefixes (`lock` 0xf0, operand size 0x66), an
//! optional REX byte `0100WRXB`, one to three opcode bytes, a ModRM byte
//! `mod:2 reg:3 rm:3`, a SIB byte when the base is `rsp`/`r12`, a
//! displacement of 0, 1 or 4 bytes, and an immediate. [`Asm::modrm`] builds
//! that skeleton once; each instruction below only names its opcode.

use super::{Cc, Mem, OpSize, R};
use alloc::vec::Vec;

/// The eight classic two-operand ALU operations: the digit in `0x81 /d`
/// and `0x83 /d`, and bits 3-5 of their `r/m, reg` opcodes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum AluKind {
    Add = 0,
    Or = 1,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// Shift and rotate operations: the digit in `0xc1 /d` and `0xd3 /d`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum ShiftKind {
    Ror = 1,
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// The second operand of a ModRM instruction: a register or memory.
#[derive(Clone, Copy)]
enum Rm {
    Reg(R),
    Mem(Mem),
}

/// An instruction buffer.
#[derive(Default)]
pub struct Asm {
    buf: Vec<u8>,
}

impl Asm {
    #[cfg(test)]
    pub fn new() -> Asm {
        Asm { buf: Vec::new() }
    }

    /// Forgets the bytes emitted so far.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// An empty buffer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Asm {
        Asm { buf: Vec::with_capacity(n) }
    }

    /// Bytes emitted so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn imm16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn imm32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Overwrites a rel8 placed earlier at `at` so that it jumps to the
    /// current end. Used for short forward jumps inside one sequence, whose
    /// distance is always small; a distance that does not fit is refused.
    pub fn patch_rel8_here(&mut self, at: usize) -> Option<()> {
        let rel = self.buf.len().checked_sub(at + 1)?;
        let rel = i8::try_from(rel).ok()?;
        *self.buf.get_mut(at)? = rel as u8;
        Some(())
    }

    // ---- the common skeleton ----------------------------------------------

    /// Emits `[66] [REX] opcode ModRM [SIB] [disp]` with `reg` in the ModRM
    /// reg field (a register number or an opcode digit).
    ///
    /// `reg_is_byte_reg` says the reg field names an 8-bit register, and the
    /// r/m register (if any) is 8-bit when `size` is [`OpSize::S8`]: both
    /// need a REX prefix to mean `spl`..`dil` rather than `ah`..`bh`.
    #[inline(always)]
    fn modrm(&mut self, size: OpSize, opcode: &[u8], reg: u8, reg_is_byte_reg: bool, rm: Rm) {
        // The JIT's hottest function: room for the longest instruction is
        // reserved once, so each byte is a plain store.
        self.buf.reserve(16);
        let buf = &mut self.buf;
        let mut put = |b: u8| buf.push(b);
        if size == OpSize::S16 {
            put(0x66);
        }
        let (rm_low, b_ext) = match rm {
            Rm::Reg(r) => (r.low3(), r.is_extended()),
            Rm::Mem(m) => (m.base.low3(), m.base.is_extended()),
        };
        let mut rex = 0x40u8;
        if size == OpSize::S64 {
            rex |= 0x08;
        }
        if reg >= 8 {
            rex |= 0x04;
        }
        if b_ext {
            rex |= 0x01;
        }
        let byte_reg = |n: u8| matches!(n, 4..=7);
        let force = size == OpSize::S8
            && ((reg_is_byte_reg && byte_reg(reg)) || matches!(rm, Rm::Reg(r) if r.byte_needs_rex()));
        if rex != 0x40 || force {
            put(rex);
        }
        for &b in opcode {
            put(b);
        }
        let reg3 = (reg & 7) << 3;
        match rm {
            Rm::Reg(r) => put(0xc0 | reg3 | r.low3()),
            Rm::Mem(m) => {
                // rbp/r13 as base with mod 00 would mean rip-relative or
                // no base, so they always carry a displacement.
                let mode = if m.disp == 0 && m.base.low3() != 5 {
                    0x00
                } else if i8::try_from(m.disp).is_ok() {
                    0x40
                } else {
                    0x80
                };
                put(mode | reg3 | rm_low);
                if rm_low == 4 {
                    // rsp/r12 as base need a SIB byte: no index, base rsp.
                    put(0x24);
                }
                match mode {
                    0x40 => put(m.disp as i8 as u8),
                    0x80 => m.disp.to_le_bytes().into_iter().for_each(&mut put),
                    _ => {}
                }
            }
        }
    }

    /// An instruction whose reg field names register `reg`.
    #[inline(always)]
    fn rr(&mut self, size: OpSize, opcode: &[u8], reg: R, rm: Rm) {
        self.modrm(size, opcode, reg.number(), true, rm);
    }

    /// An instruction whose reg field is an opcode digit.
    #[inline(always)]
    fn digit(&mut self, size: OpSize, opcode: &[u8], digit: u8, rm: Rm) {
        self.modrm(size, opcode, digit, false, rm);
    }

    // ---- moves ------------------------------------------------------------

    /// `mov dst, src` (32-bit zero-extends into the upper half).
    pub fn mov_rr(&mut self, size: OpSize, dst: R, src: R) {
        let op = if size == OpSize::S8 { 0x88 } else { 0x89 };
        self.rr(size, &[op], src, Rm::Reg(dst));
    }

    /// `mov r32, imm32`: the upper half becomes zero.
    pub fn mov_r32_imm(&mut self, dst: R, imm: u32) {
        if dst.is_extended() {
            self.byte(0x41);
        }
        self.byte(0xb8 + dst.low3());
        self.imm32(imm as i32);
    }

    /// `mov r64, imm32` with the immediate sign-extended to 64 bits.
    pub fn mov_r64_simm(&mut self, dst: R, imm: i32) {
        self.digit(OpSize::S64, &[0xc7], 0, Rm::Reg(dst));
        self.imm32(imm);
    }

    /// `movabs r64, imm64`.
    pub fn mov_r64_imm64(&mut self, dst: R, imm: u64) {
        self.byte(if dst.is_extended() { 0x49 } else { 0x48 });
        self.byte(0xb8 + dst.low3());
        self.buf.extend_from_slice(&imm.to_le_bytes());
    }

    /// Loads a 64-bit constant with the shortest encoding that produces it.
    pub fn load_imm(&mut self, dst: R, imm: u64) {
        if imm == 0 {
            self.alu_rr(AluKind::Xor, OpSize::S32, dst, dst);
        } else if let Ok(v) = u32::try_from(imm) {
            self.mov_r32_imm(dst, v);
        } else if let Ok(v) = i32::try_from(imm as i64) {
            self.mov_r64_simm(dst, v);
        } else {
            self.mov_r64_imm64(dst, imm);
        }
    }

    /// `lea dst, [mem]` of 32 or 64 bits (32 zero-extends).
    pub fn lea(&mut self, size: OpSize, dst: R, mem: Mem) {
        self.rr(size, &[0x8d], dst, Rm::Mem(mem));
    }

    /// `lea dst, [base + index + disp32]` of 32 or 64 bits (32 keeps the
    /// low half of the sum and zero-extends). `index` may not be `rsp`,
    /// which in that place means "no index".
    pub fn lea_indexed(&mut self, size: OpSize, dst: R, base: R, index: R, disp: i32) {
        let mut rex = 0x40;
        if size == OpSize::S64 {
            rex |= 0x08;
        }
        if dst.is_extended() {
            rex |= 0x04;
        }
        if index.is_extended() {
            rex |= 0x02;
        }
        if base.is_extended() {
            rex |= 0x01;
        }
        if rex != 0x40 {
            self.byte(rex);
        }
        self.byte(0x8d);
        // mod 10 (disp32), r/m 100: a SIB byte follows (scale 1).
        self.byte(0x80 | (dst.low3() << 3) | 0b100);
        self.byte((index.low3() << 3) | base.low3());
        self.imm32(disp);
    }

    /// `mov dst, [mem]` of 32 or 64 bits (32 zero-extends).
    pub fn load(&mut self, size: OpSize, dst: R, mem: Mem) {
        self.rr(size, &[0x8b], dst, Rm::Mem(mem));
    }

    /// `movzx r32, byte/word [mem]` (`from` is S8 or S16).
    pub fn movzx_load(&mut self, from: OpSize, dst: R, mem: Mem) {
        let op = if from == OpSize::S8 { 0xb6 } else { 0xb7 };
        self.rr(OpSize::S32, &[0x0f, op], dst, Rm::Mem(mem));
    }

    /// `movsx/movsxd r64, [mem]` of 8, 16 or 32 bits.
    pub fn movsx_load(&mut self, from: OpSize, dst: R, mem: Mem) {
        match from {
            OpSize::S8 => self.rr(OpSize::S64, &[0x0f, 0xbe], dst, Rm::Mem(mem)),
            OpSize::S16 => self.rr(OpSize::S64, &[0x0f, 0xbf], dst, Rm::Mem(mem)),
            _ => self.rr(OpSize::S64, &[0x63], dst, Rm::Mem(mem)),
        }
    }

    /// `movzx r32, r8/r16`.
    pub fn movzx_rr(&mut self, from: OpSize, dst: R, src: R) {
        let op = if from == OpSize::S8 { 0xb6 } else { 0xb7 };
        // The source is the byte register: REX is forced through `rm`.
        let size = if from == OpSize::S8 { OpSize::S8 } else { OpSize::S32 };
        self.modrm_dst32(size, &[0x0f, op], dst, src);
    }

    /// `movsx r32/r64, r8/r16` or `movsxd r64, r32`.
    pub fn movsx_rr(&mut self, to: OpSize, from: OpSize, dst: R, src: R) {
        let op: &[u8] = match from {
            OpSize::S8 => &[0x0f, 0xbe],
            OpSize::S16 => &[0x0f, 0xbf],
            _ => &[0x63],
        };
        if to == OpSize::S64 {
            // REX.W is set; it also makes a byte source mean spl..dil.
            self.rr(OpSize::S64, op, dst, Rm::Reg(src));
        } else {
            let size = if from == OpSize::S8 { OpSize::S8 } else { OpSize::S32 };
            self.modrm_dst32(size, op, dst, src);
        }
    }

    /// A 32-bit-destination instruction with a possibly 8-bit source
    /// register: `size` S8 only asks for the REX a byte source needs.
    fn modrm_dst32(&mut self, size: OpSize, opcode: &[u8], dst: R, src: R) {
        self.modrm(size, opcode, dst.number(), false, Rm::Reg(src));
    }

    /// `mov [mem], src` of 8 to 64 bits.
    pub fn store(&mut self, size: OpSize, mem: Mem, src: R) {
        let op = if size == OpSize::S8 { 0x88 } else { 0x89 };
        self.rr(size, &[op], src, Rm::Mem(mem));
    }

    /// `mov [mem], imm` of 8 to 64 bits (64 sign-extends the imm32).
    pub fn store_imm(&mut self, size: OpSize, mem: Mem, imm: i32) {
        match size {
            OpSize::S8 => {
                self.digit(size, &[0xc6], 0, Rm::Mem(mem));
                self.byte(imm as u8);
            }
            OpSize::S16 => {
                self.digit(size, &[0xc7], 0, Rm::Mem(mem));
                self.imm16(imm as i16);
            }
            _ => {
                self.digit(size, &[0xc7], 0, Rm::Mem(mem));
                self.imm32(imm);
            }
        }
    }

    // ---- arithmetic -------------------------------------------------------

    /// `op dst, src` for add/or/and/sub/xor/cmp.
    pub fn alu_rr(&mut self, op: AluKind, size: OpSize, dst: R, src: R) {
        let byte_form = u8::from(size != OpSize::S8);
        self.rr(size, &[((op as u8) << 3) | byte_form], src, Rm::Reg(dst));
    }

    /// `op dst, imm` with the short imm8 form when the value fits.
    pub fn alu_ri(&mut self, op: AluKind, size: OpSize, dst: R, imm: i32) {
        if let Ok(v) = i8::try_from(imm) {
            self.digit(size, &[0x83], op as u8, Rm::Reg(dst));
            self.byte(v as u8);
        } else {
            self.digit(size, &[0x81], op as u8, Rm::Reg(dst));
            self.imm32(imm);
        }
    }

    /// `op qword [base + disp], imm` (imm8 form when the value fits).
    pub fn alu_mi(&mut self, op: AluKind, mem: Mem, imm: i32) {
        if let Ok(v) = i8::try_from(imm) {
            self.digit(OpSize::S64, &[0x83], op as u8, Rm::Mem(mem));
            self.byte(v as u8);
        } else {
            self.digit(OpSize::S64, &[0x81], op as u8, Rm::Mem(mem));
            self.imm32(imm);
        }
    }

    /// The length of [`Asm::alu_rip_imm`] with this immediate.
    pub fn alu_rip_imm_len(imm: i32) -> usize {
        if i8::try_from(imm).is_ok() { 8 } else { 11 }
    }

    /// `op qword [rip + disp], imm`: ModRM mod 00, r/m 101 is RIP-relative
    /// in 64-bit mode (SDM vol. 2, 2.2.1.6); `disp` counts from the end of
    /// the instruction, immediate included.
    pub fn alu_rip_imm(&mut self, op: AluKind, disp: i32, imm: i32) {
        let short = i8::try_from(imm).ok();
        self.byte(0x48);
        self.byte(if short.is_some() { 0x83 } else { 0x81 });
        self.byte(0x05 | ((op as u8) << 3));
        self.imm32(disp);
        match short {
            Some(v) => self.byte(v as u8),
            None => self.imm32(imm),
        }
    }

    /// `op qword [rip + disp], src`; `disp` counts from the end of the
    /// instruction (7 bytes).
    pub fn alu_rip_reg(&mut self, op: AluKind, disp: i32, src: R) {
        self.byte(if src.is_extended() { 0x4c } else { 0x48 });
        self.byte(((op as u8) << 3) | 1);
        self.byte(0x05 | (src.low3() << 3));
        self.imm32(disp);
    }

    /// `op qword gs:[offset], imm`: the GS segment-override prefix 0x65,
    /// then ModRM r/m 100 and SIB 0x25 (no base, no index): an absolute
    /// `disp32` in the segment (SDM vol. 2, 2.2.1.6, Table 2-3).
    pub fn alu_gs_imm(&mut self, op: AluKind, offset: i32, imm: i32) {
        let short = i8::try_from(imm).ok();
        self.byte(0x65);
        self.byte(0x48);
        self.byte(if short.is_some() { 0x83 } else { 0x81 });
        self.byte(0x04 | ((op as u8) << 3));
        self.byte(0x25);
        self.imm32(offset);
        match short {
            Some(v) => self.byte(v as u8),
            None => self.imm32(imm),
        }
    }

    /// `op qword gs:[offset], src` (encoded as [`Asm::alu_gs_imm`]).
    pub fn alu_gs_reg(&mut self, op: AluKind, offset: i32, src: R) {
        self.byte(0x65);
        self.byte(if src.is_extended() { 0x4c } else { 0x48 });
        self.byte(((op as u8) << 3) | 1);
        self.byte(0x04 | (src.low3() << 3));
        self.byte(0x25);
        self.imm32(offset);
    }

    /// `op qword [base + disp], src`.
    pub fn alu_mr(&mut self, op: AluKind, mem: Mem, src: R) {
        self.rr(OpSize::S64, &[((op as u8) << 3) | 1], src, Rm::Mem(mem));
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, size: OpSize, a: R, b: R) {
        let op = if size == OpSize::S8 { 0x84 } else { 0x85 };
        self.rr(size, &[op], b, Rm::Reg(a));
    }

    /// `test r, imm32` (64-bit sign-extends the immediate).
    pub fn test_ri(&mut self, size: OpSize, r: R, imm: i32) {
        self.digit(size, &[0xf7], 0, Rm::Reg(r));
        self.imm32(imm);
    }

    /// `imul dst, src`.
    pub fn imul_rr(&mut self, size: OpSize, dst: R, src: R) {
        self.rr(size, &[0x0f, 0xaf], dst, Rm::Reg(src));
    }

    /// `imul dst, src, imm`.
    pub fn imul_rri(&mut self, size: OpSize, dst: R, src: R, imm: i32) {
        if let Ok(v) = i8::try_from(imm) {
            self.rr(size, &[0x6b], dst, Rm::Reg(src));
            self.byte(v as u8);
        } else {
            self.rr(size, &[0x69], dst, Rm::Reg(src));
            self.imm32(imm);
        }
    }

    /// `div r` (unsigned `rdx:rax / r`).
    pub fn div(&mut self, size: OpSize, r: R) {
        self.digit(size, &[0xf7], 6, Rm::Reg(r));
    }

    /// `idiv r` (signed `rdx:rax / r`).
    pub fn idiv(&mut self, size: OpSize, r: R) {
        self.digit(size, &[0xf7], 7, Rm::Reg(r));
    }

    /// `neg r`.
    pub fn neg(&mut self, size: OpSize, r: R) {
        self.digit(size, &[0xf7], 3, Rm::Reg(r));
    }

    /// `cdq` (S32) or `cqo` (S64): sign-extend rax into rdx.
    pub fn sign_extend_rax(&mut self, size: OpSize) {
        if size == OpSize::S64 {
            self.byte(0x48);
        }
        self.byte(0x99);
    }

    /// `shl/shr/sar/ror r, cl`.
    pub fn shift_cl(&mut self, kind: ShiftKind, size: OpSize, r: R) {
        self.digit(size, &[0xd3], kind as u8, Rm::Reg(r));
    }

    /// `shl/shr/sar/ror r, imm8`.
    pub fn shift_imm(&mut self, kind: ShiftKind, size: OpSize, r: R, count: u8) {
        self.digit(size, &[0xc1], kind as u8, Rm::Reg(r));
        self.byte(count);
    }

    /// `bswap r32/r64`.
    pub fn bswap(&mut self, size: OpSize, r: R) {
        let mut rex = 0x40;
        if size == OpSize::S64 {
            rex |= 0x08;
        }
        if r.is_extended() {
            rex |= 0x01;
        }
        if rex != 0x40 {
            self.byte(rex);
        }
        self.byte(0x0f);
        self.byte(0xc8 + r.low3());
    }

    // ---- atomics ----------------------------------------------------------

    fn lock(&mut self) {
        self.byte(0xf0);
    }

    /// `lock op [mem], src` for add/or/and/xor, 32 or 64 bits (as are the
    /// other atomics here).
    pub fn lock_alu_mr(&mut self, op: AluKind, size: OpSize, mem: Mem, src: R) {
        self.lock();
        self.rr(size, &[((op as u8) << 3) | 1], src, Rm::Mem(mem));
    }

    /// `lock xadd [mem], src`.
    pub fn lock_xadd(&mut self, size: OpSize, mem: Mem, src: R) {
        self.lock();
        self.rr(size, &[0x0f, 0xc1], src, Rm::Mem(mem));
    }

    /// `xchg [mem], src` (always locked by the processor).
    pub fn xchg_mr(&mut self, size: OpSize, mem: Mem, src: R) {
        self.rr(size, &[0x87], src, Rm::Mem(mem));
    }

    /// `lock cmpxchg [mem], src` (compares with rax/eax).
    pub fn lock_cmpxchg(&mut self, size: OpSize, mem: Mem, src: R) {
        self.lock();
        self.rr(size, &[0x0f, 0xb1], src, Rm::Mem(mem));
    }

    // ---- control flow -----------------------------------------------------

    /// `jcc rel8`; the displacement counts from the end of the instruction.
    pub fn jcc8(&mut self, cc: Cc, rel: i8) {
        self.byte(0x70 + cc as u8);
        self.byte(rel as u8);
    }

    /// `jcc rel32`.
    pub fn jcc32(&mut self, cc: Cc, rel: i32) {
        self.byte(0x0f);
        self.byte(0x80 + cc as u8);
        self.imm32(rel);
    }

    /// `jmp rel8`.
    pub fn jmp8(&mut self, rel: i8) {
        self.byte(0xeb);
        self.byte(rel as u8);
    }

    /// `jmp rel32`.
    pub fn jmp32(&mut self, rel: i32) {
        self.byte(0xe9);
        self.imm32(rel);
    }

    /// `call rel32`.
    pub fn call32(&mut self, rel: i32) {
        self.byte(0xe8);
        self.imm32(rel);
    }

    /// `call r64`: an indirect call, used only by the host far-call mode.
    pub fn call_reg(&mut self, r: R) {
        self.digit(OpSize::S32, &[0xff], 2, Rm::Reg(r));
    }

    /// `jmp r64`: an indirect jump, used only by the host far-call mode.
    pub fn jmp_reg(&mut self, r: R) {
        self.digit(OpSize::S32, &[0xff], 4, Rm::Reg(r));
    }

    /// `int3`: a breakpoint trap, used as padding nothing should reach.
    pub fn int3(&mut self) {
        self.byte(0xcc);
    }

    pub fn ret(&mut self) {
        self.byte(0xc3);
    }

    pub fn push(&mut self, r: R) {
        if r.is_extended() {
            self.byte(0x41);
        }
        self.byte(0x50 + r.low3());
    }

    pub fn pop(&mut self, r: R) {
        if r.is_extended() {
            self.byte(0x41);
        }
        self.byte(0x58 + r.low3());
    }
}
