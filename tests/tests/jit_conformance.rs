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
use warden_tests::conformance::{interpret, load_dir, suite_dir, ProgramError};
use warden_tests::jitrun::{jit_run, verify_for_memory};

#[test]
fn conformance_suite_through_verifier_and_jit() {
    let Some(dir) = suite_dir() else {
        println!("notice: ../shared/conformance not found; skipping the JIT conformance suite");
        return;
    };
    let files = load_dir(&dir.join("tests")).unwrap();
    let (mut passed, mut skipped, mut failed) = (0, Vec::new(), Vec::new());
    for f in &files {
        let program = match f.program() {
            Ok(p) => p,
            Err(ProgramError::Asm(e)) if e.contains("callx") => {
                skipped.push(format!("{}: callx extension (call through a register)", f.name));
                continue;
            }
            Err(e) => {
                failed.push(format!("{}: no program: {e:?}", f.name));
                continue;
            }
        };
        let mem = f.mem.clone().unwrap_or_default();
        let verified = match verify_for_memory(&program, mem.len()) {
            Ok(v) => v,
            Err(report) => {
                let first = report.to_string().lines().next().unwrap_or_default().to_string();
                skipped.push(format!("{}: verifier: {first}", f.name));
                continue;
            }
        };
        let Some(want) = f.result else {
            failed.push(format!("{}: accepted but the file expects an error", f.name));
            continue;
        };
        let mut ok = true;
        for blinding in [None, Some(0x5eed_u64 ^ passed as u64)] {
            let mut jit_mem = mem.clone();
            match jit_run(&verified, &mut jit_mem, blinding) {
                Ok(r0) if r0 == want => {}
                Ok(r0) => {
                    failed.push(format!("{}: r0 = {r0:#x}, expected {want:#x} (blinding {blinding:?})", f.name));
                    ok = false;
                }
                Err(e) => {
                    failed.push(format!("{}: {e}", f.name));
                    ok = false;
                }
            }
        }
        passed += ok as usize;
    }
    println!("conformance (verifier + JIT): {passed} passed, {} skipped, {} failed", skipped.len(), failed.len());
    for s in &skipped {
        println!("  skipped {s}");
    }
    assert!(failed.is_empty(), "failures:\n{}", failed.join("\n"));
    assert!(passed >= 250, "only {passed} passed");
}

#[test]
fn negative_files_on_the_jit_path() {
    let Some(dir) = suite_dir() else {
        println!("notice: ../shared/conformance not found; skipping the negative files");
        return;
    };
    let files = load_dir(&dir.join("negative")).unwrap();
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
