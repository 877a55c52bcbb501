//! Lab 4, `upper`: a file system with `in`, a regular file of at most 64
//! bytes, and `out`, its text upper-cased. The grader writes text of every
//! length up to the limit and past it, mixing cases, digits and
//! punctuation, appends, and looks up a name that does not exist.

use super::{Cases, load, unload};
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng};

/// How many bytes `in` holds.
const CAPACITY: usize = 64;

/// Bytes the grader writes: letters of both cases, digits, and punctuation
/// on either side of `a..=z` and `A..=Z` that the shell passes as they are
/// inside double quotes.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@{}~^_-.,:+=%/!()";

/// Random text of `n` bytes from [`ALPHABET`].
fn text(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| ALPHABET[rng.range(0, ALPHABET.len() as u64) as usize] as char).collect()
}

/// What `in` and `out` print after writing: the text and its upper case.
fn both(g: &mut Guest) -> String {
    g.out("cat /mnt/in; echo; cat /mnt/out; echo")
}

fn expected(stored: &str) -> String {
    format!("{stored}\n{}\n", stored.to_ascii_uppercase())
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    if load(g, "upper", checks).is_none() {
        return;
    }
    let out = g.out("mount -t upper none /mnt; ls /mnt");
    let names: Vec<&str> = out.split_whitespace().collect();
    checks.push(Check::new("mounts and lists exactly in and out", names == ["in", "out"], out));

    // Starts like a name that exists, and is longer than either.
    let (first, len) = (["i", "o"][rng.range(0, 2) as usize], rng.range(3, 12) as usize);
    let missing = format!("{first}{}", rng.word(len));
    let out = g.out(&format!("cat /mnt/{missing}; echo \"rc\"$?"));
    checks.push(Check::new(
        "a name that does not exist is not found",
        out.contains("No such file") && out.contains("rc1"),
        format!("`cat /mnt/{missing}` printed:\n{out}"),
    ));

    let mut upper = Cases::new("out is in, upper-cased (any length up to 64 bytes, any bytes)");
    for (lo, hi) in [(1, 16), (16, 40), (40, CAPACITY)] {
        let len = rng.range(lo, hi as u64) as usize;
        let written = text(rng, len);
        g.out(&format!("echo \"{written}\" > /mnt/in"));
        let out = both(g);
        let want = expected(&format!("{written}\n"));
        upper.case(out.contains(&want), || format!("wrote `{written}`, expected in and out to print:\n{want}got:\n{out}"));
    }
    upper.push(checks);

    // The last text was at least 41 bytes long.
    let len = rng.range(1, 20) as usize;
    let shorter = text(rng, len);
    g.out(&format!("echo \"{shorter}\" > /mnt/in"));
    let out = both(g);
    let want = expected(&format!("{shorter}\n"));
    checks.push(Check::new(
        "`>` replaces a longer text (a write of no bytes at offset 0 empties in)",
        out.contains(&want),
        format!("wrote `{shorter}` over a longer text; expected:\n{want}got:\n{out}"),
    ));

    let (len, len2) = (rng.range(1, 20) as usize, rng.range(1, 20) as usize);
    let (first, second) = (text(rng, len), text(rng, len2));
    g.out(&format!("echo \"{first}\" > /mnt/in; echo \"{second}\" >> /mnt/in"));
    let out = both(g);
    let want = expected(&format!("{first}\n{second}\n"));
    checks.push(Check::new("`>>` appends (a write goes at its offset)", out.contains(&want), format!("wrote `{first}`, then appended `{second}`; expected:\n{want}got:\n{out}")));

    let len = rng.range(CAPACITY as u64 + 1, 200) as usize;
    let long = text(rng, len);
    let out = g.out(&format!("echo \"{long}\" > /mnt/in; echo \"rc\"$?"));
    checks.push(Check::new(
        "a write past 64 bytes fails with ENOSPC",
        out.contains("No space left") && out.contains("rc1"),
        format!("wrote {} bytes; got:\n{out}", long.len() + 1),
    ));
    let out = both(g);
    let want = expected(&long[..CAPACITY]);
    checks.push(Check::new("a long write keeps its first 64 bytes", out.contains(&want), format!("wrote `{long}`; expected:\n{want}got:\n{out}")));

    let out = g.out("echo x > /mnt/out; echo \"rc\"$?");
    checks.push(Check::new("out cannot be written", out.contains("rc1"), out));
    let out = g.out("modunload -n upper; echo \"rc\"$?");
    checks.push(Check::new("unload refused while mounted", out.contains("EBUSY") && out.contains("rc1"), out));
    g.out("umount /mnt");
    unload(g, "upper", checks);
}
