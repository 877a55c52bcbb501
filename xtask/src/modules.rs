//! The modules that go into the initrd's `/modules`: every example in
//! `modules/*.wm`, compiled and verified with `modc`'s library (the same
//! pipeline as `modc build`), next to its source so that `modload` can
//! show a rejected line; the hostile modules of `tests/hostile/` (accepted
//! by the verifier, made to take the machine: the tests of the run-time
//! budget, and the module slowest to verify) the same way under
//! `/modules/hostile/`, from `.wm` or from assembly (`.s`, in the format
//! of [`crate::bogus`] without a refusal directive);
//! the C modules of `modules/c/` compiled with clang under `/modules/c/`
//! (left out, with a notice, when there is no clang);
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
    out.extend(c_examples(root)?);
    out.extend(examples(root, "tests/hostile", "hostile/")?);
    for (name, bytes) in crate::bogus::build(root)? {
        out.push((format!("bogus/{name}"), 0o644, bytes));
    }
    Ok(out)
}

/// `DIR/NAME.wm` compiled (and `DIR/NAME.s` assembled) to `PREFIX NAME.lkm`
/// (line table naming `modules/PREFIX NAME.wm` or `.s`, which resolves to
/// the source's place in the initrd from `/`), plus the source itself; and
/// the example scripts `DIR/*.sh` (for the `#!` interpreter module),
/// executable.
fn examples(root: &Path, dir: &str, prefix: &str) -> Result<Vec<ModuleFile>, String> {
    let dir = root.join(dir);
    let mut sources: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wm" || x == "s" || x == "sh"))
        .collect();
    sources.sort();
    let mut out = Vec::new();
    for path in sources {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let built = if let Some(stem) = file.strip_suffix(".wm") {
            Some((stem, compile(&format!("modules/{prefix}{file}"), &text)))
        } else {
            file.strip_suffix(".s").map(|stem| (stem, assemble(&format!("modules/{prefix}{file}"), &file, &text)))
        };
        if let Some((stem, image)) = built {
            match image {
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

/// `modules/c/NAME.c` compiled with clang to `c/NAME.lkm` (line table
/// naming `modules/c/NAME.c`), plus the source; nothing without clang.
fn c_examples(root: &Path) -> Result<Vec<ModuleFile>, String> {
    let dir = root.join("modules/c");
    let mut sources: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    if !sources.is_empty() && modc::c::clang::find().is_err() {
        eprintln!("warning: the C modules of {} are left out of the initrd: no clang (install it with `apt-get install clang`)", dir.display());
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for path in sources {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = file.trim_end_matches(".c");
        match compile_c(&path, &format!("modules/c/{file}")) {
            Ok(image) => out.push((format!("c/{stem}.lkm"), 0o644, image)),
            Err(why) => eprintln!("warning: {} left out of the initrd: {}", path.display(), why.trim_end()),
        }
        out.push((format!("c/{file}"), 0o644, fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?));
    }
    Ok(out)
}

/// Compiles and verifies a C module with clang, its line table naming
/// `name`; the image bytes, or the error.
pub fn compile_c(path: &Path, name: &str) -> Result<Vec<u8>, String> {
    let mut image = modc::c::image_of_file(path)?;
    if let Some(lines) = image.lines.as_mut() {
        lines.source = name.to_string();
    }
    verified(&image)
}

/// Compiles and verifies one module; the image bytes, or the first error.
pub fn compile(name: &str, source: &str) -> Result<Vec<u8>, String> {
    let compiled = modc::driver::compile(source, name).map_err(|diags| {
        let first = diags.first().map(|d| d.message.clone()).unwrap_or_default();
        format!("{} error(s), first: {first} (run `modc check {name}`)", diags.len())
    })?;
    verified(&compiled.image).map_err(|why| format!("{why} (run `modc check {name}`)"))
}

/// Assembles one module written in assembly (`file`, shown in the initrd
/// as `name`) and verifies it; the image bytes, or the first error.
fn assemble(name: &str, file: &str, source: &str) -> Result<Vec<u8>, String> {
    let mut assembled = crate::bogus::parse(file, source)?;
    if assembled.refusal.is_some() {
        return Err(String::from("it says how it must be refused: a refused module belongs in tests/bogus"));
    }
    if let Some(lines) = assembled.image.lines.as_mut() {
        lines.source = name.to_string();
    }
    verified(&assembled.image)
}

/// The bytes of `image` if every entry point verifies, or the first error.
fn verified(image: &lkm::Image) -> Result<Vec<u8>, String> {
    for verdict in modc::driver::verify_image(image) {
        if let Err(report) = verdict.result {
            return Err(format!("entry point `{}` does not verify: {}", verdict.entry, report.reason));
        }
    }
    Ok(image.to_bytes())
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
    fn a_hostile_module_in_assembly_verifies_with_a_line_table_into_modules() {
        let root = crate::kernel::root();
        let text = fs::read_to_string(root.join("tests/hostile/slowverify.s")).unwrap();
        let bytes = assemble("modules/hostile/slowverify.s", "slowverify.s", &text).unwrap();
        let image = lkm::parse(&bytes).unwrap();
        assert_eq!(image.name, "slowverify");
        assert_eq!(image.programs.len(), 5);
        assert_eq!(image.lines.unwrap().source, "modules/hostile/slowverify.s");
        let refused = assemble("modules/hostile/x.s", "x.s", "; module: x\n; class: misc\n; rule: falls-off-end\n; entry: load\n r0 = 0\n");
        assert!(refused.unwrap_err().contains("belongs in tests/bogus"));
        let wrong = assemble("modules/hostile/y.s", "y.s", "; module: y\n; class: misc\n; entry: load\n r1 = 0\n exit\n");
        assert!(wrong.unwrap_err().contains("entry point `load` does not verify"));
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
            "hostile/slowverify.lkm",
            "hostile/slowverify.s",
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
