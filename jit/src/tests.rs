//! Hand-built programs compiled and run on the host: every instruction
//! family with its edge cases, with and without constant blinding.
//! (Programs from the assembler, the conformance suite and the fuzzer are
//! tested against the reference interpreter in tests/tests/jit_*.rs.)

use crate::codegen::{Function, compile_program};
use crate::host::CodeRegion;
use crate::{CallMode, JitOptions, JitOutput, code_size_bound};
use alloc::vec;
use alloc::vec::Vec;
use verifier::{AluOp, AtomicOp, Cond, Endian, Imm64, Insn, Reg, Size, Src, Width};

// ---- building programs -------------------------------------------------------

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}
fn alu(width: Width, op: AluOp, dst: u8, src: Src) -> Insn {
    Insn::Alu { width, op, dst: r(dst), src }
}
fn a64(op: AluOp, dst: u8, imm: i32) -> Insn {
    alu(Width::W64, op, dst, Src::Imm(imm))
}
fn a64r(op: AluOp, dst: u8, src: u8) -> Insn {
    alu(Width::W64, op, dst, Src::Reg(r(src)))
}
fn a32(op: AluOp, dst: u8, imm: i32) -> Insn {
    alu(Width::W32, op, dst, Src::Imm(imm))
}
fn a32r(op: AluOp, dst: u8, src: u8) -> Insn {
    alu(Width::W32, op, dst, Src::Reg(r(src)))
}
fn lddw(dst: u8, v: u64) -> [Insn; 2] {
    [Insn::LoadImm64 { dst: r(dst), imm: Imm64::Value(v) }, Insn::Imm64Tail]
}
fn jmp(cond: Cond, dst: u8, src: Src, off: i16) -> Insn {
    Insn::Jump { width: Width::W64, cond, dst: r(dst), src, off }
}
fn ldx(size: Size, signed: bool, dst: u8, src: u8, off: i16) -> Insn {
    Insn::Load { size, signed, dst: r(dst), src: r(src), off }
}
fn stx(size: Size, dst: u8, off: i16, src: u8) -> Insn {
    Insn::Store { size, dst: r(dst), off, src: Src::Reg(r(src)) }
}
fn atomic(size: Size, op: AtomicOp, fetch: bool, dst: u8, src: u8, off: i16) -> Insn {
    Insn::Atomic { size, op, fetch, dst: r(dst), src: r(src), off }
}
const EXIT: Insn = Insn::Exit;

// ---- running them ------------------------------------------------------------

extern "C" fn helper_first(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    a
}
extern "C" fn helper_mix(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a ^ b.rotate_left(8) ^ c.rotate_left(16) ^ d.rotate_left(24) ^ e.rotate_left(32)
}

/// Returns `rsp % 16` as the helper sees it on entry: System V wants 8.
#[unsafe(naked)]
extern "C" fn helper_stack_alignment() -> u64 {
    core::arch::naked_asm!("mov rax, rsp", "and rax, 15", "ret")
}

fn helpers(id: u32) -> Option<u64> {
    match id {
        5 => Some(helper_first as *const () as u64),
        6 => Some(helper_mix as *const () as u64),
        7 => Some(helper_stack_alignment as *const () as u64),
        _ => None,
    }
}

fn compile_at(insns: &[Insn], functions: &[Function], at: u64, blinding: Option<u64>, mode: CallMode) -> JitOutput {
    let mut opts = JitOptions::new(at);
    opts.helper_address = &helpers;
    opts.blinding = blinding;
    opts.call_mode = mode;
    compile_program(insns, functions, &opts).expect("compiles")
}

