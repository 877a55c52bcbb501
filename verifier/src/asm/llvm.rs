//! The LLVM dialect: statements written as assignments (`r0 = r1`,
//! `w2 s>>= 3`, `r0 = *(u8 *)(r1 + 0)`), stores (`*(u32 *)(r10 - 4) = 1`),
//! `if ... goto`, `goto`, `gotol`, `lock ...` and the atomic calls
//! (`r1 = atomic_fetch_add((u64 *)(r2 + 0), r1)`, `r1 = xchg_64(r2 + 0, r1)`,
//! `r0 = cmpxchg_64(r2 + 0, r0, r1)`).

use alloc::format;
use alloc::string::String;

use super::lexer::{Cursor, Tok, looks_like_reg};
use super::{AsmError, Stmt, imm64_ref, parse_call_exit, parse_target, set_offset};
use crate::insn::*;

/// Whether the statement at the cursor is in the LLVM dialect.
pub fn is_llvm(cur: &Cursor) -> bool {
    match (cur.peek(), cur.peek_at(1)) {
        (Some(Tok::Ident(w)), _) if w == "if" || w == "goto" || w == "gotol" => true,
        (Some(Tok::Ident(w)), Some(Tok::Punct("*"))) if w == "lock" => true,
        (Some(Tok::Punct("*")), _) => true,
        (Some(Tok::Ident(w)), Some(Tok::Punct(p))) => looks_like_reg(w) && *p != ",",
        _ => false,
    }
}

/// Parses one LLVM-dialect statement (`call` and `exit` included).
pub fn parse(cur: &mut Cursor) -> Result<Stmt, AsmError> {
    if let Some(stmt) = parse_call_exit(cur)? {
        return Ok(stmt);
    }
    if cur.eat_word("if") {
        return parse_if(cur);
    }
    if let Some(Tok::Ident(w)) = cur
        .peek()
        .filter(|t| matches!(t, Tok::Ident(w) if w == "goto" || w == "gotol"))
    {
        let long = w == "gotol";
        cur.next();
        let mut insn = Insn::Ja { off: 0, long };
        let target = parse_target(cur, &mut |v| set_offset(&mut insn, v))?;
        return Ok(Stmt { insn, target });
    }
    if cur.eat_word("lock") {
        return parse_lock(cur);
    }
    if matches!(cur.peek(), Some(Tok::Punct("*"))) {
        return parse_store(cur);
    }
    parse_assign(cur)
}

/// A register with its width (`r` = 64, `w` = 32).
fn reg_w(cur: &mut Cursor) -> Result<(Reg, Width), AsmError> {
    let (r, w32) = cur.reg()?;
    Ok((r, if w32 { Width::W32 } else { Width::W64 }))
}

/// A register or an immediate of the given width.
fn operand(cur: &mut Cursor, width: Width) -> Result<Src, AsmError> {
    if cur.at_reg() {
        let col = cur.col();
        let (r, w) = reg_w(cur)?;
        if w != width {
            return Err(
                AsmError::new(cur.line, col, String::from("operands of different widths"))
                    .with_help(
                        "use `r` registers for 64-bit and `w` registers for 32-bit operations",
                    ),
            );
        }
        Ok(Src::Reg(r))
    } else {
        Ok(Src::Imm(cur.imm32()?))
    }
}

/// `(u32 *)` or `(s8 *)`: the size and signedness of a memory access.
fn size_cast(cur: &mut Cursor) -> Result<(Size, bool), AsmError> {
    cur.expect("(")?;
    let col = cur.col();
    let name = cur.ident()?;
    let (size, signed) = match name {
        "u8" => (Size::B, false),
        "u16" => (Size::H, false),
        "u32" => (Size::W, false),
        "u64" => (Size::DW, false),
        "s8" => (Size::B, true),
        "s16" => (Size::H, true),
        "s32" => (Size::W, true),
        "s64" => (Size::DW, true),
        _ => {
            return Err(AsmError::new(
                cur.line,
                col,
                format!("unknown access size `{name}`"),
            ));
        }
    };
    cur.expect("*")?;
    cur.expect(")")?;
    Ok((size, signed))
}

