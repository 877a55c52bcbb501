//! Decoding raw slots into [`Insn`]s (RFC 9669 sections 3 to 5).
//!
//! Decoding is strict: an opcode the RFC does not define, a register number
//! above 10, or a field the RFC reserves (it must be zero) that is not zero is
//! an error naming the slot. The legacy packet-access loads (`LD_ABS`,
//! `LD_IND`) are refused with their own message. Everything accepted here
//! encodes back to exactly the same bits ([`crate::encode()`]).

mod error;

use alloc::vec::Vec;

pub use error::{DecodeError, DecodeErrorKind, Field};

use crate::insn::*;
use crate::program::Program;

/// Field values of the opcode byte (RFC 9669 section 3).
pub(crate) mod code {
    // Instruction classes (low 3 bits).
    pub const LD: u8 = 0x00;
    pub const LDX: u8 = 0x01;
    pub const ST: u8 = 0x02;
    pub const STX: u8 = 0x03;
    pub const ALU: u8 = 0x04;
    pub const JMP: u8 = 0x05;
    pub const JMP32: u8 = 0x06;
    pub const ALU64: u8 = 0x07;
    // Source bit of arithmetic and jump instructions.
    pub const K: u8 = 0x00;
    pub const X: u8 = 0x08;
    // Size field of load and store instructions.
    pub const W: u8 = 0x00;
    pub const H: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const DW: u8 = 0x18;
    // Mode field of load and store instructions.
    pub const IMM: u8 = 0x00;
    pub const ABS: u8 = 0x20;
    pub const IND: u8 = 0x40;
    pub const MEM: u8 = 0x60;
    pub const MEMSX: u8 = 0x80;
    pub const ATOMIC: u8 = 0xc0;
    // Arithmetic operations (high 4 bits).
    pub const ADD: u8 = 0x00;
    pub const SUB: u8 = 0x10;
    pub const MUL: u8 = 0x20;
    pub const DIV: u8 = 0x30;
    pub const OR: u8 = 0x40;
    pub const AND: u8 = 0x50;
    pub const LSH: u8 = 0x60;
    pub const RSH: u8 = 0x70;
    pub const NEG: u8 = 0x80;
    pub const MOD: u8 = 0x90;
    pub const XOR: u8 = 0xa0;
    pub const MOV: u8 = 0xb0;
    pub const ARSH: u8 = 0xc0;
    pub const END: u8 = 0xd0;
    // Jump operations (high 4 bits).
    pub const JA: u8 = 0x00;
    pub const JEQ: u8 = 0x10;
    pub const JGT: u8 = 0x20;
    pub const JGE: u8 = 0x30;
    pub const JSET: u8 = 0x40;
    pub const JNE: u8 = 0x50;
    pub const JSGT: u8 = 0x60;
    pub const JSGE: u8 = 0x70;
    pub const CALL: u8 = 0x80;
    pub const EXIT: u8 = 0x90;
    pub const JLT: u8 = 0xa0;
    pub const JLE: u8 = 0xb0;
    pub const JSLT: u8 = 0xc0;
    pub const JSLE: u8 = 0xd0;
    // Atomic operations (the immediate of an atomic store).
    pub const FETCH: i32 = 0x01;
    pub const XCHG: i32 = 0xe0 | FETCH;
    pub const CMPXCHG: i32 = 0xf0 | FETCH;
}

/// Decodes a program from its little-endian bytes.
pub fn decode(bytes: &[u8]) -> Result<Program, DecodeError> {
    if !bytes.len().is_multiple_of(8) {
        let kind = DecodeErrorKind::TrailingBytes { len: bytes.len() };
        return Err(DecodeError::new(bytes.len() / 8, kind));
    }
    let slots = bytes.len() / 8;
    let mut raw: Vec<RawInsn> = Vec::new();
    raw.try_reserve_exact(slots)
        .map_err(|_| DecodeError::new(0, DecodeErrorKind::OutOfMemory { slots }))?;
    raw.extend(bytes.chunks_exact(8).map(|c| {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        RawInsn::from_bytes(b)
    }));
    decode_raw(&raw)
}

/// Decodes a program from raw slots.
pub fn decode_raw(raw: &[RawInsn]) -> Result<Program, DecodeError> {
    if raw.is_empty() {
        return Err(DecodeError::new(0, DecodeErrorKind::Empty));
    }
    let mut insns = Vec::new();
    insns
        .try_reserve_exact(raw.len())
        .map_err(|_| DecodeError::new(0, DecodeErrorKind::OutOfMemory { slots: raw.len() }))?;
    let mut pc = 0;
    while pc < raw.len() {
        let r = raw[pc];
        if r.code == code::LD | code::IMM | code::DW {
            insns.push(decode_lddw(pc, r, raw.get(pc + 1).copied())?);
            insns.push(Insn::Imm64Tail);
            pc += 2;
        } else {
            insns.push(decode_one(r).map_err(|kind| DecodeError::new(pc, kind))?);
            pc += 1;
        }
    }
    Ok(Program::from_insns(insns))
}

