//! The `modc` command line, as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn modc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modc")).args(args).output().expect("modc runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("modc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn build_then_disasm_shows_source_lines() {
    let out = tmp("rtc.lkm");
    let o = modc(&["build", &repo("modules/rtc.wm"), "-o", out.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let image = lkm::parse(&std::fs::read(&out).expect("image")).expect("parses");
    assert_eq!(image.name, "rtc");
    let o = modc(&["disasm", out.to_str().unwrap_or_default()]);
    let listing = text(&o.stdout);
    assert!(o.status.success());
    assert!(listing.contains("read:"), "{listing}");
    assert!(listing.contains("call 14"), "outb is helper 14:\n{listing}");
    assert!(listing.contains("outb(CMOS_INDEX, reg & 0x7f);"), "source lines interleaved:\n{listing}");
    let o = modc(&["check", out.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn check_reports_errors_with_file_line_and_column() {
    let o = modc(&["check", &repo("modc/tests/ui/types.wm")]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("error: mismatched types"), "{err}");
    assert!(err.contains("types.wm:8:18"), "{err}");
    assert!(err.contains("help: convert explicitly with `as u64`"), "{err}");
    assert!(err.contains("due to 8 previous errors"), "{err}");
}

#[test]
fn check_maps_too_complex_to_the_loop() {
    let o = modc(&["check", &repo("modc/tests/ui/too_complex.wm")]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("too_complex.wm:8:9"), "{err}");
    assert!(err.contains("this loop takes too many steps to check"), "{err}");
}

#[test]
fn asm_makes_an_image_the_verifier_judges() {
    let src = tmp("good.s");
    std::fs::write(&src, "r0 = 0\nr1 = 5\nif r1 > 3 goto done\nr0 = 1\ndone:\nexit\n").expect("write");
    let out = tmp("good.lkm");
    let o = modc(&["asm", src.to_str().unwrap_or_default(), "-o", out.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = modc(&["check", "-v", out.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    let bad = tmp("bad.s");
    std::fs::write(&bad, "r0 = *(u64 *)(r10 - 8)\nexit\n").expect("write");
    let out = tmp("bad.lkm");
    assert!(modc(&["asm", bad.to_str().unwrap_or_default(), "-o", out.to_str().unwrap_or_default()]).status.success());
    let o = modc(&["check", out.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("rejected"), "{}", text(&o.stderr));

    let broken = tmp("broken.s");
    std::fs::write(&broken, "r0 = \nexit\n").expect("write");
    let o = modc(&["asm", broken.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn verify_raw_bytecode_with_entry_facts() {
    // r0 = *(u8 *)(r1 + r2)-style access: r1 = ctx, r2 = index in [0, 7].
    let program = verifier::assemble("r1 += r2\nr0 = *(u8 *)(r1 + 0)\nexit\n").expect("assembles");
    let raw = tmp("idx.bin");
    std::fs::write(&raw, verifier::encode(&program)).expect("write");
    let path = raw.to_str().unwrap_or_default();
    let o = modc(&["verify", "--raw", path, "--ctx-size", "8", "--pre", "r1: ctx, r2: scalar in [0, 7]"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("accepted"));
    let o = modc(&["verify", "--raw", path, "--ctx-size", "8", "--pre", "r1: ctx, r2: scalar in [0, 8]"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
}

#[test]
fn a_rejected_image_is_shown_at_its_source_line() {
    let src = repo("modc/tests/ui/too_complex.wm");
    let out = tmp("busy.lkm");
    let out = out.to_str().unwrap_or_default();
    assert_eq!(modc(&["build", &src, "-o", out]).status.code(), Some(1), "build verifies by default");
    assert!(modc(&["build", "--no-verify", &src, "-o", out]).status.success());
    let o = modc(&["check", out]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("error: the verifier rejected entry point `load`"), "{err}");
    assert!(err.contains("too_complex.wm:8:9"), "{err}");
    assert!(err.contains("for j in 0..1000 {"), "the source line is shown:\n{err}");
    // One help text for "too complex", from the image as from the source.
    assert!(err.contains(&format!("help: {}", verifier::TOO_COMPLEX_HELP)), "{err}");
    let o = modc(&["check", &src]);
    assert!(text(&o.stderr).contains(&format!("help: {}", verifier::TOO_COMPLEX_HELP)), "{}", text(&o.stderr));
}

#[test]
fn build_and_check_say_what_they_did() {
    let out = tmp("hello.lkm");
    let out = out.to_str().unwrap_or_default();
    let o = modc(&["build", &repo("modules/hello.wm"), "-o", out]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let said = text(&o.stdout);
    assert!(said.starts_with(&format!("built {out} from ")), "{said}");
    assert!(said.ends_with("hello.wm: 3 programs (load, tick, unload), 47 instructions; the verifier accepts every program\n"), "{said}");
    let o = modc(&["check", out]);
    assert_eq!(text(&o.stdout), format!("checked {out}: 3 programs (load, tick, unload), 47 instructions; the verifier accepts every program\n"));
    let o = modc(&["check", "-v", &repo("modules/hello.wm")]);
    let said = text(&o.stdout);
    assert!(said.contains("load: 8 instructions in 9 slots (a slot is 8 bytes; a 64-bit constant load takes two)"), "{said}");
    assert!(said.contains("the verifier processed"), "{said}");
}

#[test]
fn an_array_indexed_by_a_variable_lives_on_the_stack() {
    let src = tmp("indexed.wm");
    std::fs::write(&src, "module s: misc;\nfn load(ctx: &LoadCtx) -> i64 {\n    let mut a = [0u8; 32];\n    let k = ctx.module_id as u64;\n    a[k % 32] = 1;\n    return a[k % 32] as i64;\n}\n").expect("write");
    let src = src.to_str().unwrap_or_default();
    let o = modc(&["check", src]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    let o = modc(&["disasm", src]);
    let listing = text(&o.stdout);
    // No map but the read-only data; the element's address is r10, plus the
    // array's offset, plus the index checked against the length.
    assert!(listing.contains("; map[0] read-only data"), "{listing}");
    let store = ["if r0 >= 0x20 goto", "r1 = r10", "r1 += -32", "r1 += r0", "*(u8 *)(r1 + 0) = 1"];
    let code: Vec<&str> = listing.lines().filter_map(|l| l.split_once(": ").map(|(_, i)| i)).collect();
    assert!(code.windows(store.len()).any(|w| w.iter().zip(store).all(|(i, s)| i.starts_with(s))), "{listing}");
}
