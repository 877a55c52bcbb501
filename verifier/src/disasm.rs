//! The disassembler: instructions in LLVM syntax, as clang's `llvm-objdump`
//! and the Linux verifier log print them (`r0 = r1`, `w0 += 1`,
//! `if r1 > 0x10 goto +3`, `r0 = *(u32 *)(r1 + 4)`, `call 1`, `exit`).
//!
//! Conventions: arithmetic immediates and memory offsets are decimal;
//! immediates compared by jumps are hex when non-negative (as the Linux log
//! prints them) and decimal when negative; `lddw` values are hex with the
//! `ll` suffix. Local calls print as `call pc+N`, jumps as `goto +N`.
//! [`listing`] prints a whole program with labels (`L7:`, `goto L7`,
//! `call f12`); its output re-assembles to the same program.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use core::fmt::{self, Write};

use crate::insn::*;
use crate::program::Program;

/// One instruction in LLVM syntax, jump targets as relative offsets.
pub fn disasm(insn: &Insn) -> String {
    format!("{insn}")
}

impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_insn(f, self, &|off| format!("{off:+}"), &|off| {
            format!("pc{off:+}")
        })
    }
}

/// The register name at a width: `r1` or `w1`.
fn reg(r: Reg, width: Width) -> String {
    match width {
        Width::W64 => format!("r{}", r.number()),
        Width::W32 => format!("w{}", r.number()),
    }
}

fn size_name(size: Size, signed: bool) -> &'static str {
    match (size, signed) {
        (Size::B, false) => "u8",
        (Size::H, false) => "u16",
        (Size::W, false) => "u32",
        (Size::DW, false) => "u64",
        (Size::B, true) => "s8",
        (Size::H, true) => "s16",
        (Size::W, true) => "s32",
        (Size::DW, true) => "s64",
    }
}

/// `r1 + 4` or `r10 - 8`.
fn addr(base: Reg, off: i16) -> String {
    if off < 0 {
        format!("{base} - {}", -(off as i32))
    } else {
        format!("{base} + {off}")
    }
}

fn alu_operator(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Mov | AluOp::MovSx(_) => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// The comparison operator of a conditional jump.
pub fn cond_operator(cond: Cond) -> &'static str {
    match cond {
        Cond::Eq => "==",
        Cond::Gt => ">",
        Cond::Ge => ">=",
        Cond::Set => "&",
        Cond::Ne => "!=",
        Cond::SGt => "s>",
        Cond::SGe => "s>=",
        Cond::Lt => "<",
        Cond::Le => "<=",
        Cond::SLt => "s<",
        Cond::SLe => "s<=",
    }
}

