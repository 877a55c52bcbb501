//! Compile time of `modc`: a generated 2,000-line module, and every example
//! module under `modules/` (compilation only, then compilation plus
//! verification with the kernel's profiles).
//!
//! Run with `cargo bench -p modc --bench compile`.

use criterion::{criterion_group, criterion_main, Criterion};
use modc::driver::{compile, verify_image};

/// A module of about `lines` lines: local functions with loops, arrays,
/// map updates and arithmetic, called from the entry point.
pub fn generated_module(lines: usize) -> String {
    let mut s = String::from("module big: misc;\nmap counts: hash<u32, u64>[64];\n");
    let mut f = 0;
    while s.lines().count() < lines {
        s += &format!(
            "fn f{f}(a: u64, b: u64) -> u64 {{
    let mut acc: u64 = a ^ {f};
    let mut buf = [0u8; 16];
    for i in 0..16 {{
        buf[i] = (acc + i) as u8;
        acc = acc * 31 + b;
    }}
    if acc % 3 == 0 {{
        acc += buf[(b % 16)] as u64;
    }} else {{
        acc -= buf[(a % 16)] as u64;
    }}
    if let Some(c) = counts.get(&({f} as u32)) {{
        *c += acc;
    }} else {{
        counts.insert({f} as u32, acc);
    }}
    let mut n: u64 = 0;
    while n < 8 && acc > 0 {{
        acc = acc / 2;
        n += 1;
    }}
    return acc + n;
}}
"
        );
        f += 1;
    }
    s += "fn load(ctx: &LoadCtx) -> i64 {\n    let mut t: u64 = ctx.module_id as u64;\n";
    for k in 0..f.min(7) {
        s += &format!("    t = f{k}(t, {k});\n");
    }
    s += "    return t as i64;\n}\n";
    s
}

fn examples() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../modules");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("modules/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wm"))
        .map(|p| {
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

fn bench(c: &mut Criterion) {
    let big = generated_module(2000);
    assert!(compile(&big, "big.wm").is_ok(), "the generated module compiles");
    c.bench_function("compile/generated-2000-lines", |b| b.iter(|| compile(std::hint::black_box(&big), "big.wm")));
    for (name, src) in examples() {
        c.bench_function(&format!("compile/{name}"), |b| b.iter(|| compile(std::hint::black_box(&src), "m.wm")));
        let compiled = compile(&src, "m.wm").expect("example compiles");
        c.bench_function(&format!("verify/{name}"), |b| b.iter(|| verify_image(std::hint::black_box(&compiled.image))));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
