//! Encoding [`Insn`]s back into raw slots: the inverse of [`crate::decode()`].
//!
//! For every program `decode` accepts, `encode(&decode(b)?) == b`, bit for bit.

use alloc::vec::Vec;

use crate::decode::code;
use crate::insn::*;
use crate::program::Program;

/// The program as little-endian bytes, 8 per slot.
pub fn encode(program: &Program) -> Vec<u8> {
    encode_raw(program)
        .into_iter()
        .flat_map(RawInsn::to_bytes)
        .collect()
}

/// The program as raw slots. A `LoadImm64` yields both of its slots; the
/// `Imm64Tail` after it yields nothing more. (A tail that follows no
/// `LoadImm64`, which [`Program::check_slots`] refuses, yields a zero slot.)
pub fn encode_raw(program: &Program) -> Vec<RawInsn> {
    let mut out = Vec::with_capacity(program.len());
    let mut after_lddw = false;
    for insn in program.insns() {
        match insn {
            Insn::Imm64Tail if after_lddw => {}
            _ => out.extend_from_slice(encode_insn(insn).as_slice()),
        }
        after_lddw = matches!(insn, Insn::LoadImm64 { .. });
    }
    out
}

/// The slots of one instruction: two for `LoadImm64`, one otherwise.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Encoded {
    slots: [RawInsn; 2],
    len: usize,
}

impl Encoded {
    fn one(r: RawInsn) -> Encoded {
        Encoded {
            slots: [r, RawInsn::default()],
            len: 1,
        }
    }

    /// The slots.
    pub fn as_slice(&self) -> &[RawInsn] {
        &self.slots[..self.len]
    }
}

/// Encodes one instruction.
pub fn encode_insn(insn: &Insn) -> Encoded {
    let raw = |code: u8, dst: Reg, src: u8, off: i16, imm: i32| RawInsn {
        code,
        dst: dst.number(),
        src,
        off,
        imm,
    };
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let class = alu_class(width);
            let (opc, off) = match op {
                AluOp::Add => (code::ADD, 0),
                AluOp::Sub => (code::SUB, 0),
                AluOp::Mul => (code::MUL, 0),
                AluOp::Div => (code::DIV, 0),
                AluOp::SDiv => (code::DIV, 1),
                AluOp::Or => (code::OR, 0),
                AluOp::And => (code::AND, 0),
                AluOp::Lsh => (code::LSH, 0),
                AluOp::Rsh => (code::RSH, 0),
                AluOp::Mod => (code::MOD, 0),
                AluOp::SMod => (code::MOD, 1),
                AluOp::Xor => (code::XOR, 0),
                AluOp::Mov => (code::MOV, 0),
                AluOp::MovSx(bits) => (code::MOV, bits as i16),
                AluOp::Arsh => (code::ARSH, 0),
            };
            let (s, sreg, imm) = source(src);
            Encoded::one(raw(opc | s | class, dst, sreg, off, imm))
        }
        Insn::Neg { width, dst } => Encoded::one(raw(code::NEG | alu_class(width), dst, 0, 0, 0)),
        Insn::Endian { kind, bits, dst } => {
            let c = match kind {
                Endian::ToLe => code::END | code::K | code::ALU,
                Endian::ToBe => code::END | code::X | code::ALU,
                Endian::Swap => code::END | code::K | code::ALU64,
            };
            Encoded::one(raw(c, dst, 0, 0, bits as i32))
        }
        Insn::LoadImm64 { dst, imm } => {
            let (src, lo, hi) = match imm {
                Imm64::Value(v) => (0, v as u32, (v >> 32) as u32),
                Imm64::MapRef(m) => (1, m, 0),
                Imm64::MapValue { map, offset } => (2, map, offset),
                Imm64::VarAddr(v) => (3, v, 0),
                Imm64::CodeAddr(c) => (4, c, 0),
                Imm64::MapByIdx(m) => (5, m, 0),
                Imm64::MapValueByIdx { map, offset } => (6, map, offset),
            };
            let first = raw(code::LD | code::IMM | code::DW, dst, src, 0, lo as i32);
            let second = RawInsn {
                imm: hi as i32,
                ..RawInsn::default()
            };
            Encoded {
                slots: [first, second],
                len: 2,
            }
        }
        Insn::Imm64Tail => Encoded::one(RawInsn::default()),
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let mode = if signed { code::MEMSX } else { code::MEM };
            Encoded::one(raw(
                mode | size_bits(size) | code::LDX,
                dst,
                src.number(),
                off,
                0,
            ))
        }
        Insn::Store {
            size,
            dst,
            off,
            src: Src::Imm(imm),
        } => Encoded::one(raw(
            code::MEM | size_bits(size) | code::ST,
            dst,
            0,
            off,
            imm,
        )),
        Insn::Store {
            size,
            dst,
            off,
            src: Src::Reg(s),
        } => Encoded::one(raw(
            code::MEM | size_bits(size) | code::STX,
            dst,
            s.number(),
            off,
            0,
        )),
        Insn::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => {
            let fetch = if fetch { code::FETCH } else { 0 };
            let imm = match op {
                AtomicOp::Add => code::ADD as i32 | fetch,
                AtomicOp::Or => code::OR as i32 | fetch,
                AtomicOp::And => code::AND as i32 | fetch,
                AtomicOp::Xor => code::XOR as i32 | fetch,
                AtomicOp::Xchg => code::XCHG,
                AtomicOp::CmpXchg => code::CMPXCHG,
            };
            let c = code::ATOMIC | size_bits(size) | code::STX;
            Encoded::one(raw(c, dst, src.number(), off, imm))
        }
        Insn::Ja { off, long: false } => {
            Encoded::one(raw(code::JA | code::JMP, Reg::R0, 0, off as i16, 0))
        }
        Insn::Ja { off, long: true } => {
            Encoded::one(raw(code::JA | code::JMP32, Reg::R0, 0, 0, off))
        }
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let class = if width == Width::W32 {
                code::JMP32
            } else {
                code::JMP
            };
            let opc = match cond {
                Cond::Eq => code::JEQ,
                Cond::Gt => code::JGT,
                Cond::Ge => code::JGE,
                Cond::Set => code::JSET,
                Cond::Ne => code::JNE,
                Cond::SGt => code::JSGT,
                Cond::SGe => code::JSGE,
                Cond::Lt => code::JLT,
                Cond::Le => code::JLE,
                Cond::SLt => code::JSLT,
                Cond::SLe => code::JSLE,
            };
            let (s, sreg, imm) = source(src);
            Encoded::one(raw(opc | s | class, dst, sreg, off, imm))
        }
        Insn::Call { helper } => {
            Encoded::one(raw(code::CALL | code::JMP, Reg::R0, 0, 0, helper as i32))
        }
        Insn::CallLocal { off } => Encoded::one(raw(code::CALL | code::JMP, Reg::R0, 1, 0, off)),
        Insn::Exit => Encoded::one(raw(code::EXIT | code::JMP, Reg::R0, 0, 0, 0)),
    }
}

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => code::ALU,
        Width::W64 => code::ALU64,
    }
}

/// Source bit, src register field and immediate of a two-operand instruction.
fn source(src: Src) -> (u8, u8, i32) {
    match src {
        Src::Reg(r) => (code::X, r.number(), 0),
        Src::Imm(i) => (code::K, 0, i),
    }
}

fn size_bits(size: Size) -> u8 {
    match size {
        Size::W => code::W,
        Size::H => code::H,
        Size::B => code::B,
        Size::DW => code::DW,
    }
}
