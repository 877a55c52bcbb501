//! Soundness of the scalar transfer functions, checked against the exact
//! semantics ([`concrete`]) on many random small sets of values.

use super::*;
use crate::insn::Cond;

/// A seeded generator, so failures reproduce.
struct Rng(fastrand::Rng);

impl Rng {
    /// A value biased towards the interesting edges of the lanes.
    fn value(&mut self) -> u64 {
        let base = match self.0.u64(..8) {
            0 => 0,
            1 => u64::MAX,
            2 => i64::MIN as u64,
            3 => i64::MAX as u64,
            4 => 0x8000_0000,
            5 => 0xffff_ffff,
            6 => 0x1_0000_0000,
            _ => self.0.u64(..),
        };
        base.wrapping_add(self.0.u64(..9)).wrapping_sub(4)
    }
}

/// A scalar built from a few concrete values the way the analysis would
/// see it: by joining their exact descriptions, with some knowledge dropped.
fn abstraction(values: &[u64], rng: &mut Rng) -> Scalar {
    let mut s = Scalar::constant(values[0]);
    for &v in &values[1..] {
        let c = Scalar::constant(v);
        s.t = s.t.union(c.t);
        s.b.umin = s.b.umin.min(v);
        s.b.umax = s.b.umax.max(v);
        s.b.smin = s.b.smin.min(v as i64);
        s.b.smax = s.b.smax.max(v as i64);
        s.b.u32_min = s.b.u32_min.min(v as u32);
        s.b.u32_max = s.b.u32_max.max(v as u32);
        s.b.s32_min = s.b.s32_min.min(v as i32);
        s.b.s32_max = s.b.s32_max.max(v as i32);
    }
    match rng.0.u64(..4) {
        0 => s.t = Tnum::UNKNOWN,
        1 => s.b.forget_32(),
        2 => s.b.forget_64(),
        _ => {}
    }
    assert!(s.sync());
    s
}

fn sample(rng: &mut Rng) -> (Vec<u64>, Scalar) {
    let n = 1 + rng.0.u64(..) as usize % 4;
    let first = rng.value();
    let values: Vec<u64> = (0..n)
        .map(|_| if rng.0.u64(..).is_multiple_of(2) { first.wrapping_add(rng.0.u64(..20)) } else { rng.value() })
        .collect();
    let s = abstraction(&values, rng);
    (values, s)
}

const OPS: [AluOp; 15] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::SDiv,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::SMod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::MovSx(8),
    AluOp::Arsh,
];

#[test]
fn alu_results_contain_every_concrete_result() {
    let mut rng = Rng(fastrand::Rng::with_seed(0x1234_5678_9abc_def1));
    for _ in 0..20_000 {
        let (dv, d) = sample(&mut rng);
        let (mut sv, mut s) = sample(&mut rng);
        if rng.0.u64(..).is_multiple_of(3) {
            // Constant operands are the common case for shifts.
            let k = rng.0.u64(..70);
            sv = vec![k];
            s = Scalar::constant(k);
        }
        for width in [Width::W64, Width::W32] {
            for op in OPS.iter().copied().chain([AluOp::MovSx(16), AluOp::MovSx(32)]) {
                if width == Width::W32 && op == AluOp::MovSx(32) {
                    continue;
                }
                let r = d.alu(width, op, &s);
                assert!(r.is_valid());
                for &x in &dv {
                    for &y in &sv {
                        let c = concrete::alu(width, op, x, y);
                        assert!(r.contains(c), "{op:?} {width:?}: {d} op {s} = {r} misses {x:#x} op {y:#x} = {c:#x}");
                    }
                }
            }
            let n = d.neg(width);
            for &x in &dv {
                assert!(n.contains(concrete::neg(width, x)));
            }
        }
        for (kind, bits) in [(Endian::ToLe, 16), (Endian::ToLe, 32), (Endian::ToBe, 16), (Endian::Swap, 64)] {
            let r = d.endian(kind, bits);
            for &x in &dv {
                assert!(r.contains(concrete::endian(kind, bits, x)));
            }
        }
    }
}

fn holds(cond: Cond, width: Width, x: u64, y: u64) -> bool {
    let (x, y) = match width {
        Width::W64 => (x, y),
        Width::W32 => (x as u32 as u64, y as u32 as u64),
    };
    let (sx, sy) = match width {
        Width::W64 => (x as i64, y as i64),
        Width::W32 => (x as u32 as i32 as i64, y as u32 as i32 as i64),
    };
    match cond {
        Cond::Eq => x == y,
        Cond::Ne => x != y,
        Cond::Gt => x > y,
        Cond::Ge => x >= y,
        Cond::Lt => x < y,
        Cond::Le => x <= y,
        Cond::Set => x & y != 0,
        Cond::SGt => sx > sy,
        Cond::SGe => sx >= sy,
        Cond::SLt => sx < sy,
        Cond::SLe => sx <= sy,
    }
}

