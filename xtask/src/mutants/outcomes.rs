//! What a cargo-mutants run found: its `outcomes.json` read into one
//! [`Mutant`] per planted bug, each with the tests that caught it (from the
//! mutant's log), and the committed list of mutants that cannot change
//! behaviour ([`Equivalents`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Result, XtaskError};

/// What became of one mutant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// A test failed.
    Caught,
    /// Every test passed, and the mutant is not on the equivalence list.
    Missed,
    /// The tests ran past the time limit (a loop that no longer ends).
    Timeout,
    /// The mutated code does not compile.
    Unviable,
    /// Every test passed, and the equivalence list says why none can fail.
    Equivalent,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [Outcome::Caught, Outcome::Missed, Outcome::Timeout, Outcome::Unviable, Outcome::Equivalent];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Caught => "caught",
            Outcome::Missed => "missed",
            Outcome::Timeout => "timeout",
            Outcome::Unviable => "unviable",
            Outcome::Equivalent => "equivalent",
        }
    }
}

/// One planted bug.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// From the workspace root.
    pub file: String,
    pub line: u64,
    /// Where on the line the change starts (counting from 1; 0 when not
    /// recorded).
    pub column: u64,
    /// cargo-mutants' description without the place: `replace && with || in Bounds::covers`.
    pub change: String,
    pub outcome: Outcome,
    /// Time spent building and testing it; `None` for a row of the record
    /// written before the record kept times.
    pub seconds: Option<f64>,
    /// The failing tests, as `binary::path::name` (`verifier::domain::range::tests::covers_...`,
    /// `soundness_fuzz::accepted_programs_...`), or "the tests' build" when a test crate no longer compiled.
    pub caught_by: Vec<String>,
}

/// The mutants of one run (`DIR/outcomes.json`), in cargo-mutants' order.
pub fn read(dir: &Path, equivalents: &Equivalents) -> Result<Vec<Mutant>> {
    let path = dir.join("outcomes.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        XtaskError::new(format!("cannot read {}: {e}", path.display())).with_help("run `cargo xtask mutants` first")
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| XtaskError::new(format!("{}: {e}", path.display())))?;
    let bad = |what: &str| {
        XtaskError::new(format!("{}: {what}", path.display()))
            .with_help(format!("xtask reads the outcome files of cargo-mutants {}", super::VERSION))
    };
    let mut mutants = Vec::new();
    for outcome in json["outcomes"].as_array().ok_or_else(|| bad("no `outcomes` list"))? {
        let raw = outcome;
        let Some(mutant) = outcome["scenario"].get("Mutant") else {
            continue; // the baseline
        };
        let file = mutant["file"].as_str().ok_or_else(|| bad("a mutant without a file"))?.to_string();
        let name = mutant["name"].as_str().ok_or_else(|| bad("a mutant without a name"))?;
        let line = mutant["span"]["start"]["line"].as_u64().unwrap_or(0);
        let column = mutant["span"]["start"]["column"].as_u64().unwrap_or(0);
        // The name is `FILE:LINE:COLUMN: CHANGE`.
        let change = name.splitn(4, ':').nth(3).map(str::trim).ok_or_else(|| bad(&format!("unexpected name `{name}`")))?.to_string();
        let log = outcome["log_path"].as_str().map(|p| dir.join(p));
        let seconds = Some(outcome["phase_results"].as_array().map_or(0.0, |phases| phases.iter().filter_map(|p| p["duration"].as_f64()).sum()));
        let outcome = match outcome["summary"].as_str() {
            Some("CaughtMutant") => Outcome::Caught,
            Some("MissedMutant") if equivalents.find(&file, &change, (line, column)).is_some() => Outcome::Equivalent,
            Some("MissedMutant") => Outcome::Missed,
            Some("Timeout") => Outcome::Timeout,
            Some("Unviable") => Outcome::Unviable,
            other => return Err(bad(&format!("unexpected outcome {other:?} for `{name}`"))),
        };
        let kept: Option<Vec<String>> =
            raw["caught_by"].as_array().map(|tests| tests.iter().filter_map(|t| t.as_str().map(str::to_string)).collect());
        let caught_by = match (outcome, kept, log) {
            (Outcome::Caught, Some(tests), _) => tests,
            (Outcome::Caught, None, Some(log)) => std::fs::read_to_string(log).map(|t| failing_tests(&t)).unwrap_or_default(),
            _ => Vec::new(),
        };
        mutants.push(Mutant { file, line, column, change, outcome, seconds, caught_by });
    }
    Ok(mutants)
}

