//! Integration tests of Warden live in `tests/`; this library holds their
//! shared helpers.
