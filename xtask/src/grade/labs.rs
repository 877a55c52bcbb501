//! The checks of each lab. Every expected value is computed here from
//! inputs chosen at grading time (random numbers and words, the host's
//! clock, the id the kernel gave the module), never read from a file the
//! student could copy.

use std::time::{Duration, Instant};

use super::guest::Guest;
use super::{Check, Lab, LabFile, Rng};

pub const ALL: &[Lab] = &[
    Lab { dir: "stamp", file: "stamp.wm", module: "stamp", checks: stamp, files: no_files },
    Lab { dir: "gcd", file: "gcd.wm", module: "gcd", checks: gcd, files: no_files },
    Lab { dir: "clock", file: "clock.wm", module: "clock", checks: clock, files: no_files },
    Lab { dir: "upper", file: "upper.wm", module: "upper", checks: upper, files: no_files },
    Lab { dir: "fixme", file: "fixme.wm", module: "primes", checks: fixme, files: no_files },
    Lab { dir: "runas", file: "runas.wm", module: "runas", checks: runas, files: runas_files },
];

fn no_files(_: &mut Rng) -> Vec<LabFile> {
    Vec::new()
}

/// Loads `/modules/lab_NAME.lkm`; the id the kernel gave it.
fn load(g: &mut Guest, name: &str, checks: &mut Vec<Check>) -> Option<u64> {
    // The kernel verifies the module first: under TCG that can take a while.
    let out = g.run_for(&format!("modload /modules/lab_{name}.lkm"), Duration::from_secs(120)).unwrap_or_else(|e| e.to_string());
    let id = out
        .split_once("loaded as id ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
    checks.push(Check::new("loads", id.is_some(), out));
    id
}

fn unload(g: &mut Guest, name: &str, checks: &mut Vec<Check>) {
    g.out(&format!("modunload -n {name}"));
    let out = g.out(&format!("modstat -n {name}"));
    checks.push(Check::new("unloads", out.contains("no module"), out));
}

/// The value `syscall -n MODULE ARGS` printed (`syscall 30 returned 5`).
fn syscall(g: &mut Guest, module: &str, args: &str) -> (Option<i64>, String) {
    let out = g.out(&format!("syscall -n {module} {args}"));
    let value = out.split_once("returned ").and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok());
    (value, out)
}

/// Numbers after `marker` in the kernel log's last line holding it.
fn logged(g: &mut Guest, marker: &str) -> Option<Vec<u64>> {
    let dmesg = g.out("dmesg");
    let line = dmesg.lines().rev().find(|l| l.contains(marker))?;
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(rest.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).filter_map(|w| w.parse().ok()).collect())
}

fn stamp(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    // Load another module first now and then, so the id is not always the same.
    if rng.range(0, 2) == 1 {
        g.out("modload /modules/hello.lkm");
    }
    let loaded_at = Instant::now();
    let Some(id) = load(g, "stamp", checks) else { return };
    let said = logged(g, "stamp: loaded as module ");
    checks.push(Check::new("logs its id when loaded", said.as_deref() == Some(&[id][..]), format!("expected `stamp: loaded as module {id}` in dmesg, found {said:?}")));
    let wait = Duration::from_millis(rng.range(1500, 3000));
    std::thread::sleep(wait);
    let unload_sent = Instant::now();
    g.out("modunload -n stamp");
    let total = loaded_at.elapsed();
    let numbers = logged(g, "stamp: ").filter(|n| n.len() >= 2);
    let (ticks, ms) = numbers.map_or((0, 0), |n| (n[0], n[1]));
    let lo = wait.as_millis() as u64 * 7 / 10;
    let hi = (total.as_millis() as u64) + 1500;
    checks.push(Check::new(
        "measures how long it was loaded",
        (lo..=hi).contains(&ms),
        format!("logged {ms} ms; it was loaded for about {} ms (accepted: {lo}..={hi})", (unload_sent - loaded_at).as_millis()),
    ));
    let expected = ms / 10;
    checks.push(Check::new(
        "counts timer ticks (100 a second)",
        ticks > 0 && ticks >= expected / 2 && ticks <= expected * 3 / 2 + 10,
        format!("logged {ticks} ticks in {ms} ms; about {expected} expected"),
    ));
    let out = g.out("modstat -n stamp");
    checks.push(Check::new("unloads", out.contains("no module"), out));
}

