//! The committed record of the mutation runs, `docs/data/mutants.csv`: one
//! row per mutant with its outcome, the tests that caught it and the time
//! it took.
//!
//! A run covers only the files it mutated, and a fresh checkout has no
//! earlier runs of its own (`mutants.out/` is not committed), so the record
//! is merged ([`merge`]): the rows of the files a newer run covered are
//! replaced by that run's, and every other row stays as committed.

use std::collections::BTreeSet;
use std::path::Path;

use super::outcomes::{Equivalents, Mutant, Outcome};
use crate::{Result, XtaskError};

/// The record's path from the workspace root.
pub const PATH: &str = "docs/data/mutants.csv";

const HEADER: &str = "file,line,column,mutant,outcome,caught_by,seconds";

/// The committed rows of `root`'s record (none if there is no record yet).
/// A passing mutant's outcome follows today's equivalence list: added to
/// it, it counts as equivalent; taken off, as missed.
pub fn read(root: &Path, equivalents: &Equivalents) -> Result<Vec<Mutant>> {
    let path = root.join(PATH);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(XtaskError::new(format!("cannot read {}: {e}", path.display()))),
    };
    parse(&text, equivalents).map_err(|(line, what)| {
        XtaskError::new(format!("{}:{line}: {what}", path.display()))
            .with_help(format!("the record is written by `cargo xtask mutants --table`; its columns are `{HEADER}`"))
    })
}

fn parse(text: &str, equivalents: &Equivalents) -> std::result::Result<Vec<Mutant>, (usize, String)> {
    let mut mutants = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.is_empty()) {
        let bad = |what: &str| (i + 1, what.to_string());
        // The record of before the column and time columns has five.
        let row = fields(line).unwrap_or_default();
        let (file, line, column, change, outcome, caught_by, seconds) = match row.as_slice() {
            [f, l, col, m, o, c, s] => (f.clone(), l, Some(col), m.clone(), o, c, Some(s)),
            [f, l, m, o, c] => (f.clone(), l, None, m.clone(), o, c, None),
            _ => return Err(bad("not a row of seven fields")),
        };
        let line = line.parse().map_err(|_| bad("the line is not a number"))?;
        let column = match column {
            Some(c) => c.parse().map_err(|_| bad("the column is not a number"))?,
            None => 0,
        };
        let seconds = match seconds.filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse().map_err(|_| bad("the time is not a number"))?),
            None => None,
        };
        let outcome = match Outcome::ALL.into_iter().find(|o| o.name() == outcome.as_str()) {
            Some(Outcome::Missed | Outcome::Equivalent) if equivalents.find(&file, &change, (line, column)).is_some() => Outcome::Equivalent,
            Some(Outcome::Missed | Outcome::Equivalent) => Outcome::Missed,
            Some(o) => o,
            None => return Err(bad(&format!("unknown outcome `{outcome}`"))),
        };
        let caught_by = caught_by.split_whitespace().map(str::to_string).collect();
        mutants.push(Mutant { file, line, column, change, outcome, seconds, caught_by });
    }
    Ok(mutants)
}

/// The fields of one row: plain, or quoted with `""` for a quote.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let field;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') if quoted[i + 1..].starts_with('"') => {
                        text.push('"');
                        chars.next();
                    }
                    (i, '"') => break i + 1,
                    (_, c) => text.push(c),
                }
            };
            (field, rest) = (text, &quoted[end..]);
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            (field, rest) = (rest[..end].to_string(), &rest[end..]);
        }
        fields.push(field);
        match rest.strip_prefix(',') {
            Some(next) => rest = next,
            None if rest.is_empty() => return Some(fields),
            None => return None,
        }
    }
}

/// The record after newer runs: `fresh` (the newest local run of each file)
/// replaces the rows of its files, the other `committed` rows stay; files in
/// the order of [`super::GROUPS`], each file's mutants in the order found.
pub fn merge(committed: Vec<Mutant>, fresh: Vec<Mutant>) -> Vec<Mutant> {
    let covered: BTreeSet<&str> = fresh.iter().map(|m| m.file.as_str()).collect();
    let kept: Vec<Mutant> = committed.into_iter().filter(|m| !covered.contains(m.file.as_str())).collect();
    let mut all: Vec<Mutant> = kept.into_iter().chain(fresh).collect();
    let place = |file: &str| {
        super::GROUPS.iter().flat_map(|g| g.files).position(|glob| super::in_glob(file, glob)).unwrap_or(usize::MAX)
    };
    // A stable sort keeps each file's mutants in their order.
    all.sort_by(|a, b| (place(&a.file), &a.file).cmp(&(place(&b.file), &b.file)));
    all
}

