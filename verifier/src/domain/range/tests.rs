//! Tests of the interval views: the deductions between them and from known
//! bits (`Bounds::sync` keeps every member of concrete sets, finds empty
//! ranges, and skips only what could not change), covering, membership.

use super::*;

/// A set of concrete values and the bounds computed from it exactly.
fn exact(values: &[u64]) -> (Bounds, Tnum) {
    let mut b = Bounds {
        umin: u64::MAX,
        umax: 0,
        smin: i64::MAX,
        smax: i64::MIN,
        u32_min: u32::MAX,
        u32_max: 0,
        s32_min: i32::MAX,
        s32_max: i32::MIN,
    };
    let mut t = Tnum::constant(values[0]);
    for &v in values {
        b.umin = b.umin.min(v);
        b.umax = b.umax.max(v);
        b.smin = b.smin.min(v as i64);
        b.smax = b.smax.max(v as i64);
        b.u32_min = b.u32_min.min(v as u32);
        b.u32_max = b.u32_max.max(v as u32);
        b.s32_min = b.s32_min.min(v as i32);
        b.s32_max = b.s32_max.max(v as i32);
        t = t.union(Tnum::constant(v));
    }
    (b, t)
}

#[test]
fn a_64_bit_bound_whose_block_has_no_allowed_low_half_moves_to_the_next_block() {
    // Low halves in [0, 8]: 0x1_0000_0010 has none left in its block,
    // so the least value is 0x2_0000_0000; 0x3_0000_0009 is past 8 in
    // its block, so the greatest is 0x3_0000_0008.
    let mut b = Bounds::UNBOUNDED;
    (b.umin, b.umax, b.u32_min, b.u32_max) = (0x1_0000_0010, 0x3_0000_0009, 0, 8);
    assert!(b.sync(&mut Tnum::UNKNOWN.clone()));
    assert_eq!((b.umin, b.umax), (0x2_0000_0000, 0x3_0000_0008));
    // The same in the signed view, across zero: in [-0xff, 0x1_0000_0001]
    // with low halves in [2, 8], -0xff's block (low halves from
    // 0xffff_ff01) has none, and 0x1_0000_0001's low half is below 2,
    // so only 2 to 8 are left.
    let mut b = Bounds::UNBOUNDED;
    (b.smin, b.smax, b.u32_min, b.u32_max) = (-0xff, 0x1_0000_0001, 2, 8);
    assert!(b.sync(&mut Tnum::UNKNOWN.clone()));
    assert_eq!((b.smin, b.smax), (2, 8));
    // No block left above the top one, none below the bottom one.
    let mut b = Bounds::UNBOUNDED;
    (b.umin, b.u32_max) = (u64::MAX - 3, 7);
    assert!(!b.sync(&mut Tnum::UNKNOWN.clone()));
    let mut b = Bounds::UNBOUNDED;
    (b.umax, b.u32_min) = (3, 7);
    assert!(!b.sync(&mut Tnum::UNKNOWN.clone()));
}

#[test]
fn a_single_low_half_narrows_the_signed_view_across_zero() {
    // Low half 5 only, in [-0xff, 0x1_0000_0001]: -0xff's block has
    // low halves from 0xffff_ff01 up, and 0x1_0000_0001's low half is
    // below 5, so 5 alone is left. (The known bits learn the low half
    // too, but they narrow only the unsigned view.)
    let mut b = Bounds::UNBOUNDED;
    (b.smin, b.smax, b.u32_min, b.u32_max) = (-0xff, 0x1_0000_0001, 5, 5);
    assert!(b.sync(&mut Tnum::UNKNOWN.clone()));
    assert_eq!((b.smin, b.smax), (5, 5));
}

#[test]
fn sync_finds_a_range_with_no_value_the_known_bits_allow_empty() {
    // Values 14, 30, 46 and 62 match the known bits; none is in
    // [31, 40]. A loop condition can leave a register like this on a
    // path that cannot happen; the path must end there.
    let mut b = Bounds::UNBOUNDED;
    (b.umin, b.umax) = (31, 40);
    assert!(!b.sync(&mut Tnum { value: 14, mask: 0x30 }));
    // The 32-bit view alone shows it too.
    let mut b = Bounds::UNBOUNDED;
    (b.u32_min, b.u32_max) = (31, 40);
    assert!(!b.sync(&mut Tnum { value: 14, mask: 0xffff_ffff_0000_0030 }));
    // With one allowed value inside, that value is all that is left.
    let mut b = Bounds::UNBOUNDED;
    (b.umin, b.umax) = (31, 46);
    let mut t = Tnum { value: 14, mask: 0x30 };
    assert!(b.sync(&mut t));
    assert_eq!((b.umin, b.umax, t), (46, 46, Tnum::constant(46)));
}