/// Decodes one single-slot instruction (anything but `lddw`).
pub fn decode_one(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    match r.code & 0x07 {
        code::LD => decode_ld(r),
        code::LDX => decode_ldx(r),
        code::ST => decode_st(r),
        code::STX => decode_stx(r),
        code::ALU | code::ALU64 => decode_alu(r),
        _ => decode_jmp(r),
    }
}

fn reg(field: Field, n: u8) -> Result<Reg, DecodeErrorKind> {
    Reg::new(n).ok_or(DecodeErrorKind::BadRegister { field, value: n })
}

/// Requires each listed field to be zero.
fn zero(r: RawInsn, fields: &[Field], insn: &'static str) -> Result<(), DecodeErrorKind> {
    zero_in(r, fields, insn, "")
}

/// Like [`zero`], naming the form of the instruction too.
fn zero_in(
    r: RawInsn,
    fields: &[Field],
    insn: &'static str,
    form: &'static str,
) -> Result<(), DecodeErrorKind> {
    for &field in fields {
        let value = match field {
            Field::Dst => r.dst as i64,
            Field::Src => r.src as i64,
            Field::Off => r.off as i64,
            Field::Imm => r.imm as i64,
        };
        if value != 0 {
            return Err(DecodeErrorKind::Reserved {
                field,
                value,
                insn,
                form,
            });
        }
    }
    Ok(())
}

// RFC 9669 section 5.4: 64-bit immediate instructions.
fn decode_lddw(pc: usize, r: RawInsn, next: Option<RawInsn>) -> Result<Insn, DecodeError> {
    let err = |slot, kind| DecodeError::new(slot, kind);
    let dst = reg(Field::Dst, r.dst).map_err(|k| err(pc, k))?;
    zero(r, &[Field::Off], "lddw").map_err(|k| err(pc, k))?;
    let Some(n) = next else {
        return Err(err(pc, DecodeErrorKind::LddwMissingTail));
    };
    for (field, value) in [("opcode", n.code), ("dst", n.dst), ("src", n.src)] {
        if value != 0 {
            let kind = DecodeErrorKind::LddwBadTail {
                field,
                value: value as i64,
            };
            return Err(err(pc + 1, kind));
        }
    }
    if n.off != 0 {
        let kind = DecodeErrorKind::LddwBadTail {
            field: "offset",
            value: n.off as i64,
        };
        return Err(err(pc + 1, kind));
    }
    let (lo, hi) = (r.imm as u32, n.imm as u32);
    let unused_hi = |imm| {
        if hi != 0 {
            let kind = DecodeErrorKind::LddwBadTail {
                field: "imm",
                value: hi as i64,
            };
            Err(err(pc + 1, kind))
        } else {
            Ok(imm)
        }
    };
    let imm = match r.src {
        0 => Imm64::Value((hi as u64) << 32 | lo as u64),
        1 => unused_hi(Imm64::MapRef(lo))?,
        2 => Imm64::MapValue {
            map: lo,
            offset: hi,
        },
        3 => unused_hi(Imm64::VarAddr(lo))?,
        4 => unused_hi(Imm64::CodeAddr(lo))?,
        5 => unused_hi(Imm64::MapByIdx(lo))?,
        6 => Imm64::MapValueByIdx {
            map: lo,
            offset: hi,
        },
        s => {
            let kind = DecodeErrorKind::BadValue {
                field: Field::Src,
                value: s as i64,
                insn: "lddw",
            };
            return Err(err(pc, kind));
        }
    };
    Ok(Insn::LoadImm64 { dst, imm })
}

fn size_of(c: u8) -> Size {
    match c & 0x18 {
        code::W => Size::W,
        code::H => Size::H,
        code::B => Size::B,
        _ => Size::DW,
    }
}

// LD class: only `lddw` (handled above) is defined; ABS and IND are legacy.
fn decode_ld(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    match r.code & 0xe0 {
        code::ABS | code::IND => Err(DecodeErrorKind::LegacyPacketAccess(r.code)),
        _ => Err(DecodeErrorKind::UnknownOpcode(r.code)),
    }
}

