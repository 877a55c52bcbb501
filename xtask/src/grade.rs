//! `cargo xtask grade LAB [--solution | --cheat NAME]`: grades a course
//! lab, like xv6's `make grade`.
//!
//! The student's module, `labs/LAB/FILE.wm` (or the reference solution in
//! `labs/LAB/solution/FILE.wm` with `--solution`, or a cheat of the lab's
//! corpus, `labs/LAB/cheats/NAME.wm`, with `--cheat NAME`), is compiled and
//! verified with `modc`'s library; with `--c`, the lab's C version
//! (`labs/LAB/FILE.c`, `labs/LAB/solution/FILE.c`) where it has one. The lab's structure checks look at the
//! image (the entry points it fills, the tables it carries); then it is
//! packed into an initrd as `/modules/lab_NAME.lkm`, Warden boots with it,
//! and the lab's checks ([`labs`]) drive the shell as a user would and look
//! at real behaviour: values computed from random inputs chosen at grading
//! time, figures compared with what was measured outside the module.
//! Printing the expected text does not pass them. Each check prints `name: OK` or `name: FAIL`, then
//! the score and `N passed, N failed`; the exit status is non-zero unless
//! all pass.
//!
//! The stage `labs` of `cargo xtask test` grades every lab like a mutation
//! test grades a test suite: the reference solution must pass every check
//! (in C too, where the lab has a C version and clang is installed),
//! the untouched skeleton (also the C one) and every cheat of the corpus must fail at least
//! one (the stage names the checks that caught each cheat), and a cheat
//! that does not compile and verify is an error in the corpus.

mod guest;
mod labs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::kernel::{self, BootImage, Flavor};
use crate::modules::ModuleFile;
use crate::qemu::{self, Vm};
use crate::test::{StageResult, TestArgs};
use crate::{Result, XtaskError};
use guest::Guest;

#[derive(Args)]
pub struct GradeArgs {
    /// The lab to grade (stamp, gcd, clock, upper, fixme, runas, percpu)
    lab: String,
    /// Grade the reference solution instead of your file
    #[arg(long, conflicts_with = "cheat")]
    solution: bool,
    /// Grade `labs/LAB/cheats/NAME.wm`, a cheat of the lab's corpus
    #[arg(long, value_name = "NAME")]
    cheat: Option<String>,
    /// Grade the lab's C version: `labs/LAB/FILE.c` (with `--solution`, `labs/LAB/solution/FILE.c`)
    #[arg(long, conflicts_with = "cheat")]
    c: bool,
}

/// What is graded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    /// `labs/LAB/FILE.wm`: the student's file (the skeleton, untouched).
    Student,
    /// `labs/LAB/solution/FILE.wm`.
    Solution,
    /// `labs/LAB/cheats/NAME.wm`.
    Cheat(String),
    /// `labs/LAB/FILE.c`: the C skeleton, untouched.
    StudentC,
    /// `labs/LAB/solution/FILE.c`.
    SolutionC,
}

/// One lab: its directory under `labs/`, the student's file, and its checks.
pub struct Lab {
    pub dir: &'static str,
    pub file: &'static str,
    /// The module's name (its `module NAME:` header).
    pub module: &'static str,
    /// Checks of the image itself, before booting: what the technique the
    /// lab teaches leaves in it.
    pub structure: fn(&lkm::Image, &mut Vec<Check>),
    pub checks: fn(&mut Guest, &mut Rng, &mut Vec<Check>),
    /// What the lab puts around the module (made from a copy of the checks'
    /// random generator: the checks can make the same values again).
    pub setup: fn(&mut Rng) -> Result<Setup>,
}

/// What a lab adds to the machine it grades on.
#[derive(Default)]
pub struct Setup {
    /// Files for the initrd, under `/modules/`.
    pub files: Vec<ModuleFile>,
    /// The date and time the real-time clock starts at (QEMU's `-rtc base=`,
    /// `YYYY-MM-DDTHH:MM:SS`); the host's UTC time when `None`.
    pub rtc_base: Option<String>,
    /// The CPUs of the machine (QEMU's `-smp`); one when `None`.
    pub cpus: Option<u32>,
}

