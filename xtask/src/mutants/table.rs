//! The record of the mutation runs, merged from the committed one and the
//! newest local run of each file (`mutants.out/GROUP/` or
//! `mutants.out/file/PATH/`, each holding cargo-mutants'
//! `mutants.out/outcomes.json`):
//!
//! * `docs/data/mutants.csv` ([`record`]): every mutant, its outcome, the
//!   tests that caught it and its time;
//! * docs/testing.md, between [`COUNTS_BEGIN`] and [`COUNTS_END`]: the counts
//!   and the time per file;
//! * docs/verifier.md, between [`BUGS_BEGIN`] and [`BUGS_END`]: the planted
//!   bugs of the oracles and of pruning with the tests that catch them, the
//!   equivalent mutants with their reasons, and the missed ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use super::outcomes::{self, Equivalents, Mutant, Outcome};
use super::record;
use crate::{Result, XtaskError};

pub const COUNTS_BEGIN: &str = "<!-- mutation counts: written by `cargo xtask mutants --table` -->";
pub const COUNTS_END: &str = "<!-- end of the mutation counts -->";
pub const BUGS_BEGIN: &str = "<!-- planted bugs: written by `cargo xtask mutants --table` -->";
pub const BUGS_END: &str = "<!-- end of the planted bugs -->";

/// The functions whose planted bugs docs/verifier.md shows one by one: the
/// oracles every soundness test relies on, and the comparisons that decide
/// pruning.
const GUARDS: &[&str] = &["::contains", "::covers", "::same", "IdMap::map"];

pub fn write(root: &Path) -> Result<ExitCode> {
    let equivalents = Equivalents::load(root)?;
    let mutants = record::merge(record::read(root, &equivalents)?, newest(root, &equivalents)?);
    if mutants.is_empty() {
        return Err(XtaskError::new("no mutation run to make a table from").with_help("run `cargo xtask mutants` first"));
    }
    let csv = root.join(record::PATH);
    std::fs::write(&csv, record::text(&mutants))?;
    splice(&root.join("docs/testing.md"), COUNTS_BEGIN, COUNTS_END, &counts(&mutants))?;
    splice(&root.join("docs/verifier.md"), BUGS_BEGIN, BUGS_END, &bugs(&mutants, &equivalents))?;
    println!("mutants: wrote {}, and the tables of docs/testing.md and docs/verifier.md", csv.display());
    Ok(ExitCode::SUCCESS)
}

/// The mutants of the newest local run of each file.
fn newest(root: &Path, equivalents: &Equivalents) -> Result<Vec<Mutant>> {
    let out = root.join("mutants.out");
    let mut runs: Vec<(SystemTime, PathBuf)> = Vec::new();
    let dirs = super::GROUPS.iter().map(|g| out.join(g.name)).chain(
        std::fs::read_dir(out.join("file")).into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path()),
    );
    for dir in dirs.map(|d| d.join("mutants.out")) {
        if let Ok(modified) = std::fs::metadata(dir.join("outcomes.json")).and_then(|m| m.modified()) {
            runs.push((modified, dir));
        }
    }
    runs.sort();
    let mut by_file: BTreeMap<String, Vec<Mutant>> = BTreeMap::new();
    for (_, dir) in &runs {
        let mut fresh: BTreeMap<String, Vec<Mutant>> = BTreeMap::new();
        for m in outcomes::read(dir, equivalents)? {
            fresh.entry(m.file.clone()).or_default().push(m);
        }
        by_file.extend(fresh);
    }
    Ok(by_file.into_values().flatten().collect())
}

/// Replaces what lies between `begin` and `end` in the file at `path`.
fn splice(path: &Path, begin: &str, end: &str, body: &str) -> Result<()> {
    let doc = std::fs::read_to_string(path)?;
    let spliced = doc
        .find(begin)
        .map(|start| start + begin.len())
        .and_then(|start| Some((start, start + doc[start..].find(end)?)))
        .map(|(start, stop)| format!("{}\n\n{body}\n{}", &doc[..start], &doc[stop..]))
        .ok_or_else(|| {
            XtaskError::new(format!("{} has lost the marker lines around its mutation table", path.display()))
                .with_help(format!("put back `{begin}` and `{end}` where the table goes"))
        })?;
    std::fs::write(path, spliced)?;
    Ok(())
}

