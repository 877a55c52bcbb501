//! Lab 3, `clock`: `/dev/clock` reads the CMOS real-time clock. The grader
//! starts the clock at a random afternoon time of its own (QEMU's `-rtc
//! base=`) and reads it in each of the clock's four modes (BCD or binary,
//! 12- or 24-hour), set through status register B by a driver of its own
//! (`rtcmode.wm`, `/dev/rtcmode`), so a driver that assumes the mode QEMU
//! starts in fails.

use std::time::Duration;

use super::load;
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng, Setup};
use crate::{Result, XtaskError};

/// Bits of status register B: values are binary (not BCD); hours run 0-23.
const BINARY: u64 = 0x04;
const HOURS_24: u64 = 0x02;

/// Where the clock starts: a date, and a time of day after 13:00 (so
/// 12-hour mode shows) with minutes of 16 or more (so binary and BCD
/// differ), in seconds since midnight.
fn start(rng: &mut Rng) -> (String, u64) {
    let date = format!("20{:02}-{:02}-{:02}", rng.range(10, 40), rng.range(1, 13), rng.range(1, 29));
    let seconds = rng.range(13, 24) * 3600 + rng.range(16, 59) * 60 + rng.range(0, 60);
    (date, seconds)
}

pub fn setup(rng: &mut Rng) -> Result<Setup> {
    let (date, t) = start(rng);
    let helper = crate::modules::compile("rtcmode.wm", include_str!("rtcmode.wm")).map_err(XtaskError::new)?;
    Ok(Setup {
        files: vec![("rtcmode.lkm".into(), 0o644, helper)],
        rtc_base: Some(format!("{date}T{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)),
        ..Setup::default()
    })
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

fn hms(t: u64) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    let (_, base) = start(rng);
    if load(g, "clock", checks).is_none() {
        return;
    }
    let out = g.out("ls /dev");
    checks.push(Check::new("/dev/clock appears", out.lines().any(|l| l.split_whitespace().any(|w| w == "clock")), out));
    let out = g.out("cat /dev/clock /dev/clock");
    let lines = out.lines().filter(|l| l.len() == 8 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':').count();
    checks.push(Check::new("one line per open file (end of file after it)", lines == 2, out));
    g.out("modunload -n clock");
    let mut modes = [(HOURS_24, "BCD, 24-hour"), (BINARY | HOURS_24, "binary, 24-hour"), (0, "BCD, 12-hour"), (BINARY, "binary, 12-hour")];
    let first = rng.range(0, 4) as usize;
    modes.rotate_left(first);
    for (bits, name) in modes {
        std::thread::sleep(Duration::from_millis(rng.range(100, 600)));
        // The helper (`rtcmode.wm`) and the driver take the same ports: one at
        // a time.
        let out = g.out(&format!(
            "modload /modules/rtcmode.lkm; echo {bits} > /dev/rtcmode; modunload -n rtcmode; modload /modules/lab_clock.lkm; cat /dev/clock; modunload -n clock"
        ));
        let want = (base + g.started.elapsed().as_secs()) % 86_400;
        let read = out.lines().filter_map(parse_time).next();
        let off = read.map(|t| (t as i64 - want as i64).rem_euclid(86_400).min((want as i64 - t as i64).rem_euclid(86_400)));
        checks.push(Check::new(
            &format!("reads the clock in {name} mode (within 3 s)"),
            off.is_some_and(|d| d <= 3),
            format!("the clock was started at {} and should read about {}; got:\n{out}", hms(base), hms(want)),
        ));
    }
    let out = g.out("modstat -n clock");
    checks.push(Check::new("unloads", out.contains("no module"), out));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("12:34:56\n"), Some(45_296));
        assert_eq!(parse_time("hello\n"), None);
        assert_eq!(hms(45_296), "12:34:56");
    }
}