/// Bounds and known bits of every kind `sync` meets, from a simple
/// generator: each view either unbounded or between two of a few
/// interesting values, and known bits from a spread of patterns.
fn varied(n: usize) -> Vec<(Bounds, Tnum)> {
    const POINTS: [u64; 12] = [
        0, 1, 7, 31, 46, 0xff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0005, 0x8000_0000_0000_0000, u64::MAX,
    ];
    const MASKS: [u64; 6] = [u64::MAX, 0, 0x30, 0xffff_ffff, 0xffff_ffff_0000_00ff, 0x8000_0000_ffff_ff00];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for _ in 0..n {
        let pick = |r: u64| {
            let (a, b) = (POINTS[(r % 12) as usize], POINTS[((r >> 8) % 12) as usize]);
            (a.min(b), a.max(b), r >> 16 & 1 == 0)
        };
        let mut b = Bounds::UNBOUNDED;
        let (lo, hi, on) = pick(next());
        if on {
            (b.umin, b.umax) = (lo, hi);
        }
        let (lo, hi, on) = pick(next());
        if on {
            (b.smin, b.smax) = ((lo as i64).min(hi as i64), (lo as i64).max(hi as i64));
        }
        let (lo, hi, on) = pick(next());
        if on {
            (b.u32_min, b.u32_max) = ((lo as u32).min(hi as u32), (lo as u32).max(hi as u32));
        }
        let (lo, hi, on) = pick(next());
        if on {
            (b.s32_min, b.s32_max) = ((lo as i32).min(hi as i32), (lo as i32).max(hi as i32));
        }
        let r = next();
        let mask = MASKS[(r % 6) as usize];
        let t = Tnum { value: POINTS[((r >> 8) % 12) as usize] & !mask, mask };
        out.push((b, t));
    }
    out
}

#[test]
fn sync_skips_only_rounds_that_could_not_change_anything() {
    // `sync` runs a second round of deductions only when the first
    // changed a bound, learns bounds from the known bits again only
    // when they or the bounds changed, and only checks the one value
    // of known bits that are all known: the same result as always
    // doing everything, which this reference does.
    let reference = |b: &mut Bounds, t: &mut Tnum| -> bool {
        if b.is_empty() {
            return false;
        }
        b.update_from_tnum(t);
        b.deduce();
        b.deduce();
        if b.is_empty() {
            return false;
        }
        let Some(n) = b.tnum_from_bounds(t) else { return false };
        *t = n;
        b.update_from_tnum(t);
        !b.is_empty()
    };
    let (mut kept, mut changed) = (0, 0);
    for (b, t) in varied(200_000) {
        let (mut b1, mut t1) = (b, t);
        let (mut b2, mut t2) = (b, t);
        let ok = b1.sync(&mut t1);
        assert_eq!(ok, reference(&mut b2, &mut t2), "from {b:?} {t}");
        if ok {
            assert_eq!((b1, t1), (b2, t2), "from {b:?} {t}");
            kept += 1;
            changed += usize::from(b1 != b);
        }
    }
    assert!(kept > 10_000 && changed > 10_000, "{kept} consistent inputs, {changed} changed by sync");
}

#[test]
fn sync_keeps_every_member() {
    let sets: [&[u64]; 7] = [
        &[0, 5, 10],
        &[u64::MAX, 1],
        &[0x1_0000_0000, 0x1_0000_0005],
        &[0xffff_ffff, 0x1_0000_0000],
        &[(-3i64) as u64, 4],
        &[0x8000_0000, 0x7fff_ffff],
        &[42],
    ];
    for set in sets {
        let (mut b, mut t) = exact(set);
        // Start from one view only and let sync derive the rest.
        let mut only_u = Bounds::UNBOUNDED;
        only_u.umin = b.umin;
        only_u.umax = b.umax;
        let mut tu = Tnum::UNKNOWN;
        assert!(only_u.sync(&mut tu));
        assert!(b.sync(&mut t));
        for &v in set {
            assert!(b.contains(v) && t.contains(v), "{set:?} lost {v:#x}");
            assert!(only_u.contains(v) && tu.contains(v), "{set:?} lost {v:#x} from umin/umax");
        }
    }
}

