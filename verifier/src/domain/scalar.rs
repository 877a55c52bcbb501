//! A scalar value as the verifier sees it: known bits and four interval
//! views together, with the effect of every ALU instruction and of every
//! conditional jump condition on them.
//!
//! Transfer functions work lane by lane: a *lane* is one interval view
//! (unsigned or signed, 64 or 32 bits). Add, subtract and multiply are done
//! on each lane with exact (128-bit) interval arithmetic; a result that
//! leaves the lane's range makes that lane unknown. Because the low 32 bits
//! of a sum, difference, product or left shift depend only on the low 32
//! bits of the operands, a 64-bit operation updates the 32-bit lanes too,
//! and a 32-bit operation updates only them and then zero-extends. After
//! every transfer [`Bounds::sync`] makes the views and the known bits agree,
//! and in test and debug builds the invariants are asserted.

use core::fmt;

use super::concrete;
use super::range::Bounds;
use super::tnum::Tnum;
use crate::insn::{AluOp, Endian, Width};

/// A set of possible 64-bit values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Scalar {
    /// Known bits.
    pub t: Tnum,
    /// Interval views.
    pub b: Bounds,
}

/// One interval view of a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Lane {
    U64,
    S64,
    U32,
    S32,
}

/// An interval in a lane, with room for results that overflow it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Iv {
    pub(super) lo: i128,
    pub(super) hi: i128,
}

impl Lane {
    pub(super) fn lanes(width: Width) -> [Lane; 2] {
        match width {
            Width::W64 => [Lane::U64, Lane::S64],
            Width::W32 => [Lane::U32, Lane::S32],
        }
    }

    pub(super) fn full(self) -> Iv {
        match self {
            Lane::U64 => Iv { lo: 0, hi: u64::MAX as i128 },
            Lane::S64 => Iv { lo: i64::MIN as i128, hi: i64::MAX as i128 },
            Lane::U32 => Iv { lo: 0, hi: u32::MAX as i128 },
            Lane::S32 => Iv { lo: i32::MIN as i128, hi: i32::MAX as i128 },
        }
    }

    pub(super) fn signed(self) -> bool {
        matches!(self, Lane::S64 | Lane::S32)
    }

    pub(super) fn bits(self) -> u32 {
        match self {
            Lane::U64 | Lane::S64 => 64,
            Lane::U32 | Lane::S32 => 32,
        }
    }

    pub(super) fn get(self, b: &Bounds) -> Iv {
        let (lo, hi) = match self {
            Lane::U64 => (b.umin as i128, b.umax as i128),
            Lane::S64 => (b.smin as i128, b.smax as i128),
            Lane::U32 => (b.u32_min as i128, b.u32_max as i128),
            Lane::S32 => (b.s32_min as i128, b.s32_max as i128),
        };
        Iv { lo, hi }
    }

    /// Stores `iv` into the lane, or "anything" when it does not fit.
    pub(super) fn set(self, b: &mut Bounds, iv: Iv) {
        let full = self.full();
        let iv = if iv.lo >= full.lo && iv.hi <= full.hi && iv.lo <= iv.hi { iv } else { full };
        self.put(b, iv);
    }

    /// Stores `iv`, which must lie within the lane's range (it may be empty).
    pub(super) fn put(self, b: &mut Bounds, iv: Iv) {
        match self {
            Lane::U64 => (b.umin, b.umax) = (iv.lo as u64, iv.hi as u64),
            Lane::S64 => (b.smin, b.smax) = (iv.lo as i64, iv.hi as i64),
            Lane::U32 => (b.u32_min, b.u32_max) = (iv.lo as u32, iv.hi as u32),
            Lane::S32 => (b.s32_min, b.s32_max) = (iv.lo as i32, iv.hi as i32),
        }
    }
}

impl Scalar {
    /// Any value.
    pub const UNKNOWN: Scalar = Scalar { t: Tnum::UNKNOWN, b: Bounds::UNBOUNDED };

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Scalar {
        Scalar { t: Tnum::constant(v), b: Bounds::constant(v) }
    }

    /// Any value in `min ..= max` (unsigned); any value at all if `min > max`.
    pub fn range(min: u64, max: u64) -> Scalar {
        if min > max {
            return Scalar::UNKNOWN;
        }
        let mut s = Scalar::UNKNOWN;
        s.b.umin = min;
        s.b.umax = max;
        s.normalize();
        s
    }

