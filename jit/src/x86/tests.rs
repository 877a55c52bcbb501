//! Encoder tests: exact bytes for a few encodings taken from the Intel SDM,
//! and every register combination of every encoder decoded back by iced-x86
//! and compared with iced's own encoding of the instruction decoded.

use super::*;
use alloc::string::String;
use alloc::vec::Vec;
use iced_x86::{Decoder, DecoderOptions, Encoder, Formatter, IntelFormatter, MemorySizeOptions, OpKind, Register};

/// How a memory operand's displacement is to be encoded.
#[derive(Clone, Copy, PartialEq)]
enum Disp {
    /// None for 0 (where the base allows), else 8 bits where the value
    /// fits, else 32: what [`Mem`] operands promise.
    Shortest,
    /// As the instruction wrote it ([`Asm::lea_indexed`] always writes 32
    /// bits).
    AsWritten,
}

/// Decodes `bytes` as exactly one instruction with the shortest
/// displacement and formats it in Intel syntax ([`decode_as`]).
fn decode_one(bytes: &[u8]) -> String {
    decode_as(bytes, Disp::Shortest)
}

/// Decodes `bytes` as exactly one instruction, checks that they are what
/// iced's encoder makes of the same instruction (a REX prefix only where
/// SDM vol. 2, 2.2.1 needs one, the SIB byte and the displacement `disp`
/// asks for), and formats it in Intel syntax.
fn decode_as(bytes: &[u8], disp: Disp) -> String {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let insn = decoder.decode();
    assert!(!insn.is_invalid(), "invalid encoding {bytes:02x?}");
    assert_eq!(insn.len(), bytes.len(), "trailing bytes in {bytes:02x?}");
    let mut out = String::new();
    let mut fmt = IntelFormatter::new();
    fmt.options_mut().set_memory_size_options(MemorySizeOptions::Always);
    fmt.format(&insn, &mut out);
    let mut canonical = insn;
    let has_base = (0..insn.op_count()).any(|i| insn.op_kind(i) == OpKind::Memory)
        && !matches!(insn.memory_base(), Register::None | Register::RIP);
    if disp == Disp::Shortest && has_base {
        // Size 1 lets the encoder pick 8 bits, or 32 where 8 do not hold.
        canonical.set_memory_displ_size(u32::from(insn.memory_displacement64() != 0));
    }
    let mut encoder = Encoder::new(64);
    if let Err(e) = encoder.encode(&canonical, 0) {
        panic!("iced cannot encode `{out}` (from {bytes:02x?}): {e}");
    }
    assert_eq!(encoder.take_buffer(), bytes, "{bytes:02x?} is not the shortest encoding of `{out}`");
    out
}

fn emit(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
    let mut a = Asm::new();
    f(&mut a);
    a.into_bytes()
}

fn name(r: R, size: OpSize) -> &'static str {
    const Q: [&str; 16] = [
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ];
    const D: [&str; 16] = [
        "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d",
        "r12d", "r13d", "r14d", "r15d",
    ];
    const W: [&str; 16] = [
        "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w",
        "r13w", "r14w", "r15w",
    ];
    const B: [&str; 16] = [
        "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b",
        "r13b", "r14b", "r15b",
    ];
    let i = r.number() as usize;
    match size {
        OpSize::S64 => Q[i],
        OpSize::S32 => D[i],
        OpSize::S16 => W[i],
        OpSize::S8 => B[i],
    }
}

const SIZES: [OpSize; 4] = [OpSize::S8, OpSize::S16, OpSize::S32, OpSize::S64];
const DISPS: [i32; 5] = [0, 8, -8, 0x1000, -0x8000];

fn mem_text(m: Mem) -> String {
    let base = name(m.base, OpSize::S64);
    match m.disp {
        0 => format!("[{base}]"),
        d if d < 0 => format!("[{base}-{}]", hex(-(d as i64) as u64)),
        d => format!("[{base}+{}]", hex(d as u64)),
    }
}

fn ptr(size: OpSize) -> &'static str {
    match size {
        OpSize::S8 => "byte ptr ",
        OpSize::S16 => "word ptr ",
        OpSize::S32 => "dword ptr ",
        OpSize::S64 => "qword ptr ",
    }
}

