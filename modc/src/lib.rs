//! `modc`, the Warden module compiler: `.wm` source to `.lkm` image.
//!
//! The pipeline, one module a stage:
//!
//! * [`lexer`]: text to tokens;
//! * [`parser`]: tokens to the syntax tree of [`ast`];
//! * [`check`]: names, types and the module's shape, to the typed form of
//!   [`tir`], with constants folded;
//! * [`codegen`]: typed form to instructions, with registers allocated,
//!   bounds checks emitted and a line table;
//! * [`driver`]: the whole pipeline, the image, and verification with the
//!   kernel's own profile ([`lkm::profile_for`]), mapping a rejection back
//!   to the source;
//! * [`listing`]: `modc disasm`'s assembly listing with source lines;
//! * [`native`]: `modc disasm --native`, the JIT's x86 code interleaved
//!   with the bytecode and the source lines;
//! * [`c`]: C modules: an object clang wrote for `-target bpf` made into
//!   the same image;
//! * [`explain`]: `modc explain`, a page showing what the verifier knew at
//!   each instruction and why it refused.
//!
//! The command-line tool is `src/main.rs`; the language is described in
//! `docs/language.md`.
//!
//! [`load`] is `modc load`/`unload`/`stat`: the channel to a system started
//! by `cargo xtask run`.
//!
//! Errors at every stage are [`diag::Diag`]s, rendered like rustc's.

#![forbid(unsafe_code)]

pub mod ast;
pub mod c;
pub mod check;
pub mod codegen;
pub mod diag;
pub mod driver;
pub mod explain;
pub mod lexer;
pub mod listing;
pub mod load;
pub mod native;
pub mod parser;
pub mod tir;
