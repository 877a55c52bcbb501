//! `cargo xtask fuzz`: the long fuzz campaigns, in optimised builds.
//!
//! Each campaign is one of the project's fuzz tests run with a larger count
//! than `cargo xtask test` gives it (the counts are environment variables
//! the tests read):
//!
//! | campaign | test | count | seed |
//! |---|---|---|---|
//! | `soundness` | `tests/tests/soundness_fuzz.rs`: accepted programs run in the checking interpreter | `WARDEN_FUZZ_PROGRAMS` | `WARDEN_FUZZ_SEED` |
//! | `random-insns` | the same file: programs of random instructions never panic the verifier | `WARDEN_FUZZ_PROGRAMS` | fixed |
//! | `jit-diff` | `tests/tests/jit_differential.rs`: the JIT against the interpreter on the same generator | `WARDEN_JIT_DIFF_PROGRAMS` | `WARDEN_FUZZ_SEED` |
//! | `linux-diff` | `tests/tests/linux_diff.rs`: the verifier's verdicts against the Linux verifier of this machine (as root; skipped with a notice elsewhere) | `WARDEN_LINUX_DIFF_PROGRAMS` | `WARDEN_FUZZ_SEED` |
//! | `images` | `lkm/tests/image.rs`: random and mutated `.lkm` images never panic the parser | `WARDEN_FUZZ_IMAGES` | fixed |
//! | `objects` | `modc/tests/object_fuzz.rs`: mutated clang objects never panic the C object reader | `WARDEN_FUZZ_OBJECTS` | fixed |
//! | `modc-front-end` | `modc/tests/fuzz.rs`: random and mutated sources end in an image or diagnostics | `WARDEN_FUZZ_SOURCES` | fixed |
//! | `modc-generated` | `modc/tests/generated.rs`: random well-typed modules compile and verify | `WARDEN_GEN_PROGRAMS` | fixed |
//! | `hostile-modules` | `os/src/lkm/tests/hostile.rs` (in the kernel): generated modules of every class used as a user would | `count=` | `seed=` |
//! | `elf` | [`elf`]: `elffuzz` as an ordinary user in a booted system attacks the ELF loader | `--elfs` | `--seed` |
//! | `syscalls` | [`syscalls`]: `sysfuzz` in QEMU, as root and as student | `--calls` | `--seed` |
//! | `verifier-pressure` | `os/src/lkm/tests/pressure.rs` (in the kernel): programs at each of the verifier's limits, loaded while a thread keeps running | `rounds=` | fixed |
//!
//! A campaign of package `os` is an in-kernel test: the test kernel boots
//! in QEMU with the test's name and its `KEY=VALUE` pairs on the command
//! line (see `os::ktest::parameter`).
//!
//! Each test prints one summary line; [`Campaign::counts`] reads the
//! counts from it. A campaign fails when its test fails (a violation, a
//! mismatch or a panic makes the test fail) or when its summary reports a
//! violation; the command then exits non-zero.

use std::io::{BufRead, BufReader};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use crate::kernel::Flavor;
use crate::qemu::{self, Vm};
use crate::session::Session;
use crate::test::seconds;
use crate::{Result, XtaskError, kernel};

mod elf;
mod syscalls;

#[derive(Args)]
pub struct FuzzArgs {
    /// Generated programs for the verifier and JIT campaigns
    #[arg(long, default_value_t = 1_000_000)]
    programs: u64,
    /// Images for the `.lkm` parser campaign
    #[arg(long, default_value_t = 1_000_000)]
    images: u64,
    /// Objects for the C object reader campaign
    #[arg(long, default_value_t = 1_000_000)]
    objects: u64,
    /// Sources for the modc front-end campaign
    #[arg(long, default_value_t = 10_000)]
    sources: u64,
    /// Random well-typed modules for the modc generated-programs campaign
    #[arg(long, default_value_t = 200)]
    modules: u64,
    /// Generated modules for the in-kernel hostile-modules campaign
    #[arg(long, default_value_t = 1000)]
    hostile: u64,
    /// Rounds of the in-kernel verifier-pressure campaign (each loads every case once)
    #[arg(long, default_value_t = 5)]
    rounds: u64,
    /// Generated executables for the ELF loader campaign (in QEMU)
    #[arg(long, default_value_t = 10_000)]
    elfs: u64,
    /// System calls for the `syscalls` campaign (half as root, half as student)
    #[arg(long, default_value_t = 1_000_000)]
    calls: u64,
    /// First seed of the verifier, JIT, ELF and system-call campaigns (program i uses seed S + i), and the hostile-modules seed
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only this campaign (repeatable; an unknown name lists them); all when omitted
    #[arg(long = "campaign", value_name = "NAME")]
    campaigns: Vec<String>,
}

