//! The value semantics of RFC 9669, as pure functions: arithmetic, byte
//! order, jump conditions. The interpreter applies them to registers; the
//! JIT's tests use them as the definition of what its code must compute.
//!
//! Operands arrive already widened the way the RFC says: for 64-bit
//! operations an immediate is sign-extended to 64 bits (and then, for the
//! unsigned operations, read as unsigned); for 32-bit operations only the
//! low 32 bits of each operand count.

use verifier::{AluOp, Cond, Endian};

// RFC 9669 section 4.1: arithmetic instructions, 64-bit (ALU64).
/// `dst OP src` on 64 bits.
pub fn alu64(op: AluOp, dst: u64, src: u64) -> u64 {
    match op {
        AluOp::Add => dst.wrapping_add(src),
        AluOp::Sub => dst.wrapping_sub(src),
        AluOp::Mul => dst.wrapping_mul(src),
        // Division by zero gives 0; signed INT_MIN / -1 wraps to INT_MIN.
        AluOp::Div => dst.checked_div(src).unwrap_or(0),
        AluOp::SDiv if src == 0 => 0,
        AluOp::SDiv => (dst as i64).wrapping_div(src as i64) as u64,
        AluOp::Or => dst | src,
        AluOp::And => dst & src,
        // Shift counts are masked to 6 bits.
        AluOp::Lsh => dst << (src & 63),
        AluOp::Rsh => dst >> (src & 63),
        AluOp::Arsh => ((dst as i64) >> (src & 63)) as u64,
        // Modulo by zero leaves dst; signed INT_MIN % -1 is 0.
        AluOp::Mod => dst.checked_rem(src).unwrap_or(dst),
        AluOp::SMod if src == 0 => dst,
        AluOp::SMod => (dst as i64).wrapping_rem(src as i64) as u64,
        AluOp::Xor => dst ^ src,
        AluOp::Mov => src,
        // MOVSX: sign-extend the low 8, 16 or 32 bits of src.
        AluOp::MovSx(8) => src as i8 as i64 as u64,
        AluOp::MovSx(16) => src as i16 as i64 as u64,
        AluOp::MovSx(_) => src as i32 as i64 as u64,
    }
}

// RFC 9669 section 4.1: arithmetic instructions, 32-bit (ALU). The result
// is zero-extended to 64 bits by the caller.
/// `dst OP src` on the low 32 bits.
pub fn alu32(op: AluOp, dst: u32, src: u32) -> u32 {
    match op {
        AluOp::Add => dst.wrapping_add(src),
        AluOp::Sub => dst.wrapping_sub(src),
        AluOp::Mul => dst.wrapping_mul(src),
        AluOp::Div => dst.checked_div(src).unwrap_or(0),
        AluOp::SDiv if src == 0 => 0,
        AluOp::SDiv => (dst as i32).wrapping_div(src as i32) as u32,
        AluOp::Or => dst | src,
        AluOp::And => dst & src,
        // Shift counts are masked to 5 bits.
        AluOp::Lsh => dst << (src & 31),
        AluOp::Rsh => dst >> (src & 31),
        AluOp::Arsh => ((dst as i32) >> (src & 31)) as u32,
        // Modulo by zero leaves the low half of dst (the upper half is
        // cleared, as for every 32-bit operation).
        AluOp::Mod => dst.checked_rem(src).unwrap_or(dst),
        AluOp::SMod if src == 0 => dst,
        AluOp::SMod => (dst as i32).wrapping_rem(src as i32) as u32,
        AluOp::Xor => dst ^ src,
        AluOp::Mov => src,
        AluOp::MovSx(8) => src as i8 as i32 as u32,
        AluOp::MovSx(_) => src as i16 as i32 as u32,
    }
}

// RFC 9669 section 4.2: byte swap instructions, on a little-endian machine.
/// Converts the low `bits` of `v`: `ToLe` truncates (the machine is already
/// little-endian), `ToBe` and `Swap` reverse the bytes of the low `bits`.
pub fn endian(kind: Endian, bits: u8, v: u64) -> u64 {
    match (kind, bits) {
        (Endian::ToLe, 16) => v as u16 as u64,
        (Endian::ToLe, 32) => v as u32 as u64,
        (Endian::ToLe, _) => v,
        (_, 16) => (v as u16).swap_bytes() as u64,
        (_, 32) => (v as u32).swap_bytes() as u64,
        (_, _) => v.swap_bytes(),
    }
}

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

/// Whether `dst COND src` holds on the low 32 bits (JMP32).
pub fn cond32(cond: Cond, dst: u32, src: u32) -> bool {
    let (sd, ss) = (dst as i32, src as i32);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