/// The outcome of one check.
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Why it failed (shown under `FAIL`).
    pub note: String,
}

impl Check {
    pub fn new(name: &str, ok: bool, note: impl Into<String>) -> Check {
        Check { name: name.to_string(), ok, note: if ok { String::new() } else { note.into() } }
    }
}

/// Finds a lab by name.
fn lab(name: &str) -> Result<&'static Lab> {
    labs::ALL.iter().find(|l| l.dir == name).ok_or_else(|| {
        let names: Vec<&str> = labs::ALL.iter().map(|l| l.dir).collect();
        XtaskError::new(format!("no lab named `{name}`")).with_help(format!("the labs are: {}", names.join(", ")))
    })
}

/// The file graded.
pub fn source_path(lab: &Lab, what: &Submission) -> PathBuf {
    let dir = kernel::root().join("labs").join(lab.dir);
    match what {
        Submission::Student => dir.join(lab.file),
        Submission::Solution => dir.join("solution").join(lab.file),
        Submission::Cheat(name) => dir.join("cheats").join(format!("{name}.wm")),
        Submission::StudentC => dir.join(lab.file).with_extension("c"),
        Submission::SolutionC => dir.join("solution").join(lab.file).with_extension("c"),
    }
}

/// The names of the lab's cheats (`labs/LAB/cheats/NAME.wm`), sorted.
pub fn cheats(lab: &Lab) -> Vec<String> {
    let dir = kernel::root().join("labs").join(lab.dir).join("cheats");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".wm").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn run(args: &GradeArgs) -> Result<ExitCode> {
    let lab = lab(&args.lab)?;
    let what = match &args.cheat {
        Some(name) if !cheats(lab).contains(name) => {
            return Err(XtaskError::new(format!("lab `{}` has no cheat named `{name}`", lab.dir))
                .with_help(format!("its cheats are: {}", cheats(lab).join(", "))));
        }
        Some(name) => Submission::Cheat(name.clone()),
        None if args.solution && args.c => Submission::SolutionC,
        None if args.solution => Submission::Solution,
        None if args.c => Submission::StudentC,
        None => Submission::Student,
    };
    if args.c && !source_path(lab, &what).exists() {
        return Err(XtaskError::new(format!("lab `{}` has no C version", lab.dir)).with_help("grade the `.wm` file: leave out `--c`"));
    }
    qemu::ensure_installed()?;
    let checks = grade(lab, &what)?;
    let passed = checks.iter().filter(|c| c.ok).count();
    let failed = checks.len() - passed;
    println!("Score: {passed}/{}", checks.len());
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Grades one lab, printing a line per check; every check's outcome.
pub fn grade(lab: &Lab, what: &Submission) -> Result<Vec<Check>> {
    let path = source_path(lab, what);
    let shown = path.strip_prefix(kernel::root()).unwrap_or(&path).display().to_string();
    let mut checks = Vec::new();
    let image = if matches!(what, Submission::StudentC | Submission::SolutionC) {
        crate::modules::compile_c(&path, &shown)
    } else {
        std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|text| crate::modules::compile(&shown, &text))
    };
    let report = |c: &Check| {
        println!("{}: {}", c.name, if c.ok { "OK" } else { "FAIL" });
        for line in c.note.lines() {
            println!("    {line}");
        }
    };
    let first = Check::new("compiles and verifies", image.is_ok(), image.as_ref().err().cloned().unwrap_or_default());
    report(&first);
    checks.push(first);
    let Ok(image) = image else {
        let c = Check::new("runs on Warden", false, "not graded further: the module must compile and verify first");
        report(&c);
        checks.push(c);
        return Ok(checks);
    };
    let mut found = Vec::new();
    let parsed = lkm::parse(&image).map_err(|e| XtaskError::new(format!("{shown}: the verified image does not parse: {e:?}")))?;
    (lab.structure)(&parsed, &mut found);
    let mut rng = Rng::from_clock();
    let setup = (lab.setup)(&mut rng.clone())?;
    let mut vm = Vm::new(boot_image(lab, image, setup.files)?);
    vm.rtc_base = setup.rtc_base;
    vm.cpus = setup.cpus.unwrap_or(1);
    let mut guest = Guest::boot(&vm)?;
    (lab.checks)(&mut guest, &mut rng, &mut found);
    let alive = guest.run("echo \"al\"\"ive\"").is_ok_and(|out| out.contains("alive")) && !guest.panicked();
    found.push(Check::new("the kernel is still alive", alive, guest.tail()));
    for c in found {
        report(&c);
        checks.push(c);
    }
    Ok(checks)
}

