//! The initial RAM disk: builds the user programs and packs them, with
//! `/etc` and any compiled modules, into a cpio archive (the "newc" format
//! of `cpio -H newc`) that QEMU loads with `-initrd`. The kernel finds it
//! through the PVH start info and mounts it read-only on `/`.
//!
//! Layout of the image:
//! - `/bin/NAME`: every program of `user/src/bin` (mode 0755)
//! - `/etc/*`: the files of `user/etc` (`rc`, `motd`, `passwd`; mode 0644)
//! - `/modules/*.lkm`: module images found in `<target>/modules` (0644)
//! - `/modules/NAME.lkm` and `NAME.wm`: the examples of `modules/`, compiled,
//!   with their sources; `/modules/hostile/`: the hostile modules of
//!   `tests/hostile/`, the same way; `/modules/bogus/`: the bogus images of
//!   `tests/bogus/` (see `modules.rs` and `bogus.rs`)
//! - `/dev`, `/tmp`, `/mnt`: empty directories, mount points for devfs,
//!   ramfs and modules' file systems.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the user programs and writes the initrd; returns its path.
/// `target_dir` is cargo's target directory (where `cargo build` puts
/// `x86_64-unknown-none/release`).
pub fn build(root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    build_with(root, target_dir, &[], "initrd.cpio")
}

/// Like [`build`], with `extra` files (path under `/`, permission bits,
/// bytes) added, written to `target_dir/out_name` (the lab grader adds the
/// student's module this way).
pub fn build_with(root: &Path, target_dir: &Path, extra: &[(String, u32, Vec<u8>)], out_name: &str) -> Result<PathBuf, String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--package", "user", "--target", "x86_64-unknown-none", "--release"])
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo to build the user programs: {e}"))?;
    if !status.success() {
        return Err("building the user programs failed (see cargo's messages above)".into());
    }
    let bin_dir = target_dir.join("x86_64-unknown-none").join("release");
    let mut archive = Cpio::default();
    for dir in ["bin", "etc", "modules", "dev", "tmp", "mnt"] {
        archive.dir(dir, 0o755);
    }
    for name in program_names(&root.join("user/src/bin"))? {
        let path = bin_dir.join(&name);
        let data = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        archive.file(&format!("bin/{name}"), 0o755, &data);
    }
    for (name, data) in files_in(&root.join("user/etc"), None)? {
        archive.file(&format!("etc/{name}"), 0o644, &data);
    }
    let modules = target_dir.join("modules");
    if modules.is_dir() {
        for (name, data) in files_in(&modules, Some("lkm"))? {
            archive.file(&format!("modules/{name}"), 0o644, &data);
        }
    }
    archive.dir("modules/bogus", 0o755);
    archive.dir("modules/hostile", 0o755);
    for (name, perm, data) in crate::modules::files(root)? {
        archive.file(&format!("modules/{name}"), perm, &data);
    }
    for (name, perm, data) in extra {
        archive.file(name, *perm, data);
    }
    let out = target_dir.join(out_name);
    fs::write(&out, archive.finish()).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

/// The program names in `user/src/bin`: `NAME.rs` files and `NAME/` directories.
fn program_names(dir: &Path) -> Result<Vec<String>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = match (path.is_dir(), path.extension().and_then(|e| e.to_str())) {
            (true, _) => path.file_name(),
            (false, Some("rs")) => path.file_stem(),
            _ => None,
        };
        if let Some(name) = name.and_then(|n| n.to_str()) {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// The regular files in `dir` (only those ending in `.ext` if given), sorted.
fn files_in(dir: &Path, ext: Option<&str>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let wanted = ext.is_none_or(|x| path.extension().and_then(|e| e.to_str()) == Some(x));
        if path.is_file() && wanted {
            let name = entry.file_name().to_string_lossy().into_owned();
            let data = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.push((name, data));
        }
    }
    files.sort();
    Ok(files)
}

/// A cpio archive in the "newc" format: each entry is a 110-byte ASCII
/// header (magic `070701` and thirteen 8-digit hex fields), the name with
/// its NUL, padding to 4 bytes, the data, padding to 4 bytes; the archive
/// ends with an entry named `TRAILER!!!`.
#[derive(Default)]
pub struct Cpio {
    bytes: Vec<u8>,
    next_ino: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;

impl Cpio {
    /// Adds a directory.
    pub fn dir(&mut self, name: &str, perm: u32) {
        self.entry(name, S_IFDIR | perm, 2, &[]);
    }

    /// Adds a regular file.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, S_IFREG | perm, 1, data);
    }

    /// Adds the trailer and returns the archive's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, 1, &[]);
        self.bytes
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8]) {
        self.next_ino += 1;
        let fields = [
            self.next_ino,
            mode,
            0, // uid: root
            0, // gid
            nlink,
            0, // mtime
            data.len() as u32,
            0, // dev major
            0, // dev minor
            0, // rdev major
            0, // rdev minor
            name.len() as u32 + 1,
            0, // check
        ];
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.bytes.len() % 4 != 0 {
            self.bytes.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_entries_are_aligned_and_readable() {
        let mut c = Cpio::default();
        c.dir("bin", 0o755);
        c.file("etc/motd", 0o644, b"hello\n");
        let bytes = c.finish();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(&bytes[..6], b"070701");
        // The second entry's header starts after the first one (110 + "bin\0" = 114, padded to 116).
        assert_eq!(&bytes[116..122], b"070701");
        let name_at = 116 + 110;
        assert_eq!(&bytes[name_at..name_at + 8], b"etc/motd");
        // File size field (7th field) of the second entry.
        let size = &bytes[116 + 6 + 6 * 8..116 + 6 + 7 * 8];
        assert_eq!(size, b"00000006");
        let data_at = (name_at + 9 + 3) & !3;
        assert_eq!(&bytes[data_at..data_at + 6], b"hello\n");
        let tail = String::from_utf8_lossy(&bytes[bytes.len() - 16..]);
        assert!(tail.contains("TRAILER!!!"), "{tail}");
    }

    #[test]
    fn program_names_come_from_src_bin() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../user/src/bin");
        let names = program_names(&dir).unwrap();
        for expected in ["init", "sh", "ls", "cat"] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
        }
    }
}
