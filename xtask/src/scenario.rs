//! Stage `scenarios`: boot the normal system and drive it over the serial
//! port, as a user would, following the scripts in `tests/scenarios/*.scn`.
//!
//! A script is a list of directives, one a line (`#` starts a comment):
//!
//! | directive | meaning |
//! |---|---|
//! | `timeout SECONDS` | how long each following `expect` waits (default 10) |
//! | `send TEXT` | type TEXT and Enter |
//! | `sendraw TEXT` | type TEXT without Enter; `\xHH` is the byte HH (`\x03` Ctrl-C, `\x1c` Ctrl-\\), `\\` a backslash |
//! | `sleep SECONDS` | wait (for a program to start before a key reaches it) |
//! | `expect TEXT` | wait until TEXT appears after the previous match |
//! | `expect-not TEXT` | TEXT must not appear from here to the end of the run |
//! | `expect-exit STATUS` | wait until QEMU exits with STATUS (33: the kernel halted normally) |
//! | `initrd none` | boot without the initrd (the kernel console instead of user space) |
//! | `cpus N` | boot with N CPUs (1 unless told) |
//!
//! Every scenario boots a fresh virtual machine, which is killed when the
//! script ends or fails. Scripts in `tests/scenarios/pending/` wait for a
//! part of the system still being built: they run only when the filter
//! names them (`cargo xtask test --stage scenarios --filter pending/`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::kernel::{self, Flavor};
use crate::qemu::{self, Vm};
use crate::session::{ExpectError, Session};
use crate::test::{StageResult, TestArgs, seconds};
use crate::{Result, XtaskError};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One directive with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Timeout(Duration),
    Send(String),
    SendRaw(Vec<u8>),
    Sleep(Duration),
    Expect(String),
    ExpectNot(String),
    ExpectExit(i32),
    NoInitrd,
    Cpus(u32),
}

/// A parsed script.
#[derive(Debug)]
pub struct Script {
    pub name: String,
    pub steps: Vec<(usize, Step)>,
}

/// Parses a script; errors name the file and line.
pub fn parse(name: &str, text: &str) -> Result<Script> {
    let mut steps = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (directive, arg) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
        let error = |what: String| {
            XtaskError::new(format!("{what}\n  --> {name}:{line}\n   | {raw}"))
                .with_help("directives are: timeout SECONDS, send TEXT, sendraw TEXT, sleep SECONDS, expect TEXT, expect-not TEXT, expect-exit STATUS, initrd none, cpus N")
        };
        let seconds = |what: &str| -> Result<Duration> {
            arg.trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| error(format!("`{what}` needs seconds, found `{arg}`")))
        };
        let step = match directive {
            "send" => Step::Send(arg.to_string()),
            "sendraw" => Step::SendRaw(unescape(arg).map_err(error)?),
            "sleep" => Step::Sleep(seconds("sleep")?),
            "expect" if !arg.is_empty() => Step::Expect(arg.to_string()),
            "expect-not" if !arg.is_empty() => Step::ExpectNot(arg.to_string()),
            "timeout" => Step::Timeout(seconds("timeout")?),
            "expect-exit" => Step::ExpectExit(
                arg.trim().parse().map_err(|_| error(format!("`expect-exit` needs a status, found `{arg}`")))?,
            ),
            "initrd" if arg.trim() == "none" => Step::NoInitrd,
            "cpus" => Step::Cpus(
                arg.trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=16).contains(n))
                    .ok_or_else(|| error(format!("`cpus` needs a count from 1 to 16, found `{arg}`")))?,
            ),
            "expect" | "expect-not" => return Err(error(format!("`{directive}` needs the text to look for"))),
            other => return Err(error(format!("unknown directive `{other}`"))),
        };
        steps.push((line, step));
    }
    Ok(Script { name: name.to_string(), steps })
}

/// The bytes of a `sendraw` argument: `\xHH` is the byte HH, `\\` a
/// backslash, anything else itself.
pub(crate) fn unescape(text: &str) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        bytes.extend_from_slice(&rest.as_bytes()[..at]);
        let escape = &rest[at..];
        if let Some(after) = escape.strip_prefix("\\\\") {
            bytes.push(b'\\');
            rest = after;
        } else if let Some(byte) = escape.get(2..4).filter(|_| escape.starts_with("\\x")).and_then(|h| u8::from_str_radix(h, 16).ok()) {
            bytes.push(byte);
            rest = &escape[4..];
        } else {
            return Err(format!("bad escape `{}` in `sendraw`: write `\\xHH` (two hex digits) or `\\\\`", escape.chars().take(4).collect::<String>()));
        }
    }
    bytes.extend_from_slice(rest.as_bytes());
    Ok(bytes)
}

/// The scenario files, sorted by name; with `pending`, those of
/// `tests/scenarios/pending/` too (scenarios waiting for a part of the
/// system, run on request: `--filter pending/NAME`).
fn scripts(pending: bool) -> Result<Vec<PathBuf>> {
    let dir = kernel::root().join("tests").join("scenarios");
    let mut files = scripts_in(&dir)?;
    if pending {
        files.extend(scripts_in(&dir.join("pending"))?);
    }
    Ok(files)
}

fn scripts_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| XtaskError::new(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "scn"))
        .collect();
    files.sort();
    Ok(files)
}

