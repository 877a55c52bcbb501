//! The C object reader against hostile input: the objects clang makes of
//! `modules/c/*.c`, mutated where the reader looks (the ELF header, the
//! section table, the code, relocation, symbol, map, `.BTF` and
//! `.BTF.ext` sections) and cut short, never panic `modc`; what is read
//! is an image that parses back. `cargo xtask fuzz --campaign objects`
//! runs it longer (`WARDEN_FUZZ_OBJECTS`). Needs clang for its seeds; it
//! prints a notice and checks nothing without one.

use object::{Object, ObjectSection};

mod common;

use common::Rng;

/// The byte ranges of `bytes` the reader looks at: the ELF header, the
/// section headers, and every section but the DWARF ones.
fn hot_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![(0, 64)];
    let shoff = u64::from_le_bytes(bytes[0x28..0x30].try_into().unwrap_or_default()) as usize;
    out.push((shoff, bytes.len()));
    if let Ok(file) = object::File::parse(bytes) {
        for s in file.sections() {
            if let (Ok(name), Some((off, len))) = (s.name(), s.file_range())
                && !name.starts_with(".debug")
                && len > 0
            {
                out.push((off as usize, (off + len) as usize));
            }
        }
    }
    out.retain(|&(lo, hi)| lo < hi && hi <= bytes.len());
    out
}

#[test]
fn mutated_objects_never_panic_the_reader() {
    let count: usize = std::env::var("WARDEN_FUZZ_OBJECTS").ok().and_then(|s| s.parse().ok()).unwrap_or(3_000);
    let Some(clang) = modc::c::clang::all().into_iter().next() else {
        println!("note: object fuzzing skipped: no clang on PATH for its seed objects (apt-get install clang)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("modc-objfuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("warden.h"), modc::c::header::warden_h()).expect("warden.h");
    let mut seeds = Vec::new();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../modules/c");
    let mut sources: Vec<_> = std::fs::read_dir(&examples).expect("modules/c").filter_map(|e| Some(e.ok()?.path())).collect();
    sources.sort();
    for src in sources.iter().filter(|p| p.extension().is_some_and(|e| e == "c")) {
        let obj = dir.join("seed.o");
        modc::c::clang::compile(&clang, src, &dir, &obj).expect("seed compiles");
        let bytes = std::fs::read(&obj).expect("seed");
        assert!(modc::c::read_object(&bytes, "seed.o").is_ok(), "{} reads", src.display());
        let hot = hot_ranges(&bytes);
        seeds.push((bytes, hot));
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut refused) = (0usize, 0usize);
    for i in 0..count {
        let (seed, hot) = &seeds[rng.below(seeds.len())];
        let mut b = seed.clone();
        for _ in 0..1 + rng.below(4) {
            let (lo, hi) = hot[rng.below(hot.len())];
            let at = lo + rng.below(hi - lo);
            if at >= b.len() {
                continue;
            }
            match rng.below(5) {
                0 => b[at] = rng.next() as u8,
                1 => b[at] ^= 1 << rng.below(8),
                2 => {
                    let v = [0u8, 0xff, 0x7f, 0x80][rng.below(4)];
                    let end = (at + 4).min(b.len());
                    b[at..end].fill(v);
                }
                3 => b[at] = b[at].wrapping_add(8),
                _ => b.truncate(at),
            }
        }
        match modc::c::read_object(&b, "fuzz.o") {
            Ok(image) => {
                accepted += 1;
                assert!(lkm::parse(&image.to_bytes()).is_ok(), "object {i}: the image parses back");
            }
            Err(e) => {
                refused += 1;
                assert!(e.starts_with("error: "), "object {i}: {e}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{count} objects: {accepted} accepted, {refused} refused");
    assert_eq!(accepted + refused, count);
}
