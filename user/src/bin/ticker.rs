//! `ticker N`: prints `ticker: I at T ms` for I from 1 to N, one line every
//! 10 ms (a timer tick), T being the uptime; then how long it ran and the
//! longest gap between two lines. A program that keeps printing, to watch
//! the machine stay responsive while the kernel is busy (for instance
//! verifying a module: `ticker 400 & modload -v FILE.lkm`).
#![no_std]
#![no_main]
use user::{println, sys};
user::entry!(main);

const USAGE: &str = "ticker LINES";

/// The pause between two lines, in ms: one timer tick.
const PERIOD_MS: u64 = 10;

fn main(args: user::Args) -> i32 {
    let [lines] = args.rest() else { return user::usage(USAGE) };
    let Ok(lines) = lines.parse::<u64>() else {
        user::eprintln!("error: ticker: `{lines}` is not a number of lines\nhelp: give a count, e.g. `ticker 400`");
        return 2;
    };
    let start = sys::uptime_ns() / 1_000_000;
    let (mut last, mut longest_gap) = (start, 0);
    for i in 1..=lines {
        let now = sys::uptime_ns() / 1_000_000;
        longest_gap = longest_gap.max(now.saturating_sub(last));
        last = now;
        println!("ticker: {i} at {now} ms");
        if i < lines
            && let Err(e) = sys::sleep_ms(PERIOD_MS)
        {
            return user::report("sleep", e);
        }
    }
    println!("ticker: {lines} lines in {} ms, longest gap {longest_gap} ms", last.saturating_sub(start));
    0
}
