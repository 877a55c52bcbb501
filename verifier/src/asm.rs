//! The assembler every Warden tool uses.
//!
//! It reads two dialects, line by line, and they may be mixed:
//!
//! * the LLVM syntax the disassembler prints ([`crate::disasm()`]):
//!   `r0 = *(u32 *)(r1 + 4)`, `w0 += 1`, `if r1 > 0x10 goto done`,
//!   `r1 = map[0] ll`, `lock *(u64 *)(r10 - 8) += r1`;
//! * the syntax of the bpf_conformance suite: `mov32 %r0, 1`,
//!   `ldxw %r0, [%r1+4]`, `jne %r1, 2, fail`, `lock fetch add [%r10-8], %r1`.
//!
//! A line may start with labels (`name:`); jumps and calls name a label or
//! give a relative offset (`goto +3`, `call pc+2`). As in the conformance
//! suite's own assembler, the label `exit`, unless defined, names the first
//! `exit` instruction. Comments start with `#`,
//! `;` or `//`. Assembly runs in two passes: the first parses every line and
//! records where each label is, the second resolves jump targets.
//! Errors carry the line and column ([`AsmError`]).

mod conformance;
mod lexer;
mod llvm;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::insn::*;
use crate::program::Program;
use lexer::{Cursor, Tok};

/// An assembly error at a line and column (both 1-based).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AsmError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
    pub help: Option<String>,
}

impl AsmError {
    pub fn new(line: usize, col: usize, msg: String) -> AsmError {
        AsmError {
            line,
            col,
            msg,
            help: None,
        }
    }

