//! `sh`: the Warden shell.
//!
//! - `sh` reads commands from standard input, with a prompt
//!   (`warden:/tmp# ` for the superuser, `warden:/tmp$ ` for others).
//! - `sh FILE [ARGS...]` runs a script; `sh -c LINE` runs one line.
//!
//! The command language (`;`, `>`, `>>`, `<`, quotes, `$?`, `#`) is in
//! `user::shell`. Built-in commands: `cd`, `pwd`, `exit`, `echo`, `help`.
//! Anything else is a program: a name without `/` is looked up in `/bin`.
//! The interactive shell makes each program it waits for the console's
//! foreground program, the one Ctrl-C ends (docs/userspace.md).
#![no_std]
#![no_main]
extern crate alloc;
use abi::fs::{CONSOLE_SET_FOREGROUND, FileKind, O_APPEND, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use abi::proc::FD_INHERIT;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use user::io::LineReader;
use user::shell::{self, Command};
use user::{eprintln, fdprintln, print, sys, Errno};
user::entry!(main);

/// Exit status of a command that was not found, as in POSIX shells.
const NOT_FOUND: i32 = 127;
/// Exit status of a command that was found but could not be run.
const CANNOT_RUN: i32 = 126;

struct Shell {
    status: i32,
    params: Vec<String>,
    interactive: bool,
    /// Set by `exit`: the status to end with.
    exit: Option<i32>,
}

impl Shell {
    fn lookup(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.status.to_string()),
            "$" => Some(sys::getpid().to_string()),
            "#" => Some(self.params.len().saturating_sub(1).to_string()),
            _ => {
                let i: usize = name.parse().ok()?;
                self.params.get(i).cloned()
            }
        }
    }

    /// Runs the commands of a line one after the other; each is parsed
    /// (and `$?` expanded) just before it runs.
    fn run_line(&mut self, line: &str) {
        for part in shell::split_commands(line) {
            let commands = match shell::parse(part, &|n| self.lookup(n)) {
                Ok(c) => c,
                Err(msg) => {
                    eprintln!("sh: {msg}");
                    self.status = 2;
                    return;
                }
            };
            for cmd in commands {
                self.status = self.run(&cmd);
                if self.exit.is_some() {
                    return;
                }
            }
        }
    }

    fn run(&mut self, cmd: &Command) -> i32 {
        let out = match &cmd.stdout {
            None => None,
            Some(r) => {
                let flags = O_WRONLY | O_CREAT | if r.append { O_APPEND } else { O_TRUNC };
                match sys::open(&r.path, flags, 0o644) {
                    Ok(fd) => Some(fd),
                    Err(e) => {
                        eprintln!("sh: {}: {}", r.path, e.message());
                        return 1;
                    }
                }
            }
        };
        let input = match &cmd.stdin {
            None => None,
            Some(path) => match sys::open(path, O_RDONLY, 0) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    eprintln!("sh: {}: {}", path, e.message());
                    if let Some(fd) = out {
                        let _ = sys::close(fd);
                    }
                    return 1;
                }
            },
        };
        let status = match self.builtin(cmd, out.unwrap_or(1)) {
            Some(status) => status,
            None => self.external(cmd, input, out),
        };
        for fd in [input, out].into_iter().flatten() {
            let _ = sys::close(fd);
        }
        status
    }

    /// Runs a built-in command writing to `out`; `None` if `cmd` is none.
    fn builtin(&mut self, cmd: &Command, out: usize) -> Option<i32> {
        let args: Vec<&str> = cmd.argv.iter().map(String::as_str).collect();
        Some(match args.as_slice() {
            ["cd"] => cd("/"),
            ["cd", dir] => cd(dir),
            ["cd", ..] => {
                eprintln!("sh: cd: too many arguments");
                1
            }
            ["pwd"] => {
                let mut buf = [0u8; 256];
                match sys::getcwd(&mut buf) {
                    Ok(cwd) => report_write(fdprintln!(out, "{cwd}")),
                    Err(e) => user::report("pwd", e),
                }
            }
            ["exit"] => {
                self.exit = Some(self.status);
                self.status
            }
            ["exit", code] => match code.parse::<i32>() {
                Ok(n) => {
                    self.exit = Some(n);
                    n
                }
                Err(_) => {
                    eprintln!("sh: exit: {code}: numeric argument required");
                    2
                }
            },
            ["echo", rest @ ..] => {
                let (newline, words) = match rest {
                    ["-n", words @ ..] => (false, words),
                    words => (true, words),
                };
                let mut text = words.join(" ");
                if newline {
                    text.push('\n');
                }
                report_write(sys::write_all(out, text.as_bytes()))
            }
            ["help"] => report_write(fdprintln!(
                out,
                "built-in: cd [DIR], pwd, echo [-n] WORDS, exit [N], help\n\
                 programs: ls /bin\n\
                 syntax: CMD ARGS [> FILE | >> FILE | < FILE] [; CMD ...], $? is the last status, # starts a comment"
            )),
            _ => return None,
        })
    }

    fn external(&mut self, cmd: &Command, input: Option<usize>, out: Option<usize>) -> i32 {
        let name = cmd.argv[0].as_str();
        let path = if name.contains('/') { name.to_string() } else { format!("/bin/{name}") };
        match sys::stat(&path) {
            Err(Errno::ENOENT | Errno::ENOTDIR) if !name.contains('/') => {
                eprintln!("sh: {name}: command not found");
                return NOT_FOUND;
            }
            Err(e) => {
                eprintln!("sh: {name}: {}", e.message());
                return if e == Errno::ENOENT { NOT_FOUND } else { CANNOT_RUN };
            }
            Ok(st) if FileKind::from_mode(st.mode) == Some(FileKind::Directory) => {
                eprintln!("sh: {name}: Is a directory");
                return CANNOT_RUN;
            }
            Ok(_) => {}
        }
        let argv: Vec<&str> = cmd.argv.iter().map(String::as_str).collect();
        let fd = |f: Option<usize>| f.map_or(FD_INHERIT, |f| f as i32);
        let pid = match sys::spawn_with(&path, &argv, [fd(input), fd(out), FD_INHERIT]) {
            Ok(pid) => pid,
            Err(e) => {
                eprintln!("sh: {name}: {}", e.message());
                return CANNOT_RUN;
            }
        };
        // The child is the console's foreground program while the shell
        // waits: Ctrl-C ends it (status 137), not the shell.
        let foreground = self.interactive && sys::ioctl(0, CONSOLE_SET_FOREGROUND, pid).is_ok();
        let status = wait_for(pid);
        if foreground {
            let _ = sys::ioctl(0, CONSOLE_SET_FOREGROUND, 0);
        }
        status
    }

    fn prompt(&self) {
        let mut buf = [0u8; 256];
        let cwd = sys::getcwd(&mut buf).unwrap_or("?");
        let mark = if sys::getuid() == 0 { '#' } else { '$' };
        print!("warden:{cwd}{mark} ");
    }

    /// Runs every line from `fd` until its end or `exit`.
    fn run_from(&mut self, fd: usize) -> i32 {
        let mut lines = LineReader::new(fd);
        loop {
            if self.interactive {
                self.prompt();
            }
            match lines.next_line() {
                Ok(Some(line)) => self.run_line(&line),
                Ok(None) => return self.status,
                Err(e) => {
                    eprintln!("sh: read error: {}", e.message());
                    return 1;
                }
            }
            if let Some(code) = self.exit {
                return code;
            }
        }
    }
}

