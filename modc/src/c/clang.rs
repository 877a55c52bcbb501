//! Finding clang (14 or newer) and compiling a C module with it:
//! `clang -target bpf -O2 -g -c`, with `warden.h` on the include path.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The names tried, in order.
pub const CANDIDATES: &[&str] = &["clang", "clang-19", "clang-16", "clang-14"];
/// The oldest clang whose BPF output Warden reads.
pub const MIN_VERSION: u32 = 14;
const INSTALL: &str = "apt-get install clang";

/// A clang found on `PATH`: its command name and major version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clang {
    pub command: String,
    pub version: u32,
}

/// The major version `clang --version` reports, if `command` runs.
fn version_of(command: &str) -> Option<u32> {
    let out = Command::new(command).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rest = &text[text.find("version ")? + "version ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Every clang of a supported version on `PATH` (one per version).
pub fn all() -> Vec<Clang> {
    let mut out: Vec<Clang> = Vec::new();
    for &c in CANDIDATES {
        if let Some(v) = version_of(c).filter(|&v| v >= MIN_VERSION)
            && !out.iter().any(|o| o.version == v)
        {
            out.push(Clang { command: c.to_string(), version: v });
        }
    }
    out
}

/// The clang `modc build` uses: the first supported one on `PATH`.
pub fn find() -> Result<Clang, String> {
    if let Some(c) = all().into_iter().next() {
        return Ok(c);
    }
    let old: Vec<String> = CANDIDATES.iter().filter_map(|c| version_of(c).map(|v| format!("`{c}` is version {v}"))).collect();
    let found = if old.is_empty() { "no clang was found on PATH".to_string() } else { old.join(", ") };
    Err(format!(
        "error: compiling a C module needs clang {MIN_VERSION} or newer, and {found}\n  = note: tried {}\n  = help: install it with `{INSTALL}` (Debian, Ubuntu), then run modc again\n",
        CANDIDATES.join(", ")
    ))
}

/// Compiles `source` to an object at `object` with `clang`, the directory
/// holding `warden.h` on the include path. Clang's own diagnostics are
/// passed on as they are.
pub fn compile(clang: &Clang, source: &Path, include: &Path, object: &Path) -> Result<(), String> {
    let out = Command::new(&clang.command)
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg("-I")
        .arg(include)
        .arg(source)
        .arg("-o")
        .arg(object)
        .output()
        .map_err(|e| format!("error: cannot run `{}`: {e}\n", clang.command))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text += &format!("error: could not compile `{}` (clang {} failed)\n", source.display(), clang.version);
    Err(text)
}

/// A scratch path for the object of `source` (removed by the caller).
pub fn scratch_object(source: &Path) -> PathBuf {
    let stem = source.file_stem().map_or("module".into(), |s| s.to_string_lossy().into_owned());
    std::env::temp_dir().join(format!("modc-{}-{stem}.o", std::process::id()))
}
