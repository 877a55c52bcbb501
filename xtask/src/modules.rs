//! The modules that go into the initrd's `/modules`: every example in
//! `modules/*.wm`, compiled and verified with `modc`'s library (the same
//! pipeline as `modc build`), next to its source so that `modload` can
//! show a rejected line; the hostile modules of `tests/hostile/*.wm`
//! (accepted by the verifier, made to take the machine at run time: the
//! tests of the run-time budget) the same way under `/modules/hostile/`;
//! and the bogus images of [`crate::bogus`] under `/modules/bogus/`.
//!
//! [`channel_args`] adds the `modc load` channel to `cargo xtask run` and
//! to the book's transcripts.
//!
//! A module that does not compile is left out with a warning rather than
//! failing the whole build: the system must still boot while someone is
//! in the middle of writing a module.

use std::fs;
use std::path::{Path, PathBuf};

/// The host end of the `modc load` channel, under xtask's target directory.
pub fn channel_socket() -> PathBuf {
    crate::kernel::target_dir().join("warden-lkm.sock")
}

/// QEMU arguments giving the guest a third serial port (COM3, 0x3e8, the
/// kernel's `/dev/ttyS2`) whose other end is `socket` ([`channel_socket`]
/// for `cargo xtask run`), where `modc load` connects. A stale socket from
/// an earlier run is removed.
pub fn channel_args(socket: &Path) -> Vec<String> {
    let _ = fs::remove_file(socket);
    vec![
        "-chardev".into(),
        format!("socket,id=lkmchan,path={},server=on,wait=off", socket.display()),
        "-device".into(),
        "isa-serial,chardev=lkmchan,index=2".into(),
    ]
}

/// A file for the initrd: path under `/modules`, permission bits, bytes.
pub type ModuleFile = (String, u32, Vec<u8>);

/// The compiled examples and their sources, `hostile/*`, then `bogus/*`.
pub fn files(root: &Path) -> Result<Vec<ModuleFile>, String> {
    let mut out = examples(root, "modules", "")?;
    out.extend(examples(root, "tests/hostile", "hostile/")?);
    for (name, bytes) in crate::bogus::build(root)? {
        out.push((format!("bogus/{name}"), 0o644, bytes));
    }
    Ok(out)
}

/// `DIR/NAME.wm` compiled to `PREFIX NAME.lkm` (line table naming
/// `modules/PREFIX NAME.wm`, which resolves to the source's place in the
/// initrd from `/`), plus the source itself; and the example scripts
/// `DIR/*.sh` (for the `#!` interpreter module), executable.
fn examples(root: &Path, dir: &str, prefix: &str) -> Result<Vec<ModuleFile>, String> {
    let dir = root.join(dir);
    let mut sources: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wm" || x == "sh"))
        .collect();
    sources.sort();
    let mut out = Vec::new();
    for path in sources {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if let Some(stem) = file.strip_suffix(".wm") {
            match compile(&format!("modules/{prefix}{file}"), &text) {
                Ok(image) => out.push((format!("{prefix}{stem}.lkm"), 0o644, image)),
                Err(why) => eprintln!("warning: {} left out of the initrd: {why}", path.display()),
            }
            out.push((format!("{prefix}{file}"), 0o644, text.into_bytes()));
        } else {
            out.push((format!("{prefix}{file}"), 0o755, text.into_bytes()));
        }
    }
    Ok(out)
}

/// Compiles and verifies one module; the image bytes, or the first error.
pub fn compile(name: &str, source: &str) -> Result<Vec<u8>, String> {
    let compiled = modc::driver::compile(source, name).map_err(|diags| {
        let first = diags.first().map(|d| d.message.clone()).unwrap_or_default();
        format!("{} error(s), first: {first} (run `modc check {name}`)", diags.len())
    })?;
    for verdict in modc::driver::verify_image(&compiled.image) {
        if let Err(report) = verdict.result {
            return Err(format!("entry point `{}` does not verify: {} (run `modc check {name}`)", verdict.entry, report.reason));
        }
    }
    Ok(compiled.image.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_compiles_with_a_line_table_into_modules() {
        let root = crate::kernel::root();
        let text = fs::read_to_string(root.join("modules/hello.wm")).unwrap();
        let bytes = compile("modules/hello.wm", &text).unwrap();
        let image = lkm::parse(&bytes).unwrap();
        assert_eq!(image.name, "hello");
        assert_eq!(image.lines.unwrap().source, "modules/hello.wm");
    }

    #[test]
    fn the_initrd_gets_examples_sources_and_bogus_images() {
        let all = files(&crate::kernel::root()).unwrap();
        let names: Vec<&str> = all.iter().map(|(n, _, _)| n.as_str()).collect();
        for expected in [
            "hello.lkm",
            "hello.wm",
            "hostile/ticklog.lkm",
            "hostile/spin.lkm",
            "bogus/uninit_register.lkm",
            "bogus/uninit_register.s",
            "bogus/truncated.lkm",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let script = all.iter().find(|(n, _, _)| n == "hello.sh").expect("modules/hello.sh");
        assert_eq!(script.1, 0o755);
        assert!(script.2.starts_with(b"#!/bin/sh\n"));
    }
}
