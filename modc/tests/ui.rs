//! Golden tests of diagnostics: every `ui/NAME.wm` is compiled (and, if it
//! compiles, verified) and what `modc check` prints must equal
//! `ui/NAME.stderr`. Run with `WARDEN_BLESS=1` to rewrite the expected files
//! after a deliberate change, and review the diff.

use modc::diag::render;
use modc::driver::{compile, rejection_diag, verify_image};

fn diagnostics(name: &str, src: &str) -> String {
    match compile(src, name) {
        Err(diags) => render(name, src, &diags),
        Ok(c) => {
            let diags: Vec<_> = verify_image(&c.image)
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| v.result.err().map(|r| rejection_diag(&c, i, &r)))
                .collect();
            render(name, src, &diags)
        }
    }
}

#[test]
fn diagnostics_match_the_golden_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui");
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut paths: Vec<_> = std::fs::read_dir(dir).expect("tests/ui").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_none_or(|e| e != "wm") {
            continue;
        }
        count += 1;
        let src = std::fs::read_to_string(&path).expect("read");
        let name = format!("ui/{}", path.file_name().unwrap_or_default().to_string_lossy());
        let got = diagnostics(&name, &src);
        assert!(got.contains("error"), "{name} should produce an error");
        let expected_path = path.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &got).expect("write");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!("--- {name}: expected\n{expected}\n--- got\n{got}"));
        }
    }
    assert!(count >= 10, "expected the ui cases, found {count}");
    assert!(failures.is_empty(), "{} case(s) differ (WARDEN_BLESS=1 rewrites them):\n{}", failures.len(), failures.join("\n"));
}
