//! Differential test of the interpreter against rbpf's, an independent
//! implementation: random straight-line programs of 64- and 32-bit
//! arithmetic, byte-order conversions and forward conditional jumps (the
//! instructions both implement) must leave the same registers.
//!
//! Two known deviations of rbpf 0.4 from RFC 9669 are avoided rather than
//! tested (the conformance suite checks this interpreter on both):
//! * rbpf leaves all 64 bits of dst on a 32-bit modulo by zero, where the
//!   RFC clears the upper half: 32-bit modulo takes an odd immediate;
//! * rbpf zero-extends the immediate of 64-bit `==`, `!=` and unsigned
//!   comparisons, where the RFC sign-extends it (`j-signed-imm.data`):
//!   those use non-negative immediates.
//!
//! And rbpf's 64-bit `neg` overflows (a panic in a debug build) on
//! INT_MIN, so only the 32-bit `neg` is generated.

use verifier::{AluOp, Cond, Endian, Imm64, Insn, Program, Reg, Src, Width, encode};
use vm::{Config, NoHelpers, Vm};

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
    fn reg(&mut self) -> Reg {
        Reg::new(self.below(10) as u8).unwrap()
    }
    fn imm(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(70) as i32 - 5,
            1 => self.next() as i32,
            2 => i32::MIN,
            _ => -1,
        }
    }
}

const OPS: [AluOp; 12] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::Arsh,
];
const CONDS: [Cond; 11] = [
    Cond::Eq,
    Cond::Gt,
    Cond::Ge,
    Cond::Set,
    Cond::Ne,
    Cond::SGt,
    Cond::SGe,
    Cond::Lt,
    Cond::Le,
    Cond::SLt,
    Cond::SLe,
];

fn generate(rng: &mut Rng) -> Program {
    let mut insns = Vec::new();
    for r in 0..10 {
        let dst = Reg::new(r).unwrap();
        insns.push(Insn::LoadImm64 {
            dst,
            imm: Imm64::Value(rng.next()),
        });
        insns.push(Insn::Imm64Tail);
    }
    let body = 40;
    for i in 0..body {
        let width = if rng.below(2) == 0 {
            Width::W32
        } else {
            Width::W64
        };
        let dst = rng.reg();
        let src = if rng.below(2) == 0 {
            Src::Reg(rng.reg())
        } else {
            Src::Imm(rng.imm())
        };
        match rng.below(10) {
            0 => insns.push(Insn::Neg {
                width: Width::W32,
                dst,
            }),
            1 => {
                let kind = if rng.below(2) == 0 {
                    Endian::ToLe
                } else {
                    Endian::ToBe
                };
                let bits = [16, 32, 64][rng.below(3) as usize];
                insns.push(Insn::Endian { kind, bits, dst });
            }
            2 | 3 => {
                let cond = CONDS[rng.below(11) as usize];
                let unsigned = matches!(
                    cond,
                    Cond::Eq | Cond::Ne | Cond::Gt | Cond::Ge | Cond::Lt | Cond::Le
                );
                let src = match src {
                    Src::Imm(i) if unsigned && width == Width::W64 => Src::Imm(i & i32::MAX),
                    other => other,
                };
                let off = rng.below((body - i) as u64 + 3) as i16;
                insns.push(Insn::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    off,
                });
            }
            _ => {
                let op = OPS[rng.below(12) as usize];
                let src = match (op, width, src) {
                    (AluOp::Mod, Width::W32, _) => Src::Imm(rng.imm() | 1),
                    _ => src,
                };
                insns.push(Insn::Alu {
                    width,
                    op,
                    dst,
                    src,
                });
            }
        }
    }
    for r in 1..10 {
        let src = Src::Reg(Reg::new(r).unwrap());
        insns.push(Insn::Alu {
            width: Width::W64,
            op: AluOp::Xor,
            dst: Reg::R0,
            src,
        });
    }
    insns.push(Insn::Exit);
    Program::from_insns(insns)
}

fn run_both(program: &Program) -> (Result<u64, vm::Violation>, u64) {
    let ours = Vm::new(program, Config::plain())
        .run(&mut NoHelpers)
        .map(|o| o.r0);
    let bytes = encode(program);
    let theirs = rbpf::EbpfVmNoData::new(Some(&bytes))
        .unwrap()
        .execute_program()
        .unwrap();
    (ours, theirs)
}

/// For a failure report: the shortest prefix of the body (jumps cut to
/// land at the epilogue) on which the two disagree, as a listing.
fn shortest_difference(program: &Program) -> String {
    let insns = program.insns();
    let epilogue = &insns[insns.len() - 10..];
    for k in 20..=insns.len() - 10 {
        let mut v: Vec<Insn> = insns[..k].to_vec();
        for (j, insn) in v.iter_mut().enumerate() {
            if let Insn::Jump { off, .. } = insn {
                *off = (*off).min((k - j - 1) as i16);
            }
        }
        v.extend_from_slice(epilogue);
        let p = Program::from_insns(v);
        let (ours, theirs) = run_both(&p);
        if ours != Ok(theirs) {
            return verifier::listing(&p);
        }
    }
    verifier::listing(program)
}

#[test]
fn interpreter_agrees_with_rbpf() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let programs = 20_000;
    for n in 0..programs {
        let program = generate(&mut rng);
        let (ours, theirs) = run_both(&program);
        if ours != Ok(theirs) {
            panic!(
                "program {n}: {ours:?} vs rbpf {theirs}\n{}",
                shortest_difference(&program)
            );
        }
    }
    println!("{programs} random programs: interpreter and rbpf agree");
}
