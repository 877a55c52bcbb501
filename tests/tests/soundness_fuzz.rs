//! Soundness fuzzing: every program the verifier accepts must run in the
//! checking interpreter without a single violation, on random inputs.
//!
//! `WARDEN_FUZZ_PROGRAMS` sets the number of programs (default 100,000);
//! `WARDEN_FUZZ_SEED` the first seed (default 1). Program `i` is generated
//! from seed `first + i`, so a failure names the seed that reproduces it.

use verifier::{listing, verify, AluOp, AtomicOp, Cond, Endian, Imm64, Insn, Program, Reg, Size, Src, Width};
use vm::ViolationKind;
use warden_tests::fuzz::{generate, profile, run_inputs, run_inputs_with, FailedFill, Rng};

#[test]
fn accepted_programs_never_violate_memory_safety() {
    let count: u64 = std::env::var("WARDEN_FUZZ_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let first: u64 = std::env::var("WARDEN_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let profile = profile();
    let (mut accepted, mut runs, mut violations) = (0u64, 0u64, Vec::new());
    let start = std::time::Instant::now();
    for seed in first..first + count {
        let mut rng = Rng::new(seed);
        let program = generate(&mut rng);
        if verify(&program, &profile).is_err() {
            continue;
        }
        accepted += 1;
        runs += 4;
        if let Err(v) = run_inputs(&program, &mut rng, 4) {
            violations.push(format!("seed {seed}: {:?} at insn {}\n{}", v.kind, v.pc, listing(&program)));
        }
    }
    println!(
        "soundness fuzz: {count} programs, {accepted} accepted ({:.1}%), {runs} runs, {} violations, {:.1}s",
        100.0 * accepted as f64 / count as f64,
        violations.len(),
        start.elapsed().as_secs_f64()
    );
    for v in violations.iter().take(5) {
        println!("VIOLATION {v}");
    }
    assert!(violations.is_empty(), "{} accepted programs violated memory safety", violations.len());
    assert!(accepted * 20 > count, "accept rate too low to test anything: {accepted} of {count}");
}

/// Random instructions of every kind with random fields: the verifier must
/// answer every program without panicking, and whatever it accepts must
/// run safely too.
#[test]
fn random_instructions_never_panic_the_verifier() {
    let count: u64 = std::env::var("WARDEN_FUZZ_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let profile = profile();
    let mut accepted = 0u64;
    for seed in 0..count {
        let mut rng = Rng::new(seed ^ 0x5eed_0000);
        let program = random_program(&mut rng);
        if verify(&program, &profile).is_ok() {
            accepted += 1;
            if let Err(v) = run_inputs(&program, &mut rng, 2) {
                panic!("seed {seed}: accepted program violated memory safety: {:?} at {}\n{}", v.kind, v.pc, listing(&program));
            }
        }
    }
    println!("random instructions: {count} programs, {accepted} accepted");
}

/// A short program of random instructions, ending in `exit` most of the time.
fn random_program(rng: &mut Rng) -> Program {
    let n = 1 + rng.below(10) as usize;
    let mut insns = Vec::new();
    if rng.chance(50) {
        // A start that makes acceptance likelier: r0 set, scratch registers zero.
        for r in [0, 2, 3, 4, 5] {
            insns.push(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::new(r).unwrap_or(Reg::R0), src: Src::Imm(0) });
        }
    }
    while insns.len() < n + 5 {
        let insn = random_insn(rng);
        insns.push(insn);
        if let Insn::LoadImm64 { .. } = insn {
            insns.push(Insn::Imm64Tail);
        }
    }
    if rng.chance(90) {
        insns.push(Insn::Exit);
    }
    Program::from_insns(insns)
}

fn random_insn(rng: &mut Rng) -> Insn {
    let reg = |rng: &mut Rng| Reg::new(rng.below(11) as u8).unwrap_or(Reg::R0);
    let width = |rng: &mut Rng| if rng.chance(50) { Width::W32 } else { Width::W64 };
    let small = |rng: &mut Rng| rng.below(80) as i32 - 40;
    let src = |rng: &mut Rng| if rng.chance(50) { Src::Imm(rng.below(80) as i32 - 40) } else { Src::Reg(Reg::new(rng.below(11) as u8).unwrap_or(Reg::R0)) };
    let size = |rng: &mut Rng| rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
    match rng.below(12) {
        0 | 1 => {
            let op = rng.pick(&[
                AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::SDiv, AluOp::Or, AluOp::And, AluOp::Lsh,
                AluOp::Rsh, AluOp::Mod, AluOp::SMod, AluOp::Xor, AluOp::Mov, AluOp::MovSx(8), AluOp::MovSx(16), AluOp::Arsh,
            ]);
            Insn::Alu { width: width(rng), op, dst: reg(rng), src: src(rng) }
        }
        2 => Insn::Neg { width: width(rng), dst: reg(rng) },
        3 => Insn::Endian { kind: rng.pick(&[Endian::ToLe, Endian::ToBe, Endian::Swap]), bits: rng.pick(&[16, 32, 64]), dst: reg(rng) },
        4 => {
            let imm = match rng.below(4) {
                0 => Imm64::Value(rng.next()),
                1 => Imm64::MapRef(rng.below(4) as u32),
                2 => Imm64::MapValue { map: rng.below(4) as u32, offset: rng.below(20) as u32 },
                _ => Imm64::MapByIdx(rng.below(3) as u32),
            };
            Insn::LoadImm64 { dst: reg(rng), imm }
        }
        5 => Insn::Load { size: size(rng), signed: rng.chance(20), dst: reg(rng), src: reg(rng), off: small(rng) as i16 },
        6 => Insn::Store { size: size(rng), dst: reg(rng), off: small(rng) as i16, src: src(rng) },
        7 => Insn::Atomic {
            size: rng.pick(&[Size::W, Size::DW]),
            op: rng.pick(&[AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor, AtomicOp::Xchg, AtomicOp::CmpXchg]),
            fetch: rng.chance(50),
            dst: reg(rng),
            src: reg(rng),
            off: small(rng) as i16,
        },
        8 => Insn::Ja { off: rng.below(8) as i32 - 3, long: rng.chance(10) },
        9 => Insn::Jump {
            width: width(rng),
            cond: rng.pick(&[Cond::Eq, Cond::Ne, Cond::Gt, Cond::Ge, Cond::Lt, Cond::Le, Cond::Set, Cond::SGt, Cond::SGe, Cond::SLt, Cond::SLe]),
            dst: reg(rng),
            src: src(rng),
            off: rng.below(8) as i16 - 3,
        },
        10 => Insn::Call { helper: rng.below(10) as u32 },
        _ => if rng.chance(50) { Insn::CallLocal { off: rng.below(8) as i32 - 2 } } else { Insn::Exit },
    }
}

/// The campaign finds a helper that fails without writing its buffer (as
/// the kernel's `copy_from_user` once did): the verifier counts the buffer
/// as written, so a program reads stack it never wrote. The same programs
/// run clean when the failure zeroes the buffer.
#[test]
fn a_helper_failure_that_leaves_its_buffer_is_found() {
    let profile = profile();
    let (mut found, mut accepted) = (None, 0);
    for seed in 1..20_000u64 {
        let program = generate(&mut Rng::new(seed));
        if verify(&program, &profile).is_err() {
            continue;
        }
        accepted += 1;
        if let Err(v) = run_inputs_with(&program, &mut Rng::new(seed), 8, FailedFill::LeavesBuffer) {
            assert_eq!(v.kind, ViolationKind::UninitStack, "seed {seed}\n{}", listing(&program));
            assert!(run_inputs_with(&program, &mut Rng::new(seed), 8, FailedFill::Zeroes).is_ok(), "seed {seed}");
            found = Some(seed);
            break;
        }
    }
    let seed = found.unwrap_or_else(|| panic!("no violation in {accepted} accepted programs with the planted failure"));
    println!("planted helper failure found at seed {seed} after {accepted} accepted programs");
}
