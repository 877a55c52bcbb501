//! `book/src/generated/`: outputs of real `modc` runs that the book
//! includes, so what a reader sees is what the tools print today.
//!
//! | source | command | output |
//! |---|---|---|
//! | `book/src/examples/verifier/NAME.s` (assembly with the `; module:`/`; map:`/`; entry:` directives of `tests/bogus`) | built into an image with a line table, then `modc check --log NAME.log IMAGE` | `generated/verifier/NAME.txt` (what `modc check` prints) and `NAME.log` (the verifier's state before each instruction) |
//! | the images of `book/src/examples/verifier/*.s`, the lab skeleton `labs/fixme/fixme.wm` | `modc explain -o PAGE FILE` | `generated/explorer/NAME.html` (the explorer pages the verifier chapter and Lab 5 link) |
//! | `book/src/examples/*.wm`, the lab skeletons `labs/*/*.wm` | `modc check FILE` | `generated/check/NAME.txt` |
//! | `modules/NAME.wm` for NAME in [`DISASM`] | `modc disasm FILE` | `generated/disasm/NAME.txt` |
//! | `book/src/examples/jit/NAME.s` | `cargo run -p jit --features disasm --example listing -- FILE [--blind]` | `generated/jit/NAME.txt`, `NAME-blinded.txt` |
//! | `docs/data/bench-SUITE.csv` (from `cargo xtask bench`) | read as it is | `generated/perf/bench.txt` (tables, included by the Performance chapter) and `bench-SUITE.svg` charts; for the JIT, `bench-jit-summary.txt` and `.svg` ([`crate::bench::jit_summary`]) |
//! | `modules/*.wm` | `modc check -v FILE` | `generated/perf/verifier-cost.txt`, and the chart drawn from it, `verifier-cost.svg` ([`crate::charts`]) |
//! | `lkm/src/ctx.rs`, `lkm/src/class.rs` | read as a library | `generated/ctx.md` (the context fields of every class, [`super::ctx_tables`]) and the same tables in `docs/lkm.md` |
//!
//! `cargo xtask book --generate` rewrites them; the `book` test stage fails
//! when one differs from what the tools print now.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, XtaskError, kernel};

/// The example modules whose listing the book shows.
const DISASM: &[&str] = &["hello"];

/// The labs whose skeleton's explorer page the book links.
const EXPLAINED_LABS: &[&str] = &["fixme"];

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
        // The image by its path from the root, so that what `modc check` prints is the same on every machine.
        let image_rel = super::display(&image);
        let printed = run(&modc, &["check".as_ref(), "--log".as_ref(), log.as_os_str(), image_rel.as_ref()])?;
        files.push((out.join(format!("verifier/{stem}.txt")), printed));
        files.push((out.join(format!("verifier/{stem}.log")), std::fs::read_to_string(&log)?));
        files.push((out.join(format!("explorer/{stem}.html")), explain(&modc, &image_rel, &scratch.join(format!("{stem}.html")))?));
    }
    for lab in EXPLAINED_LABS {
        let file = format!("labs/{lab}/{lab}.wm");
        files.push((out.join(format!("explorer/{lab}.html")), explain(&modc, &file, &scratch.join(format!("{lab}.html")))?));
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
    let (bench_md, perf_files) = bench_section(&root.join("docs/data"))?;
    files.push((out.join("perf/bench.txt"), bench_md));
    for (name, text) in perf_files {
        files.push((out.join(format!("perf/{name}")), text));
    }
    let chart = crate::charts::bars("Verifying the example modules", "instructions processed by the verifier", &cost_rows(&cost));
    files.push((out.join("perf/verifier-cost.txt"), cost));
    files.push((out.join("perf/verifier-cost.svg"), chart));
    files.push((out.join("ctx.md"), super::ctx_tables::markdown()));
    let doc = root.join("docs/lkm.md");
    let spliced = super::ctx_tables::splice(&std::fs::read_to_string(&doc)?).ok_or_else(|| {
        XtaskError::new("docs/lkm.md has lost the marker lines around its context tables").with_help(format!(
            "put back `{}` and `{}` where the tables go",
            super::ctx_tables::BEGIN,
            super::ctx_tables::END
        ))
    })?;
    files.push((doc, spliced));
    Ok(files)
}

