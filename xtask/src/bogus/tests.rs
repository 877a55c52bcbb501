use super::*;

fn sources() -> Vec<Bogus> {
    let dir = crate::kernel::root().join("tests/bogus");
    let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "s"));
    files.sort();
    files
        .iter()
        .map(|p| parse(&p.file_name().unwrap().to_string_lossy(), &fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// The first verifier report among the image's programs, with the program index.
fn first_rejection(image: &Image) -> Option<(usize, verifier::Report)> {
    image.programs.iter().enumerate().find_map(|(i, p)| {
        let program = verifier::decode(&p.code).ok()?;
        let profile = lkm::profile_for(image, i).ok()?;
        verifier::verify(&program, &profile).err().map(|r| (i, r))
    })
}

#[test]
fn every_bogus_source_is_refused_the_way_it_says() {
    let all = sources();
    assert!(all.len() >= 20, "only {} bogus sources", all.len());
    for b in all {
        let bytes = b.image.to_bytes();
        let parsed = lkm::parse(&bytes);
        match b.refusal.as_ref().unwrap_or_else(|| panic!("{}: no refusal directive", b.file)) {
            Refusal::ImageError(text) => {
                let err = parsed.expect_err(&b.file).to_string();
                assert!(err.contains(text.as_str()), "{}: `{err}` lacks `{text}`", b.file);
            }
            Refusal::Rule(kind) => {
                let image = parsed.unwrap_or_else(|e| panic!("{}: {e}", b.file));
                let (_, report) = first_rejection(&image).unwrap_or_else(|| panic!("{} verifies", b.file));
                assert_eq!(report.kind.name(), kind, "{}: {report}", b.file);
            }
            Refusal::Kernel => {
                let image = parsed.unwrap_or_else(|e| panic!("{}: {e}", b.file));
                assert!(first_rejection(&image).is_none(), "{}: the verifier already refuses it", b.file);
            }
        }
    }
}

#[test]
fn rejections_point_at_the_offending_source_line() {
    let text = fs::read_to_string(crate::kernel::root().join("tests/bogus/null_pointer.s")).unwrap();
    let b = parse("null_pointer.s", &text).unwrap();
    let (program, report) = first_rejection(&b.image).unwrap();
    let entry = b.image.lines.as_ref().unwrap().lookup(program, report.pc).unwrap();
    let line = text.lines().nth(entry.line as usize - 1).unwrap();
    assert_eq!(line.trim(), "r0 = *(u64 *)(r0 + 0)");
    assert_eq!(entry.col, 5);
    assert_eq!(b.image.lines.as_ref().unwrap().source, "modules/bogus/null_pointer.s");
}

#[test]
fn corruptions_never_parse_and_the_oversized_one_is_over_the_limit() {
    let good = good_image().to_bytes();
    assert!(lkm::parse(&good).is_ok());
    let all = corruptions(&good);
    assert_eq!(all.len(), 9);
    for (name, bytes) in &all {
        assert!(lkm::parse(bytes).is_err(), "{name} parses");
    }
    let (_, big) = all.iter().find(|(n, _)| *n == "oversized.lkm").unwrap();
    assert!(big.len() as u64 > lkm::ioctl::MAX_IMAGE_SIZE);
}

#[test]
fn directives_errors_name_file_and_line() {
    let err = parse("x.s", "; module: x\n; class: spaceship\n").unwrap_err();
    assert!(err.starts_with("x.s:2: cannot read directive"), "{err}");
    let err = parse("x.s", "; class: misc\n; rule: port\n").unwrap_err();
    assert!(err.contains("no `; module: NAME`"), "{err}");
}
