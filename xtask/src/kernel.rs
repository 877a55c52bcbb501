//! Building the kernel (and, later, the initrd) for QEMU.
//!
//! xtask always builds into the workspace's `target/` directory (ignoring a
//! `CARGO_TARGET_DIR` from the environment), so paths printed for gdb are
//! stable: `target/x86_64-unknown-none/{kernel-dev,release}/warden`, and
//! `target/x86_64-unknown-none/ktest/warden` for the test kernel (each
//! profile is explained in the workspace's Cargo.toml).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, XtaskError};

pub const TARGET: &str = "x86_64-unknown-none";

/// Which kernel to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// The normal kernel, ending at the console.
    Normal,
    /// The kernel with the in-kernel test runner (`--features ktest`),
    /// built with the `ktest` profile.
    Test,
}

/// What QEMU boots.
#[derive(Debug, Clone)]
pub struct BootImage {
    pub kernel: PathBuf,
    /// Passed to QEMU as `-initrd` when present (built by the user-space stage).
    pub initrd: Option<PathBuf>,
}

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// The target directory xtask uses.
pub fn target_dir() -> PathBuf {
    root().join("target")
}

/// A `cargo` command run in the workspace root with xtask's target dir.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root()).env("CARGO_TARGET_DIR", target_dir());
    cmd
}

/// Makes sure the pinned toolchain has the kernel's target. rustup adds a
/// toolchain file's `targets` only when it installs the toolchain itself,
/// so a machine that already had the toolchain may lack the target.
pub fn ensure_target() -> Result<()> {
    let installed = Command::new("rustup").current_dir(root()).args(["target", "list", "--installed"]).output();
    let Ok(installed) = installed else {
        // No rustup: the toolchain came some other way; cargo says what is missing.
        return Ok(());
    };
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    eprintln!("note: the `{TARGET}` target is not installed for the pinned toolchain; installing it: rustup target add {TARGET}");
    let added = Command::new("rustup").current_dir(root()).args(["target", "add", TARGET]).status();
    match added {
        Ok(status) if status.success() => Ok(()),
        _ => Err(XtaskError::new(format!("installing the `{TARGET}` target failed"))
            .with_help(format!("install it by hand in this directory: rustup target add {TARGET}"))),
    }
}

/// Builds the kernel and returns what to boot. `release` chooses the
/// profile of the normal kernel; the test kernel always uses `ktest`.
pub fn build(flavor: Flavor, release: bool) -> Result<BootImage> {
    ensure_target()?;
    // The cargo profile, and the directory it builds into.
    let (profile, dir) = match (flavor, release) {
        (Flavor::Test, _) => ("ktest", "ktest"),
        (Flavor::Normal, true) => ("release", "release"),
        (Flavor::Normal, false) => ("kernel-dev", "kernel-dev"),
    };
    let mut cmd = cargo();
    cmd.args(["build", "--package", "os", "--bin", "warden", "--target", TARGET, "--profile", profile]);
    if flavor == Flavor::Test {
        cmd.args(["--features", "ktest"]);
    }
    let status = cmd.status().map_err(|e| XtaskError::new(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(XtaskError::new("the kernel did not build (see cargo's messages above)"));
    }
    let kernel = target_dir().join(TARGET).join(dir).join("warden");
    // The normal system boots into user space from the initrd; the test
    // kernel runs its tests instead and needs none.
    let initrd = match flavor {
        Flavor::Normal => Some(crate::initrd::build(&root(), &target_dir()).map_err(XtaskError::new)?),
        Flavor::Test => None,
    };
    Ok(BootImage { kernel, initrd })
}
