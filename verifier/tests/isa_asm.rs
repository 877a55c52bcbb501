//! The assembler and the disassembler: both dialects, labels, errors with
//! line and column, and `disasm` output that re-assembles to the same bits.

use verifier::{Insn, Program, RawInsn, assemble, decode_raw, disasm, encode_raw, listing};

fn asm(src: &str) -> Vec<u64> {
    let p = assemble(src).unwrap_or_else(|e| panic!("{src}\n{e}"));
    encode_raw(&p).into_iter().map(RawInsn::to_u64).collect()
}

fn err(src: &str) -> String {
    assemble(src)
        .map(|p| format!("{:?}", p.insns()))
        .expect_err(src)
        .to_string()
}

#[test]
fn both_dialects_give_the_same_bits() {
    let pairs = [
        ("mov32 %r0, 1", "w0 = 1"),
        ("mov %r0, -1", "r0 = -1"),
        ("add %r1, %r2", "r1 += r2"),
        ("sdiv32 %r1, 3", "w1 s/= 3"),
        ("smod %r1, %r2", "r1 s%= r2"),
        ("arsh32 %r1, 3", "w1 s>>= 3"),
        ("neg %r3", "r3 = -r3"),
        ("neg32 %r3", "w3 = -w3"),
        ("movsx832 %r1, %r2", "w1 = (s8)w2"),
        ("movsx3264 %r1, %r2", "r1 = (s32)r2"),
        ("be16 %r1", "r1 = be16 r1"),
        ("le64 %r1", "r1 = le64 r1"),
        ("swap32 %r1", "r1 = bswap32 r1"),
        ("lddw %r0, 0x1122334455667788", "r0 = 0x1122334455667788 ll"),
        ("lddw %r1, map[2]", "r1 = map[2] ll"),
        ("lddw %r1, map_value[0]+4", "r1 = map_value[0] + 4 ll"),
        ("ldxw %r0, [%r1+4]", "r0 = *(u32 *)(r1 + 4)"),
        ("ldxsh %r0, [%r10-2]", "r0 = *(s16 *)(r10 - 2)"),
        ("ldxdw %r0, [%r1]", "r0 = *(u64 *)(r1 + 0)"),
        ("stb [%r10-1], 0x80", "*(u8 *)(r10 - 1) = 128"),
        ("stxdw [%r10-8], %r1", "*(u64 *)(r10 - 8) = r1"),
        ("lock add [%r10-8], %r1", "lock *(u64 *)(r10 - 8) += r1"),
        ("lock xor32 [%r10-4], %r1", "lock *(u32 *)(r10 - 4) ^= w1"),
        (
            "lock fetch or [%r10-8], %r3",
            "r3 = atomic_fetch_or((u64 *)(r10 - 8), r3)",
        ),
        (
            "lock fetch and32 [%r10-4], %r3",
            "w3 = atomic_fetch_and((u32 *)(r10 - 4), w3)",
        ),
        ("lock xchg [%r10-8], %r1", "r1 = xchg_64(r10 - 8, r1)"),
        ("lock xchg32 [%r10-8], %r1", "w1 = xchg32_32(r10 - 8, w1)"),
        (
            "lock cmpxchg [%r10-8], %r1",
            "r0 = cmpxchg_64(r10 - 8, r0, r1)",
        ),
        (
            "lock cmpxchg32 [%r10-8], %r1",
            "w0 = cmpxchg32_32(r10 - 8, w0, w1)",
        ),
        ("jne %r1, 2, +1", "if r1 != 0x2 goto +1"),
        ("jsle32 %r1, %r2, -1", "if w1 s<= w2 goto -1"),
        ("jset %r1, 8, +0", "if r1 & 8 goto +0"),
        ("ja +2", "goto +2"),
        ("ja32 +2", "gotol +2"),
        ("call 5", "call 5"),
        ("exit", "exit"),
    ];
    for (conf, llvm) in pairs {
        assert_eq!(asm(conf), asm(llvm), "`{conf}` vs `{llvm}`");
    }
}

#[test]
fn labels_resolve_both_ways() {
    let src = "
        start:  r0 = 0          # comment
                if r1 == 0 goto done ; another
        loop:   r0 += 1         // and another
                r1 -= 1
                if r1 != 0 goto loop
                call sub
        done:   exit
        sub:    exit
    ";
    let p = assemble(src).unwrap();
    assert_eq!(
        p.insns()[1],
        Insn::Jump {
            width: verifier::Width::W64,
            cond: verifier::Cond::Eq,
            dst: verifier::Reg::R1,
            src: verifier::Src::Imm(0),
            off: 4,
        }
    );
    assert_eq!(p.insns()[4].target(4), Some(2));
    assert_eq!(p.insns()[5], Insn::CallLocal { off: 1 });
    // conformance form of a local call
    assert_eq!(
        asm("call local f\nexit\nf: exit"),
        asm("call pc+1\nexit\nexit")
    );
}

