//! Integration tests of Warden live in `tests/`; this library holds their
//! shared helpers.
//!
//! * [`cases`]: the verifier case format (parsing and running cases).
//! * [`conformance`]: reading the bpf_conformance `.data` files.
//! * [`jitrun`]: verifying under the test profile and running through the JIT.

pub mod conformance;
pub mod jitrun;
pub mod cases;
