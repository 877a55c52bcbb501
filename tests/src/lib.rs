//! Integration tests of Warden live in `tests/`; this library holds their
//! shared helpers.
//!
//! * [`conformance`]: reading the bpf_conformance `.data` files.

pub mod conformance;
