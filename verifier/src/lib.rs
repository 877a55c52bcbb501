//! The instruction set of RFC 9669 and the Warden verifier.
//!
//! * [`insn`]: instructions as Rust types, shared by every tool.
//! * [`profile`]: what a program may touch (context layout, helper
//!   signatures, maps, ports, limits), given by the entry point it is for.
#![cfg_attr(not(test), no_std)]
extern crate alloc;

pub mod insn;
pub mod profile;

pub use insn::*;
pub use profile::*;