#[test]
fn exact_bytes_from_the_manual() {
    // mov rax, rbx: REX.W 89 /r
    assert_eq!(emit(|a| a.mov_rr(OpSize::S64, R::Rax, R::Rbx)), [0x48, 0x89, 0xd8]);
    // mov r8d, r15d: REX.RB 89 /r
    assert_eq!(emit(|a| a.mov_rr(OpSize::S32, R::R8, R::R15)), [0x45, 0x89, 0xf8]);
    // add rsp, 8 (imm8 form 83 /0 ib)
    assert_eq!(emit(|a| a.alu_ri(AluKind::Add, OpSize::S64, R::Rsp, 8)), [0x48, 0x83, 0xc4, 0x08]);
    // sub rsp, 0x200 (imm32 form 81 /5 id)
    assert_eq!(
        emit(|a| a.alu_ri(AluKind::Sub, OpSize::S64, R::Rsp, 0x200)),
        [0x48, 0x81, 0xec, 0x00, 0x02, 0x00, 0x00]
    );
    // mov rax, [rbp-8]: rbp base always carries a displacement
    assert_eq!(emit(|a| a.load(OpSize::S64, R::Rax, Mem::new(R::Rbp, -8))), [0x48, 0x8b, 0x45, 0xf8]);
    // mov rax, [r13+0]
    assert_eq!(emit(|a| a.load(OpSize::S64, R::Rax, Mem::new(R::R13, 0))), [0x49, 0x8b, 0x45, 0x00]);
    // mov rax, [rsp]: SIB 24
    assert_eq!(emit(|a| a.load(OpSize::S64, R::Rax, Mem::new(R::Rsp, 0))), [0x48, 0x8b, 0x04, 0x24]);
    // mov cl, al / movzx eax, bl / mov [rax], dl / add esi, 1: no REX
    // prefix, which neither al..bl nor a 32-bit operation needs (SDM vol. 2,
    // 2.2.1: only r8-r15, 64-bit operands and spl..dil do)
    assert_eq!(emit(|a| a.mov_rr(OpSize::S8, R::Rcx, R::Rax)), [0x88, 0xc1]);
    assert_eq!(emit(|a| a.movzx_rr(OpSize::S8, R::Rax, R::Rbx)), [0x0f, 0xb6, 0xc3]);
    assert_eq!(emit(|a| a.store(OpSize::S8, Mem::new(R::Rax, 0), R::Rdx)), [0x88, 0x10]);
    assert_eq!(emit(|a| a.alu_ri(AluKind::Add, OpSize::S32, R::Rsi, 1)), [0x83, 0xc6, 0x01]);
    // mov [rdi+1], sil: REX needed for sil
    assert_eq!(emit(|a| a.store(OpSize::S8, Mem::new(R::Rdi, 1), R::Rsi)), [0x40, 0x88, 0x77, 0x01]);
    // movabs r10, 0x1122334455667788
    assert_eq!(
        emit(|a| a.mov_r64_imm64(R::R10, 0x1122334455667788)),
        [0x49, 0xba, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
    );
    // lock cmpxchg [rdi], rsi
    assert_eq!(emit(|a| a.lock_cmpxchg(OpSize::S64, Mem::new(R::Rdi, 0), R::Rsi)), [0xf0, 0x48, 0x0f, 0xb1, 0x37]);
    // bswap r9d
    assert_eq!(emit(|a| a.bswap(OpSize::S32, R::R9)), [0x41, 0x0f, 0xc9]);
    // push r15 / pop rbx / ret / cqo
    assert_eq!(emit(|a| a.push(R::R15)), [0x41, 0x57]);
    assert_eq!(emit(|a| a.pop(R::Rbx)), [0x5b]);
    assert_eq!(emit(|a| a.ret()), [0xc3]);
    assert_eq!(emit(|a| a.sign_extend_rax(OpSize::S64)), [0x48, 0x99]);
    // jcc rel32 and jmp rel8
    assert_eq!(emit(|a| a.jcc32(Cc::Ne, 0x100)), [0x0f, 0x85, 0x00, 0x01, 0x00, 0x00]);
    assert_eq!(emit(|a| a.jmp8(-2)), [0xeb, 0xfe]);
    // call r11 (host far-call mode)
    assert_eq!(emit(|a| a.call_reg(R::R11)), [0x41, 0xff, 0xd3]);
    // fuel: sub qword [rip+0x10], 5 / sub qword [rip-4], 0x1000 / sub qword [r11], 7 / jmp r11
    assert_eq!(emit(|a| a.alu_rip_imm(AluKind::Sub, 0x10, 5)), [0x48, 0x83, 0x2d, 0x10, 0, 0, 0, 0x05]);
    assert_eq!(
        emit(|a| a.alu_rip_imm(AluKind::Sub, -4, 0x1000)),
        [0x48, 0x81, 0x2d, 0xfc, 0xff, 0xff, 0xff, 0x00, 0x10, 0x00, 0x00]
    );
    assert_eq!(Asm::alu_rip_imm_len(5), 8);
    assert_eq!(Asm::alu_rip_imm_len(0x1000), 11);
    assert_eq!(emit(|a| a.alu_mi(AluKind::Sub, Mem::new(R::R11, 0), 7)), [0x49, 0x83, 0x2b, 0x07]);
    assert_eq!(emit(|a| a.jmp_reg(R::R11)), [0x41, 0xff, 0xe3]);
    // sub qword [rip+0x10], r10 / sub qword [r11], r10
    assert_eq!(emit(|a| a.alu_rip_reg(AluKind::Sub, 0x10, R::R10)), [0x4c, 0x29, 0x15, 0x10, 0, 0, 0]);
    assert_eq!(emit(|a| a.alu_mr(AluKind::Sub, Mem::new(R::R11, 0), R::R10)), [0x4d, 0x29, 0x13]);
    assert_eq!(decode_one(&emit(|a| a.alu_rip_reg(AluKind::Sub, 0x10, R::Rax))), "sub qword ptr [17h],rax");
    // Decoded at address 0, the operand is the end (11) plus 0x10.
    assert_eq!(decode_one(&emit(|a| a.alu_rip_imm(AluKind::Sub, 0x10, 0x1000))), "sub qword ptr [1Bh],1000h");
}

#[test]
fn register_moves_and_alu_decode_back() {
    let ops = [
        (AluKind::Add, "add"),
        (AluKind::Or, "or"),
        (AluKind::And, "and"),
        (AluKind::Sub, "sub"),
        (AluKind::Xor, "xor"),
        (AluKind::Cmp, "cmp"),
    ];
    for size in SIZES {
        for d in R::ALL {
            for s in R::ALL {
                let (dn, sn) = (name(d, size), name(s, size));
                assert_eq!(decode_one(&emit(|a| a.mov_rr(size, d, s))), format!("mov {dn},{sn}"));
                for (op, text) in ops {
                    assert_eq!(decode_one(&emit(|a| a.alu_rr(op, size, d, s))), format!("{text} {dn},{sn}"));
                }
                assert_eq!(decode_one(&emit(|a| a.test_rr(size, d, s))), format!("test {dn},{sn}"));
                if size != OpSize::S8 {
                    assert_eq!(decode_one(&emit(|a| a.imul_rr(size, d, s))), format!("imul {dn},{sn}"));
                }
            }
        }
    }
}

#[test]
fn immediates_decode_back() {
    for r in R::ALL {
        for size in [OpSize::S32, OpSize::S64] {
            let n = name(r, size);
            for imm in [1i32, -1, 127, -128, 128, 0x12345678, i32::MIN] {
                // The immediate as the processor sees it: sign-extended to
                // the operand size.
                let ext = hex(if size == OpSize::S64 { imm as i64 as u64 } else { imm as u32 as u64 });
                let got = decode_one(&emit(|a| a.alu_ri(AluKind::Add, size, r, imm)));
                assert_eq!(got, format!("add {n},{}", ext));
                let got = decode_one(&emit(|a| a.test_ri(size, r, imm)));
                assert_eq!(got, format!("test {n},{}", ext));
                let src = if r == R::Rbx { R::Rcx } else { R::Rbx };
                let got = decode_one(&emit(|a| a.imul_rri(size, r, src, imm)));
                assert_eq!(got, format!("imul {n},{},{}", name(src, size), ext));
            }
        }
        for imm in [0u64, 1, 0xffff_ffff, 0xffff_ffff_ffff_fff0, 0x1_0000_0000, 0x8000_0000] {
            let mut a = Asm::new();
            a.load_imm(r, imm);
            let bytes = a.into_bytes();
            let got = decode_one(&bytes);
            let expect = match imm {
                0 => format!("xor {0},{0}", name(r, OpSize::S32)),
                v if v <= 0xffff_ffff => format!("mov {},{}", name(r, OpSize::S32), hex(v)),
                v => format!("mov {},{}", name(r, OpSize::S64), hex(v)),
            };
            assert_eq!(got, expect, "{bytes:02x?}");
        }
    }
}

/// A number as iced's Intel formatter prints it: decimal below 10, else
/// upper-case hex with an `h` suffix and a leading 0 before a letter.
fn hex(v: u64) -> String {
    let h = format!("{v:X}h");
    match v {
        0..=9 => format!("{v}"),
        _ if h.starts_with(|c: char| c.is_ascii_alphabetic()) => format!("0{h}"),
        _ => h,
    }
}

#[test]
fn memory_operands_decode_back() {
    for base in R::ALL {
        for disp in DISPS {
            let m = Mem::new(base, disp);
            let mt = mem_text(m);
            for r in R::ALL {
                for size in SIZES {
                    let rn = name(r, size);
                    let p = ptr(size);
                    assert_eq!(decode_one(&emit(|a| a.store(size, m, r))), format!("mov {p}{mt},{rn}"));
                    if size >= OpSize::S32 {
                        assert_eq!(decode_one(&emit(|a| a.load(size, r, m))), format!("mov {rn},{p}{mt}"));
                    }
                    let lock = |op: &str| format!("lock {op} {p}{mt},{rn}");
                    if size >= OpSize::S32 {
                        assert_eq!(decode_one(&emit(|a| a.lock_xadd(size, m, r))), lock("xadd"));
                        assert_eq!(decode_one(&emit(|a| a.lock_cmpxchg(size, m, r))), lock("cmpxchg"));
                        assert_eq!(decode_one(&emit(|a| a.lock_alu_mr(AluKind::Or, size, m, r))), lock("or"));
                        assert_eq!(decode_one(&emit(|a| a.xchg_mr(size, m, r))), format!("xchg {p}{mt},{rn}"));
                    }
                }
                let (d32, d64) = (name(r, OpSize::S32), name(r, OpSize::S64));
                assert_eq!(decode_one(&emit(|a| a.lea(OpSize::S64, r, m))), format!("lea {d64},{mt}"));
                assert_eq!(decode_one(&emit(|a| a.lea(OpSize::S32, r, m))), format!("lea {d32},{mt}"));
                assert_eq!(decode_one(&emit(|a| a.movzx_load(OpSize::S8, r, m))), format!("movzx {d32},byte ptr {mt}"));
                assert_eq!(decode_one(&emit(|a| a.movzx_load(OpSize::S16, r, m))), format!("movzx {d32},word ptr {mt}"));
                assert_eq!(decode_one(&emit(|a| a.movsx_load(OpSize::S8, r, m))), format!("movsx {d64},byte ptr {mt}"));
                assert_eq!(decode_one(&emit(|a| a.movsx_load(OpSize::S16, r, m))), format!("movsx {d64},word ptr {mt}"));
                assert_eq!(decode_one(&emit(|a| a.movsx_load(OpSize::S32, r, m))), format!("movsxd {d64},dword ptr {mt}"));
            }
            for size in SIZES {
                let imm = match size {
                    OpSize::S8 => "7Fh",
                    OpSize::S16 => "1234h",
                    _ => "12345678h",
                };
                let v = i32::from_str_radix(imm.trim_end_matches('h'), 16).unwrap();
                let want = format!("mov {}{mt},{imm}", ptr(size));
                assert_eq!(decode_one(&emit(|a| a.store_imm(size, m, v))), want);
            }
        }
    }
}

#[test]
fn indexed_lea_decodes_back() {
    for dst in R::ALL {
        for base in R::ALL {
            for index in R::ALL.into_iter().filter(|&r| r != R::Rsp) {
                for (disp, text) in [(0x1234_5678, "+12345678h"), (-0x10, "-10h")] {
                    let (b, i) = (name(base, OpSize::S64), name(index, OpSize::S64));
                    for size in [OpSize::S32, OpSize::S64] {
                        let want = format!("lea {},[{b}+{i}{text}]", name(dst, size));
                        let got = decode_as(&emit(|a| a.lea_indexed(size, dst, base, index, disp)), Disp::AsWritten);
                        assert_eq!(got, want);
                    }
                }
            }
        }
    }
}

#[test]
fn unary_shift_and_extend_decode_back() {
    let shifts = [(ShiftKind::Shl, "shl"), (ShiftKind::Shr, "shr"), (ShiftKind::Sar, "sar"), (ShiftKind::Ror, "ror")];
    for r in R::ALL {
        for size in [OpSize::S16, OpSize::S32, OpSize::S64] {
            let n = name(r, size);
            assert_eq!(decode_one(&emit(|a| a.neg(size, r))), format!("neg {n}"));
            assert_eq!(decode_one(&emit(|a| a.div(size, r))), format!("div {n}"));
            assert_eq!(decode_one(&emit(|a| a.idiv(size, r))), format!("idiv {n}"));
            for (k, t) in shifts {
                assert_eq!(decode_one(&emit(|a| a.shift_cl(k, size, r))), format!("{t} {n},cl"));
                assert_eq!(decode_one(&emit(|a| a.shift_imm(k, size, r, 8))), format!("{t} {n},8"));
            }
        }
        for size in [OpSize::S32, OpSize::S64] {
            assert_eq!(decode_one(&emit(|a| a.bswap(size, r))), format!("bswap {}", name(r, size)));
        }
        assert_eq!(decode_one(&emit(|a| a.push(r))), format!("push {}", name(r, OpSize::S64)));
        assert_eq!(decode_one(&emit(|a| a.pop(r))), format!("pop {}", name(r, OpSize::S64)));
        assert_eq!(decode_one(&emit(|a| a.call_reg(r))), format!("call {}", name(r, OpSize::S64)));
        assert_eq!(decode_one(&emit(|a| a.mov_r32_imm(r, 0x1234_5678))), format!("mov {},12345678h", name(r, OpSize::S32)));
        for s in R::ALL {
            let (d32, d64) = (name(r, OpSize::S32), name(r, OpSize::S64));
            let (b, w, s32) = (name(s, OpSize::S8), name(s, OpSize::S16), name(s, OpSize::S32));
            assert_eq!(decode_one(&emit(|a| a.movzx_rr(OpSize::S8, r, s))), format!("movzx {d32},{b}"));
            assert_eq!(decode_one(&emit(|a| a.movzx_rr(OpSize::S16, r, s))), format!("movzx {d32},{w}"));
            assert_eq!(decode_one(&emit(|a| a.movsx_rr(OpSize::S64, OpSize::S8, r, s))), format!("movsx {d64},{b}"));
            assert_eq!(decode_one(&emit(|a| a.movsx_rr(OpSize::S64, OpSize::S16, r, s))), format!("movsx {d64},{w}"));
            assert_eq!(decode_one(&emit(|a| a.movsx_rr(OpSize::S64, OpSize::S32, r, s))), format!("movsxd {d64},{s32}"));
            assert_eq!(decode_one(&emit(|a| a.movsx_rr(OpSize::S32, OpSize::S8, r, s))), format!("movsx {d32},{b}"));
            assert_eq!(decode_one(&emit(|a| a.movsx_rr(OpSize::S32, OpSize::S16, r, s))), format!("movsx {d32},{w}"));
        }
    }
}

#[test]
fn jumps_and_calls_decode_back() {
    let ccs = [
        (Cc::B, "jb"), (Cc::Ae, "jae"), (Cc::E, "je"), (Cc::Ne, "jne"), (Cc::Be, "jbe"),
        (Cc::A, "ja"), (Cc::L, "jl"), (Cc::Ge, "jge"), (Cc::Le, "jle"), (Cc::G, "jg"),
    ];
    for (cc, t) in ccs {
        assert_eq!(decode_one(&emit(|a| a.jcc8(cc, 0x10))), format!("{t} short 0000000000000012h"));
        assert_eq!(decode_one(&emit(|a| a.jcc32(cc, 0x1000))), format!("{t} 0000000000001006h"));
    }
    assert_eq!(decode_one(&emit(|a| a.jmp32(0x1000))), "jmp 0000000000001005h");
    assert_eq!(decode_one(&emit(|a| a.call32(0x1000))), "call 0000000000001005h");
}
