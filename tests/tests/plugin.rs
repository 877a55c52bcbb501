//! The bpf_conformance plugin binary, driven the way the public runner
//! drives it: program bytes on standard input, memory in the first
//! argument, the plugin options in the second; r0 in hex on standard output.

use verifier::encode;
use warden_tests::conformance::{load_dir, suite_dir};
use warden_tests::plugin::{PluginRun, run_plugin};

fn plugin(program: &[u8], memory: &[u8], options: &str) -> PluginRun {
    run_plugin(env!("CARGO_BIN_EXE_warden-bpf-plugin"), program, memory, options)
}

#[test]
fn plugin_runs_the_suite_like_the_runner() {
    let Some(dir) = suite_dir() else {
        println!("notice: ../shared/conformance not found; skipping");
        return;
    };
    let (mut passed, mut failed) = (0, Vec::new());
    for f in load_dir(&dir.join("tests")).unwrap() {
        let (Ok(p), Some(want)) = (f.program(), f.result) else {
            continue;
        };
        let (ok, out, err) = plugin(
            &encode(&p),
            &f.mem.clone().unwrap_or_default(),
            "--interpret",
        );
        // The runner compares the low 32 bits; compare all 64 here.
        match u64::from_str_radix(out.trim(), 16) {
            Ok(r0) if ok && r0 == want => passed += 1,
            _ => failed.push(format!(
                "{}: status {ok}, stdout {out:?}, stderr {err:?}",
                f.name
            )),
        }
    }
    println!("plugin: {passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(passed >= 300);
}

#[test]
fn plugin_refuses_with_a_message_and_nonzero_status() {
    // Reserved src field in `add` with an immediate.
    let (ok, out, err) = plugin(
        &[0x04, 0x10, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0],
        &[],
        "",
    );
    assert!(!ok && out.is_empty());
    assert_eq!(
        err.trim(),
        "error: slot 0: reserved src field is 1 in `add` with immediate"
    );
    // Reading past the memory.
    let (ok, _, err) = plugin(
        &[0x61, 0x10, 4, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0],
        &[1, 2],
        "--interpret",
    );
    assert!(
        !ok && err.contains("outside every allowed memory region"),
        "{err}"
    );
    let (ok, _, err) = plugin(&[0x95, 0, 0, 0, 0, 0, 0, 0], &[], "--fast");
    assert!(!ok && err.contains("unknown option `--fast`"), "{err}");
    // Plain mode does not require r0 to be written.
    let (ok, out, _) = plugin(&[0x95, 0, 0, 0, 0, 0, 0, 0], &[], "--plain");
    assert!(ok && out.trim() == "0");
}