/// The counts and time per file, and the total. A file recorded without
/// times shows none, and the total counts only the files with times.
fn counts(mutants: &[Mutant]) -> String {
    let mut md = String::from("| file | mutants | caught | missed | timeout | unviable | equivalent | time |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut total = ([0usize; 5], 0.0);
    for (file, counts, seconds) in outcomes::per_file(mutants) {
        md += &row(&format!("`{file}`"), counts, seconds);
        for (t, c) in total.0.iter_mut().zip(counts) {
            *t += c;
        }
        total.1 += seconds.unwrap_or(0.0);
    }
    md += &row("all", total.0, Some(total.1));
    md
}

fn row(name: &str, counts: [usize; 5], seconds: Option<f64>) -> String {
    let cells: Vec<String> = counts.iter().map(usize::to_string).collect();
    let time = seconds.map_or("not recorded".to_string(), |s| format!("{:.0} min", s / 60.0));
    format!("| {name} | {} | {} | {time} |\n", counts.iter().sum::<usize>(), cells.join(" | "))
}

/// The planted bugs of the [`GUARDS`] per function, the equivalent mutants
/// and the missed ones.
fn bugs(mutants: &[Mutant], equivalents: &Equivalents) -> String {
    let mut md = String::from("| function | planted bugs | caught | caught by (among others) |\n|---|---:|---:|---|\n");
    let mut functions: Vec<(String, Vec<&Mutant>)> = Vec::new();
    for m in mutants.iter().filter(|m| m.outcome != Outcome::Unviable) {
        let function = function_of(&m.change);
        if !GUARDS.iter().any(|g| function.ends_with(g)) {
            continue;
        }
        let key = format!("`{}` `{function}`", m.file.rsplit('/').next().unwrap_or(&m.file));
        match functions.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(m),
            None => functions.push((key, vec![m])),
        }
    }
    for (key, list) in &functions {
        let caught = list.iter().filter(|m| m.outcome == Outcome::Caught).count();
        let mut tests: Vec<&str> = list.iter().flat_map(|m| m.caught_by.iter().map(String::as_str)).collect();
        tests.sort_unstable();
        tests.dedup();
        let shown: Vec<String> = tests.iter().take(3).map(|t| format!("`{t}`")).collect();
        md += &format!("| {key} | {} | {caught} | {} |\n", list.len(), shown.join(", "));
    }
    let listed = |outcome: Outcome| mutants.iter().filter(move |m| m.outcome == outcome);
    md += "\nEquivalent mutants (they pass every test because they cannot change behaviour), by reason:\n\n";
    if listed(Outcome::Equivalent).next().is_none() {
        md += "none.\n";
    }
    // reason → (file, change) → lines
    let mut reasons: Vec<(&str, Vec<(&str, &str, Vec<u64>)>)> = Vec::new();
    for m in listed(Outcome::Equivalent) {
        let reason = equivalents.find(&m.file, &m.change, (m.line, m.column)).unwrap_or_default();
        let index = reasons.iter().position(|(r, _)| *r == reason).unwrap_or_else(|| {
            reasons.push((reason, Vec::new()));
            reasons.len() - 1
        });
        let changes = &mut reasons[index].1;
        match changes.iter_mut().find(|(f, c, _)| *f == m.file && *c == m.change) {
            Some((_, _, lines)) => lines.push(m.line),
            None => changes.push((&m.file, &m.change, vec![m.line])),
        }
    }
    for (reason, changes) in reasons {
        let named: Vec<String> = changes
            .iter()
            .map(|(file, change, lines)| {
                let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
                format!("`{}:{}` {change}", file.rsplit('/').next().unwrap_or(file), lines.join(","))
            })
            .collect();
        md += &format!("* {}. {reason}\n", named.join("; "));
    }
    md += "\nMissed mutants:";
    if listed(Outcome::Missed).next().is_none() {
        md += " none.\n";
    } else {
        md += "\n\n";
    }
    for m in listed(Outcome::Missed) {
        md += &format!("* `{}:{}`: {}\n", m.file, m.line, m.change);
    }
    md
}

/// The function a change is in: `Bounds::covers` for `replace && with || in
/// Bounds::covers` and for `replace Bounds::covers -> bool with true`.
fn function_of(change: &str) -> &str {
    if let Some((_, function)) = change.rsplit_once(" in ") {
        return function;
    }
    change.strip_prefix("replace ").and_then(|c| c.split([' ', '<', '(']).next()).unwrap_or(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_of_a_change_is_found_in_each_form() {
        assert_eq!(function_of("replace && with || in Bounds::covers"), "Bounds::covers");
        assert_eq!(function_of("replace Bounds::covers -> bool with true"), "Bounds::covers");
        assert_eq!(function_of("delete match arm Some(x) in Value::covers"), "Value::covers");
    }

    #[test]
    fn a_splice_replaces_only_between_the_markers() {
        let dir = std::env::temp_dir().join(format!("xtask-mutants-splice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("doc.md");
        std::fs::write(&path, format!("before\n{BUGS_BEGIN}\nold\n{BUGS_END}\nafter\n")).unwrap();
        splice(&path, BUGS_BEGIN, BUGS_END, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("before\n{BUGS_BEGIN}\n\nnew\n\n{BUGS_END}\nafter\n"));
        std::fs::write(&path, "no markers\n").unwrap();
        let error = splice(&path, BUGS_BEGIN, BUGS_END, "new\n").unwrap_err();
        assert!(error.message.contains("lost the marker lines"), "{}", error.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