fn cd(dir: &str) -> i32 {
    match sys::chdir(dir) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("sh: cd: {dir}: {}", e.message());
            1
        }
    }
}

fn report_write(r: Result<(), Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sh: write error: {}", e.message());
            1
        }
    }
}

/// Waits for child `pid` and returns its status.
fn wait_for(pid: usize) -> i32 {
    loop {
        match sys::wait(Some(pid)) {
            Ok((got, status)) if got == pid => return status,
            Ok(_) => {}
            Err(e) => {
                eprintln!("sh: wait: {}", e.message());
                return 1;
            }
        }
    }
}

fn main(args: user::Args) -> i32 {
    let rest = args.rest();
    let mut sh = Shell { status: 0, params: Vec::new(), interactive: false, exit: None };
    match rest {
        [] => {
            sh.params.push("sh".to_string());
            sh.interactive = true;
            sh.run_from(0)
        }
        ["-c", line, more @ ..] => {
            sh.params.push("sh".to_string());
            sh.params.extend(more.iter().map(|s| s.to_string()));
            sh.run_line(line);
            sh.exit.unwrap_or(sh.status)
        }
        ["-c"] => user::usage("sh [-c LINE | FILE [ARGS...]]"),
        [script, more @ ..] => {
            let fd = match sys::open(script, O_RDONLY, 0) {
                Ok(fd) => fd,
                Err(e) => {
                    eprintln!("sh: {script}: {}", e.message());
                    return NOT_FOUND;
                }
            };
            sh.params.push(script.to_string());
            sh.params.extend(more.iter().map(|s| s.to_string()));
            let status = sh.run_from(fd);
            let _ = sys::close(fd);
            status
        }
    }
}
