//! Reading the bpf_conformance `.data` files (see
//! `../shared/conformance/README.md`): sections `-- asm`, `-- raw`, `-- mem`,
//! `-- result`, `-- error`, `-- c`, and any other `-- NAME` kept as is.
//!
//! The conformance tests of the interpreter, the verifier and the JIT all
//! read the suite through [`load_dir`] (or [`suite_files`]) and get each
//! file's program with [`DataFile::program`]; [`check_suite`] runs the
//! whole `tests/` folder one way and asserts the tally.

use std::path::{Path, PathBuf};

use verifier::{Program, Reg, assemble, decode};
use vm::helpers::unknown_helper;
use vm::{Config, Helpers, Memory, Value, Violation, ViolationKind, Vm};

/// One `.data` file.
#[derive(Clone, Debug, Default)]
pub struct DataFile {
    /// File name without the directory, e.g. `add.data`.
    pub name: String,
    /// The `-- asm` section, comment lines removed.
    pub asm: Option<String>,
    /// The `-- raw` section as bytes (written either as 64-bit words
    /// `0x...` or as eight hex bytes a line).
    pub raw: Option<Vec<u8>>,
    /// The `-- mem` section.
    pub mem: Option<Vec<u8>>,
    /// The `-- result` section.
    pub result: Option<u64>,
    /// The `-- error` section's text (possibly empty).
    pub error: Option<String>,
    /// Sections of any other name, with their text.
    pub other: Vec<(String, String)>,
}

/// Why a file's program could not be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramError {
    /// Neither `-- asm` nor `-- raw`.
    Missing,
    /// The assembler refused the `-- asm` text.
    Asm(String),
    /// The decoder refused the `-- raw` bytes.
    Decode(String),
}

impl DataFile {
    /// The program: the `-- raw` bytes when present (they are authoritative),
    /// else the assembled `-- asm` text.
    pub fn program(&self) -> Result<Program, ProgramError> {
        if let Some(raw) = &self.raw {
            return decode(raw).map_err(|e| ProgramError::Decode(e.to_string()));
        }
        match &self.asm {
            Some(src) => assemble(src).map_err(|e| ProgramError::Asm(e.to_string())),
            None => Err(ProgramError::Missing),
        }
    }

    /// The program assembled from `-- asm` only.
    pub fn assembled(&self) -> Option<Result<Program, String>> {
        self.asm
            .as_ref()
            .map(|src| assemble(src).map_err(|e| e.to_string()))
    }
}

/// Parses the text of a `.data` file.
pub fn parse(name: &str, text: &str) -> Result<DataFile, String> {
    let mut file = DataFile {
        name: name.to_string(),
        ..DataFile::default()
    };
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(section) = line.strip_prefix("-- ") {
            sections.push((section.trim().to_string(), String::new()));
        } else if let Some((section, body)) = sections.last_mut() {
            // `#` lines are comments, except in the C source.
            if section != "c" && line.trim_start().starts_with('#') {
                continue;
            }
            body.push_str(line);
            body.push('\n');
        }
    }
    for (section, body) in sections {
        match section.as_str() {
            "asm" => file.asm = Some(body),
            "raw" => file.raw = Some(parse_raw(&body).map_err(|e| format!("{name}: raw: {e}"))?),
            "mem" => file.mem = Some(parse_bytes(&body).map_err(|e| format!("{name}: mem: {e}"))?),
            "result" => {
                let t = body.trim();
                let v = t
                    .strip_prefix("0x")
                    .map_or_else(|| t.parse(), |h| u64::from_str_radix(h, 16));
                file.result = Some(v.map_err(|e| format!("{name}: result `{t}`: {e}"))?);
            }
            "error" => file.error = Some(body.trim().to_string()),
            _ => file.other.push((section, body)),
        }
    }
    Ok(file)
}

/// `0x1122334455667788` words (one per line) or lines of hex bytes.
fn parse_raw(body: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(h) = line.strip_prefix("0x") {
            let w = u64::from_str_radix(h, 16).map_err(|e| format!("`{line}`: {e}"))?;
            out.extend_from_slice(&w.to_le_bytes());
        } else {
            out.extend(parse_bytes(line)?);
        }
    }
    Ok(out)
}

/// Hex byte pairs separated by white space.
fn parse_bytes(body: &str) -> Result<Vec<u8>, String> {
    body.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).map_err(|e| format!("`{b}`: {e}")))
        .collect()
}

/// The suite's folder, if it is there: `WARDEN_CONFORMANCE_DIR` when set
/// (`cargo xtask mutants` tests a copy of the tree made elsewhere, and names
/// the suite this way), else `../shared/conformance` beside the project root.
pub fn suite_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("WARDEN_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    };
    dir.is_dir().then_some(dir)
}

