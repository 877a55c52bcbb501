//! Decoding and encoding: every defined opcode form round-trips bit for bit,
//! and every undefined form or nonzero reserved field is refused.

use verifier::{RawInsn, decode, decode_raw, encode, encode_raw};

/// Field values tried for every opcode byte.
const SRCS: [u8; 4] = [0, 1, 2, 10];
const DSTS: [u8; 3] = [0, 5, 11];
const OFFS: [i16; 8] = [0, 1, 8, 16, 32, -1, 5, 0x7fff];
const IMMS: [i32; 12] = [0, 1, 16, 32, 64, 0x40, 0x41, 0x50, 0xa1, 0xe1, 0xf1, -1];

fn try_slot(r: RawInsn) -> Option<RawInsn> {
    let slots = [r, RawInsn::from_u64(0x95)];
    let p = decode_raw(&slots).ok()?;
    let back = encode_raw(&p);
    assert_eq!(
        back,
        slots,
        "round trip of {r:?} decoded as {:?}",
        p.insns()
    );
    Some(r)
}

#[test]
fn every_accepted_single_slot_form_round_trips() {
    let mut codes = std::collections::BTreeSet::new();
    for code in 0..=255u8 {
        if code == 0x18 {
            continue; // lddw: two slots, below
        }
        for &src in &SRCS {
            for &dst in &DSTS {
                for &off in &OFFS {
                    for &imm in &IMMS {
                        if try_slot(RawInsn {
                            code,
                            dst,
                            src,
                            off,
                            imm,
                        })
                        .is_some()
                        {
                            codes.insert(code);
                        }
                    }
                }
            }
        }
    }
    // Every opcode byte RFC 9669 defines, apart from lddw (0x18).
    let mut expected: Vec<u8> = Vec::new();
    for class in [0x04u8, 0x07] {
        for op in [
            0x00u8, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0,
        ] {
            expected.push(op | class);
            expected.push(op | 0x08 | class);
        }
        expected.push(0x80 | class); // neg
    }
    expected.extend([0xd4, 0xdc, 0xd7]); // le, be, bswap
    for size in [0x00u8, 0x08, 0x10, 0x18] {
        expected.extend([0x61 | size, 0x62 | size, 0x63 | size]);
    }
    expected.extend([0x81, 0x89, 0x91, 0xc3, 0xdb]); // ldxs*, atomics
    for class in [0x05u8, 0x06] {
        for op in [
            0x10u8, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
        ] {
            expected.push(op | class);
            expected.push(op | 0x08 | class);
        }
    }
    expected.extend([0x05, 0x06, 0x85, 0x95]); // ja, gotol, call, exit
    let expected: std::collections::BTreeSet<u8> = expected.into_iter().collect();
    let extra: Vec<_> = codes
        .difference(&expected)
        .map(|c| format!("{c:#04x}"))
        .collect();
    let missing: Vec<_> = expected
        .difference(&codes)
        .map(|c| format!("{c:#04x}"))
        .collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "extra {extra:?}, missing {missing:?}"
    );
}

#[test]
fn lddw_forms_round_trip() {
    for src in 0..=6u8 {
        for (lo, hi) in [(0i32, 0i32), (7, 0), (-1, 0x1234), (3, 9)] {
            let slots = [
                RawInsn {
                    code: 0x18,
                    dst: 1,
                    src,
                    off: 0,
                    imm: lo,
                },
                RawInsn {
                    imm: hi,
                    ..RawInsn::default()
                },
                RawInsn::from_u64(0x95),
            ];
            let unused_hi = matches!(src, 1 | 3 | 4 | 5);
            match decode_raw(&slots) {
                Ok(p) => {
                    assert!(
                        !(unused_hi && hi != 0),
                        "src {src} with next imm {hi} accepted"
                    );
                    assert_eq!(encode_raw(&p), slots);
                }
                Err(e) => {
                    assert!(unused_hi && hi != 0, "src {src} refused: {e}");
                    assert_eq!(e.slot, 1);
                }
            }
        }
    }
    let bad = [
        RawInsn {
            code: 0x18,
            src: 7,
            ..RawInsn::default()
        },
        RawInsn::default(),
    ];
    assert!(decode_raw(&bad).is_err());
}

#[test]
fn error_messages_name_slot_and_reason() {
    let msg = |words: &[u64]| {
        let raw: Vec<RawInsn> = words.iter().map(|&w| RawInsn::from_u64(w)).collect();
        decode_raw(&raw).unwrap_err().to_string()
    };
    assert_eq!(
        msg(&[0xb7, 0x95, 0x95, 0x8f]),
        "slot 3: unknown opcode 0x8f"
    );
    assert_eq!(
        msg(&[0x95, 0x95, 0x95, 0x95, 0x95, 0x2004]),
        "slot 5: reserved src field is 2 in `add` with immediate"
    );
    assert_eq!(msg(&[0x18]), "slot 0: lddw missing its second slot");
    assert_eq!(
        msg(&[0x95, 0x30]),
        "slot 1: opcode 0x30: legacy packet access (LD_ABS/LD_IND) is not supported"
    );
    assert_eq!(
        msg(&[0x0b07]),
        "slot 0: dst register r11 does not exist (r0 to r10)"
    );
    assert_eq!(msg(&[]), "slot 0: the program has no instructions");
    assert!(
        decode(&[0x95, 0, 0])
            .unwrap_err()
            .to_string()
            .contains("not a multiple of 8")
    );
}

#[test]
fn decode_encode_bytes() {
    let bytes = [0xb7, 0x00, 0, 0, 0x2a, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(encode(&decode(&bytes).unwrap()), bytes);
}

/// `negative/unused-*.data`: the conformance suite's reserved-field tests.
#[test]
fn conformance_unused_fields_are_refused() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/negative"
    );
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("notice: {dir} not found; skipping");
        return;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("unused-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut bytes = Vec::new();
        let mut in_raw = false;
        for line in text.lines() {
            if let Some(section) = line.strip_prefix("-- ") {
                in_raw = section.trim() == "raw";
            } else if in_raw && !line.starts_with('#') {
                for b in line.split_whitespace() {
                    bytes.push(u8::from_str_radix(b, 16).unwrap());
                }
            }
        }
        let err = decode(&bytes).expect_err(&name);
        assert_eq!(err.slot, 0, "{name}: {err}");
        count += 1;
    }
    assert_eq!(count, 45);
}

#[test]
fn built_programs_have_their_slot_structure_checked() {
    use verifier::{Imm64, Insn, Program, Reg};
    let lddw = Insn::LoadImm64 {
        dst: Reg::R0,
        imm: Imm64::Value(1),
    };
    let good = Program::from_insns(vec![lddw, Insn::Imm64Tail, Insn::Exit]);
    assert_eq!(good.check_slots(), Ok(()));
    let missing = Program::from_insns(vec![lddw, Insn::Exit]);
    assert_eq!(
        missing.check_slots().unwrap_err().to_string(),
        "slot 0: lddw missing its second slot"
    );
    let stray = Program::from_insns(vec![Insn::Exit, Insn::Imm64Tail]);
    assert_eq!(
        stray.check_slots().unwrap_err().to_string(),
        "slot 1: second half of lddw without the lddw before it"
    );
}
