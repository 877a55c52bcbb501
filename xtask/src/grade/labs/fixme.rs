//! Lab 5, `fixme`: make a prime-counting loop verify. Every answer up to
//! 1500 fits in a small table, so right answers prove little: the grader
//! also checks that the image carries no table to look them up in and is
//! about the size of code that computes them.

use super::{Cases, load, syscall, unload};
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng};

/// The largest `n` the system call takes.
const MAX: u64 = 1500;
/// Most bytes of read-only data: room for a string or two, none for a
/// table of answers (counts, primes, or counts every few numbers).
const RODATA_LIMIT: usize = 8;
/// Most instruction slots: three times what trial division takes (the
/// reference solution needs 57), too few to spell out a table in code.
const SLOT_LIMIT: usize = 180;

/// How many primes are below `n`.
pub fn primes_below(n: u64) -> u64 {
    (2..n).filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0)).count() as u64
}

pub fn structure(image: &lkm::Image, checks: &mut Vec<Check>) {
    let rodata = image.rodata.len();
    checks.push(Check::new(
        "computes its answers (no table in read-only data)",
        rodata <= RODATA_LIMIT,
        format!("the module holds {rodata} bytes of read-only data (at most {RODATA_LIMIT} accepted): the lab asks for a loop the verifier accepts, not a table of answers"),
    ));
    let slots: usize = image.programs.iter().map(|p| p.slots()).sum();
    checks.push(Check::new(
        "computes its answers (code of a loop's size)",
        slots <= SLOT_LIMIT,
        format!("the module has {slots} instruction slots (at most {SLOT_LIMIT} accepted): trial division needs about 60"),
    ));
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "primes", checks).is_none() {
        return;
    }
    let mut right = Cases::new("counts primes below n, from 0 to 1500");
    let mut asked = vec![0, 1, 2, 3, MAX - 1, MAX];
    for (lo, hi) in [(4, 100), (100, 500), (500, 1000), (1000, MAX - 1)] {
        asked.push(rng.range(lo, hi));
        asked.push(rng.range(lo, hi));
    }
    for n in asked {
        let (got, out) = syscall(g, "primes", &n.to_string());
        right.case(got == Some(primes_below(n) as i64), || format!("{} primes are below {n}, got: {}", primes_below(n), out.trim()));
    }
    right.push(checks);
    let mut refused = Cases::new("more than 1500 fails with EINVAL");
    for n in [MAX + 1, rng.range(MAX + 2, 1 << 32), rng.range(1 << 32, u64::MAX)] {
        let (_, out) = syscall(g, "primes", &n.to_string());
        refused.case(out.contains("EINVAL"), || format!("asked for n = {n}, got: {}", out.trim()));
    }
    refused.push(checks);
    unload(g, "primes", checks);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_answers() {
        assert_eq!(primes_below(10), 4);
        assert_eq!(primes_below(2), 0);
        assert_eq!(primes_below(3), 1);
        assert_eq!(primes_below(1500), 239);
    }
}
