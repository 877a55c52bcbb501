//! The image format: round trips, refusals with the right error, and a fuzz
//! run of random and mutated images that must never panic.
//!
//! The fuzz run feeds 20,000 images by default; `WARDEN_FUZZ_IMAGES=N` sets
//! the count (`cargo xtask fuzz` uses 1,000,000).

use lkm::class::{ClassParams, SYSCALL_NEXT_FREE};
use lkm::{parse, profile_for, Image, ImageError, LineEntry, LineTable, MapDecl, MapKind, PortDecl, ProgramImage};

fn exit_program() -> Vec<u8> {
    // r0 = 0; exit
    vec![0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]
}

fn sample(params: ClassParams, entries: &[&str]) -> Image {
    Image {
        name: "sample".into(),
        params,
        programs: entries.iter().map(|e| ProgramImage { entry: (*e).into(), code: exit_program() }).collect(),
        maps: vec![
            MapDecl { name: "counts".into(), kind: MapKind::Hash, key_size: 4, value_size: 8, max_entries: 64 },
            MapDecl { name: "regs".into(), kind: MapKind::Array, key_size: 4, value_size: 16, max_entries: 8 },
        ],
        rodata: b"hello\0".to_vec(),
        ports: vec![PortDecl { start: 0x70, count: 2 }],
        lines: Some(LineTable {
            source: "sample.wm".into(),
            programs: entries.iter().map(|_| vec![LineEntry { slot: 0, line: 3, col: 5 }, LineEntry { slot: 1, line: 4, col: 5 }]).collect(),
        }),
    }
}

fn all_samples() -> Vec<Image> {
    vec![
        sample(ClassParams::Syscall { nr: SYSCALL_NEXT_FREE }, &["call"]),
        sample(ClassParams::Vfs { fstype: "kvfs".into() }, &["lookup", "getattr", "readdir", "read", "write"]),
        sample(ClassParams::Dev { major: 0, name: "rtc".into() }, &["open", "read"]),
        sample(ClassParams::Exec, &["probe"]),
        sample(ClassParams::Misc, &["load", "unload", "tick"]),
    ]
}

#[test]
fn every_class_round_trips() {
    for image in all_samples() {
        let bytes = image.to_bytes();
        assert_eq!(parse(&bytes), Ok(image.clone()));
        for i in 0..image.programs.len() {
            let p = profile_for(&image, i).unwrap();
            assert_eq!(p.maps.len(), 3, "two maps and the read-only data");
        }
    }
}

#[test]
fn line_table_finds_the_nearest_earlier_entry() {
    let t = LineTable { source: "a.wm".into(), programs: vec![vec![LineEntry { slot: 0, line: 1, col: 1 }, LineEntry { slot: 4, line: 2, col: 3 }]] };
    assert_eq!(t.lookup(0, 3).map(|e| e.line), Some(1));
    assert_eq!(t.lookup(0, 4).map(|e| e.line), Some(2));
    assert_eq!(t.lookup(0, 99).map(|e| e.col), Some(3));
    assert_eq!(t.lookup(1, 0), None);
}