/// Writes one instruction; `jump` and `call` render a relative target.
fn write_insn(
    f: &mut dyn Write,
    insn: &Insn,
    jump: &dyn Fn(i32) -> String,
    call: &dyn Fn(i32) -> String,
) -> fmt::Result {
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let d = reg(dst, width);
            let s = match src {
                Src::Reg(r) => reg(r, width),
                Src::Imm(i) => format!("{i}"),
            };
            match op {
                AluOp::MovSx(bits) => write!(f, "{d} = (s{bits}){s}"),
                _ => write!(f, "{d} {} {s}", alu_operator(op)),
            }
        }
        Insn::Neg { width, dst } => write!(f, "{0} = -{0}", reg(dst, width)),
        Insn::Endian { kind, bits, dst } => {
            let name = match kind {
                Endian::ToLe => "le",
                Endian::ToBe => "be",
                Endian::Swap => "bswap",
            };
            write!(f, "{dst} = {name}{bits} {dst}")
        }
        Insn::LoadImm64 { dst, imm } => match imm {
            Imm64::Value(v) => write!(f, "{dst} = {v:#x} ll"),
            Imm64::MapRef(m) => write!(f, "{dst} = map[{m}] ll"),
            Imm64::MapValue { map, offset } => write!(f, "{dst} = map_value[{map}] + {offset} ll"),
            Imm64::VarAddr(v) => write!(f, "{dst} = var_addr[{v}] ll"),
            Imm64::CodeAddr(c) => write!(f, "{dst} = code_addr[{c}] ll"),
            Imm64::MapByIdx(m) => write!(f, "{dst} = map_by_idx[{m}] ll"),
            Imm64::MapValueByIdx { map, offset } => {
                write!(f, "{dst} = map_value_by_idx[{map}] + {offset} ll")
            }
        },
        Insn::Imm64Tail => write!(f, "(second slot of lddw)"),
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            write!(
                f,
                "{dst} = *({} *)({})",
                size_name(size, signed),
                addr(src, off)
            )
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            let s = match src {
                Src::Reg(r) => format!("{r}"),
                Src::Imm(i) => format!("{i}"),
            };
            write!(
                f,
                "*({} *)({}) = {s}",
                size_name(size, false),
                addr(dst, off)
            )
        }
        Insn::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => {
            let width = if size == Size::DW {
                Width::W64
            } else {
                Width::W32
            };
            let s = reg(src, width);
            let sz = size_name(size, false);
            let a = addr(dst, off);
            let name = match op {
                AtomicOp::Add => "add",
                AtomicOp::Or => "or",
                AtomicOp::And => "and",
                AtomicOp::Xor => "xor",
                AtomicOp::Xchg => "xchg",
                AtomicOp::CmpXchg => "cmpxchg",
            };
            let suffix = if size == Size::DW { "_64" } else { "32_32" };
            match op {
                AtomicOp::Xchg => write!(f, "{s} = xchg{suffix}({a}, {s})"),
                AtomicOp::CmpXchg => {
                    let r0 = reg(Reg::R0, width);
                    write!(f, "{r0} = cmpxchg{suffix}({a}, {r0}, {s})")
                }
                _ if fetch => write!(f, "{s} = atomic_fetch_{name}(({sz} *)({a}), {s})"),
                _ => {
                    let o = match op {
                        AtomicOp::Add => "+=",
                        AtomicOp::Or => "|=",
                        AtomicOp::And => "&=",
                        _ => "^=",
                    };
                    write!(f, "lock *({sz} *)({a}) {o} {s}")
                }
            }
        }
        Insn::Ja { off, long: false } => write!(f, "goto {}", jump(off)),
        Insn::Ja { off, long: true } => write!(f, "gotol {}", jump(off)),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let s = match src {
                Src::Reg(r) => reg(r, width),
                Src::Imm(i) if i < 0 => format!("{i}"),
                Src::Imm(i) => format!("{i:#x}"),
            };
            let (d, o) = (reg(dst, width), cond_operator(cond));
            write!(f, "if {d} {o} {s} goto {}", jump(off as i32))
        }
        Insn::Call { helper } => write!(f, "call {helper}"),
        Insn::CallLocal { off } => write!(f, "call {}", call(off)),
        Insn::Exit => write!(f, "exit"),
    }
}

/// One instruction at slot `pc`, its jump or call target written as the
/// name `label` gives for the target slot, or relative where it gives none.
/// `gotol`, `goto` and `call` keep their mnemonics: the text re-assembles to
/// the same instruction once the labels are defined.
pub fn disasm_labeled(insn: &Insn, pc: usize, label: &dyn Fn(i64) -> Option<String>) -> String {
    let at = |off: i32| pc as i64 + 1 + off as i64;
    let jump = |off: i32| label(at(off)).unwrap_or_else(|| format!("{off:+}"));
    let call = |off: i32| label(at(off)).unwrap_or_else(|| format!("pc{off:+}"));
    let mut out = String::new();
    let _ = write_insn(&mut out, insn, &jump, &call);
    out
}

/// A whole program, one instruction a line, with a label before every jump
/// target (`L<slot>:`) and function start (`f<slot>:`). Targets outside the
/// program or inside an `lddw` stay relative (`goto +N`).
pub fn listing(program: &Program) -> String {
    let insns = program.insns();
    let mut labels: BTreeMap<usize, String> = BTreeMap::new();
    let labelable =
        |t: i64| t >= 0 && (t as usize) < insns.len() && insns[t as usize] != Insn::Imm64Tail;
    for (pc, insn) in insns.iter().enumerate() {
        if let Some(t) = insn.target(pc).filter(|&t| labelable(t)) {
            let name = match insn {
                Insn::CallLocal { .. } => format!("f{t}"),
                _ => format!("L{t}"),
            };
            let entry = labels.entry(t as usize).or_insert_with(|| name.clone());
            if name.starts_with('f') {
                *entry = name;
            }
        }
    }
    let mut out = String::new();
    for (pc, insn) in insns.iter().enumerate() {
        if *insn == Insn::Imm64Tail {
            continue;
        }
        if let Some(l) = labels.get(&pc) {
            let _ = writeln!(out, "{l}:");
        }
        out.push_str("    ");
        let label = |t: i64| labels.get(&(t as usize)).filter(|_| labelable(t)).cloned();
        out.push_str(&disasm_labeled(insn, pc, &label));
        out.push('\n');
    }
    out
}
