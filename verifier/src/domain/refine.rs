//! What a conditional jump teaches: for each condition, on both edges,
//! the narrowed operands (or that the edge cannot be taken).
//!
//! `dst COND src` on the taken edge, and the negated condition on the
//! other, is applied lane by lane (unsigned or signed, 64 or 32 bits as the
//! jump compares) and on the known bits; [`Scalar::refine`] then syncs the
//! views, which also finds edges no value can take.

use super::concrete;
use super::scalar::{Iv, Lane, Scalar};
use super::tnum::Tnum;
use crate::insn::{Cond, Width};

impl Scalar {
    /// Narrows `dst` and `src` to the values for which `dst COND src`
    /// holds (on `width` bits) when `taken`, or fails when it never does
    /// (or, when `!taken`, when it always does).
    pub fn refine(dst: &mut Scalar, src: &mut Scalar, width: Width, cond: Cond, taken: bool) -> bool {
        let cond = if taken { Some(cond) } else { negate(cond) };
        let ok = match cond {
            Some(c) => refine_cond(dst, src, width, c),
            // The false edge of `dst & src`: no common bit.
            None => refine_not_set(dst, src, width),
        };
        ok && dst.sync() && src.sync() && {
            dst.check();
            src.check();
            true
        }
    }
}

/// The condition for the false edge; `None` for "not `Set`".
fn negate(cond: Cond) -> Option<Cond> {
    Some(match cond {
        Cond::Eq => Cond::Ne,
        Cond::Ne => Cond::Eq,
        Cond::Gt => Cond::Le,
        Cond::Ge => Cond::Lt,
        Cond::Lt => Cond::Ge,
        Cond::Le => Cond::Gt,
        Cond::SGt => Cond::SLe,
        Cond::SGe => Cond::SLt,
        Cond::SLt => Cond::SGe,
        Cond::SLe => Cond::SGt,
        Cond::Set => return None,
    })
}

/// The known bits of the compared part (all 64 bits, or the low 32).
fn cmp_tnum(s: &Scalar, width: Width) -> Tnum {
    match width {
        Width::W64 => s.t,
        Width::W32 => s.t.subreg(),
    }
}

/// Replaces the compared part of `s`'s known bits with `t`.
fn set_cmp_tnum(s: &mut Scalar, width: Width, t: Tnum) {
    s.t = match width {
        Width::W64 => t,
        Width::W32 => s.t.with_subreg(t),
    };
}

fn refine_cond(dst: &mut Scalar, src: &mut Scalar, width: Width, cond: Cond) -> bool {
    let [ulane, slane] = Lane::lanes(width);
    match cond {
        Cond::Eq => {
            let Some(t) = cmp_tnum(dst, width).intersect(cmp_tnum(src, width)) else {
                return false;
            };
            set_cmp_tnum(dst, width, t);
            set_cmp_tnum(src, width, t);
            for lane in [ulane, slane] {
                let (a, b) = (lane.get(&dst.b), lane.get(&src.b));
                let iv = Iv { lo: a.lo.max(b.lo), hi: a.hi.min(b.hi) };
                if iv.lo > iv.hi {
                    return false;
                }
                lane.put(&mut dst.b, iv);
                lane.put(&mut src.b, iv);
            }
            true
        }
        Cond::Ne => {
            let (td, ts) = (cmp_tnum(dst, width), cmp_tnum(src, width));
            if td.is_const() && ts.is_const() {
                return td.value != ts.value;
            }
            exclude_const(dst, src, width) && exclude_const(src, dst, width)
        }
        Cond::Gt => less(src, dst, ulane, true),
        Cond::Ge => less(src, dst, ulane, false),
        Cond::Lt => less(dst, src, ulane, true),
        Cond::Le => less(dst, src, ulane, false),
        Cond::SGt => less(src, dst, slane, true),
        Cond::SGe => less(src, dst, slane, false),
        Cond::SLt => less(dst, src, slane, true),
        Cond::SLe => less(dst, src, slane, false),
        Cond::Set => {
            let (td, ts) = (cmp_tnum(dst, width), cmp_tnum(src, width));
            if td.max() & ts.max() == 0 {
                return false;
            }
            if ts.is_const() && ts.value.is_power_of_two() {
                set_cmp_tnum(dst, width, td.or(ts));
            }
            true
        }
    }
}

/// Refines `a != b` where `b` is a constant: drops the constant from the
/// ends of `a`'s lanes.
fn exclude_const(a: &mut Scalar, b: &Scalar, width: Width) -> bool {
    let tb = cmp_tnum(b, width);
    if !tb.is_const() {
        return true;
    }
    for lane in Lane::lanes(width) {
        let c = if lane.signed() {
            concrete::sign_extend(tb.value, lane.bits()) as i64 as i128
        } else {
            tb.value as i128
        };
        let mut iv = lane.get(&a.b);
        if iv.lo == c {
            iv.lo += 1;
        }
        if iv.hi == c {
            iv.hi -= 1;
        }
        if iv.lo > iv.hi {
            return false;
        }
        lane.put(&mut a.b, iv);
    }
    true
}

/// Refines `a < b` (strict) or `a <= b` in `lane`.
fn less(a: &mut Scalar, b: &mut Scalar, lane: Lane, strict: bool) -> bool {
    let d = if strict { 1 } else { 0 };
    let mut ia = lane.get(&a.b);
    let mut ib = lane.get(&b.b);
    ia.hi = ia.hi.min(ib.hi - d);
    ib.lo = ib.lo.max(ia.lo + d);
    if ia.lo > ia.hi || ib.lo > ib.hi {
        return false;
    }
    lane.put(&mut a.b, ia);
    lane.put(&mut b.b, ib);
    true
}