/// The Performance chapter's benchmark section (Markdown, included by
/// `performance.md`) and the files beside it, `(name, text)`: one chart a
/// suite, and the JIT's summary (table and chart), from the committed
/// `docs/data/bench-SUITE.csv` files that `cargo xtask bench` writes
/// (columns `group,benchmark,time_ns,low_ns,high_ns,elements,median_ns,ratio`).
/// A row's time is its median where the suite measures one, else
/// criterion's estimate: the statistic its ratio was computed from.
fn bench_section(data: &Path) -> Result<(String, Vec<(String, String)>)> {
    let files: Vec<PathBuf> = sorted(data, "csv")
        .unwrap_or_default()
        .into_iter()
        .filter(|p| stem(p).starts_with("bench-") && stem(p) != "bench-runs")
        .collect();
    if files.is_empty() {
        return Ok(("No benchmark results are committed yet: `cargo xtask bench` writes them to `docs/data/`.\n".into(), Vec::new()));
    }
    let mut md = String::new();
    let mut beside = Vec::new();
    for path in files {
        let suite = stem(&path).trim_start_matches("bench-").to_string();
        let text = std::fs::read_to_string(&path)?;
        let mut bars = Vec::new();
        md += &format!("### {suite}\n\nFrom [`docs/data/bench-{suite}.csv`](../../docs/data/bench-{suite}.csv), written by `cargo xtask bench {suite}`:\n\n");
        md += "| group | benchmark | time | ratio |\n|---|---|---:|---:|\n";
        for line in text.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let number = |i: usize| cells.get(i).and_then(|m| m.parse::<f64>().ok());
            let (Some(group), Some(bench), Some(time)) = (cells.first(), cells.get(1), number(6).or(number(2))) else {
                continue;
            };
            let ratio = cells.get(7).copied().unwrap_or("");
            md += &format!("| {group} | {bench} | {} | {ratio} |\n", nanos(time));
            bars.push(crate::charts::Bar { label: format!("{group}/{bench}"), value: time.round() as u64 });
        }
        let name = format!("bench-{suite}.svg");
        md += &format!("\n![{suite} benchmarks, time](generated/perf/{name})\n\n");
        beside.push((name, crate::charts::bars(&format!("Benchmarks: {suite}"), "time, ns", &bars)));
        if let Some((summary, chart)) = (suite == "jit").then(|| crate::bench::jit_summary(&text)).flatten() {
            beside.push(("bench-jit-summary.txt".into(), summary));
            beside.push(("bench-jit-summary.svg".into(), chart));
        }
    }
    Ok((md, beside))
}

fn nanos(ns: f64) -> String {
    match ns {
        t if t < 1e3 => format!("{t:.1} ns"),
        t if t < 1e6 => format!("{:.2} µs", t / 1e3),
        t if t < 1e9 => format!("{:.2} ms", t / 1e6),
        t => format!("{:.2} s", t / 1e9),
    }
}

/// `MODULE/ENTRY` and instructions processed, from `modc check -v` output
/// (`lookup: 48 instructions in 48 slots (...); the verifier processed 48
/// instructions (...) and stored 8 states`) under `# FILE` lines.
pub fn cost_rows(text: &str) -> Vec<crate::charts::Bar> {
    let mut module = String::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(file) = line.strip_prefix("# ") {
            module = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        } else if let Some((entry, rest)) = line.split_once(": ") {
            let processed = rest.split_once("the verifier processed ").and_then(|(_, n)| n.split(' ').next()?.parse().ok());
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
        .map(|(path, _)| format!("error: {} is not what the tools print now", super::display(path)))
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
pub fn build_modc() -> Result<PathBuf> {
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

/// The explorer page `modc explain` writes for `file` (a path from the
/// repository root), by way of `scratch`.
fn explain(modc: &Path, file: &str, scratch: &Path) -> Result<String> {
    let printed = run(modc, &["explain".as_ref(), "-o".as_ref(), scratch.as_os_str(), file.as_ref()])?;
    std::fs::read_to_string(scratch).map_err(|e| XtaskError::new(format!("modc explain {file} wrote no page ({e}): {printed}")))
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
    fn bench_section_makes_a_table_and_a_chart_per_suite() {
        let dir = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (md, charts) = bench_section(&dir).unwrap();
        assert!(md.contains("No benchmark results"), "{md}");
        assert!(charts.is_empty());
        std::fs::write(dir.join("bench-jit.csv"), "group,benchmark,time_ns,low_ns,high_ns,elements,median_ns,ratio\nsum,native,1500.0,1400.0,1600.0,,,1.000\nsum,vm,45000.0,44000.0,46000.0,,,30.000\nxor,native,900.0,1,1,,1000.0,1.000\nxor,jit,1500.0,1,1,,1200.0,1.200\nxor,jit_fuel_blinded,1500.0,1,1,,1500.0,1.500\n").unwrap();
        std::fs::write(dir.join("bench-runs.csv"), "suite,when\njit,now\n").unwrap();
        let (md, charts) = bench_section(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(md.contains("| sum | vm | 45.00 µs | 30.000 |"), "{md}");
        // The median where there is one: the time the ratio was computed from.
        assert!(md.contains("| xor | jit | 1.20 µs | 1.200 |"), "{md}");
        let names: Vec<&str> = charts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bench-jit.svg", "bench-jit-summary.txt", "bench-jit-summary.svg"]);
        assert_eq!(charts[0].1.matches("<rect").count(), 5);
        assert!(charts[1].1.contains("| the plain JIT / native Rust | 1.20 |"), "{}", charts[1].1);
    }

    #[test]
    fn cost_rows_read_modc_check_verbose_output() {
        let text = "# modules/kvfs.wm\nlookup: 48 instructions in 48 slots (a slot is 8 bytes); the verifier processed 48 instructions (each one once on every path it followed) and stored 8 states\n\
            checked modules/kvfs.wm: 1 program (lookup), 48 instructions; the verifier accepts every program\n\
            # modules/hello.wm\nload: 9 instructions in 10 slots (a slot is 8 bytes); the verifier processed 9 instructions (each one once on every path it followed) and stored 1 states\n";
        let rows = cost_rows(text);
        let got: Vec<(String, u64)> = rows.into_iter().map(|b| (b.label, b.value)).collect();
        assert_eq!(got, vec![("kvfs/lookup".to_string(), 48), ("hello/load".to_string(), 9)]);
    }
}
