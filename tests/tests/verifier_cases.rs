//! The verifier case suite: every `tests/verifier/cases/*.txt` file, in the
//! format described in `warden_tests::cases` (and docs/verifier.md).
//! Each case is verified and its verdict compared with the expected one.

use std::path::Path;

use warden_tests::cases::{parse_file, run, Expect};

#[test]
fn verifier_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("verifier/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let (mut accepts, mut rejects, mut failures) = (0, 0, Vec::new());
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("readable case file");
        let cases = parse_file(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        for case in &cases {
            match case.expect {
                Expect::Accept => accepts += 1,
                Expect::Reject { .. } => rejects += 1,
            }
            if let Err(e) = run(case) {
                failures.push(format!("{}:{}: {}: {e}", case.file, case.line, case.name));
            }
        }
    }
    println!("{} cases in {} files: {accepts} expect accept, {rejects} expect reject", accepts + rejects, files.len());
    for f in &failures {
        println!("FAILED {f}\n");
    }
    assert!(failures.is_empty(), "{} of {} cases failed", failures.len(), accepts + rejects);
    assert!(accepts + rejects > 0, "no cases found in {}", dir.display());
}
