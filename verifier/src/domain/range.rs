//! Interval bounds of a 64-bit value, seen four ways, and how they refine
//! one another and the known bits (the Linux verifier's `reg_bounds_sync`).
//!
//! A value `x` is described by its unsigned and signed 64-bit ranges and
//! the unsigned and signed ranges of its low 32 bits. Each view constrains
//! the others: e.g. a signed range that does not cross zero is also an
//! unsigned range, and 64-bit bounds whose high halves agree bound the low
//! half. [`Bounds::sync`] applies every such deduction, together with the
//! known bits of a [`Tnum`], until the views agree, and reports an empty
//! set (a contradiction, which makes a branch impossible).

use super::tnum::Tnum;

/// Four interval views of one 64-bit value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Bounds {
    pub umin: u64,
    pub umax: u64,
    pub smin: i64,
    pub smax: i64,
    pub u32_min: u32,
    pub u32_max: u32,
    pub s32_min: i32,
    pub s32_max: i32,
}

impl Bounds {
    /// No knowledge at all.
    pub const UNBOUNDED: Bounds = Bounds {
        umin: 0,
        umax: u64::MAX,
        smin: i64::MIN,
        smax: i64::MAX,
        u32_min: 0,
        u32_max: u32::MAX,
        s32_min: i32::MIN,
        s32_max: i32::MAX,
    };

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Bounds {
        Bounds {
            umin: v,
            umax: v,
            smin: v as i64,
            smax: v as i64,
            u32_min: v as u32,
            u32_max: v as u32,
            s32_min: v as i32,
            s32_max: v as i32,
        }
    }

    /// Whether `v` satisfies all four views.
    pub fn contains(&self, v: u64) -> bool {
        v >= self.umin
            && v <= self.umax
            && (v as i64) >= self.smin
            && (v as i64) <= self.smax
            && (v as u32) >= self.u32_min
            && (v as u32) <= self.u32_max
            && (v as i32) >= self.s32_min
            && (v as i32) <= self.s32_max
    }

    /// Whether every view of `self` includes the same view of `other`.
    pub fn covers(&self, o: &Bounds) -> bool {
        self.umin <= o.umin
            && self.umax >= o.umax
            && self.smin <= o.smin
            && self.smax >= o.smax
            && self.u32_min <= o.u32_min
            && self.u32_max >= o.u32_max
            && self.s32_min <= o.s32_min
            && self.s32_max >= o.s32_max
    }

    /// Whether some view is empty (min above max).
    pub fn is_empty(&self) -> bool {
        self.umin > self.umax || self.smin > self.smax || self.u32_min > self.u32_max || self.s32_min > self.s32_max
    }

    /// The 32-bit views reset to "anything".
    pub fn forget_32(&mut self) {
        self.u32_min = 0;
        self.u32_max = u32::MAX;
        self.s32_min = i32::MIN;
        self.s32_max = i32::MAX;
    }

    /// The 64-bit views reset to "anything".
    pub fn forget_64(&mut self) {
        self.umin = 0;
        self.umax = u64::MAX;
        self.smin = i64::MIN;
        self.smax = i64::MAX;
    }

    /// Makes all views and the known bits `t` agree. Returns `false` when
    /// they contradict each other: no value satisfies them all.
    pub fn sync(&mut self, t: &mut Tnum) -> bool {
        if self.is_empty() {
            return false;
        }
        // Known bits that are all known leave one value, which every view
        // either allows (it is then all of each) or not.
        if t.is_const() {
            let ok = self.contains(t.value);
            *self = Bounds::constant(t.value);
            return ok;
        }
        self.update_from_tnum(t);
        // A second round learns more only when the first changed a bound
        // (deducing is a function of the bounds alone); bounds learned
        // again from the known bits, only when the bits or the bounds
        // changed since they were (learning them is idempotent).
        let before = *self;
        self.deduce();
        let deduced = *self != before;
        if deduced {
            self.deduce();
        }
        if self.is_empty() {
            return false;
        }
        let Some(n) = self.tnum_from_bounds(t) else { return false };
        if deduced || n != *t {
            *t = n;
            self.update_from_tnum(t);
        }
        !self.is_empty()
    }

    /// Bounds learned from the known bits.
    fn update_from_tnum(&mut self, t: &Tnum) {
        let t32 = t.subreg();
        self.s32_min = self.s32_min.max((t32.value | (t32.mask & 0x8000_0000)) as u32 as i32);
        self.s32_max = self.s32_max.min((t32.value | (t32.mask & 0x7fff_ffff)) as u32 as i32);
        self.smin = self.smin.max((t.value | (t.mask & (1 << 63))) as i64);
        self.smax = self.smax.min((t.value | (t.mask & (i64::MAX as u64))) as i64);
        // The unsigned views move to the nearest values the known bits
        // allow (most often, their ends are allowed already); where none
        // is left in a range, it becomes empty.
        if !(t32.contains(self.u32_min as u64) && t32.contains(self.u32_max as u64)) {
            match (t32.first_at_or_above(self.u32_min as u64), t32.last_at_or_below(self.u32_max as u64)) {
                (Some(lo), Some(hi)) => (self.u32_min, self.u32_max) = (lo as u32, hi as u32),
                _ => (self.u32_min, self.u32_max) = (1, 0),
            }
        }
        if !(t.contains(self.umin) && t.contains(self.umax)) {
            match (t.first_at_or_above(self.umin), t.last_at_or_below(self.umax)) {
                (Some(lo), Some(hi)) => (self.umin, self.umax) = (lo, hi),
                _ => (self.umin, self.umax) = (1, 0),
            }
        }
    }

