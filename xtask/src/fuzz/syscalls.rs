//! The `syscalls` campaign: boots Warden (the dev kernel, whose overflow
//! checks turn an unchecked sum on a user's number into a panic) and runs
//! `sysfuzz` (`user/src/bin/sysfuzz.rs`) as root, then as `student`, half
//! the calls each, then checks that the shell still answers. A kernel
//! panic, a hang (no summary in time), a lost worker, kernel memory that
//! grew or a shell that stops answering fails the campaign; the output
//! names the seed and the worker to rerun.

use std::time::Duration;

use super::Counts;
use crate::Result;
use crate::kernel::{self, Flavor};
use crate::qemu::{self, Vm};
use crate::session::{ExpectError, Session};

pub const NAME: &str = "syscalls";
const PROMPT: &str = crate::book::PROMPT;

/// Runs `calls` system calls from `seed` (root's run) and `seed + 1`
/// (student's); whether the kernel survived, and the counts.
pub fn run(calls: u64, seed: u64) -> Result<(bool, Counts)> {
    let image = kernel::build(Flavor::Normal, false)?;
    let mut session = Session::start(&Vm::new(image), true)?;
    let mut counts = Counts { inputs: Some(0), accepted: Some(0), violations: Some(0) };
    let root_calls = calls / 2;
    let runs = [("", root_calls, seed), ("su student -c ", calls - root_calls, seed.wrapping_add(1))];
    let mut outcome = expect(&mut session, PROMPT, Duration::from_secs(60));
    for (prefix, n, s) in runs {
        if outcome.is_err() {
            break;
        }
        let command = format!("sysfuzz -n {n} -s {s}");
        let line = if prefix.is_empty() { command.clone() } else { format!("{prefix}\"{command}\"") };
        session.send_line(&line)?;
        // TCG makes some 10,000 calls a second; leave ten times the room.
        let limit = Duration::from_secs(120 + n / 1000);
        outcome = expect(&mut session, "sysfuzz: done:", limit)
            .and_then(|()| expect(&mut session, "\n", Duration::from_secs(5)))
            .map_err(|e| format!("`{command}` did not finish: {e}"));
        if outcome.is_ok() {
            let summary = session.output().lines().rev().find(|l| l.starts_with("sysfuzz: done:")).unwrap_or("");
            add(&mut counts, summary);
            outcome = expect(&mut session, PROMPT, Duration::from_secs(30));
        }
    }
    if outcome.is_ok() {
        session.send_line("echo still\"alive\"")?;
        outcome = expect(&mut session, "stillalive", Duration::from_secs(30))
            .map_err(|e| format!("the shell stopped answering: {e}"));
    }
    // A lost worker or kernel memory that grew is printed by `sysfuzz` itself.
    let trouble = ["kernel panic", "sysfuzz: kernel memory grew", "rerun it with"]
        .into_iter()
        .find(|t| session.output().contains(t));
    let passed = outcome.is_ok() && trouble.is_none();
    if !passed {
        counts.violations = Some(1);
        let why = outcome.err().unwrap_or_else(|| format!("`{}` appeared in the output", trouble.unwrap_or("?")));
        println!("\nerror: the system-call campaign failed: {why}");
        println!(
            "help: reproduce with `cargo xtask fuzz --campaign syscalls --calls {calls} --seed {seed}`; the last `sysfuzz: worker` line above names the worker to rerun in `cargo xtask run`"
        );
    }
    Ok((passed, counts))
}

fn expect(session: &mut Session, text: &str, limit: Duration) -> std::result::Result<(), String> {
    session.expect(text, limit).map_err(|e| match e {
        ExpectError::Timeout => {
            format!("`{}` did not appear within {} s (a hang?)", text.escape_debug(), limit.as_secs())
        }
        ExpectError::Exited(code) => qemu::describe_exit(code),
    })
}

/// Adds the numbers of a `sysfuzz: done: N calls (R refused ...)` line.
fn add(counts: &mut Counts, summary: &str) {
    let made = super::number_before(summary, "calls").unwrap_or(0);
    let refused = super::number_before(summary, "refused").unwrap_or(0);
    counts.inputs = Some(counts.inputs.unwrap_or(0) + made);
    counts.accepted = Some(counts.accepted.unwrap_or(0) + made.saturating_sub(refused));
}