/// One fuzz test and how to read its summary line.
struct Campaign {
    name: &'static str,
    package: &'static str,
    /// The `--test` target (a file in the package's `tests/`).
    test: &'static str,
    /// The test function, run with `--exact`.
    function: &'static str,
    env: Vec<(&'static str, String)>,
    /// Text that starts the test's summary line.
    summary: &'static str,
    /// The words after the counts of inputs, of inputs accepted, and of
    /// violations in the summary line (`None`: violations make the test
    /// panic, so they show only as a failed test).
    inputs: &'static str,
    accepted: &'static str,
    violations: Option<&'static str>,
}

/// What a finished campaign reports.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    inputs: Option<u64>,
    accepted: Option<u64>,
    violations: Option<u64>,
}

fn campaigns(args: &FuzzArgs) -> Vec<Campaign> {
    let seed = ("WARDEN_FUZZ_SEED", args.seed.to_string());
    vec![
        Campaign {
            name: "soundness",
            package: "warden-tests",
            test: "soundness_fuzz",
            function: "accepted_programs_never_violate_memory_safety",
            env: vec![("WARDEN_FUZZ_PROGRAMS", args.programs.to_string()), seed.clone()],
            summary: "soundness fuzz:",
            inputs: "programs",
            accepted: "accepted",
            violations: Some("violations"),
        },
        Campaign {
            name: "random-insns",
            package: "warden-tests",
            test: "soundness_fuzz",
            function: "random_instructions_never_panic_the_verifier",
            env: vec![("WARDEN_FUZZ_PROGRAMS", args.programs.to_string())],
            summary: "random instructions:",
            inputs: "programs",
            accepted: "accepted",
            violations: None,
        },
        Campaign {
            name: "jit-diff",
            package: "warden-tests",
            test: "jit_differential",
            function: "jit_agrees_with_the_interpreter_on_fuzzed_programs",
            env: vec![("WARDEN_JIT_DIFF_PROGRAMS", args.programs.to_string()), seed.clone()],
            summary: "JIT differential:",
            inputs: "programs",
            accepted: "accepted",
            violations: Some("mismatches"),
        },
        Campaign {
            name: "linux-diff",
            package: "warden-tests",
            test: "linux_diff",
            function: "warden_and_linux_verdicts_on_the_shared_subset",
            env: vec![("WARDEN_LINUX_DIFF_PROGRAMS", args.programs.to_string()), seed],
            summary: "linux diff:",
            inputs: "programs",
            accepted: "accepted",
            violations: Some("violations"),
        },
        Campaign {
            name: "images",
            package: "lkm",
            test: "image",
            function: "random_and_mutated_images_never_panic",
            env: vec![("WARDEN_FUZZ_IMAGES", args.images.to_string())],
            summary: "",
            inputs: "images",
            accepted: "accepted",
            violations: None,
        },
        Campaign {
            name: "objects",
            package: "modc",
            test: "object_fuzz",
            function: "mutated_objects_never_panic_the_reader",
            env: vec![("WARDEN_FUZZ_OBJECTS", args.objects.to_string())],
            summary: "",
            inputs: "objects",
            accepted: "accepted",
            violations: None,
        },
        Campaign {
            name: "modc-front-end",
            package: "modc",
            test: "fuzz",
            function: "the_front_end_never_panics",
            env: vec![("WARDEN_FUZZ_SOURCES", args.sources.to_string())],
            summary: "",
            inputs: "sources",
            accepted: "compiled",
            violations: None,
        },
        Campaign {
            name: "modc-generated",
            package: "modc",
            test: "generated",
            function: "random_programs_compile_verify_and_run_safely",
            env: vec![("WARDEN_GEN_PROGRAMS", args.modules.to_string())],
            summary: "",
            inputs: "programs",
            accepted: "verified",
            violations: None,
        },
        Campaign {
            name: "hostile-modules",
            package: "os",
            test: "lkm/tests/hostile",
            function: "smp_hostile_modules_campaign",
            env: vec![("count", args.hostile.to_string()), ("seed", args.seed.to_string())],
            summary: "    hostile modules:",
            inputs: "modules",
            accepted: "loaded",
            violations: None,
        },
        Campaign {
            name: "verifier-pressure",
            package: "os",
            test: "lkm/tests/pressure",
            function: "verifier_pressure_campaign",
            env: vec![("rounds", args.rounds.to_string())],
            summary: "    verifier pressure:",
            inputs: "loads",
            accepted: "loaded",
            violations: None,
        },
    ]
}

