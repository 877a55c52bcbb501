//! rbpf's interpreter as a second, independent oracle for the JIT: random
//! straight-line programs of 64- and 32-bit arithmetic, byte-order
//! conversions, forward conditional jumps and stack stores and loads (the
//! instructions both implement) must return the same r0, a fold of every
//! register.
//!
//! rbpf 0.4's known deviations from RFC 9669 are avoided rather than tested
//! (the conformance suite checks the JIT on both): a 32-bit modulo by zero
//! (rbpf keeps the upper half: 32-bit modulo takes an odd immediate),
//! negative immediates of 64-bit `==`, `!=` and unsigned comparisons (rbpf
//! zero-extends them), and 64-bit `neg` (rbpf overflows on INT_MIN).

use jit::host::CodeRegion;
use jit::JitOptions;
use verifier::{encode, AluOp, Cond, Endian, Imm64, Insn, Profile, Program, Reg, Size, Src, Width};

/// A seeded generator with the program-building choices, so failures reproduce.
struct Rng(fastrand::Rng);

impl Rng {
    fn reg(&mut self) -> Reg {
        Reg::new(self.0.u64(..10) as u8).unwrap()
    }
    fn imm(&mut self) -> i32 {
        match self.0.u64(..5) {
            0 => self.0.u64(..70) as i32 - 5,
            1 => self.0.u64(..) as i32,
            2 => i32::MIN,
            3 => 0,
            _ => -1,
        }
    }
}

const OPS: [AluOp; 12] = [
    AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::Or, AluOp::And, AluOp::Lsh, AluOp::Rsh, AluOp::Mod,
    AluOp::Xor, AluOp::Mov, AluOp::Arsh,
];
const CONDS: [Cond; 11] = [
    Cond::Eq, Cond::Gt, Cond::Ge, Cond::Set, Cond::Ne, Cond::SGt, Cond::SGe, Cond::Lt, Cond::Le, Cond::SLt, Cond::SLe,
];
const SIZES: [Size; 4] = [Size::B, Size::H, Size::W, Size::DW];

fn generate(rng: &mut Rng) -> Program {
    let mut insns = Vec::new();
    for r in 0..10 {
        insns.push(Insn::LoadImm64 { dst: Reg::new(r).unwrap(), imm: Imm64::Value(rng.0.u64(..)) });
        insns.push(Insn::Imm64Tail);
    }
    // The stack slots the loads read are written first.
    for slot in 1..=8 {
        insns.push(Insn::Store { size: Size::DW, dst: Reg::R10, off: -8 * slot, src: Src::Reg(rng.reg()) });
    }
    let body = 40;
    for i in 0..body {
        let width = if rng.0.u64(..2) == 0 { Width::W32 } else { Width::W64 };
        let dst = rng.reg();
        let src = if rng.0.u64(..2) == 0 { Src::Reg(rng.reg()) } else { Src::Imm(rng.imm()) };
        let off = -(rng.0.u64(..64) as i16) - 1;
        let size = SIZES[rng.0.u64(..4) as usize];
        let off = off & !(size.bytes() as i16 - 1);
        match rng.0.u64(..12) {
            0 => insns.push(Insn::Neg { width: Width::W32, dst }),
            1 => {
                let kind = if rng.0.u64(..2) == 0 { Endian::ToLe } else { Endian::ToBe };
                insns.push(Insn::Endian { kind, bits: [16, 32, 64][rng.0.u64(..3) as usize], dst });
            }
            2 | 3 => {
                let cond = CONDS[rng.0.u64(..11) as usize];
                let unsigned = matches!(cond, Cond::Eq | Cond::Ne | Cond::Gt | Cond::Ge | Cond::Lt | Cond::Le);
                let src = match src {
                    Src::Imm(i) if unsigned && width == Width::W64 => Src::Imm(i & i32::MAX),
                    other => other,
                };
                let off = rng.0.u64(..(body - i) as u64 + 3) as i16;
                insns.push(Insn::Jump { width, cond, dst, src, off });
            }
            4 => insns.push(Insn::Store { size, dst: Reg::R10, off, src }),
            5 => insns.push(Insn::Load { size, signed: false, dst, src: Reg::R10, off }),
            _ => {
                let op = OPS[rng.0.u64(..12) as usize];
                let src = match (op, width, src) {
                    (AluOp::Mod, Width::W32, _) => Src::Imm(rng.imm() | 1),
                    _ => src,
                };
                insns.push(Insn::Alu { width, op, dst, src });
            }
        }
    }
    for r in 1..10 {
        insns.push(Insn::Alu { width: Width::W64, op: AluOp::Xor, dst: Reg::R0, src: Src::Reg(Reg::new(r).unwrap()) });
    }
    insns.push(Insn::Exit);
    Program::from_insns(insns)
}

fn jit_run(program: &Program, blinding: Option<u64>) -> u64 {
    let verified = verifier::verify(program, &Profile::new()).unwrap_or_else(|r| panic!("{r}\n{}", verifier::listing(program)));
    let region = CodeRegion::map(jit::code_size_bound(program.len(), 1)).unwrap();
    let mut opts = JitOptions::new(region.address());
    opts.blinding = blinding;
    let out = jit::compile(&verified, &opts).unwrap();
    let code = region.seal(out.code()).unwrap();
    // SAFETY: verified with an empty context; the program touches only its stack.
    unsafe { code.call(out.entries()[0], std::ptr::null_mut()) }
}

#[test]
fn jit_agrees_with_rbpf() {
    let mut rng = Rng(fastrand::Rng::with_seed(0x0bad_5eed_1234_5678));
    let programs = 5_000;
    for n in 0..programs {
        let program = generate(&mut rng);
        let theirs = rbpf::EbpfVmNoData::new(Some(&encode(&program))).unwrap().execute_program().unwrap();
        for blinding in [None, Some(n)] {
            let ours = jit_run(&program, blinding);
            assert_eq!(ours, theirs, "program {n} (blinding {blinding:?}):\n{}", verifier::listing(&program));
        }
    }
    println!("JIT and rbpf agree on {programs} random programs (plain and blinded)");
}