fn gcd_of(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd_of(b, a % b) }
}

fn gcd(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "gcd", checks).is_none() {
        return;
    }
    let mut right = true;
    let mut note = String::new();
    for _ in 0..4 {
        let common = rng.range(1, 1000);
        let (a, b) = (common * rng.range(1, 100_000), common * rng.range(1, 100_000));
        let (got, out) = syscall(g, "gcd", &format!("{a} {b}"));
        if got != Some(gcd_of(a, b) as i64) {
            right = false;
            note = format!("gcd({a}, {b}) is {}, got: {out}", gcd_of(a, b));
        }
    }
    checks.push(Check::new("gcd of random numbers", right, note));
    let n = rng.range(2, 1_000_000);
    let (got, out) = syscall(g, "gcd", &format!("0 {n}"));
    checks.push(Check::new("gcd(0, n) is n", got == Some(n as i64), out));
    let (_, out) = syscall(g, "gcd", "0 0");
    checks.push(Check::new("gcd(0, 0) fails with EINVAL", out.contains("EINVAL"), out));
    let common = rng.range(2, 50);
    let (a, b) = (common * 7, common * 11);
    let out = g.out(&format!("su student -c \"syscall -n gcd {a} {b}\""));
    checks.push(Check::new("works for an ordinary user", out.contains(&format!("returned {common}")), out));
    unload(g, "gcd", checks);
}

/// Seconds since midnight, UTC, on the host.
fn host_seconds_of_day() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() % 86_400)
}

/// `HH:MM:SS` to seconds since midnight.
fn parse_time(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.len() >= 8 && l.as_bytes()[2] == b':')?;
    let parts: Vec<u64> = line.trim().split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    match parts.as_slice() {
        [h, m, s] if *h < 24 && *m < 60 && *s < 60 => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}

fn clock(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "clock", checks).is_none() {
        return;
    }
    let out = g.out("ls /dev");
    checks.push(Check::new("/dev/clock appears", out.lines().any(|l| l.split_whitespace().any(|w| w == "clock")), out));
    let mut close = true;
    let mut note = String::new();
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(rng.range(500, 2500)));
        let out = g.out("cat /dev/clock");
        let host = host_seconds_of_day();
        let off = parse_time(&out).map(|t| (t as i64 - host as i64).rem_euclid(86_400).min((host as i64 - t as i64).rem_euclid(86_400)));
        if off.is_none_or(|d| d > 3) {
            close = false;
            note = format!("read `{}`; the host's UTC time is {:02}:{:02}:{:02}", out.trim(), host / 3600, host / 60 % 60, host % 60);
        }
    }
    checks.push(Check::new("reads the real-time clock (within 3 s of the host)", close, note));
    let out = g.out("cat /dev/clock /dev/clock");
    checks.push(Check::new("one line per open file (end of file after it)", out.lines().filter(|l| parse_time(l).is_some()).count() == 2, out));
    unload(g, "clock", checks);
}

fn upper(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "upper", checks).is_none() {
        return;
    }
    let out = g.out("mount -t upper none /mnt; ls /mnt");
    let names: Vec<&str> = out.split_whitespace().collect();
    checks.push(Check::new("mounts and lists in and out", names.contains(&"in") && names.contains(&"out"), out));
    let mut right = true;
    let mut note = String::new();
    for _ in 0..3 {
        let len = rng.range(4, 20) as usize;
        let word = rng.word(len);
        let out = g.out(&format!("echo {word} > /mnt/in; cat /mnt/in; cat /mnt/out"));
        let want = format!("{word}\n{}\n", word.to_uppercase());
        if !out.contains(&want) {
            right = false;
            note = format!("wrote `{word}`, expected it back and `{}`, got:\n{out}", word.to_uppercase());
        }
    }
    checks.push(Check::new("out is in, upper-cased", right, note));
    let out = g.out("echo x > /mnt/out; echo \"rc\"$?");
    checks.push(Check::new("out cannot be written", out.contains("rc1"), out));
    let out = g.out("modunload -n upper; echo \"rc\"$?");
    checks.push(Check::new("unload refused while mounted", out.contains("EBUSY") && out.contains("rc1"), out));
    g.out("umount /mnt");
    unload(g, "upper", checks);
}

