//! A listing for people: each bytecode instruction followed by the x86 code
//! the JIT made of it, disassembled by iced-x86.
//!
//! ```text
//! <function 0> at 0xffffffffc0000000
//!     0000  53                              push rbx
//!      0: r6 = 0
//!     0001  31 db                           xor ebx,ebx
//! ```

use crate::JitOutput;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use verifier::{Insn, Program};

/// Interleaves `program` (the bytecode that was compiled into `out`) with
/// the native code.
pub fn listing(program: &Program, out: &JitOutput) -> String {
    let offsets = out.insn_offsets();
    let function_at = |pc: usize| out.function_starts().iter().position(|&s| s == pc);
    // Where the code of slot `pc` ends: at the next slot's code, or at the
    // next function's prologue.
    let end_of = |pc: usize| match function_at(pc + 1) {
        Some(f) => out.entries()[f] as usize,
        None => offsets.get(pc + 1).map_or(out.size(), |&o| o as usize),
    };
    let mut text = String::new();
    let mut fmt = IntelFormatter::new();
    for (pc, insn) in program.insns().iter().enumerate().take(offsets.len()) {
        if let Some(f) = function_at(pc) {
            let entry = out.entries()[f];
            let _ = writeln!(text, "<function {f}> at {:#x}", out.code_address() + entry as u64);
            disassemble(&mut text, &mut fmt, out, entry as usize, offsets[pc] as usize);
        }
        if matches!(insn, Insn::Imm64Tail) {
            continue;
        }
        let _ = writeln!(text, "{pc:6}: {insn}");
        disassemble(&mut text, &mut fmt, out, offsets[pc] as usize, end_of(pc));
    }
    text
}

/// Appends the instructions in `code[from..to]`, one a line.
fn disassemble(text: &mut String, fmt: &mut IntelFormatter, out: &JitOutput, from: usize, to: usize) {
    let Some(bytes) = out.code().get(from..to) else { return };
    let mut decoder = Decoder::with_ip(64, bytes, out.code_address() + from as u64, DecoderOptions::NONE);
    let mut at = 0;
    let mut asm = String::new();
    while decoder.can_decode() {
        let insn = decoder.decode();
        asm.clear();
        fmt.format(&insn, &mut asm);
        let raw: String = bytes.get(at..at + insn.len()).unwrap_or_default().iter().map(|b| format!("{b:02x} ")).collect();
        let _ = writeln!(text, "    {:04x}  {raw:<32}{asm}", from + at);
        at += insn.len();
    }
}
