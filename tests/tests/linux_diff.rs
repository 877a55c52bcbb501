//! The verifier against the Linux verifier of this machine, on programs of
//! the subset both share (`warden_tests::linuxdiff`).
//!
//! `WARDEN_LINUX_DIFF_PROGRAMS` sets the number of programs (default
//! 3,000); `WARDEN_FUZZ_SEED` the first seed (default 1). Where `bpf(2)` is
//! unavailable (not root, another OS, a kernel without BPF) each test prints
//! a notice and passes without comparing.

use std::collections::BTreeMap;
use std::time::Instant;

use verifier::{listing, ErrorKind};
use warden_tests::fuzz::Rng;
use warden_tests::linuxdiff::{compare, flag_program, generate, minimise, run_checked, Linux, Matrix};

/// How many disagreements of each class are minimised and printed (each
/// takes up to hundreds of loads into both verifiers).
const MINIMISED_PER_CLASS: u64 = 8;

fn linux_or_notice(test: &str) -> Option<Linux> {
    match Linux::open() {
        Ok(linux) => Some(linux),
        Err(why) => {
            println!("note: {test} skipped: {why}");
            None
        }
    }
}

/// Every program Warden accepts runs safely; the confusion matrix and each
/// disagreement (minimised) are printed.
#[test]
fn warden_and_linux_verdicts_on_the_shared_subset() {
    let Some(linux) = linux_or_notice("the Linux differential test") else { return };
    let count: u64 = std::env::var("WARDEN_LINUX_DIFF_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    let first: u64 = std::env::var("WARDEN_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let start = Instant::now();
    let mut matrix = Matrix::default();
    let (mut accepted, mut violations) = (0u64, Vec::new());
    // Minimised disagreements, the same listing counted once.
    let mut disagreements: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    // Disagreements seen per class; only the first few are minimised.
    let mut minimised: BTreeMap<String, u64> = BTreeMap::new();
    for seed in first..first + count {
        let mut rng = Rng::new(seed);
        let generated = generate(&mut rng);
        let program = &generated.program;
        let c = compare(&linux, program).unwrap_or_else(|e| panic!("seed {seed}: bpf(2) gave no verdict: {e}"));
        matrix.add(&c, &generated.classes);
        if c.warden.is_ok() {
            accepted += 1;
            if let Err(v) = run_checked(program, &mut rng, 4) {
                violations.push(format!("seed {seed}: {:?} at insn {}\n{}", v.kind, v.pc, listing(program)));
            }
        }
        if !c.agree() {
            let seen = minimised.entry(c.class()).or_insert(0);
            *seen += 1;
            if *seen > MINIMISED_PER_CLASS {
                continue;
            }
            let budget = match &c.warden {
                Err(r) if r.kind == ErrorKind::TooComplex => 20,
                _ => 400,
            };
            let small = minimise(&linux, program, &c, budget);
            let verdicts = match &c.warden {
                Ok(_) => format!("Warden accepts; Linux: {}", c.linux.message),
                Err(r) => format!("Linux accepts; Warden: {}: {}", r.kind, r.reason),
            };
            let entry = disagreements.entry(format!("{verdicts}\n{}", listing(&small))).or_insert((0, seed));
            entry.0 += 1;
        }
    }
    for (text, (n, seed)) in &disagreements {
        println!("disagreement ({n}x, first at seed {seed}): {text}");
    }
    for (class, n) in minimised.iter().filter(|(_, n)| **n > MINIMISED_PER_CLASS) {
        println!("({} more disagreements of class `{class}` not minimised)", n - MINIMISED_PER_CLASS);
    }
    print!("{matrix}");
    println!(
        "linux diff: {count} programs, {accepted} accepted by Warden, {} accepted by Linux, {} disagreements, {} violations, {:.1}s",
        matrix.linux_accepts(),
        matrix.linux_only() + matrix.warden_only(),
        violations.len(),
        start.elapsed().as_secs_f64()
    );
    for v in violations.iter().take(5) {
        println!("VIOLATION {v}");
    }
    assert!(violations.is_empty(), "{} programs Warden accepted violated memory safety", violations.len());
}

/// The flag program of issue 14 for growing `n`: both verifiers' processed
/// instructions and times. Linux accepts every one; Warden accepts or
/// gives up as too complex, never anything else.
#[test]
fn flag_program_table() {
    let Some(linux) = linux_or_notice("the flag-program table") else { return };
    println!("{:>4} {:>16} {:>12} {:>16} {:>12}", "n", "Linux processed", "Linux time", "Warden processed", "Warden time");
    for n in [4, 8, 12, 16, 20, 24, 32, 64] {
        let program = flag_program(n);
        let c = compare(&linux, &program).expect("bpf(2) gives a verdict");
        assert!(c.linux.accepted, "n = {n}: Linux refused the flag program: {}", c.linux.message);
        let warden = match &c.warden {
            Ok(stats) => stats.insns_processed.to_string(),
            Err(r) => {
                assert_eq!(r.kind, ErrorKind::TooComplex, "n = {n}: {r}");
                "too-complex".to_string()
            }
        };
        let linux_processed = c.linux.processed.map_or_else(|| "?".into(), |p| p.to_string());
        let linux_time = c.linux.micros.map_or_else(|| "?".into(), |us| format!("{us} us"));
        println!("{n:>4} {linux_processed:>16} {linux_time:>12} {warden:>16} {:>9} us", c.warden_time.as_micros());
    }
}
