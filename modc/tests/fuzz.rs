//! The front end never panics: random bytes, random tokens and mutations
//! of real modules all end in an image or in diagnostics (which render).
//! `WARDEN_FUZZ_SOURCES=N` sets the number of inputs (default 1,000).

use modc::diag::render;
use modc::driver::{compile, verify_image};

mod common;

use common::Rng;

const TOKENS: &[&str] = &[
    "module", "m", ":", "misc", ";", "fn", "load", "(", "ctx", "&", "LoadCtx", ")", "->", "i64", "{", "}", "let", "mut",
    "x", "=", "1", "u8", "+", "*", "if", "else", "while", "for", "in", "0", "..", "10", "return", "[", "]", "map",
    "hash", "<", ">", ",", "array", "struct", "S", "if let Some(v) = m.get(&x)", "log(\"a {}\", x)", "emit(\"z\")",
    "break", "continue", "as", "u64", "-", "!", "==", ".", "x.y", "*x", "0xff", "b'a'", "\"s\"", "ports", "0x70..0x72",
];

fn sources() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["/../modules", "/tests/ui"] {
        let dir = format!("{}{dir}", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(dir).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "wm") {
                out.push(std::fs::read_to_string(p).expect("read"));
            }
        }
    }
    out
}

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut b: Vec<u8> = src.as_bytes().to_vec();
    for _ in 0..1 + rng.below(6) {
        if b.is_empty() {
            break;
        }
        let at = rng.below(b.len());
        match rng.below(5) {
            0 => {
                b.remove(at);
            }
            1 => b.insert(at, b"{}()[];:,.<>=&*-+\"'0x9_az\n"[rng.below(26)]),
            2 => {
                let len = rng.below(40).min(b.len() - at);
                b.drain(at..at + len);
            }
            3 => {
                let from = rng.below(b.len());
                let len = rng.below(30).min(b.len() - from);
                let chunk: Vec<u8> = b[from..from + len].to_vec();
                for (k, c) in chunk.into_iter().enumerate() {
                    b.insert(at + k, c);
                }
            }
            _ => b[at] = rng.next() as u8,
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn the_front_end_never_panics() {
    let count: usize = std::env::var("WARDEN_FUZZ_SOURCES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let seeds = sources();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut built, mut refused) = (0, 0);
    for i in 0..count {
        let src = match i % 4 {
            0 => (0..rng.below(300)).map(|_| (rng.below(95) as u8 + 32) as char).collect(),
            1 => (0..rng.below(80)).map(|_| TOKENS[rng.below(TOKENS.len())]).collect::<Vec<_>>().join(" "),
            _ => {
                let seed = rng.below(seeds.len());
                mutate(&mut rng, &seeds[seed])
            }
        };
        match compile(&src, "fuzz.wm") {
            Ok(c) => {
                built += 1;
                assert!(lkm::parse(&c.image.to_bytes()).is_ok());
                // The language's promise: what compiles verifies, or is too complex.
                for v in verify_image(&c.image) {
                    if let Err(r) = v.result {
                        assert_eq!(r.kind, verifier::ErrorKind::TooComplex, "`{}` rejected: {r}\n{src}", v.entry);
                    }
                }
            }
            Err(diags) => {
                refused += 1;
                assert!(!diags.is_empty(), "refused without a diagnostic:\n{src}");
                let text = render("fuzz.wm", &src, &diags);
                assert!(text.contains("error"), "{text}");
            }
        }
    }
    println!("{count} sources: {built} compiled, {refused} refused with diagnostics");
    assert!(refused > 0);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("module m: misc; fn load(ctx: &LoadCtx) -> i64 {{ return {}1{}; }}", "(".repeat(5000), ")".repeat(5000));
    let Err(d) = compile(&deep, "deep.wm") else { panic!("should be refused") };
    assert!(d.iter().any(|d| d.message.contains("nesting too deep")));
    let blocks = format!("module m: misc; fn load(ctx: &LoadCtx) -> i64 {{ {} return 0; {} }}", "{".repeat(3000), "}".repeat(3000));
    assert!(compile(&blocks, "deep.wm").is_err());
    // Long operator chains count as depth too.
    let long = format!("module m: misc; fn load(ctx: &LoadCtx) -> i64 {{ let x = 1u64; return ({}) as i64; }}", vec!["x"; 50_000].join(" + "));
    let Err(d) = compile(&long, "long.wm") else { panic!("should be refused") };
    assert!(d.iter().any(|d| d.message.contains("expression too long")));
    // Just under the limit still compiles (and verifies), on a test thread's stack.
    let ok = format!("module m: misc; fn load(ctx: &LoadCtx) -> i64 {{ let x = ctx.module_id as u64; return ({}) as i64; }}", vec!["x"; 121].join(" + "));
    let c = compile(&ok, "ok.wm").expect("compiles");
    assert!(verify_image(&c.image).iter().all(|v| v.result.is_ok()));
}
