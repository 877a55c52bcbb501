//! The bpf_conformance dialect: a mnemonic, then operands separated by
//! commas. Registers are `%r0` (or `r0`), memory operands `[%r1+4]`, jump
//! targets labels or relative offsets. `32` at the end of an arithmetic or
//! jump mnemonic selects the 32-bit form (`add32`, `jeq32`); `64` or nothing
//! the 64-bit form.
//!
//! | mnemonics | instruction |
//! |---|---|
//! | `add sub mul div sdiv or and lsh rsh mod smod xor mov arsh` (+`32`/`64`) | `dst OP= src` |
//! | `neg`, `neg32` | `dst = -dst` |
//! | `movsx832 movsx1632 movsx864 movsx1664 movsx3264` | sign-extending move (from bits, to width) |
//! | `le16..le64`, `be16..be64`, `bswap16..bswap64` (or `swap16..`) | byte order |
//! | `lddw dst, imm64` (or `map[N]`, `map_value[N]+K`) | 64-bit immediate |
//! | `ldxb ldxh ldxw ldxdw ldxsb ldxsh ldxsw dst, [src+off]` | loads |
//! | `stb sth stw stdw [dst+off], imm`, `stxb .. stxdw [dst+off], src` | stores |
//! | `ja target`, `ja32 target` (gotol) | unconditional jumps |
//! | `jeq jgt jge jlt jle jset jne jsgt jsge jslt jsle` (+`32`) `dst, src, target` | conditional jumps |
//! | `lock [fetch] add/or/and/xor/xchg/cmpxchg[32] [dst+off], src` | atomics |
//! | `call N`, `call local name`, `exit` | calls and exit |

use alloc::format;
use alloc::string::String;

use super::lexer::{Cursor, Tok};
use super::{AsmError, Stmt, imm64_ref, parse_call_exit, parse_target, set_offset};
use crate::insn::*;

/// Parses one conformance-dialect statement.
pub fn parse(cur: &mut Cursor) -> Result<Stmt, AsmError> {
    if let Some(stmt) = parse_call_exit(cur)? {
        return Ok(stmt);
    }
    let col = cur.col();
    let m = cur
        .ident()
        .map_err(|_| cur.error(format!("expected an instruction{}", cur.found())))?;
    let line = cur.line;
    let unknown = || AsmError::new(line, col, format!("unknown instruction `{m}`"));
    if m == "lock" {
        return parse_lock(cur, col);
    }
    if m.starts_with("ldabs") || m.starts_with("ldind") {
        return Err(AsmError::new(
            cur.line,
            col,
            format!("`{m}`: legacy packet access is not supported"),
        )
        .with_help("load from the context pointer with `ldxb`/`ldxh`/`ldxw`/`ldxdw` instead"));
    }
    if let Some(stmt) = endian(cur, m)? {
        return Ok(stmt);
    }
    if let Some(rest) = m.strip_prefix("movsx") {
        let (bits, width) = match rest {
            "832" => (8, Width::W32),
            "1632" => (16, Width::W32),
            "864" => (8, Width::W64),
            "1664" => (16, Width::W64),
            "3264" => (32, Width::W64),
            _ => return Err(unknown()),
        };
        let dst = reg(cur)?;
        cur.expect(",")?;
        let src = reg(cur)?;
        return Ok(Stmt::plain(Insn::Alu {
            width,
            op: AluOp::MovSx(bits),
            dst,
            src: Src::Reg(src),
        }));
    }
    if m == "lddw" {
        let dst = reg(cur)?;
        cur.expect(",")?;
        return Ok(Stmt::plain(Insn::LoadImm64 {
            dst,
            imm: imm64(cur)?,
        }));
    }
    if let Some(size) = m
        .strip_prefix("ldxs")
        .and_then(size_suffix)
        .filter(|s| *s != Size::DW)
    {
        return load(cur, size, true);
    }
    if let Some(size) = m.strip_prefix("ldx").and_then(size_suffix) {
        return load(cur, size, false);
    }
    if let Some(size) = m.strip_prefix("stx").and_then(size_suffix) {
        let (dst, off) = memory(cur)?;
        cur.expect(",")?;
        let src = reg(cur)?;
        return Ok(Stmt::plain(Insn::Store {
            size,
            dst,
            off,
            src: Src::Reg(src),
        }));
    }
    if let Some(size) = m.strip_prefix("st").and_then(size_suffix) {
        let (dst, off) = memory(cur)?;
        cur.expect(",")?;
        let imm = cur.imm32()?;
        return Ok(Stmt::plain(Insn::Store {
            size,
            dst,
            off,
            src: Src::Imm(imm),
        }));
    }
    if m == "ja" || m == "ja32" {
        let mut insn = Insn::Ja {
            off: 0,
            long: m == "ja32",
        };
        let target = parse_target(cur, &mut |v| set_offset(&mut insn, v))?;
        return Ok(Stmt { insn, target });
    }
    let (base, width) = split_width(m);
    if let Some(cond) = cond(base) {
        let dst = reg(cur)?;
        cur.expect(",")?;
        let src = operand(cur)?;
        cur.expect(",")?;
        let mut insn = Insn::Jump {
            width,
            cond,
            dst,
            src,
            off: 0,
        };
        let target = parse_target(cur, &mut |v| set_offset(&mut insn, v))?;
        return Ok(Stmt { insn, target });
    }
    if base == "neg" {
        let dst = reg(cur)?;
        return Ok(Stmt::plain(Insn::Neg { width, dst }));
    }
    let op = alu_op(base).ok_or_else(unknown)?;
    let dst = reg(cur)?;
    cur.expect(",")?;
    let src = operand(cur)?;
    Ok(Stmt::plain(Insn::Alu {
        width,
        op,
        dst,
        src,
    }))
}

