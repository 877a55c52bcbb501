//! The instruction set of RFC 9669 and the Warden verifier.
//!
//! * [`insn`]: instructions as Rust types, shared by every tool.
#![cfg_attr(not(test), no_std)]
extern crate alloc;

pub mod insn;

pub use insn::*;