/// Every `.data` file of a folder, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<DataFile>, String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            parse(&name, &text)
        })
        .collect()
}

/// The `.data` files of the suite folder `sub` (`tests` or `negative`), or
/// `None` after a printed notice naming `what` would have run when the suite
/// is absent.
pub fn suite_files(sub: &str, what: &str) -> Option<Vec<DataFile>> {
    let Some(dir) = suite_dir() else {
        println!("notice: ../shared/conformance not found; skipping {what}");
        return None;
    };
    Some(load_dir(&dir.join(sub)).unwrap())
}

/// What one way of running a suite program made of it.
pub enum Outcome {
    Passed,
    /// Not run, for the reason given.
    Skipped(String),
    /// Wrong, with one line per failure.
    Failed(Vec<String>),
}

/// Runs every program of the suite's `tests/*.data` through `run`, which
/// gets the file, its program and a copy of its `-- mem`. Programs using the
/// `callx` extension (a call through a register, not RFC 9669) are skipped;
/// a file without a program fails. Prints the tally headed `what` and the
/// skipped files, then asserts that nothing failed and that at least
/// `min_passed` passed.
pub fn check_suite(
    what: &str,
    min_passed: usize,
    mut run: impl FnMut(&DataFile, &Program, Vec<u8>) -> Outcome,
) {
    let Some(files) = suite_files("tests", &format!("the conformance suite ({what})")) else {
        return;
    };
    let (mut passed, mut skipped, mut failed) = (0, Vec::new(), Vec::new());
    for f in &files {
        let program = match f.program() {
            Ok(p) => p,
            Err(ProgramError::Asm(e)) if e.contains("callx") => {
                skipped.push(format!("{}: callx extension (call through a register)", f.name));
                continue;
            }
            Err(e) => {
                failed.push(format!("{}: no program: {e:?}", f.name));
                continue;
            }
        };
        match run(f, &program, f.mem.clone().unwrap_or_default()) {
            Outcome::Passed => passed += 1,
            Outcome::Skipped(why) => skipped.push(format!("{}: {why}", f.name)),
            Outcome::Failed(lines) => failed.extend(lines.into_iter().map(|l| format!("{}: {l}", f.name))),
        }
    }
    println!("conformance ({what}): {passed} passed, {} skipped, {} failed", skipped.len(), failed.len());
    for s in &skipped {
        println!("  skipped {s}");
    }
    assert!(failed.is_empty(), "failures:\n{}", failed.join("\n"));
    assert!(passed >= min_passed, "only {passed} passed");
}

/// The helpers the suite's programs may call: helper 5 returns its first
/// argument, as in the reference runners.
pub struct SuiteHelpers;

impl Helpers for SuiteHelpers {
    fn call(&mut self, id: u32, args: [Value; 5], _: &mut Memory) -> Result<Value, ViolationKind> {
        match id {
            5 => Ok(args[0]),
            _ => Err(unknown_helper(id)),
        }
    }
}

/// Runs a program as the suite's runners do: r1 points to a read-write copy
/// of `mem` and r2 holds its length (both 0 when `mem` is empty); returns r0.
pub fn interpret(program: &Program, mem: &[u8], config: Config) -> Result<u64, Violation> {
    let mut vm = Vm::new(program, config);
    if mem.is_empty() {
        vm.set_reg(Reg::R1, Value::scalar(0));
    } else {
        let base = vm
            .memory_mut()
            .add_buffer(mem.to_vec(), true)
            .map_err(|k| Violation::new(k, 0))?;
        vm.set_reg(Reg::R1, Value::pointer(base));
    }
    vm.set_reg(Reg::R2, Value::scalar(mem.len() as u64));
    vm.run(&mut SuiteHelpers).map(|o| o.r0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let f = parse(
            "x.data",
            "# header\n-- asm\nmov %r0, 1\n# comment\nexit\n-- raw\n0x00000001000000b7\n95 00 00 00 00 00 00 00\n-- mem\naa bb\n-- result\n0x1\n-- no register offset\ncall instruction\n",
        )
        .unwrap();
        assert_eq!(f.asm.as_deref(), Some("mov %r0, 1\nexit\n"));
        assert_eq!(f.raw.as_ref().unwrap().len(), 16);
        assert_eq!(f.mem, Some(vec![0xaa, 0xbb]));
        assert_eq!(f.result, Some(1));
        assert_eq!(
            f.other,
            vec![(
                "no register offset".to_string(),
                "call instruction\n".to_string()
            )]
        );
        assert_eq!(f.program().unwrap(), f.assembled().unwrap().unwrap());
    }
}
