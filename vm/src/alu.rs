//! The value semantics of RFC 9669, as pure functions: arithmetic, byte
//! order, jump conditions. The interpreter applies them to registers; the
//! JIT's tests use them as the definition of what its code must compute.
//!
//! Operands arrive already widened the way the RFC says: for 64-bit
//! operations an immediate is sign-extended to 64 bits (and then, for the
//! unsigned operations, read as unsigned); for 32-bit operations only the
//! low 32 bits of each operand count.

use verifier::Cond;

// RFC 9669 sections 4.1 and 4.2: arithmetic and byte swap instructions.
// The verifier computes constants with the same functions, so the analysis
// and the interpreter cannot disagree on what an instruction does.
pub use verifier::domain::concrete::{alu32, alu64, endian};

// RFC 9669 section 4.3: jump conditions.
/// Whether `dst COND src` holds on 64 bits.
pub fn cond64(cond: Cond, dst: u64, src: u64) -> bool {
    let (sd, ss) = (dst as i64, src as i64);
    match cond {
        Cond::Eq => dst == src,
        Cond::Gt => dst > src,
        Cond::Ge => dst >= src,
        Cond::Set => dst & src != 0,
        Cond::Ne => dst != src,
        Cond::SGt => sd > ss,
        Cond::SGe => sd >= ss,
        Cond::Lt => dst < src,
        Cond::Le => dst <= src,
        Cond::SLt => sd < ss,
        Cond::SLe => sd <= ss,
    }
}

/// Whether `dst COND src` holds on the low 32 bits (JMP32). This is the
/// 64-bit condition on both operands sign-extended: sign extension keeps
/// the signed and the unsigned order of 32-bit values, and two extended
/// values share a set bit exactly when their low halves do.
pub fn cond32(cond: Cond, dst: u32, src: u32) -> bool {
    cond64(cond, dst as i32 as i64 as u64, src as i32 as i64 as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use verifier::{AluOp, Endian};

    #[test]
    fn division_edge_cases() {
        assert_eq!(alu64(AluOp::Div, 7, 0), 0);
        assert_eq!(alu64(AluOp::Mod, 7, 0), 7);
        assert_eq!(
            alu64(AluOp::SDiv, i64::MIN as u64, u64::MAX),
            i64::MIN as u64
        );
        assert_eq!(alu64(AluOp::SMod, i64::MIN as u64, u64::MAX), 0);
        assert_eq!(
            alu32(AluOp::SDiv, i32::MIN as u32, u32::MAX),
            i32::MIN as u32
        );
        assert_eq!(alu32(AluOp::SMod, (-7i32) as u32, 2), (-1i32) as u32);
        assert_eq!(alu32(AluOp::Mod, 9, 0), 9);
    }

    #[test]
    fn shifts_are_masked() {
        assert_eq!(alu64(AluOp::Lsh, 1, 65), 2);
        assert_eq!(alu32(AluOp::Lsh, 1, 33), 2);
        assert_eq!(alu32(AluOp::Arsh, 0x8000_0000, 31), u32::MAX);
    }

    #[test]
    fn byte_order_and_sign_extension() {
        assert_eq!(endian(Endian::ToBe, 16, 0x1122_3344), 0x4433);
        assert_eq!(endian(Endian::ToLe, 32, 0x1_1122_3344), 0x1122_3344);
        assert_eq!(
            endian(Endian::Swap, 64, 0x0102_0304_0506_0708),
            0x0807_0605_0403_0201
        );
        assert_eq!(alu64(AluOp::MovSx(8), 0, 0x80), 0xffff_ffff_ffff_ff80);
        assert_eq!(alu32(AluOp::MovSx(16), 0, 0x8001), 0xffff_8001);
        assert!(cond32(Cond::SLt, 0xffff_ffff, 0));
        assert!(!cond64(Cond::SLt, 0xffff_ffff, 0));
    }

    #[test]
    fn jmp32_compares_the_low_halves() {
        let edges = [0u32, 1, 2, 0x7fff_fffe, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_fffe, u32::MAX];
        for &d in &edges {
            for &s in &edges {
                let (sd, ss) = (d as i32, s as i32);
                let want = [
                    (Cond::Eq, d == s),
                    (Cond::Ne, d != s),
                    (Cond::Gt, d > s),
                    (Cond::Ge, d >= s),
                    (Cond::Lt, d < s),
                    (Cond::Le, d <= s),
                    (Cond::Set, d & s != 0),
                    (Cond::SGt, sd > ss),
                    (Cond::SGe, sd >= ss),
                    (Cond::SLt, sd < ss),
                    (Cond::SLe, sd <= ss),
                ];
                for (cond, holds) in want {
                    assert_eq!(cond32(cond, d, s), holds, "{cond:?} {d:#x} {s:#x}");
                }
            }
        }
    }
}
