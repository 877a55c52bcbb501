//! The shape of the emitted code: inlined calls, frames, alignment.

use super::*;
use alloc::vec;
use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic};
use verifier::{AluOp, Cond, Insn, Size, Src};

/// The x86 instructions in `out.code()[from..to]`.
fn decode(out: &JitOutput, from: u32, to: u32) -> Vec<Instruction> {
    let bytes = &out.code()[from as usize..to as usize];
    let mut decoder = Decoder::with_ip(64, bytes, from as u64, DecoderOptions::NONE);
    let mut insns = Vec::new();
    while decoder.can_decode() {
        insns.push(decoder.decode());
    }
    insns
}

/// The mnemonics of function `f`'s code (up to the next function).
fn function_code(out: &JitOutput, f: usize) -> Vec<Mnemonic> {
    let end = out.entries().get(f + 1).copied().unwrap_or(out.size() as u32);
    decode(out, out.entries()[f], end).iter().map(|i| i.mnemonic()).collect()
}

fn compile(p: &[Insn], funcs: &[Function]) -> JitOutput {
    compile_at(p, funcs, 0, None, CallMode::HostFar)
}

/// main: r6 = 100; r2 = 5; call f; r0 += r6; exit.
/// f: r2 += 1; r1 += 1; call g; r0 += 1; exit.
/// g: `g`, then exit (with r2 = 6 and r1 = the memory + 1).
fn chain(g: &[Insn], g_stack: u32) -> (Vec<Insn>, Vec<Function>) {
    let mut p = vec![a64(AluOp::Mov, 6, 100), a64(AluOp::Mov, 2, 5), Insn::CallLocal { off: 2 }, a64r(AluOp::Add, 0, 6), EXIT];
    p.extend([a64(AluOp::Add, 2, 1), a64(AluOp::Add, 1, 1), Insn::CallLocal { off: 2 }, a64(AluOp::Add, 0, 1), EXIT]);
    p.extend_from_slice(g);
    p.push(EXIT);
    let funcs = vec![
        Function { start: 0, end: 5, stack_depth: 0 },
        Function { start: 5, end: 10, stack_depth: 0 },
        Function { start: 10, end: p.len(), stack_depth: g_stack },
    ];
    (p, funcs)
}

#[test]
fn small_straight_line_callees_are_inlined() {
    // g: r0 = r2 * 3, the 3 from a 64-bit immediate
    let g = [lddw(3, 3)[0], lddw(3, 3)[1], a64r(AluOp::Mov, 0, 2), a64r(AluOp::Mul, 0, 3)];
    let (p, funcs) = chain(&g, 0);
    assert_eq!(run_funcs(&p, &funcs, &mut [0u8; 8]), 6 * 3 + 1 + 100);
    let out = compile(&p, &funcs);
    let main = function_code(&out, 0);
    assert!(!main.contains(&Mnemonic::Call), "{main:?}");
    assert_eq!(main.iter().filter(|&&m| m == Mnemonic::Imul).count(), 1, "{main:?}");
    // f and g are still compiled (and f, too, calls nothing).
    assert_eq!(out.entries().len(), 3);
    assert!(!function_code(&out, 1).contains(&Mnemonic::Call));
    // The copy belongs to the `call` slot in the fault map.
    let call_code = out.insn_offsets()[2]..out.insn_offsets()[3];
    assert!(call_code.len() > 10, "{call_code:?}");
    assert!(call_code.clone().all(|o| out.insn_at(o) == Some(2)));
}

#[test]
fn callees_with_a_frame_memory_jumps_or_helpers_are_called() {
    let cases: [(&str, Vec<Insn>, u32); 5] = [
        ("writes r6", vec![a64(AluOp::Mov, 6, 9), a64r(AluOp::Mov, 0, 2)], 0),
        ("uses the stack", vec![stx(Size::DW, 10, -8, 2), ldx(Size::DW, false, 0, 10, -8)], 8),
        ("loads memory", vec![ldx(Size::B, false, 0, 1, 0)], 0),
        ("jumps", vec![a64r(AluOp::Mov, 0, 2), jmp(Cond::Eq, 0, Src::Imm(6), 1), a64(AluOp::Mov, 0, 0)], 0),
        ("calls a helper", vec![a64r(AluOp::Mov, 1, 2), Insn::Call { helper: 5 }], 0),
    ];
    for (what, g, stack) in cases {
        let (p, funcs) = chain(&g, stack);
        let mut mem = [0, 6, 0, 0, 0, 0, 0, 0];
        assert_eq!(run_funcs(&p, &funcs, &mut mem), 6 + 1 + 100, "{what}");
        let out = compile(&p, &funcs);
        assert!(function_code(&out, 1).contains(&Mnemonic::Call), "{what}: f calls g");
        assert!(function_code(&out, 0).contains(&Mnemonic::Call), "{what}: main calls f");
    }
}

