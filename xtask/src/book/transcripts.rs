//! Shell transcripts for the book, recorded from real runs: a script in
//! `book/transcripts/NAME.txt` lists commands, one a line (`#` starts a
//! comment, `timeout SECONDS` sets the wait for the following commands).
//! A command is typed with Enter and runs until the next prompt; `quiet
//! COMMAND` runs until the prompt or until the console has been quiet for
//! a second (a program that does not end by itself, or a shell that cannot
//! print), and `key TEXT` types TEXT without Enter (`\xHH` is the byte HH:
//! `\x03` Ctrl-C, `\x1c` Ctrl-\) and waits the same way;
//! `cargo xtask book --record` boots Warden once a script, as
//! `cargo xtask run` would (with the `modc load` channel, so `lkmd` runs),
//! types each command at the shell and writes what the console showed to
//! `book/src/generated/transcripts/NAME.txt`, up to the next prompt.
//!
//! The test stage runs every script again on a fresh boot and compares
//! the output with the recorded one, after masking what changes from boot
//! to boot ([`super::mask`]); a transcript that a change to the kernel or
//! the tools made stale fails the stage.

use std::path::PathBuf;
use std::time::Duration;

use crate::kernel::{self, Flavor};
use crate::qemu::Vm;
use crate::session::Session;
use crate::{Result, XtaskError};

/// The shell's prompt.
pub const PROMPT: &str = "warden:/# ";

/// A line of a script.
enum Line {
    Timeout(Duration),
    /// Typed with Enter; `true` when it may end without a prompt.
    Command(String, bool),
    /// Typed as these bytes, without Enter.
    Key(Vec<u8>),
}

/// How long the console must stay quiet to end a `quiet` or `key` line.
const QUIET: Duration = Duration::from_secs(1);

fn scripts() -> Result<Vec<(String, Vec<Line>)>> {
    let dir = super::book_dir().join("transcripts");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| XtaskError::new(format!("cannot list {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&path)?;
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{}:{}", super::display(&path), i + 1);
            if let Some(secs) = line.strip_prefix("timeout ") {
                let secs = secs.trim().parse().map_err(|_| XtaskError::new(format!("`timeout` needs seconds\n  --> {}", at())))?;
                lines.push(Line::Timeout(Duration::from_secs_f64(secs)));
            } else if let Some(keys) = line.strip_prefix("key ") {
                let bytes = crate::scenario::unescape(keys).map_err(|e| XtaskError::new(format!("{e}\n  --> {}", at())))?;
                lines.push(Line::Key(bytes));
            } else if let Some(command) = line.strip_prefix("quiet ") {
                lines.push(Line::Command(command.to_string(), true));
            } else {
                lines.push(Line::Command(line.to_string(), false));
            }
        }
        out.push((name, lines));
    }
    Ok(out)
}

fn output_path(name: &str) -> PathBuf {
    super::src_dir().join("generated/transcripts").join(format!("{name}.txt"))
}

/// Boots one machine a script and runs it; each script's name and what
/// the console showed.
fn run_all() -> Result<Vec<(String, String)>> {
    crate::qemu::ensure_installed()?;
    let mut vm = Vm::new(kernel::build(Flavor::Normal, false)?);
    vm.channel = Some(kernel::target_dir().join("book-lkm.sock"));
    let mut out = Vec::new();
    for (name, lines) in scripts()? {
        let mut session = Session::start(&vm, false)?;
        let mut timeout = Duration::from_secs(20);
        session
            .expect(PROMPT, timeout)
            .map_err(|e| XtaskError::new(format!("transcript {name}: no prompt after boot ({e:?})")))?;
        let mut transcript = String::new();
        // Whether the last line ended at a prompt, which the next line's
        // text then follows.
        let mut at_prompt = true;
        for line in lines {
            let (shown, quiet) = match line {
                Line::Timeout(t) => {
                    timeout = t;
                    continue;
                }
                Line::Command(command, quiet) => {
                    let from = session.pos();
                    session.send_line(&command)?;
                    (from, quiet)
                }
                Line::Key(bytes) => {
                    let from = session.pos();
                    session.send_bytes(&bytes)?;
                    (from, true)
                }
            };
            let ended = if quiet {
                session.expect_or_quiet(PROMPT, QUIET, timeout)
            } else {
                session.expect(PROMPT, timeout).map(|()| true)
            };
            let ended = ended.map_err(|e| {
                XtaskError::new(format!("transcript {name}: a line did not come back to the prompt ({e:?})\n{}", session.tail(10)))
            })?;
            if at_prompt {
                transcript.push_str(PROMPT);
            }
            let end = if ended { session.pos() - PROMPT.len() } else { session.pos() };
            transcript.push_str(&session.output()[shown..end]);
            at_prompt = ended;
        }
        out.push((name, transcript));
    }
    Ok(out)
}

/// Records every script; the files written.
pub fn record() -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (name, transcript) in run_all()? {
        let path = output_path(&name);
        super::write(&path, &transcript)?;
        written.push(path);
    }
    Ok(written)
}

/// `Ok` when every transcript is what its script shows on a boot now,
/// per-boot values masked.
pub fn check() -> std::result::Result<String, String> {
    let runs = run_all().map_err(|e| e.to_string())?;
    let mut errors = Vec::new();
    for (name, now) in &runs {
        let path = output_path(name);
        let Ok(recorded) = std::fs::read_to_string(&path) else {
            errors.push(format!("error: {} is missing", super::display(&path)));
            continue;
        };
        if let Some(why) = first_difference(&recorded, now) {
            errors.push(format!("error: {} is not what its script shows now\n{why}", super::display(&path)));
        }
    }
    if errors.is_empty() {
        Ok(format!("{} transcripts, each run on a fresh boot", runs.len()))
    } else {
        Err(format!("{}\nhelp: run `cargo xtask book --record` and commit the result", errors.join("\n")))
    }
}

/// Where the masked texts first differ, as a note; `None` when they agree.
fn first_difference(recorded: &str, now: &str) -> Option<String> {
    let (old, new) = (super::mask::mask(recorded), super::mask::mask(now));
    if old == new {
        return None;
    }
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let at = old.iter().zip(&new).position(|(a, b)| a != b).unwrap_or(old.len().min(new.len()));
    let show = |lines: &[&str]| lines.get(at).map_or("(end of the transcript)".to_string(), |l| format!("`{l}`"));
    Some(format!(
        "  = note: line {} (what changes from boot to boot shown as #)\n  = note: recorded: {}\n  = note: now:      {}",
        at + 1,
        show(&old),
        show(&new)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_transcript_names_its_first_different_line() {
        let recorded = "warden:/# ps\n  PID  PPID USER     STAT CPU  TICKS    MEM COMMAND\n    1     0 root     S      0      0    32K init\n";
        let same = "warden:/# ps\n  PID  PPID USER     STAT CPU  TICKS    MEM COMMAND\n    1     0 root     S      1      5    32K init\n";
        assert_eq!(first_difference(recorded, same), None);
        let more = format!("{same}    7     1 root     S      0      0    40K lkmd\n");
        let why = first_difference(recorded, &more).unwrap();
        assert!(why.contains("line 4"), "{why}");
        assert!(why.contains("recorded: (end of the transcript)"), "{why}");
        assert!(why.contains("now:      `7 1 root # # # 40K lkmd`"), "{why}");
    }
}