    /// Any value in `min ..= max` (signed); any value at all if `min > max`.
    pub fn signed_range(min: i64, max: i64) -> Scalar {
        if min > max {
            return Scalar::UNKNOWN;
        }
        let mut s = Scalar::UNKNOWN;
        s.b.smin = min;
        s.b.smax = max;
        s.normalize();
        s
    }

    /// Any value that fits in `bits` bits, zero-extended (`bits` <= 64).
    pub fn unknown_bits(bits: u32) -> Scalar {
        if bits >= 64 { Scalar::UNKNOWN } else { Scalar::range(0, (1u64 << bits) - 1) }
    }

    /// Any value of `bits` bits, sign-extended to 64.
    pub fn unknown_signed_bits(bits: u32) -> Scalar {
        if bits >= 64 {
            Scalar::UNKNOWN
        } else {
            let half = 1i64 << (bits - 1);
            Scalar::signed_range(-half, half - 1)
        }
    }

    /// The value, if only one is possible.
    pub fn as_const(&self) -> Option<u64> {
        self.t.is_const().then_some(self.t.value)
    }

    /// The low 32 bits, if only one is possible.
    pub fn as_const32(&self) -> Option<u32> {
        self.t.subreg().is_const().then_some(self.t.value as u32)
    }

    /// Whether `v` is a possible value.
    pub fn contains(&self, v: u64) -> bool {
        self.t.contains(v) && self.b.contains(v)
    }

    /// Whether every value of `other` is a possible value of `self`.
    pub fn covers(&self, other: &Scalar) -> bool {
        self.b.covers(&other.b) && self.t.covers(other.t)
    }

    /// Whether the invariants of the domain hold: every view non-empty,
    /// the known bits consistent, and each view within the known bits.
    pub fn is_valid(&self) -> bool {
        let t32 = self.t.subreg();
        !self.b.is_empty()
            && self.t.value & self.t.mask == 0
            && self.b.umin >= self.t.min()
            && self.b.umax <= self.t.max()
            && self.b.u32_min as u64 >= t32.min()
            && self.b.u32_max as u64 <= t32.max()
            && (!self.t.is_const() || self.b == Bounds::constant(self.t.value))
    }

    /// One word that equal scalars share (for state fingerprints): the
    /// known bits and every bound, folded together.
    pub fn summary(&self) -> u64 {
        let b = &self.b;
        self.t.value
            ^ self.t.mask.rotate_left(8)
            ^ b.umin.rotate_left(16)
            ^ b.umax.rotate_left(24)
            ^ (b.smin as u64).rotate_left(32)
            ^ (b.smax as u64).rotate_left(40)
            ^ ((b.u32_min as u64) << 32 | b.u32_max as u64).rotate_left(48)
            ^ ((b.s32_min as u32 as u64) << 32 | b.s32_max as u32 as u64).rotate_left(56)
    }

    /// Brings views and known bits into agreement; `false` if no value is left.
    pub(super) fn sync(&mut self) -> bool {
        self.b.sync(&mut self.t)
    }

    /// Syncs a result that cannot be empty, asserting the invariants.
    fn normalize(&mut self) {
        if !self.sync() {
            debug_assert!(false, "transfer produced an empty scalar: {self:?}");
            *self = Scalar::UNKNOWN;
        }
        self.check();
    }

    /// Asserts the invariants in test and debug builds.
    pub(super) fn check(&self) {
        debug_assert!(self.is_valid(), "scalar invariant broken: {self:?}");
    }

    /// The low 32 bits, zero-extended: what every 32-bit ALU result is.
    pub fn zext32(&self) -> Scalar {
        let mut s = Scalar { t: self.t.subreg(), b: self.b };
        s.b.umin = s.b.u32_min as u64;
        s.b.umax = s.b.u32_max as u64;
        s.b.smin = s.b.u32_min as i64;
        s.b.smax = s.b.u32_max as i64;
        s.normalize();
        s
    }

    /// The low `bits` bits, zero-extended (a narrow load or `le16`).
    pub fn truncate(&self, bits: u32) -> Scalar {
        match bits {
            64 => *self,
            32 => self.zext32(),
            _ => {
                if let Some(v) = self.as_const() {
                    return Scalar::constant(concrete::truncate(v, bits));
                }
                let m = (1u64 << bits) - 1;
                if self.b.umax <= m {
                    *self
                } else {
                    let mut s = Scalar::unknown_bits(bits);
                    s.t = self.t.truncate(bits);
                    s.normalize();
                    s
                }
            }
        }
    }

