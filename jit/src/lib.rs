//! The Warden JIT: verified bytecode to x86-64 machine code.
//!
//! The kernel hands [`compile`] a program the verifier accepted (a
//! `verifier::Verified`, which only the verifier can make) and the facts of
//! the place it will run: the final code address, helper addresses, map
//! addresses and a blinding seed ([`JitOptions`]). It gets back the machine
//! code, the entry offset of each function and a map from instruction index
//! to native offset for fault reports ([`JitOutput`]). The crate only
//! writes bytes into a vector; making them executable (and never writable
//! at the same time) is the caller's job — [`host`] does it for tests.
//!
//! How the modules fit:
//! * [`x86`](crate::x86): the instruction encoder (REX, ModRM, SIB, ...);
//! * `regs`: which x86 register holds which BPF register;
//! * `codegen`: the passes, the frame, inlining of small callees, copies of
//!   loops' likely paths, fuel metering, and one BPF instruction at a time;
//! * `blind`: constant blinding;
//! * `options`, `error`: the interface;
//! * `host` (feature `std`): W^X executable memory on a Linux host;
//! * `listing` (feature `disasm`): bytecode interleaved with x86, for people.
//!
//! docs/jit.md explains the register mapping, the frame layout and the
//! instruction mapping in full.
#![cfg_attr(not(test), no_std)]
extern crate alloc;
#[cfg(all(feature = "std", not(test)))]
extern crate std;

mod blind;
mod codegen;
mod error;
mod options;
mod regs;
mod x86;

#[cfg(any(test, feature = "std"))]
pub mod host;
#[cfg(feature = "disasm")]
pub mod listing;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use codegen::Function;

pub use codegen::code_size_bound;
pub use error::{JitError, MAX_CODE, MAX_STACK};
pub use options::{CallMode, Fuel, FuelCounter, JitOptions, JitOutput};

/// Compiles a verified program for the place described by `opts`.
///
/// Only the verifier makes a [`verifier::Verified`], so this cannot compile
/// unverified code. The result's entry 0 is the program's entry point, a
/// System V function `extern "C" fn(ctx) -> u64`.
pub fn compile(verified: &verifier::Verified, opts: &JitOptions) -> Result<JitOutput, JitError> {
    let functions: Vec<Function> = verified
        .functions()
        .iter()
        .map(|f| Function { start: f.start, end: f.end, stack_depth: f.stack_depth })
        .collect();
    codegen::compile_program(verified.program().insns(), &functions, opts)
}
