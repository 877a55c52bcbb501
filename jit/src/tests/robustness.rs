//! The fault map, errors instead of panics, and random programs.

use super::*;
use alloc::vec::Vec;
use verifier::{AluOp, AtomicOp, Cond, Endian, Imm64, Insn, Size, Src, Width};

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

/// A seeded generator for the random programs below, so failures reproduce.
struct Rng(fastrand::Rng);

impl Rng {
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.0.u64(..xs.len() as u64) as usize]
    }
}

/// A random instruction with in-range jump targets (not a program the
/// verifier would accept: it is only compiled, never run).
fn random_insn(g: &mut Rng, pc: usize, len: usize) -> Insn {
    let reg = |g: &mut Rng| r(g.0.u64(..11) as u8);
    let imm = |g: &mut Rng| {
        let random = g.0.u64(..) as i32;
        g.pick(&[0, 1, -1, 8, 127, -128, 0x7fff_ffff, i32::MIN, random])
    };
    let src = |g: &mut Rng| if g.0.u64(..2) == 0 { Src::Imm(imm(g)) } else { Src::Reg(reg(g)) };
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
    let target_off = |g: &mut Rng| g.0.u64(..len as u64) as i64 - pc as i64 - 1;
    match g.0.u64(..12) {
        0..=3 => Insn::Alu { width: width(g), op: g.pick(&ops), dst: reg(g), src: src(g) },
        4 => Insn::Alu { width: Width::W64, op: AluOp::MovSx(g.pick(&[8, 16, 32])), dst: reg(g), src: Src::Reg(reg(g)) },
        5 => Insn::Endian { kind: g.pick(&[Endian::ToLe, Endian::ToBe, Endian::Swap]), bits: g.pick(&[16, 32, 64]), dst: reg(g) },
        6 => {
            let size = size(g);
            Insn::Load { size, signed: g.0.u64(..2) == 0 && size != Size::DW, dst: reg(g), src: reg(g), off: g.0.u64(..) as i16 }
        }
        7 => Insn::Store { size: size(g), dst: reg(g), off: g.0.u64(..) as i16, src: src(g) },
        8 => Insn::Atomic {
            size: g.pick(&[Size::W, Size::DW]),
            op: g.pick(&[AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor, AtomicOp::Xchg, AtomicOp::CmpXchg]),
            fetch: g.0.u64(..2) == 0,
            dst: reg(g),
            src: reg(g),
            off: g.0.u64(..) as i16,
        },
        9 => Insn::Jump { width: width(g), cond: g.pick(&conds), dst: reg(g), src: src(g), off: target_off(g) as i16 },
        10 => Insn::Ja { off: target_off(g) as i32, long: false },
        _ => g.pick(&[Insn::Call { helper: 5 }, Insn::Neg { width: Width::W64, dst: r(0) }, EXIT]),
    }
}

#[test]
fn random_programs_compile_within_the_bound_and_decode_cleanly() {
    use iced_x86::{Decoder, DecoderOptions};
    let mut g = Rng(fastrand::Rng::with_seed(0x1234_5678_9abc_def1));
    for round in 0..300 {
        let len = 1 + g.0.u64(..if round % 10 == 0 { 400 } else { 40 }) as usize;
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
