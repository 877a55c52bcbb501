//! `cargo xtask bench [verifier|jit|modc|all]`: runs the criterion
//! benchmarks and collects their results into the committed data files
//! that docs/performance.md and the book's charts are drawn from.
//!
//! 1. [`Suite`] names each crate's benchmark (`cargo bench -p CRATE
//!    --bench NAME`) and the file its results go to, `docs/data/bench-SUITE.csv`.
//! 2. After the run, [`collect`] reads every result criterion wrote during
//!    it (`target/criterion/**/new/{benchmark,estimates}.json` newer than
//!    the start of the run, so older results of other suites are left out).
//! 3. The JIT benchmark also prints a table of CPU times, medians of
//!    interleaved rounds (`target/criterion/warden-jit-table.md`);
//!    [`median_times`] reads it, and ratios use those times where present
//!    (the book shows the same medians beside them).
//! 4. [`to_csv`] writes one row per benchmark; `docs/data/bench-runs.csv`
//!    keeps when each suite last ran, under what load, with which options.
//! 5. For the JIT, [`jit_summary`] prints the geometric means of the key
//!    ratios; the book draws its summary table and chart with it.
//!
//! The CSV format is described in docs/performance.md ("Data files").

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Args;

use crate::{Result, XtaskError, kernel};

#[derive(Args)]
pub struct BenchArgs {
    /// Which benchmarks to run
    #[arg(default_value = "all", value_parser = ["verifier", "jit", "modc", "all"])]
    suite: String,
    /// Options for criterion, after `--` (e.g. `-- --quick`, or `-- --warm-up-time 0.2 --measurement-time 0.5`)
    #[arg(last = true)]
    criterion_args: Vec<String>,
}

/// One crate's criterion benchmark.
struct Suite {
    name: &'static str,
    package: &'static str,
    bench: &'static str,
    /// The benchmark of each group the others are compared with.
    baseline: Option<&'static str>,
    /// A table of median times the benchmark writes into the criterion
    /// directory ([`parse_median_table`]).
    median_table: Option<&'static str>,
}

const SUITES: [Suite; 3] = [
    Suite { name: "verifier", package: "verifier", bench: "verify", baseline: None, median_table: None },
    Suite { name: "jit", package: "jit", bench: "jit", baseline: Some("native"), median_table: Some("warden-jit-table.md") },
    Suite { name: "modc", package: "modc", bench: "compile", baseline: None, median_table: None },
];

/// One benchmark's result: a row of the data file.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    group: String,
    benchmark: String,
    /// Criterion's estimate of the time per iteration (the one it prints)
    /// and its 95% confidence interval, in nanoseconds.
    time_ns: f64,
    low_ns: f64,
    high_ns: f64,
    /// Elements processed per iteration, when the benchmark declares a throughput.
    elements: Option<u64>,
    /// Median CPU time of interleaved rounds, when the benchmark reports one.
    median_ns: Option<f64>,
    /// Time relative to the group's baseline benchmark.
    ratio: Option<f64>,
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let criterion_dir = kernel::target_dir().join("criterion");
    for suite in SUITES.iter().filter(|s| args.suite == "all" || args.suite == s.name) {
        println!("\n==== bench {} ====", suite.name);
        let load_before = load_average();
        let started = SystemTime::now();
        let status = kernel::cargo()
            .args(["bench", "--package", suite.package, "--bench", suite.bench, "--"])
            .args(&args.criterion_args)
            .status()
            .map_err(|e| XtaskError::new(format!("cannot run cargo bench: {e}")))?;
        if !status.success() {
            return Err(XtaskError::new(format!("the `{}` benchmark failed (see its output above)", suite.name)));
        }
        let medians = suite.median_table.map_or_else(BTreeMap::new, |table| median_times(&criterion_dir.join(table), started));
        let rows = collect(&criterion_dir, started, suite.baseline, &medians)?;
        if rows.is_empty() {
            return Err(XtaskError::new(format!("the `{}` benchmark wrote no results to {}", suite.name, criterion_dir.display()))
                .with_help("criterion's `--test` and `--list` modes measure nothing; run without them"));
        }
        let path = data_dir().join(format!("bench-{}.csv", suite.name));
        write(&path, &to_csv(&rows))?;
        let options = args.criterion_args.join(" ").replace(',', ";");
        let run = format!("{},{},{},{},{options}", suite.name, utc_now(), load_before, load_average());
        record_run(suite.name, &run)?;
        println!("{}", summary(&rows));
        if let Some((ratios, _)) = (suite.name == "jit").then(|| jit_summary(&to_csv(&rows))).flatten() {
            println!("{ratios}");
        }
        println!("wrote {} ({} benchmarks)", crate::book::display(&path), rows.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `docs/data/`.
fn data_dir() -> PathBuf {
    kernel::root().join("docs/data")
}

/// The results criterion wrote under `dir` since `since`, sorted by group
/// and benchmark, with ratios against `baseline` in each group.
fn collect(dir: &Path, since: SystemTime, baseline: Option<&str>, medians: &BTreeMap<(String, String), f64>) -> Result<Vec<Row>> {
    let mut found = Vec::new();
    crate::book::walk(dir, &mut |path| {
        if path.ends_with("new/estimates.json")
            && std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|t| t >= since)
        {
            found.push(path.to_path_buf());
        }
    });
    let mut rows = Vec::new();
    for estimates in found {
        let benchmark = estimates.with_file_name("benchmark.json");
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| XtaskError::new(format!("cannot read {}: {e}", p.display())));
        let mut row = parse_result(&read(&benchmark)?, &read(&estimates)?)
            .map_err(|why| XtaskError::new(format!("{}: {why}", estimates.display())))?;
        row.median_ns = medians.get(&(row.group.clone(), row.benchmark.clone())).copied();
        rows.push(row);
    }
    rows.sort_by(|a, b| (&a.group, &a.benchmark).cmp(&(&b.group, &b.benchmark)));
    if let Some(baseline) = baseline {
        add_ratios(&mut rows, baseline);
    }
    Ok(rows)
}

