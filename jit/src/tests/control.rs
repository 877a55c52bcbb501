//! Jumps, flags, helper and local calls, frames.

use super::*;
use alloc::vec;
use verifier::{AluOp, Cond, Insn, Size, Src, Width};

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
    // Shifts by a constant other than 0 set the flags too; by 0 they do not.
    // (`r1 -= 0` leaves ZF set: stale flags would say `r2 == 0`.)
    for (count, want) in [(32, 0), (0, 9), (64, 9), (2, 9), (4, 0)] {
        let p = [
            a64(AluOp::Mov, 0, 9),
            a64(AluOp::Mov, 1, 0),
            a64(AluOp::Sub, 1, 0),
            a64(AluOp::Mov, 2, 0x0f),
            a64(AluOp::Rsh, 2, count),
            jmp(Cond::Eq, 2, Src::Imm(0), 1),
            EXIT,
            a64(AluOp::Mov, 0, 0),
            EXIT,
        ];
        assert_eq!(run(&p), want, "0xf >> {count}");
    }
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
    // Functions start 32-byte aligned, after int3 padding, in two passes.
    let out = compile_at(&p, &funcs, 0, None, CallMode::Near);
    assert_eq!(out.passes(), 2);
    assert!(out.entries().iter().all(|e| e % 32 == 0), "{:?}", out.entries());
    let before = &out.code()[..out.entries()[1] as usize];
    let padding = before.iter().rev().take_while(|&&b| b == 0xcc).count();
    assert!(padding < 32 && before[before.len() - padding - 1] == 0xc3, "{before:02x?}");
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
