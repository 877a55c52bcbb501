//! Known bits ("tristate numbers"), as in the Linux verifier's `tnum.c`.
//!
//! A [`Tnum`] describes a set of 64-bit values bit by bit: a bit set in
//! `mask` is unknown; a bit clear in `mask` is known and equal to the same
//! bit of `value`. `value & mask == 0` always holds. The operations below are
//! *sound*: if `x` is in `a` and `y` is in `b`, then `x OP y` is in
//! `a.op(b)`. The unit tests check this exhaustively on small sets.

use core::fmt;

/// A set of 64-bit values given by which bits are known.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Tnum {
    /// The known bits (zero where unknown).
    pub value: u64,
    /// The unknown bits.
    pub mask: u64,
}

// `add`, `sub` and `mul` are wrapping operations on sets, not `ops` traits.
#[allow(clippy::should_implement_trait)]
impl Tnum {
    /// Every value.
    pub const UNKNOWN: Tnum = Tnum { value: 0, mask: u64::MAX };

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The smallest tnum holding every value in `min ..= max` (unsigned).
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum { value: min & !delta, mask: delta }
    }

    /// Whether exactly one value is possible.
    pub fn is_const(self) -> bool {
        self.mask == 0
    }

    /// Whether `v` is in the set.
    pub fn contains(self, v: u64) -> bool {
        v & !self.mask == self.value
    }

    /// Whether every value of `other` is in `self`.
    pub fn covers(self, other: Tnum) -> bool {
        other.mask & !self.mask == 0 && other.value & !self.mask == self.value
    }

    /// The smallest value in the set.
    pub fn min(self) -> u64 {
        self.value
    }

    /// The largest value in the set.
    pub fn max(self) -> u64 {
        self.value | self.mask
    }

    /// The smallest value in the set that is at least `lo`, if any.
    ///
    /// Start from `lo` with the known bits forced to theirs. If that went
    /// up, the highest bit that changed is a known 1, and every lower
    /// unknown bit may be 0. If it went down, the highest changed bit is a
    /// known 0; the value must instead set the lowest unknown bit above it
    /// that is still 0, clearing every unknown bit below.
    pub fn first_at_or_above(self, lo: u64) -> Option<u64> {
        let forced = (lo & self.mask) | self.value;
        let diff = forced ^ lo;
        if diff == 0 {
            return Some(forced);
        }
        let top = 63 - diff.leading_zeros();
        let below = (1u64 << top) - 1;
        if forced > lo {
            return Some((forced & !below) | (self.value & below));
        }
        let free_above = self.mask & !forced & !(below | 1 << top);
        if free_above == 0 {
            return None;
        }
        let raise = free_above & free_above.wrapping_neg();
        let under = raise - 1;
        Some(((forced | raise) & !under) | (self.value & under))
    }

    /// The largest value in the set that is at most `hi`, if any: the
    /// mirror image of [`Tnum::first_at_or_above`] in the complemented set.
    pub fn last_at_or_below(self, hi: u64) -> Option<u64> {
        let mirror = Tnum { value: !self.value & !self.mask, mask: self.mask };
        mirror.first_at_or_above(!hi).map(|v| !v)
    }

    /// `self << shift` (shift < 64).
    pub fn lshift(self, shift: u32) -> Tnum {
        Tnum { value: self.value << shift, mask: self.mask << shift }
    }

    /// Logical `self >> shift` (shift < 64).
    pub fn rshift(self, shift: u32) -> Tnum {
        Tnum { value: self.value >> shift, mask: self.mask >> shift }
    }

    /// Arithmetic `self >> shift` on `bits`-bit values (32 or 64; shift < bits).
    pub fn arshift(self, shift: u32, bits: u32) -> Tnum {
        if bits == 32 {
            Tnum {
                value: ((self.value as i32) >> shift) as u32 as u64,
                mask: ((self.mask as i32) >> shift) as u32 as u64,
            }
        } else {
            Tnum { value: ((self.value as i64) >> shift) as u64, mask: ((self.mask as i64) >> shift) as u64 }
        }
    }

    /// Wrapping addition.
    pub fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum { value: sv & !mu, mask: mu }
    }

    /// Wrapping subtraction.
    pub fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum { value: dv & !mu, mask: mu }
    }

    /// Bitwise and.
    pub fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum { value: v, mask: alpha & beta & !v }
    }

    /// Bitwise or.
    pub fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v, mask: mu & !v }
    }

    /// Bitwise exclusive or.
    pub fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// Wrapping multiplication (shift-and-add over the bits of `self`).
    pub fn mul(self, b: Tnum) -> Tnum {
        let mut a = self;
        let mut b = b;
        let acc_v = a.value.wrapping_mul(b.value);
        let mut acc_m = Tnum::constant(0);
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                acc_m = acc_m.add(Tnum { value: 0, mask: b.mask });
            } else if a.mask & 1 != 0 {
                acc_m = acc_m.add(Tnum { value: 0, mask: b.value | b.mask });
            }
            a = a.rshift(1);
            b = b.lshift(1);
        }
        Tnum::constant(acc_v).add(acc_m)
    }

    /// The values in both sets, or `None` if a bit is known differently.
    pub fn intersect(self, b: Tnum) -> Option<Tnum> {
        if (self.value ^ b.value) & !self.mask & !b.mask != 0 {
            return None;
        }
        let v = self.value | b.value;
        let mu = self.mask & b.mask;
        Some(Tnum { value: v & !mu, mask: mu })
    }

    /// The smallest tnum holding both sets.
    pub fn union(self, b: Tnum) -> Tnum {
        let mu = self.mask | b.mask | (self.value ^ b.value);
        Tnum { value: self.value & !mu, mask: mu }
    }

    /// The low 32 bits, zero-extended.
    pub fn subreg(self) -> Tnum {
        Tnum { value: self.value & 0xffff_ffff, mask: self.mask & 0xffff_ffff }
    }

    /// The high 32 bits kept, the low 32 bits cleared.
    pub fn clear_subreg(self) -> Tnum {
        Tnum { value: self.value & !0xffff_ffff, mask: self.mask & !0xffff_ffff }
    }

    /// The high 32 bits of `self` with the low 32 bits of `low`.
    pub fn with_subreg(self, low: Tnum) -> Tnum {
        self.clear_subreg().or(low.subreg())
    }

    /// The low `bits` bits (8, 16, 32 or 64), zero-extended.
    pub fn truncate(self, bits: u32) -> Tnum {
        if bits >= 64 {
            return self;
        }
        let m = (1u64 << bits) - 1;
        Tnum { value: self.value & m, mask: self.mask & m }
    }
}