    /// The low `bits` bits sign-extended to 64 bits (`movsx`, signed loads).
    pub fn sign_extend(&self, bits: u32) -> Scalar {
        if bits >= 64 {
            return *self;
        }
        if let Some(v) = self.as_const() {
            return Scalar::constant(concrete::sign_extend(v, bits));
        }
        let low = self.truncate(bits);
        if low.b.umax < 1u64 << (bits - 1) {
            low
        } else {
            Scalar::unknown_signed_bits(bits)
        }
    }

    /// The effect of `dst = dst OP src` (or `dst = src` for moves) on `width` bits.
    pub fn alu(&self, width: Width, op: AluOp, src: &Scalar) -> Scalar {
        if let (Some(d), Some(s)) = (self.as_const(), src.as_const()) {
            return Scalar::constant(concrete::alu(width, op, d, s));
        }
        let r = match op {
            AluOp::Mov => match width {
                Width::W64 => *src,
                Width::W32 => src.zext32(),
            },
            AluOp::MovSx(bits) => match width {
                Width::W64 => src.sign_extend(bits as u32),
                Width::W32 => src.sign_extend(bits as u32).zext32(),
            },
            AluOp::Add | AluOp::Sub | AluOp::Mul => self.arith(width, op, src),
            AluOp::And | AluOp::Or | AluOp::Xor => self.bitwise(width, op, src),
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => self.shift(width, op, src),
            AluOp::Div | AluOp::Mod => self.unsigned_div(width, op, src),
            AluOp::SDiv | AluOp::SMod => Scalar::unknown_width(width),
        };
        r.check();
        r
    }

    /// Any value of an ALU result of `width`.
    fn unknown_width(width: Width) -> Scalar {
        match width {
            Width::W64 => Scalar::UNKNOWN,
            Width::W32 => Scalar::unknown_bits(32),
        }
    }