pub fn run(args: &TestArgs) -> Result<StageResult> {
    let image = kernel::build(Flavor::Normal, false)?;
    let vm = Vm::new(image);
    let mut result = StageResult::default();
    let pending = args.filter.as_ref().is_some_and(|f| f.contains("pending/"));
    for path in scripts(pending)? {
        let name = display_name(&path);
        if args.filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let started = Instant::now();
        let outcome = std::fs::read_to_string(&path)
            .map_err(XtaskError::from)
            .and_then(|text| parse(&name, &text))
            .and_then(|script| run_script(&vm, &script));
        match outcome {
            Ok(()) => {
                result.passed += 1;
                println!("scenario {name} ... ok ({})", seconds(started.elapsed()));
            }
            Err(error) => {
                result.failed += 1;
                println!("scenario {name} ... FAILED ({})\nerror: {error}", seconds(started.elapsed()));
            }
        }
    }
    Ok(result)
}

fn display_name(path: &Path) -> String {
    path.strip_prefix(kernel::root()).unwrap_or(path).display().to_string()
}

/// Boots a machine and follows the script.
pub fn run_script(vm: &Vm, script: &Script) -> Result<()> {
    let mut vm = vm.clone();
    if script.steps.iter().any(|(_, s)| *s == Step::NoInitrd) {
        vm.image.initrd = None;
    }
    for (_, step) in &script.steps {
        if let Step::Cpus(n) = step {
            vm.cpus = *n;
        }
    }
    let mut session = Session::start(&vm, false)?;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut forbidden: Vec<(usize, String, usize)> = Vec::new();
    let fail = |session: &Session, line: usize, what: String| {
        XtaskError::new(format!("{what}\n  --> {}:{line}\nnote: the last lines of output were:\n{}", script.name, indent(&session.tail(15))))
    };
    for (line, step) in &script.steps {
        match step {
            Step::Timeout(t) => timeout = *t,
            Step::NoInitrd | Step::Cpus(_) => {}
            Step::Send(text) => session.send_line(text)?,
            Step::SendRaw(bytes) => session.send_bytes(bytes)?,
            Step::Sleep(pause) => std::thread::sleep(*pause),
            Step::Expect(text) => match session.expect(text, timeout) {
                Ok(()) => {}
                Err(ExpectError::Timeout) => {
                    return Err(fail(&session, *line, format!("`{text}` did not appear within {} s", timeout.as_secs_f64())));
                }
                Err(ExpectError::Exited(code)) => {
                    return Err(fail(&session, *line, format!("`{text}` did not appear: {}", qemu::describe_exit(code))));
                }
            },
            Step::ExpectNot(text) => forbidden.push((*line, text.clone(), session.pos())),
            Step::ExpectExit(expected) => {
                let status = session.wait_exit(timeout);
                match status.and_then(|s| s.code()) {
                    Some(code) if code == *expected => {}
                    code => {
                        let what = match status {
                            None => format!("QEMU did not exit within {} s", timeout.as_secs_f64()),
                            Some(_) => qemu::describe_exit(code),
                        };
                        return Err(fail(&session, *line, format!("expected exit status {expected}, but {what}")));
                    }
                }
            }
        }
    }
    for (line, text, from) in forbidden {
        if session.output()[from..].contains(text.as_str()) {
            return Err(fail(&session, line, format!("`{text}` appeared in the output")));
        }
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_directive() {
        let script = parse("t.scn", "# boot\ntimeout 5\ncpus 4\nexpect warden> \nsend help\nexpect-not panic\nexpect-exit 33\n").unwrap();
        let steps: Vec<Step> = script.steps.into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            steps,
            vec![
                Step::Timeout(Duration::from_secs(5)),
                Step::Cpus(4),
                Step::Expect("warden> ".into()),
                Step::Send("help".into()),
                Step::ExpectNot("panic".into()),
                Step::ExpectExit(33),
            ]
        );
    }

    #[test]
    fn unknown_directive_names_file_and_line() {
        let error = parse("t.scn", "send help\nwait 3\n").unwrap_err().to_string();
        assert!(error.contains("unknown directive `wait`"), "{error}");
        assert!(error.contains("t.scn:2"), "{error}");
    }

    #[test]
    fn sendraw_turns_escapes_into_bytes() {
        let script = parse("t.scn", "sendraw \\x03\nsendraw a\\x1cm\\\\\nsleep 0.5\n").unwrap();
        let steps: Vec<Step> = script.steps.into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            steps,
            vec![
                Step::SendRaw(vec![0x03]),
                Step::SendRaw(vec![b'a', 0x1c, b'm', b'\\']),
                Step::Sleep(Duration::from_millis(500)),
            ]
        );
    }

    #[test]
    fn sendraw_rejects_a_bad_escape() {
        let error = parse("t.scn", "sendraw \\xZZ\n").unwrap_err().to_string();
        assert!(error.contains("bad escape `\\xZZ`"), "{error}");
        assert!(error.contains("t.scn:1"), "{error}");
        let error = parse("t.scn", "sendraw \\x0\n").unwrap_err().to_string();
        assert!(error.contains("bad escape"), "{error}");
    }

    #[test]
    fn expect_needs_text() {
        let error = parse("t.scn", "expect\n").unwrap_err().to_string();
        assert!(error.contains("needs the text"), "{error}");
    }
}
