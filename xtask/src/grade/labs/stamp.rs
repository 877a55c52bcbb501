//! Lab 1, `stamp`: a module that logs its id, counts timer ticks and says
//! how long it was loaded. The grader loads it twice for times drawn from
//! two ranges far apart, and compares what it logs each time with what the
//! grader measured itself: no fixed figure, and no figure derived from
//! another, passes both.

use std::time::{Duration, Instant};

use super::{load, logged};
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng};

/// Slack for the time a command takes to reach the guest and come back.
const SLACK_MS: u64 = 150;

pub fn structure(image: &lkm::Image, checks: &mut Vec<Check>) {
    let has_tick = image.program("tick").is_some();
    checks.push(Check::new("has a `tick` entry point", has_tick, "the module must count ticks itself, in `fn tick(ctx: &TickCtx)`"));
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    let short = rng.range(500, 1500);
    let long = rng.range(4000, 5500);
    let waits = if rng.range(0, 2) == 0 { [short, long] } else { [long, short] };
    for (round, wait) in waits.into_iter().enumerate() {
        // Load another module now and then, so the id is not always the same.
        if rng.range(0, 2) == 1 {
            g.out("modload /modules/hello.lkm");
        }
        if !once(g, round + 1, Duration::from_millis(wait), checks) {
            return;
        }
        g.out("modunload -n hello");
    }
}

/// One load, a wait, one unload; whether the module loaded.
fn once(g: &mut Guest, round: usize, wait: Duration, checks: &mut Vec<Check>) -> bool {
    let load_sent = Instant::now();
    let Some(id) = load(g, "stamp", checks) else { return false };
    let loaded = Instant::now();
    let said = logged(g, "stamp: loaded as module ");
    checks.push(Check::new(
        &format!("load {round}: logs its id"),
        said.as_deref() == Some(&[id][..]),
        format!("expected `stamp: loaded as module {id}` in dmesg, found {said:?}"),
    ));
    std::thread::sleep(wait.saturating_sub(loaded - load_sent));
    let unload_sent = Instant::now();
    g.out("modunload -n stamp");
    let unloaded = Instant::now();
    // The module was loaded for at least `inner` and at most `outer`.
    let inner = (unload_sent - loaded).as_millis() as u64;
    let outer = (unloaded - load_sent).as_millis() as u64;
    let numbers = logged(g, "stamp: ").filter(|n| n.len() >= 2);
    let (ticks, ms) = numbers.map_or((0, 0), |n| (n[0], n[1]));
    let (lo, hi) = (inner.saturating_sub(SLACK_MS), outer + SLACK_MS);
    checks.push(Check::new(
        &format!("load {round}: measures how long it was loaded"),
        (lo..=hi).contains(&ms),
        format!("logged {ms} ms; the grader kept it loaded for {inner} to {outer} ms (accepted: {lo}..={hi})"),
    ));
    let (lo, hi) = ((lo / 10) * 9 / 10, hi / 10 + 5);
    checks.push(Check::new(
        &format!("load {round}: counts timer ticks (100 a second)"),
        (lo..=hi).contains(&ticks),
        format!("logged {ticks} ticks; the grader kept it loaded for {inner} to {outer} ms (accepted: {lo}..={hi} ticks)"),
    ));
    let out = g.out("modstat -n stamp");
    checks.push(Check::new(&format!("load {round}: unloads"), out.contains("no module"), out));
    true
}
