//! Lab 2, `gcd`: a system call computing the greatest common divisor.
//! Inputs span all 64 bits, come in both orders, and include Euclid's
//! worst case (consecutive Fibonacci numbers, 90-odd rounds), a zero on
//! either side, and two numbers above 2^63 sharing an odd factor, so a
//! loop cut short, a special case missed or arithmetic on signed numbers
//! shows whatever numbers the random generator picks.

use super::{Cases, load, syscall, unload};
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng};

pub fn gcd_of(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd_of(b, a % b) }
}

/// The `k`th Fibonacci number (`fibonacci(1) == fibonacci(2) == 1`); `k`
/// at most 93, the largest that fits in 64 bits.
pub fn fibonacci(k: u32) -> u64 {
    (1..k).fold((0u64, 1u64), |(a, b), _| (b, a + b)).1
}

/// Two numbers at or above 2^63 whose gcd has an odd factor above 1.
/// Taken as signed numbers they are `a - 2^64` and `b - 2^64`, which that
/// factor does not divide (it divides `a`, not `2^64`): arithmetic on
/// signed numbers gets their gcd wrong every time.
fn above_2_63_with_odd_factor(rng: &mut Rng) -> (u64, u64) {
    let factor = 2 * rng.range(1, 1 << 19) + 1;
    let (lo, hi) = ((1u64 << 63).div_ceil(factor), u64::MAX / factor + 1);
    (factor * rng.range(lo, hi), factor * rng.range(lo, hi))
}

/// Asks for `gcd(a, b)` and `gcd(b, a)`; a note for the first wrong answer.
fn ask_both_ways(g: &mut Guest, cases: &mut Cases, a: u64, b: u64) {
    let want = gcd_of(a, b);
    for (x, y) in [(a, b), (b, a)] {
        let (got, out) = syscall(g, "gcd", &format!("{x} {y}"));
        cases.case(got == Some(want as i64), || format!("gcd({x}, {y}) is {want}, got: {}", out.trim()));
    }
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "gcd", checks).is_none() {
        return;
    }
    let mut random = Cases::new("gcd of random 64-bit numbers, in either order");
    for _ in 0..3 {
        let bits = rng.range(1, 33);
        let common = rng.range(1, 1 << bits);
        let (a, b) = (common * rng.range(1, u64::MAX / common), common * rng.range(1, u64::MAX / common));
        ask_both_ways(g, &mut random, a, b);
    }
    let (big, small) = (rng.range(1 << 63, u64::MAX), rng.range(2, 1000));
    ask_both_ways(g, &mut random, big, small);
    let (a, b) = above_2_63_with_odd_factor(rng);
    ask_both_ways(g, &mut random, a, b);
    random.push(checks);

    let mut worst = Cases::new("consecutive Fibonacci numbers (Euclid's longest case)");
    let k = rng.range(70, 93) as u32;
    let common = rng.range(1, u64::MAX / fibonacci(k + 1) + 1);
    ask_both_ways(g, &mut worst, common * fibonacci(k + 1), common * fibonacci(k));
    worst.push(checks);

    let mut zero = Cases::new("gcd(n, 0) and gcd(0, n) are n");
    let n = rng.range(2, 1 << 63);
    ask_both_ways(g, &mut zero, n, 0);
    zero.push(checks);

    let (_, out) = syscall(g, "gcd", "0 0");
    checks.push(Check::new("gcd(0, 0) fails with EINVAL", out.contains("EINVAL"), out));
    let common = rng.range(2, 1 << 20);
    let (a, b) = (common * rng.range(1, 1 << 20), common * rng.range(1, 1 << 20));
    let want = gcd_of(a, b);
    let out = g.out(&format!("su student -c \"syscall -n gcd {a} {b}\""));
    checks.push(Check::new("works for an ordinary user", out.contains(&format!("returned {want}\n")), format!("gcd({a}, {b}) is {want}, got: {out}")));
    unload(g, "gcd", checks);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_answers() {
        assert_eq!(gcd_of(84, 36), 12);
        assert_eq!(gcd_of(0, 9), 9);
        assert_eq!(gcd_of(9, 0), 9);
        assert_eq!(fibonacci(1), 1);
        assert_eq!(fibonacci(10), 55);
        assert_eq!(fibonacci(93), 12_200_160_415_121_876_738);
        assert_eq!(gcd_of(fibonacci(93), fibonacci(92)), 1);
    }

    #[test]
    fn the_pair_above_2_63_defeats_signed_arithmetic() {
        // Euclid on the numbers as i64, as the `signed` cheat computes it.
        fn signed_gcd(mut a: i64, mut b: i64) -> u64 {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a.unsigned_abs()
        }
        let mut rng = Rng(7);
        for _ in 0..10_000 {
            let (a, b) = above_2_63_with_odd_factor(&mut rng);
            assert!(a >= 1 << 63 && b >= 1 << 63);
            assert_ne!(signed_gcd(a as i64, b as i64), gcd_of(a, b), "{a} {b}");
        }
    }
}
