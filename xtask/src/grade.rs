//! `cargo xtask grade LAB [--solution]`: grades a course lab, like xv6's
//! `make grade`.
//!
//! The student's module, `labs/LAB/FILE.wm` (or the reference solution in
//! `labs/LAB/solution/FILE.wm` with `--solution`), is compiled and verified
//! with `modc`'s library, packed into an initrd as `/modules/lab_NAME.lkm`,
//! and Warden boots with it. The lab's checks ([`labs`]) then drive the
//! shell as a user would and look at real behaviour: values computed from
//! random inputs chosen at grading time, times compared with the host's
//! clock, what the module's maps hold. Printing the expected text does not
//! pass them. Each check prints `name: OK` or `name: FAIL`, then the score
//! and `N passed, N failed`; the exit status is non-zero unless all pass.
//!
//! The stage `labs` of `cargo xtask test` grades every lab twice: the reference solution must pass every check and the
//! untouched skeleton must fail at least one.

mod guest;
mod labs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::kernel::{self, BootImage, Flavor};
use crate::qemu::{self, Vm};
use crate::test::{StageResult, TestArgs};
use crate::{Result, XtaskError};
use guest::Guest;

#[derive(Args)]
pub struct GradeArgs {
    /// The lab to grade (stamp, gcd, clock, upper, fixme, runas)
    lab: String,
    /// Grade the reference solution instead of your file
    #[arg(long)]
    solution: bool,
}

/// One lab: its directory under `labs/`, the student's file, and its checks.
pub struct Lab {
    pub dir: &'static str,
    pub file: &'static str,
    /// The module's name (its `module NAME:` header).
    pub module: &'static str,
    pub checks: fn(&mut Guest, &mut Rng, &mut Vec<Check>),
    /// Executable files to put in the initrd, under `/modules/` (made from
    /// a copy of the checks' random generator: the checks can make the
    /// same values again).
    pub files: fn(&mut Rng) -> Vec<LabFile>,
}

/// A file for the initrd: name under `/modules/`, contents.
pub type LabFile = (String, Vec<u8>);

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

/// The file graded: the student's, or the reference solution.
pub fn source_path(lab: &Lab, solution: bool) -> PathBuf {
    let dir = kernel::root().join("labs").join(lab.dir);
    if solution { dir.join("solution").join(lab.file) } else { dir.join(lab.file) }
}

pub fn run(args: &GradeArgs) -> Result<ExitCode> {
    let lab = lab(&args.lab)?;
    qemu::ensure_installed()?;
    let checks = grade(lab, args.solution)?;
    let passed = checks.iter().filter(|c| c.ok).count();
    let failed = checks.len() - passed;
    println!("Score: {passed}/{}", checks.len());
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Grades one lab, printing a line per check; every check's outcome.
pub fn grade(lab: &Lab, solution: bool) -> Result<Vec<Check>> {
    let path = source_path(lab, solution);
    let shown = path.strip_prefix(kernel::root()).unwrap_or(&path).display().to_string();
    let mut checks = Vec::new();
    let image = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| crate::modules::compile(&shown, &text));
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
    let mut rng = Rng::from_clock();
    let boot = boot_image(lab, image, (lab.files)(&mut rng.clone()))?;
    let mut guest = Guest::boot(&Vm::new(boot))?;
    let mut found = Vec::new();
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
fn boot_image(lab: &Lab, image: Vec<u8>, files: Vec<LabFile>) -> Result<BootImage> {
    let mut boot = kernel::build(Flavor::Normal, false)?;
    let mut extra = vec![(format!("modules/lab_{}.lkm", lab.module), 0o644, image)];
    extra.extend(files.into_iter().map(|(name, data)| (format!("modules/{name}"), 0o755, data)));
    let initrd = crate::initrd::build_with(&kernel::root(), &kernel::target_dir(), &extra, &format!("initrd-lab-{}.cpio", lab.dir))
        .map_err(XtaskError::new)?;
    boot.initrd = Some(initrd);
    Ok(boot)
}

/// The `labs` stage: each solution passes, each skeleton fails.
pub fn stage(args: &TestArgs) -> Result<StageResult> {
    let mut result = StageResult::default();
    for lab in labs::ALL {
        if args.filter.as_ref().is_some_and(|f| !lab.dir.contains(f.as_str())) {
            continue;
        }
        for solution in [true, false] {
            let what = if solution { "solution passes" } else { "skeleton fails" };
            println!("-- lab {} ({what})", lab.dir);
            let ok = match grade(lab, solution) {
                Ok(checks) => checks.iter().all(|c| c.ok) == solution,
                Err(e) => {
                    println!("error: {e}");
                    false
                }
            };
            println!("lab {}: {what} ... {}", lab.dir, if ok { "ok" } else { "FAILED" });
            if ok { result.passed += 1 } else { result.failed += 1 }
        }
    }
    Ok(result)
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
