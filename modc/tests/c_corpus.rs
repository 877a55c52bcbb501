//! A corpus of C programs written the way real eBPF code is
//! (`modc/tests/c_corpus/*.c`: loops over buffers with bounds checks,
//! `__builtin_memcpy`, `switch`, structs on the stack, helpers returning
//! lengths, `#pragma unroll`, bounded loops, static subprograms), compiled
//! at `-O2` by every clang on PATH. Each one the verifier accepts runs its
//! `load` on the reference interpreter (checking mode; the context's
//! module id is 7) and must return what its `// expect: N` line says;
//! each it refuses is listed with the reason. Without clang it prints a
//! notice and checks nothing.

mod common;

use std::path::Path;

#[test]
fn the_c_corpus_verifies_or_says_why_and_computes_the_expected_results() {
    let clangs = modc::c::clang::all();
    if clangs.is_empty() {
        println!("note: the C corpus is skipped: no clang on PATH (apt-get install clang)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("corpus").filter_map(|e| Some(e.ok()?.path())).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "c"));
    files.sort();
    let scratch = std::env::temp_dir().join(format!("modc-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch");
    std::fs::write(scratch.join("warden.h"), modc::c::header::warden_h()).expect("warden.h");
    for clang in &clangs {
        let mut refused = Vec::new();
        for file in &files {
            let name = file.file_stem().expect("stem").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(file).expect("source");
            let expect: i64 = text
                .lines()
                .find_map(|l| l.strip_prefix("// expect: "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name}.c has no `// expect: N` line"));
            let obj = scratch.join(format!("{name}.o"));
            modc::c::clang::compile(clang, file, &scratch, &obj).unwrap_or_else(|e| panic!("{name}.c: {e}"));
            let bytes = std::fs::read(&obj).expect("object");
            let image = modc::c::read_object(&bytes, &name).unwrap_or_else(|e| panic!("{name}.c with clang {}: {e}", clang.version));
            match modc::driver::verify_image(&image).into_iter().find_map(|v| v.result.err()) {
                None => {
                    let run = common::run_image(&image, "load", vec![7, 0, 0, 0], 0);
                    assert_eq!(run.ret, expect, "{name}.c with clang {}", clang.version);
                }
                Some(report) => refused.push(format!("{name} (at instruction {}: {})", report.pc, report.reason)),
            }
        }
        println!(
            "clang {} ({}): {} of {} programs verify and compute the expected result; refused: {}",
            clang.version,
            clang.command,
            files.len() - refused.len(),
            files.len(),
            if refused.is_empty() { "none".to_string() } else { refused.join("; ") }
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
