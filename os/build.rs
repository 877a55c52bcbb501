//! Links the kernel with `linker.ld` (loaded at 1 MiB, linked in the top 2 GiB).
//!
//! With the `ktest` feature it also compiles every example module in
//! `modules/*.wm` with `modc` and writes `test_modules.rs` into `OUT_DIR`:
//! a table of `(name, image bytes)` that the in-kernel module tests load
//! through the same code path as the `/dev/lkm` ioctls, `TEST_MODULES`,
//! and the same of the hostile modules of `tests/hostile/*.wm`,
//! `HOSTILE_MODULES`.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "ktest")]
    test_modules::write(&dir);
}

#[cfg(feature = "ktest")]
mod test_modules {
    use std::fmt::Write;
    use std::path::Path;

    /// Compiles `modules/*.wm` and `tests/hostile/*.wm`; a module that does
    /// not compile becomes an entry with its diagnostics, which the kernel
    /// test reports as a failure.
    pub fn write(manifest_dir: &str) {
        let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
        let mut text = String::new();
        table(&mut text, "TEST_MODULES", &Path::new(manifest_dir).join("../modules"), &out_dir);
        table(&mut text, "HOSTILE_MODULES", &Path::new(manifest_dir).join("../tests/hostile"), &out_dir);
        std::fs::write(Path::new(&out_dir).join("test_modules.rs"), text).expect("writing test_modules.rs");
    }

    /// The table `name` of the modules in `modules`.
    fn table(out: &mut String, name: &str, modules: &Path, out_dir: &str) {
        println!("cargo:rerun-if-changed={}", modules.display());
        let mut entries: Vec<_> = std::fs::read_dir(modules)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "wm")).collect())
            .unwrap_or_default();
        entries.sort();
        out.push_str("/// (file stem, compiled image or the compiler's messages)\n");
        let _ = writeln!(out, "pub static {name}: &[(&str, Result<&[u8], &str>)] = &[");
        for path in entries {
            println!("cargo:rerun-if-changed={}", path.display());
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("module").to_string();
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            let file_name = path.file_name().and_then(|s| s.to_str()).unwrap_or("module.wm");
            match modc::driver::compile(&source, file_name) {
                Ok(compiled) => {
                    let image = Path::new(out_dir).join(format!("{stem}.lkm"));
                    std::fs::write(&image, compiled.image.to_bytes()).expect("writing a module image into OUT_DIR");
                    let _ = writeln!(out, "    ({stem:?}, Ok(include_bytes!({:?}))),", image.display().to_string());
                }
                Err(diags) => {
                    let text: Vec<String> = diags.iter().map(|d| format!("{d:?}")).collect();
                    let _ = writeln!(out, "    ({stem:?}, Err({:?})),", text.join("\n"));
                }
            }
        }
        out.push_str("];\n");
    }
}