#[test]
fn unsigned_range_below_sign_bit_gives_signed_range() {
    let mut b = Bounds::UNBOUNDED;
    b.umin = 3;
    b.umax = 10;
    let mut t = Tnum::UNKNOWN;
    assert!(b.sync(&mut t));
    assert_eq!((b.smin, b.smax), (3, 10));
    assert_eq!((b.u32_min, b.u32_max), (3, 10));
    assert_eq!((b.s32_min, b.s32_max), (3, 10));
    assert_eq!(t, Tnum { value: 0, mask: 15 });
}

#[test]
fn low_half_bounds_tighten_64_bits() {
    // High half known zero, low half in [0, 100]: the whole value is.
    let mut b = Bounds::UNBOUNDED;
    b.u32_max = 100;
    let mut t = Tnum { value: 0, mask: 0xffff_ffff };
    assert!(b.sync(&mut t));
    assert_eq!((b.umin, b.umax), (0, 100));
    assert_eq!((b.smin, b.smax), (0, 100));
}

#[test]
fn a_64_bit_range_within_one_high_half_bounds_the_low_half() {
    // [2^32 + 5, 2^32 + 10]: every value has high half 1 and low half in
    // [5, 10], in both 32-bit views (the known bits alone give [0, 15]).
    for (umin, umax) in [(0x1_0000_0005, 0x1_0000_000a), (5, 10)] {
        let mut b = Bounds { umin, umax, ..Bounds::UNBOUNDED };
        assert!(b.sync(&mut Tnum::UNKNOWN.clone()));
        assert_eq!((b.u32_min, b.u32_max, b.s32_min, b.s32_max), (5, 10, 5, 10), "[{umin:#x}, {umax:#x}]");
    }
    // The same through the signed view: [-10, -5] has high half all ones.
    let mut b = Bounds { smin: -10, smax: -5, ..Bounds::UNBOUNDED };
    assert!(b.sync(&mut Tnum::UNKNOWN.clone()));
    assert_eq!((b.s32_min, b.s32_max), (-10, -5));
    assert_eq!((b.u32_min, b.u32_max), ((-10i32) as u32, (-5i32) as u32));
}

#[test]
fn contradictions_are_found() {
    let mut b = Bounds::UNBOUNDED;
    b.umin = 11;
    b.umax = 5;
    assert!(!b.sync(&mut Tnum::UNKNOWN.clone()));
    let mut b = Bounds::UNBOUNDED;
    b.umin = 16;
    let mut t = Tnum { value: 0, mask: 15 };
    assert!(!b.sync(&mut t));
    let mut b = Bounds::UNBOUNDED;
    b.smax = -1;
    b.umax = 100;
    assert!(!b.sync(&mut Tnum::UNKNOWN.clone()));
}

#[test]
fn covers_is_view_by_view() {
    let a = Bounds::UNBOUNDED;
    let c = Bounds::constant(7);
    assert!(a.covers(&c));
    assert!(!c.covers(&a));
    assert!(c.contains(7) && !c.contains(8));
}

/// Bounds of `[10, 20]` in every view, field by field (no sync, so a
/// single field can be moved on its own).
const TEN_TO_TWENTY: Bounds = Bounds {
    umin: 10,
    umax: 20,
    smin: 10,
    smax: 20,
    u32_min: 10,
    u32_max: 20,
    s32_min: 10,
    s32_max: 20,
};