fn refine_not_set(dst: &mut Scalar, src: &mut Scalar, width: Width) -> bool {
    let (td, ts) = (cmp_tnum(dst, width), cmp_tnum(src, width));
    if td.value & ts.value != 0 {
        return false;
    }
    if ts.is_const() {
        set_cmp_tnum(dst, width, td.and(Tnum { value: !ts.value, mask: 0 }.truncate(width_bits(width))));
    }
    true
}

fn width_bits(width: Width) -> u32 {
    match width {
        Width::W64 => 64,
        Width::W32 => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dst COND src` refined on `width` bits for the edge `taken`: the
    /// narrowed `dst`, or `None` when the edge is impossible.
    fn edge(dst: Scalar, src: u64, width: Width, cond: Cond, taken: bool) -> Option<Scalar> {
        let (mut d, mut s) = (dst, Scalar::constant(src));
        Scalar::refine(&mut d, &mut s, width, cond, taken).then_some(d)
    }

    #[test]
    fn jset_taken_with_one_bit_knows_the_bit() {
        let d = edge(Scalar::UNKNOWN, 8, Width::W64, Cond::Set, true).expect("possible");
        assert_eq!(d.t, Tnum { value: 8, mask: !8 });
        assert_eq!((d.b.umin, d.b.u32_min), (8, 8));
        // Several bits: any one of them may be set, so nothing is learned.
        assert_eq!(edge(Scalar::UNKNOWN, 6, Width::W64, Cond::Set, true), Some(Scalar::UNKNOWN));
        // No bit in common: the edge is impossible, for one bit or several.
        assert_eq!(edge(Scalar::range(0, 7), 8, Width::W64, Cond::Set, true), None);
        assert_eq!(edge(Scalar::range(0, 7), 0x18, Width::W64, Cond::Set, true), None);
        assert_eq!(edge(Scalar::range(0, 7), 0x1_0000_0000, Width::W32, Cond::Set, true), None);
    }

    #[test]
    fn jset_not_taken_clears_the_bits() {
        let d = edge(Scalar::UNKNOWN, 0xf0, Width::W64, Cond::Set, false).expect("possible");
        assert_eq!(d.t, Tnum { value: 0, mask: !0xf0 });
        // On 32 bits only the low half is cleared.
        let d = edge(Scalar::UNKNOWN, 0xf0, Width::W32, Cond::Set, false).expect("possible");
        assert_eq!(d.t, Tnum { value: 0, mask: 0xffff_ffff_ffff_ff0f });
        // A bit known set makes the edge impossible.
        assert_eq!(edge(Scalar::constant(9), 1, Width::W64, Cond::Set, false), None);
    }

    #[test]
    fn not_equal_drops_a_constant_at_either_end() {
        let r = Scalar::range(3, 10);
        let lanes = |s: Scalar| (s.b.umin, s.b.umax, s.b.smin, s.b.smax);
        assert_eq!(lanes(edge(r, 3, Width::W64, Cond::Ne, true).expect("possible")), (4, 10, 4, 10));
        assert_eq!(lanes(edge(r, 10, Width::W64, Cond::Ne, true).expect("possible")), (3, 9, 3, 9));
        // A constant inside the range cannot be cut out of an interval.
        assert_eq!(edge(r, 5, Width::W64, Cond::Ne, true), Some(r));
        // The signed lane: -5 is the lower end of [-5, 5].
        let d = edge(Scalar::signed_range(-5, 5), -5i64 as u64, Width::W64, Cond::Ne, true).expect("possible");
        assert_eq!((d.b.smin, d.b.smax), (-4, 5));
        // On 32 bits: the low half is not 0, which bounds the whole value.
        let d = edge(Scalar::range(0, 10), 0, Width::W32, Cond::Ne, true).expect("possible");
        assert_eq!((d.b.u32_min, d.b.u32_max, d.b.umin, d.b.umax), (1, 10, 1, 10));
        // Two constants: decided outright.
        assert_eq!(edge(Scalar::constant(4), 4, Width::W64, Cond::Ne, true), None);
        assert_eq!(edge(Scalar::constant(4), 5, Width::W64, Cond::Ne, true), Some(Scalar::constant(4)));
        // A single value equal to the constant leaves nothing.
        assert_eq!(edge(Scalar::range(7, 7), 7, Width::W64, Cond::Ne, true), None);
    }

    #[test]
    fn not_equal_drops_the_constant_whichever_side_it_is_on() {
        // `if 3 != r` (the constant in dst, as after `r2 = 3`): r learns it.
        for width in [Width::W64, Width::W32] {
            let (mut d, mut s) = (Scalar::constant(3), Scalar::range(3, 10));
            assert!(Scalar::refine(&mut d, &mut s, width, Cond::Ne, true), "{width:?}");
            assert_eq!((s.b.umin, s.b.umax, s.b.u32_min), (4, 10, 4), "{width:?}");
            assert_eq!(d, Scalar::constant(3), "{width:?}");
            // And `if 3 == r` not taken is the same edge.
            let (mut d, mut s) = (Scalar::constant(3), Scalar::range(3, 10));
            assert!(Scalar::refine(&mut d, &mut s, width, Cond::Eq, false), "{width:?}");
            assert_eq!((s.b.umin, s.b.umax), (4, 10), "{width:?}");
        }
    }
}
