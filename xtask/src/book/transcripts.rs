//! Shell transcripts for the book, recorded from real runs: a script in
//! `book/transcripts/NAME.txt` lists commands, one a line (`#` starts a
//! comment, `timeout SECONDS` sets the wait for the following commands);
//! `cargo xtask book --record` boots Warden, types each command at the
//! shell and writes what the console showed to
//! `book/src/generated/transcripts/NAME.txt`, up to the next prompt.
//!
//! Outputs hold times and ids, so the test stage does not compare them
//! with a new run; it checks that each transcript was recorded from the
//! current script (the same commands in the same order) and that no
//! command was cut off by a timeout.

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
    Command(String),
}

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
            match line.strip_prefix("timeout ") {
                Some(secs) => lines.push(Line::Timeout(Duration::from_secs_f64(secs.trim().parse().map_err(|_| {
                    XtaskError::new(format!("`timeout` needs seconds\n  --> {}:{}", super::display(&path), i + 1))
                })?))),
                None => lines.push(Line::Command(line.to_string())),
            }
        }
        out.push((name, lines));
    }
    Ok(out)
}

fn output_path(name: &str) -> PathBuf {
    super::src_dir().join("generated/transcripts").join(format!("{name}.txt"))
}

/// Boots one machine per script and records it; the files written.
pub fn record() -> Result<Vec<PathBuf>> {
    let vm = Vm::new(kernel::build(Flavor::Normal, false)?);
    let mut written = Vec::new();
    for (name, lines) in scripts()? {
        let mut session = Session::start(&vm, false)?;
        let mut timeout = Duration::from_secs(20);
        session
            .expect(PROMPT, timeout)
            .map_err(|e| XtaskError::new(format!("transcript {name}: no prompt after boot ({e:?})")))?;
        let mut transcript = String::new();
        for line in lines {
            match line {
                Line::Timeout(t) => timeout = t,
                Line::Command(command) => {
                    let from = session.pos();
                    session.send_line(&command)?;
                    session.expect(PROMPT, timeout).map_err(|e| {
                        XtaskError::new(format!("transcript {name}: `{command}` did not come back to the prompt ({e:?})\n{}", session.tail(10)))
                    })?;
                    let shown = &session.output()[from..session.pos() - PROMPT.len()];
                    transcript.push_str(PROMPT);
                    transcript.push_str(shown);
                }
            }
        }
        let path = output_path(&name);
        super::write(&path, &transcript)?;
        written.push(path);
    }
    Ok(written)
}

/// The commands a transcript shows, in order.
fn commands_in(transcript: &str) -> Vec<&str> {
    transcript.lines().filter_map(|l| l.strip_prefix(PROMPT)).map(str::trim).collect()
}

/// `Ok` when every transcript holds exactly its script's commands.
pub fn check() -> std::result::Result<String, String> {
    let scripts = scripts().map_err(|e| e.to_string())?;
    let mut errors = Vec::new();
    for (name, lines) in &scripts {
        let path = output_path(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            errors.push(format!("error: {} is missing", super::display(&path)));
            continue;
        };
        let wanted: Vec<&str> =
            lines.iter().filter_map(|l| if let Line::Command(c) = l { Some(c.as_str()) } else { None }).collect();
        if commands_in(&text) != wanted {
            errors.push(format!("error: {} was not recorded from the current script", super::display(&path)));
        }
    }
    if errors.is_empty() {
        Ok(format!("{} transcripts", scripts.len()))
    } else {
        Err(format!("{}\nhelp: run `cargo xtask book --record` and commit the result", errors.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_back_from_prompts() {
        let t = "warden:/# ls /\nbin\netc\nwarden:/# cat /etc/motd\nWelcome\n";
        assert_eq!(commands_in(t), vec!["ls /", "cat /etc/motd"]);
    }
}
