//! Differential testing: every program the verifier's fuzzer generates and
//! the verifier accepts runs in the checking interpreter and through the JIT
//! (plain and with constant blinding) on the same random inputs; r0, the
//! context and every map must end up identical. Each run is repeated
//! metered, with a budget drawn below what the run needs (or just enough):
//! both must run out of fuel at the same point, with the same effects, or
//! end with the same fuel left.
//!
//! `WARDEN_JIT_DIFF_PROGRAMS` sets the number of generated programs
//! (default 3,000, a few seconds of CPU; 100,000 make a long campaign);
//! `WARDEN_FUZZ_SEED` the first seed (default 1). A failure names the seed.

use verifier::{listing, verify};
use warden_tests::fuzz::{generate, profile, Rng};
use warden_tests::jitdiff::{run_jit, run_vm, unmodelled_helper, Inputs};

#[test]
fn jit_agrees_with_the_interpreter_on_fuzzed_programs() {
    let count: u64 = std::env::var("WARDEN_JIT_DIFF_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    let first: u64 = std::env::var("WARDEN_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let profile = profile();
    let (mut accepted, mut runs, mut vm_violations, mut mismatches) = (0u64, 0u64, 0u64, Vec::new());
    let mut out_of_fuel = 0u64;
    let mut unmodelled = std::collections::BTreeMap::new();
    for seed in first..first + count {
        let mut rng = Rng::new(seed);
        let program = generate(&mut rng);
        let Ok(verified) = verify(&program, &profile) else { continue };
        accepted += 1;
        if let Some(id) = unmodelled_helper(&program, &profile) {
            *unmodelled.entry(id).or_insert(0u64) += 1;
            continue;
        }
        for _ in 0..3 {
            let inputs = Inputs::new(&profile, &mut rng);
            let Ok(want) = run_vm(&program, &profile, &inputs, None) else {
                // The soundness fuzz test reports these; never run them natively.
                vm_violations += 1;
                continue;
            };
            runs += 1;
            // What the run needs, then a budget below it or just enough.
            let needs = run_vm(&program, &profile, &inputs, Some(u64::MAX)).ok().and_then(|e| e.fuel_left).map(|l| u64::MAX - l);
            let budget = needs.map(|n| if rng.next().is_multiple_of(4) { n } else { rng.next() % n.max(1) });
            let metered = run_vm(&program, &profile, &inputs, budget).ok();
            out_of_fuel += u64::from(metered.as_ref().is_some_and(|e| e.r0.is_none()));
            for blinding in [None, Some(seed)] {
                for (fuel, want) in [(None, Some(&want)), (budget, metered.as_ref())] {
                    let Some(want) = want else { continue };
                    match run_jit(&verified, &profile, &inputs, blinding, fuel) {
                        Ok(got) if got == *want => {}
                        Ok(got) => mismatches.push(format!(
                            "seed {seed} (blinding {blinding:?}, budget {fuel:?}): interpreter {want:x?}\n  JIT {got:x?}\n{}",
                            listing(&program)
                        )),
                        Err(e) => mismatches.push(format!("seed {seed}: {e}")),
                    }
                }
            }
        }
    }
    println!(
        "JIT differential: {count} programs, {accepted} accepted, {runs} runs compared (x2 with blinding, x2 metered; {out_of_fuel} ran out of fuel), {} mismatches, {vm_violations} runs skipped for interpreter violations",
        mismatches.len()
    );
    for (id, n) in &unmodelled {
        println!("notice: {n} programs skipped: helper {id} is not modelled in tests/src/jitdiff.rs");
    }
    for m in mismatches.iter().take(3) {
        println!("MISMATCH {m}");
    }
    assert!(mismatches.is_empty(), "{} runs differ", mismatches.len());
    assert_eq!(vm_violations, 0, "the interpreter found violations in accepted programs (see soundness_fuzz)");
    assert!(accepted * 20 > count, "too few programs accepted to test anything: {accepted} of {count}");
    assert!(out_of_fuel * 4 > runs, "too few metered runs ran out of fuel: {out_of_fuel} of {runs}");
    let skipped: u64 = unmodelled.values().sum();
    assert!(skipped * 2 < accepted, "most programs call helpers tests/src/jitdiff.rs does not model: {unmodelled:?}");
}
