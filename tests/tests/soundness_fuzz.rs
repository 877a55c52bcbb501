//! Soundness fuzzing: every program the verifier accepts must run in the
//! checking interpreter without a single violation, on random inputs.
//!
//! `WARDEN_FUZZ_PROGRAMS` sets the number of programs (default 100,000);
//! `WARDEN_FUZZ_SEED` the first seed (default 1). Program `i` is generated
//! from seed `first + i`, so a failure names the seed that reproduces it.

use verifier::{verify, listing};
use warden_tests::fuzz::{generate, profile, run_inputs, Rng};

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
