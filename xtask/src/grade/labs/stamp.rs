//! Lab 1, `stamp`: a module that logs its id, counts timer ticks and says
//! how long it was loaded. The grader loads it twice for times drawn from
//! two ranges far apart, and compares what it logs each time with what
//! was measured outside the module: the time with the stamps of the
//! kernel's log, the ticks with a counter of the grader's own loaded
//! alongside. No fixed figure passes both.

use std::time::{Duration, Instant};

use super::{load, logged};
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng};

/// How far the logged time may be from the log's own stamps (the module
/// reads the clock a moment before logging; a loaded host can hold the
/// machine up in between).
const SLACK_MS: u64 = 50;

pub fn structure(image: &lkm::Image, checks: &mut Vec<Check>) {
    let has_tick = image.program("tick").is_some();
    checks.push(Check::new("has a `tick` entry point", has_tick, "the module must count ticks itself, in `fn tick(ctx: &TickCtx)`"));
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    let short = rng.range(500, 1500);
    let long = rng.range(4000, 5500);
    let waits = if rng.range(0, 2) == 0 { [short, long] } else { [long, short] };
    // One round loads the grader's counter first, the other second: the
    // module's id differs between them.
    let hello_first = rng.range(0, 2) == 0;
    for (round, wait) in waits.into_iter().enumerate() {
        let hello_first = hello_first == (round == 0);
        if !once(g, round + 1, Duration::from_millis(wait), hello_first, checks) {
            return;
        }
    }
}

/// One load, a wait, one unload, with the grader's own tick counter
/// (`modules/hello.wm`, which logs its count when unloaded) loaded around
/// the module (`hello_first`) or inside; whether the module loaded.
fn once(g: &mut Guest, round: usize, wait: Duration, hello_first: bool, checks: &mut Vec<Check>) -> bool {
    let first_sent = Instant::now();
    if hello_first {
        g.out("modload /modules/hello.lkm");
    }
    let load_sent = Instant::now();
    let Some(id) = load(g, "stamp", checks) else { return false };
    let loaded = Instant::now();
    if !hello_first {
        g.out("modload /modules/hello.lkm");
    }
    let both_loaded = Instant::now();
    let said = logged(g, "stamp: loaded as module ");
    checks.push(Check::new(
        &format!("load {round}: logs its id"),
        said.as_ref().is_some_and(|(_, n)| n[..] == [id]),
        format!("expected `stamp: loaded as module {id}` in dmesg, found {said:?}"),
    ));
    std::thread::sleep(wait.saturating_sub(loaded - load_sent));
    let first_unload_sent = Instant::now();
    if !hello_first {
        g.out("modunload -n hello");
    }
    let unload_sent = Instant::now();
    g.out("modunload -n stamp");
    let unloaded = Instant::now();
    if hello_first {
        g.out("modunload -n hello");
    }
    let last_unloaded = Instant::now();
    let host = format!("{} to {} ms by the host's clock", (unload_sent - loaded).as_millis(), (unloaded - load_sent).as_millis());
    let (unloaded_at, numbers) = logged(g, "stamp: ").filter(|(_, n)| n.len() >= 2).unwrap_or((0, vec![0, 0]));
    let (ticks, ms) = (numbers[0], numbers[1]);
    let kernel = said.map_or(0, |(loaded_at, _)| unloaded_at.saturating_sub(loaded_at) / 1000);
    let (lo, hi) = (kernel.saturating_sub(SLACK_MS), kernel + SLACK_MS);
    checks.push(Check::new(
        &format!("load {round}: measures how long it was loaded"),
        (lo..=hi).contains(&ms),
        format!("logged {ms} ms; the kernel log's stamps put its two lines {kernel} ms apart ({host}; accepted: {lo}..={hi})"),
    ));
    // The grader's counter saw the same ticks, and those of the moments
    // when only one of the two was loaded: at most 100 a second (fewer
    // when a loaded host delays timer interrupts).
    let theirs = logged(g, "hello: unloaded after ").and_then(|(_, n)| n.first().copied()).unwrap_or(0);
    let apart = ((both_loaded - first_sent) + (last_unloaded - first_unload_sent)).as_millis() as u64 / 10 + 2;
    let (lo, hi) = if hello_first { (theirs.saturating_sub(apart), theirs) } else { (theirs, theirs + apart) };
    checks.push(Check::new(
        &format!("load {round}: counts timer ticks"),
        (lo..=hi).contains(&ticks),
        format!(
            "logged {ticks} ticks; the grader's own counter, loaded {} it, counted {theirs} (accepted: {lo}..={hi})",
            if hello_first { "before and unloaded after" } else { "after and unloaded before" }
        ),
    ));
    let out = g.out("modstat -n stamp");
    checks.push(Check::new(&format!("load {round}: unloads"), out.contains("no module"), out));
    true
}