/// `r1 + 4`, `r10 - 8` or `r1`: a base register and offset.
fn address(cur: &mut Cursor) -> Result<(Reg, i16), AsmError> {
    let (base, w32) = cur.reg()?;
    if w32 {
        return Err(cur.error("addresses use `r` registers"));
    }
    let off = if matches!(cur.peek(), Some(Tok::Punct("+" | "-"))) {
        cur.off16()?
    } else {
        0
    };
    Ok((base, off))
}

/// `*(u32 *)(r1 + 4)`: a memory operand.
fn memory(cur: &mut Cursor) -> Result<(Size, bool, Reg, i16), AsmError> {
    cur.expect("*")?;
    let (size, signed) = size_cast(cur)?;
    cur.expect("(")?;
    let (base, off) = address(cur)?;
    cur.expect(")")?;
    Ok((size, signed, base, off))
}

// `if dst OP src goto target`
fn parse_if(cur: &mut Cursor) -> Result<Stmt, AsmError> {
    let (dst, width) = reg_w(cur)?;
    let col = cur.col();
    let cond = match cur.next() {
        Some(Tok::Punct("==")) => Cond::Eq,
        Some(Tok::Punct(">")) => Cond::Gt,
        Some(Tok::Punct(">=")) => Cond::Ge,
        Some(Tok::Punct("&")) => Cond::Set,
        Some(Tok::Punct("!=")) => Cond::Ne,
        Some(Tok::Punct("s>")) => Cond::SGt,
        Some(Tok::Punct("s>=")) => Cond::SGe,
        Some(Tok::Punct("<")) => Cond::Lt,
        Some(Tok::Punct("<=")) => Cond::Le,
        Some(Tok::Punct("s<")) => Cond::SLt,
        Some(Tok::Punct("s<=")) => Cond::SLe,
        _ => {
            return Err(AsmError::new(
                cur.line,
                col,
                String::from("expected a comparison operator"),
            ));
        }
    };
    let src = operand(cur, width)?;
    cur.expect_word("goto")?;
    let mut insn = Insn::Jump {
        width,
        cond,
        dst,
        src,
        off: 0,
    };
    let target = parse_target(cur, &mut |v| set_offset(&mut insn, v))?;
    Ok(Stmt { insn, target })
}

// `lock *(u64 *)(r1 + 0) += r2` (also `|=`, `&=`, `^=`)
fn parse_lock(cur: &mut Cursor) -> Result<Stmt, AsmError> {
    let (size, _, dst, off) = memory(cur)?;
    let col = cur.col();
    let op = match cur.next() {
        Some(Tok::Punct("+=")) => AtomicOp::Add,
        Some(Tok::Punct("|=")) => AtomicOp::Or,
        Some(Tok::Punct("&=")) => AtomicOp::And,
        Some(Tok::Punct("^=")) => AtomicOp::Xor,
        _ => {
            return Err(AsmError::new(
                cur.line,
                col,
                String::from("expected `+=`, `|=`, `&=` or `^=`"),
            ));
        }
    };
    let (src, _) = cur.reg()?;
    atomic_size(cur, size, col)?;
    Ok(Stmt::plain(Insn::Atomic {
        size,
        op,
        fetch: false,
        dst,
        src,
        off,
    }))
}

fn atomic_size(cur: &Cursor, size: Size, col: usize) -> Result<(), AsmError> {
    if matches!(size, Size::W | Size::DW) {
        Ok(())
    } else {
        Err(AsmError::new(
            cur.line,
            col,
            String::from("atomic operations are 32 or 64 bits wide"),
        ))
    }
}

// `*(u32 *)(r10 - 4) = r1` or `= 7`
fn parse_store(cur: &mut Cursor) -> Result<Stmt, AsmError> {
    let col = cur.col();
    let (size, signed, dst, off) = memory(cur)?;
    if signed {
        return Err(AsmError::new(
            cur.line,
            col,
            String::from("stores use unsigned sizes (`u8` .. `u64`)"),
        ));
    }
    cur.expect("=")?;
    let src = if cur.at_reg() {
        Src::Reg(cur.reg()?.0)
    } else {
        Src::Imm(cur.imm32()?)
    };
    Ok(Stmt::plain(Insn::Store {
        size,
        dst,
        off,
        src,
    }))
}

