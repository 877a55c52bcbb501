//! Finding (or installing) clang, which compiles the C modules of
//! `modules/c/` and the C tests of `modc`: Debian's `clang` package,
//! installed with apt-get when missing and running as root, as QEMU is.
//! Without it the C modules are left out and their tests skipped, each
//! with a printed notice.

const APT_INSTALL: &str = "apt-get install -y --no-install-recommends clang";

/// Makes sure a clang `modc` can use is on `PATH`: `false`, with a printed
/// notice, when there is none and it cannot be installed.
pub fn ensure_installed() -> bool {
    if modc::c::clang::find().is_ok() {
        return true;
    }
    if crate::qemu::is_root() {
        println!("note: clang was not found; installing it: {APT_INSTALL}");
        crate::qemu::apt_get_install(&["clang"]);
    }
    let ok = modc::c::clang::find().is_ok();
    if !ok {
        println!("note: the C modules are left out and their tests skipped: clang is not installed (install it with: sudo {APT_INSTALL})");
    }
    ok
}