#[test]
fn inlining_never_exceeds_the_code_size_bound() {
    // Ten calls of a callee of 23 signed divisions by a register (each some
    // 45 bytes of x86): inlined, far more than the bound allows.
    let mut p: Vec<Insn> = vec![a64(AluOp::Mov, 2, 1)];
    p.extend((0..10).map(|i| Insn::CallLocal { off: 10 - i }));
    p.push(EXIT);
    let start = p.len();
    p.push(a64(AluOp::Mov, 0, 1000));
    p.extend((0..22).map(|_| a64r(AluOp::SDiv, 0, 2)));
    p.push(EXIT);
    let funcs = [Function { start: 0, end: start, stack_depth: 0 }, Function { start, end: p.len(), stack_depth: 0 }];
    assert_eq!(run_funcs(&p, &funcs, &mut [0u8; 8]), 1000);
    let out = compile(&p, &funcs);
    assert!(out.size() <= code_size_bound(p.len(), funcs.len()));
    assert_eq!(function_code(&out, 0).iter().filter(|&&m| m == Mnemonic::Call).count(), 10);
}

#[test]
fn a_leaf_without_stack_or_callee_saved_registers_has_no_frame() {
    // g jumps, so it is called, not inlined; it needs no prologue.
    let g = [a64r(AluOp::Mov, 0, 2), jmp(Cond::Eq, 0, Src::Imm(6), 1), a64(AluOp::Mov, 0, 0)];
    let (p, funcs) = chain(&g, 0);
    let out = compile(&p, &funcs);
    let code = decode(&out, out.entries()[2], out.size() as u32);
    let (first, ret) = (&code[0], code.iter().find(|i| i.mnemonic() == Mnemonic::Ret));
    assert_eq!(first.ip(), out.insn_offsets()[10] as u64, "the first instruction is g's first slot");
    assert!(code.iter().all(|i| !matches!(i.mnemonic(), Mnemonic::Push | Mnemonic::Pop | Mnemonic::Sub)));
    assert!(ret.is_some());
}

#[test]
fn an_inlined_callee_computes_what_the_called_one_does() {
    use verifier::{Endian, Width};
    // main: r0..r5 = constants; call f; r0 = fold of r0..r5; exit.
    // f: random arithmetic on r0..r5, then exit; called (a no-op `ja +0`
    // first keeps it from being inlined) or inlined, the results agree.
    let mut g = fastrand::Rng::with_seed(0x1a1e);
    let ops = [
        AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::SDiv, AluOp::Or, AluOp::And, AluOp::Lsh,
        AluOp::Rsh, AluOp::Mod, AluOp::SMod, AluOp::Xor, AluOp::Mov, AluOp::Arsh,
    ];
    for round in 0..200 {
        let reg = |g: &mut fastrand::Rng| r(g.u8(..6));
        let mut body = Vec::new();
        for _ in 0..g.usize(1..12) {
            let width = if g.bool() { Width::W64 } else { Width::W32 };
            let random = g.i32(..);
            let src = if g.bool() { Src::Reg(reg(&mut g)) } else { Src::Imm(g.choice([0, 1, -1, 7, i32::MIN, random]).unwrap()) };
            body.push(match g.u8(..10) {
                0 => Insn::Neg { width, dst: reg(&mut g) },
                1 => Insn::Endian { kind: Endian::Swap, bits: g.choice([16, 32, 64]).unwrap(), dst: reg(&mut g) },
                2 => Insn::Alu { width: Width::W64, op: AluOp::MovSx(g.choice([8, 16, 32]).unwrap()), dst: reg(&mut g), src: Src::Reg(reg(&mut g)) },
                _ => Insn::Alu { width, op: g.choice(ops).unwrap(), dst: reg(&mut g), src },
            });
        }
        let mut main: Vec<Insn> = (0..6).flat_map(|i| lddw(i, g.u64(..))).collect();
        main.push(Insn::CallLocal { off: 0 });
        main.extend((1..6).map(|i| a64r(AluOp::Xor, 0, i)));
        main.push(EXIT);
        let call = main.len() - 7;
        let mut results = Vec::new();
        for called in [true, false] {
            let mut p = main.clone();
            p[call] = Insn::CallLocal { off: (main.len() - call - 1) as i32 };
            if called {
                p.push(Insn::Ja { off: 0, long: false });
            }
            p.extend(&body);
            p.push(EXIT);
            let funcs = [Function { start: 0, end: main.len(), stack_depth: 0 }, Function { start: main.len(), end: p.len(), stack_depth: 0 }];
            let calls = function_code(&compile(&p, &funcs), 0).contains(&Mnemonic::Call);
            assert_eq!(calls, called, "round {round}");
            results.push(run_funcs(&p, &funcs, &mut [0u8; 8]));
        }
        assert_eq!(results[0], results[1], "round {round}: {body:?}");
    }
}