/// The normal kernel with an initrd that also holds `/modules/lab_NAME.lkm`.
fn boot_image(lab: &Lab, image: Vec<u8>, files: Vec<ModuleFile>) -> Result<BootImage> {
    let mut boot = kernel::build(Flavor::Normal, false)?;
    let mut extra = vec![(format!("modules/lab_{}.lkm", lab.module), 0o644, image)];
    extra.extend(files.into_iter().map(|(name, mode, data)| (format!("modules/{name}"), mode, data)));
    let initrd = crate::initrd::build_with(&kernel::root(), &kernel::target_dir(), &extra, &format!("initrd-lab-{}.cpio", lab.dir))
        .map_err(XtaskError::new)?;
    boot.initrd = Some(initrd);
    Ok(boot)
}

/// The `labs` stage: each solution passes; each skeleton, and each cheat
/// of each lab's corpus, fails.
pub fn stage(args: &TestArgs) -> Result<StageResult> {
    let mut result = StageResult::default();
    for lab in labs::ALL {
        if args.filter.as_ref().is_some_and(|f| !lab.dir.contains(f.as_str())) {
            continue;
        }
        let mut graded = vec![Submission::Solution, Submission::Student];
        if source_path(lab, &Submission::SolutionC).exists() && crate::clang::ensure_installed() {
            graded.extend([Submission::SolutionC, Submission::StudentC]);
        }
        graded.extend(cheats(lab).into_iter().map(Submission::Cheat));
        for what in graded {
            let title = match &what {
                Submission::Solution => "solution passes".to_string(),
                Submission::Student => "skeleton fails".to_string(),
                Submission::SolutionC => "C solution passes".to_string(),
                Submission::StudentC => "C skeleton fails".to_string(),
                Submission::Cheat(name) => format!("cheat {name} fails"),
            };
            println!("-- lab {} ({title})", lab.dir);
            let ok = match grade(lab, &what) {
                Ok(checks) => judge(lab, &what, &checks),
                Err(e) => {
                    println!("error: {e}");
                    false
                }
            };
            println!("lab {}: {title} ... {}", lab.dir, if ok { "ok" } else { "FAILED" });
            if ok { result.passed += 1 } else { result.failed += 1 }
        }
    }
    Ok(result)
}

/// Whether a grading came out as the stage requires, saying why not (or,
/// for a cheat, what caught it).
fn judge(lab: &Lab, what: &Submission, checks: &[Check]) -> bool {
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
    match what {
        Submission::Solution | Submission::SolutionC => failed.is_empty(),
        Submission::Student | Submission::StudentC => !failed.is_empty(),
        Submission::Cheat(name) => {
            let path = format!("labs/{}/cheats/{name}.wm", lab.dir);
            if failed.first() == Some(&"compiles and verifies") {
                println!("error: {path} does not compile and verify, so failing its grader proves nothing");
                println!("help: make the cheat build (`modc check {path}`), or remove it from the corpus");
                false
            } else if failed.is_empty() {
                println!("error: the grader of lab `{}` gives {path} full marks", lab.dir);
                println!("help: add a check that a real solution passes and this shortcut fails");
                false
            } else {
                println!("caught by: {}", failed.join("; "));
                true
            }
        }
    }
}

/// A small random-number generator (xorshift64*) seeded from the clock:
/// every grading run asks different questions.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn from_clock() -> Rng {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Rng(nanos | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    /// A lowercase word of `n` letters.
    pub fn word(&mut self, n: usize) -> String {
        (0..n).map(|_| (b'a' + self.range(0, 26) as u8) as char).collect()
    }
}