/// A row from criterion's `benchmark.json` (names, throughput) and
/// `estimates.json`: the estimate criterion prints, the slope of time over
/// iterations when it sampled linearly, else the mean. A benchmark named
/// `a/b` outside any group (`c.bench_function("a/b", ..)`) becomes group
/// `a`, benchmark `b`.
fn parse_result(benchmark: &str, estimates: &str) -> std::result::Result<Row, String> {
    let b: serde_json::Value = serde_json::from_str(benchmark).map_err(|e| format!("benchmark.json: {e}"))?;
    let e: serde_json::Value = serde_json::from_str(estimates).map_err(|e| format!("estimates.json: {e}"))?;
    let group_id = b["group_id"].as_str().ok_or("benchmark.json has no group_id")?;
    let function = [&b["function_id"], &b["value_str"]].iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join("/");
    let (group, benchmark) = match group_id.split_once('/') {
        Some((g, rest)) if function.is_empty() => (g.to_string(), rest.to_string()),
        _ => (group_id.to_string(), function),
    };
    let estimate = if e["slope"].is_object() { &e["slope"] } else { &e["mean"] };
    let number = |v: &serde_json::Value, what: &str| v.as_f64().ok_or(format!("estimates.json has no {what}"));
    Ok(Row {
        group,
        benchmark,
        time_ns: number(&estimate["point_estimate"], "mean or slope")?,
        low_ns: number(&estimate["confidence_interval"]["lower_bound"], "lower bound")?,
        high_ns: number(&estimate["confidence_interval"]["upper_bound"], "upper bound")?,
        elements: b["throughput"]["Elements"].as_u64(),
        median_ns: None,
        ratio: None,
    })
}

/// Each row's time over the time of its group's `baseline` row: medians
/// where both have one, criterion's estimates otherwise.
fn add_ratios(rows: &mut [Row], baseline: &str) {
    let bases: BTreeMap<String, Row> =
        rows.iter().filter(|r| r.benchmark == baseline).map(|r| (r.group.clone(), r.clone())).collect();
    for row in rows.iter_mut() {
        let Some(base) = bases.get(&row.group) else { continue };
        row.ratio = Some(match (row.median_ns, base.median_ns) {
            (Some(t), Some(b)) if b > 0.0 => t / b,
            _ => row.time_ns / base.time_ns,
        });
    }
}

/// The median times of the table at `path`, `(program, engine) -> ns`, if
/// it was written during this run.
fn median_times(path: &Path, since: SystemTime) -> BTreeMap<(String, String), f64> {
    let fresh = std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|t| t >= since);
    match std::fs::read_to_string(path) {
        Ok(text) if fresh => parse_median_table(&text),
        _ => {
            println!("note: no {} from this run; ratios use criterion's estimates", path.display());
            BTreeMap::new()
        }
    }
}

