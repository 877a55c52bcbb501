//! The differential test against the Linux verifier of the machine it runs
//! on: each generated program (see [`generate`]) is loaded into Linux as a
//! socket filter with an array map (as root, through `bpf(2)`: see
//! [`bpf`]; nothing attached, every descriptor closed) and verified by
//! Warden against a profile with the same map and the same helper ids.
//!
//! * [`Linux::open`]: the machine's verifier, or why it cannot be used
//!   (not root, another OS, a kernel without BPF).
//! * [`compare`]: both verdicts for one program, with Warden's processed
//!   instructions and time.
//! * [`run_checked`]: runs a program Warden accepted in the checking
//!   interpreter on random inputs: the test fails on any violation.
//! * [`minimise`]: drops instructions while a disagreement stays the same.
//! * [`Matrix`]: the confusion matrix, and Warden's refusals of programs
//!   Linux accepts counted by error kind and by snippet class.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use verifier::{encode, CtxLayout, HelperSig, ArgKind, Imm64, Insn, Limits, MapInfo, Profile, Program, Reg, Report, RetKind, Stats};
use vm::{Config, Helpers, Map, MapKind, Memory, Value, Violation, ViolationKind, Vm};

use crate::fuzz::Rng;

pub mod bpf;
mod generate;

pub use generate::{flag_program, generate, Generated, CLASSES};

// Linux's helper ids, which the profile below uses too.
pub(crate) const H_LOOKUP: u32 = 1;
pub(crate) const H_KTIME: u32 = 5;
pub(crate) const H_RANDOM: u32 = 7;
/// The array map: 4-byte keys, values of this many bytes, 4 entries.
pub(crate) const VALUE_SIZE: i64 = 16;
const MAX_ENTRIES: u32 = 4;

/// Warden's profile for the shared subset: Linux's helper ids and limits.
pub fn profile() -> Profile {
    Profile::new()
        .with_ctx(CtxLayout::new(8))
        .with_map(MapInfo::array(VALUE_SIZE as u32, MAX_ENTRIES))
        .with_helper(HelperSig::new(H_LOOKUP, "map_lookup_elem", &[ArgKind::MapRef, ArgKind::MapKey], RetKind::MapValueOrNull))
        .with_helper(HelperSig::new(H_KTIME, "ktime_get_ns", &[], RetKind::Scalar))
        .with_helper(HelperSig::new(H_RANDOM, "get_prandom_u32", &[], RetKind::Bounded { min: 0, max: 0xffff_ffff }))
        .with_limits(Limits { max_insns_processed: 1_000_000, ..Limits::DEFAULT })
}

/// The machine's verifier, with the array map programs refer to.
pub struct Linux {
    map: bpf::ArrayMap,
}

impl Linux {
    /// The machine's verifier, or a notice saying why it is unavailable.
    pub fn open() -> Result<Linux, String> {
        if !cfg!(target_os = "linux") {
            return Err("not Linux: no bpf(2) to compare with".into());
        }
        match bpf::ArrayMap::create(VALUE_SIZE as u32, MAX_ENTRIES) {
            Ok(map) => Ok(Linux { map }),
            Err(e) => Err(format!("bpf(2) is unavailable here ({e}); the test needs root on a kernel with BPF")),
        }
    }

    /// Linux's verdict on `program` (its map 0 is the array map).
    pub fn verify(&self, program: &Program) -> Result<bpf::Verdict, std::io::Error> {
        let insns = program
            .insns()
            .iter()
            .map(|&i| match i {
                Insn::LoadImm64 { dst, imm: Imm64::MapRef(0) } => Insn::LoadImm64 { dst, imm: Imm64::MapRef(self.map.fd()) },
                other => other,
            })
            .collect();
        bpf::load_socket_filter(&encode(&Program::from_insns(insns)))
    }
}

/// Both verdicts on one program.
pub struct Comparison {
    pub linux: bpf::Verdict,
    pub warden: Result<Stats, Report>,
    pub warden_time: Duration,
}

impl Comparison {
    pub fn agree(&self) -> bool {
        self.linux.accepted == self.warden.is_ok()
    }

    /// What a minimised program must keep: the same two verdicts, and the
    /// same refusal (Warden's error and reason, or Linux's message).
    fn same_disagreement(&self, other: &Comparison) -> bool {
        self.linux.accepted == other.linux.accepted
            && (self.linux.accepted || self.linux.message == other.linux.message)
            && match (&self.warden, &other.warden) {
                (Ok(_), Ok(_)) => true,
                (Err(a), Err(b)) => a.kind == b.kind && a.reason == b.reason,
                _ => false,
            }
    }

    /// The disagreement's class: Warden's error kind, or Linux's message.
    pub fn class(&self) -> String {
        match &self.warden {
            Ok(_) => format!("Linux: {}", self.linux.message),
            Err(r) => format!("Warden: {}", r.kind),
        }
    }
}

/// Verifies `program` with both.
pub fn compare(linux: &Linux, program: &Program) -> Result<Comparison, std::io::Error> {
    let linux = linux.verify(program)?;
    let start = Instant::now();
    let warden = verifier::verify(program, &profile()).map(|v| *v.stats());
    Ok(Comparison { linux, warden, warden_time: start.elapsed() })
}

/// The helpers of the shared subset, on random results.
struct Env<'r> {
    rng: &'r mut Rng,
}

