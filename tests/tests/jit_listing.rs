//! The JIT listing a student sees: each bytecode instruction in LLVM syntax
//! followed by the x86-64 code made of it, with function headers; the
//! loop's `r2 -= 1; if r2 != 0` is `sub` + `jne` (the flags of `sub` serve),
//! the call of the small straight-line function 1 is replaced by its code,
//! and function 1 (still compiled) starts 32-byte aligned after `int3`
//! padding.

use verifier::assemble;
use warden_tests::jitrun::verify_for_memory;

#[test]
fn listing_interleaves_bytecode_and_x86() {
    let program = assemble(
        "
        r0 = 0
        r2 = 10
    loop:
        r0 += r2
        r2 -= 1
        if r2 != 0 goto loop
        r1 = r0
        call f
        exit
    f:
        r0 = r1
        r0 *= 3
        exit
    ",
    )
    .unwrap();
    let verified = verify_for_memory(&program, 0).unwrap();
    let out = jit::compile(&verified, &jit::JitOptions::new(0x1000)).unwrap();
    let text = jit::listing::listing(verified.program(), &out);
    let expected = [
        "<function 0> at 0x1000",
        "     0: r0 = 0",
        "    0000  31 c0                           xor eax,eax",
        "     1: r2 = 10",
        "    0002  be 0a 00 00 00                  mov esi,0Ah",
        "     2: r0 += r2",
        "    0007  48 01 f0                        add rax,rsi",
        "     3: r2 -= 1",
        "    000a  48 83 ee 01                     sub rsi,1",
        "     4: if r2 != 0x0 goto -3",
        "    000e  75 f7                           jne short 0000000000001007h",
        "     5: r1 = r0",
        "    0010  48 89 c7                        mov rdi,rax",
        "     6: call pc+1",
        "    0013  48 89 f8                        mov rax,rdi",
        "    0016  48 6b c0 03                     imul rax,3",
        "     7: exit",
        "    001a  c3                              ret",
        "    001f  cc                              int3",
        "<function 1> at 0x1020",
        "     8: r0 = r1",
        "    0020  48 89 f8                        mov rax,rdi",
        "     9: r0 *= 3",
        "    0023  48 6b c0 03                     imul rax,3",
        "    10: exit",
        "    0027  c3                              ret",
    ];
    for line in expected {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
    }
}
