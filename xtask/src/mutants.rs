//! `cargo xtask mutants`: mutation testing of the code that keeps modules
//! safe, with cargo-mutants.
//!
//! cargo-mutants plants one small bug at a time (an operator swapped, a
//! condition forced, a function body replaced by a constant) in a copy of
//! the tree, builds it and runs the tests that guard that code; a mutant
//! the tests still pass is *missed*. The guarded code comes in [`GROUPS`],
//! each with its own tests:
//!
//! | group | files | tests (besides the mutated crate's unit tests) |
//! |---|---|---|
//! | `domains` | `verifier/src/domain.rs`, `verifier/src/domain/**` | the case suite, the soundness fuzz, out of memory |
//! | `pruning` | `verifier/src/{state,relevance,links}.rs`, `verifier/src/verify/{explore,explore/walk,on_path,precision}.rs` | the case suite, the soundness fuzz, out of memory |
//! | `interpreter` | `vm/src/{interp,memory,alu,violation}.rs` | vm's `interp`, `env` and rbpf tests, conformance, the soundness fuzz, the JIT differential |
//! | `jit-encoder` | `jit/src/x86/**` | the rbpf oracle, the JIT differential, JIT conformance, the listings |
//!
//! The fuzz campaigns run at a modest size ([`FUZZ_ENV`]); the cargo-mutants
//! settings all groups share (the light `mutants` build profile, the
//! timeouts) are in `.cargo/mutants.toml`.
//!
//! Some mutants cannot change behaviour (`|` for `^` on bits that cannot
//! overlap); they are listed with the reason in [`EQUIVALENT`] and counted
//! apart ([`outcomes`]). Every other missed mutant is printed, and the
//! command exits non-zero.
//!
//! `--again` tests only the mutants the last run left uncaught (after new
//! tests, say), and adds the earlier run's other outcomes to its own, of
//! the mutants the code still has (an edit moves or removes some; those
//! moved are tested again).
//!
//! Each group's run is kept in `mutants.out/GROUP/`, and a `--file` run in
//! `mutants.out/file/PATH/` (with `/` made `__`), all ignored by git. After
//! each run, and alone with `--table`, xtask merges the newest run of each
//! file into the committed record, `docs/data/mutants.csv` ([`record`]), and
//! writes the tables of docs/testing.md and docs/verifier.md from it
//! ([`table`]).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use clap::Args;

use crate::{Result, XtaskError, kernel};

mod outcomes;
mod record;
mod table;

/// The cargo-mutants release the outcome files are read for.
const VERSION: &str = "27.1.0";

/// The equivalent mutants, from the workspace root ([`outcomes::Equivalents`]).
pub const EQUIVALENT: &str = "tests/mutants-equivalent.txt";

/// The fuzz campaigns' sizes for every mutant: enough programs to reach the
/// shapes that matter (joins, pruning, every instruction class), few enough
/// to take about a second.
const FUZZ_ENV: &[(&str, &str)] = &[("WARDEN_FUZZ_PROGRAMS", "20000"), ("WARDEN_JIT_DIFF_PROGRAMS", "1000")];

#[derive(Args)]
pub struct MutantsArgs {
    /// Mutate only this file (repeatable); it must belong to one of the groups
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<String>,
    /// Run only this group (repeatable): domains, pruning, interpreter, jit-encoder
    #[arg(long = "group", value_name = "NAME")]
    groups: Vec<String>,
    /// List the mutants of each group and their number, without testing them
    #[arg(long)]
    list: bool,
    /// Merge the last runs into docs/data/mutants.csv and write the tables of docs/testing.md and docs/verifier.md, without testing
    #[arg(long)]
    table: bool,
    /// Test again only the mutants the last run of the same group (or file) did not catch
    #[arg(long)]
    again: bool,
}

