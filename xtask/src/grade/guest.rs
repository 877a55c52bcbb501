//! A booted Warden the grader types into: each command's output, read up
//! to the next shell prompt.

use std::time::{Duration, Instant};

use crate::qemu::Vm;
use crate::session::Session;
use crate::{Result, XtaskError};

const PROMPT: &str = crate::book::PROMPT;
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Guest {
    session: Session,
    /// When QEMU was started (the real-time clock starts then).
    pub started: Instant,
}

impl Guest {
    /// Boots and waits for the shell.
    pub fn boot(vm: &Vm) -> Result<Guest> {
        let started = Instant::now();
        let mut session = Session::start(vm, false)?;
        session
            .expect(PROMPT, TIMEOUT)
            .map_err(|e| XtaskError::new(format!("Warden did not reach the shell prompt ({e:?})\n{}", session.tail(15))))?;
        Ok(Guest { session, started })
    }

    /// Types `command`; what it printed (without the echo of the command).
    pub fn run(&mut self, command: &str) -> Result<String> {
        self.run_for(command, TIMEOUT)
    }

    /// Like [`Guest::run`], waiting up to `timeout` for the prompt.
    pub fn run_for(&mut self, command: &str, timeout: Duration) -> Result<String> {
        let from = self.session.pos();
        self.session.send_line(command)?;
        self.session
            .expect(PROMPT, timeout)
            .map_err(|e| XtaskError::new(format!("`{command}` did not return to the prompt ({e:?})")))?;
        let shown = &self.session.output()[from..self.session.pos() - PROMPT.len()];
        Ok(shown.split_once('\n').map_or("", |(_, rest)| rest).to_string())
    }

    /// Like [`Guest::run`], an error becoming the text of the failure.
    pub fn out(&mut self, command: &str) -> String {
        self.run(command).unwrap_or_else(|e| e.to_string())
    }

    /// Whether the kernel panicked at any time.
    pub fn panicked(&self) -> bool {
        self.session.output().contains("kernel panic")
    }

    /// The last lines of the console, for a failure note.
    pub fn tail(&self) -> String {
        self.session.tail(8)
    }
}