    /// The lanes an operation of `width` updates. 64-bit add, sub, mul and
    /// lsh also determine the low 32 bits.
    fn result_lanes(width: Width, low_bits_follow: bool) -> &'static [Lane] {
        match (width, low_bits_follow) {
            (Width::W64, true) => &[Lane::U64, Lane::S64, Lane::U32, Lane::S32],
            (Width::W64, false) => &[Lane::U64, Lane::S64],
            (Width::W32, _) => &[Lane::U32, Lane::S32],
        }
    }

    /// Builds the result: for 32-bit operations, zero-extends the low lanes.
    fn finish(mut r: Scalar, width: Width) -> Scalar {
        match width {
            Width::W64 => {
                r.normalize();
                r
            }
            Width::W32 => {
                r.t = r.t.subreg();
                r.b.forget_64();
                r.normalize();
                r.zext32()
            }
        }
    }

    fn arith(&self, width: Width, op: AluOp, src: &Scalar) -> Scalar {
        let mut r = Scalar::UNKNOWN;
        for &lane in Scalar::result_lanes(width, true) {
            let a = lane.get(&self.b);
            let b = lane.get(&src.b);
            let iv = match op {
                AluOp::Add => Iv { lo: a.lo + b.lo, hi: a.hi + b.hi },
                AluOp::Sub => Iv { lo: a.lo - b.hi, hi: a.hi - b.lo },
                _ => {
                    let products = [
                        a.lo.checked_mul(b.lo),
                        a.lo.checked_mul(b.hi),
                        a.hi.checked_mul(b.lo),
                        a.hi.checked_mul(b.hi),
                    ];
                    if products.iter().any(Option::is_none) {
                        lane.full()
                    } else {
                        let p = products.map(|p| p.unwrap_or(0));
                        Iv { lo: *p.iter().min().unwrap_or(&0), hi: *p.iter().max().unwrap_or(&0) }
                    }
                }
            };
            lane.set(&mut r.b, iv);
        }
        r.t = match op {
            AluOp::Add => self.t.add(src.t),
            AluOp::Sub => self.t.sub(src.t),
            _ => self.t.mul(src.t),
        };
        Scalar::finish(r, width)
    }

    fn bitwise(&self, width: Width, op: AluOp, src: &Scalar) -> Scalar {
        let mut r = Scalar::UNKNOWN;
        for &lane in Scalar::result_lanes(width, true) {
            let a = lane.get(&self.b);
            let b = lane.get(&src.b);
            let full = lane.full();
            let nonneg = !lane.signed() || (a.lo >= 0 && b.lo >= 0);
            let iv = match (op, nonneg) {
                (_, false) => full,
                (AluOp::And, true) => Iv { lo: 0, hi: a.hi.min(b.hi) },
                (AluOp::Or, true) => Iv { lo: a.lo.max(b.lo), hi: full.hi },
                _ => Iv { lo: 0, hi: full.hi },
            };
            lane.set(&mut r.b, iv);
        }
        r.t = match op {
            AluOp::And => self.t.and(src.t),
            AluOp::Or => self.t.or(src.t),
            _ => self.t.xor(src.t),
        };
        Scalar::finish(r, width)
    }

    fn shift(&self, width: Width, op: AluOp, src: &Scalar) -> Scalar {
        let bits = match width {
            Width::W64 => 64,
            Width::W32 => 32,
        };
        // The RFC masks the shift amount to the operand width.
        let Some(k) = src.as_const().map(|k| (k & (bits as u64 - 1)) as u32) else {
            return Scalar::unknown_width(width);
        };
        let mut r = Scalar::UNKNOWN;
        let lanes = Scalar::result_lanes(width, op == AluOp::Lsh);
        for &lane in lanes {
            let a = lane.get(&self.b);
            let iv = match op {
                AluOp::Lsh if !lane.signed() => Iv { lo: a.lo << k, hi: a.hi << k },
                AluOp::Rsh if !lane.signed() && lane.bits() == bits => Iv { lo: a.lo >> k, hi: a.hi >> k },
                AluOp::Arsh if lane.signed() && lane.bits() == bits => Iv { lo: a.lo >> k, hi: a.hi >> k },
                _ => lane.full(),
            };
            lane.set(&mut r.b, iv);
        }
        let t = match width {
            Width::W64 => self.t,
            Width::W32 => self.t.subreg(),
        };
        r.t = match op {
            AluOp::Lsh => t.lshift(k),
            AluOp::Rsh => t.rshift(k),
            _ => t.arshift(k, bits),
        };
        Scalar::finish(r, width)
    }

    fn unsigned_div(&self, width: Width, op: AluOp, src: &Scalar) -> Scalar {
        let lane = Lane::lanes(width)[0];
        let a = lane.get(&self.b);
        let b = lane.get(&src.b);
        let divisor = if b.lo == b.hi { Some(b.lo) } else { None };
        let iv = match (op, divisor) {
            // Division by zero gives 0.
            (AluOp::Div, Some(0)) => Iv { lo: 0, hi: 0 },
            (AluOp::Div, Some(c)) => Iv { lo: a.lo / c, hi: a.hi / c },
            // x / y <= x, also for y = 0.
            (AluOp::Div, None) => Iv { lo: 0, hi: a.hi },
            // Modulo by zero leaves the dividend.
            (_, Some(0)) => a,
            (_, Some(c)) if a.hi < c => a,
            (_, Some(c)) => Iv { lo: 0, hi: c - 1 },
            // x % y <= x, also for y = 0.
            (_, None) => Iv { lo: 0, hi: a.hi },
        };
        let mut r = Scalar::UNKNOWN;
        lane.set(&mut r.b, iv);
        if width == Width::W32 {
            r.t = Tnum::UNKNOWN.subreg();
        }
        Scalar::finish(r, width)
    }

    /// The effect of `dst = -dst`.
    pub fn neg(&self, width: Width) -> Scalar {
        Scalar::constant(0).alu(width, AluOp::Sub, self)
    }

    /// The effect of a byte-order conversion of the low `bits` bits.
    pub fn endian(&self, kind: Endian, bits: u8) -> Scalar {
        if let Some(v) = self.as_const() {
            return Scalar::constant(concrete::endian(kind, bits, v));
        }
        match kind {
            Endian::ToLe => self.truncate(bits as u32),
            _ => Scalar::unknown_bits(bits as u32),
        }
    }

}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.as_const() {
            return write!(f, "{}", v as i64);
        }
        let b = &self.b;
        write!(f, "scalar(")?;
        let mut sep = "";
        if b.umin != 0 || b.umax != u64::MAX {
            write!(f, "umin={},umax={}", b.umin, b.umax)?;
            sep = ",";
        }
        if (b.smin != b.umin as i64 || b.smax != b.umax as i64) && (b.smin != i64::MIN || b.smax != i64::MAX) {
            write!(f, "{sep}smin={},smax={}", b.smin, b.smax)?;
            sep = ",";
        }
        if b.umax > u32::MAX as u64 && (b.u32_min != 0 || b.u32_max != u32::MAX) {
            write!(f, "{sep}u32_min={},u32_max={}", b.u32_min, b.u32_max)?;
            sep = ",";
        }
        if self.t.mask != u64::MAX && !(self.t.value == 0 && (self.t.mask + 1).is_power_of_two()) {
            write!(f, "{sep}var_off={}", self.t)?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests;
