//! `modc disasm --native`: the JIT's x86 code with bytecode and source.

use std::process::{Command, Output};

fn modc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modc")).args(args).output().expect("modc runs")
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn listing(args: &[&str]) -> String {
    let o = modc(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn native_listing_interleaves_source_bytecode_and_x86() {
    let hello = repo("modules/hello.wm");
    let text = listing(&["disasm", "--native", &hello]);
    // One section per program, at the documented code address.
    assert!(text.contains("load: 9 slots -> "), "{text}");
    assert!(text.contains("bytes of x86 at 0xffffffffc0000000"), "{text}");
    assert!(text.contains("tick: "), "{text}");
    assert!(text.contains("bytes of x86 at 0xffffffffc0100000"), "second program:\n{text}");
    // Source lines, bytecode, x86.
    assert!(text.contains("; 8:5: log(\"hello: loaded as module {}\", ctx.module_id);"), "{text}");
    assert!(text.contains("     0: r6 = r1"), "{text}");
    assert!(text.contains("6: call 1                  ; log"), "{text}");
    assert!(text.contains("mov rbx,rdi"), "{text}");
    assert!(text.contains("push rbx"), "{text}");
    assert!(text.contains("ret"), "{text}");
    // Helpers and maps by name at their stand-in addresses.
    assert!(text.contains("call helper.log"), "{text}");
    assert!(text.contains("call helper.map_lookup"), "{text}");
    assert!(text.contains("mov rdi,map.ticks"), "{text}");
    assert!(text.contains("constant blinding on"), "{text}");
}

#[test]
fn blinding_hides_constants_unless_turned_off() {
    let hello = repo("modules/hello.wm");
    // `r2 = 26` (the length of the log message) becomes `mov esi,1Ah` only
    // without blinding; blinded, the constant never appears in the code.
    let plain = listing(&["disasm", "--native", "--no-blind", &hello]);
    assert!(plain.contains("mov esi,1Ah"), "{plain}");
    assert!(plain.contains("constant blinding off"), "{plain}");
    let blinded = listing(&["disasm", "--native", &hello]);
    assert!(!blinded.contains("mov esi,1Ah"), "{blinded}");
    // The listing is the same on every run (a fixed seed).
    assert_eq!(blinded, listing(&["disasm", "--native", &hello]));
    // `--no-blind` means nothing without `--native`.
    assert_eq!(modc(&["disasm", "--no-blind", &hello]).status.code(), Some(2));
}

#[test]
fn native_listing_of_an_image_finds_its_source() {
    let dir = std::env::temp_dir().join(format!("modc-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let image = dir.join("wrapwrite.lkm");
    let source = repo("modules/wrapwrite.wm");
    let o = modc(&["build", &source, "-o", image.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = listing(&["disasm", "--native", image.to_str().unwrap_or_default()]);
    assert!(text.contains("; module wrapwrite (syscall)"), "{text}");
    assert!(text.contains("let len = ctx.args[2];"), "{text}");
    assert!(text.contains("call helper.map_lookup"), "{text}");
    assert!(text.contains("exit"), "{text}");
}

#[test]
fn a_program_the_verifier_rejects_is_not_compiled() {
    let dir = std::env::temp_dir().join(format!("modc-native-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let asm = dir.join("bad.s");
    std::fs::write(&asm, "r0 = *(u64 *)(r1 + 0)\nexit\n").expect("write");
    let image = dir.join("bad.lkm");
    let o = modc(&["asm", asm.to_str().unwrap_or_default(), "-o", image.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = modc(&["disasm", "--native", image.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error: program `load` is rejected by the verifier"), "{err}");
}
