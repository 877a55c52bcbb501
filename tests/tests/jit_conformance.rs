//! The bpf_conformance suite (`../shared/conformance`) through the verifier
//! and the JIT, with and without constant blinding.
//!
//! `tests/*.data`: each program is verified under the permissive test
//! profile (memory in r1, its length in r2, helper 5 returning its first
//! argument); an accepted program is compiled, run on a copy of its
//! `-- mem`, and must exit with its `-- result`. A program the verifier rejects is skipped
//! with the verifier's reason; so are `callx` programs (not RFC 9669).
//!
//! `negative/*.data` on the JIT path: `unused-*` never reach the JIT (the
//! decoder refuses them); `error.data` reads r0 uninitialised and returns a
//! stack address, so the verifier must refuse it; the deliberately wrong
//! `incorrect_return_value_high_bits.data` must be reported as a mismatch
//! (the JIT's r0 differs from `-- result` in the high bits only). The
//! assembler-syntax files are the assembler's (see `conformance.rs`).

use vm::Config;
use warden_tests::conformance::{check_suite, interpret, suite_files, Outcome, ProgramError};
use warden_tests::jitrun::{jit_run, verify_for_memory};

#[test]
fn conformance_suite_through_verifier_and_jit() {
    let mut passed = 0u64;
    check_suite("verifier + JIT", 250, |f, program, mem| {
        let verified = match verify_for_memory(program, mem.len()) {
            Ok(v) => v,
            Err(report) => {
                let first = report.to_string().lines().next().unwrap_or_default().to_string();
                return Outcome::Skipped(format!("verifier: {first}"));
            }
        };
        let Some(want) = f.result else {
            return Outcome::Failed(vec!["accepted but the file expects an error".to_string()]);
        };
        let mut failures = Vec::new();
        for blinding in [None, Some(0x5eed_u64 ^ passed)] {
            let mut jit_mem = mem.clone();
            match jit_run(&verified, &mut jit_mem, blinding) {
                Ok(r0) if r0 == want => {}
                Ok(r0) => failures.push(format!("r0 = {r0:#x}, expected {want:#x} (blinding {blinding:?})")),
                Err(e) => failures.push(e.to_string()),
            }
        }
        if failures.is_empty() {
            passed += 1;
            Outcome::Passed
        } else {
            Outcome::Failed(failures)
        }
    });
}

#[test]
fn negative_files_on_the_jit_path() {
    let Some(files) = suite_files("negative", "the negative files") else {
        return;
    };
    let mut refused_at_decode = 0;
    for f in &files {
        let name = f.name.as_str();
        if name.starts_with("unused-") {
            assert!(matches!(f.program(), Err(ProgramError::Decode(_))), "{name} reached the verifier");
            refused_at_decode += 1;
        } else if name == "error.data" {
            let program = f.program().expect("error.data assembles");
            let report = verify_for_memory(&program, 0).expect_err("error.data must be refused");
            println!("error.data refused: {}", report.to_string().lines().next().unwrap_or_default());
        } else if name == "incorrect_return_value_high_bits.data" {
            let program = f.program().expect("assembles");
            let mut mem = f.mem.clone().unwrap_or_default();
            let verified = verify_for_memory(&program, mem.len()).expect("verifies");
            let r0 = jit_run(&verified, &mut mem, None).unwrap();
            let want = f.result.unwrap();
            assert_ne!(r0, want, "the wrong expected value must be reported as a mismatch");
            assert_eq!(r0 as u32, want as u32, "only the high bits differ");
            let interp = interpret(&program, &f.mem.clone().unwrap_or_default(), Config::checking()).unwrap();
            assert_eq!(r0, interp, "JIT and interpreter agree on the real value");
        }
    }
    println!("negative (JIT path): {refused_at_decode} refused at decode, error.data refused by the verifier, 1 mismatch reported");
    assert_eq!(refused_at_decode, 45);
}
