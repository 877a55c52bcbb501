//! `sh`: the Warden shell.
//!
//! - `sh` reads commands from standard input, with a prompt
//!   (`warden:/tmp# ` for the superuser, `warden:/tmp$ ` for others).
//! - `sh FILE [ARGS...]` runs a script; `sh -c LINE` runs one line.
//!
//! The command language (`;`, `&`, `>`, `>>`, `<`, quotes, `$?`, `#`) is
//! in `user::shell`. Built-in commands: `cd`, `pwd`, `exit`, `echo`,
//! `wait`, `help`. Anything else is a program: a name without `/` is
//! looked up in `/bin`.
//!
//! `CMD &` starts a program in the background: the shell prints `[PID]`
//! and goes on without waiting. Before each prompt it reaps the background
//! programs that have ended, printing `[PID] done STATUS`; `wait` waits for
//! all of them. A built-in runs in the shell itself, at once, even with `&`.
//! The interactive shell makes each program it waits for the console's
//! foreground program, the one Ctrl-C ends (docs/userspace.md); background
//! programs never are.
#![no_std]
#![no_main]
extern crate alloc;
use abi::fs::{CONSOLE_SET_FOREGROUND, FileKind, O_APPEND, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use abi::proc::{ProcInfo, ProcState, FD_INHERIT, MAX_PROCESSES};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use user::io::LineReader;
use user::shell::{self, Command};
use user::{eprintln, fdprintln, print, println, sys, Errno};
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
    /// The programs started with `&` and not yet reaped.
    jobs: Vec<usize>,
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
    /// (and `$?` expanded) just before it runs. A syntax error ends the
    /// line with status 2.
    fn run_line(&mut self, line: &str) {
        if let Err(msg) = self.try_run_line(line) {
            eprintln!("sh: {msg}");
            self.status = 2;
        }
    }

    fn try_run_line(&mut self, line: &str) -> Result<(), String> {
        for part in shell::split_commands(line)? {
            for cmd in shell::parse(part.text, &|n| self.lookup(n))? {
                self.status = self.run(&cmd, part.background);
                if self.exit.is_some() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn run(&mut self, cmd: &Command, background: bool) -> i32 {
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
            None => self.external(cmd, input, out, background),
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
            ["wait"] => self.wait_jobs(),
            ["help"] => report_write(fdprintln!(
                out,
                "built-in: cd [DIR], pwd, echo [-n] WORDS, exit [N], wait, help\n\
                 programs: ls /bin\n\
                 syntax: CMD ARGS [> FILE | >> FILE | < FILE] [; CMD ...], CMD & runs it in the background, \
                 $? is the last status, # starts a comment"
            )),
            _ => return None,
        })
    }

    fn external(&mut self, cmd: &Command, input: Option<usize>, out: Option<usize>, background: bool) -> i32 {
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
        if background {
            if self.jobs.try_reserve(1).is_err() {
                eprintln!("sh: {name}: started as [{pid}], but the shell has no memory to track it; `wait` will not wait for it");
                return 0;
            }
            self.jobs.push(pid);
            println!("[{pid}]");
            return 0;
        }
        // The child is the console's foreground program while the shell
        // waits: Ctrl-C ends it (status 137), not the shell.
        let foreground = self.interactive && sys::ioctl(0, CONSOLE_SET_FOREGROUND, pid).is_ok();
        let status = wait_for(pid);
        if foreground {
            let _ = sys::ioctl(0, CONSOLE_SET_FOREGROUND, 0);
        }
        status
    }

    /// Reaps the background programs that have ended, printing `[PID]
    /// done STATUS` for each if `report`.
    fn reap_finished(&mut self, report: bool) {
        if self.jobs.is_empty() {
            return;
        }
        let mut rows = Vec::new();
        if rows.try_reserve_exact(MAX_PROCESSES).is_err() {
            return;
        }
        rows.resize(MAX_PROCESSES, ProcInfo::EMPTY);
        let Ok(n) = sys::procinfo(&mut rows) else { return };
        let me = sys::getpid();
        for row in &rows[..n.min(rows.len())] {
            let ended = ProcState::from_u32(row.state) == Some(ProcState::Zombie);
            if ended && row.ppid as usize == me && self.jobs.contains(&(row.pid as usize)) {
                self.reap(row.pid as usize, report);
            }
        }
    }

    /// The built-in `wait`: waits for every background program.
    fn wait_jobs(&mut self) -> i32 {
        while let Some(&pid) = self.jobs.first() {
            self.reap(pid, true);
        }
        0
    }

    /// Waits for background program `pid` and forgets it.
    fn reap(&mut self, pid: usize, report: bool) {
        self.jobs.retain(|&j| j != pid);
        match sys::wait(Some(pid)) {
            Ok((_, status)) if report => println!("[{pid}] done {status}"),
            Ok(_) => {}
            Err(e) => eprintln!("sh: wait: [{pid}]: {}", e.message()),
        }
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
            self.reap_finished(self.interactive);
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
    let mut sh = Shell { status: 0, params: Vec::new(), interactive: false, exit: None, jobs: Vec::new() };
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