/// After a run of only the mutants left uncaught (cargo-mutants'
/// `--iterate`, which moves the last run to `mutants.out.old`), adds the
/// last run's outcomes of every other mutant to the new `outcomes.json`,
/// so that it describes the whole file or group again.
/// Only outcomes of the run's `files` (globs) and of mutants the code
/// still has (`current`, by name) are kept.
pub fn keep_earlier(dir: &Path, files: &[String], current: &[String]) -> Result<()> {
    let (new_path, old_path) = (dir.join("mutants.out/outcomes.json"), dir.join("mutants.out.old/outcomes.json"));
    if !old_path.is_file() {
        return Ok(()); // no earlier run: this one tested everything
    }
    let load = |path: &Path| -> Result<Value> {
        let text = std::fs::read_to_string(path).map_err(|e| XtaskError::new(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| XtaskError::new(format!("{}: {e}", path.display())))
    };
    let (mut new, old) = (load(&new_path)?, load(&old_path)?);
    let name = |o: &Value| o["scenario"]["Mutant"]["name"].as_str().map(str::to_string);
    let tested: Vec<String> = new["outcomes"].as_array().into_iter().flatten().filter_map(name).collect();
    let earlier: Vec<Value> = old["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| name(o).is_some_and(|n| !tested.contains(&n) && current.contains(&n)))
        .filter(|o| o["scenario"]["Mutant"]["file"].as_str().is_some_and(|f| files.iter().any(|g| super::in_glob(f, g))))
        .map(|o| {
            // Their logs stay in the old folder, which the next run
            // replaces: what they say is kept in the outcome itself.
            let mut o = o.clone();
            if o.get("caught_by").is_none() {
                let log = o["log_path"].as_str().map(|p| dir.join("mutants.out.old").join(p));
                let tests = log.and_then(|l| std::fs::read_to_string(l).ok()).map(|t| failing_tests(&t)).unwrap_or_default();
                o["caught_by"] = Value::from(tests);
            }
            o
        })
        .collect();
    if let Some(list) = new["outcomes"].as_array_mut() {
        list.extend(earlier);
    }
    std::fs::write(&new_path, serde_json::to_string_pretty(&new).map_err(|e| XtaskError::new(e.to_string()))?)?;
    Ok(())
}

/// The tests a mutant's log shows failing, named after their test binary.
fn failing_tests(log: &str) -> Vec<String> {
    let mut binary = String::new();
    let mut failed = Vec::new();
    for line in log.lines() {
        let line = line.trim();
        if let Some(running) = line.strip_prefix("Running ") {
            binary = binary_name(running);
        } else if let Some(test) = line.strip_prefix("test ").and_then(|t| t.strip_suffix(" ... FAILED")) {
            failed.push(format!("{binary}::{test}"));
        } else if line.starts_with("error[E") || line.starts_with("error: could not compile") {
            failed.push("the tests' build".to_string());
            break;
        }
    }
    // The tests of one binary run in parallel: their order says nothing.
    failed.sort();
    failed.dedup();
    failed
}

/// `tests/soundness_fuzz.rs (target/...)` → `soundness_fuzz`;
/// `unittests src/lib.rs (target/mutants/deps/verifier-0123abcd)` → `verifier`.
fn binary_name(running: &str) -> String {
    if let Some(test) = running.strip_prefix("tests/").and_then(|t| t.split(".rs").next()) {
        return test.to_string();
    }
    let deps = running.rsplit('/').next().unwrap_or(running).trim_end_matches(')');
    deps.rsplit_once('-').map_or(deps, |(name, _hash)| name).to_string()
}

/// The committed list of equivalent mutants (`tests/mutants-equivalent.txt`).
///
/// Each entry is one or more lines `FILE: CHANGE`, CHANGE as cargo-mutants
/// describes the mutant without its place (`replace | with ^ in Tnum::or`:
/// the file, the function and the replacement, so an entry survives code
/// moving within the file), followed by indented lines saying why none of
/// them can change behaviour. A line covers every mutant of that
/// description in that file, unless an indented `on: TEXT` follows it: then
/// only those whose source, from the place the change starts, begins with
/// TEXT (when a function has two such mutants and only one cannot change
/// behaviour). `#` starts a comment line.
pub struct Equivalents {
    /// (file, change) → the entries of that description.
    entries: BTreeMap<(String, String), Vec<Entry>>,
    /// The workspace root, where an `on:` entry reads the mutated line.
    root: PathBuf,
}

struct Entry {
    on: Option<String>,
    reason: String,
}

/// An entry being read: its first line, its mutants (each with its `on:`)
/// and its reason.
type Reading = (usize, Vec<((String, String), Option<String>)>, String);

impl Equivalents {
    /// The list of the workspace at `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(super::EQUIVALENT);
        let text = std::fs::read_to_string(&path).map_err(|e| XtaskError::new(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, root).map_err(|(line, what)| {
            XtaskError::new(format!("{}:{line}: {what}", path.display()))
                .with_help("an entry is `FILE: CHANGE` on one line (and `on: TEXT` indented below it), then the reason on indented lines")
        })
    }

    pub(super) fn parse(text: &str, root: &Path) -> std::result::Result<Self, (usize, String)> {
        let mut entries: BTreeMap<(String, String), Vec<Entry>> = BTreeMap::new();
        let mut current: Option<Reading> = None;
        let mut finish = |current: Option<Reading>| match current {
            Some((line, _, reason)) if reason.is_empty() => Err((line, "an entry without a reason".to_string())),
            Some((_, keys, reason)) => {
                for (key, on) in keys {
                    entries.entry(key).or_default().push(Entry { on, reason: reason.clone() });
                }
                Ok(())
            }
            None => Ok(()),
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with(char::is_whitespace) {
                let Some((_, keys, reason)) = current.as_mut() else {
                    return Err((i + 1, "a reason before any entry".to_string()));
                };
                if let Some(on) = line.trim().strip_prefix("on: ").filter(|_| reason.is_empty()) {
                    match keys.last_mut() {
                        Some((_, place @ None)) => *place = Some(on.to_string()),
                        _ => return Err((i + 1, "a second `on:` for one mutant".to_string())),
                    }
                    continue;
                }
                if !reason.is_empty() {
                    reason.push(' ');
                }
                reason.push_str(line.trim());
                continue;
            }
            let (file, change) = line.split_once(": ").ok_or((i + 1, format!("`{line}` is not `FILE: CHANGE`")))?;
            let key = (file.trim().to_string(), change.trim().to_string());
            match current.as_mut() {
                // Several mutants may share one reason.
                Some((_, keys, reason)) if reason.is_empty() => keys.push((key, None)),
                _ => {
                    finish(current.take())?;
                    current = Some((i + 1, vec![(key, None)], String::new()));
                }
            }
        }
        finish(current)?;
        Ok(Equivalents { entries, root: root.to_path_buf() })
    }

    /// The reason `change` in `file` at (line, column) cannot change
    /// behaviour, if listed.
    pub fn find(&self, file: &str, change: &str, (line, column): (u64, u64)) -> Option<&str> {
        let mut source: Option<Option<String>> = None;
        for entry in self.entries.get(&(file.to_string(), change.to_string()))? {
            let Some(on) = &entry.on else { return Some(&entry.reason) };
            let text = source.get_or_insert_with(|| {
                let text = std::fs::read_to_string(self.root.join(file)).ok()?;
                let line = text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
                Some(line.chars().skip(usize::try_from(column).ok()?.checked_sub(1)?).collect())
            });
            if text.as_deref().is_some_and(|t| t.starts_with(on.as_str())) {
                return Some(&entry.reason);
            }
        }
        None
    }

    /// Entries of the files in `mutants` that matched none of them: the code
    /// they described has changed, and they should go.
    pub fn stale<'a>(&'a self, mutants: &[Mutant]) -> Vec<(&'a str, &'a str)> {
        self.entries
            .keys()
            .filter(|(file, _)| mutants.iter().any(|m| &m.file == file))
            .filter(|(file, change)| !mutants.iter().any(|m| &m.file == file && &m.change == change))
            .map(|(file, change)| (file.as_str(), change.as_str()))
            .collect()
    }
}

/// Counts and time per file, in the order files first appear; the time is
/// `None` when a mutant of the file has none.
pub fn per_file(mutants: &[Mutant]) -> Vec<(String, [usize; 5], Option<f64>)> {
    let mut rows: Vec<(String, [usize; 5], Option<f64>)> = Vec::new();
    for m in mutants {
        let index = rows.iter().position(|(f, _, _)| *f == m.file).unwrap_or_else(|| {
            rows.push((m.file.clone(), [0; 5], Some(0.0)));
            rows.len() - 1
        });
        let row = &mut rows[index];
        row.1[Outcome::ALL.iter().position(|o| *o == m.outcome).unwrap_or(0)] += 1;
        row.2 = row.2.zip(m.seconds).map(|(a, b)| a + b);
    }
    rows
}

/// Prints the counts of one run per file and every missed mutant; returns
/// the number missed.
pub fn report(mutants: &[Mutant], equivalents: &Equivalents) -> usize {
    println!("{:<36} {:>7} {:>7} {:>7} {:>8} {:>10} {:>7}", "file", "caught", "missed", "timeout", "unviable", "equivalent", "time");
    for (file, counts, seconds) in per_file(mutants) {
        let [caught, missed, timeout, unviable, equivalent] = counts;
        println!("{file:<36} {caught:>7} {missed:>7} {timeout:>7} {unviable:>8} {equivalent:>10} {:>6.0}s", seconds.unwrap_or(0.0));
    }
    let missed: Vec<_> = mutants.iter().filter(|m| m.outcome == Outcome::Missed).collect();
    for m in &missed {
        println!("MISSED {}:{}: {}", m.file, m.line, m.change);
    }
    for (file, change) in equivalents.stale(mutants) {
        println!("note: the equivalence list names `{file}: {change}`, which this run did not make; remove the entry if the code is gone");
    }
    missed.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalents_are_read_with_their_reasons() {
        let text = "# comment\nvm/src/alu.rs: replace | with ^ in shift\n    the bits\n    cannot overlap\n\njit/src/x86/asm.rs: replace f -> u8 with 0\n  never called with\n";
        let eq = Equivalents::parse(text, Path::new(".")).unwrap();
        assert_eq!(eq.find("vm/src/alu.rs", "replace | with ^ in shift", (1, 1)), Some("the bits cannot overlap"));
        assert_eq!(eq.find("jit/src/x86/asm.rs", "replace f -> u8 with 0", (1, 1)), Some("never called with"));
        assert_eq!(eq.find("vm/src/alu.rs", "replace | with & in shift", (1, 1)), None);
    }

    #[test]
    fn several_mutants_may_share_a_reason() {
        let eq = Equivalents::parse("a.rs: replace f -> u64 with 0\na.rs: replace f -> u64 with 1\n    f is a hash\nb.rs: x\n    y\n", Path::new(".")).unwrap();
        assert_eq!(eq.find("a.rs", "replace f -> u64 with 0", (1, 1)), Some("f is a hash"));
        assert_eq!(eq.find("a.rs", "replace f -> u64 with 1", (1, 1)), Some("f is a hash"));
        assert_eq!(eq.find("b.rs", "x", (1, 1)), Some("y"));
    }

    #[test]
    fn an_entry_with_a_place_covers_only_the_mutant_whose_source_starts_there() {
        let dir = std::env::temp_dir().join(format!("xtask-mutants-on-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.rs"), "fn f() {\n    x || y || z\n}\n").unwrap();
        let eq = Equivalents::parse("a.rs: replace || with && in f\n  on: || z\n  y implies z\n", &dir).unwrap();
        assert_eq!(eq.find("a.rs", "replace || with && in f", (2, 12)), Some("y implies z"));
        assert_eq!(eq.find("a.rs", "replace || with && in f", (2, 7)), None);
        assert_eq!(eq.find("a.rs", "replace || with && in f", (9, 1)), None);
        let Err((line, what)) = Equivalents::parse("a.rs: x\n  on: p\n  on: q\n  why\n", &dir) else {
            panic!("accepted two places for one mutant");
        };
        assert_eq!((line, what.as_str()), (3, "a second `on:` for one mutant"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_without_a_reason_is_refused_with_its_line() {
        let Err((line, what)) = Equivalents::parse("a.rs: replace x with y\n  why\nb.rs: replace z with w\n", Path::new(".")) else {
            panic!("accepted an entry without a reason");
        };
        assert_eq!((line, what.as_str()), (3, "an entry without a reason"));
    }

    #[test]
    fn a_second_run_of_the_uncaught_keeps_the_first_runs_other_outcomes_of_mutants_still_there() {
        let dir = std::env::temp_dir().join(format!("xtask-mutants-again-{}", std::process::id()));
        let mutant = |name: &str, summary: &str| {
            serde_json::json!({
                "scenario": {"Mutant": {"name": format!("a.rs:{name}"), "file": "a.rs", "span": {"start": {"line": 1}}}},
                "summary": summary,
                "log_path": format!("log/{name}.log"),
                "phase_results": [],
            })
        };
        for (folder, outcomes) in [
            (
                "mutants.out.old",
                vec![
                    mutant("1:1: replace f with g", "CaughtMutant"),
                    mutant("2:1: replace h with i", "MissedMutant"),
                    mutant("3:1: replace j with k", "MissedMutant"),
                ],
            ),
            ("mutants.out", vec![mutant("2:1: replace h with i", "CaughtMutant")]),
        ] {
            std::fs::create_dir_all(dir.join(folder).join("log")).unwrap();
            std::fs::write(dir.join(folder).join("outcomes.json"), serde_json::json!({ "outcomes": outcomes }).to_string()).unwrap();
        }
        std::fs::write(dir.join("mutants.out.old/log/1:1: replace f with g.log"), "test t ... FAILED\n").unwrap();
        // The code no longer has the mutant of line 3 (an edit moved it).
        let current = ["a.rs:1:1: replace f with g", "a.rs:2:1: replace h with i"].map(String::from);
        keep_earlier(&dir, &["a.rs".to_string()], &current).unwrap();
        let none = Equivalents::parse("", Path::new(".")).unwrap();
        let mutants = read(&dir.join("mutants.out"), &none).unwrap();
        let seen: Vec<_> = mutants.iter().map(|m| (m.change.as_str(), m.outcome, m.caught_by.clone())).collect();
        assert_eq!(
            seen,
            [("replace h with i", Outcome::Caught, vec![]), ("replace f with g", Outcome::Caught, vec!["::t".to_string()])]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failing_tests_are_named_after_their_binary() {
        let log = "     Running unittests src/lib.rs (/tmp/x/target/mutants/deps/verifier-0a1b2c)\n\
                   test domain::range::tests::covers_ok ... ok\n\
                   test domain::range::tests::covers_fails ... FAILED\n\
                   \x20    Running tests/soundness_fuzz.rs (/tmp/x/target/mutants/deps/soundness_fuzz-99)\n\
                   test accepted_programs_never_violate ... FAILED\n";
        assert_eq!(
            failing_tests(log),
            ["soundness_fuzz::accepted_programs_never_violate", "verifier::domain::range::tests::covers_fails"]
        );
    }
}