    pub fn with_help(mut self, help: &str) -> AsmError {
        self.help = Some(String::from(help));
        self
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}\n --> line {}:{}",
            self.msg, self.line, self.col
        )?;
        if let Some(h) = &self.help {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

/// Where a jump or call goes, before labels are resolved.
pub(crate) enum Target {
    /// Already encoded in the instruction.
    Relative,
    /// A label, and the column where it was named.
    Label(String, usize),
}

/// One parsed statement.
pub(crate) struct Stmt {
    pub insn: Insn,
    pub target: Target,
}

impl Stmt {
    pub fn plain(insn: Insn) -> Stmt {
        Stmt {
            insn,
            target: Target::Relative,
        }
    }
}

/// Assembles a program.
pub fn assemble(src: &str) -> Result<Program, AsmError> {
    assemble_with_lines(src).map(|(program, _)| program)
}

/// Assembles a program, with the source line (from 1) of each slot.
pub fn assemble_with_lines(src: &str) -> Result<(Program, Vec<usize>), AsmError> {
    let mut stmts: Vec<(Stmt, usize, usize)> = Vec::new(); // statement, slot, line
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    let mut slot = 0usize;
    let mut first_exit = None;
    for (i, text) in src.lines().enumerate() {
        let line = i + 1;
        let code = lexer::strip_comment(text);
        let toks = lexer::tokenize(code, line)?;
        let mut cur = Cursor::new(&toks, line, code.len() + 1);
        while let (Some(Tok::Ident(name)), Some(Tok::Punct(":"))) = (cur.peek(), cur.peek_at(1)) {
            if labels.insert(name.clone(), slot).is_some() {
                return Err(cur.error(format!("label `{name}` is defined twice")));
            }
            cur.next();
            cur.next();
        }
        if cur.at_end() {
            continue;
        }
        let stmt = if llvm::is_llvm(&cur) {
            llvm::parse(&mut cur)?
        } else {
            conformance::parse(&mut cur)?
        };
        cur.finish()?;
        if stmt.insn == Insn::Exit && first_exit.is_none() {
            first_exit = Some(slot);
        }
        let slots = stmt.insn.slots();
        stmts.push((stmt, slot, line));
        slot += slots;
    }
    if stmts.is_empty() {
        return Err(
            AsmError::new(1, 1, String::from("the program has no instructions"))
                .with_help("a program needs at least `exit`"),
        );
    }
    let mut insns = Vec::with_capacity(slot);
    let mut lines = Vec::with_capacity(slot);
    for (stmt, pc, line) in stmts {
        let mut insn = stmt.insn;
        if let Target::Label(name, col) = stmt.target {
            let implicit = first_exit.filter(|_| name == "exit");
            let Some(t) = labels.get(&name).copied().or(implicit) else {
                return Err(AsmError::new(
                    line,
                    col,
                    format!("undefined label `{name}`"),
                ));
            };
            let off = t as i64 - (pc as i64 + 1);
            set_offset(&mut insn, off).map_err(|()| {
                AsmError::new(
                    line,
                    col,
                    format!("jump to `{name}` is too far ({off} slots)"),
                )
            })?;
        }
        insns.push(insn);
        lines.push(line);
        if matches!(insn, Insn::LoadImm64 { .. }) {
            insns.push(Insn::Imm64Tail);
            lines.push(line);
        }
    }
    Ok((Program::from_insns(insns), lines))
}

/// Stores a resolved relative offset in a jump or call.
fn set_offset(insn: &mut Insn, off: i64) -> Result<(), ()> {
    match insn {
        Insn::Ja { long: false, .. } | Insn::Jump { .. } if i16::try_from(off).is_err() => Err(()),
        Insn::Ja { off: o, .. } | Insn::CallLocal { off: o } => {
            *o = i32::try_from(off).map_err(|_| ())?;
            Ok(())
        }
        Insn::Jump { off: o, .. } => {
            *o = off as i16;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A jump target: a label, `+N`/`-N`, or `pc+N`/`pc-N`. Relative offsets are
/// written straight into the instruction with `set`.
pub(crate) fn parse_target(
    cur: &mut Cursor,
    set: &mut dyn FnMut(i64) -> Result<(), ()>,
) -> Result<Target, AsmError> {
    let col = cur.col();
    if cur.eat_word("pc") || cur.at_number() {
        let (v, _) = cur.number()?;
        let v = i64::try_from(v)
            .map_err(|_| AsmError::new(cur.line, col, String::from("offset too large")))?;
        set(v).map_err(|()| {
            AsmError::new(cur.line, col, format!("jump offset {v} is out of range"))
        })?;
        return Ok(Target::Relative);
    }
    match cur.peek() {
        Some(Tok::Ident(name)) => {
            cur.next();
            Ok(Target::Label(name.clone(), col))
        }
        _ => Err(cur.error(format!(
            "expected a label or a relative offset{}",
            cur.found()
        ))),
    }
}

/// `call` and `exit`, the same in both dialects: `call 5` (or `call helper 5`) calls helper 5;
/// `call pc+3`, `call name` and `call local name` call a local function.
pub(crate) fn parse_call_exit(cur: &mut Cursor) -> Result<Option<Stmt>, AsmError> {
    if cur.eat_word("exit") {
        return Ok(Some(Stmt::plain(Insn::Exit)));
    }
    if !cur.eat_word("call") {
        return Ok(None);
    }
    if cur.at_reg() {
        return Err(cur
            .error("call through a register (callx) is not part of RFC 9669")
            .with_help("call a helper by number (`call 5`) or a local function by label"));
    }
    if cur.eat_word("runtime") {
        return Err(cur.error("helper calls by BTF id (`call runtime`) are not supported"));
    }
    if cur.eat_word("helper") || matches!(cur.peek(), Some(Tok::Num { .. })) {
        let helper = u32_number(cur)?;
        return Ok(Some(Stmt::plain(Insn::Call { helper })));
    }
    cur.eat_word("local");
    let mut insn = Insn::CallLocal { off: 0 };
    let target = parse_target(cur, &mut |v| set_offset(&mut insn, v))?;
    Ok(Some(Stmt { insn, target }))
}

/// The named forms of a 64-bit immediate after their name: `map[N]`,
/// `map_value[N] + K` (also `map_value[N]+K`), `var_addr[N]`, `code_addr[N]`,
/// `map_by_idx[N]`, `map_value_by_idx[N] + K`. `None` if `name` is none of them.
pub(crate) fn imm64_ref(cur: &mut Cursor, name: &str) -> Result<Option<Imm64>, AsmError> {
    let with_offset = matches!(name, "map_value" | "map_value_by_idx");
    if !with_offset && !matches!(name, "map" | "var_addr" | "code_addr" | "map_by_idx") {
        return Ok(None);
    }
    cur.expect("[")?;
    let n = u32_number(cur)?;
    cur.expect("]")?;
    let offset = if with_offset && cur.eat("+") {
        u32_number(cur)?
    } else {
        0
    };
    Ok(Some(match name {
        "map" => Imm64::MapRef(n),
        "map_value" => Imm64::MapValue { map: n, offset },
        "var_addr" => Imm64::VarAddr(n),
        "code_addr" => Imm64::CodeAddr(n),
        "map_by_idx" => Imm64::MapByIdx(n),
        _ => Imm64::MapValueByIdx { map: n, offset },
    }))
}

/// An unsigned 32-bit number.
pub(crate) fn u32_number(cur: &mut Cursor) -> Result<u32, AsmError> {
    let col = cur.col();
    let (v, _) = cur.number()?;
    u32::try_from(v).map_err(|_| {
        AsmError::new(
            cur.line,
            col,
            format!("{v} is not a 32-bit unsigned number"),
        )
    })
}