impl Helpers for Env<'_> {
    fn call(&mut self, id: u32, a: [Value; 5], mem: &mut Memory) -> Result<Value, ViolationKind> {
        match id {
            H_LOOKUP => vm::helpers::map_lookup(mem, a[0], a[1]),
            // Small times reach the branches on low bits and small bounds.
            H_KTIME => Ok(Value::scalar(if self.rng.chance(50) { self.rng.below(64) } else { self.rng.next() })),
            H_RANDOM => Ok(Value::scalar(if self.rng.chance(50) { self.rng.below(64) } else { self.rng.next() & 0xffff_ffff })),
            _ => Err(vm::helpers::unknown_helper(id)),
        }
    }
}

/// Runs `program` in the checking interpreter on `runs` random inputs.
pub fn run_checked(program: &Program, rng: &mut Rng, runs: usize) -> Result<(), Violation> {
    for _ in 0..runs {
        let mut vm = Vm::new(program, Config::checking());
        let mem = vm.memory_mut();
        let ctx = mem.add_context(vec![0; 8], &[vm::memory::READ; 8]).expect("context fits");
        let mut map = Map::new(MapKind::Array, 4, VALUE_SIZE as u32, MAX_ENTRIES).expect("array map");
        map.values_mut().iter_mut().for_each(|b| *b = rng.next() as u8);
        mem.add_map(map).expect("array map fits");
        vm.set_reg(Reg::R1, Value::pointer(ctx));
        vm.run(&mut Env { rng })?;
    }
    Ok(())
}

/// Removes instruction `at` (both slots of an `lddw`), keeping every jump
/// on its target; a jump to the removed instruction goes to the next one.
fn remove(program: &Program, at: usize) -> Program {
    let insns = program.insns();
    let gone = insns[at].slots();
    let new_index = |pc: i64| if pc > at as i64 { pc - gone as i64 } else { pc };
    let mut out = Vec::with_capacity(insns.len());
    for (pc, &insn) in insns.iter().enumerate() {
        if (at..at + gone).contains(&pc) {
            continue;
        }
        let moved = match insn.target(pc) {
            Some(t) => {
                let off = new_index(t) - new_index(pc as i64) - 1;
                match insn {
                    Insn::Jump { width, cond, dst, src, .. } => Insn::Jump { width, cond, dst, src, off: off as i16 },
                    Insn::Ja { long, .. } => Insn::Ja { off: off as i32, long },
                    Insn::CallLocal { .. } => Insn::CallLocal { off: off as i32 },
                    other => other,
                }
            }
            None => insn,
        };
        out.push(moved);
    }
    Program::from_insns(out)
}

/// The smallest program found by dropping one instruction at a time that
/// still gets the same two verdicts as `original` (at most `budget`
/// attempts: a program too complex for Warden takes long to verify).
pub fn minimise(linux: &Linux, program: &Program, original: &Comparison, budget: usize) -> Program {
    let mut best = program.clone();
    let mut attempts = 0;
    loop {
        let mut shrunk = false;
        let mut at = 0;
        while at < best.len() {
            if attempts == budget {
                return best;
            }
            attempts += 1;
            let candidate = remove(&best, at);
            match compare(linux, &candidate) {
                Ok(c) if original.same_disagreement(&c) => {
                    best = candidate;
                    shrunk = true;
                }
                _ => at += best.insns()[at].slots(),
            }
        }
        if !shrunk {
            return best;
        }
    }
}

/// The confusion matrix of a campaign.
#[derive(Default)]
pub struct Matrix {
    pub both_accept: u64,
    pub both_reject: u64,
    /// Linux accepts, Warden refuses: by Warden's error kind.
    pub warden_refuses: BTreeMap<String, u64>,
    /// Linux accepts, Warden refuses: by the snippet classes of the program.
    pub refused_classes: BTreeMap<&'static str, u64>,
    /// Warden accepts, Linux refuses: by Linux's message.
    pub linux_refuses: BTreeMap<String, u64>,
}

impl Matrix {
    pub fn add(&mut self, c: &Comparison, classes: &[&'static str]) {
        match (c.linux.accepted, &c.warden) {
            (true, Ok(_)) => self.both_accept += 1,
            (false, Err(_)) => self.both_reject += 1,
            (true, Err(report)) => {
                *self.warden_refuses.entry(report.kind.to_string()).or_default() += 1;
                for &class in classes {
                    *self.refused_classes.entry(class).or_default() += 1;
                }
            }
            (false, Ok(_)) => *self.linux_refuses.entry(c.linux.message.clone()).or_default() += 1,
        }
    }

    pub fn linux_accepts(&self) -> u64 {
        self.both_accept + self.warden_refuses.values().sum::<u64>()
    }

    pub fn linux_only(&self) -> u64 {
        self.warden_refuses.values().sum()
    }

    pub fn warden_only(&self) -> u64 {
        self.linux_refuses.values().sum()
    }
}

impl fmt::Display for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "                  Warden accepts  Warden refuses")?;
        writeln!(f, "Linux accepts   {:>16}{:>16}", self.both_accept, self.linux_only())?;
        writeln!(f, "Linux refuses   {:>16}{:>16}", self.warden_only(), self.both_reject)?;
        let accepted = self.linux_accepts();
        if accepted > 0 {
            writeln!(f, "of the programs Linux accepts, Warden accepts {:.1}%", 100.0 * self.both_accept as f64 / accepted as f64)?;
        }
        for (kind, n) in &self.warden_refuses {
            writeln!(f, "  Warden refuses as {kind}: {n}")?;
        }
        for (class, n) in &self.refused_classes {
            writeln!(f, "  Warden refuses a program with a `{class}` snippet: {n}")?;
        }
        for (message, n) in &self.linux_refuses {
            writeln!(f, "  Linux refuses ({message}): {n}")?;
        }
        Ok(())
    }
}