// RFC 9669 section 5.1 (MEM) and 5.2 (MEMSX): loads.
fn decode_ldx(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    let size = size_of(r.code);
    let signed = match r.code & 0xe0 {
        code::MEM => false,
        code::MEMSX if size != Size::DW => true,
        _ => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
    };
    zero(r, &[Field::Imm], if signed { "ldxs" } else { "ldx" })?;
    let (dst, src) = (reg(Field::Dst, r.dst)?, reg(Field::Src, r.src)?);
    Ok(Insn::Load {
        size,
        signed,
        dst,
        src,
        off: r.off,
    })
}

// RFC 9669 section 5.1: store of an immediate.
fn decode_st(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    if r.code & 0xe0 != code::MEM {
        return Err(DecodeErrorKind::UnknownOpcode(r.code));
    }
    zero(r, &[Field::Src], "st")?;
    let dst = reg(Field::Dst, r.dst)?;
    Ok(Insn::Store {
        size: size_of(r.code),
        dst,
        off: r.off,
        src: Src::Imm(r.imm),
    })
}

// RFC 9669 sections 5.1 (MEM) and 5.3 (ATOMIC): stores of a register.
fn decode_stx(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    let size = size_of(r.code);
    let (dst, src) = (reg(Field::Dst, r.dst)?, reg(Field::Src, r.src)?);
    match r.code & 0xe0 {
        code::MEM => {
            zero(r, &[Field::Imm], "stx")?;
            Ok(Insn::Store {
                size,
                dst,
                off: r.off,
                src: Src::Reg(src),
            })
        }
        code::ATOMIC if matches!(size, Size::W | Size::DW) => {
            let fetch = r.imm & code::FETCH != 0;
            let op = match r.imm {
                code::XCHG => AtomicOp::Xchg,
                code::CMPXCHG => AtomicOp::CmpXchg,
                i if i & !code::FETCH == code::ADD as i32 => AtomicOp::Add,
                i if i & !code::FETCH == code::OR as i32 => AtomicOp::Or,
                i if i & !code::FETCH == code::AND as i32 => AtomicOp::And,
                i if i & !code::FETCH == code::XOR as i32 => AtomicOp::Xor,
                i => {
                    return Err(DecodeErrorKind::BadValue {
                        field: Field::Imm,
                        value: i as i64,
                        insn: "atomic",
                    });
                }
            };
            Ok(Insn::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off: r.off,
            })
        }
        _ => Err(DecodeErrorKind::UnknownOpcode(r.code)),
    }
}

// RFC 9669 sections 4.1 (arithmetic) and 4.2 (byte swap).
fn decode_alu(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    let wide = r.code & 0x07 == code::ALU64;
    let width = if wide { Width::W64 } else { Width::W32 };
    let is_x = r.code & 0x08 == code::X;
    let dst = reg(Field::Dst, r.dst)?;
    let op = match r.code & 0xf0 {
        code::ADD => AluOp::Add,
        code::SUB => AluOp::Sub,
        code::MUL => AluOp::Mul,
        code::DIV | code::MOD => {
            let (plain, signed, name) = match r.code & 0xf0 {
                code::DIV => (AluOp::Div, AluOp::SDiv, "div"),
                _ => (AluOp::Mod, AluOp::SMod, "mod"),
            };
            let op = match r.off {
                0 => plain,
                1 => signed,
                v => {
                    let kind = DecodeErrorKind::BadValue {
                        field: Field::Off,
                        value: v as i64,
                        insn: name,
                    };
                    return Err(kind);
                }
            };
            return alu_operand(r, width, op, dst, alu_name(r.code), is_x);
        }
        code::OR => AluOp::Or,
        code::AND => AluOp::And,
        code::LSH => AluOp::Lsh,
        code::RSH => AluOp::Rsh,
        code::XOR => AluOp::Xor,
        code::ARSH => AluOp::Arsh,
        code::MOV if r.off != 0 => {
            let legal: &[i16] = if wide { &[8, 16, 32] } else { &[8, 16] };
            if !is_x || !legal.contains(&r.off) {
                let kind = DecodeErrorKind::BadValue {
                    field: Field::Off,
                    value: r.off as i64,
                    insn: "mov",
                };
                return Err(kind);
            }
            return alu_operand(r, width, AluOp::MovSx(r.off as u8), dst, "movsx", true);
        }
        code::MOV => AluOp::Mov,
        code::NEG => {
            if is_x {
                return Err(DecodeErrorKind::UnknownOpcode(r.code));
            }
            zero(r, &[Field::Src, Field::Off, Field::Imm], "neg")?;
            return Ok(Insn::Neg { width, dst });
        }
        code::END => {
            let kind = match (wide, is_x) {
                (false, false) => Endian::ToLe,
                (false, true) => Endian::ToBe,
                (true, false) => Endian::Swap,
                (true, true) => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
            };
            let name = if wide { "bswap" } else { "endian" };
            zero(r, &[Field::Src, Field::Off], name)?;
            if !matches!(r.imm, 16 | 32 | 64) {
                return Err(DecodeErrorKind::BadValue {
                    field: Field::Imm,
                    value: r.imm as i64,
                    insn: name,
                });
            }
            return Ok(Insn::Endian {
                kind,
                bits: r.imm as u8,
                dst,
            });
        }
        _ => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
    };
    let form = if is_x {
        " with register"
    } else {
        " with immediate"
    };
    zero_in(r, &[Field::Off], alu_name(r.code), form)?;
    alu_operand(r, width, op, dst, alu_name(r.code), is_x)
}

