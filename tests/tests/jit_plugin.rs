//! The bpf_conformance plugin in its default JIT mode: a verifier rejection
//! is a refusal on standard error with a non-zero status, and `--jit` and
//! `--interpret` agree on every suite program.

use verifier::encode;
use warden_tests::conformance::{load_dir, suite_dir};
use warden_tests::plugin::{PluginRun, run_plugin};

fn plugin(program: &[u8], memory: &[u8], options: &str) -> PluginRun {
    run_plugin(env!("CARGO_BIN_EXE_warden-bpf-plugin"), program, memory, options)
}

#[test]
fn jit_mode_refuses_what_the_verifier_rejects() {
    // `or r0, r10; exit`: r0 read before written, and a stack address returned.
    let (ok, out, err) = plugin(&[0x4f, 0xa0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0], &[], "--jit");
    assert!(!ok && out.is_empty());
    assert!(err.starts_with("error[uninit-register]: r0 is read before anything was written to it"), "{err}");
    // Reading past the memory: refused before running.
    let (ok, _, err) = plugin(&[0x61, 0x10, 4, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0], &[1, 2], "");
    assert!(!ok && err.starts_with("error"), "{err}");
    let (ok, out, _) = plugin(&[0xb7, 0, 0, 0, 0x2a, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0], &[], "--jit");
    assert!(ok && out.trim() == "2a");
}

#[test]
fn jit_and_interpreter_modes_agree_on_the_suite() {
    let Some(dir) = suite_dir() else {
        println!("notice: ../shared/conformance not found; skipping");
        return;
    };
    let mut compared = 0;
    for f in load_dir(&dir.join("tests")).unwrap() {
        let Ok(p) = f.program() else { continue };
        let mem = f.mem.clone().unwrap_or_default();
        let jit = plugin(&encode(&p), &mem, "--jit");
        let interp = plugin(&encode(&p), &mem, "--interpret");
        assert!(jit.0 && interp.0, "{}: jit {jit:?}, interpreter {interp:?}", f.name);
        assert_eq!(jit.1, interp.1, "{}", f.name);
        compared += 1;
    }
    println!("plugin: --jit and --interpret agree on {compared} programs");
    assert!(compared >= 300);
}