// `dst = ...` and `dst OP= src`
fn parse_assign(cur: &mut Cursor) -> Result<Stmt, AsmError> {
    let (dst, width) = reg_w(cur)?;
    let col = cur.col();
    let op = match cur.next() {
        Some(Tok::Punct("=")) => return parse_rhs(cur, dst, width),
        Some(Tok::Punct("+=")) => AluOp::Add,
        Some(Tok::Punct("-=")) => AluOp::Sub,
        Some(Tok::Punct("*=")) => AluOp::Mul,
        Some(Tok::Punct("/=")) => AluOp::Div,
        Some(Tok::Punct("s/=")) => AluOp::SDiv,
        Some(Tok::Punct("|=")) => AluOp::Or,
        Some(Tok::Punct("&=")) => AluOp::And,
        Some(Tok::Punct("<<=")) => AluOp::Lsh,
        Some(Tok::Punct(">>=")) => AluOp::Rsh,
        Some(Tok::Punct("%=")) => AluOp::Mod,
        Some(Tok::Punct("s%=")) => AluOp::SMod,
        Some(Tok::Punct("^=")) => AluOp::Xor,
        Some(Tok::Punct("s>>=")) => AluOp::Arsh,
        _ => {
            return Err(AsmError::new(
                cur.line,
                col,
                String::from("expected `=` or an operator like `+=`"),
            ));
        }
    };
    let src = operand(cur, width)?;
    Ok(Stmt::plain(Insn::Alu {
        width,
        op,
        dst,
        src,
    }))
}

/// The right-hand side of `dst = ...`.
fn parse_rhs(cur: &mut Cursor, dst: Reg, width: Width) -> Result<Stmt, AsmError> {
    let col = cur.col();
    let w64 = |cur: &Cursor| {
        if width == Width::W64 {
            Ok(())
        } else {
            Err(AsmError::new(
                cur.line,
                col,
                String::from("this form needs a 64-bit `r` register"),
            ))
        }
    };
    // `r0 = -r0`
    if matches!(cur.peek(), Some(Tok::Punct("-"))) && !cur.at_number() {
        cur.next();
        let (r, w) = reg_w(cur)?;
        if r != dst || w != width {
            return Err(AsmError::new(
                cur.line,
                col,
                String::from("negation must name its destination: `r1 = -r1`"),
            ));
        }
        return Ok(Stmt::plain(Insn::Neg { width, dst }));
    }
    // `r0 = 42` or `r0 = 0x1122334455667788 ll`
    if cur.at_number() {
        if matches!(cur.peek_at(1), Some(Tok::Ident(w)) if w == "ll")
            || matches!(cur.peek_at(2), Some(Tok::Ident(w)) if w == "ll")
        {
            w64(cur)?;
            let v = cur.imm64()?;
            cur.expect_word("ll")?;
            return Ok(Stmt::plain(Insn::LoadImm64 {
                dst,
                imm: Imm64::Value(v),
            }));
        }
        let src = Src::Imm(cur.imm32()?);
        return Ok(Stmt::plain(Insn::Alu {
            width,
            op: AluOp::Mov,
            dst,
            src,
        }));
    }
    // `r0 = (s8)r1`
    if cur.eat("(") {
        let c = cur.col();
        let bits = match cur.ident()? {
            "s8" => 8,
            "s16" => 16,
            "s32" => 32,
            other => {
                return Err(AsmError::new(
                    cur.line,
                    c,
                    format!("unknown sign-extension `({other})`"),
                ));
            }
        };
        cur.expect(")")?;
        let (src, w) = reg_w(cur)?;
        if w != width {
            return Err(AsmError::new(
                cur.line,
                c,
                String::from("operands of different widths"),
            ));
        }
        return Ok(Stmt::plain(Insn::Alu {
            width,
            op: AluOp::MovSx(bits),
            dst,
            src: Src::Reg(src),
        }));
    }
    // `r0 = *(u32 *)(r1 + 4)` (a `w` destination is accepted for unsigned loads)
    if matches!(cur.peek(), Some(Tok::Punct("*"))) {
        let (size, signed, src, off) = memory(cur)?;
        if width == Width::W32 && signed {
            return Err(AsmError::new(
                cur.line,
                col,
                String::from("sign-extending loads need an `r` register"),
            ));
        }
        return Ok(Stmt::plain(Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        }));
    }
    if cur.at_reg() {
        let src = operand(cur, width)?;
        return Ok(Stmt::plain(Insn::Alu {
            width,
            op: AluOp::Mov,
            dst,
            src,
        }));
    }
    let name = cur.ident()?;
    if let Some(stmt) = endian(cur, name, dst, col)? {
        return Ok(stmt);
    }
    if let Some(imm) = imm64_ref(cur, name)? {
        cur.expect_word("ll")?;
        w64(cur)?;
        return Ok(Stmt::plain(Insn::LoadImm64 { dst, imm }));
    }
    atomic_call(cur, name, dst, width, col)
}