/// Compiles and runs `insns` (one function unless `functions` says more)
/// on `mem`, in every mode: plain, blinded, and with far helper calls.
fn run_funcs(insns: &[Insn], functions: &[Function], mem: &mut [u8]) -> u64 {
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

fn run_mem(insns: &[Insn], mem: &mut [u8]) -> u64 {
    run_funcs(insns, &[Function { start: 0, end: insns.len(), stack_depth: 512 }], mem)
}

fn run(insns: &[Insn]) -> u64 {
    run_mem(insns, &mut [0u8; 64])
}

/// A program that computes `setup`, then `r0 = <reg>` and exits.
fn result_of(setup: &[Insn], reg: u8) -> u64 {
    let mut p = setup.to_vec();
    p.push(a64r(AluOp::Mov, 0, reg));
    p.push(EXIT);
    run(&p)
}

// ---- the tests ---------------------------------------------------------------

#[test]
fn returns_a_constant() {
    assert_eq!(run(&[a64(AluOp::Mov, 0, 1), EXIT]), 1);
    assert_eq!(run(&[a64(AluOp::Mov, 0, -1), EXIT]), u64::MAX);
    assert_eq!(run(&[a32(AluOp::Mov, 0, -1), EXIT]), 0xffff_ffff);
    let p: Vec<Insn> = lddw(0, 0x1122_3344_5566_7788).into_iter().chain([EXIT]).collect();
    assert_eq!(run(&p), 0x1122_3344_5566_7788);
}

#[test]
fn thirty_two_bit_operations_zero_extend() {
    for reg in 0..10 {
        let neg1 = a64(AluOp::Mov, reg, -1);
        assert_eq!(result_of(&[neg1, a32(AluOp::Add, reg, 1)], reg), 0, "r{reg}");
        assert_eq!(result_of(&[neg1, a32r(AluOp::Mov, reg, reg)], reg), 0xffff_ffff, "r{reg}");
        assert_eq!(result_of(&[neg1, a32(AluOp::Mul, reg, 3)], reg), 0xffff_fffd, "r{reg}");
        assert_eq!(result_of(&[neg1, a32(AluOp::Lsh, reg, 0)], reg), 0xffff_ffff, "r{reg}");
        assert_eq!(result_of(&[neg1, Insn::Neg { width: Width::W32, dst: r(reg) }], reg), 1, "r{reg}");
    }
}

#[test]
fn arithmetic_matches_rust() {
    let (x, y) = (0x8765_4321_0fed_cba9u64, 0x1234_5678_9abc_def1u64);
    type Op = fn(u64, u64) -> u64;
    let ops: [(AluOp, Op); 7] = [
        (AluOp::Add, |a, b| a.wrapping_add(b)),
        (AluOp::Sub, |a, b| a.wrapping_sub(b)),
        (AluOp::Mul, |a, b| a.wrapping_mul(b)),
        (AluOp::Or, |a, b| a | b),
        (AluOp::And, |a, b| a & b),
        (AluOp::Xor, |a, b| a ^ b),
        (AluOp::Div, |a, b| a / b),
    ];
    for (op, f) in ops {
        let mut p: Vec<Insn> = lddw(1, x).into();
        p.extend(lddw(2, y));
        p.push(a64r(op, 1, 2));
        assert_eq!(result_of(&p, 1), f(x, y), "{op:?} 64");
        let mut p: Vec<Insn> = lddw(1, x).into();
        p.push(a64(op, 1, -0x0123_4567));
        assert_eq!(result_of(&p, 1), f(x, -0x0123_4567_i64 as u64), "{op:?} 64 imm");
        let mut p: Vec<Insn> = lddw(1, x).into();
        p.extend(lddw(2, y));
        p.push(a32r(op, 1, 2));
        assert_eq!(result_of(&p, 1), f(x as u32 as u64, y as u32 as u64) as u32 as u64, "{op:?} 32");
    }
}

#[test]
fn division_by_zero_and_overflow_do_not_trap() {
    for (dst, src) in [(0, 1), (1, 0), (3, 0), (0, 3), (6, 4), (4, 3), (2, 2)] {
        let ten = a64(AluOp::Mov, dst, 10);
        let zero = a64(AluOp::Mov, src, 0);
        if dst != src {
            assert_eq!(result_of(&[ten, zero, a64r(AluOp::Div, dst, src)], dst), 0);
            assert_eq!(result_of(&[ten, zero, a64r(AluOp::Mod, dst, src)], dst), 10);
            assert_eq!(result_of(&[ten, zero, a64r(AluOp::SDiv, dst, src)], dst), 0);
            assert_eq!(result_of(&[ten, zero, a64r(AluOp::SMod, dst, src)], dst), 10);
            let neg = a64(AluOp::Mov, dst, -1);
            assert_eq!(result_of(&[neg, zero, a32r(AluOp::Mod, dst, src)], dst), 0xffff_ffff);
            assert_eq!(result_of(&[neg, zero, a32r(AluOp::SMod, dst, src)], dst), 0xffff_ffff);
            // INT_MIN / -1 and INT_MIN % -1
            let min: Vec<Insn> = lddw(dst, i64::MIN as u64).into();
            let m1 = a64(AluOp::Mov, src, -1);
            let run2 = |op| result_of(&[min[0], min[1], m1, a64r(op, dst, src)], dst);
            assert_eq!(run2(AluOp::SDiv), i64::MIN as u64);
            assert_eq!(run2(AluOp::SMod), 0);
            assert_eq!(run2(AluOp::Div), 0, "unsigned: INT_MIN / u64::MAX");
            let min32 = a32(AluOp::Mov, dst, i32::MIN);
            assert_eq!(result_of(&[min32, m1, a32r(AluOp::SDiv, dst, src)], dst), 0x8000_0000);
            assert_eq!(result_of(&[min32, m1, a32r(AluOp::SMod, dst, src)], dst), 0);
            // ordinary signed division truncates toward zero; modulo takes the dividend's sign
            let a = a64(AluOp::Mov, dst, -7);
            let b = a64(AluOp::Mov, src, 2);
            assert_eq!(result_of(&[a, b, a64r(AluOp::SDiv, dst, src)], dst), -3i64 as u64);
            assert_eq!(result_of(&[a, b, a64r(AluOp::SMod, dst, src)], dst), -1i64 as u64);
            assert_eq!(result_of(&[a, b, a64r(AluOp::Mod, dst, src)], dst), (-7i64 as u64) % 2);
            // the divisor and the other registers survive
            let c = a64(AluOp::Mov, 9, 99);
            let p = [a, b, c, a64r(AluOp::Div, dst, src), a64r(AluOp::Add, src, 9)];
            assert_eq!(result_of(&p, src), 101);
        }
    }
    let zero_imm = [a64(AluOp::Mov, 0, 10), a64(AluOp::Div, 0, 0)];
    assert_eq!(result_of(&zero_imm, 0), 0);
    let m1_imm = [a64(AluOp::Mov, 0, 10), a64(AluOp::SDiv, 0, -1)];
    assert_eq!(result_of(&m1_imm, 0), -10i64 as u64);
    let m1_imm = [a64(AluOp::Mov, 0, 10), a64(AluOp::SMod, 0, -1)];
    assert_eq!(result_of(&m1_imm, 0), 0);
    let u_imm = [a64(AluOp::Mov, 0, 10), a64(AluOp::Div, 0, -1)];
    assert_eq!(result_of(&u_imm, 0), 0, "10 / u64::MAX");
    let u_imm = [a32(AluOp::Mov, 0, 10), a32(AluOp::Mod, 0, 3)];
    assert_eq!(result_of(&u_imm, 0), 1);
    // 64-bit unsigned division takes the 32-bit `div` when both operands
    // fit in 32 bits, and the 64-bit one otherwise.
    for (a, b) in [(100u64, 7u64), (u32::MAX as u64, 3), (1 << 32, 7), (100, 1 << 32), (u64::MAX, u32::MAX as u64)] {
        for (dst, src) in [(1, 2), (0, 3), (3, 0)] {
            let mut p: Vec<Insn> = lddw(dst, a).into();
            p.extend(lddw(src, b));
            p.push(a64r(AluOp::Div, dst, src));
            assert_eq!(result_of(&p, dst), a / b, "{a} / {b}");
            *p.last_mut().unwrap() = a64r(AluOp::Mod, dst, src);
            assert_eq!(result_of(&p, dst), a % b, "{a} % {b}");
        }
    }
}

#[test]
fn shifts_mask_their_count_and_keep_rcx() {
    for (dst, cnt) in [(0, 4), (4, 1), (4, 4), (1, 2), (0, 0)] {
        let setup = [a64(AluOp::Mov, dst, 1), a64(AluOp::Mov, cnt, 65)];
        let want = if dst == cnt { 65 << (65 & 63) } else { 2 };
        assert_eq!(result_of(&[setup[0], setup[1], a64r(AluOp::Lsh, dst, cnt)], dst), want, "r{dst} <<= r{cnt}");
        if dst != cnt {
            assert_eq!(result_of(&[setup[0], setup[1], a64r(AluOp::Lsh, dst, cnt)], cnt), 65, "count register kept");
            let w = [a64(AluOp::Mov, dst, -1), a64(AluOp::Mov, cnt, 32), a32r(AluOp::Rsh, dst, cnt)];
            assert_eq!(result_of(&w, dst), 0xffff_ffff, "32-bit shift by 32 is by 0");
        }
    }
    assert_eq!(result_of(&[a64(AluOp::Mov, 0, -16), a64(AluOp::Arsh, 0, 2)], 0), -4i64 as u64);
    assert_eq!(result_of(&[a64(AluOp::Mov, 0, -16), a64(AluOp::Rsh, 0, 60)], 0), 0xf);
    assert_eq!(result_of(&[a32(AluOp::Mov, 0, -16), a32(AluOp::Arsh, 0, 2)], 0), 0xffff_fffc);
    assert_eq!(result_of(&[a64(AluOp::Mov, 0, 1), a64(AluOp::Lsh, 0, 64 + 3)], 0), 8);
}

#[test]
fn byte_swaps_and_sign_extension() {
    let v = 0x0102_0304_0506_0708u64;
    let swap = |kind, bits| {
        let mut p: Vec<Insn> = lddw(3, v).into();
        p.push(Insn::Endian { kind, bits, dst: r(3) });
        result_of(&p, 3)
    };
    assert_eq!(swap(Endian::ToBe, 16), 0x0807);
    assert_eq!(swap(Endian::ToBe, 32), 0x0807_0605);
    assert_eq!(swap(Endian::ToBe, 64), 0x0807_0605_0403_0201);
    assert_eq!(swap(Endian::Swap, 16), 0x0807);
    assert_eq!(swap(Endian::ToLe, 16), 0x0708);
    assert_eq!(swap(Endian::ToLe, 32), 0x0506_0708);
    assert_eq!(swap(Endian::ToLe, 64), v);
    for src in [1, 2, 6] {
        let set = a64(AluOp::Mov, src, 0x80);
        assert_eq!(result_of(&[set, a64r(AluOp::MovSx(8), 0, src)], 0), 0xffff_ffff_ffff_ff80);
        assert_eq!(result_of(&[set, a32r(AluOp::MovSx(8), 0, src)], 0), 0xffff_ff80);
        let set = a64(AluOp::Mov, src, 0x8000);
        assert_eq!(result_of(&[set, a64r(AluOp::MovSx(16), 0, src)], 0), 0xffff_ffff_ffff_8000);
        let set = a32(AluOp::Mov, src, i32::MIN);
        assert_eq!(result_of(&[set, a64r(AluOp::MovSx(32), 0, src)], 0), 0xffff_ffff_8000_0000);
    }
}

#[test]
fn loads_stores_and_the_stack() {
    let mut mem = [0u8; 64];
    mem[..8].copy_from_slice(&0x8182_8384_8586_8788u64.to_le_bytes());
    let p = [ldx(Size::B, true, 0, 1, 0), EXIT];
    assert_eq!(run_mem(&p, &mut mem), 0xffff_ffff_ffff_ff88);
    let p = [ldx(Size::H, false, 0, 1, 0), EXIT];
    assert_eq!(run_mem(&p, &mut mem), 0x8788);
    let p = [ldx(Size::W, true, 0, 1, 4), EXIT];
    assert_eq!(run_mem(&p, &mut mem), 0xffff_ffff_8182_8384);
    let p = [ldx(Size::DW, false, 0, 1, 0), EXIT];
    assert_eq!(run_mem(&p, &mut mem), 0x8182_8384_8586_8788);
    // every register as base and as value, through the stack
    for base in 1..10u8 {
        for val in 0..10u8 {
            if base == val {
                continue;
            }
            let p = [
                a64r(AluOp::Mov, base, 10),
                a64(AluOp::Mov, val, 0x5a),
                stx(Size::B, base, -1, val),
                Insn::Store { size: Size::H, dst: r(base), off: -4, src: Src::Imm(0x1234) },
                ldx(Size::B, false, 0, 10, -1),
                ldx(Size::H, false, 2, 10, -4),
                a64r(AluOp::Add, 0, 2),
                EXIT,
            ];
            assert_eq!(run(&p), 0x5a + 0x1234, "base r{base} value r{val}");
        }
    }
    let p = [
        Insn::Store { size: Size::DW, dst: r(1), off: 16, src: Src::Imm(-2) },
        Insn::Store { size: Size::W, dst: r(1), off: 24, src: Src::Imm(0x7eadbeef) },
        ldx(Size::DW, false, 0, 1, 16),
        EXIT,
    ];
    let mut mem = [0u8; 64];
    assert_eq!(run_mem(&p, &mut mem), -2i64 as u64);
    assert_eq!(&mem[24..28], &0x7eadbeefu32.to_le_bytes());
}

#[test]
fn atomics() {
    let word = |mem: &[u8], at: usize| u64::from_le_bytes(mem[at..at + 8].try_into().unwrap());
    for size in [Size::W, Size::DW] {
        for src in [0u8, 2, 6] {
            let mut mem = [0u8; 64];
            mem[8..16].copy_from_slice(&0x0000_00f0_0000_00f0u64.to_le_bytes());
            let ops = [
                (AtomicOp::Add, false),
                (AtomicOp::Add, true),
                (AtomicOp::Or, true),
                (AtomicOp::And, true),
                (AtomicOp::Xor, true),
                (AtomicOp::Xchg, true),
                (AtomicOp::Or, false),
            ];
            for (op, fetch) in ops {
                let before = word(&mem, 8);
                let p = [a64(AluOp::Mov, src, 0x0f), atomic(size, op, fetch, 1, src, 8), a64r(AluOp::Mov, 0, src), EXIT];
                let got = run_mem(&p, &mut mem);
                let after = word(&mem, 8);
                let (old, new) = match size {
                    Size::W => (before & 0xffff_ffff, after & 0xffff_ffff),
                    _ => (before, after),
                };
                let want_new = match op {
                    AtomicOp::Add => old.wrapping_add(0xf),
                    AtomicOp::Or => old | 0xf,
                    AtomicOp::And => old & 0xf,
                    AtomicOp::Xor => old ^ 0xf,
                    _ => 0xf,
                };
                let want_new = if size == Size::W { want_new & 0xffff_ffff } else { want_new };
                assert_eq!(new, want_new, "{size:?} {op:?} r{src}");
                assert_eq!(after >> 32, if size == Size::W { before >> 32 } else { after >> 32 });
                assert_eq!(got, if fetch { old } else { 0xf }, "{size:?} {op:?} fetch r{src}");
            }
        }
        // cmpxchg: r0 is compared and always receives the old value
        let mut mem = [0u8; 64];
        mem[8] = 5;
        let p = |expect: i32| {
            [a64(AluOp::Mov, 0, -1), a32(AluOp::Mov, 0, expect), a64(AluOp::Mov, 2, 9), atomic(size, AtomicOp::CmpXchg, true, 1, 2, 8), EXIT]
        };
        assert_eq!(run_mem(&p(4), &mut mem), 5, "{size:?} failing cmpxchg");
        assert_eq!(mem[8], 5);
        let hit = run_mem(&p(5), &mut mem);
        assert_eq!(mem[8], 9, "{size:?} cmpxchg stores");
        assert_eq!(hit, 5, "{size:?} successful cmpxchg leaves the old value, zero-extended");
    }
}

#[test]
fn jumps_loops_and_long_jumps() {
    // r0 = sum of 1..=100
    let p = [
        a64(AluOp::Mov, 0, 0),
        a64(AluOp::Mov, 1, 100),
        a64r(AluOp::Add, 0, 1),
        a64(AluOp::Sub, 1, 1),
        jmp(Cond::Ne, 1, Src::Imm(0), -3),
        EXIT,
    ];
    assert_eq!(run(&p), 5050);
    // every condition, signed and unsigned, against a value of each sign
    type Test = fn(i64, i64) -> bool;
    let conds: [(Cond, Test); 11] = [
        (Cond::Eq, |a, b| a == b),
        (Cond::Ne, |a, b| a != b),
        (Cond::Gt, |a, b| (a as u64) > b as u64),
        (Cond::Ge, |a, b| a as u64 >= b as u64),
        (Cond::Lt, |a, b| (a as u64) < b as u64),
        (Cond::Le, |a, b| a as u64 <= b as u64),
        (Cond::SGt, |a, b| a > b),
        (Cond::SGe, |a, b| a >= b),
        (Cond::SLt, |a, b| a < b),
        (Cond::SLe, |a, b| a <= b),
        (Cond::Set, |a, b| a & b != 0),
    ];
    for (cond, f) in conds {
        for (a, b) in [(-1i64, 1i64), (1, -1), (3, 3), (0, 0), (2, 1)] {
            for src in [Src::Imm(b as i32), Src::Reg(r(2))] {
                let p = [
                    a64(AluOp::Mov, 1, a as i32),
                    a64(AluOp::Mov, 2, b as i32),
                    a64(AluOp::Mov, 0, 1),
                    jmp(cond, 1, src, 1),
                    a64(AluOp::Mov, 0, 0),
                    EXIT,
                ];
                assert_eq!(run(&p), f(a, b) as u64, "{a} {cond:?} {b} ({src:?})");
            }
        }
    }
    // a jump over more than 127 bytes needs rel32; the loop around it too
    let mut p = vec![a64(AluOp::Mov, 0, 0), a64(AluOp::Mov, 1, 3)];
    p.push(jmp(Cond::Eq, 1, Src::Imm(7), 60));
    p.extend((0..60).map(|_| a64(AluOp::Add, 0, 0x10000)));
    p.push(a64(AluOp::Sub, 1, 1));
    p.push(jmp(Cond::Ne, 1, Src::Imm(0), -63));
    p.push(EXIT);
    assert_eq!(run(&p), 3 * 60 * 0x10000);
    let out = compile_at(&p, &[Function { start: 0, end: p.len(), stack_depth: 0 }], 0, None, CallMode::HostFar);
    assert!(out.passes() >= 2);
    let out_blinded = compile_at(&p, &[Function { start: 0, end: p.len(), stack_depth: 0 }], 0, Some(1), CallMode::HostFar);
    assert!(out_blinded.size() > out.size());
}

#[test]
fn flags_of_an_alu_operation_are_reused_only_where_no_jump_arrives() {
    // Slot 5 tests r1 right after `r1 -= 1`, but slot 2 also jumps there
    // with the flags of `r2 == 0`: the test must be emitted.
    let p = [
        a64(AluOp::Mov, 1, 1),
        a64(AluOp::Mov, 2, 0),
        jmp(Cond::Eq, 2, Src::Imm(0), 2),
        a64(AluOp::Mov, 0, 5),
        a64(AluOp::Sub, 1, 1),
        jmp(Cond::Ne, 1, Src::Imm(0), 2),
        a64(AluOp::Mov, 0, 0),
        EXIT,
        a64(AluOp::Mov, 0, 1),
        EXIT,
    ];
    assert_eq!(run(&p), 1);
    // Without the incoming jump, `sub` sets the flags and no `test` follows.
    let count = [a64(AluOp::Mov, 1, 3), a64(AluOp::Sub, 1, 1), jmp(Cond::Ne, 1, Src::Imm(0), -2), a64r(AluOp::Mov, 0, 1), EXIT];
    assert_eq!(run(&count), 0);
    let out = compile_at(&count, &[Function { start: 0, end: 5, stack_depth: 0 }], 0, None, CallMode::Near);
    let test_rdi_rdi = [0x48, 0x85, 0xff];
    assert!(!out.code().windows(3).any(|w| w == test_rdi_rdi), "{:02x?}", out.code());
    // A 32-bit result is the zero-extended 64-bit value: its flags serve a
    // 64-bit test too; a 64-bit result's do not serve a 32-bit test.
    let w = [a64(AluOp::Mov, 1, -1), a32(AluOp::Add, 1, 1), jmp(Cond::Eq, 1, Src::Imm(0), 1), EXIT, a64(AluOp::Mov, 0, 9), EXIT];
    assert_eq!(run(&[&[a64(AluOp::Mov, 0, 0)], &w[..]].concat()), 9);
    let w = [
        a64(AluOp::Mov, 0, 0),
        lddw(1, 0xffff_ffff)[0],
        lddw(1, 0xffff_ffff)[1],
        a64(AluOp::Add, 1, 1),
        Insn::Jump { width: Width::W32, cond: Cond::Eq, dst: r(1), src: Src::Imm(0), off: 1 },
        EXIT,
        a64(AluOp::Mov, 0, 9),
        EXIT,
    ];
    assert_eq!(run(&w), 9, "low half of 0x1_0000_0000 is zero");
}

#[test]
fn helper_calls_pass_five_arguments_and_keep_r6_to_r9() {
    let mut p = vec![];
    for (reg, v) in [(1u8, 0x11i32), (2, 0x22), (3, 0x33), (4, 0x44), (5, 0x55), (6, 6), (7, 7), (8, 8), (9, 9)] {
        p.push(a64(AluOp::Mov, reg, v));
    }
    p.push(Insn::Call { helper: 6 });
    for reg in 6..10 {
        p.push(a64r(AluOp::Add, 0, reg));
    }
    p.push(EXIT);
    assert_eq!(run(&p), helper_mix(0x11, 0x22, 0x33, 0x44, 0x55) + 6 + 7 + 8 + 9);
    let p = [a64(AluOp::Mov, 1, 42), Insn::Call { helper: 5 }, EXIT];
    assert_eq!(run(&p), 42);
}

#[test]
fn local_calls_have_their_own_frames() {
    // main: r6 = 1000; *(r10-8) = 1; r1 = 5; call f; r0 += r6; r0 += *(r10-8); exit
    // f:    *(r10-8) = 77; r6 = 3; r0 = r1 * 2; r0 += *(r10-8); exit
    let p = [
        a64(AluOp::Mov, 6, 1000),
        Insn::Store { size: Size::DW, dst: r(10), off: -8, src: Src::Imm(1) },
        a64(AluOp::Mov, 1, 5),
        Insn::CallLocal { off: 4 },
        a64r(AluOp::Add, 0, 6),
        ldx(Size::DW, false, 2, 10, -8),
        a64r(AluOp::Add, 0, 2),
        EXIT,
        Insn::Store { size: Size::DW, dst: r(10), off: -8, src: Src::Imm(77) },
        a64(AluOp::Mov, 6, 3),
        a64r(AluOp::Mov, 0, 1),
        a64(AluOp::Mul, 0, 2),
        ldx(Size::DW, false, 2, 10, -8),
        a64r(AluOp::Add, 0, 2),
        EXIT,
    ];
    let funcs = [Function { start: 0, end: 8, stack_depth: 8 }, Function { start: 8, end: p.len(), stack_depth: 8 }];
    assert_eq!(run_funcs(&p, &funcs, &mut [0u8; 8]), 10 + 77 + 1000 + 1);
    // Functions start 16-byte aligned, after int3 padding, in two passes.
    let out = compile_at(&p, &funcs, 0, None, CallMode::Near);
    assert_eq!(out.passes(), 2);
    assert!(out.entries().iter().all(|e| e % 16 == 0), "{:?}", out.entries());
    let before = &out.code()[..out.entries()[1] as usize];
    let padding = before.iter().rev().take_while(|&&b| b == 0xcc).count();
    assert!(padding < 16 && before[before.len() - padding - 1] == 0xc3, "{before:02x?}");
}

#[test]
fn blinded_additions_keep_their_value_at_the_edges() {
    // Blinded add/sub split the immediate in two; the sum must survive
    // sign extension for every immediate.
    let start = 0x0123_4567_89ab_cdefu64;
    for k in [0, 1, -1, 2, -2, i32::MAX, i32::MIN, i32::MAX - 1, i32::MIN + 1, 1 << 30, -(1 << 30)] {
        for (op, f) in [(AluOp::Add, u64::wrapping_add as fn(u64, u64) -> u64), (AluOp::Sub, u64::wrapping_sub)] {
            let mut p: Vec<Insn> = lddw(0, start).into();
            p.extend([a64(op, 0, k), EXIT]);
            assert_eq!(run(&p), f(start, k as i64 as u64), "{op:?} {k} (64)");
            let mut p: Vec<Insn> = lddw(0, start).into();
            p.extend([a32(op, 0, k), EXIT]);
            assert_eq!(run(&p), f(start, k as i64 as u64) as u32 as u64, "{op:?} {k} (32)");
        }
    }
}

#[test]
fn helpers_see_an_aligned_stack_through_any_frames() {
    // main -> f (writes r6, no stack) -> g (stack, writes r6 and r7) -> helper 7,
    // and main -> helper 7 directly; each returns rsp % 16 at the helper.
    let p = [
        Insn::Call { helper: 7 },
        a64r(AluOp::Mov, 6, 0),
        Insn::CallLocal { off: 3 },
        a64r(AluOp::Add, 0, 6),
        a64(AluOp::Mul, 0, 100),
        EXIT,
        // f
        a64(AluOp::Mov, 6, 1),
        Insn::CallLocal { off: 2 },
        a64r(AluOp::Add, 0, 6),
        EXIT,
        // g
        Insn::Store { size: Size::DW, dst: r(10), off: -8, src: Src::Imm(0) },
        a64(AluOp::Mov, 6, 2),
        a64(AluOp::Mov, 7, 3),
        Insn::Call { helper: 7 },
        a64r(AluOp::Add, 0, 6),
        a64r(AluOp::Add, 0, 7),
        EXIT,
    ];
    let funcs = [
        Function { start: 0, end: 6, stack_depth: 0 },
        Function { start: 6, end: 10, stack_depth: 0 },
        Function { start: 10, end: 17, stack_depth: 8 },
    ];
    // helper in g: 8 + 2 + 3, +1 in f; main: (8 + (8 + 6)) * 100
    assert_eq!(run_funcs(&p, &funcs, &mut [0u8; 8]), (8 + 8 + 2 + 3 + 1) * 100);
}

#[test]
fn blinding_hides_every_immediate() {
    let secret = 0x7eadbeefu32 as i32;
    let p: Vec<Insn> = [
        a64(AluOp::Mov, 0, secret),
        a64(AluOp::Add, 0, secret),
        a32(AluOp::Sub, 0, secret),
        a64(AluOp::Sub, 0, -secret),
        a32(AluOp::Xor, 0, secret),
        a64(AluOp::Mul, 0, secret),
        Insn::Store { size: Size::W, dst: r(10), off: -4, src: Src::Imm(secret) },
        jmp(Cond::Eq, 0, Src::Imm(secret), 0),
        a64(AluOp::Div, 0, secret),
        a64(AluOp::Lsh, 0, secret),
    ]
    .into_iter()
    .chain(lddw(1, 0x7eadbeef_7eadbeef))
    .chain([EXIT])
    .collect();
    let f = [Function { start: 0, end: p.len(), stack_depth: 8 }];
    let contains = |code: &[u8], pat: &[u8]| code.windows(pat.len()).any(|w| w == pat);
    let plain = compile_at(&p, &f, 0, None, CallMode::Near);
    assert!(contains(plain.code(), &secret.to_le_bytes()));
    for seed in 0..50 {
        let blinded = compile_at(&p, &f, 0, Some(seed), CallMode::Near);
        assert!(!contains(blinded.code(), &secret.to_le_bytes()), "seed {seed}");
        assert!(!contains(blinded.code(), &secret.to_le_bytes()[..3]), "seed {seed}: three bytes");
    }
}

#[test]
fn fault_map_points_at_instructions() {
    let p = [a64(AluOp::Mov, 0, 1), ldx(Size::DW, false, 0, 1, 0), a64(AluOp::Add, 0, 1), EXIT];
    let out = compile_at(&p, &[Function { start: 0, end: 4, stack_depth: 0 }], 0, None, CallMode::Near);
    let offs = out.insn_offsets();
    assert_eq!(offs.len(), 4);
    assert!(offs.windows(2).all(|w| w[0] < w[1]));
    for (pc, &o) in offs.iter().enumerate() {
        assert_eq!(out.insn_at(o), Some(pc));
    }
    assert_eq!(out.insn_at(out.size() as u32), None);
}

#[test]
fn bad_programs_are_errors_not_panics() {
    use crate::JitError;
    let one = |end| [Function { start: 0, end, stack_depth: 0 }];
    let opts = JitOptions::new(0);
    assert_eq!(compile_program(&[EXIT], &[], &opts).unwrap_err(), JitError::BadFunctions);
    assert_eq!(compile_program(&[EXIT], &one(2), &opts).unwrap_err(), JitError::BadFunctions);
    let p = [jmp(Cond::Eq, 0, Src::Imm(0), 5), EXIT];
    assert_eq!(compile_program(&p, &one(2), &opts).unwrap_err(), JitError::BadTarget { pc: 0 });
    let p = [Insn::Ja { off: 0, long: false }, lddw(0, 1)[0], lddw(0, 1)[1], Insn::Ja { off: -2, long: false }];
    assert_eq!(compile_program(&p, &one(4), &opts).unwrap_err(), JitError::BadTarget { pc: 3 });
    let p = [Insn::Call { helper: 99 }, EXIT];
    assert_eq!(compile_program(&p, &one(2), &opts).unwrap_err(), JitError::UnknownHelper { pc: 0, helper: 99 });
    let p = [Insn::LoadImm64 { dst: r(1), imm: Imm64::MapRef(0) }, Insn::Imm64Tail, EXIT];
    assert_eq!(compile_program(&p, &one(3), &opts).unwrap_err(), JitError::UnresolvedImm64 { pc: 0 });
    let far = |_: u32| Some(u64::MAX / 2);
    let mut o = JitOptions::new(0);
    o.helper_address = &far;
    let p = [Insn::Call { helper: 1 }, EXIT];
    assert!(matches!(compile_program(&p, &one(2), &o), Err(JitError::HelperOutOfReach { .. })));
    let big = [Function { start: 0, end: 1, stack_depth: 520 }];
    assert!(matches!(compile_program(&[EXIT], &big, &opts), Err(JitError::StackTooLarge { .. })));
}

/// A tiny deterministic generator for the random programs below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A random instruction with in-range jump targets (not a program the
/// verifier would accept: it is only compiled, never run).
fn random_insn(g: &mut Rng, pc: usize, len: usize) -> Insn {
    let reg = |g: &mut Rng| r(g.below(11) as u8);
    let imm = |g: &mut Rng| {
        let random = g.next() as i32;
        g.pick(&[0, 1, -1, 8, 127, -128, 0x7fff_ffff, i32::MIN, random])
    };
    let src = |g: &mut Rng| if g.below(2) == 0 { Src::Imm(imm(g)) } else { Src::Reg(reg(g)) };
    let width = |g: &mut Rng| g.pick(&[Width::W32, Width::W64]);
    let size = |g: &mut Rng| g.pick(&[Size::B, Size::H, Size::W, Size::DW]);
    let ops = [
        AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::SDiv, AluOp::Or, AluOp::And, AluOp::Lsh,
        AluOp::Rsh, AluOp::Mod, AluOp::SMod, AluOp::Xor, AluOp::Mov, AluOp::Arsh,
    ];
    let conds = [
        Cond::Eq, Cond::Gt, Cond::Ge, Cond::Set, Cond::Ne, Cond::SGt, Cond::SGe, Cond::Lt, Cond::Le, Cond::SLt,
        Cond::SLe,
    ];
    let target_off = |g: &mut Rng| g.below(len as u64) as i64 - pc as i64 - 1;
    match g.below(12) {
        0..=3 => Insn::Alu { width: width(g), op: g.pick(&ops), dst: reg(g), src: src(g) },
        4 => Insn::Alu { width: Width::W64, op: AluOp::MovSx(g.pick(&[8, 16, 32])), dst: reg(g), src: Src::Reg(reg(g)) },
        5 => Insn::Endian { kind: g.pick(&[Endian::ToLe, Endian::ToBe, Endian::Swap]), bits: g.pick(&[16, 32, 64]), dst: reg(g) },
        6 => {
            let size = size(g);
            Insn::Load { size, signed: g.below(2) == 0 && size != Size::DW, dst: reg(g), src: reg(g), off: g.next() as i16 }
        }
        7 => Insn::Store { size: size(g), dst: reg(g), off: g.next() as i16, src: src(g) },
        8 => Insn::Atomic {
            size: g.pick(&[Size::W, Size::DW]),
            op: g.pick(&[AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor, AtomicOp::Xchg, AtomicOp::CmpXchg]),
            fetch: g.below(2) == 0,
            dst: reg(g),
            src: reg(g),
            off: g.next() as i16,
        },
        9 => Insn::Jump { width: width(g), cond: g.pick(&conds), dst: reg(g), src: src(g), off: target_off(g) as i16 },
        10 => Insn::Ja { off: target_off(g) as i32, long: false },
        _ => g.pick(&[Insn::Call { helper: 5 }, Insn::Neg { width: Width::W64, dst: r(0) }, EXIT]),
    }
}

#[test]
fn random_programs_compile_within_the_bound_and_decode_cleanly() {
    use iced_x86::{Decoder, DecoderOptions};
    let mut g = Rng(0x1234_5678_9abc_def1);
    for round in 0..300 {
        let len = 1 + g.below(if round % 10 == 0 { 400 } else { 40 }) as usize;
        let mut p: Vec<Insn> = (0..len).map(|pc| random_insn(&mut g, pc, len)).collect();
        // Jumps may not land on the tail of a 64-bit load: keep loads out.
        p.retain(|i| !matches!(i, Insn::LoadImm64 { .. }));
        let f = [Function { start: 0, end: p.len(), stack_depth: 512 }];
        for (blinding, mode) in [(None, CallMode::Near), (Some(round), CallMode::Near), (None, CallMode::HostFar)] {
            let out = compile_at(&p, &f, helper_first as *const () as u64 + 0x1000_0000, blinding, mode);
            assert!(out.size() <= code_size_bound(p.len(), 1));
            assert_eq!(out.passes(), 2, "round {round}: the relaxed layout is exact");
            // Every byte decodes, and each instruction's code starts on an
            // x86 instruction boundary.
            let mut decoder = Decoder::with_ip(64, out.code(), 0, DecoderOptions::NONE);
            let mut starts = Vec::new();
            while decoder.can_decode() {
                let at = decoder.ip() as u32;
                let insn = decoder.decode();
                assert!(!insn.is_invalid(), "round {round}: invalid x86 at {at:#x}");
                starts.push(at);
            }
            for &o in out.insn_offsets() {
                assert!(o as usize == out.size() || starts.binary_search(&o).is_ok(), "round {round}: {o:#x}");
            }
        }
    }
}