#[test]
fn malformed_images_get_the_right_error() {
    let good = all_samples().remove(0);
    let bytes = good.to_bytes();
    assert_eq!(parse(&bytes[..3]), Err(ImageError::Truncated { what: "the magic number", offset: 0 }));
    let mut b = bytes.clone();
    b[0] = b'X';
    assert_eq!(parse(&b), Err(ImageError::BadMagic));
    let mut b = bytes.clone();
    b[6] = 9;
    assert_eq!(parse(&b), Err(ImageError::UnknownClass(9)));
    let mut b = bytes.clone();
    b.push(0);
    assert_eq!(parse(&b), Err(ImageError::TrailingBytes { count: 1 }));

    let mut img = good.clone();
    img.name = "x".repeat(33);
    assert_eq!(parse(&img.to_bytes()), Err(ImageError::BadName { what: "module name" }));
    let mut img = good.clone();
    img.programs[0].entry = "read".into();
    assert!(matches!(parse(&img.to_bytes()), Err(ImageError::UnknownEntry { .. })));
    let mut img = good.clone();
    img.programs.push(img.programs[0].clone());
    assert_eq!(parse(&img.to_bytes()), Err(ImageError::DuplicateEntry { entry: "call".into() }));
    let mut img = good.clone();
    img.maps[1].key_size = 8;
    assert!(matches!(parse(&img.to_bytes()), Err(ImageError::BadMap { map: 1, .. })));
    let mut img = good.clone();
    img.ports[0] = PortDecl { start: 0xffff, count: 2 };
    assert_eq!(parse(&img.to_bytes()), Err(ImageError::BadPorts { index: 0 }));
    let mut img = good.clone();
    img.lines.as_mut().unwrap().programs[0][1].slot = 7;
    assert_eq!(parse(&img.to_bytes()), Err(ImageError::BadLineTable { program: 0 }));
    let vfs = sample(ClassParams::Vfs { fstype: "kvfs".into() }, &["lookup", "getattr", "read"]);
    assert!(matches!(parse(&vfs.to_bytes()), Err(ImageError::MissingEntry { entry: "readdir", .. })));
}

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_and_mutated_images_never_panic() {
    let count: usize = std::env::var("WARDEN_FUZZ_IMAGES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let seeds: Vec<Vec<u8>> = all_samples().iter().map(Image::to_bytes).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut refused) = (0usize, 0usize);
    for i in 0..count {
        let bytes = if i % 10 == 0 {
            let n = rng.below(200);
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            let mut b = seeds[rng.below(seeds.len())].clone();
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 if !b.is_empty() => {
                        let at = rng.below(b.len());
                        b[at] = rng.next() as u8;
                    }
                    1 if !b.is_empty() => {
                        let at = rng.below(b.len());
                        b[at] ^= 1 << rng.below(8);
                    }
                    2 => b.truncate(rng.below(b.len() + 1)),
                    _ => {
                        let at = rng.below(b.len() + 1);
                        b.insert(at, rng.next() as u8);
                    }
                }
            }
            b
        };
        match parse(&bytes) {
            Ok(image) => {
                accepted += 1;
                // What parses must write back to exactly the same bytes.
                assert_eq!(image.to_bytes(), bytes, "image {i}");
                for p in 0..image.programs.len() {
                    assert!(profile_for(&image, p).is_ok());
                }
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    println!("{count} images: {accepted} accepted, {refused} refused");
    assert_eq!(accepted + refused, count);
    assert!(refused > count / 2, "mutations should mostly break images");
}

#[test]
fn profiles_follow_the_class_and_entry_point() {
    use verifier::{FieldKind, MapKind as VMapKind};
    let images = all_samples();
    // syscall: its context, copy helpers, no ports, no emit_dirent.
    let p = profile_for(&images[0], 0).unwrap();
    assert_eq!(p.ctx.size, 64);
    assert!(p.helper(lkm::helpers::COPY_TO_USER).is_some());
    assert!(p.helper(lkm::helpers::EMIT_DIRENT).is_none());
    assert!(p.helper(lkm::helpers::INB).is_none());
    assert!(p.ports.is_empty(), "only drivers get their ports");
    // The read-only data is the last map.
    assert_eq!(p.maps.last().map(|m| m.kind), Some(VMapKind::ReadOnly));
    assert_eq!(p.maps.last().map(|m| m.value_size), Some(6));
    // vfs lookup: the name buffer and its length field.
    let vfs = &images[1];
    let (i, _) = vfs.program("lookup").unwrap();
    let p = profile_for(vfs, i).unwrap();
    let len = p.ctx.field("name_len").unwrap();
    assert_eq!(len.kind, FieldKind::Length { buffer: 1, capacity: 64 });
    assert!(p.helper(lkm::helpers::EMIT_DIRENT).is_some());
    // getattr may write mode and size, nothing else.
    let (i, _) = vfs.program("getattr").unwrap();
    let p = profile_for(vfs, i).unwrap();
    let writable: Vec<&str> = p.ctx.fields.iter().filter(|f| f.write).map(|f| f.name.as_ref()).collect();
    assert_eq!(writable, ["mode", "size"]);
    // dev: ports granted as declared.
    let p = profile_for(&images[2], 0).unwrap();
    assert!(p.port_allowed(0x70, 1) && p.port_allowed(0x71, 1) && !p.port_allowed(0x72, 1));
    assert!(p.helper(lkm::helpers::OUTB).is_some());
    assert_eq!(profile_for(&images[2], 9), Err(lkm::ProfileError::NoProgram(9)));
}

#[test]
fn per_cpu_array_maps_round_trip_and_keep_u32_keys() {
    use verifier::MapKind as VMapKind;
    let mut image = all_samples().remove(4);
    image.maps.push(MapDecl { name: "hits".into(), kind: MapKind::PerCpuArray, key_size: 4, value_size: 8, max_entries: 2 });
    let bytes = image.to_bytes();
    assert_eq!(parse(&bytes), Ok(image.clone()));
    let p = profile_for(&image, 0).unwrap();
    assert_eq!(p.maps[2], verifier::MapInfo::per_cpu_array(8, 2));
    assert_eq!(p.maps[2].kind, VMapKind::PerCpuArray);
    assert!(p.helper(lkm::helpers::CPU_ID).is_some());
    image.maps[2].key_size = 8;
    let err = parse(&image.to_bytes()).unwrap_err();
    assert_eq!(err, ImageError::BadMap { map: 2, reason: "an array map's key size must be 4" });
    assert_eq!(MapKind::from_code(3), None);
}