    /// Known bits learned from the bounds, intersected with `t`.
    fn tnum_from_bounds(&self, t: &Tnum) -> Option<Tnum> {
        let t64 = t.intersect(Tnum::range(self.umin, self.umax))?;
        let t32 = t64.subreg().intersect(Tnum::range(self.u32_min as u64, self.u32_max as u64))?;
        Some(t64.clear_subreg().or(t32))
    }

    /// One round of deductions between the four views.
    fn deduce(&mut self) {
        self.deduce_32();
        self.deduce_64();
        self.deduce_mixed();
    }

    /// 32-bit views from the 64-bit ones, and between each other.
    fn deduce_32(&mut self) {
        if self.umin >> 32 == self.umax >> 32 {
            self.u32_min = self.u32_min.max(self.umin as u32);
            self.u32_max = self.u32_max.min(self.umax as u32);
            if (self.umin as i32) <= (self.umax as i32) {
                self.s32_min = self.s32_min.max(self.umin as i32);
                self.s32_max = self.s32_max.min(self.umax as i32);
            }
        }
        if self.smin >> 32 == self.smax >> 32 {
            self.u32_min = self.u32_min.max(self.smin as u32);
            self.u32_max = self.u32_max.min(self.smax as u32);
            if (self.smin as i32) <= (self.smax as i32) {
                self.s32_min = self.s32_min.max(self.smin as i32);
                self.s32_max = self.s32_max.min(self.smax as i32);
            }
        }
        if (self.u32_min as i32) <= (self.u32_max as i32) {
            self.s32_min = self.s32_min.max(self.u32_min as i32);
            self.s32_max = self.s32_max.min(self.u32_max as i32);
        }
        if (self.s32_min as u32) <= (self.s32_max as u32) {
            self.u32_min = self.u32_min.max(self.s32_min as u32);
            self.u32_max = self.u32_max.min(self.s32_max as u32);
        }
    }

    /// Signed from unsigned 64-bit bounds and back, when neither crosses
    /// the sign boundary.
    fn deduce_64(&mut self) {
        if (self.umin as i64) <= (self.umax as i64) {
            self.smin = self.smin.max(self.umin as i64);
            self.smax = self.smax.min(self.umax as i64);
        }
        if (self.smin as u64) <= (self.smax as u64) {
            self.umin = self.umin.max(self.smin as u64);
            self.umax = self.umax.min(self.smax as u64);
        }
    }

    /// 64-bit bounds tightened with the 32-bit ones: every value's low
    /// half is in the 32-bit range, so a 64-bit bound moves to the nearest
    /// value whose low half is (into the next block of 2^32 when its own
    /// block has none left).
    fn deduce_mixed(&mut self) {
        for (lo, hi) in self.low_ranges().into_iter().flatten() {
            (self.umin, self.umax) = low_half_within(self.umin, self.umax, lo, hi);
            let (smin, smax) = low_half_within(flip(self.smin), flip(self.smax), lo, hi);
            (self.smin, self.smax) = (unflip(smin), unflip(smax));
        }
    }

    /// The 32-bit ranges every low half lies in: the unsigned one, and the
    /// signed one when it does not cross the sign boundary.
    fn low_ranges(&self) -> [Option<(u32, u32)>; 2] {
        let (s_lo, s_hi) = (self.s32_min as u32, self.s32_max as u32);
        [Some((self.u32_min, self.u32_max)), (s_lo <= s_hi).then_some((s_lo, s_hi))]
    }
}

/// Signed order as unsigned order: flipping the sign bit keeps each
/// block of 2^32 values (and the low halves) where they are.
fn flip(v: i64) -> u64 {
    v as u64 ^ 1 << 63
}

fn unflip(v: u64) -> i64 {
    (v ^ 1 << 63) as i64
}

/// `[min, max]` narrowed to values whose low half is in `[lo, hi]`; an
/// empty result has `min > max`.
fn low_half_within(min: u64, max: u64, lo: u32, hi: u32) -> (u64, u64) {
    const HI: u64 = !0xffff_ffff;
    const BLOCK: u64 = 1 << 32;
    const EMPTY: (u64, u64) = (1, 0);
    if lo > hi || min > max {
        return (min, max);
    }
    let first = if (min as u32) > hi {
        match (min & HI).checked_add(BLOCK) {
            Some(next) => next | lo as u64,
            None => return EMPTY,
        }
    } else {
        ((min & HI) | lo as u64).max(min)
    };
    let last = if (max as u32) < lo {
        match (max & HI).checked_sub(BLOCK) {
            Some(prev) => prev | hi as u64,
            None => return EMPTY,
        }
    } else {
        ((max & HI) | hi as u64).min(max)
    };
    (first, last)
}

#[cfg(test)]
mod tests;
