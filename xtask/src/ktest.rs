//! Stage `kernel`: build the kernel with `--features ktest`, boot it, and
//! read the test runner's report from the serial port.
//!
//! The whole suite runs on one CPU; then the tests whose names contain
//! [`SMP_FILTER`] run again on each of [`SMP_CPUS`] CPUs, with `cpus=N` on
//! the command line so that they know how many to expect (only when there
//! is no `--filter`, or it names `smp` tests).
//!
//! The kernel prints `test NAME ... ok` or `test NAME ... FAILED` per test,
//! then `ktest: N passed, N failed`, and exits QEMU with status 33 (all
//! passed) or 35. A missing summary, another status or the timeout counts as
//! one more failure.

use std::time::Duration;

use crate::kernel::{self, Flavor};
use crate::qemu::{self, Vm};
use crate::session::Session;
use crate::test::{StageResult, TestArgs};
use crate::Result;

/// The whole in-kernel run must finish within this time. It takes about
/// 3.5 minutes on an idle 2-core machine and 5 with the other core busy,
/// most of it the 1000 load/unload cycles of every example module; the
/// limit leaves room for a slower machine and still stops a hung kernel.
const TIMEOUT: Duration = Duration::from_secs(900);

/// What the tests of several CPUs have in their names.
const SMP_FILTER: &str = "smp";
/// The CPU counts the [`SMP_FILTER`] tests run on besides one.
const SMP_CPUS: [u32; 2] = [2, 4];
/// A run of the SMP tests takes a minute or two, most of it the 1,000
/// module loads and unloads raced by a task on every CPU
/// (`smp_unloads_race_uses_of_every_hook`: about a minute on 4 CPUs on a
/// busy 2-core machine) and the hostile modules' campaign; the limit
/// leaves room for a busier machine.
const SMP_TIMEOUT: Duration = Duration::from_secs(600);

pub fn run(args: &TestArgs) -> Result<StageResult> {
    let image = kernel::build(Flavor::Test, false)?;
    let mut vm = Vm::new(image);
    // The runner takes its name filter from the kernel command line.
    vm.append = args.filter.clone();
    let mut result = run_vm(&vm, TIMEOUT)?;
    if args.filter.as_deref().is_none_or(|f| f.contains(SMP_FILTER)) {
        for cpus in SMP_CPUS {
            println!("
ktest: the `{SMP_FILTER}` tests on {cpus} CPUs");
            vm.cpus = cpus;
            vm.append = Some(format!("{} cpus={cpus}", args.filter.as_deref().unwrap_or(SMP_FILTER)));
            let more = run_vm(&vm, SMP_TIMEOUT)?;
            result.passed += more.passed;
            result.failed += more.failed;
        }
    }
    Ok(result)
}

/// Boots `vm` once and counts its test lines (a missing summary, a bad
/// exit status or the timeout count as one more failure).
fn run_vm(vm: &Vm, timeout: Duration) -> Result<StageResult> {
    let mut session = Session::start(vm, true)?;
    let status = session.wait_exit(timeout);
    let mut result = count(session.output());
    let summary = summary_line(session.output());
    match status {
        None => {
            println!("\nerror: the in-kernel tests did not finish within {} s; QEMU was killed", timeout.as_secs());
            result.failed += 1;
        }
        Some(status) if status.code() != Some(qemu::EXIT_SUCCESS) => {
            println!("\nerror: {}", qemu::describe_exit(status.code()));
            if summary.is_none_or(|(_, failed)| failed == 0) {
                result.failed += 1;
            }
        }
        Some(_) if summary.is_none() => {
            println!("\nerror: the kernel exited without its `ktest:` summary line");
            result.failed += 1;
        }
        Some(_) => {}
    }
    Ok(result)
}

/// Counts the per-test lines.
fn count(output: &str) -> StageResult {
    let mut result = StageResult::default();
    for line in output.lines().filter(|l| l.starts_with("test ")) {
        if line.ends_with("... ok") {
            result.passed += 1;
        } else if line.contains("... FAILED") || line.contains("panicked") {
            result.failed += 1;
        }
    }
    result
}

/// The numbers of `ktest: N passed, N failed`.
fn summary_line(output: &str) -> Option<(usize, usize)> {
    output.lines().find_map(|line| {
        let rest = line.strip_prefix("ktest: ")?;
        let (passed, failed) = rest.split_once(", ")?;
        Some((passed.strip_suffix(" passed")?.parse().ok()?, failed.strip_suffix(" failed")?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_test_lines_and_reads_the_summary() {
        let out = "ktest: running 3 tests\ntest a::x ... ok\ntest a::y ... FAILED\n    why\ntest b::z ... ok\nktest: 2 passed, 1 failed\n";
        let result = count(out);
        assert_eq!((result.passed, result.failed), (2, 1));
        assert_eq!(summary_line(out), Some((2, 1)));
    }

    #[test]
    fn a_panicking_test_is_a_failure() {
        let out = "test a::x ... FAILED\n    test a::x panicked\nkernel panic: boom\n";
        assert_eq!(count(out).failed, 1);
        assert_eq!(summary_line(out), None);
    }
}