/// How many primes are below `n`.
fn primes_below(n: u64) -> u64 {
    (2..n).filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0)).count() as u64
}

fn fixme(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "primes", checks).is_none() {
        return;
    }
    let mut right = true;
    let mut note = String::new();
    for n in [rng.range(0, 100), rng.range(100, 1000), rng.range(1000, 1501), 1500] {
        let (got, out) = syscall(g, "primes", &n.to_string());
        if got != Some(primes_below(n) as i64) {
            right = false;
            note = format!("{} primes are below {n}, got: {out}", primes_below(n));
        }
    }
    checks.push(Check::new("counts primes below random numbers", right, note));
    let (_, out) = syscall(g, "primes", &rng.range(1501, 100_000).to_string());
    checks.push(Check::new("more than 1500 fails with EINVAL", out.contains("EINVAL"), out));
    unload(g, "primes", checks);
}

/// Executables for the runas lab: a `#!cat` file holding a random word,
/// a `#!echo` file and plain text (the shell cannot set execute bits).
fn runas_files(rng: &mut Rng) -> Vec<LabFile> {
    let word = rng.word(12);
    vec![
        ("lab_cat".into(), format!("#!cat\n{word}\n").into_bytes()),
        ("lab_echo".into(), b"#!echo\n".to_vec()),
        ("lab_plain".into(), b"plain text\n".to_vec()),
    ]
}

fn runas(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    let word = rng.word(12);
    let before = g.out("/modules/lab_cat");
    if load(g, "runas", checks).is_none() {
        return;
    }
    let out = g.out("/modules/lab_cat");
    checks.push(Check::new(
        "runs #!NAME files with /bin/NAME",
        out.contains(&word) && !before.contains(&word),
        format!("the file holds `#!cat` and `{word}`; running it printed:\n{out}"),
    ));
    let out = g.out("/modules/lab_echo");
    checks.push(Check::new("passes the file to the interpreter", out.contains("/modules/lab_echo"), out));
    let out = g.out("/modules/lab_plain");
    checks.push(Check::new("leaves other files alone", out.contains("Exec format error"), out));
    g.out("modunload -n runas");
    let out = g.out("/modules/lab_cat");
    checks.push(Check::new("unloading ends it", out.contains("Exec format error") && !out.contains(&word), out));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_answers() {
        assert_eq!(gcd_of(84, 36), 12);
        assert_eq!(gcd_of(0, 9), 9);
        assert_eq!(primes_below(10), 4);
        assert_eq!(primes_below(2), 0);
        assert_eq!(primes_below(1500), 239);
        assert_eq!(parse_time("12:34:56\n"), Some(45_296));
        assert_eq!(parse_time("hello\n"), None);
    }

    #[test]
    fn every_solution_verifies_and_the_fixme_skeleton_does_not() {
        for lab in ALL {
            for solution in [true, false] {
                let path = super::super::source_path(lab, solution);
                let text = std::fs::read_to_string(&path).unwrap();
                let result = crate::modules::compile(&path.display().to_string(), &text);
                let expect_ok = solution || lab.dir != "fixme";
                assert_eq!(result.is_ok(), expect_ok, "{}: {:?}", path.display(), result.err());
                if let Ok(bytes) = result {
                    assert_eq!(lkm::parse(&bytes).unwrap().name, lab.module, "{}", path.display());
                }
            }
        }
    }

    #[test]
    fn every_lab_has_a_page_in_the_book() {
        for lab in ALL {
            let page = crate::kernel::root().join("book/src/labs").join(format!("{}.md", lab.dir));
            let text = std::fs::read_to_string(&page).unwrap_or_default();
            assert!(text.contains(&format!("cargo xtask grade {}", lab.dir)), "{} must say how to grade it", page.display());
        }
    }
}
