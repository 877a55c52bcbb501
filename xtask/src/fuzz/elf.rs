//! The `elf` campaign: the ELF loader attacked from user space, in a
//! booted system (release kernel). It types `elffuzz COUNT SEED` as the
//! ordinary user `student` (the program `tests/scenarios/elffuzz.scn` runs
//! with a small count in every `cargo xtask test`) and follows its output:
//! one line per case, then a summary. Case `i` comes from seed `SEED + i`.
//!
//! The campaign fails on a wrong answer (a case run that must be refused,
//! or refused that must run), on changed shared pages, on a kernel panic,
//! and on a case that does not finish within [`CASE_TIMEOUT`]; it names
//! the seed that reproduces the failure (`su student -c "elffuzz 1 SEED"`).

use std::time::Duration;

use super::{Counts, number_before};
use crate::kernel::{self, Flavor};
use crate::qemu::{self, Vm};
use crate::session::{ExpectError, Session};
use crate::{Result, XtaskError};

/// Longest time one case may take (a spawn, a run, a wait) before the
/// campaign calls it a hang.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// The line the shell prints after `elffuzz`, with its exit status.
const DONE: &str = "elffuzz-exit=";

/// Builds the release kernel and the initrd the campaign boots.
pub fn build() -> Result<Vm> {
    Ok(Vm::new(kernel::build(Flavor::Normal, true)?))
}

/// Runs `count` cases from `seed`; whether the campaign passed, and its counts.
pub fn run(vm: &Vm, count: u64, seed: u64) -> Result<(bool, Counts)> {
    let mut session = Session::start(vm, false)?;
    if session.expect(crate::book::PROMPT, Duration::from_secs(60)).is_err() {
        return Err(XtaskError::new(format!("the system did not reach its shell:\n{}", session.tail(15))));
    }
    session.send_line(&format!("su student -c \"elffuzz {count} {seed}\"; echo \"{DONE}\"$?"))?;
    let mut counts = Counts::default();
    let mut next_seed = seed;
    loop {
        let from = session.pos();
        let failure = match session.expect("\n", CASE_TIMEOUT) {
            Ok(()) => {
                let line = session.output()[from..session.pos()].trim_end().to_string();
                println!("{line}");
                if let Some(s) = line.strip_prefix("elffuzz: seed ").and_then(|rest| rest.split(' ').next()?.parse::<u64>().ok()) {
                    next_seed = s + 1;
                }
                if let Some(rest) = line.strip_prefix(&format!("elffuzz: {count} cases:")) {
                    counts = Counts {
                        inputs: Some(count),
                        accepted: number_before(rest, "ran"),
                        violations: number_before(rest, "wrong").map(|w| w + u64::from(!rest.contains("unchanged"))),
                    };
                }
                if line.contains("kernel panic") {
                    Some(format!("the kernel panicked in the case of seed {next_seed}"))
                } else if let Some(status) = line.strip_prefix(DONE) {
                    return Ok((status == "0", counts));
                } else if line.ends_with("<-- WRONG") {
                    println!("error: the kernel gave a wrong answer\nhelp: reproduce it as student: elffuzz 1 {}", next_seed - 1);
                    None
                } else {
                    None
                }
            }
            Err(ExpectError::Timeout) => Some(format!("the case of seed {next_seed} did not finish within {} s", CASE_TIMEOUT.as_secs())),
            Err(ExpectError::Exited(code)) => Some(format!("in the case of seed {next_seed}, {}", qemu::describe_exit(code))),
        };
        if let Some(what) = failure {
            println!("{}", session.tail(15));
            println!("error: {what}\nhelp: reproduce it as student: elffuzz 1 {next_seed}");
            return Ok((false, counts));
        }
    }
}
