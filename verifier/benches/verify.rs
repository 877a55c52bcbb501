//! Verifier throughput: processed instructions per second and wall time.
//!
//! * `straight_line_4096`: 4,096 instructions without branches (ALU, stack
//!   stores and loads, context loads), the size of a large module entry.
//! * `nested_loops`: three nested counted loops (8 x 8 x 8 iterations) with a
//!   buffer access in the innermost one.
//! * `complexity_limit`: a loop the verifier cannot prove bounded, run until
//!   the 1,000,000-instruction limit stops it (the worst case a module can
//!   make the kernel spend).
//!
//! Run with `cargo bench -p verifier --bench verify`; each benchmark prints
//! the instructions it processes so that time converts to instructions/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use verifier::{assemble, verify, CtxField, CtxLayout, Profile, Program};

fn profile() -> Profile {
    Profile::new().with_ctx(
        CtxLayout::new(64)
            .with_field(CtxField::value("a", 0, 8))
            .with_field(CtxField::value("b", 8, 8).writable())
            .with_field(CtxField::buffer("data", 16, 48)),
    )
}

/// 4,096 slots of straight-line code.
fn straight_line() -> Program {
    let mut src = String::from("r6 = r1\nr0 = 0\n");
    let body = [
        "r2 = *(u64 *)(r6 + 0)",
        "r2 &= 0xff",
        "r0 += r2",
        "*(u64 *)(r10 - 8) = r0",
        "r3 = *(u64 *)(r10 - 8)",
        "w3 += 7",
        "r0 ^= r3",
        "r4 = *(u32 *)(r6 + 8)",
    ];
    let mut n = 2;
    while n < 4095 {
        src.push_str(body[(n - 2) % body.len()]);
        src.push('\n');
        n += 1;
    }
    src.push_str("exit\n");
    assemble(&src).expect("benchmark program assembles")
}

/// Three nested bounded loops.
fn nested_loops() -> Program {
    assemble(
        "r0 = 0
         r2 = 0
         outer:
         r3 = 0
         middle:
         r4 = 0
         inner:
         r5 = r1
         r5 += r4
         r7 = *(u8 *)(r5 + 16)
         r0 += r7
         r4 += 1
         if r4 < 8 goto inner
         r3 += 1
         if r3 < 8 goto middle
         r2 += 1
         if r2 < 8 goto outer
         exit",
    )
    .expect("benchmark program assembles")
}

/// A loop the verifier gives up on at the complexity limit.
fn complexity_limit() -> Program {
    assemble(
        "r0 = 0
         loop:
         r0 += 1
         r2 = r0
         r2 &= 7
         if r0 != 0 goto loop
         exit",
    )
    .expect("benchmark program assembles")
}

fn bench(c: &mut Criterion) {
    let profile = profile();
    let mut group = c.benchmark_group("verify");
    for (name, program, accepted) in [
        ("straight_line_4096", straight_line(), true),
        ("nested_loops", nested_loops(), true),
        ("complexity_limit", complexity_limit(), false),
    ] {
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