/// Files mutated together and the tests that guard them.
pub struct Group {
    pub name: &'static str,
    /// Globs as cargo-mutants' `--file` takes them.
    pub files: &'static [&'static str],
    /// The test targets, for `cargo test` beside the mutated crate (which
    /// cargo-mutants names) and warden-tests. They are given to the build
    /// as well, so that it builds only these.
    tests: &'static [&'static str],
}

/// The verifier's tests: its unit tests (the domains' oracles and precision
/// pins, state comparison), the case suite (pruning cases of every view),
/// the soundness fuzz (its join shape builds states that differ in one
/// view, one bit, one stack byte or one pointer offset) and the test that
/// every allocation of the analysis may fail.
const VERIFIER_TESTS: &[&str] = &["--lib", "--test=verifier_cases", "--test=soundness_fuzz", "--test=out_of_memory"];

pub const GROUPS: &[Group] = &[
    Group { name: "domains", files: &["verifier/src/domain.rs", "verifier/src/domain/**"], tests: VERIFIER_TESTS },
    Group {
        name: "pruning",
        files: &["verifier/src/state.rs", "verifier/src/state/ids.rs", "verifier/src/verify/explore.rs", "verifier/src/verify/explore/walk.rs", "verifier/src/verify/on_path.rs", "verifier/src/relevance.rs", "verifier/src/links.rs", "verifier/src/verify/precision.rs"],
        tests: VERIFIER_TESTS,
    },
    Group {
        name: "interpreter",
        files: &["vm/src/interp.rs", "vm/src/memory.rs", "vm/src/alu.rs", "vm/src/violation.rs"],
        tests: &[
            "--lib",
            "--test=interp",
            "--test=env",
            "--test=rbpf_diff",
            "--test=conformance",
            "--test=soundness_fuzz",
            "--test=jit_differential",
        ],
    },
    Group {
        name: "jit-encoder",
        files: &["jit/src/x86/**"],
        tests: &["--lib", "--test=rbpf_oracle", "--test=jit_differential", "--test=jit_conformance", "--test=jit_listing"],
    },
];

