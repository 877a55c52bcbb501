//! The abstract domains of the analysis, kept apart from instruction
//! semantics (as in PREVAIL): [`tnum`] (known bits), [`range`] (interval
//! views and their mutual refinement), [`scalar`] (the two combined, with
//! ALU transfer functions), [`refine`] (what each jump condition teaches on
//! both edges) and [`concrete`] (exact
//! RFC 9669 semantics, used for constants and to test the rest).

pub mod concrete;
pub mod range;
pub mod refine;
pub mod scalar;
pub mod tnum;

pub use scalar::Scalar;
pub use tnum::Tnum;
