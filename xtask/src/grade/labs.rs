//! The labs and what their checks share. Every expected value is computed
//! from inputs chosen at grading time (random numbers, text and names, the
//! real-time clock's start and mode) or measured outside the module (the
//! id the kernel gave it, the kernel log's time stamps, a tick counter of
//! the grader's own), never read from a file the student could copy; each
//! lab's checks are in its own module.

mod clock;
mod fixme;
mod gcd;
mod percpu;
mod runas;
mod stamp;
mod upper;

use std::time::Duration;

use super::guest::Guest;
use super::{Check, Lab, Rng, Setup};
use crate::Result;

pub const ALL: &[Lab] = &[
    Lab { dir: "stamp", file: "stamp.wm", module: "stamp", structure: stamp::structure, checks: stamp::checks, setup: nothing },
    Lab { dir: "gcd", file: "gcd.wm", module: "gcd", structure: anything, checks: gcd::checks, setup: nothing },
    Lab { dir: "clock", file: "clock.wm", module: "clock", structure: anything, checks: clock::checks, setup: clock::setup },
    Lab { dir: "upper", file: "upper.wm", module: "upper", structure: anything, checks: upper::checks, setup: nothing },
    Lab { dir: "fixme", file: "fixme.wm", module: "primes", structure: fixme::structure, checks: fixme::checks, setup: nothing },
    Lab { dir: "runas", file: "runas.wm", module: "runas", structure: anything, checks: runas::checks, setup: runas::setup },
    Lab { dir: "percpu", file: "count.wm", module: "count", structure: percpu::structure, checks: percpu::checks, setup: two_cpus },
];

/// A lab whose image may hold anything.
fn anything(_: &lkm::Image, _: &mut Vec<Check>) {}

/// A lab that adds nothing to the machine.
fn nothing(_: &mut Rng) -> Result<Setup> {
    Ok(Setup::default())
}

/// A lab graded on a machine of two CPUs.
fn two_cpus(_: &mut Rng) -> Result<Setup> {
    Ok(Setup { cpus: Some(2), ..Setup::default() })
}

/// Loads `/modules/lab_NAME.lkm`; the id the kernel gave it.
fn load(g: &mut Guest, name: &str, checks: &mut Vec<Check>) -> Option<u64> {
    // The kernel verifies the module first: under TCG that can take a while.
    let out = g.run_for(&format!("modload /modules/lab_{name}.lkm"), Duration::from_secs(120)).unwrap_or_else(|e| e.to_string());
    let id = out
        .split_once("loaded as id ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
    checks.push(Check::new("loads", id.is_some(), out));
    id
}

fn unload(g: &mut Guest, name: &str, checks: &mut Vec<Check>) {
    g.out(&format!("modunload -n {name}"));
    let out = g.out(&format!("modstat -n {name}"));
    checks.push(Check::new("unloads", out.contains("no module"), out));
}

/// The value `syscall -n MODULE ARGS` printed (`syscall 30 returned 5`).
fn syscall(g: &mut Guest, module: &str, args: &str) -> (Option<i64>, String) {
    let out = g.out(&format!("syscall -n {module} {args}"));
    let value = out.split_once("returned ").and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok());
    (value, out)
}

/// The kernel log's last line holding `marker`: when it was logged (the
/// `[seconds.micros]` stamp, in microseconds since boot) and the numbers
/// after the marker.
fn logged(g: &mut Guest, marker: &str) -> Option<(u64, Vec<u64>)> {
    let dmesg = g.out("dmesg");
    let line = dmesg.lines().rev().find(|l| l.contains(marker))?;
    let (seconds, micros) = line.strip_prefix('[')?.split_once(']')?.0.trim().split_once('.')?;
    let at = seconds.parse::<u64>().ok()?.checked_mul(1_000_000)?.checked_add(micros.parse().ok()?)?;
    let rest = &line[line.find(marker)? + marker.len()..];
    Some((at, rest.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).filter_map(|w| w.parse().ok()).collect()))
}

/// Many cases folded into one check: the first wrong one is the note.
struct Cases {
    name: &'static str,
    wrong: Option<String>,
}

impl Cases {
    fn new(name: &'static str) -> Cases {
        Cases { name, wrong: None }
    }

    fn case(&mut self, ok: bool, note: impl FnOnce() -> String) {
        if !ok && self.wrong.is_none() {
            self.wrong = Some(note());
        }
    }

    fn push(self, checks: &mut Vec<Check>) {
        checks.push(Check::new(self.name, self.wrong.is_none(), self.wrong.unwrap_or_default()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Submission, cheats, source_path};
    use super::*;

    #[test]
    fn every_solution_and_cheat_verifies_and_the_fixme_skeleton_does_not() {
        for lab in ALL {
            let mut graded = vec![Submission::Solution, Submission::Student];
            graded.extend(cheats(lab).into_iter().map(Submission::Cheat));
            for what in graded {
                let path = source_path(lab, &what);
                let text = std::fs::read_to_string(&path).unwrap();
                let result = crate::modules::compile(&path.display().to_string(), &text);
                let expect_ok = what != Submission::Student || lab.dir != "fixme";
                assert_eq!(result.is_ok(), expect_ok, "{}: {:?}", path.display(), result.err());
                if let Ok(bytes) = result {
                    assert_eq!(lkm::parse(&bytes).unwrap().name, lab.module, "{}", path.display());
                }
            }
        }
    }

    #[test]
    fn every_cheat_says_which_shortcut_it_takes() {
        for lab in ALL {
            assert!(cheats(lab).len() >= 2, "lab {} needs a corpus of cheats", lab.dir);
            for name in cheats(lab) {
                let path = source_path(lab, &Submission::Cheat(name));
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.starts_with("// Cheat: "), "{} must start with `// Cheat: ` and the shortcut it takes", path.display());
            }
        }
    }

    #[test]
    fn every_lab_has_a_page_in_the_book() {
        for lab in ALL {
            let page = crate::kernel::root().join("book/src/labs").join(format!("{}.md", lab.dir));
            let text = std::fs::read_to_string(&page).unwrap_or_default();
            assert!(text.contains(&format!("cargo xtask grade {}", lab.dir)), "{} must say how to grade it", page.display());
        }
    }
}