/// Each field of `TEN_TO_TWENTY` moved one step outward, one at a time.
fn one_field_wider() -> [(&'static str, Bounds); 8] {
    let b = TEN_TO_TWENTY;
    [
        ("umin", Bounds { umin: 9, ..b }),
        ("umax", Bounds { umax: 21, ..b }),
        ("smin", Bounds { smin: 9, ..b }),
        ("smax", Bounds { smax: 21, ..b }),
        ("u32_min", Bounds { u32_min: 9, ..b }),
        ("u32_max", Bounds { u32_max: 21, ..b }),
        ("s32_min", Bounds { s32_min: 9, ..b }),
        ("s32_max", Bounds { s32_max: 21, ..b }),
    ]
}

#[test]
fn deduce_mixed_moves_the_low_half_into_the_64_bit_bounds() {
    // High halves fixed at 1, low half in [5, 10].
    let mut b = Bounds { umin: 0x1_0000_0000, umax: 0x1_0000_00ff, u32_min: 5, u32_max: 10, ..Bounds::UNBOUNDED };
    b.deduce_mixed();
    assert_eq!((b.umin, b.umax), (0x1_0000_0005, 0x1_0000_000a));
    assert_eq!((b.smin, b.smax), (i64::MIN + 5, 0x7fff_ffff_0000_000a));
    // The same from the signed low half, when it does not cross zero.
    let mut b = Bounds { umin: 0x2_0000_0000, umax: 0x2_ffff_ffff, s32_min: 3, s32_max: 9, ..Bounds::UNBOUNDED };
    b.deduce_mixed();
    assert_eq!((b.umin, b.umax), (0x2_0000_0003, 0x2_0000_0009));
    assert_eq!((b.smin, b.smax), (i64::MIN + 3, 0x7fff_ffff_0000_0009));
    // A single signed low half.
    let mut b = Bounds { umin: 0x3_0000_0000, umax: 0x3_ffff_ffff, s32_min: 4, s32_max: 4, ..Bounds::UNBOUNDED };
    b.deduce_mixed();
    assert_eq!((b.umin, b.umax), (0x3_0000_0004, 0x3_0000_0004));
    // A signed low half across zero says nothing about the 64 bits.
    let across = Bounds { umin: 0x2_0000_0000, umax: 0x2_ffff_ffff, s32_min: -1, s32_max: 1, ..Bounds::UNBOUNDED };
    let mut b = across;
    b.deduce_mixed();
    assert_eq!(b, across);
}

#[test]
fn covers_fails_when_a_single_view_fails() {
    let b = TEN_TO_TWENTY;
    assert!(b.covers(&b));
    for (field, wider) in one_field_wider() {
        assert!(!b.covers(&wider), "[10, 20] covers bounds whose {field} is outside");
        assert!(wider.covers(&b), "bounds wider only in {field} do not cover [10, 20]");
    }
}

#[test]
fn forgetting_one_width_keeps_the_other() {
    let mut b = TEN_TO_TWENTY;
    b.forget_32();
    let low = Bounds { u32_min: 0, u32_max: u32::MAX, s32_min: i32::MIN, s32_max: i32::MAX, ..TEN_TO_TWENTY };
    assert_eq!(b, low);
    let mut b = TEN_TO_TWENTY;
    b.forget_64();
    let high = Bounds { umin: 0, umax: u64::MAX, smin: i64::MIN, smax: i64::MAX, ..TEN_TO_TWENTY };
    assert_eq!(b, high);
}

#[test]
fn contains_fails_when_a_single_view_fails() {
    // One view restricted, the others unbounded, and a value outside
    // that view only.
    let u = Bounds::UNBOUNDED;
    let cases: [(&str, Bounds, u64, u64); 8] = [
        ("umin", Bounds { umin: 10, ..u }, 10, 9),
        ("umax", Bounds { umax: 20, ..u }, 20, 21),
        ("smin", Bounds { smin: -5, ..u }, (-5i64) as u64, (-6i64) as u64),
        ("smax", Bounds { smax: 20, ..u }, 20, 21),
        ("u32_min", Bounds { u32_min: 10, ..u }, 10, 9),
        ("u32_max", Bounds { u32_max: 20, ..u }, 20, 21),
        ("s32_min", Bounds { s32_min: -5, ..u }, (-5i32) as u32 as u64, (-6i32) as u32 as u64),
        ("s32_max", Bounds { s32_max: 20, ..u }, 20, 21),
    ];
    for (field, b, inside, outside) in cases {
        assert!(b.contains(inside), "{field}: {inside:#x} is inside");
        assert!(!b.contains(outside), "{field}: {outside:#x} is outside");
    }
    let b = TEN_TO_TWENTY;
    assert!(b.contains(10) && b.contains(15) && b.contains(20));
    assert!(!b.contains(9) && !b.contains(21) && !b.contains(0x1_0000_000f));
}
