//! ALU operations, division, shifts and byte order.

use super::*;
use alloc::vec::Vec;
use verifier::{AluOp, Endian, Insn, Width};

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
