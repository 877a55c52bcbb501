//! Finding, installing and running mdBook 0.5.
//!
//! The install leaves out the default features the build does not need
//! (`watch`, `serve`), so it stays quick; `--serve` installs again with
//! `serve` when the installed binary lacks it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{Result, XtaskError};

/// How the book's mdBook is installed.
pub const INSTALL: &str = "cargo install mdbook --version ^0.5 --no-default-features --features search --locked";

/// The `mdbook` binary to use: on the `PATH` or in cargo's bin directory,
/// installed first if missing (or lacking `serve` when `serve` is asked
/// for) unless `WARDEN_NO_INSTALL` is set. `None` when it cannot be had.
pub fn ensure_installed(serve: bool) -> Result<Option<PathBuf>> {
    if let Some(found) = find().filter(|m| !serve || can_serve(m)) {
        return Ok(Some(found));
    }
    if std::env::var_os("WARDEN_NO_INSTALL").is_some() {
        return Ok(None);
    }
    let features = if serve { "search,serve" } else { "search" };
    eprintln!("note: installing mdBook 0.5 (features: {features})");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "mdbook", "--version", "^0.5", "--no-default-features", "--features", features, "--locked"])
        .args(if serve { &["--force"][..] } else { &[][..] })
        .env_remove("CARGO_TARGET_DIR")
        .status();
    match status {
        Ok(s) if s.success() => Ok(find()),
        _ => Ok(None),
    }
}

/// mdBook 0.5 on the `PATH` or in `$CARGO_HOME/bin`.
fn find() -> Option<PathBuf> {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok();
    let candidates = [Some(PathBuf::from("mdbook")), home.map(|h| h.join("bin").join("mdbook"))];
    candidates.into_iter().flatten().find(|path| {
        Command::new(path)
            .arg("--version")
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains(" v0.5"))
    })
}

fn can_serve(mdbook: &PathBuf) -> bool {
    Command::new(mdbook)
        .args(["serve", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds `book/book/`; returns mdBook's warnings (empty on a clean build).
pub fn build(mdbook: &PathBuf) -> Result<Vec<String>> {
    let out = Command::new(mdbook)
        .arg("build")
        .arg(super::book_dir())
        .output()
        .map_err(|e| XtaskError::new(format!("cannot run {}: {e}", mdbook.display())))?;
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(XtaskError::new(format!("mdbook build failed:\n{log}")));
    }
    Ok(log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).map(str::to_string).collect())
}

/// Serves the book until interrupted.
pub fn serve(mdbook: &PathBuf) -> Result<()> {
    let status = Command::new(mdbook)
        .arg("serve")
        .arg(super::book_dir())
        .status()
        .map_err(|e| XtaskError::new(format!("cannot run {}: {e}", mdbook.display())))?;
    if status.success() { Ok(()) } else { Err(XtaskError::new("mdbook serve stopped with an error")) }
}
