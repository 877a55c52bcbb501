//! A plugin for the public bpf_conformance runner, so that Warden is
//! measured with the same tool as the Linux kernel, uBPF, rbpf and PREVAIL.
//!
//! Protocol (as the runner and its reference plugins use it):
//!
//! ```text
//! warden-bpf-plugin [--program <hex bytes>] [<hex memory bytes>] [options]
//! ```
//!
//! * the program comes as one line of hex bytes on standard input
//!   (`b7 00 00 00 01 00 00 00 95 ...`), or after `--program`;
//! * the memory is the first argument, hex bytes separated by spaces
//!   (possibly empty); at entry r1 points to it and r2 holds its length;
//! * on success r0 is printed in hex on standard output and the exit
//!   status is 0;
//! * a refusal (bytes that do not decode, a violation while running) is
//!   printed on standard error and the exit status is 1; bad usage exits 2.
//!
//! Options (the runner passes its `--plugin_options` string as one
//! argument; it is split on spaces): `--jit` (the default: the verifier
//! under the permissive test profile, then the JIT, run natively; a
//! verifier rejection is a refusal), `--interpret` (the reference
//! interpreter in checking mode), `--plain` (the interpreter in plain mode),
//! `--debug` (print the disassembled program on standard error).

use std::io::Read;
use std::process::ExitCode;

use verifier::{decode, listing};
use vm::Config;
use warden_tests::conformance::interpret;
use warden_tests::jitrun::{jit_run, verify_for_memory};

fn main() -> ExitCode {
    match run() {
        Ok(r0) => {
            println!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}

/// Hex bytes separated by white space.
fn base16(text: &str, what: &str) -> Result<Vec<u8>, (u8, String)> {
    text.split_whitespace()
        .map(|b| {
            u8::from_str_radix(b, 16)
                .map_err(|_| (2, format!("error: {what}: `{b}` is not a hex byte")))
        })
        .collect()
}

fn run() -> Result<u64, (u8, String)> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--help") {
        return Err((
            2,
            String::from(
                "usage: warden-bpf-plugin [--program <hex bytes>] [<hex memory bytes>] [--jit|--interpret|--plain] [--debug]",
            ),
        ));
    }
    let program_text = if args.first().is_some_and(|a| a == "--program") && args.len() > 1 {
        args.remove(0);
        args.remove(0)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_to_string(&mut line)
            .map_err(|e| (2, format!("error: reading standard input: {e}")))?;
        line
    };
    let memory_text = if args.first().is_some_and(|a| !a.starts_with("--")) {
        args.remove(0)
    } else {
        String::new()
    };
    let (mut config, mut debug) = (None, false);
    for option in args.iter().flat_map(|a| a.split_whitespace()) {
        match option {
            "--jit" => config = None,
            "--interpret" => config = Some(Config::checking()),
            "--plain" => config = Some(Config::plain()),
            "--debug" => debug = true,
            other => {
                return Err((
                    2,
                    format!(
                        "error: unknown option `{other}`\n  = help: options are --jit, --interpret, --plain, --debug"
                    ),
                ));
            }
        }
    }
    let code = base16(&program_text, "program")?;
    let memory = base16(&memory_text, "memory")?;
    let program = decode(&code).map_err(|e| (1, format!("error: {e}")))?;
    if debug {
        eprint!("{}", listing(&program));
    }
    match config {
        Some(config) => interpret(&program, &memory, config).map_err(|v| (1, v.to_string())),
        None => {
            let verified =
                verify_for_memory(&program, memory.len()).map_err(|r| (1, r.to_string()))?;
            let mut memory = memory;
            jit_run(&verified, &mut memory, None).map_err(|e| (1, e))
        }
    }
}