/// An arithmetic instruction with its source operand.
fn alu_operand(
    r: RawInsn,
    width: Width,
    op: AluOp,
    dst: Reg,
    name: &'static str,
    is_x: bool,
) -> Result<Insn, DecodeErrorKind> {
    Ok(Insn::Alu {
        width,
        op,
        dst,
        src: source(r, name, is_x)?,
    })
}

/// The source operand of an arithmetic or jump instruction: a register
/// (the immediate must be 0) or the immediate (the src field must be 0).
fn source(r: RawInsn, name: &'static str, is_x: bool) -> Result<Src, DecodeErrorKind> {
    if is_x {
        zero_in(r, &[Field::Imm], name, " with register")?;
        Ok(Src::Reg(reg(Field::Src, r.src)?))
    } else {
        zero_in(r, &[Field::Src], name, " with immediate")?;
        Ok(Src::Imm(r.imm))
    }
}

fn alu_name(c: u8) -> &'static str {
    let names = [
        "add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "neg", "mod", "xor", "mov", "arsh",
        "end", "?", "?",
    ];
    names[(c >> 4) as usize]
}

// RFC 9669 section 4.3: jumps, calls and exit.
fn decode_jmp(r: RawInsn) -> Result<Insn, DecodeErrorKind> {
    let jmp32 = r.code & 0x07 == code::JMP32;
    let is_x = r.code & 0x08 == code::X;
    let cond = match r.code & 0xf0 {
        code::JA if is_x => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
        code::JA if jmp32 => {
            zero(r, &[Field::Dst, Field::Src, Field::Off], "gotol")?;
            return Ok(Insn::Ja {
                off: r.imm,
                long: true,
            });
        }
        code::JA => {
            zero(r, &[Field::Dst, Field::Src, Field::Imm], "ja")?;
            return Ok(Insn::Ja {
                off: r.off as i32,
                long: false,
            });
        }
        code::CALL if jmp32 => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
        code::CALL if is_x => return Err(DecodeErrorKind::Callx),
        code::CALL => {
            zero(r, &[Field::Dst, Field::Off], "call")?;
            return match r.src {
                0 => Ok(Insn::Call {
                    helper: r.imm as u32,
                }),
                1 => Ok(Insn::CallLocal { off: r.imm }),
                2 => Err(DecodeErrorKind::CallByBtfId),
                s => Err(DecodeErrorKind::BadValue {
                    field: Field::Src,
                    value: s as i64,
                    insn: "call",
                }),
            };
        }
        code::EXIT if jmp32 || is_x => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
        code::EXIT => {
            zero(r, &[Field::Dst, Field::Src, Field::Off, Field::Imm], "exit")?;
            return Ok(Insn::Exit);
        }
        code::JEQ => Cond::Eq,
        code::JGT => Cond::Gt,
        code::JGE => Cond::Ge,
        code::JSET => Cond::Set,
        code::JNE => Cond::Ne,
        code::JSGT => Cond::SGt,
        code::JSGE => Cond::SGe,
        code::JLT => Cond::Lt,
        code::JLE => Cond::Le,
        code::JSLT => Cond::SLt,
        code::JSLE => Cond::SLe,
        _ => return Err(DecodeErrorKind::UnknownOpcode(r.code)),
    };
    let width = if jmp32 { Width::W32 } else { Width::W64 };
    let dst = reg(Field::Dst, r.dst)?;
    let src = source(r, jmp_name(r.code), is_x)?;
    Ok(Insn::Jump {
        width,
        cond,
        dst,
        src,
        off: r.off,
    })
}

fn jmp_name(c: u8) -> &'static str {
    let names = [
        "ja", "jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "call", "exit", "jlt", "jle",
        "jslt", "jsle", "?", "?",
    ];
    names[(c >> 4) as usize]
}
