//! Stage `host`: `cargo test --no-fail-fast` of the workspace's default
//! members (the host crates), then of the user runtime's library (`user`
//! is built for the kernel's target, but its library's tests run on the
//! host too: the `/dev/lkm` tables, the option parser), with cargo's output
//! streamed and its `test result:` lines summed. `--no-fail-fast` keeps going after a failing
//! test binary, so every failure of the run is reported.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::kernel;
use crate::test::{StageResult, TestArgs};
use crate::{Result, XtaskError};

pub fn run(_args: &TestArgs) -> Result<StageResult> {
    let mut result = cargo_test(&["test", "--no-fail-fast"])?;
    let user = cargo_test(&["test", "--no-fail-fast", "--package", "user", "--lib"])?;
    result.passed += user.passed;
    result.failed += user.failed;
    Ok(result)
}

/// Runs one `cargo test` command and sums its `test result:` lines.
fn cargo_test(args: &[&str]) -> Result<StageResult> {
    let mut child = kernel::cargo()
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| XtaskError::new(format!("cannot run cargo test: {e}")))?;
    let mut result = StageResult::default();
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some((passed, failed)) = parse_test_result(&line) {
            result.passed += passed;
            result.failed += failed;
        }
    }
    let status = child.wait()?;
    if !status.success() && result.failed == 0 {
        // A build error or a crashed test binary: no counted failure, but a failure.
        result.failed = 1;
    }
    Ok(result)
}

/// Reads `test result: ok. 5 passed; 0 failed; ...`.
fn parse_test_result(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |label: &str| -> Option<usize> {
        rest.split(';').find_map(|part| part.trim().strip_suffix(label)?.trim().rsplit(' ').next()?.parse().ok())
    };
    Some((count(" passed")?, count(" failed")?))
}

#[cfg(test)]
mod tests {
    use super::parse_test_result;

    #[test]
    fn reads_cargo_summary_lines() {
        assert_eq!(
            parse_test_result("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out"),
            Some((12, 0))
        );
        assert_eq!(parse_test_result("test result: FAILED. 3 passed; 2 failed; 0 ignored"), Some((3, 2)));
        assert_eq!(parse_test_result("running 3 tests"), None);
    }
}
