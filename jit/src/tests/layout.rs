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
                2 => {
                    let op = AluOp::MovSx(g.choice([8, 16, 32]).unwrap());
                    Insn::Alu { width: Width::W64, op, dst: reg(&mut g), src: Src::Reg(reg(&mut g)) }
                }
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
            let funcs = [
                Function { start: 0, end: main.len(), stack_depth: 0 },
                Function { start: main.len(), end: p.len(), stack_depth: 0 },
            ];
            let calls = function_code(&compile(&p, &funcs), 0).contains(&Mnemonic::Call);
            assert_eq!(calls, called, "round {round}");
            results.push(run_funcs(&p, &funcs, &mut [0u8; 8]));
        }
        assert_eq!(results[0], results[1], "round {round}: {body:?}");
    }
}

/// strcmp of the two halves of `mem`, shaped as the benchmark's: the
/// loop leaves through two exits that its jumps skip.
fn strcmp_program(n: i32) -> Vec<Insn> {
    vec![
        a64r(AluOp::Mov, 3, 1),
        a64(AluOp::Add, 3, n),
        a64(AluOp::Mov, 4, n),
        ldx(Size::B, false, 5, 1, 0), // 3: loop
        ldx(Size::B, false, 6, 3, 0),
        jmp(Cond::Eq, 5, Src::Reg(r(6)), 3), // 5: head
        a64r(AluOp::Mov, 0, 5),
        a64r(AluOp::Sub, 0, 6),
        EXIT,
        jmp(Cond::Ne, 5, Src::Imm(0), 2), // 9: same
        a64(AluOp::Mov, 0, 0),
        EXIT,
        a64(AluOp::Add, 1, 1), // 12: next
        a64(AluOp::Add, 3, 1),
        a64(AluOp::Sub, 4, 1),
        jmp(Cond::Ne, 4, Src::Imm(0), -13),
        a64(AluOp::Mov, 0, 0),
        EXIT,
    ]
}