/// Reads the first Markdown table of `text` whose header starts with
/// `| program |`: one row per program, one column per engine, µs (columns
/// of ratios, `a / b`, are left out).
fn parse_median_table(text: &str) -> BTreeMap<(String, String), f64> {
    let cells = |line: &str| -> Vec<String> { line.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect() };
    let mut out = BTreeMap::new();
    let mut lines = text.lines().skip_while(|l| !l.trim_start().starts_with("| program |"));
    let Some(header) = lines.next() else { return out };
    let engines = cells(header);
    for line in lines.skip(1).take_while(|l| l.trim_start().starts_with('|')) {
        let row = cells(line);
        for (engine, cell) in engines.iter().zip(&row).skip(1).filter(|(engine, _)| !engine.contains(" / ")) {
            if let Ok(us) = cell.parse::<f64>() {
                out.insert((row[0].clone(), engine.clone()), us * 1000.0);
            }
        }
    }
    out
}

/// The JIT suite's summary ratios: what, numerator, denominator. The
/// kernel runs `jit_fuel_blinded` (constant blinding and fuel metering).
const JIT_RATIOS: [(&str, &str, &str); 6] = [
    ("the kernel's JIT (blinded, metered) / native Rust", "jit_fuel_blinded", "native"),
    ("the plain JIT / native Rust", "jit", "native"),
    ("blinding and fuel / the plain JIT", "jit_fuel_blinded", "jit"),
    ("the interpreter (`vm`) / the kernel's JIT", "vm", "jit_fuel_blinded"),
    ("rbpf's JIT / the plain JIT", "rbpf_jit", "jit"),
    ("rbpf's interpreter / the plain JIT", "rbpf_interp", "jit"),
];

/// The summary of `docs/data/bench-jit.csv` that leads the Performance
/// chapter: a Markdown table of the geometric means of [`JIT_RATIOS`] over
/// the programs (with the smallest and largest), and a chart of the
/// kernel's JIT over native Rust per program. Every ratio is a ratio of
/// the medians of the data file (`median_ns`); `None` without them.
pub fn jit_summary(csv: &str) -> Option<(String, String)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (group, benchmark, median) = (column("group")?, column("benchmark")?, column("median_ns")?);
    let mut programs: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if let (Some(g), Some(b), Some(Ok(ns))) = (cells.get(group), cells.get(benchmark), cells.get(median).map(|c| c.parse::<f64>())) {
            programs.entry(g).or_default().insert(b, ns);
        }
    }
    let ratio = |times: &BTreeMap<&str, f64>, num: &str, den: &str| match (times.get(num), times.get(den)) {
        (Some(n), Some(d)) if *d > 0.0 => Some(n / d),
        _ => None,
    };
    let mut md = String::from("| ratio of median CPU times | geometric mean | smallest | largest | programs |\n|---|---:|---:|---:|---:|\n");
    for (what, num, den) in JIT_RATIOS {
        let found: Vec<(f64, &str)> = programs.iter().filter_map(|(p, t)| Some((ratio(t, num, den)?, *p))).collect();
        let (Some(low), Some(high)) = (
            found.iter().min_by(|a, b| a.0.total_cmp(&b.0)),
            found.iter().max_by(|a, b| a.0.total_cmp(&b.0)),
        ) else {
            continue;
        };
        let mean = (found.iter().map(|(r, _)| r.ln()).sum::<f64>() / found.len() as f64).exp();
        let _ = writeln!(md, "| {what} | {mean:.2} | {:.2} ({}) | {:.2} ({}) | {} |", low.0, low.1, high.0, high.1, found.len());
    }
    let bars: Vec<crate::charts::Ratio> = programs
        .iter()
        .filter_map(|(p, t)| Some(crate::charts::Ratio { label: p.to_string(), value: ratio(t, "jit_fuel_blinded", "native")? }))
        .collect();
    (!bars.is_empty()).then(|| {
        let svg = crate::charts::ratio_bars("The kernel's JIT against native Rust", "CPU time of the blinded, metered JIT over native Rust (median of interleaved rounds)", "native", &bars);
        (md, svg)
    })
}

/// The data file: a header, then one line per row; empty cells where a
/// benchmark has no such figure.
fn to_csv(rows: &[Row]) -> String {
    let mut s = String::from("group,benchmark,time_ns,low_ns,high_ns,elements,median_ns,ratio\n");
    let opt = |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{:.1},{:.1},{:.1},{},{},{}",
            r.group,
            r.benchmark,
            r.time_ns,
            r.low_ns,
            r.high_ns,
            r.elements.map_or(String::new(), |n| n.to_string()),
            opt(r.median_ns, 1),
            opt(r.ratio, 3)
        );
    }
    s
}

