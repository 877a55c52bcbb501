//! `wverify`: the verifier on raw bytecode, for external corpora.
//!
//! ```text
//! wverify FILE [--ctx-size N] [--ctx-writable] [--map SPEC]... [--pre FACTS]...
//!              [--insns N] [-v]
//! ```
//!
//! FILE holds raw 8-byte little-endian instructions. The profile is simple:
//! a context of N bytes (default 0) that is one readable buffer (writable
//! with `--ctx-writable`), the maps given by `--map array:VALUE:MAX` or
//! `--map hash:KEY:VALUE:MAX` (numbered in order), and a generic helper set
//! with the ids of Warden's `lkm` table (1 log, 2 ktime_ns, 3 get_pid,
//! 4 get_uid, 5 random_u32, 6 map_lookup, 7 map_update, 8 map_delete,
//! 9 emit). `--pre 'r2: scalar in [0, 10]'` states entry facts instead of
//! `r1: ctx`. Prints `accept` or `reject: <kind> at <insn>: <reason>`;
//! `-v` adds the full report and the analysis log. Exit status: 0 accept,
//! 1 reject, 2 usage or input error.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use verifier::{facts, ArgKind, CtxField, CtxLayout, Entry, HelperSig, Limits, MapInfo, Profile, RetKind};

const USAGE: &str = "usage: wverify FILE [--ctx-size N] [--ctx-writable] [--map array:VALUE:MAX|hash:KEY:VALUE:MAX]... [--pre FACTS]... [--insns N] [-v]";

/// The generic helper set, with the ids and signatures of the `lkm` table.
fn generic_helpers() -> Vec<HelperSig> {
    use ArgKind::*;
    let len0 = Len { allow_zero: true };
    let u32_ret = RetKind::Bounded { min: 0, max: 0xffff_ffff };
    vec![
        HelperSig::new(1, "log", &[MemRead, len0, Scalar, Scalar], RetKind::Scalar),
        HelperSig::new(2, "ktime_ns", &[], RetKind::Scalar),
        HelperSig::new(3, "get_pid", &[], u32_ret),
        HelperSig::new(4, "get_uid", &[], u32_ret),
        HelperSig::new(5, "random_u32", &[], u32_ret),
        HelperSig::new(6, "map_lookup", &[MapRef, MapKey], RetKind::MapValueOrNull),
        HelperSig::new(7, "map_update", &[MapRef, MapKey, MapValue, Scalar], RetKind::Scalar),
        HelperSig::new(8, "map_delete", &[MapRef, MapKey], RetKind::Scalar),
        HelperSig::new(9, "emit", &[MemRead, len0], RetKind::Scalar),
    ]
}

struct Args {
    file: String,
    ctx_size: u32,
    ctx_writable: bool,
    maps: Vec<MapInfo>,
    pre: Vec<String>,
    insns: Option<u64>,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut a = Args { file: String::new(), ctx_size: 0, ctx_writable: false, maps: Vec::new(), pre: Vec::new(), insns: None, verbose: false };
    let number = |v: Option<String>, what: &str| -> Result<u64, String> {
        let v = v.ok_or_else(|| format!("{what} needs a value"))?;
        facts::parse_int(&v).and_then(|n| u64::try_from(n).ok()).ok_or_else(|| format!("{what}: `{v}` is not a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ctx-size" => a.ctx_size = number(args.next(), "--ctx-size")? as u32,
            "--ctx-writable" => a.ctx_writable = true,
            "--insns" => a.insns = Some(number(args.next(), "--insns")?),
            "--pre" => a.pre.push(args.next().ok_or("--pre needs facts")?),
            "--map" => {
                let spec = args.next().ok_or("--map needs a spec")?;
                let parts: Vec<u32> = spec.split(':').skip(1).map(|p| p.parse().unwrap_or(0)).collect();
                a.maps.push(match (spec.split(':').next(), &parts[..]) {
                    (Some("array"), [v, m]) => MapInfo::array(*v, *m),
                    (Some("hash"), [k, v, m]) => MapInfo::hash(*k, *v, *m),
                    _ => return Err(format!("bad map spec `{spec}`")),
                });
            }
            "-v" | "--verbose" => a.verbose = true,
            "-h" | "--help" => return Err(String::new()),
            f if !f.starts_with('-') && a.file.is_empty() => a.file = f.to_string(),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if a.file.is_empty() {
        return Err("no input file".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let program = match verifier::decode(&bytes) {
        Ok(p) => p,
        Err(e) => {
            println!("reject: decode: {e}");
            return ExitCode::from(1);
        }
    };
    let mut ctx = CtxLayout::new(args.ctx_size);
    if args.ctx_size > 0 {
        ctx = ctx.with_field(CtxField::buffer("ctx", 0, args.ctx_size).access(true, args.ctx_writable));
    }
    let mut profile = Profile::new().with_ctx(ctx);
    profile.helpers = generic_helpers();
    profile.maps = args.maps;
    if let Some(n) = args.insns {
        profile.limits = Limits { max_insns_processed: n, ..Limits::DEFAULT };
    }
    let mut entry = Entry::default();
    for p in &args.pre {
        match facts::parse(p) {
            Ok(f) => entry.regs.extend(f),
            Err(e) => {
                eprintln!("error: --pre: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut log = String::new();
    let result = verifier::verify_with(&program, &profile, &entry, args.verbose.then_some(&mut log));
    if args.verbose {
        print!("{log}");
    }
    match result {
        Ok(v) => {
            println!("accept");
            if args.verbose {
                let s = v.stats();
                println!("processed {} insns, stored {} states, pruned {}", s.insns_processed, s.states_stored, s.states_pruned);
            }
            ExitCode::SUCCESS
        }
        Err(r) => {
            println!("reject: {} at {}: {}", r.kind, r.pc, r.reason);
            if args.verbose {
                println!("{r}");
            }
            ExitCode::from(1)
        }
    }
}