#[test]
fn a_loops_likely_path_is_copied_into_the_jump_that_skips_an_exit() {
    let p = strcmp_program(16);
    let funcs = [Function { start: 0, end: p.len(), stack_depth: 0 }];
    let text = b"abcdefghijklmno\0";
    for (i, (a, b)) in [(text, text), (text, b"abcdefgXijklmno\0"), (b"abc\0efghijklmno\0", b"abc\0Xfghijklmno\0")].iter().enumerate() {
        let mut mem = [a.as_slice(), b.as_slice()].concat();
        let want = a.iter().zip(b.iter()).find(|(x, y)| x != y || **x == 0).map_or(0, |(&x, &y)| (x as u64).wrapping_sub(y as u64));
        assert_eq!(run_funcs(&p, &funcs, &mut mem), want, "case {i}");
    }
    // Slot 5's code: the compare, a jump to the exit path in place, then
    // the copy of slots 9 and 12-15 ending in the loop's only taken jump.
    let out = compile(&p, &funcs);
    let offs = out.insn_offsets();
    let head = decode(&out, offs[5], offs[6]);
    let m: Vec<Mnemonic> = head.iter().map(|i| i.mnemonic()).collect();
    use Mnemonic::{Add, Cmp, Je, Jmp, Jne, Sub, Test};
    assert_eq!(m, [Cmp, Jne, Test, Je, Add, Add, Sub, Jne, Jmp]);
    let jumps = head.iter().filter(|i| matches!(i.mnemonic(), Je | Jne | Jmp));
    let targets: Vec<u64> = jumps.map(|i| i.near_branch_target()).collect();
    let slot = |pc: usize| offs[pc] as u64;
    assert_eq!(targets, [slot(6), slot(10), slot(3), slot(16)]);
    // Offsets stay in slot order, so the fault map is unchanged.
    assert!(offs.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn paths_that_close_no_loop_or_touch_memory_are_not_copied() {
    // if r1 == 0 goto +2; r0 = 1; exit; then r0 = 2 ... and no loop.
    let straight = [jmp(Cond::Eq, 2, Src::Imm(0), 2), a64(AluOp::Mov, 0, 1), EXIT, a64(AluOp::Mov, 0, 2), EXIT];
    // The same inside a loop whose path loads memory.
    let loads = [
        a64(AluOp::Mov, 4, 3),
        jmp(Cond::Eq, 2, Src::Imm(0), 2), // 1: head
        a64(AluOp::Mov, 0, 1),
        EXIT,
        ldx(Size::B, false, 0, 1, 0),
        a64(AluOp::Sub, 4, 1),
        jmp(Cond::Ne, 4, Src::Imm(0), -6),
        EXIT,
    ];
    for (p, head) in [(&straight[..], 0), (&loads[..], 1)] {
        let funcs = [Function { start: 0, end: p.len(), stack_depth: 0 }];
        let out = compile(p, &funcs);
        let offs = out.insn_offsets();
        let code = decode(&out, offs[head], offs[head + 1]);
        assert_eq!(code.iter().map(|i| i.mnemonic()).collect::<Vec<_>>(), [Mnemonic::Test, Mnemonic::Je]);
    }
}

/// A counted loop of random arithmetic, random guards, each
/// `if rX cond k goto +2; r0 = rY; exit`, and random cases ending in a
/// `goto` to the loop's latch (all on registers: no memory).
pub(super) fn random_loop(g: &mut fastrand::Rng) -> Vec<Insn> {
    use verifier::Width;
    let conds = [Cond::Eq, Cond::Ne, Cond::Gt, Cond::Ge, Cond::Lt, Cond::Le, Cond::SGt, Cond::SGe, Cond::SLt, Cond::SLe, Cond::Set];
    let ops = [AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Or, AluOp::And, AluOp::Lsh, AluOp::Rsh, AluOp::Xor, AluOp::Mov, AluOp::Arsh];
    let data = |g: &mut fastrand::Rng| r(g.choice([0, 1, 2, 4, 5]).unwrap());
    let mut p: Vec<Insn> = [0u8, 1, 2, 4, 5].iter().flat_map(|&i| lddw(i, g.u64(..))).collect();
    p.push(a64(AluOp::Mov, 3, g.i32(1..12)));
    let top = p.len();
    for _ in 0..g.usize(1..7) {
        let width = if g.bool() { Width::W64 } else { Width::W32 };
        let random = g.i32(..);
        let k = g.choice([0, 1, -1, 7, 1 << 20, random]).unwrap();
        let src = if g.bool() { Src::Reg(data(g)) } else { Src::Imm(k) };
        match g.u8(..4) {
            0 => {
                p.push(Insn::Jump { width, cond: g.choice(conds).unwrap(), dst: data(g), src, off: 2 });
                p.push(a64r(AluOp::Mov, 0, data(g).index() as u8));
                p.push(EXIT);
            }
            // A case: `if c goto +2; rX op= src; goto latch` (patched below).
            1 => {
                p.push(Insn::Jump { width, cond: g.choice(conds).unwrap(), dst: data(g), src, off: 2 });
                p.push(Insn::Alu { width, op: g.choice(ops).unwrap(), dst: data(g), src });
                p.push(Insn::Ja { off: i32::MAX, long: false });
            }
            _ => p.push(Insn::Alu { width, op: g.choice(ops).unwrap(), dst: data(g), src }),
        }
    }
    let latch = p.len();
    for (pc, insn) in p.iter_mut().enumerate() {
        if *insn == (Insn::Ja { off: i32::MAX, long: false }) {
            *insn = Insn::Ja { off: (latch - pc - 1) as i32, long: false };
        }
    }
    p.push(a64(AluOp::Sub, 3, 1));
    p.push(jmp(Cond::Ne, 3, Src::Imm(0), (top as i16) - p.len() as i16 - 1));
    p.push(EXIT);
    p
}

#[test]
fn copied_paths_compute_what_the_interpreter_does() {
    // Random loops against the reference interpreter.
    let mut g = fastrand::Rng::with_seed(0xc0de);
    let mut copied = 0;
    for round in 0..300 {
        let p = random_loop(&mut g);
        let funcs = [Function { start: 0, end: p.len(), stack_depth: 0 }];
        copied += usize::from(crate::codegen::hot_paths_of(&p, &funcs) > 0);
        let program = verifier::Program::from_insns(p.clone());
        let mut interp = vm::Vm::new(&program, vm::Config::plain());
        let want = interp.run(&mut vm::helpers::NoHelpers).map(|o| o.r0);
        assert_eq!(Ok(run_funcs(&p, &funcs, &mut [0u8; 8])), want, "round {round}: {p:?}");
    }
    assert!(copied > 100, "only {copied} programs had a copied path");
}

#[test]
fn a_goto_to_the_loops_latch_is_replaced_by_a_copy_of_it() {
    // r0 = sum over i < 10 of (i & 3 == 0 ? 5 : 7), the cases ending in
    // `goto next`; `next` is `r6 += 1; if r6 < 10 goto loop`.
    let p = [
        a64(AluOp::Mov, 0, 0),
        a64(AluOp::Mov, 6, 0),
        a64r(AluOp::Mov, 1, 6), // 2: loop
        a64(AluOp::And, 1, 3),
        jmp(Cond::Eq, 1, Src::Imm(0), 2),
        a64(AluOp::Add, 0, 7),
        Insn::Ja { off: 2, long: false }, // 6: goto next
        a64(AluOp::Add, 0, 5),
        Insn::Ja { off: 0, long: false }, // 8: goto next, the next slot
        a64(AluOp::Add, 6, 1),            // 9: next
        jmp(Cond::Lt, 6, Src::Imm(10), -9),
        EXIT,
    ];
    let funcs = [Function { start: 0, end: p.len(), stack_depth: 0 }];
    assert_eq!(run_funcs(&p, &funcs, &mut [0u8; 8]), 3 * 5 + 7 * 7);
    let out = compile(&p, &funcs);
    let offs = out.insn_offsets();
    let goto = decode(&out, offs[6], offs[7]);
    use Mnemonic::{Add, Cmp, Jb, Jmp};
    assert_eq!(goto.iter().map(|i| i.mnemonic()).collect::<Vec<_>>(), [Add, Cmp, Jb, Jmp]);
    assert_eq!(goto[2].near_branch_target(), offs[2] as u64);
    assert_eq!(goto[3].near_branch_target(), offs[11] as u64);
    assert_eq!(offs[8], offs[9], "a goto to the next slot emits nothing");
}