#[test]
fn errors_have_line_and_column() {
    assert_eq!(
        err("exit\n  ldxq %r0, %r1"),
        "error: unknown instruction `ldxq`\n --> line 2:3"
    );
    assert!(err("or %r0, %r50").starts_with("error: invalid register `r50`\n --> line 1:9"));
    assert!(
        err("mov32 %r0, 2147483648")
            .starts_with("error: immediate 2147483648 does not fit in 32 bits\n --> line 1:12")
    );
    assert!(err("mov32 %r0, 0x100000000").contains("does not fit in 32 bits"));
    assert!(err("ldxb %r0, [%r1+0x10000]").contains("offset 65536 does not fit in 16 bits"));
    assert!(err("ldxb %r0, %r1").contains("expected a memory operand"));
    assert!(err("lddw %r0").contains("expected `,`"));
    assert_eq!(
        err("ja NOT_A_LABEL\nexit"),
        "error: undefined label `NOT_A_LABEL`\n --> line 1:4"
    );
    assert!(err("lock or [%r10-8]").contains("invalid number of operands for `lock`"));
    assert!(err("lock").contains("invalid number of operands for `lock`"));
    assert!(err("call %r2").contains("callx"));
    assert!(err("ldabsb 4").contains("legacy packet access is not supported"));
    assert!(err("").contains("no instructions"));
    assert!(err("w1 += r2").contains("different widths"));
    assert!(err("a: exit\na: exit").contains("defined twice"));
    assert!(err("r1 = 1 2").contains("unexpected text"));
}

/// Every instruction form the decoder accepts prints as text that
/// assembles back to the same instruction.
#[test]
fn disasm_of_every_form_reassembles() {
    let mut n = 0;
    for code in 0..=255u8 {
        for src in [0u8, 1, 2, 10] {
            for off in [0i16, 1, 8, 16, 32, -7, 0x7fff, -0x8000] {
                for imm in [0i32, 1, 16, 32, 64, 0x41, 0xa1, 0xe1, 0xf1, -1, i32::MIN] {
                    let mut slots = vec![RawInsn {
                        code,
                        dst: 3,
                        src,
                        off,
                        imm,
                    }];
                    if code == 0x18 {
                        slots.push(RawInsn {
                            imm: 5,
                            ..RawInsn::default()
                        });
                    }
                    let Ok(p) = decode_raw(&slots) else { continue };
                    let text = disasm(&p.insns()[0]);
                    let back = assemble(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
                    assert_eq!(back, p, "{text}");
                    n += 1;
                }
            }
        }
    }
    assert!(n > 1000, "only {n} forms");
}

#[test]
fn listing_uses_labels_and_reassembles() {
    let p =
        assemble("r0 = 0\nL: r0 += 1\nif r0 < 10 goto L\ncall f\nr1 = 7 ll\nexit\nf: r0 = 1\nexit")
            .unwrap();
    let text = listing(&p);
    assert_eq!(
        text,
        "    r0 = 0\nL1:\n    r0 += 1\n    if r0 < 0xa goto L1\n    call f7\n    r1 = 0x7 ll\n    exit\nf7:\n    r0 = 1\n    exit\n"
    );
    assert_eq!(assemble(&text).unwrap(), p);
    // Jumps that leave the program stay relative.
    let odd = Program::from_insns(vec![
        Insn::Ja {
            off: 5,
            long: false,
        },
        Insn::Exit,
    ]);
    assert_eq!(listing(&odd), "    goto +5\n    exit\n");
    assert_eq!(assemble(&listing(&odd)).unwrap(), odd);
}

#[test]
fn disasm_matches_llvm_and_linux_style() {
    let d = |s: &str| disasm(&assemble(s).unwrap().insns()[0]);
    assert_eq!(d("mov %r0, %r1"), "r0 = r1");
    assert_eq!(d("add32 %r0, 1"), "w0 += 1");
    assert_eq!(d("jgt %r1, 16, +3"), "if r1 > 0x10 goto +3");
    assert_eq!(d("ldxw %r0, [%r1+4]"), "r0 = *(u32 *)(r1 + 4)");
    assert_eq!(d("call 1"), "call 1");
    assert_eq!(d("exit"), "exit");
    assert_eq!(d("jslt %r1, -5, -2"), "if r1 s< -5 goto -2");
}

/// Random input never panics the assembler, the decoder or the
/// disassembler: it is refused with an error or accepted.
#[test]
fn random_input_is_refused_or_accepted_never_a_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words = [
        "r0",
        "w1",
        "%r2",
        "r10",
        "r11",
        "=",
        "+=",
        "s>>=",
        "*",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "+",
        "-",
        "u8",
        "s32",
        "0x7fff",
        "65536",
        "-1",
        "ll",
        "map",
        "map_value",
        "goto",
        "if",
        "lock",
        "call",
        "exit",
        "ldxw",
        "stxdw",
        "mov32",
        "jne",
        "lddw",
        "L",
        "pc",
        "atomic_fetch_add",
        "xchg_64",
        "cmpxchg32_32",
        "be16",
        "#",
        "é",
        "0x",
        "99999999999999999999999",
    ];
    for _ in 0..20_000 {
        let n = (next() % 8) as usize;
        let line: Vec<&str> = (0..n)
            .map(|_| words[(next() % words.len() as u64) as usize])
            .collect();
        let src = format!("{}\nexit", line.join(" "));
        if let Ok(p) = assemble(&src) {
            assert_eq!(assemble(&listing(&p)).unwrap(), p, "{src}");
        }
    }
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..16).map(|_| next() as u8).collect();
        if let Ok(p) = verifier::decode(&bytes) {
            assert_eq!(verifier::encode(&p), bytes);
            let _ = listing(&p);
        }
    }
}

#[test]
fn labeled_disassembly_keeps_mnemonics() {
    use verifier::disasm_labeled;
    let p = assemble("gotol +1\nif w1 s< 3 goto +0\ncall pc-3\nexit").unwrap();
    let name = |t: i64| (t == 2).then(|| String::from("here"));
    assert_eq!(disasm_labeled(&p.insns()[0], 0, &name), "gotol here");
    assert_eq!(
        disasm_labeled(&p.insns()[1], 1, &name),
        "if w1 s< 0x3 goto here"
    );
    assert_eq!(disasm_labeled(&p.insns()[2], 2, &name), "call pc-3");
}