pub fn run(args: &MutantsArgs) -> Result<ExitCode> {
    if args.table {
        return table::write(&kernel::root());
    }
    let cargo_mutants = ensure_installed()?;
    let chosen = choose(&args.files, &args.groups)?;
    if args.list {
        for (group, files) in &chosen {
            let listed = list(&cargo_mutants, group, files)?;
            println!("{} ({} mutants):\n{}", group.name, listed.len(), listed.join("\n"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let root = kernel::root();
    let equivalents = outcomes::Equivalents::load(&root)?;
    let mut missed = 0;
    for (group, files) in &chosen {
        let dir = match files.as_slice() {
            [file] if args.files.contains(file) => root.join("mutants.out/file").join(file.replace('/', "__")),
            _ => root.join("mutants.out").join(group.name),
        };
        println!("mutants: group `{}` ({}), results in {}", group.name, files.join(", "), dir.display());
        // cargo-mutants creates `DIR/mutants.out` but not `DIR` itself.
        std::fs::create_dir_all(&dir)?;
        let start = Instant::now();
        // What the earlier run tested is kept only for mutants the code
        // still has (an edit moves or removes them).
        let current = if args.again { list(&cargo_mutants, group, files)? } else { Vec::new() };
        let status = mutants_command(&cargo_mutants, files)
            .args(["--jobs", "1", "--no-shuffle", "--output"])
            .arg(&dir)
            .args(args.again.then_some("--iterate"))
            .args(std::iter::once("--package=warden-tests").chain(group.tests.iter().copied()).map(|a| format!("--cargo-arg={a}")))
            .envs(FUZZ_ENV.iter().copied())
            .envs(conformance_env(&root))
            .status()?;
        // What was tested counts even when the run stopped early.
        if args.again && dir.join("mutants.out/outcomes.json").is_file() {
            outcomes::keep_earlier(&dir, files, &current)?;
        }
        // cargo-mutants exits 2 when mutants were missed and 3 on timeouts;
        // both are read from its outcomes below. Anything else is its own
        // failure (an interruption, tests failing without a mutant).
        if !matches!(status.code(), Some(0 | 2 | 3)) {
            table::write(&root)?;
            return Err(XtaskError::new(format!("cargo mutants failed for group `{}` ({status})", group.name))
                .with_help(format!("its log is {}", dir.join("mutants.out/debug.log").display())));
        }
        let run = outcomes::read(&dir.join("mutants.out"), &equivalents)?;
        println!("mutants: group `{}` took {:.0} s", group.name, start.elapsed().as_secs_f64());
        missed += outcomes::report(&run, &equivalents);
    }
    table::write(&root)?;
    if missed > 0 {
        eprintln!("error: {missed} mutants were missed by every test");
        eprintln!("help: write a test that checks the behaviour each one breaks, or, if it cannot change behaviour, list it with the reason in {EQUIVALENT}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The mutants of `files` (of `group`) as the code is now, by name.
fn list(cargo_mutants: &Path, group: &Group, files: &[String]) -> Result<Vec<String>> {
    let out = mutants_command(cargo_mutants, files).arg("--list").output()?;
    if !out.status.success() {
        return Err(XtaskError::new(format!(
            "cargo mutants --list failed for group `{}`:\n{}",
            group.name,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect())
}

/// The runs to make, each a group with the file globs to mutate: the
/// groups named (every group when none is) whole, then each file asked
/// for on its own.
fn choose(files: &[String], groups: &[String]) -> Result<Vec<(&'static Group, Vec<String>)>> {
    let whole = |g: &'static Group| (g, g.files.iter().map(|f| f.to_string()).collect());
    let mut chosen: Vec<(&'static Group, Vec<String>)> = Vec::new();
    for name in groups {
        let group = GROUPS.iter().find(|g| g.name == name.as_str()).ok_or_else(|| {
            XtaskError::new(format!("there is no group `{name}`"))
                .with_help(format!("the groups are {}", GROUPS.iter().map(|g| g.name).collect::<Vec<_>>().join(", ")))
        })?;
        chosen.push(whole(group));
    }
    if files.is_empty() && groups.is_empty() {
        return Ok(GROUPS.iter().map(whole).collect());
    }
    for file in files {
        let file = file.trim_start_matches("./");
        let group = GROUPS.iter().find(|g| g.files.iter().any(|glob| in_glob(file, glob))).ok_or_else(|| {
            XtaskError::new(format!("`{file}` is not in any group of guarded files")).with_help(format!(
                "name a file from the workspace root, in one of: {}",
                GROUPS.iter().flat_map(|g| g.files.iter().copied()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        chosen.push((group, vec![file.to_string()]));
    }
    Ok(chosen)
}

/// Whether `file` is named by `glob`, a path or a folder followed by `/**`.
pub fn in_glob(file: &str, glob: &str) -> bool {
    match glob.strip_suffix("/**") {
        Some(folder) => file.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/')),
        None => file == glob,
    }
}

/// `cargo mutants` in the workspace root over `files`. cargo-mutants makes
/// its own copy of the tree with its own target directory, so xtask's is
/// not passed on.
fn mutants_command(cargo_mutants: &Path, files: &[String]) -> Command {
    let mut cmd = Command::new(cargo_mutants);
    cmd.arg("mutants").current_dir(kernel::root()).env_remove("CARGO_TARGET_DIR");
    for file in files {
        cmd.args(["--file", file]);
    }
    cmd
}

/// The conformance suite for the tests run in cargo-mutants' copy of the
/// tree, where `../shared` is not beside it.
fn conformance_env(root: &Path) -> Vec<(&'static str, PathBuf)> {
    let suite = root.join("../shared/conformance");
    if suite.is_dir() {
        vec![("WARDEN_CONFORMANCE_DIR", suite)]
    } else {
        println!("note: ../shared/conformance not found; the conformance tests are skipped in every mutant");
        Vec::new()
    }
}

/// cargo-mutants [`VERSION`], installed with `cargo install` when missing
/// or of another release (unless `WARDEN_NO_INSTALL` is set). Returns the
/// `cargo-mutants` binary.
fn ensure_installed() -> Result<PathBuf> {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map_err(|_| XtaskError::new("neither CARGO_HOME nor HOME is set"))?;
    let binary = home.join("bin/cargo-mutants");
    let installed = || {
        Command::new(&binary)
            .args(["mutants", "--version"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    match installed() {
        Some(version) if version.ends_with(VERSION) => return Ok(binary),
        Some(version) => println!("note: {version} is installed; installing cargo-mutants {VERSION}, whose outcome files xtask reads"),
        None => println!("note: cargo-mutants is not installed; installing cargo-mutants {VERSION} (a few minutes, once)"),
    }
    let install = format!("cargo install --locked cargo-mutants --version {VERSION}");
    if std::env::var_os("WARDEN_NO_INSTALL").is_some() {
        return Err(XtaskError::new(format!("cargo-mutants {VERSION} is not installed (WARDEN_NO_INSTALL is set)"))
            .with_help(format!("install it: {install}")));
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "--locked", "cargo-mutants", "--version", VERSION])
        .env_remove("CARGO_TARGET_DIR")
        .status()?;
    match installed() {
        Some(version) if status.success() && version.ends_with(VERSION) => Ok(binary),
        _ => Err(XtaskError::new(format!("installing cargo-mutants {VERSION} failed ({status})"))
            .with_help(format!("install it by hand: {install}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_belongs_to_the_group_whose_glob_names_it() {
        let chosen = choose(&["verifier/src/domain/tnum.rs".into(), "./vm/src/interp.rs".into()], &[]).unwrap();
        let names: Vec<_> = chosen.iter().map(|(g, files)| (g.name, files.clone())).collect();
        assert_eq!(
            names,
            [("domains", vec!["verifier/src/domain/tnum.rs".to_string()]), ("interpreter", vec!["vm/src/interp.rs".to_string()])]
        );
    }

    #[test]
    fn a_file_outside_every_group_is_refused_with_the_groups_named() {
        let error = choose(&["verifier/src/domainx.rs".into()], &[]).err().expect("refused");
        assert!(error.message.contains("`verifier/src/domainx.rs` is not in any group"), "{}", error.message);
        assert!(error.help.unwrap().contains("jit/src/x86/**"));
    }

    #[test]
    fn a_group_is_chosen_whole_by_its_name() {
        let chosen = choose(&[], &["pruning".into()]).unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!((chosen[0].0.name, chosen[0].1.len()), ("pruning", 8));
        let error = choose(&[], &["prune".into()]).err().expect("refused");
        assert_eq!(error.message, "there is no group `prune`");
    }

    #[test]
    fn the_committed_equivalence_list_reads_and_names_guarded_files() {
        let root = kernel::root();
        let text = std::fs::read_to_string(root.join(EQUIVALENT)).unwrap();
        outcomes::Equivalents::load(&root).unwrap_or_else(|e| panic!("{}", e.message));
        for line in text.lines().filter(|l| !l.starts_with([' ', '#']) && !l.is_empty()) {
            let file = line.split_once(": ").map_or(line, |(f, _)| f);
            assert!(GROUPS.iter().flat_map(|g| g.files).any(|glob| in_glob(file, glob)), "{file} is in no group");
        }
    }

    #[test]
    fn every_guarded_file_exists() {
        let root = kernel::root();
        for glob in GROUPS.iter().flat_map(|g| g.files) {
            let path = root.join(glob.trim_end_matches("/**"));
            assert!(path.exists(), "{} is gone: update GROUPS", path.display());
        }
    }
}
