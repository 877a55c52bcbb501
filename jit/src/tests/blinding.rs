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

#[test]
fn a_blinded_addition_is_one_lea_unless_its_flags_serve_a_test() {
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, Register};
    // r0 += 5 is `lea rax, [rax + r12 + (5 - key)]`; r1 -= 1 before
    // `if r1 != 0` stays `sub`, whose flags the jump uses.
    let p = [
        a64(AluOp::Mov, 0, 7),
        a64(AluOp::Add, 0, 5),
        a64(AluOp::Mov, 1, 3),
        a64(AluOp::Sub, 1, 1),
        jmp(Cond::Ne, 1, Src::Imm(0), -2),
        EXIT,
    ];
    assert_eq!(run(&p), 12);
    let f = [Function { start: 0, end: p.len(), stack_depth: 0 }];
    let out = compile_at(&p, &f, 0, Some(3), CallMode::Near);
    let code = |pc: usize| {
        let (from, to) = (out.insn_offsets()[pc] as usize, out.insn_offsets()[pc + 1] as usize);
        let mut d = Decoder::with_ip(64, &out.code()[from..to], 0, DecoderOptions::NONE);
        core::iter::from_fn(move || d.can_decode().then(|| d.decode())).collect::<Vec<_>>()
    };
    let add = code(1);
    assert_eq!(add.len(), 1);
    let lea = (add[0].mnemonic(), add[0].memory_base(), add[0].memory_index());
    assert_eq!(lea, (Mnemonic::Lea, Register::RAX, Register::R12));
    let sub: Vec<Mnemonic> = code(3).iter().map(|i| i.mnemonic()).collect();
    assert_eq!(sub, [Mnemonic::Lea, Mnemonic::Sub]);
    assert_eq!(code(4).iter().map(|i| i.mnemonic()).collect::<Vec<_>>(), [Mnemonic::Jne]);
}
