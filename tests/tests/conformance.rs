//! The bpf_conformance suite (`../shared/conformance`) through the reference
//! interpreter, in checking mode (and in plain mode, which must agree).
//!
//! `tests/*.data`: each program runs with its `-- mem` and must exit with
//! its `-- result`. Skipped: programs using the `callx` extension (a call
//! through a register, not RFC 9669), refused by the assembler and decoder.
//!
//! `negative/*.data`, each handled as its kind requires:
//! * `unused-*` (45 files): a reserved field is not zero; the decoder refuses.
//! * `invalid_*`: malformed assembly (unknown mnemonic, bad register, an
//!   immediate or offset out of range, a missing operand, an undefined label,
//!   `lock` without operands, an unknown `--` section leaving no program);
//!   the assembler refuses.
//! * `empty.data`, `empty_instructions.data`: no program at all; refused.
//! * `error.data` (`or %r0, %r10`): reads r0 before writing it and returns a
//!   stack address; the checking interpreter reports a violation (the
//!   verifier rejects it too).
//! * `incorrect_return_value_high_bits.data`: a deliberately wrong expected
//!   value; a correct harness reports the mismatch, so this test checks that
//!   the result differs from `-- result` in its high bits.

use vm::Config;
use warden_tests::conformance::{Outcome, ProgramError, check_suite, interpret, suite_files};

#[test]
fn conformance_suite_through_the_interpreter() {
    check_suite("interpreter", 300, |f, program, mem| {
        // Plain mode must compute the same as checking mode.
        let plain = interpret(program, &mem, Config::plain()).ok();
        let checking = interpret(program, &mem, Config::checking());
        if checking.is_ok() && plain != checking.as_ref().ok().copied() {
            return Outcome::Failed(vec![format!("plain mode gives {plain:x?}, checking mode {checking:x?}")]);
        }
        match (checking, f.result) {
            (Ok(r0), Some(want)) if r0 == want => Outcome::Passed,
            (Ok(r0), Some(want)) => Outcome::Failed(vec![format!("r0 = {r0:#x}, expected {want:#x}")]),
            (Ok(r0), None) => Outcome::Failed(vec![format!("ran (r0 = {r0:#x}) but no result is expected")]),
            (Err(v), _) => Outcome::Failed(vec![v.to_string()]),
        }
    });
}

#[test]
fn negative_files_are_refused_as_their_kind_requires() {
    let Some(files) = suite_files("negative", "the negative files") else {
        return;
    };
    let mut counts = [0usize; 5];
    let mut wrong = Vec::new();
    for f in &files {
        let got = f.program();
        let ok = match f.name.as_str() {
            n if n.starts_with("unused-") => {
                counts[0] += 1;
                matches!(got, Err(ProgramError::Decode(_)))
            }
            n if n.starts_with("invalid_") => {
                counts[1] += 1;
                matches!(got, Err(ProgramError::Asm(_)))
            }
            "empty.data" | "empty_instructions.data" => {
                counts[2] += 1;
                matches!(got, Err(ProgramError::Missing))
            }
            "error.data" => {
                counts[3] += 1;
                got.is_ok_and(|p| interpret(&p, &[], Config::checking()).is_err())
            }
            "incorrect_return_value_high_bits.data" => {
                counts[4] += 1;
                let mem = f.mem.clone().unwrap_or_default();
                let r0 = got
                    .ok()
                    .and_then(|p| interpret(&p, &mem, Config::checking()).ok());
                matches!((r0, f.result), (Some(r), Some(want)) if r != want && r as u32 == want as u32)
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!("{}: {:?}", f.name, f.program().map(|p| p.len())));
        }
    }
    println!(
        "negative: {} refused at decode, {} refused by the assembler, {} without a program, {} violations in checking mode, {} mismatches reported",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
    assert!(
        wrong.is_empty(),
        "not handled as expected:\n{}",
        wrong.join("\n")
    );
    assert_eq!(counts[0], 45);
    assert_eq!(counts.iter().sum::<usize>(), files.len());
}
