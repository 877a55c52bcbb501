//! Hand-built programs compiled and run on the host: every instruction
//! family with its edge cases, with and without constant blinding.
//! (Programs from the assembler, the conformance suite and the fuzzer are
//! tested against the reference interpreter in tests/tests/jit_*.rs.)
//!
//! This module builds and runs programs; the tests are in [`alu`] (ALU,
//! division, shifts, byte order), [`memory`] (loads, stores, atomics),
//! [`control`] (jumps, calls, frames), [`layout`] (the shape of the code:
//! inlining, frames, alignment), [`blinding`], [`fuel`] (metered code
//! against the metered interpreter) and [`robustness`] (fault map, errors,
//! random programs).

mod alu;
mod blinding;
mod control;
mod fuel;
mod layout;
mod memory;
mod robustness;

use crate::codegen::{Function, compile_program};
use crate::host::CodeRegion;
use crate::{CallMode, JitOptions, JitOutput, code_size_bound};

use alloc::vec::Vec;
use verifier::{AluOp, AtomicOp, Cond, Imm64, Insn, Reg, Size, Src, Width};

// ---- building programs -------------------------------------------------------

pub(super) fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}
pub(super) fn alu(width: Width, op: AluOp, dst: u8, src: Src) -> Insn {
    Insn::Alu { width, op, dst: r(dst), src }
}
pub(super) fn a64(op: AluOp, dst: u8, imm: i32) -> Insn {
    alu(Width::W64, op, dst, Src::Imm(imm))
}
pub(super) fn a64r(op: AluOp, dst: u8, src: u8) -> Insn {
    alu(Width::W64, op, dst, Src::Reg(r(src)))
}
pub(super) fn a32(op: AluOp, dst: u8, imm: i32) -> Insn {
    alu(Width::W32, op, dst, Src::Imm(imm))
}
pub(super) fn a32r(op: AluOp, dst: u8, src: u8) -> Insn {
    alu(Width::W32, op, dst, Src::Reg(r(src)))
}
pub(super) fn lddw(dst: u8, v: u64) -> [Insn; 2] {
    [Insn::LoadImm64 { dst: r(dst), imm: Imm64::Value(v) }, Insn::Imm64Tail]
}
pub(super) fn jmp(cond: Cond, dst: u8, src: Src, off: i16) -> Insn {
    Insn::Jump { width: Width::W64, cond, dst: r(dst), src, off }
}
pub(super) fn ldx(size: Size, signed: bool, dst: u8, src: u8, off: i16) -> Insn {
    Insn::Load { size, signed, dst: r(dst), src: r(src), off }
}
pub(super) fn stx(size: Size, dst: u8, off: i16, src: u8) -> Insn {
    Insn::Store { size, dst: r(dst), off, src: Src::Reg(r(src)) }
}
pub(super) fn atomic(size: Size, op: AtomicOp, fetch: bool, dst: u8, src: u8, off: i16) -> Insn {
    Insn::Atomic { size, op, fetch, dst: r(dst), src: r(src), off }
}
pub(super) const EXIT: Insn = Insn::Exit;

// ---- running them ------------------------------------------------------------

pub(super) extern "C" fn helper_first(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    a
}
pub(super) extern "C" fn helper_mix(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a ^ b.rotate_left(8) ^ c.rotate_left(16) ^ d.rotate_left(24) ^ e.rotate_left(32)
}

/// Returns `rsp % 16` as the helper sees it on entry: System V wants 8.
#[unsafe(naked)]
pub(super) extern "C" fn helper_stack_alignment() -> u64 {
    core::arch::naked_asm!("mov rax, rsp", "and rax, 15", "ret")
}

pub(super) fn helpers(id: u32) -> Option<u64> {
    match id {
        5 => Some(helper_first as *const () as u64),
        6 => Some(helper_mix as *const () as u64),
        7 => Some(helper_stack_alignment as *const () as u64),
        _ => None,
    }
}

pub(super) fn compile_at(insns: &[Insn], functions: &[Function], at: u64, blinding: Option<u64>, mode: CallMode) -> JitOutput {
    let mut opts = JitOptions::new(at);
    opts.helper_address = &helpers;
    opts.blinding = blinding;
    opts.call_mode = mode;
    compile_program(insns, functions, &opts).expect("compiles")
}

/// Compiles and runs `insns` (one function unless `functions` says more)
/// on `mem`, in every mode: plain, blinded, and with far helper calls.
pub(super) fn run_funcs(insns: &[Insn], functions: &[Function], mem: &mut [u8]) -> u64 {
    let mut results = Vec::new();
    let original = mem.to_vec();
    let mut final_mem = Vec::new();
    for (blinding, mode) in [(None, CallMode::Near), (Some(7), CallMode::Near), (None, CallMode::HostFar)] {
        mem.copy_from_slice(&original);
        let region = CodeRegion::map_near(code_size_bound(insns.len(), functions.len()), helper_first as *const () as u64).unwrap();
        let mode = if region.within_rel32(helper_first as *const () as u64) { mode } else { CallMode::HostFar };
        let out = compile_at(insns, functions, region.address(), blinding, mode);
        let exec = region.seal(out.code()).unwrap();
        // SAFETY: the tests' programs touch only `mem` and their stack.
        results.push(unsafe { exec.call(out.entries()[0], mem.as_mut_ptr()) });
        if final_mem.is_empty() {
            final_mem = mem.to_vec();
        } else {
            assert_eq!(final_mem, mem, "memory differs between modes");
        }
    }
    assert!(results.iter().all(|&x| x == results[0]), "modes disagree: {results:x?}");
    results[0]
}

pub(super) fn run_mem(insns: &[Insn], mem: &mut [u8]) -> u64 {
    run_funcs(insns, &[Function { start: 0, end: insns.len(), stack_depth: 512 }], mem)
}

pub(super) fn run(insns: &[Insn]) -> u64 {
    run_mem(insns, &mut [0u8; 64])
}

/// A program that computes `setup`, then `r0 = <reg>` and exits.
pub(super) fn result_of(setup: &[Insn], reg: u8) -> u64 {
    let mut p = setup.to_vec();
    p.push(a64r(AluOp::Mov, 0, reg));
    p.push(EXIT);
    run(&p)
}
