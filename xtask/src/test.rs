//! `cargo xtask test`: every test, in stages, each timed.
//!
//! 1. `host`: `cargo test` of the workspace's default members;
//! 2. `kernel`: the in-kernel tests in QEMU;
//! 3. `scenarios`: boot the system and drive it over the serial port;
//! 4. `book`: the book's generated outputs, code blocks, links and build;
//! 5. `labs`: every lab's grader passes on the reference solution and
//!    fails on the untouched skeleton.
//!
//! Each stage ends with `STAGE: N passed, N failed` and its time; the run
//! ends with `total: N passed, N failed` and exits non-zero on any failure.
//! A stage is a function from the options to a [`StageResult`]; add one to
//! [`stages`] to extend the run.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::{Result, book, grade, host, ktest, qemu, scenario};

#[derive(Args, Clone)]
pub struct TestArgs {
    /// Run only this stage (repeatable; an unknown name lists the stages); all when omitted
    #[arg(long = "stage", value_name = "STAGE")]
    pub stages: Vec<String>,
    /// Only kernel tests and scenarios whose name contains this text
    #[arg(long)]
    pub filter: Option<String>,
}

/// Counts reported by one stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct StageResult {
    pub passed: usize,
    pub failed: usize,
}

impl StageResult {
    /// A stage that could not run at all counts as one failure.
    pub fn broken() -> Self {
        StageResult { passed: 0, failed: 1 }
    }
}

type StageFn = fn(&TestArgs) -> Result<StageResult>;

/// The stages, in order.
fn stages() -> Vec<(&'static str, StageFn)> {
    vec![("host", host::run), ("kernel", ktest::run), ("scenarios", scenario::run), ("book", book::stage), ("labs", grade::stage)]
}

pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let known: Vec<&str> = stages().iter().map(|(name, _)| *name).collect();
    if let Some(unknown) = args.stages.iter().find(|s| !known.contains(&s.as_str())) {
        return Err(crate::XtaskError::new(format!("no stage named `{unknown}`"))
            .with_help(format!("the stages are: {}", known.join(", "))));
    }
    qemu::ensure_installed()?;
    crate::clang::ensure_installed();
    let started = Instant::now();
    let mut summary = Vec::new();
    for (name, stage) in stages() {
        if !args.stages.is_empty() && !args.stages.iter().any(|s| s == name) {
            continue;
        }
        println!("\n==== stage {name} ====");
        let stage_start = Instant::now();
        let result = stage(args).unwrap_or_else(|error| {
            println!("error: stage {name}: {error}");
            StageResult::broken()
        });
        let took = stage_start.elapsed();
        println!("stage {name} took {}", seconds(took));
        println!("{name}: {} passed, {} failed", result.passed, result.failed);
        summary.push((name, result, took));
    }
    println!("\n==== summary ====");
    for (name, result, took) in &summary {
        println!("{name:<10} {:>5} passed {:>4} failed  {:>8}", result.passed, result.failed, seconds(*took));
    }
    let passed: usize = summary.iter().map(|(_, r, _)| r.passed).sum();
    let failed: usize = summary.iter().map(|(_, r, _)| r.failed).sum();
    println!("all stages took {}", seconds(started.elapsed()));
    println!("total: {passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