/// `add32` -> (`add`, 32-bit); `add64` and `add` -> (`add`, 64-bit).
fn split_width(m: &str) -> (&str, Width) {
    if let Some(b) = m.strip_suffix("32") {
        (b, Width::W32)
    } else {
        (m.strip_suffix("64").unwrap_or(m), Width::W64)
    }
}

fn alu_op(m: &str) -> Option<AluOp> {
    Some(match m {
        "add" => AluOp::Add,
        "sub" => AluOp::Sub,
        "mul" => AluOp::Mul,
        "div" => AluOp::Div,
        "sdiv" => AluOp::SDiv,
        "or" => AluOp::Or,
        "and" => AluOp::And,
        "lsh" => AluOp::Lsh,
        "rsh" => AluOp::Rsh,
        "mod" => AluOp::Mod,
        "smod" => AluOp::SMod,
        "xor" => AluOp::Xor,
        "mov" => AluOp::Mov,
        "arsh" => AluOp::Arsh,
        _ => return None,
    })
}

fn cond(m: &str) -> Option<Cond> {
    Some(match m {
        "jeq" => Cond::Eq,
        "jgt" => Cond::Gt,
        "jge" => Cond::Ge,
        "jset" => Cond::Set,
        "jne" => Cond::Ne,
        "jsgt" => Cond::SGt,
        "jsge" => Cond::SGe,
        "jlt" => Cond::Lt,
        "jle" => Cond::Le,
        "jslt" => Cond::SLt,
        "jsle" => Cond::SLe,
        _ => return None,
    })
}

fn size_suffix(s: &str) -> Option<Size> {
    Some(match s {
        "b" => Size::B,
        "h" => Size::H,
        "w" => Size::W,
        "dw" => Size::DW,
        _ => return None,
    })
}

fn reg(cur: &mut Cursor) -> Result<Reg, AsmError> {
    let (r, w32) = cur.reg()?;
    if w32 {
        return Err(cur.error("this syntax names registers `%r0` to `%r10`"));
    }
    Ok(r)
}

fn operand(cur: &mut Cursor) -> Result<Src, AsmError> {
    if cur.at_reg() {
        Ok(Src::Reg(reg(cur)?))
    } else {
        Ok(Src::Imm(cur.imm32()?))
    }
}

