//! C modules: `modc build/check/disasm` on `.c` and `.o` files, `warden.h`
//! against the `lkm` tables, the C examples against their `.wm` twins,
//! rejections at the C line and bad objects. Every test needs clang; where
//! there is none (`cargo xtask test` installs it as root), each prints a
//! notice and checks nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use modc::c::clang::{self, Clang};

fn modc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modc")).args(args).output().expect("modc runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("modc-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every clang on PATH, or a printed notice and none.
fn clangs(test: &str) -> Vec<Clang> {
    let all = clang::all();
    if all.is_empty() {
        println!("note: {test} skipped: no clang {} or newer on PATH (apt-get install clang)", clang::MIN_VERSION);
    }
    all
}

/// Writes `source` to `NAME.c` beside a fresh `warden.h`; its path.
fn c_file(name: &str, source: &str) -> PathBuf {
    let path = tmp(&format!("{name}.c"));
    std::fs::write(&path, source).expect("write source");
    path
}

/// Compiles `source` with `clang` to an object; its path.
fn object(c: &Clang, name: &str, source: &str) -> PathBuf {
    let src = c_file(name, source);
    // Its own include folder: tests run at once, and rewriting one shared
    // `warden.h` while another clang reads it fails that compile.
    let include = tmp(&format!("include-{name}-{}", c.version));
    std::fs::create_dir_all(&include).expect("include dir");
    std::fs::write(include.join("warden.h"), modc::c::header::warden_h()).expect("warden.h");
    let obj = tmp(&format!("{name}-{}.o", c.version));
    clang::compile(c, &src, &include, &obj).unwrap_or_else(|e| panic!("clang {}: {e}", c.version));
    obj
}

fn image_of(path: &Path) -> Result<lkm::Image, String> {
    modc::c::image_of_file(path)
}

#[test]
fn every_c_example_matches_its_wm_twin_and_verifies_with_every_clang() {
    let all = clangs("c examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(repo("modules/c")).expect("modules/c") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            names.push(path.file_stem().expect("stem").to_string_lossy().into_owned());
        }
    }
    names.sort();
    let wm: Vec<String> = std::fs::read_dir(repo("modules"))
        .expect("modules")
        .filter_map(|e| e.ok()?.path().file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter_map(|n| n.strip_suffix(".wm").map(str::to_string))
        .collect();
    for w in &wm {
        assert!(names.contains(w), "modules/{w}.wm has no C twin in modules/c/");
    }
    for c in &all {
        println!("clang {} ({})", c.version, c.command);
        for name in &names {
            let source = std::fs::read_to_string(repo(&format!("modules/c/{name}.c"))).expect("source");
            let image = image_of(&object(c, name, &source)).unwrap_or_else(|e| panic!("{name}.c with clang {}: {e}", c.version));
            let wm_text = std::fs::read_to_string(repo(&format!("modules/{name}.wm"))).expect("twin");
            let twin = modc::driver::compile(&wm_text, name).expect("the .wm compiles").image;
            assert_eq!(image.name, twin.name);
            assert_eq!(image.params, twin.params, "{name}");
            assert_eq!(image.ports, twin.ports, "{name}");
            let mut entries: Vec<&str> = image.programs.iter().map(|p| p.entry.as_str()).collect();
            let mut twin_entries: Vec<&str> = twin.programs.iter().map(|p| p.entry.as_str()).collect();
            entries.sort();
            twin_entries.sort();
            assert_eq!(entries, twin_entries, "{name}");
            let maps = |i: &lkm::Image| i.maps.iter().map(|m| (m.name.clone(), m.kind, m.key_size, m.max_entries)).collect::<Vec<_>>();
            assert_eq!(maps(&image), maps(&twin), "{name}");
            for v in modc::driver::verify_image(&image) {
                if let Err(r) = v.result {
                    panic!("{name}.c `{}` with clang {} is refused: {}", v.entry, c.version, r.reason);
                }
            }
        }
    }
}

/// `warden.h` against the tables: clang itself checks each context
/// field's offset and each struct's size (`_Static_assert`), and a program
/// calling every helper must call it by the table's id.
#[test]
fn warden_h_matches_the_lkm_tables() {
    let all = clangs("warden.h");
    let mut src = String::from("#include <warden.h>\nMODULE(h, misc);\n");
    for class in lkm::Class::ALL {
        for e in class.entries() {
            let s = modc::c::header::struct_name(e.ctx);
            for f in lkm::ctx::fields(e.ctx) {
                src += &format!("_Static_assert(__builtin_offsetof(struct {s}, {}) == {}, \"{s}.{}\");\n", f.name, f.offset, f.name);
                src += &format!("_Static_assert(sizeof(((struct {s} *)0)->{}) == {}, \"{s}.{} size\");\n", f.name, f.size, f.name);
            }
            src += &format!("_Static_assert(sizeof(struct {s}) == {}, \"{s}\");\n", lkm::ctx::size(e.ctx));
        }
    }
    src += "SEC(\"misc/load\") long load(struct load_ctx *ctx)\n{\n\tlong sum = 0;\n";
    for h in lkm::helpers::HELPERS {
        let args: Vec<&str> = h.args.iter().map(|_| "0").collect();
        src += &format!("\tsum += (long){}({});\n", h.name, args.join(", "));
    }
    src += "\treturn sum;\n}\n";
    assert!(src.contains("emit_dirent(0, 0, 0)"));
    for c in &all {
        let image = image_of(&object(c, "header", &src)).unwrap_or_else(|e| panic!("clang {}: {e}", c.version));
        let program = verifier::decode(&image.programs[0].code).expect("decodes");
        let called: Vec<u32> = program.insns().iter().filter_map(|i| if let verifier::Insn::Call { helper } = i { Some(*helper) } else { None }).collect();
        let ids: Vec<u32> = lkm::helpers::HELPERS.iter().map(|h| h.id).collect();
        assert_eq!(called, ids, "clang {} calls every helper by its id, in order", c.version);
    }
    let header = modc::c::header::warden_h();
    for e in abi::errno::ALL {
        assert!(header.contains(&format!("#define {} {} ", e.name(), e.code())), "{}", e.name());
    }
}

#[test]
fn modc_builds_checks_and_disassembles_c_with_c_lines() {
    if clangs("modc on .c").is_empty() {
        return;
    }
    let hello = repo("modules/c/hello.c");
    let out = tmp("hello-c.lkm");
    let o = modc(&["build", hello.to_str().unwrap_or_default(), "-o", out.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("3 programs (load, tick, unload)"), "{}", text(&o.stdout));
    let image = lkm::parse(&std::fs::read(&out).expect("image")).expect("parses");
    assert!(image.lines.expect("a line table").source.ends_with("modules/c/hello.c"));
    let o = modc(&["disasm", hello.to_str().unwrap_or_default()]);
    let listing = text(&o.stdout);
    assert!(listing.contains("__u64 *n = map_lookup(&ticks, &zero);"), "{listing}");
    assert!(listing.contains("r1 = map[0] ll"), "{listing}");
    assert!(listing.contains("call 6"), "{listing}");
    let o = modc(&["check", "-v", hello.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = modc(&["disasm", "--native", hello.to_str().unwrap_or_default()]);
    assert!(o.status.success() && text(&o.stdout).contains("native x86-64 code"), "{}", text(&o.stderr));
}

#[test]
fn a_verifier_rejection_points_at_the_c_line() {
    if clangs("rejection").is_empty() {
        return;
    }
    let src = "#include <warden.h>\nMODULE(oob, misc);\n\nSEC(\"misc/load\") long load(struct load_ctx *ctx)\n{\n\t__u8 buf[8] = {};\n\treturn emit(buf, ctx->module_id);\n}\n";
    let path = c_file("oob", src);
    let o = modc(&["check", path.to_str().unwrap_or_default()]);
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("error: the verifier rejected entry point `load`"), "{err}");
    assert!(err.contains("oob.c:7:9"), "points at line 7, column 9:\n{err}");
    assert!(err.contains("return emit(buf, ctx->module_id);"), "shows the C line:\n{err}");
}

#[test]
fn bad_objects_are_refused_with_clear_errors() {
    let me = std::env::current_exe().expect("this test");
    let e = image_of(&me.with_extension("o")).unwrap_err();
    assert!(e.contains("cannot read"), "{e}");
    let host = tmp("host.o");
    std::fs::copy(&me, &host).expect("copy");
    let e = image_of(&host).unwrap_err();
    assert!(e.contains("not a BPF object Warden can load") && e.contains("not for BPF"), "{e}");
    let Some(c) = clangs("bad objects").into_iter().next() else { return };
    let good = std::fs::read(object(&c, "hello_cut", &std::fs::read_to_string(repo("modules/c/hello.c")).expect("hello"))).expect("object");
    for cut in [0, 10, 64, good.len() / 2, good.len() - 1] {
        let e = modc::c::read_object(&good[..cut], "cut.o").unwrap_err();
        assert!(e.starts_with("error: "), "{e}");
    }
    let cases = [
        ("extern long nowhere(long);\nSEC(\"misc/load\") long load(void *c) { return nowhere(1); }\n", "function `nowhere` is called but not defined"),
        ("struct { __uint(type, 27); __type(key, __u32); __type(value, __u64); __uint(max_entries, 1); } ring SEC(\".maps\");\nSEC(\"misc/load\") long load(void *c) { __u32 k = 0; return (long)map_lookup(&ring, &k); }\n", "map `ring` has type 27"),
        ("__u64 counter;\nSEC(\"misc/load\") long load(void *c) { counter++; return 0; }\n", "`counter` is a global variable in `.bss`"),
        ("SEC(\"misc/open\") long open(void *c) { return 0; }\n", "class `misc` has no entry point `open`"),
        ("SEC(\"dev/open\") long open(void *c) { return 0; }\n", "section `dev/open` is not an entry point of this `misc` module"),
        ("SEC(\"misc/load\") long load(void *c) { return 0; }\nSEC(\"misc/load\") long again(void *c) { return 1; }\n", "holds more than one function (`again` too)"),
    ];
    for (body, expected) in cases {
        let src = format!("#include <warden.h>\nMODULE(bad, misc);\n{body}");
        let e = image_of(&object(&c, "bad", &src)).unwrap_err();
        assert!(e.contains(expected), "{expected}:\n{e}");
        assert!(e.contains("bad.c:"), "names the C file and line:\n{e}");
    }
    let pointers = "#include <warden.h>\nMODULE(bad, misc);\nstatic const char *names[] = { \"a\", \"b\" };\nSEC(\"misc/load\") long load(struct load_ctx *ctx) { return names[ctx->module_id & 1][0]; }\n";
    let e = image_of(&object(&c, "pointers", pointers)).unwrap_err();
    assert!(e.contains("holds the address of") && e.contains("pointers.c"), "{e}");
    let e = image_of(&object(&c, "nomodule", "#include <warden.h>\nSEC(\"misc/load\") long load(void *c) { return 0; }\n")).unwrap_err();
    assert!(e.contains("exactly one `MODULE` line"), "{e}");
}

#[test]
fn modc_header_writes_warden_h_and_a_missing_clang_says_how_to_install_it() {
    let out = tmp("warden.h");
    let o = modc(&["header", "-o", out.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let h = std::fs::read_to_string(&out).expect("warden.h");
    assert!(h.contains("struct tick_ctx {") && h.contains("static void *(*map_lookup)(void *a1, const void *a2) = (void *)6;"), "{h}");
    let src = c_file("noclang", "int x;\n");
    let o = Command::new(env!("CARGO_BIN_EXE_modc")).args(["build", src.to_str().unwrap_or_default()]).env("PATH", "/nonexistent").output().expect("modc");
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("needs clang 14 or newer") && err.contains("apt-get install clang"), "{err}");
}

/// A per-CPU array (`BPF_MAP_TYPE_PERCPU_ARRAY`), `cpu_id` and an atomic
/// add (`__sync_fetch_and_add`, a `lock` add in the bytecode) compile,
/// verify and run as in a `.wm` module.
#[test]
fn per_cpu_arrays_cpu_id_and_atomics_build_from_c() {
    let src = "#include <warden.h>\nMODULE(pc, misc);\n\n\
        struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__type(key, __u32);\n\t__type(value, __u64);\n\t__uint(max_entries, 2);\n} hits SEC(\".maps\");\n\n\
        struct {\n\t__uint(type, BPF_MAP_TYPE_ARRAY);\n\t__type(key, __u32);\n\t__type(value, __u64);\n\t__uint(max_entries, 1);\n} total SEC(\".maps\");\n\n\
        SEC(\"misc/load\") long load(struct load_ctx *ctx)\n{\n\t__u32 one = 1, zero = 0;\n\t__u64 *n = map_lookup(&hits, &one);\n\tif (n)\n\t\t*n += 1 + cpu_id();\n\
        \t__u64 *t = map_lookup(&total, &zero);\n\tif (t)\n\t\t__sync_fetch_and_add(t, 1);\n\treturn 0;\n}\n";
    for c in clangs("per-CPU arrays in C") {
        let image = image_of(&object(&c, "percpu", src)).unwrap_or_else(|e| panic!("clang {}: {e}", c.version));
        assert_eq!(image.maps[0].kind, lkm::MapKind::PerCpuArray, "clang {}", c.version);
        assert_eq!(image.maps[1].kind, lkm::MapKind::Array, "clang {}", c.version);
        for v in modc::driver::verify_image(&image) {
            assert!(v.result.is_ok(), "clang {}: `{}` does not verify: {:?}", c.version, v.entry, v.result.err());
        }
        let program = verifier::decode(&image.programs[0].code).expect("decodes");
        assert!(program.insns().iter().any(|i| matches!(i, verifier::Insn::Atomic { .. })), "clang {}: no atomic add", c.version);
    }
}