/// A readable table of the rows, for the terminal (`median` and `ratio`
/// only where the suite reports medians and a baseline).
fn summary(rows: &[Row]) -> String {
    let mut s = format!("{:<24} {:<22} {:>12} {:>12} {:>12} {:>8}\n", "group", "benchmark", "time", "median", "elements/s", "ratio");
    for r in rows {
        let median = r.median_ns.map_or(String::new(), time);
        let per_second = r.elements.map_or(String::new(), |n| format!("{:.2} M", n as f64 / r.time_ns * 1e3));
        let ratio = r.ratio.map_or(String::new(), |x| format!("{x:.2}"));
        let _ = writeln!(s, "{:<24} {:<22} {:>12} {median:>12} {per_second:>12} {ratio:>8}", r.group, r.benchmark, time(r.time_ns));
    }
    s
}

fn time(ns: f64) -> String {
    match ns {
        t if t < 1e3 => format!("{t:.1} ns"),
        t if t < 1e6 => format!("{:.2} µs", t / 1e3),
        t if t < 1e9 => format!("{:.2} ms", t / 1e6),
        t => format!("{:.2} s", t / 1e9),
    }
}

/// Replaces the suite's line of `docs/data/bench-runs.csv`.
fn record_run(suite: &str, line: &str) -> Result<()> {
    let path = data_dir().join("bench-runs.csv");
    let header = "suite,finished_utc,load_before,load_after,criterion_args";
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<&str> =
        old.lines().skip(1).filter(|l| l.split(',').next() != Some(suite) && !l.is_empty()).collect();
    lines.push(line);
    lines.sort();
    write(&path, &format!("{header}\n{}\n", lines.join("\n")))
}

/// The one-minute load average (`/proc/loadavg`), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The current time as `YYYY-MM-DDTHH:MMZ`.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}Z", secs % 86_400 / 3600, secs % 3600 / 60)
}

