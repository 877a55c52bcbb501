//! The instruction set of RFC 9669 and the Warden verifier.
//!
//! * [`insn`]: instructions as Rust types, shared by every tool.
//! * [`program`]: a decoded program, one instruction per 8-byte slot.
//! * [`decode`](mod@decode) / [`encode`](mod@encode): bytes to instructions and back, strictly.
//! * [`disasm`](mod@disasm) / [`asm`]: instructions to LLVM-syntax text and back (the
//!   assembler also reads the bpf_conformance syntax).
//! * [`profile`]: what a program may touch (context layout, helper
//!   signatures, maps, ports, limits), given by the entry point it is for.
//! * [`verify()`]: the analysis. It runs the control-flow checks of [`mod@cfg`],
//!   computes register liveness ([`liveness`]), which values matter
//!   ([`relevance`]) and which links between copies may ([`links`]), then
//!   explores every path
//!   with abstract states ([`state`]) built on the domains of [`domain`]
//!   (known bits, interval bounds). A rejection is a [`Report`]
//!   ([`report`]); an acceptance is a [`Verified`] program, the only input
//!   the JIT takes. [`verify_traced`] tells a [`Trace`] every step of the
//!   analysis (for `modc explain`).
//! * [`facts`]: the text form of entry-state facts (`r2: scalar in [0, 10]`)
//!   used by the case suite and the command-line tool.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod insn;
pub mod program;
pub mod decode;
pub mod encode;
pub mod disasm;
pub mod asm;
pub mod domain;
pub mod profile;
pub mod report;
pub mod state;
pub mod cfg;
pub mod liveness;
pub mod relevance;
pub mod links;
pub mod verify;
pub mod facts;

pub use insn::*;
pub use program::Program;
pub use decode::{decode, decode_raw, DecodeError, DecodeErrorKind};
pub use encode::{encode, encode_insn, encode_raw};
pub use disasm::{disasm, disasm_labeled, listing};
pub use asm::{assemble, assemble_with_lines, AsmError};
pub use profile::*;
pub use report::{ErrorKind, Report, TOO_COMPLEX_HELP};
pub use cfg::Function;
pub use verify::{
    verify, verify_traced, verify_verbose, verify_watched, verify_with, Entry, NoTrace, Stats, Stop, Trace, Verified, Watch,
};