// `r0 = be16 r0`, `r0 = le32 r0`, `r0 = bswap64 r0`
fn endian(cur: &mut Cursor, name: &str, dst: Reg, col: usize) -> Result<Option<Stmt>, AsmError> {
    let (kind, bits) = match name {
        "le16" => (Endian::ToLe, 16),
        "le32" => (Endian::ToLe, 32),
        "le64" => (Endian::ToLe, 64),
        "be16" => (Endian::ToBe, 16),
        "be32" => (Endian::ToBe, 32),
        "be64" => (Endian::ToBe, 64),
        "bswap16" => (Endian::Swap, 16),
        "bswap32" => (Endian::Swap, 32),
        "bswap64" => (Endian::Swap, 64),
        _ => return Ok(None),
    };
    let (r, _) = cur.reg()?;
    if r != dst {
        return Err(AsmError::new(
            cur.line,
            col,
            format!("`{name}` converts in place: write `{dst} = {name} {dst}`"),
        ));
    }
    Ok(Some(Stmt::plain(Insn::Endian { kind, bits, dst })))
}

// `r1 = atomic_fetch_add((u64 *)(r2 + 0), r1)`, `r1 = xchg_64(r2 + 0, r1)`,
// `r0 = cmpxchg_64(r2 + 0, r0, r1)` and their 32-bit forms.
fn atomic_call(
    cur: &mut Cursor,
    name: &str,
    dst: Reg,
    width: Width,
    col: usize,
) -> Result<Stmt, AsmError> {
    let size = if width == Width::W64 {
        Size::DW
    } else {
        Size::W
    };
    let fetch_op = match name {
        "atomic_fetch_add" => Some(AtomicOp::Add),
        "atomic_fetch_or" => Some(AtomicOp::Or),
        "atomic_fetch_and" => Some(AtomicOp::And),
        "atomic_fetch_xor" => Some(AtomicOp::Xor),
        _ => None,
    };
    let line = cur.line;
    let unknown = || AsmError::new(line, col, format!("unknown instruction form `{name}`"));
    cur.expect("(")?;
    let (op, base, off) = if let Some(op) = fetch_op {
        let (sz, _) = size_cast(cur)?;
        if sz != size {
            return Err(AsmError::new(
                cur.line,
                col,
                String::from("the access size must match the register width"),
            ));
        }
        cur.expect("(")?;
        let (base, off) = address(cur)?;
        cur.expect(")")?;
        (op, base, off)
    } else {
        let op = match (name, size) {
            ("xchg_64", Size::DW) | ("xchg32_32", Size::W) => AtomicOp::Xchg,
            ("cmpxchg_64", Size::DW) | ("cmpxchg32_32", Size::W) => AtomicOp::CmpXchg,
            _ => return Err(unknown()),
        };
        let (base, off) = address(cur)?;
        (op, base, off)
    };
    cur.expect(",")?;
    if op == AtomicOp::CmpXchg {
        let c = cur.col();
        let (r0, _) = cur.reg()?;
        if r0 != Reg::R0 || dst != Reg::R0 {
            return Err(AsmError::new(
                cur.line,
                c,
                String::from("cmpxchg compares with and returns in r0"),
            ));
        }
        cur.expect(",")?;
    }
    let c = cur.col();
    let (src, _) = cur.reg()?;
    if op != AtomicOp::CmpXchg && src != dst {
        return Err(AsmError::new(
            cur.line,
            c,
            format!("the result goes to the source register: write `{src} = {name}(..., {src})`"),
        ));
    }
    cur.expect(")")?;
    Ok(Stmt::plain(Insn::Atomic {
        size,
        op,
        fetch: true,
        dst: base,
        src,
        off,
    }))
}