pub fn run(args: &FuzzArgs) -> Result<ExitCode> {
    let all = campaigns(args);
    let known: Vec<&str> = all.iter().map(|c| c.name).chain(["elf", syscalls::NAME]).collect();
    if let Some(unknown) = args.campaigns.iter().find(|c| !known.contains(&c.as_str())) {
        return Err(XtaskError::new(format!("no campaign named `{unknown}`"))
            .with_help(format!("the campaigns are: {}", known.join(", "))));
    }
    let chosen: Vec<Campaign> =
        all.into_iter().filter(|c| args.campaigns.is_empty() || args.campaigns.iter().any(|n| n == c.name)).collect();
    let mut results = Vec::new();
    for campaign in &chosen {
        println!("\n==== campaign {} ====", campaign.name);
        build(campaign)?;
        let started = Instant::now();
        let (passed, counts) = execute(campaign)?;
        results.push((campaign.name, passed, counts, started.elapsed()));
    }
    if args.campaigns.is_empty() || args.campaigns.iter().any(|n| n == "elf") {
        println!("\n==== campaign elf ====");
        let vm = elf::build()?;
        let started = Instant::now();
        let (passed, counts) = elf::run(&vm, args.elfs, args.seed)?;
        results.push(("elf", passed, counts, started.elapsed()));
    }
    if args.campaigns.is_empty() || args.campaigns.iter().any(|n| n == syscalls::NAME) {
        println!("\n==== campaign {} ====", syscalls::NAME);
        let started = Instant::now();
        let (passed, counts) = syscalls::run(args.calls, args.seed)?;
        results.push((syscalls::NAME, passed, counts, started.elapsed()));
    }
    println!("\n==== summary ====");
    println!("{:<16} {:>10} {:>10} {:>11}  {:>9}  result", "campaign", "inputs", "accepted", "violations", "time");
    let mut failed = 0;
    for (name, passed, counts, took) in &results {
        let ok = *passed && counts.violations.unwrap_or(0) == 0;
        failed += usize::from(!ok);
        println!(
            "{name:<16} {:>10} {:>10} {:>11}  {:>9}  {}",
            show(counts.inputs),
            show(counts.accepted),
            show(counts.violations),
            seconds(*took),
            if ok { "ok" } else { "FAILED (see the test's output above)" }
        );
    }
    println!("campaigns: {} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn show(n: Option<u64>) -> String {
    n.map_or_else(|| "-".into(), |n| n.to_string())
}

/// Builds the campaign's test binary first, so its time is the run's alone.
fn build(campaign: &Campaign) -> Result<()> {
    if campaign.in_kernel() {
        return kernel::build(Flavor::Test, false).map(drop);
    }
    let status = kernel::cargo()
        .args(["test", "--release", "--no-run", "--package", campaign.package, "--test", campaign.test])
        .status()
        .map_err(|e| XtaskError::new(format!("cannot run cargo: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(XtaskError::new(format!("the `{}` test of `{}` did not build (see cargo's messages above)", campaign.test, campaign.package)))
    }
}

/// Runs the campaign's test with its output streamed; returns whether it
/// passed and the counts of its summary line.
fn execute(campaign: &Campaign) -> Result<(bool, Counts)> {
    if campaign.in_kernel() {
        return execute_in_kernel(campaign);
    }
    let mut cmd = kernel::cargo();
    cmd.args(["test", "--release", "--package", campaign.package, "--test", campaign.test, "--"])
        .args([campaign.function, "--exact", "--nocapture"])
        .envs(campaign.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| XtaskError::new(format!("cannot run cargo test: {e}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut counts = Counts::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(found) = campaign.counts(&line) {
            counts = found;
        }
    }
    let status = child.wait()?;
    Ok((status.success(), counts))
}

/// Boots the test kernel with the campaign's test and parameters on the
/// command line; the same as [`execute`] for an in-kernel test. A panic,
/// a failure or no exit within the time limit fails the campaign.
fn execute_in_kernel(campaign: &Campaign) -> Result<(bool, Counts)> {
    let mut vm = Vm::new(kernel::build(Flavor::Test, false)?);
    let words: Vec<String> = campaign.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vm.append = Some(format!("{} {}", campaign.function, words.join(" ")));
    // A minute, and a second per input: a hung kernel is stopped.
    let inputs = campaign.env.iter().find(|(k, _)| *k == "count").and_then(|(_, v)| v.parse().ok()).unwrap_or(0u64);
    let mut session = Session::start(&vm, true)?;
    let status = session.wait_exit(Duration::from_secs(60 + inputs));
    let counts = session.output().lines().find_map(|line| campaign.counts(line)).unwrap_or_default();
    let passed = status.is_some_and(|s| s.code() == Some(qemu::EXIT_SUCCESS));
    if status.is_none() {
        println!("\nerror: the kernel did not finish within {} s (a hang?); QEMU was killed", 60 + inputs);
    }
    Ok((passed, counts))
}

impl Campaign {
    /// Whether the test runs in the kernel (package `os`) rather than on the host.
    fn in_kernel(&self) -> bool {
        self.package == "os"
    }

    /// The counts of the test's summary line, `None` for any other line.
    fn counts(&self, line: &str) -> Option<Counts> {
        let rest = line.strip_prefix(self.summary)?;
        let inputs = number_before(rest, self.inputs)?;
        Some(Counts {
            inputs: Some(inputs),
            accepted: number_before(rest, self.accepted),
            violations: self.violations.and_then(|word| number_before(rest, word)),
        })
    }
}

/// The number just before `word` in `text`: `number_before("5 programs,
/// 3 accepted", "accepted") == Some(3)`.
fn number_before(text: &str, word: &str) -> Option<u64> {
    let tokens: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '(' | ')')).filter(|t| !t.is_empty()).collect();
    tokens.windows(2).find(|pair| pair[1] == word).and_then(|pair| pair[0].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> FuzzArgs {
        FuzzArgs { programs: 10, images: 20, objects: 25, sources: 30, modules: 40, hostile: 50, rounds: 3, elfs: 60, calls: 70, seed: 7, campaigns: vec![] }
    }

    fn campaign(name: &str) -> Campaign {
        campaigns(&args()).into_iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn counts_come_from_each_tests_summary_line() {
        let line = "soundness fuzz: 100000 programs, 41234 accepted (41.2%), 164936 runs, 0 violations, 35.2s";
        assert_eq!(
            campaign("soundness").counts(line),
            Some(Counts { inputs: Some(100_000), accepted: Some(41_234), violations: Some(0) })
        );
        let line = "JIT differential: 5000 programs, 2100 accepted, 6000 runs compared (x2 with blinding), 2 mismatches, 0 runs skipped for interpreter violations";
        assert_eq!(campaign("jit-diff").counts(line), Some(Counts { inputs: Some(5000), accepted: Some(2100), violations: Some(2) }));
        let line = "linux diff: 3000 programs, 573 accepted by Warden, 1328 accepted by Linux, 799 disagreements, 0 violations, 7.0s";
        assert_eq!(campaign("linux-diff").counts(line), Some(Counts { inputs: Some(3000), accepted: Some(573), violations: Some(0) }));
        let line = "    verifier pressure: 5 rounds, 45 loads (10 loaded, the rest refused as expected), heap back after each, 0 panics";
        assert_eq!(campaign("verifier-pressure").counts(line), Some(Counts { inputs: Some(45), accepted: Some(10), violations: None }));
        let line = "20000 images: 1500 accepted, 18500 refused";
        assert_eq!(campaign("images").counts(line), Some(Counts { inputs: Some(20_000), accepted: Some(1500), violations: None }));
        assert_eq!(
            campaign("modc-front-end").counts("1000 sources: 120 compiled, 880 refused with diagnostics"),
            Some(Counts { inputs: Some(1000), accepted: Some(120), violations: None })
        );
        let line = "    hostile modules: seed 1, 10 modules (9 loaded, 1 refused at load), 34 uses (26 errors), 3 values rejected, 0 panics";
        assert_eq!(campaign("hostile-modules").counts(line), Some(Counts { inputs: Some(10), accepted: Some(9), violations: None }));
        assert_eq!(campaign("soundness").counts("running 1 test"), None);
        assert_eq!(campaign("images").counts("test result: ok. 1 passed; 0 failed"), None);
    }

    #[test]
    fn every_campaign_names_a_test_that_exists() {
        for c in campaigns(&args()) {
            let dir = if c.package == "warden-tests" { "tests" } else { c.package };
            let tests = if c.in_kernel() { "src" } else { "tests" };
            let path = kernel::root().join(dir).join(tests).join(format!("{}.rs", c.test));
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(source.contains(&format!("fn {}()", c.function)), "{}: no test `{}`", path.display(), c.function);
            for (variable, _) in &c.env {
                assert!(source.contains(variable), "{}: does not read {variable}", path.display());
            }
        }
    }

    #[test]
    fn the_counts_reach_the_tests_through_their_variables() {
        let soundness = campaign("soundness");
        assert!(soundness.env.contains(&("WARDEN_FUZZ_PROGRAMS", "10".into())));
        assert!(soundness.env.contains(&("WARDEN_FUZZ_SEED", "7".into())));
        assert!(campaign("jit-diff").env.contains(&("WARDEN_JIT_DIFF_PROGRAMS", "10".into())));
        assert!(campaign("images").env.contains(&("WARDEN_FUZZ_IMAGES", "20".into())));
        assert!(campaign("modc-front-end").env.contains(&("WARDEN_FUZZ_SOURCES", "30".into())));
        assert!(campaign("modc-generated").env.contains(&("WARDEN_GEN_PROGRAMS", "40".into())));
        assert_eq!(campaign("hostile-modules").env, vec![("count", "50".into()), ("seed", "7".into())]);
    }
}