/// `[%r1+4]`, `[%r10-8]` or `[%r1]`.
fn memory(cur: &mut Cursor) -> Result<(Reg, i16), AsmError> {
    if !cur.eat("[") {
        return Err(cur.error(format!(
            "expected a memory operand like `[%r1+8]`{}",
            cur.found()
        )));
    }
    let base = reg(cur)?;
    let off = if matches!(cur.peek(), Some(Tok::Punct("+" | "-"))) {
        cur.off16()?
    } else {
        0
    };
    cur.expect("]")?;
    Ok((base, off))
}

fn load(cur: &mut Cursor, size: Size, signed: bool) -> Result<Stmt, AsmError> {
    let dst = reg(cur)?;
    cur.expect(",")?;
    let (src, off) = memory(cur)?;
    Ok(Stmt::plain(Insn::Load {
        size,
        signed,
        dst,
        src,
        off,
    }))
}

fn endian(cur: &mut Cursor, m: &str) -> Result<Option<Stmt>, AsmError> {
    let (kind, bits) = match m {
        "le16" => (Endian::ToLe, 16),
        "le32" => (Endian::ToLe, 32),
        "le64" => (Endian::ToLe, 64),
        "be16" => (Endian::ToBe, 16),
        "be32" => (Endian::ToBe, 32),
        "be64" => (Endian::ToBe, 64),
        "bswap16" | "swap16" => (Endian::Swap, 16),
        "bswap32" | "swap32" => (Endian::Swap, 32),
        "bswap64" | "swap64" => (Endian::Swap, 64),
        _ => return Ok(None),
    };
    let dst = reg(cur)?;
    Ok(Some(Stmt::plain(Insn::Endian { kind, bits, dst })))
}

/// The operand of `lddw`: a number, `map[N]`, `map_value[N]+K`, ...
fn imm64(cur: &mut Cursor) -> Result<Imm64, AsmError> {
    if cur.at_number() {
        return Ok(Imm64::Value(cur.imm64()?));
    }
    let col = cur.col();
    let name = cur.ident()?;
    imm64_ref(cur, name)?.ok_or_else(|| {
        AsmError::new(
            cur.line,
            col,
            format!("expected a number or `map[N]`, found `{name}`"),
        )
    })
}

/// `lock [fetch] OP[32] [%rD+off], %rS`
fn parse_lock(cur: &mut Cursor, col: usize) -> Result<Stmt, AsmError> {
    let operands_error = |cur: &Cursor| {
        AsmError::new(cur.line, col, String::from("invalid number of operands for `lock`"))
            .with_help("write `lock [fetch] add [%r10-8], %r1` (add, or, and, xor, xchg, cmpxchg; `32` for 32 bits)")
    };
    let fetch = cur.eat_word("fetch");
    let op_col = cur.col();
    let Some(Tok::Ident(name)) = cur.next() else {
        return Err(operands_error(cur));
    };
    let (base, width) = split_width(name);
    let size = if width == Width::W32 {
        Size::W
    } else {
        Size::DW
    };
    let op = match base {
        "add" => AtomicOp::Add,
        "or" => AtomicOp::Or,
        "and" => AtomicOp::And,
        "xor" => AtomicOp::Xor,
        "xchg" => AtomicOp::Xchg,
        "cmpxchg" => AtomicOp::CmpXchg,
        _ => {
            return Err(AsmError::new(
                cur.line,
                op_col,
                format!("unknown atomic operation `{name}`"),
            ));
        }
    };
    if !matches!(cur.peek(), Some(Tok::Punct("["))) {
        return Err(operands_error(cur));
    }
    let (dst, off) = memory(cur)?;
    if !cur.eat(",") {
        return Err(operands_error(cur));
    }
    let src = reg(cur)?;
    let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg);
    Ok(Stmt::plain(Insn::Atomic {
        size,
        op,
        fetch,
        dst,
        src,
        off,
    }))
}
