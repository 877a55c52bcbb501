//! Verifies one benchmark program many times, for measuring CPU time with
//! `perf stat` when the machine is too busy for wall-clock benchmarks:
//!
//! ```text
//! cargo build --release -p verifier --example verify_speed
//! perf stat -e task-clock target/release/examples/verify_speed straight_line_4096 500
//! ```
//!
//! Prints the instructions processed in all; divide by the task-clock time.

#[path = "../benches/programs.rs"]
mod programs;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(runs)) = (args.next(), args.next().and_then(|n| n.parse::<u32>().ok())) else {
        eprintln!("usage: verify_speed straight_line_4096|nested_loops|complexity_limit RUNS");
        std::process::exit(2);
    };
    let profile = programs::profile();
    let Some((_, program, _)) = programs::all().into_iter().find(|(n, _, _)| *n == name) else {
        eprintln!("error: no benchmark program `{name}`");
        std::process::exit(2);
    };
    let mut processed = 0;
    for _ in 0..runs {
        processed += match verifier::verify(&program, &profile) {
            Ok(v) => v.stats().insns_processed,
            Err(_) => profile.limits.max_insns_processed,
        };
    }
    println!("{name}: {runs} runs, {processed} instructions processed");
}
