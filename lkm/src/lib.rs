//! The Warden module interface (the equivalent of `sys/lkm.h`), shared by
//! the kernel, `modc` and the user tools.
//!
//! * [`class`]: the five module classes (`LM_SYSCALL` .. `LM_MISC`), their
//!   parameters and entry points.
//! * [`ctx`]: the context each entry point receives, as `#[repr(C)]` structs
//!   and as field tables.
//! * [`helpers`]: the helper functions, with ids, typed signatures and the
//!   classes allowed to call them.
//! * [`image`] and [`parse`]: the `.lkm` image format, written and read back
//!   with every length checked.
//! * [`profile`]: [`profile_for`], the verifier profile of a program, built
//!   the same way in the kernel and on the host.
//! * [`ioctl`]: `/dev/lkm` ioctl numbers and request structures.
//! * [`rejection`]: the kernel's verifier report mapped to the source line.
//! * [`chan`]: the frames of the `modc load` channel (host to `lkmd`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod chan;
pub mod class;
pub mod ctx;
pub mod helpers;
pub mod image;
pub mod ioctl;
pub mod parse;
pub mod profile;
pub mod rejection;

pub use class::{Class, ClassParams, EntryPoint, MAXLKMNAME};
pub use image::{Image, LineEntry, LineTable, MapDecl, MapKind, PortDecl, ProgramImage};
pub use parse::{parse, ImageError};
pub use profile::{profile_for, ProfileError};

/// The value a syscall wrapper returns to run what its slot held before it
/// was loaded, with the same arguments.
pub const LKM_CHAIN: u64 = 0x8000_0000_0000_0000;
