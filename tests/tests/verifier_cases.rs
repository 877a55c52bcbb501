//! The verifier case suite: every `tests/verifier/cases/*.txt` file, in the
//! format described in `warden_tests::cases` (and docs/verifier.md).
//! Each case is verified and its verdict compared with the expected one.

use std::path::Path;

use warden_tests::cases::{parse_file, run, Expect};

#[test]
fn verifier_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("verifier/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let (mut accepts, mut rejects, mut failures) = (0, 0, Vec::new());
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("readable case file");
        let cases = parse_file(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        for case in &cases {
            match case.expect {
                Expect::Accept => accepts += 1,
                Expect::Reject { .. } => rejects += 1,
            }
            if let Err(e) = run(case) {
                failures.push(format!("{}:{}: {}: {e}", case.file, case.line, case.name));
            }
        }
    }
    println!("{} cases in {} files: {accepts} expect accept, {rejects} expect reject", accepts + rejects, files.len());
    for f in &failures {
        println!("FAILED {f}\n");
    }
    assert!(failures.is_empty(), "{} of {} cases failed", failures.len(), accepts + rejects);
    assert!(accepts + rejects > 0, "no cases found in {}", dir.display());
}

/// A case too long to write out: four diamonds that differ only in a
/// number no decision reads, each followed by 3,000 64-bit constant loads
/// and a decision whose walk back crosses them to the state stored at the
/// diamond's join. A 64-bit load is one instruction of the walk, so the
/// walk (about 3,000 steps) stays within its limit (4,096) and the joins
/// prune: about 24,000 instructions. Counted as two steps, the walks would
/// be cut short, every number compared, and the analysis would need about
/// 90,000, over the limit of 50,000 set here.
#[test]
fn a_walk_counts_a_64_bit_constant_load_as_one_step() {
    let mut text = String::from(
        "ctx 16 r:0-16\nmap 0 array value 16 max 1\nhelpers all\npre r1: ctx, r6: map_value(m0)\nlimit insns 50000\n\
         == long walks over 64-bit constant loads\nr7 = 0\n*(u64 *)(r10 - 8) = r7\n",
    );
    for k in 0..4 {
        text += &format!(
            "r2 = *(u8 *)(r1 + {k})\nif r2 > 5 goto a{k}\nr3 = *(u64 *)(r10 - 8)\nr3 |= {}\n*(u64 *)(r10 - 8) = r3\ngoto j{k}\n\
             a{k}:\nr5 = 0\ngoto j{k}\nj{k}:\nr0 = r7\n",
            1 << k
        );
        text += &"r5 = 0x123456789 ll\n".repeat(3000);
        text += "r4 = r6\nr4 += r0\nr0 = *(u8 *)(r4 + 0)\n";
    }
    text += "r0 = *(u64 *)(r10 - 8)\nexit\nexpect accept\n";
    let cases = parse_file("generated", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cases.len(), 1);
    if let Err(e) = run(&cases[0]) {
        panic!("{}: {e}", cases[0].name);
    }
}
