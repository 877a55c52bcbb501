//! Verifier throughput: processed instructions per second and wall time
//! for the programs of `programs.rs` (a 4,096-instruction straight-line
//! program, nested bounded loops, a program at the complexity limit).
//!
//! Run with `cargo bench -p verifier --bench verify`. Each benchmark prints
//! how many instructions the analysis processes, and criterion reports
//! them per second. On a loaded machine prefer `examples/verify_speed.rs`
//! under `perf stat`, which measures CPU time.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use verifier::verify;

mod programs;

fn bench(c: &mut Criterion) {
    let profile = programs::profile();
    let mut group = c.benchmark_group("verify");
    for (name, program, accepted) in programs::all() {
        let processed = match verify(&program, &profile) {
            Ok(v) => v.stats().insns_processed,
            Err(r) => {
                assert!(!accepted, "{name} rejected: {r}");
                profile.limits.max_insns_processed
            }
        };
        println!("{name}: {} slots, {processed} instructions processed", program.len());
        group.throughput(Throughput::Elements(processed));
        group.bench_function(name, |b| b.iter(|| verify(&program, &profile)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
