//! The exact result of an ALU instruction on known values, following
//! RFC 9669 to the letter. The abstract domain falls back to it when both
//! operands are constants, and tests compare abstract results against it;
//! the reference interpreter (`vm::alu`) computes with the same functions.

use crate::insn::{AluOp, Endian, Width};

/// `dst OP src` on `width` bits; for 32-bit operations the result is
/// zero-extended, as the RFC requires.
pub fn alu(width: Width, op: AluOp, dst: u64, src: u64) -> u64 {
    match width {
        Width::W64 => alu64(op, dst, src),
        Width::W32 => alu32(op, dst as u32, src as u32) as u64,
    }
}

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
        AluOp::MovSx(bits) => sign_extend(src, bits as u32),
    }
}

// RFC 9669 section 4.1: arithmetic instructions, 32-bit (ALU). [`alu`]
// zero-extends the result to 64 bits.
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
        // MOVSX: sign-extend the low 8 or 16 bits of src.
        AluOp::MovSx(bits) => sign_extend(src as u64, bits as u32) as u32,
    }
}

/// The low `bits` bits of `v`, sign-extended to 64 bits.
pub fn sign_extend(v: u64, bits: u32) -> u64 {
    if bits >= 64 || bits == 0 {
        return v;
    }
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

/// The low `bits` bits of `v`, zero-extended.
pub fn truncate(v: u64, bits: u32) -> u64 {
    if bits >= 64 { v } else { v & ((1u64 << bits) - 1) }
}

/// A byte-order conversion of the low `bits` bits (16, 32 or 64) of `v`,
/// as on a little-endian machine.
pub fn endian(kind: Endian, bits: u8, v: u64) -> u64 {
    match (kind, bits) {
        (Endian::ToLe, b) => truncate(v, b as u32),
        (_, 16) => (v as u16).swap_bytes() as u64,
        (_, 32) => (v as u32).swap_bytes() as u64,
        _ => v.swap_bytes(),
    }
}

/// `-dst` on `width` bits.
pub fn neg(width: Width, v: u64) -> u64 {
    match width {
        Width::W64 => v.wrapping_neg(),
        Width::W32 => (v as u32).wrapping_neg() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_by_zero_follows_the_rfc() {
        assert_eq!(alu(Width::W64, AluOp::Div, 7, 0), 0);
        assert_eq!(alu(Width::W64, AluOp::Mod, 7, 0), 7);
        assert_eq!(alu(Width::W32, AluOp::Mod, 0x1_0000_0007, 0), 7);
        assert_eq!(alu(Width::W64, AluOp::SDiv, i64::MIN as u64, u64::MAX), i64::MIN as u64);
        assert_eq!(alu(Width::W64, AluOp::SMod, i64::MIN as u64, u64::MAX), 0);
        assert_eq!(alu(Width::W64, AluOp::SMod, (-7i64) as u64, 2), (-1i64) as u64);
    }

    #[test]
    fn signed_division_rounds_toward_zero_on_both_widths() {
        for width in [Width::W64, Width::W32] {
            let minus = |v: i64| alu(width, AluOp::Mov, 0, v as u64);
            assert_eq!(alu(width, AluOp::SDiv, minus(-7), 2), minus(-3), "{width:?}");
            assert_eq!(alu(width, AluOp::SMod, minus(-7), 2), minus(-1), "{width:?}");
            assert_eq!(alu(width, AluOp::SDiv, 7, minus(-2)), minus(-3), "{width:?}");
            assert_eq!(alu(width, AluOp::SMod, 7, minus(-2)), 1, "{width:?}");
            assert_eq!(alu(width, AluOp::SDiv, 9, 0), 0, "{width:?}");
            assert_eq!(alu(width, AluOp::SMod, 9, 0), 9, "{width:?}");
        }
        // 32-bit: only the low halves divide, and the result zero-extends.
        assert_eq!(alu(Width::W32, AluOp::SDiv, 0x5_ffff_fff9, 2), 0xffff_fffd);
        assert_eq!(alu(Width::W32, AluOp::SMod, 0x5_ffff_fff9, 0x1_0000_0002), 0xffff_ffff);
    }

    #[test]
    fn thirty_two_bit_results_zero_extend() {
        assert_eq!(alu(Width::W32, AluOp::Add, 0xffff_ffff, 1), 0);
        assert_eq!(alu(Width::W32, AluOp::Mov, 0, u64::MAX), 0xffff_ffff);
        assert_eq!(alu(Width::W32, AluOp::MovSx(8), 0, 0x80), 0xffff_ff80);
        assert_eq!(alu(Width::W64, AluOp::MovSx(32), 0, 0x8000_0000), 0xffff_ffff_8000_0000);
        assert_eq!(alu(Width::W64, AluOp::Lsh, 1, 65), 2);
        assert_eq!(alu(Width::W32, AluOp::Arsh, 0x8000_0000, 31), 0xffff_ffff);
    }

    #[test]
    fn byte_order() {
        assert_eq!(endian(Endian::ToBe, 16, 0x1234_5678), 0x7856);
        assert_eq!(endian(Endian::ToLe, 32, 0x1_2345_6789), 0x2345_6789);
        assert_eq!(endian(Endian::Swap, 64, 0x0102_0304_0506_0708), 0x0807_0605_0403_0201);
        // A 16- or 32-bit swap takes the low half only and clears the rest.
        assert_eq!(endian(Endian::ToBe, 32, 0x1122_3344_5566_7788), 0x8877_6655);
        assert_eq!(endian(Endian::Swap, 16, 0x1122_3344_5566_7788), 0x8877);
    }
}
