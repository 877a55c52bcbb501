//! A running virtual machine whose serial port xtask reads and types into.
//!
//! QEMU's `-serial stdio` is connected to pipes; a thread forwards every
//! chunk QEMU prints. The session keeps all output (with `\r` removed), a
//! read position for [`Session::expect`], and kills QEMU when dropped.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::qemu::{self, Vm};
use crate::{Result, XtaskError};

pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: Receiver<Vec<u8>>,
    output: String,
    /// Where the next `expect` starts looking.
    pos: usize,
    /// Copy output to our stdout as it arrives.
    echo: bool,
    started: Instant,
    exit: Option<ExitStatus>,
}

/// Why an `expect` failed.
#[derive(Debug)]
pub enum ExpectError {
    Timeout,
    /// QEMU exited before the text appeared.
    Exited(Option<i32>),
}

impl Session {
    /// Starts QEMU with the serial port on pipes.
    pub fn start(vm: &Vm, echo: bool) -> Result<Session> {
        let mut child = vm
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| XtaskError::new(format!("cannot start {}: {e}", qemu::QEMU)))?;
        let started = Instant::now();
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let (tx, chunks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Ok(Session { child, stdin, chunks, output: String::new(), pos: 0, echo, started, exit: None })
    }

    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Everything printed so far.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// The read position (see [`Session::expect`]).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Waits for one chunk of output until `deadline`; `false` when none
    /// came in time or QEMU closed its output.
    fn pump(&mut self, deadline: Instant) -> bool {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.chunks.recv_timeout(wait) {
            Ok(chunk) => {
                let text = String::from_utf8_lossy(&chunk).replace('\r', "");
                if self.echo {
                    print!("{text}");
                    let _ = std::io::stdout().flush();
                }
                self.output.push_str(&text);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                if self.exit.is_none() {
                    self.exit = self.child.wait().ok();
                }
                // Avoid spinning: the channel stays disconnected.
                std::thread::sleep(wait.min(Duration::from_millis(10)));
                false
            }
        }
    }

    /// Waits until `text` appears after the read position, then moves the
    /// read position past it.
    pub fn expect(&mut self, text: &str, timeout: Duration) -> std::result::Result<(), ExpectError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.output[self.pos..].find(text) {
                self.pos += at + text.len();
                return Ok(());
            }
            if let Some(status) = self.exit {
                return Err(ExpectError::Exited(status.code()));
            }
            if Instant::now() >= deadline {
                return Err(ExpectError::Timeout);
            }
            self.pump(deadline);
        }
    }

    /// Waits until `text` appears after the read position (then moves
    /// past it, `Ok(true)`) or until no output has come for `quiet` (then
    /// moves to the end of the output, `Ok(false)`), whichever is first.
    pub fn expect_or_quiet(&mut self, text: &str, quiet: Duration, timeout: Duration) -> std::result::Result<bool, ExpectError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.output[self.pos..].find(text) {
                self.pos += at + text.len();
                return Ok(true);
            }
            if let Some(status) = self.exit {
                return Err(ExpectError::Exited(status.code()));
            }
            if Instant::now() >= deadline {
                return Err(ExpectError::Timeout);
            }
            if !self.pump((Instant::now() + quiet).min(deadline)) && self.exit.is_none() && Instant::now() < deadline {
                self.pos = self.output.len();
                return Ok(false);
            }
        }
    }

    /// Types `line` followed by Enter.
    pub fn send_line(&mut self, line: &str) -> Result<()> {
        self.send_bytes(format!("{line}\r").as_bytes())
    }

    /// Types `bytes` as they are (control keys included).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| XtaskError::new("QEMU's input is closed"))?;
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .map_err(|e| XtaskError::new(format!("cannot type into QEMU: {e}")))
    }

    /// Reads output until QEMU exits or `timeout` passes; returns the exit
    /// status, or `None` on timeout (QEMU is then still running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while self.exit.is_none() && Instant::now() < deadline {
            self.pump(deadline);
            if let Ok(Some(status)) = self.child.try_wait() {
                // Collect what is still in the pipe.
                while self.pump(Instant::now() + Duration::from_millis(50)) {}
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// The last `n` lines of output (for failure reports).
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.output.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