const CONDS: [Cond; 11] = [
    Cond::Eq,
    Cond::Ne,
    Cond::Gt,
    Cond::Ge,
    Cond::Lt,
    Cond::Le,
    Cond::Set,
    Cond::SGt,
    Cond::SGe,
    Cond::SLt,
    Cond::SLe,
];

#[test]
fn branch_refinement_keeps_every_value_that_takes_the_edge() {
    let mut rng = Rng(fastrand::Rng::with_seed(0xfeed_beef_0bad_cafe));
    for _ in 0..20_000 {
        let (dv, d) = sample(&mut rng);
        let (sv, s) = if rng.0.u64(..).is_multiple_of(2) {
            let k = rng.value();
            (vec![k], Scalar::constant(k))
        } else {
            sample(&mut rng)
        };
        for width in [Width::W64, Width::W32] {
            for cond in CONDS {
                for taken in [true, false] {
                    let (mut d2, mut s2) = (d, s);
                    let feasible = Scalar::refine(&mut d2, &mut s2, width, cond, taken);
                    for &x in &dv {
                        for &y in &sv {
                            if holds(cond, width, x, y) == taken {
                                assert!(feasible, "{cond:?} {width:?} {taken}: {d} vs {s} wrongly infeasible for {x:#x}, {y:#x}");
                                assert!(d2.contains(x) && s2.contains(y), "{cond:?} {width:?} {taken}: {d} vs {s} -> {d2} {s2} lost {x:#x}, {y:#x}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn bounds_checks_narrow_as_programs_expect() {
    // if r1 > 10 goto out: the fall-through edge knows r1 <= 10.
    let mut r1 = Scalar::UNKNOWN;
    let mut ten = Scalar::constant(10);
    assert!(Scalar::refine(&mut r1, &mut ten, Width::W64, Cond::Gt, false));
    assert_eq!((r1.b.umin, r1.b.umax), (0, 10));
    assert_eq!((r1.b.smin, r1.b.smax), (0, 10));
    // A 32-bit check bounds only the low half of an unknown 64-bit value.
    let mut r2 = Scalar::UNKNOWN;
    assert!(Scalar::refine(&mut r2, &mut ten, Width::W32, Cond::Gt, false));
    assert_eq!((r2.b.u32_min, r2.b.u32_max), (0, 10));
    assert_eq!(r2.b.umax, 0xffff_ffff_0000_000a);
    // ... but the zero-extended 32-bit value is bounded.
    let w = r2.alu(Width::W32, AluOp::Mov, &r2);
    assert_eq!((w.b.umin, w.b.umax), (0, 10));
    // Signed check: r3 s< 0 is impossible for a value known in [0, 5].
    let mut r3 = Scalar::range(0, 5);
    let mut zero = Scalar::constant(0);
    assert!(!Scalar::refine(&mut r3, &mut zero, Width::W64, Cond::SLt, true));
}

#[test]
fn immediates_and_wraps() {
    // An immediate of -1 is sign-extended: r1 = 0xffff...ffff.
    let r = Scalar::constant(0).alu(Width::W64, AluOp::Add, &Scalar::constant(-1i64 as u64));
    assert_eq!(r.as_const(), Some(u64::MAX));
    // A 32-bit add that wraps: [0xfffffff0, 0xffffffff] + 0x20 is not bounded below 0x20 unless known.
    let x = Scalar::range(0xffff_fff0, 0xffff_ffff);
    let y = x.alu(Width::W32, AluOp::Add, &Scalar::constant(0x20));
    assert!(y.contains(0x10) && y.contains(0x1f));
    assert_eq!(y.b.umax, 0x1f);
    // The same in 64 bits does not wrap.
    let z = x.alu(Width::W64, AluOp::Add, &Scalar::constant(0x20));
    assert_eq!((z.b.umin, z.b.umax), (0x1_0000_0010, 0x1_0000_001f));
}

#[test]
fn display_is_readable() {
    assert_eq!(Scalar::constant(5).to_string(), "5");
    assert_eq!(Scalar::range(0, 10).to_string(), "scalar(umin=0,umax=10)");
    assert_eq!(Scalar::UNKNOWN.to_string(), "scalar()");
}

#[test]
fn contains_needs_both_the_bits_and_the_bounds() {
    // Known bits allow 0..=15, bounds allow 0..=8: 12 fits the bits only.
    let s = Scalar { t: Tnum { value: 0, mask: 15 }, b: Bounds { umax: 8, ..Bounds::UNBOUNDED } };
    assert!(s.contains(8));
    assert!(!s.contains(12));
    // Bounds allow 0..=8, bits say even: 3 fits the bounds only.
    let even = Scalar { t: Tnum { value: 0, mask: 14 }, b: Bounds { umax: 8, ..Bounds::UNBOUNDED } };
    assert!(even.contains(6));
    assert!(!even.contains(3));
}

#[test]
fn right_shifts_of_a_range_are_exact() {
    // The known bits of [100, 200] say only "below 256"; the bounds shift.
    let r = Scalar::range(100, 200);
    for width in [Width::W64, Width::W32] {
        let s = r.alu(width, AluOp::Rsh, &Scalar::constant(2));
        assert_eq!((s.b.umin, s.b.umax), (25, 50), "{width:?}");
    }
    let s = Scalar::signed_range(-200, -100).alu(Width::W64, AluOp::Arsh, &Scalar::constant(2));
    assert_eq!((s.b.smin, s.b.smax), (-50, -25));
    let low = Scalar::signed_range(-200, -100).zext32();
    let s = low.alu(Width::W32, AluOp::Arsh, &Scalar::constant(2));
    assert_eq!((s.b.s32_min, s.b.s32_max), (-50, -25));
}

#[test]
fn a_signed_range_of_one_value_is_that_constant() {
    assert_eq!(Scalar::signed_range(-3, -3), Scalar::constant(-3i64 as u64));
    assert_eq!(Scalar::signed_range(4, 4).as_const(), Some(4));
    // An empty range is documented to mean any value.
    assert_eq!(Scalar::signed_range(2, 1), Scalar::UNKNOWN);
}

#[test]
fn the_low_half_is_a_constant_when_only_it_is_known() {
    let s = Scalar { t: Tnum { value: 7, mask: 0xffff_ffff_0000_0000 }, b: Bounds::UNBOUNDED };
    assert_eq!(s.as_const32(), Some(7));
    assert_eq!(s.as_const(), None);
    assert_eq!(Scalar::constant(0x5_0000_0009).as_const32(), Some(9));
    assert_eq!(Scalar::range(0, 1).as_const32(), None);
}

/// `is_valid` is the invariant the debug assertions of every transfer
/// check; like the other oracles, it must say no when one part fails.
#[test]
fn is_valid_fails_when_a_single_invariant_fails() {
    // The low byte unknown, everything else zero: [0, 255] in every view.
    let good = Scalar::range(0, 255);
    assert!(good.is_valid());
    assert!(Scalar::constant(3).is_valid() && Scalar::UNKNOWN.is_valid());
    let b = good.b;
    let broken: [(&str, Scalar); 7] = [
        ("an empty view", Scalar { b: Bounds { s32_min: 9, s32_max: 8, ..b }, ..good }),
        ("value and mask overlapping", Scalar { t: Tnum { value: 1, mask: 0xff }, ..good }),
        ("umin below the known bits", Scalar { t: Tnum { value: 0x10, mask: 0xef }, b: Bounds { umin: 0, u32_min: 0x10, ..b } }),
        ("umax above the known bits", Scalar { b: Bounds { umax: 256, ..b }, ..good }),
        (
            "u32_min below the known low bits",
            Scalar { t: Tnum { value: 0x10, mask: 0xef }, b: Bounds { umin: 0x10, u32_min: 0, ..b } },
        ),
        ("u32_max above the known low bits", Scalar { b: Bounds { u32_max: 256, ..b }, ..good }),
        ("a constant with a wider view", Scalar { t: Tnum::constant(5), b: Bounds { smax: 6, ..Bounds::constant(5) } }),
    ];
    for (what, s) in broken {
        assert!(!s.is_valid(), "{what}: {s:?} passes");
    }
}

#[test]
fn narrowing_contains_every_concrete_result() {
    let mut rng = Rng(fastrand::Rng::with_seed(0x7e57_0000_0000_0008));
    let mut cases: Vec<(Vec<u64>, Scalar)> = (0..5_000).map(|_| sample(&mut rng)).collect();
    // Ranges that just reach past the narrow width, where the high values wrap to 0.
    for bits in [8u32, 16, 32] {
        let top = 1u64 << bits;
        for (lo, hi) in [(top - 3, top), (top - 1, top + 1), (top - 2, top + 2)] {
            cases.push(((lo..=hi).collect(), Scalar::range(lo, hi)));
        }
    }
    for (values, s) in &cases {
        for bits in [8, 16, 32, 64] {
            let (t, e) = (s.truncate(bits), s.sign_extend(bits));
            assert!(t.is_valid() && e.is_valid());
            for &v in values {
                let (tv, ev) = (concrete::truncate(v, bits), concrete::sign_extend(v, bits));
                assert!(t.contains(tv), "truncate({s}, {bits}) = {t} misses {tv:#x} (from {v:#x})");
                assert!(e.contains(ev), "sign_extend({s}, {bits}) = {e} misses {ev:#x} (from {v:#x})");
            }
        }
    }
}

#[test]
fn the_low_half_keeps_its_32_bit_bounds() {
    // High half 1, low half in [5, 10]: `le32` or a 32-bit load keeps [5, 10].
    let s = Scalar::range(0x1_0000_0005, 0x1_0000_000a).truncate(32);
    assert_eq!((s.b.umin, s.b.umax), (5, 10));
}

#[test]
fn and_and_or_keep_the_bounds_the_known_bits_lose() {
    // [0, 10] & [0, 5] is at most 5; the known bits alone say at most 7.
    let and = Scalar::range(0, 10).alu(Width::W64, AluOp::And, &Scalar::range(0, 5));
    assert_eq!((and.b.umax, and.b.smax, and.b.u32_max), (5, 5, 5));
    // [5, 6] | [0, 1] is at least 5; the known bits alone say at least 4.
    for width in [Width::W64, Width::W32] {
        let or = Scalar::range(5, 6).alu(width, AluOp::Or, &Scalar::range(0, 1));
        assert_eq!((or.b.umin, or.b.u32_min), (5, 5), "{width:?}");
    }
}

#[test]
fn a_64_bit_left_shift_keeps_the_low_half_bounds() {
    // Only the low half is bounded, [1, 2]: `x <<= 4` makes it [16, 32]
    // (the known bits alone would say [0, 48]).
    let mut x = Scalar { t: Tnum::UNKNOWN, b: Bounds { u32_min: 1, u32_max: 2, ..Bounds::UNBOUNDED } };
    assert!(x.sync());
    let s = x.alu(Width::W64, AluOp::Lsh, &Scalar::constant(4));
    assert_eq!((s.b.u32_min, s.b.u32_max), (16, 32));
}

#[test]
fn modulo_by_a_larger_constant_leaves_the_dividend() {
    for width in [Width::W64, Width::W32] {
        let m = Scalar::range(5, 7).alu(width, AluOp::Mod, &Scalar::constant(10));
        assert_eq!((m.b.umin, m.b.umax), (5, 7), "{width:?}");
        // Otherwise the result is below the divisor.
        let m = Scalar::range(5, 17).alu(width, AluOp::Mod, &Scalar::constant(10));
        assert_eq!((m.b.umin, m.b.umax), (0, 9), "{width:?}");
    }
}

#[test]
fn display_shows_a_range_bounded_at_one_end_only() {
    assert_eq!(Scalar::range(5, u64::MAX).to_string(), "scalar(umin=5,umax=18446744073709551615)");
    assert_eq!(Scalar::range(0, 1 << 40).to_string(), "scalar(umin=0,umax=1099511627776)");
}

#[test]
fn to_little_endian_keeps_a_range_that_fits() {
    // On a little-endian machine `le16` only truncates: [0, 100] stays.
    let s = Scalar::range(0, 100).endian(Endian::ToLe, 16);
    assert_eq!((s.b.umin, s.b.umax), (0, 100));
}

#[test]
fn display_shows_each_view_that_says_more() {
    // Signed [-5, i64::MAX]: the unsigned view is everything, the signed one
    // is bounded below only.
    assert_eq!(Scalar::signed_range(-5, i64::MAX).to_string(), "scalar(smin=-5,smax=9223372036854775807)");
    // Above 2^32 with the low half in [5, 10]: the 32-bit view is shown.
    let s = Scalar::range(0x1_0000_0005, 0x1_0000_000a).to_string();
    assert!(s.contains("u32_min=5,u32_max=10"), "{s}");
    // Known bits that are not "the low bits unknown" are shown.
    let mut even = Scalar { t: Tnum { value: 0, mask: 0xa }, b: Bounds::UNBOUNDED };
    assert!(even.sync());
    let s = even.to_string();
    assert!(s.contains("var_off=") && !s.ends_with("var_off=)"), "{s}");
    // A 32-bit view bounded at one end only is shown too.
    let s = Scalar::range(0x1_0000_0005, 0x1_ffff_ffff).to_string();
    assert!(s.contains("u32_min=5,u32_max=4294967295"), "{s}");
    // Not when it repeats the 64-bit view.
    assert_eq!(Scalar::range(5, 0xffff_ffff).to_string(), "scalar(umin=5,umax=4294967295)");
}