impl fmt::Display for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(0x{:x}; 0x{:x})", self.value, self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of a small tnum (at most 2^6 of them).
    fn members(t: Tnum) -> Vec<u64> {
        let bits: Vec<u32> = (0..64).filter(|b| t.mask >> b & 1 == 1).collect();
        assert!(bits.len() <= 6);
        (0..1u64 << bits.len())
            .map(|i| {
                let mut v = t.value;
                for (j, b) in bits.iter().enumerate() {
                    if i >> j & 1 == 1 {
                        v |= 1 << b;
                    }
                }
                v
            })
            .collect()
    }

    /// A spread of small tnums, including ones near the top bit.
    fn samples() -> Vec<Tnum> {
        let mut out = Vec::new();
        for value in [0u64, 1, 2, 5, 8, 0x10, 0x8000_0000, 0xffff_fff0, 0x8000_0000_0000_0000, u64::MAX - 7] {
            for mask in [0u64, 1, 3, 6, 0x11, 0xf0, 0x8000_0001, 0xc000_0000_0000_0000] {
                out.push(Tnum { value: value & !mask, mask });
            }
        }
        out
    }

    #[test]
    fn first_and_last_member_around_a_bound_match_enumeration() {
        let bounds = |t: Tnum| {
            let m = t.min();
            [0, 1, 2, 7, 0x20, 0x7fff_ffff, 0x8000_0000, u64::MAX, m, m.wrapping_add(1), m.wrapping_sub(1), t.max(), t.max().wrapping_add(1)]
        };
        for t in samples() {
            let all = members(t);
            for b in bounds(t) {
                let above = all.iter().copied().filter(|&v| v >= b).min();
                let below = all.iter().copied().filter(|&v| v <= b).max();
                assert_eq!(t.first_at_or_above(b), above, "{t} at or above {b:#x}");
                assert_eq!(t.last_at_or_below(b), below, "{t} at or below {b:#x}");
            }
        }
        // Between 31 and 40 there is no value whose low four bits are 1110
        // and whose bits 4 and 5 are unknown (14, 30, 46, 62).
        let t = Tnum { value: 14, mask: 0x30 };
        assert_eq!(t.first_at_or_above(31), Some(46));
        assert_eq!(t.last_at_or_below(40), Some(30));
    }

    fn check(op: fn(Tnum, Tnum) -> Tnum, f: fn(u64, u64) -> u64) {
        for a in samples() {
            for b in samples() {
                let r = op(a, b);
                assert_eq!(r.value & r.mask, 0);
                for x in members(a) {
                    for y in members(b) {
                        assert!(r.contains(f(x, y)), "{a} {b} -> {r} misses {:#x}", f(x, y));
                    }
                }
            }
        }
    }

    #[test]
    fn a_union_keeps_the_bits_both_sides_know_alike() {
        assert_eq!(Tnum::constant(5).union(Tnum::constant(5)), Tnum::constant(5));
        assert_eq!(Tnum::constant(5).union(Tnum::constant(7)), Tnum { value: 5, mask: 2 });
        assert_eq!(Tnum { value: 4, mask: 1 }.union(Tnum::constant(6)), Tnum { value: 4, mask: 3 });
    }

    #[test]
    fn a_range_keeps_the_high_bits_its_ends_share() {
        assert_eq!(Tnum::range(1 << 63, (1 << 63) | (1 << 62)), Tnum { value: 1 << 63, mask: (1 << 63) - 1 });
        assert_eq!(Tnum::range(0, 1 << 62), Tnum { value: 0, mask: (1 << 63) - 1 });
        assert_eq!(Tnum::range(0, 1 << 63), Tnum::UNKNOWN);
        assert_eq!(Tnum::range(8, 11), Tnum { value: 8, mask: 3 });
    }

    #[test]
    fn arithmetic_is_sound() {
        check(Tnum::add, u64::wrapping_add);
        check(Tnum::sub, u64::wrapping_sub);
        check(Tnum::mul, u64::wrapping_mul);
    }

    #[test]
    fn bitwise_is_sound() {
        check(Tnum::and, |x, y| x & y);
        check(Tnum::or, |x, y| x | y);
        check(Tnum::xor, |x, y| x ^ y);
        check(Tnum::union, |x, _| x);
        check(|a, b| a.union(b), |_, y| y);
    }

    #[test]
    fn shifts_are_sound() {
        for a in samples() {
            for s in [0u32, 1, 5, 31, 32, 63] {
                for x in members(a) {
                    assert!(a.lshift(s).contains(x << s));
                    assert!(a.rshift(s).contains(x >> s));
                    assert!(a.arshift(s, 64).contains(((x as i64) >> s) as u64));
                    if s < 32 {
                        let r = a.subreg().arshift(s, 32);
                        assert!(r.contains(((x as u32 as i32) >> s) as u32 as u64));
                    }
                }
            }
        }
    }

    #[test]
    fn constants_are_exact() {
        let a = Tnum::constant(7);
        let b = Tnum::constant(5);
        assert_eq!(a.add(b), Tnum::constant(12));
        assert_eq!(a.sub(b), Tnum::constant(2));
        assert_eq!(a.mul(b), Tnum::constant(35));
        assert_eq!(a.and(b), Tnum::constant(5));
        assert_eq!(b.sub(a), Tnum::constant(u64::MAX - 1));
    }

    #[test]
    fn range_holds_its_bounds() {
        for (lo, hi) in [(0u64, 0u64), (0, 7), (3, 9), (0x100, 0x1ff), (0, u64::MAX), (5, 1 << 63)] {
            let t = Tnum::range(lo, hi);
            assert!(t.contains(lo) && t.contains(hi), "{lo} {hi} {t}");
            assert!(t.min() <= lo && t.max() >= hi);
        }
        assert_eq!(Tnum::range(0, 7), Tnum { value: 0, mask: 7 });
        assert_eq!(Tnum::range(4, 4), Tnum::constant(4));
    }

    #[test]
    fn intersect_finds_conflicts() {
        let a = Tnum { value: 0b100, mask: 0b011 };
        let b = Tnum { value: 0b001, mask: 0b110 };
        assert_eq!(a.intersect(b), Some(Tnum { value: 0b101, mask: 0b010 }));
        assert_eq!(Tnum::constant(1).intersect(Tnum::constant(2)), None);
        assert!(Tnum::UNKNOWN.covers(a));
        assert!(!a.covers(Tnum::UNKNOWN));
        assert!(a.covers(Tnum::constant(0b110)));
        assert!(!a.covers(Tnum::constant(0b010)));
    }

    #[test]
    fn subregisters() {
        let t = Tnum { value: 0x1_0000_0002, mask: 0xf0_0000_00f0 };
        assert_eq!(t.subreg(), Tnum { value: 2, mask: 0xf0 });
        assert_eq!(t.clear_subreg(), Tnum { value: 0x1_0000_0000, mask: 0xf0_0000_0000 });
        assert_eq!(t.with_subreg(Tnum::constant(9)).value, 0x1_0000_0009);
        assert_eq!(t.truncate(8), Tnum { value: 2, mask: 0xf0 });
    }

    #[test]
    fn contains_rejects_a_value_with_a_known_bit_wrong() {
        // Bit 2 known one, bits 0-1 unknown, every other bit known zero.
        let t = Tnum { value: 0b100, mask: 0b011 };
        for v in [0b100, 0b101, 0b110, 0b111] {
            assert!(t.contains(v), "{t} holds {v:#b}");
        }
        for v in [0b000, 0b011, 0b1100, 1 << 63 | 0b100] {
            assert!(!t.contains(v), "{t} does not hold {v:#b}");
        }
        assert!(Tnum::constant(7).contains(7) && !Tnum::constant(7).contains(6));
        assert!(!Tnum::constant(0).contains(u64::MAX));
    }

    #[test]
    fn mul_is_as_precise_as_the_linux_tnum_mul() {
        // {0, 1, 2, 3} * 6 = {0, 6, 12, 18}: bit 0 known zero, bits 1-4 unknown.
        let small = Tnum { value: 0, mask: 3 };
        assert_eq!(Tnum::constant(6).mul(small), Tnum { value: 0, mask: 0b11110 });
        assert_eq!(small.mul(Tnum::constant(6)), Tnum { value: 0, mask: 0b11110 });
        // {1, 3} * 5 = {5, 15}: bits 0 and 2 known one.
        let odd = Tnum { value: 1, mask: 2 };
        assert_eq!(odd.mul(Tnum::constant(5)), Tnum { value: 5, mask: 0b1010 });
        // {0, 1} * {0, 1} = {0, 1}.
        let bit = Tnum { value: 0, mask: 1 };
        assert_eq!(bit.mul(bit), bit);
        // A known factor of 4 keeps the two low bits known zero.
        let four = Tnum::constant(4);
        assert_eq!(four.mul(Tnum { value: 0, mask: 0xff }), Tnum { value: 0, mask: 0x3fc });
        // Multiplying by 0 or 1 is exact, whatever the other side.
        let t = Tnum { value: 0x10, mask: 0x0f };
        assert_eq!(Tnum::constant(0).mul(t), Tnum::constant(0));
        assert_eq!(Tnum::constant(1).mul(t), t);
        assert_eq!(t.mul(Tnum::constant(1)), t);
    }
}
