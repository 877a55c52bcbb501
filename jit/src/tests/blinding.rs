//! Constant blinding: values kept, immediates hidden.

use super::*;
use alloc::vec::Vec;
use verifier::{AluOp, Cond, Insn, Size, Src};

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