/// The record's text.
pub fn text(mutants: &[Mutant]) -> String {
    let mut out = format!("{HEADER}\n");
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for m in mutants {
        let seconds = m.seconds.map(|s| format!("{s:.1}")).unwrap_or_default();
        out += &format!(
            "{},{},{},{},{},{},{seconds}\n",
            m.file,
            m.line,
            m.column,
            quoted(&m.change),
            m.outcome.name(),
            quoted(&m.caught_by.join(" "))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(file: &str, line: u64, outcome: Outcome) -> Mutant {
        Mutant {
            file: file.to_string(),
            line,
            column: 5,
            change: format!("replace \"x\", y with z in f{line}"),
            outcome,
            seconds: Some(2.5),
            caught_by: vec!["verifier::a".to_string(), "soundness_fuzz::b".to_string()],
        }
    }

    fn seen(mutants: &[Mutant]) -> Vec<(&str, u64, Outcome)> {
        mutants.iter().map(|m| (m.file.as_str(), m.line, m.outcome)).collect()
    }

    #[test]
    fn a_run_replaces_the_rows_of_its_files_and_keeps_every_other() {
        let (range, tnum, state) = ("verifier/src/domain/range.rs", "verifier/src/domain/tnum.rs", "verifier/src/state.rs");
        let committed = vec![
            mutant(range, 1, Outcome::Caught),
            mutant(range, 2, Outcome::Missed),
            mutant(tnum, 3, Outcome::Caught),
            mutant(state, 4, Outcome::Missed),
        ];
        // A fresh checkout's run of range.rs and of the interpreter's alu.rs.
        let fresh = vec![mutant("vm/src/alu.rs", 9, Outcome::Caught), mutant(range, 2, Outcome::Caught), mutant(range, 5, Outcome::Caught)];
        assert_eq!(
            seen(&merge(committed, fresh)),
            [
                (range, 2, Outcome::Caught),
                (range, 5, Outcome::Caught),
                (tnum, 3, Outcome::Caught),
                (state, 4, Outcome::Missed),
                ("vm/src/alu.rs", 9, Outcome::Caught)
            ]
        );
    }

    #[test]
    fn nothing_new_leaves_the_record_as_it_was() {
        let committed = vec![mutant("verifier/src/state.rs", 4, Outcome::Timeout), mutant("jit/src/x86/asm.rs", 1, Outcome::Unviable)];
        assert_eq!(seen(&merge(committed.clone(), Vec::new())), seen(&committed));
    }

    #[test]
    fn the_record_reads_back_what_it_wrote() {
        let none = Equivalents::parse("", Path::new(".")).unwrap();
        let mut untimed = mutant("vm/src/alu.rs", 7, Outcome::Missed);
        untimed.seconds = None;
        let written = vec![mutant("vm/src/alu.rs", 6, Outcome::Caught), untimed];
        let read = parse(&text(&written), &none).unwrap();
        let key = |m: &Mutant| (m.file.clone(), m.line, m.column, m.change.clone(), m.outcome, m.seconds, m.caught_by.clone());
        assert_eq!(read.iter().map(key).collect::<Vec<_>>(), written.iter().map(key).collect::<Vec<_>>());
    }

    #[test]
    fn a_passing_mutant_follows_the_equivalence_list_of_today() {
        let eq = Equivalents::parse("a.rs: replace | with ^ in f\n    the bits cannot overlap\n", Path::new(".")).unwrap();
        let old = "file,line,mutant,outcome,caught_by\n\
                   a.rs,1,\"replace | with ^ in f\",missed,\"\"\n\
                   a.rs,2,\"replace & with ^ in f\",equivalent,\"\"\n\
                   a.rs,3,\"replace | with ^ in f\",caught,\"t\"\n";
        let read = parse(old, &eq).unwrap();
        let outcomes: Vec<_> = read.iter().map(|m| (m.line, m.outcome, m.seconds)).collect();
        assert_eq!(outcomes, [(1, Outcome::Equivalent, None), (2, Outcome::Missed, None), (3, Outcome::Caught, None)]);
    }

    #[test]
    fn a_broken_row_is_refused_with_its_line() {
        let none = Equivalents::parse("", Path::new(".")).unwrap();
        let Err((line, what)) = parse("file,line,column,mutant,outcome,caught_by,seconds\na.rs,1,1,\"x,caught,\"\",\n", &none) else {
            panic!("accepted a row with an open quote");
        };
        assert_eq!((line, what.as_str()), (2, "not a row of seven fields"));
        let Err((_, what)) = parse("header\na.rs,1,1,x,lost,,\n", &none) else { panic!("accepted an unknown outcome") };
        assert_eq!(what, "unknown outcome `lost`");
    }
}
