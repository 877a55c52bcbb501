//! Loads, stores and atomics.

use super::*;
use verifier::{AluOp, AtomicOp, Insn, Size, Src};

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