/// The date of a day counted from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).map_err(|e| XtaskError::new(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":23688.8,"upper_bound":23903.8},"point_estimate":23801.5,"standard_error":54.9},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1}}"#;

    fn benchmark_json(group: &str, function: Option<&str>, elements: Option<u64>) -> String {
        let function = function.map_or("null".into(), |f| format!("\"{f}\""));
        let throughput = elements.map_or("null".into(), |n| format!("{{\"Elements\":{n}}}"));
        format!(r#"{{"group_id":"{group}","function_id":{function},"value_str":null,"throughput":{throughput},"full_id":"x","directory_name":"x","title":"x"}}"#)
    }

    fn estimates(mean: f64) -> String {
        ESTIMATES.replace("23801.5", &mean.to_string())
    }

    #[test]
    fn reads_criterions_files() {
        let row = parse_result(&benchmark_json("verify", Some("straight_line_4096"), Some(4096)), ESTIMATES).unwrap();
        assert_eq!(
            row,
            Row {
                group: "verify".into(),
                benchmark: "straight_line_4096".into(),
                time_ns: 23801.5,
                low_ns: 23688.8,
                high_ns: 23903.8,
                elements: Some(4096),
                median_ns: None,
                ratio: None,
            }
        );
        let ungrouped = parse_result(&benchmark_json("compile/generated-2000-lines", None, None), ESTIMATES).unwrap();
        assert_eq!((ungrouped.group.as_str(), ungrouped.benchmark.as_str()), ("compile", "generated-2000-lines"));
        let sloped = ESTIMATES.replacen('{', r#"{"slope":{"confidence_interval":{"lower_bound":9.0,"upper_bound":11.0},"point_estimate":10.0},"#, 1);
        let row = parse_result(&benchmark_json("g", Some("f"), None), &sloped).unwrap();
        assert_eq!((row.time_ns, row.low_ns, row.high_ns), (10.0, 9.0, 11.0));
        assert!(parse_result("{}", ESTIMATES).unwrap_err().contains("group_id"));
        assert!(parse_result(&benchmark_json("g", Some("f"), None), "{\"median\":{}}").unwrap_err().contains("mean"));
    }

    #[test]
    fn collects_this_runs_results_with_ratios_to_the_baseline() {
        let dir = std::env::temp_dir().join(format!("warden-bench-collect-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let put = |sub: &str, benchmark: String, estimates: String| {
            let d = dir.join(sub).join("new");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("benchmark.json"), benchmark).unwrap();
            std::fs::write(d.join("estimates.json"), estimates).unwrap();
        };
        put("stale/old", benchmark_json("stale", Some("old"), None), estimates(1.0));
        let since = SystemTime::now() + std::time::Duration::from_millis(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        put("sum/vm", benchmark_json("sum", Some("vm"), None), estimates(600.0));
        put("sum/jit", benchmark_json("sum", Some("jit"), None), estimates(20.0));
        put("sum/native", benchmark_json("sum", Some("native"), None), estimates(10.0));
        put("compile/insns_4096", benchmark_json("compile", Some("insns_4096"), Some(4096)), estimates(1e5));
        let medians: BTreeMap<_, _> = [(("sum".to_string(), "jit".to_string()), 5.0), (("sum".into(), "vm".into()), 100.0)].into();
        let rows = collect(&dir, since, Some("jit"), &medians).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<(&str, &str, Option<f64>)> = rows.iter().map(|r| (r.group.as_str(), r.benchmark.as_str(), r.ratio)).collect();
        assert_eq!(
            got,
            [("compile", "insns_4096", None), ("sum", "jit", Some(1.0)), ("sum", "native", Some(0.5)), ("sum", "vm", Some(20.0))]
        );
        let csv = to_csv(&rows);
        assert_eq!(csv.lines().next(), Some("group,benchmark,time_ns,low_ns,high_ns,elements,median_ns,ratio"));
        assert!(csv.contains("\ncompile,insns_4096,100000.0,23688.8,23903.8,4096,,\n"), "{csv}");
        assert!(csv.contains("\nsum,vm,600.0,23688.8,23903.8,,100.0,20.000\n"), "{csv}");
    }

    #[test]
    fn reads_the_jit_benchmarks_table_of_medians() {
        let table = "CPU time per run in µs (median of 101 interleaved rounds):\n\n\
                     | program | jit | vm | rbpf_jit | kernel / native |\n|---|---:|---:|---:|---:|\n\
                     | loop_sum | 3.390 | 210.846 | — | 1.25 |\n| log2_search | 0.125 | 15.613 | 0.151 | 1.10 |\n\n\
                     | ratio (geometric mean) | value | programs | goal |\n|---|---:|---:|---|\n| vm / jit | 61.96 | 11 | ≥ 20 |\n";
        let medians = parse_median_table(table);
        assert_eq!(medians.len(), 5);
        assert_eq!(medians[&("loop_sum".to_string(), "vm".to_string())], 210_846.0);
        assert!((medians[&("log2_search".to_string(), "rbpf_jit".to_string())] - 151.0).abs() < 1e-9);
        assert!(!medians.contains_key(&("loop_sum".to_string(), "rbpf_jit".to_string())));
        assert!(!medians.contains_key(&("loop_sum".to_string(), "kernel / native".to_string())));
    }

    #[test]
    fn summarises_the_jit_suite_from_medians() {
        let csv = "group,benchmark,time_ns,low_ns,high_ns,elements,median_ns,ratio\n\
                   a,jit,9.0,1,1,,100.0,\na,jit_fuel_blinded,9.0,1,1,,150.0,\na,native,9.0,1,1,,100.0,\na,vm,1,1,1,,3000.0,\n\
                   b,jit,9.0,1,1,,400.0,\nb,jit_fuel_blinded,9.0,1,1,,600.0,\nb,native,9.0,1,1,,100.0,\n\
                   compile,insns_4096,5.0,1,1,4096,,\n";
        let (md, svg) = jit_summary(csv).unwrap();
        // kernel / native: 1.5 and 6, geometric mean 3; vm only in `a`.
        assert!(md.contains("| the kernel's JIT (blinded, metered) / native Rust | 3.00 | 1.50 (a) | 6.00 (b) | 2 |"), "{md}");
        assert!(md.contains("| the plain JIT / native Rust | 2.00 | 1.00 (a) | 4.00 (b) | 2 |"), "{md}");
        assert!(md.contains("| the interpreter (`vm`) / the kernel's JIT | 20.00 | 20.00 (a) | 20.00 (a) | 1 |"), "{md}");
        assert!(!md.contains("rbpf"), "{md}");
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(jit_summary("group,benchmark,time_ns\na,jit,1.0\n").is_none());
    }

    #[test]
    fn dates_from_unix_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
