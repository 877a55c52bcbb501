//! Criterion benchmarks of the JIT against the other engines, and of JIT
//! compile throughput. Run with `cargo bench -p jit`; the table of times
//! printed at the end (and written to `target/criterion/warden-jit-table.md`)
//! goes into docs/performance.md, and `cargo xtask bench jit` computes the
//! ratios from it (`xtask/src/bench.rs`). Times are the benchmark thread's
//! CPU time ([`cputime`]), steadier than wall-clock time on a shared
//! machine; the table's times are medians of interleaved rounds
//! ([`interleaved_medians`]); criterion's own reports are in
//! `target/criterion`.
//!
//! Engines per program: this JIT, this JIT with constant blinding, both
//! with fuel metering (`jit_fuel`, `jit_fuel_blinded`; the kernel's code is
//! the blinded and metered one), the reference interpreter (`vm`), rbpf's
//! JIT (where it compiles the program), rbpf's interpreter, and native Rust
//! built the fair way: optimised, scalar, inputs opaque (see
//! [`programs`]).

mod cputime;
mod programs;

use cputime::CpuTime;

type Criterion = criterion::Criterion<CpuTime>;
use jit::host::{CodeRegion, ExecCode};
use jit::{CallMode, JitOptions};
use programs::{helper_identity, BenchProgram};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use verifier::{Program, Verified};

mod engines;
use engines::*;

fn main() {
    let out_dir = criterion_dir();
    let mut c = criterion::Criterion::default()
        .with_measurement(CpuTime)
        .output_directory(&out_dir)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut rows = Vec::new();
    for p in programs::all() {
        rows.push(bench_program(&mut c, &p));
    }
    let compile = bench_compile(&mut c);
    c.final_summary();
    let table = report(&out_dir, &rows, &compile);
    println!("{table}");
    let _ = std::fs::write(out_dir.join("warden-jit-table.md"), table);
}

fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// The times of one program's engines (rbpf's JIT may refuse some).
struct Row {
    name: &'static str,
    /// Nanoseconds of CPU time per run, by engine.
    times: BTreeMap<&'static str, f64>,
}

/// An engine running one program: its name and a run returning r0.
type Engine<'a> = (&'static str, Box<dyn FnMut() -> u64 + 'a>);

fn bench_program(c: &mut Criterion, p: &BenchProgram) -> Row {
    let program = verifier::assemble(&(p.asm)()).unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let mem = (p.mem)();
    let verified = verify(&program, mem.len()).unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let bytes = verifier::encode(&program);
    let want = (p.native)(&mut mem.clone());
    // Each engine gets its own copy of the memory.
    let mut engines: Vec<Engine> = Vec::new();
    let vm = Interp::new(&program);
    for (name, blinding, fuel) in [
        ("jit", None, false),
        ("jit_blinded", Some(0x5eed), false),
        ("jit_fuel", None, true),
        ("jit_fuel_blinded", Some(0x5eed), true),
    ] {
        let jitted = Jitted::new(&verified, blinding, fuel);
        let mut m = mem.clone();
        assert_eq!(jitted.run(&mut m), want, "{}: {name}", p.name);
        engines.push((name, Box::new(move || jitted.run(black_box(&mut m)))));
    }
    let mut m = mem.clone();
    assert_eq!(vm.run(&mut m), Some(want), "{}: vm", p.name);
    engines.push(("vm", Box::new(move || vm.run(black_box(&mut m)).unwrap_or(0))));
    let mut m = mem.clone();
    if let Some(rj) = RbpfJit::new(&bytes)
        && rj.run(&mut m) == Some(want)
    {
        engines.push(("rbpf_jit", Box::new(move || rj.run(black_box(&mut m)).unwrap_or(0))));
    }
    let mut m = mem.clone();
    if let Some(ri) = RbpfInterp::new(&bytes)
        && ri.run(&mut m) == Some(want)
    {
        engines.push(("rbpf_interp", Box::new(move || ri.run(black_box(&mut m)).unwrap_or(0))));
    }
    let mut m = mem.clone();
    let native = p.native;
    engines.push(("native", Box::new(move || native(black_box(&mut m)))));
    let mut g = c.benchmark_group(p.name);
    for (name, run) in engines.iter_mut() {
        g.bench_function(*name, |b| b.iter(&mut *run));
    }
    g.finish();
    Row { name: p.name, times: interleaved_medians(&mut engines) }
}

/// Rounds of [`interleaved_medians`].
const ROUNDS: usize = 101;

/// The CPU time per run of each engine: the engines take turns, a batch of
/// about a millisecond each, for [`ROUNDS`] rounds, and each keeps the
/// median of its batches. On a shared machine a neighbour slows whichever
/// engine happens to run beside it; taking turns spreads the disturbance
/// over all engines alike, and the median ignores the disturbed rounds.
fn interleaved_medians(engines: &mut [Engine]) -> BTreeMap<&'static str, f64> {
    let batch: Vec<u64> = engines
        .iter_mut()
        .map(|(_, run)| {
            let t = cputime::thread_cpu_ns();
            black_box(run());
            (1_000_000 / (cputime::thread_cpu_ns() - t).max(1)).clamp(1, 1_000_000)
        })
        .collect();
    let mut samples = vec![Vec::with_capacity(ROUNDS); engines.len()];
    for _ in 0..ROUNDS {
        for (i, (_, run)) in engines.iter_mut().enumerate() {
            let t = cputime::thread_cpu_ns();
            for _ in 0..batch[i] {
                black_box(run());
            }
            samples[i].push((cputime::thread_cpu_ns() - t) as f64 / batch[i] as f64);
        }
    }
    engines.iter().map(|(name, _)| *name).zip(samples.iter_mut().map(|s| median(s))).collect()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// JIT compile throughput on straight-line programs of two sizes.
