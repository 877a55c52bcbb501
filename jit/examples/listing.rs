//! Prints the x86-64 code the JIT makes of a program, interleaved with the
//! bytecode:
//!
//! ```text
//! cargo run -p jit --features disasm --example listing -- prog.s [MEM_BYTES] [--blind]
//! ```
//!
//! `prog.s` is Warden assembly (either dialect). The program is verified
//! with r1 pointing to MEM_BYTES writable bytes (default 0: no memory), r2
//! holding that length, and helper 5 (scalar to scalar) available.

use std::process::ExitCode;
use verifier::state::{Region, Value};
use verifier::{ArgKind, Entry, HelperSig, Profile, Reg, RetKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: listing PROGRAM.s [MEM_BYTES] [--blind]");
        return ExitCode::from(2);
    };
    let len: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let blind = args.iter().any(|a| a == "--blind");
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let program = match verifier::assemble(&text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let profile = Profile::new().with_helper(HelperSig::new(5, "identity", &[ArgKind::Scalar], RetKind::Scalar));
    let r1 = if len == 0 { Value::constant(0) } else { Value::ptr(Region::Mem { size: len, writable: true }, 0) };
    let entry = Entry { regs: vec![(Reg::R1, r1), (Reg::R2, Value::constant(len as u64))] };
    let verified = match verifier::verify_with(&program, &profile, &entry, None) {
        Ok(v) => v,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    // The listing shows helper calls relative to a nominal address.
    let helper = |id: u32| (id == 5).then_some(0xffff_ffff_8010_0000u64);
    let mut opts = jit::JitOptions::new(0xffff_ffff_c000_0000);
    opts.helper_address = &helper;
    opts.blinding = blind.then_some(0x5eed);
    match jit::compile(&verified, &opts) {
        Ok(out) => {
            print!("{}", jit::listing::listing(verified.program(), &out));
            println!("; {} bytes of code for {} slots", out.size(), program.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
