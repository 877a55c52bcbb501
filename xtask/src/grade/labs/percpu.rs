//! Lab 7, `percpu`: a call counter that stays exact when several CPUs
//! count at once. On the machine graded, counts come out right whether or
//! not a shared counter would lose some (that depends on two CPUs running
//! the module at the same instant), so the grader checks the technique in
//! the image: every map is a per-CPU array, so no two CPUs ever write one
//! value. Then it makes calls and compares what they returned with each
//! CPU's count as the kernel shows it (`modstat -m`), which holds
//! whichever CPUs ran the calls.

use super::{Cases, load, syscall, unload};
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng};

pub fn structure(image: &lkm::Image, checks: &mut Vec<Check>) {
    let shared: Vec<&str> =
        image.maps.iter().filter(|m| m.kind != lkm::MapKind::PerCpuArray).map(|m| m.name.as_str()).collect();
    let ok = shared.is_empty() && !image.maps.is_empty();
    let note = if image.maps.is_empty() {
        "the module has no map: the count must live in a per-CPU array".to_string()
    } else {
        format!(
            "map `{}` is shared by every CPU: a `+= 1` on it loses calls when two CPUs run it at once; count in a `percpu_array` instead",
            shared.join("`, `")
        )
    };
    checks.push(Check::new("counts in per-CPU arrays only", ok, note));
}

/// Each CPU's value of entry 0 of the module's first map, from the line
/// `[0] cpu0 N cpu1 N ... (sum N)` of `modstat -m 0`.
pub fn per_cpu_counts(out: &str) -> Option<Vec<u64>> {
    let line = out.lines().find(|l| l.trim_start().starts_with("[0]"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let counts: Option<Vec<u64>> =
        words.windows(2).filter(|w| w[0].starts_with("cpu")).map(|w| w[1].parse().ok()).collect();
    counts.filter(|c| !c.is_empty())
}

/// What the calls must have returned, given each CPU's count: `1..=n` for
/// a CPU that counted `n` calls, all sorted.
pub fn expected_returns(counts: &[u64]) -> Vec<u64> {
    let mut all: Vec<u64> = counts.iter().flat_map(|&n| 1..=n).collect();
    all.sort_unstable();
    all
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "count", checks).is_none() {
        return;
    }
    let mut refused = Cases::new("a request other than 0 fails with EINVAL");
    for r in [1, rng.range(2, 1 << 32), rng.range(1 << 32, u64::MAX)] {
        let (_, out) = syscall(g, "count", &r.to_string());
        refused.case(out.contains("EINVAL"), || format!("asked with {r}, got: {}", out.trim()));
    }
    refused.push(checks);

    let calls = rng.range(5, 13);
    let mut returned = Vec::new();
    for _ in 0..calls {
        let (got, _) = syscall(g, "count", "0");
        returned.push(got.and_then(|v| u64::try_from(v).ok()).unwrap_or(0));
    }
    let out = g.out("modstat -n count -m 0");
    let counts = per_cpu_counts(&out);
    let total = counts.as_ref().map(|c| c.iter().sum::<u64>());
    checks.push(Check::new(
        "each CPU's counts add up to the calls made",
        total == Some(calls),
        format!("made {calls} calls; `modstat -n count -m 0` shows: {}", out.trim()),
    ));
    returned.sort_unstable();
    let want = counts.as_deref().map(expected_returns);
    checks.push(Check::new(
        "each call returns its CPU's count, itself included",
        want.as_ref() == Some(&returned),
        format!("the calls returned {returned:?} (sorted); each CPU's count {counts:?} means {want:?}"),
    ));
    unload(g, "count", checks);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_cpus_count_from_modstat() {
        let out = "Type     Id Off Loadaddr         Size Info Rev Module Name\nSYSCALL   0  32 -  1000 3 1 count\n        [0] cpu0 3 cpu1 2 (sum 5)\n";
        assert_eq!(per_cpu_counts(out), Some(vec![3, 2]));
        assert_eq!(per_cpu_counts("        [0] 7\n"), None);
        assert_eq!(per_cpu_counts("        [0] cpu0 x\n"), None);
        assert_eq!(expected_returns(&[3, 2]), vec![1, 1, 2, 2, 3]);
        assert_eq!(expected_returns(&[0, 0]), Vec::<u64>::new());
    }
}
