//! The assembler and disassembler on every conformance program: the `-- asm`
//! text assembles (to the `-- raw` bits where a file has both), and the
//! disassembled listing re-assembles to the same program.

use verifier::{assemble, encode, listing};
use warden_tests::conformance::{load_dir, suite_dir};

#[test]
fn conformance_programs_assemble_and_reassemble() {
    let Some(dir) = suite_dir() else {
        println!("notice: ../shared/conformance not found; skipping");
        return;
    };
    let files = load_dir(&dir.join("tests")).unwrap();
    let (mut assembled, mut checked_raw, mut failures) = (0, 0, Vec::new());
    for f in &files {
        let Some(result) = f.assembled() else {
            continue;
        };
        let p = match result {
            Ok(p) => p,
            Err(e) if f.name == "callx.data" => {
                assert!(e.contains("callx"), "{e}");
                continue;
            }
            Err(e) => {
                failures.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        assembled += 1;
        if let Some(raw) = &f.raw {
            checked_raw += 1;
            if &encode(&p) != raw {
                failures.push(format!("{}: assembled bits differ from -- raw", f.name));
            }
        }
        let text = listing(&p);
        match assemble(&text) {
            Ok(back) if back == p => {}
            Ok(_) => failures.push(format!(
                "{}: listing re-assembles differently:\n{text}",
                f.name
            )),
            Err(e) => failures.push(format!(
                "{}: listing does not re-assemble: {e}\n{text}",
                f.name
            )),
        }
    }
    println!(
        "assembled {assembled} programs, {checked_raw} checked against -- raw, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(assembled >= 300);
}
