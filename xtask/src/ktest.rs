//! Stage `kernel`: build the kernel with `--features ktest`, boot it, and
//! read the test runner's report from the serial port.
//!
//! The suite (or the tests `--filter` selects) runs on each of [`CPUS`]
//! CPUs, one boot each, with `cpus=N` on the command line so that the
//! tests know how many to expect.
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

/// Each in-kernel run must finish within this time. On one CPU it takes
/// about 3.5 minutes on an idle 2-core machine and 5 with the other core
/// busy, most of it the 1000 load/unload cycles of every example module;
/// on 4 CPUs of a busy machine about 3.5 minutes too (100 cycles there,
/// but every unload waits for the other CPUs), a minute of it the stress
/// test `smp_unloads_race_uses_of_every_hook`. The limit leaves room for
/// a slower machine and still stops a hung kernel.
const TIMEOUT: Duration = Duration::from_secs(900);

/// The CPU counts the tests run on (docs/testing.md).
const CPUS: [u32; 3] = [1, 2, 4];
/// A filter every test's name contains (`crate::module::test`): the
/// runner takes the first word of the command line as its filter, so a
/// run of every test still needs one before `cpus=N`.
const EVERY_TEST: &str = "::";

pub fn run(args: &TestArgs) -> Result<StageResult> {
    let image = kernel::build(Flavor::Test, false)?;
    let mut vm = Vm::new(image);
    let mut result = StageResult::default();
    for cpus in CPUS {
        if cpus > 1 {
            println!("\nktest: the tests again on {cpus} CPUs");
        }
        vm.cpus = cpus;
        // The runner takes its name filter from the kernel command line.
        vm.append = Some(format!("{} cpus={cpus}", args.filter.as_deref().unwrap_or(EVERY_TEST)));
        let more = run_vm(&vm, TIMEOUT)?;
        result.passed += more.passed;
        result.failed += more.failed;
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