fn bench_compile(c: &mut Criterion) -> Vec<(usize, &'static str)> {
    let mut g = c.benchmark_group("compile");
    let mut ids = vec![];
    for (n, id) in [(4096usize, "insns_4096"), (65536, "insns_65536")] {
        let program = engines::straight_line(n);
        let verified = verify(&program, 64).expect("straight-line program verifies");
        let helper = |id: u32| (id == 5).then_some(helper_identity as *const () as u64);
        let mut opts = JitOptions::new(0x7f00_0000_0000);
        opts.helper_address = &helper;
        opts.call_mode = CallMode::HostFar;
        g.throughput(criterion::Throughput::Elements(n as u64));
        g.bench_function(id, |b| b.iter(|| jit::compile(black_box(&verified), &opts).expect("compiles")));
        ids.push((n, id));
    }
    g.finish();
    ids
}

/// Mean time of one benchmark in nanoseconds, from criterion's output.
fn mean_ns(dir: &Path, group: &str, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(group).join(id).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// The markdown table of median times (`cargo xtask bench jit` computes
/// the ratios from them), the helper call cost and the compile throughput.
fn report(dir: &Path, rows: &[Row], compile: &[(usize, &'static str)]) -> String {
    let cols = ["jit", "jit_blinded", "jit_fuel", "jit_fuel_blinded", "vm", "rbpf_jit", "rbpf_interp", "native"];
    let mut s = format!(
        "CPU time per run in µs (median of {ROUNDS} interleaved rounds):\n\n| program | {} |\n|---|{}\n",
        cols.join(" | "),
        "---:|".repeat(cols.len())
    );
    for row in rows {
        s += &format!("| {} |", row.name);
        for c in cols {
            s += &match row.times.get(c) {
                Some(ns) => format!(" {:.3} |", ns / 1000.0),
                None => " — |".into(),
            };
        }
        s += "\n";
    }
    let jit_of = |name: &str| rows.iter().find(|r| r.name == name).and_then(|r| r.times.get("jit").copied());
    if let (Some(h), Some(b)) = (jit_of("helper_calls"), jit_of("helper_calls_baseline")) {
        s += &format!("\nhelper call cost over the loop around it: {:.2} ns (goal ≤ 2 ns)\n", (h - b) / 1000.0);
    }
    for (n, id) in compile {
        if let Some(ns) = mean_ns(dir, "compile", id) {
            s += &format!(
                "JIT compile of {n} instructions: {:.2} ms, {:.1} million instructions/s (goal ≥ 20; criterion mean)\n",
                ns / 1e6,
                *n as f64 / ns * 1e3
            );
        }
    }
    s
}

/// Verifies a benchmark program: r1 points to `len` writable bytes, r2
/// holds `len`, helper 5 maps a scalar to a scalar.
fn verify(program: &Program, len: usize) -> Result<Verified, String> {
    engines::verify_for_bench(program, len)
}

/// A program compiled into executable memory near the helper, metered or
/// not.
struct Jitted {
    code: ExecCode,
    entry: u32,
    metered: bool,
}

/// Helper weights of the metered engines (the kernel's `log` weight).
fn weight(_: u32) -> u64 {
    5_000
}

impl Jitted {
    fn new(v: &Verified, blinding: Option<u64>, metered: bool) -> Jitted {
        let target = helper_identity as *const () as u64;
        let region = CodeRegion::map_near(jit::code_size_bound(v.program().len(), v.functions().len()), target).expect("mmap");
        let helper = |id: u32| (id == 5).then_some(target);
        let mut opts = JitOptions::new(region.address());
        opts.helper_address = &helper;
        opts.blinding = blinding;
        let fuel = jit::host::fuel(&weight);
        let near = region.within_rel32(target) && region.within_rel32(jit::host::fuel_counter());
        opts.call_mode = if near { CallMode::Near } else { CallMode::HostFar };
        opts.fuel = metered.then_some(fuel);
        let out = jit::compile(v, &opts).expect("compiles");
        let entry = out.entries()[0];
        Jitted { code: region.seal(out.code()).expect("mprotect"), entry, metered }
    }

    fn run(&self, mem: &mut [u8]) -> u64 {
        // SAFETY: the program was verified for r1 = `mem` (the benchmark's
        // buffer, at least as long as the profile says); metered code was
        // compiled with the options of `jit::host::fuel`, and a budget of
        // `u64::MAX` never runs out.
        unsafe {
            match self.metered {
                true => self.code.call_metered(self.entry, mem.as_mut_ptr() as u64, 0, u64::MAX).map_or(0, |(r0, _)| r0),
                false => self.code.call(self.entry, mem.as_mut_ptr()),
            }
        }
    }
}
