//! `book/src/generated/`: outputs of real `modc` runs that the book
//! includes, so what a reader sees is what the tools print today.
//!
//! | source | command | output |
//! |---|---|---|
//! | `book/src/examples/verifier/NAME.s` (assembly with the `; module:`/`; map:`/`; entry:` directives of `tests/bogus`) | built into an image with a line table, then `modc check --log NAME.log IMAGE` | `generated/verifier/NAME.txt` (what `modc check` prints) and `NAME.log` (the verifier's state before each instruction) |
//! | `book/src/examples/*.wm`, the lab skeletons `labs/*/*.wm` | `modc check FILE` | `generated/check/NAME.txt` |
//! | `modules/NAME.wm` for NAME in [`DISASM`] | `modc disasm FILE` | `generated/disasm/NAME.txt` |
//! | `book/src/examples/jit/NAME.s` | `cargo run -p jit --features disasm --example listing -- FILE [--blind]` | `generated/jit/NAME.txt`, `NAME-blinded.txt` |
//! | `modules/*.wm` | `modc check -v FILE` | `generated/perf/verifier-cost.txt`, and the chart drawn from it, `verifier-cost.svg` ([`crate::charts`]) |
//!
//! `cargo xtask book --generate` rewrites them; the `book` test stage fails
//! when one differs from what the tools print now.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, XtaskError, kernel};

/// The example modules whose listing the book shows.
const DISASM: &[&str] = &["hello"];

/// Every generated file with its up-to-date content.
pub fn produce() -> Result<Vec<(PathBuf, String)>> {
    let modc = build_modc()?;
    let root = kernel::root();
    let src = super::src_dir();
    let out = src.join("generated");
    let scratch = kernel::target_dir().join("book");
    std::fs::create_dir_all(&scratch)?;
    let mut files = Vec::new();
    for source in sorted(&src.join("examples/verifier"), "s")? {
        let stem = stem(&source);
        let rel = super::display(&source);
        let text = std::fs::read_to_string(&source)?;
        let mut bogus = crate::bogus::parse(&format!("{stem}.s"), &text).map_err(XtaskError::new)?;
        if let Some(lines) = bogus.image.lines.as_mut() {
            lines.source = rel.clone();
        }
        let image = scratch.join(format!("{stem}.lkm"));
        let log = scratch.join(format!("{stem}.log"));
        std::fs::write(&image, bogus.image.to_bytes())?;
        let printed = run(&modc, &["check".as_ref(), "--log".as_ref(), log.as_os_str(), image.as_os_str()])?;
        files.push((out.join(format!("verifier/{stem}.txt")), printed));
        files.push((out.join(format!("verifier/{stem}.log")), std::fs::read_to_string(&log)?));
    }
    for source in sorted(&src.join("examples/jit"), "s")? {
        let rel = super::display(&source);
        for (suffix, extra) in [("", None), ("-blinded", Some("--blind"))] {
            let listing = jit_listing(&rel, extra)?;
            files.push((out.join(format!("jit/{}{suffix}.txt", stem(&source))), listing));
        }
    }
    for source in sorted(&src.join("examples"), "wm")? {
        let rel = super::display(&source);
        files.push((out.join(format!("check/{}.txt", stem(&source))), run(&modc, &["check".as_ref(), rel.as_ref()])?));
    }
    for lab in sorted_dirs(&root.join("labs"))? {
        for source in sorted(&lab, "wm")? {
            let rel = super::display(&source);
            files.push((out.join(format!("check/{}.txt", stem(&source))), run(&modc, &["check".as_ref(), rel.as_ref()])?));
        }
    }
    let mut cost = String::new();
    for source in sorted(&root.join("modules"), "wm")? {
        let rel = super::display(&source);
        if DISASM.contains(&stem(&source).as_str()) {
            files.push((out.join(format!("disasm/{}.txt", stem(&source))), run(&modc, &["disasm".as_ref(), rel.as_ref()])?));
        }
        cost += &format!("# {rel}\n{}", run(&modc, &["check".as_ref(), "-v".as_ref(), rel.as_ref()])?);
    }
    let chart = crate::charts::bars("Verifying the example modules", "instructions processed by the verifier", &cost_rows(&cost));
    files.push((out.join("perf/verifier-cost.txt"), cost));
    files.push((out.join("perf/verifier-cost.svg"), chart));
    Ok(files)
}

/// `MODULE/ENTRY` and instructions processed, from `modc check -v` output
/// (`lookup: 48 slots, 48 instructions processed, ...`) under `# FILE` lines.
pub fn cost_rows(text: &str) -> Vec<crate::charts::Bar> {
    let mut module = String::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(file) = line.strip_prefix("# ") {
            module = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        } else if let Some((entry, rest)) = line.split_once(": ") {
            let processed = rest.split(", ").find_map(|p| p.strip_suffix(" instructions processed")?.parse().ok());
            if let Some(value) = processed {
                rows.push(crate::charts::Bar { label: format!("{module}/{entry}"), value });
            }
        }
    }
    rows
}

/// `Ok` when every generated file is current, else the stale ones.
pub fn check() -> std::result::Result<String, String> {
    let files = produce().map_err(|e| e.to_string())?;
    let stale: Vec<String> = files
        .iter()
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()))
        .map(|(path, _)| format!("error: {} is not what modc prints now", super::display(path)))
        .collect();
    if stale.is_empty() {
        Ok(format!("{} files", files.len()))
    } else {
        Err(format!("{}\nhelp: run `cargo xtask book --generate` and commit the result", stale.join("\n")))
    }
}

/// What the JIT's listing example prints for an assembly file:
/// `cargo run -p jit --features disasm --example listing -- FILE [--blind]`.
fn jit_listing(file: &str, extra: Option<&str>) -> Result<String> {
    let out = kernel::cargo()
        .args(["run", "--quiet", "--package", "jit", "--features", "disasm", "--example", "listing", "--", file])
        .args(extra)
        .output()
        .map_err(|e| XtaskError::new(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(XtaskError::new(format!("the JIT listing of {file} failed:\n{}", String::from_utf8_lossy(&out.stderr))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds `modc` into xtask's target directory; its path.
fn build_modc() -> Result<PathBuf> {
    let status = kernel::cargo()
        .args(["build", "--quiet", "--package", "modc", "--bin", "modc"])
        .status()
        .map_err(|e| XtaskError::new(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(XtaskError::new("modc did not build (see cargo's messages above)"));
    }
    Ok(kernel::target_dir().join("debug").join("modc"))
}

/// What `modc ARGS` prints (standard output, then standard error), run
/// from the repository root, with its exit status if it failed.
fn run(modc: &Path, args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new(modc)
        .args(args)
        .current_dir(kernel::root())
        .output()
        .map_err(|e| XtaskError::new(format!("cannot run {}: {e}", modc.display())))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(text)
}

fn sorted(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| XtaskError::new(format!("cannot list {}: {e}", super::display(dir))))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    Ok(files)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| XtaskError::new(format!("cannot list {}: {e}", super::display(dir))))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rows_read_modc_check_verbose_output() {
        let text = "# modules/kvfs.wm\nlookup: 48 slots, 48 instructions processed, 8 states stored\n# modules/hello.wm\nload: 10 slots, 9 instructions processed, 1 states stored\n";
        let rows = cost_rows(text);
        let got: Vec<(String, u64)> = rows.into_iter().map(|b| (b.label, b.value)).collect();
        assert_eq!(got, vec![("kvfs/lookup".to_string(), 48), ("hello/load".to_string(), 9)]);
    }
}
