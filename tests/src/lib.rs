//! Integration tests of Warden live in `tests/`; this library holds their
//! shared helpers.
//!
//! * [`cases`]: the verifier case format (parsing and running cases).
//! * [`fuzz`]: the program generator and run environment of the soundness fuzzing.
//! * [`conformance`]: reading the bpf_conformance `.data` files.
//! * [`jitdiff`]: the JIT against the interpreter on fuzzer programs.
//! * [`jitrun`]: verifying under the test profile and running through the JIT.
//! * [`linuxdiff`]: the verifier against the Linux verifier of the machine.
//! * [`plugin`]: running the bpf_conformance plugin binary as the runner does.

pub mod conformance;
pub mod jitdiff;
pub mod jitrun;
pub mod plugin;
pub mod cases;
pub mod fuzz;
pub mod linuxdiff;
