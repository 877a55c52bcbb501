//! The reference interpreter of Warden bytecode (RFC 9669), with a checking
//! mode, and the map implementation shared by the kernel and the host.
//!
//! The interpreter is the oracle the verifier's soundness fuzzing and the
//! JIT's differential tests compare against, so it is written to be plainly
//! correct rather than fast:
//!
//! * [`alu`]: what each arithmetic, byte-order and jump instruction computes.
//! * [`memory`]: every byte a program can reach, as regions in a fake
//!   address space, each access checked.
//! * [`interp`]: the fetch-execute loop, frames for local calls, helper calls.
//! * [`fuel`]: the run-time budget's cost model, shared with the JIT.
//! * [`helpers`]: the trait an environment implements to answer `call N`,
//!   and the map helpers.
//! * [`violation`]: what is reported instead of an unsafe access.
//! * [`map`]: array and hash maps with stable, preallocated value slots.
//! * [`env`](mod@env): a checking environment built from a verifier profile (its
//!   context, maps and helper signatures), for soundness fuzzing.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod alu;
pub mod env;
pub mod fuel;
pub mod helpers;
pub mod interp;
pub mod map;
pub mod memory;
pub mod violation;

pub use env::ProfileEnv;
pub use helpers::{Helpers, NoHelpers, Value};
pub use interp::{Config, Outcome, Vm};
pub use map::{Map, MapError, MapKind};
pub use memory::Memory;
pub use violation::{LeakTarget, Violation, ViolationKind};
