//! Finding (or installing) clang, which compiles the C modules of
//! `modules/c/` and the C tests of `modc`: Debian's `clang` package,
//! installed with apt-get when missing and running as root, as QEMU is.
//! Without it the C modules are left out and their tests skipped, each
//! with a printed notice.

/// Makes sure a clang `modc` can use is on `PATH`: `false`, with a printed
/// notice, when there is none and it cannot be installed.
pub fn ensure_installed() -> bool {
    crate::qemu::ensure_optional(
        &["clang"],
        || modc::c::clang::find().is_ok(),
        "clang was not found",
        "the C modules are left out and their tests skipped: clang is not installed",
    )
}
