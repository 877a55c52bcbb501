//! Formatted output on file descriptors and line input.
//!
//! `print!` and `println!` write to fd 1, `eprint!` and `eprintln!` to
//! fd 2, `fdprintln!(fd, ...)` to any fd. Output is gathered in a small
//! buffer so one macro call becomes few `write` calls.

use crate::sys;
use abi::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// Standard input.
pub const STDIN: usize = 0;
/// Standard output.
pub const STDOUT: usize = 1;
/// Standard error.
pub const STDERR: usize = 2;

/// A buffered writer to one fd; flushes when full and when dropped.
pub struct FdWriter {
    fd: usize,
    buf: [u8; 256],
    len: usize,
    error: Option<Errno>,
}

impl FdWriter {
    pub fn new(fd: usize) -> FdWriter {
        FdWriter { fd, buf: [0; 256], len: 0, error: None }
    }

    /// Writes out what is buffered; the first error seen so far, if any.
    pub fn flush(&mut self) -> Result<(), Errno> {
        if self.len > 0 {
            if let Err(e) = sys::write_all(self.fd, &self.buf[..self.len]) {
                self.error.get_or_insert(e);
            }
            self.len = 0;
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            if self.len == self.buf.len() {
                let _ = self.flush();
            }
            let n = bytes.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Formats `args` onto `fd`; the first write error, if any.
pub fn write_fmt(fd: usize, args: fmt::Arguments<'_>) -> Result<(), Errno> {
    let mut w = FdWriter::new(fd);
    let _ = w.write_fmt(args);
    w.flush()
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{ let _ = $crate::io::write_fmt($crate::io::STDOUT, format_args!($($arg)*)); }};
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{ let _ = $crate::io::write_fmt($crate::io::STDOUT, format_args!("{}\n", format_args!($($arg)*))); }};
}

#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => {{ let _ = $crate::io::write_fmt($crate::io::STDERR, format_args!($($arg)*)); }};
}

#[macro_export]
macro_rules! eprintln {
    () => { $crate::eprint!("\n") };
    ($($arg:tt)*) => {{ let _ = $crate::io::write_fmt($crate::io::STDERR, format_args!("{}\n", format_args!($($arg)*))); }};
}

/// `fdprintln!(fd, ...)`: a line onto any fd; evaluates to `Result<(), Errno>`.
#[macro_export]
macro_rules! fdprintln {
    ($fd:expr, $($arg:tt)*) => { $crate::io::write_fmt($fd, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Reads lines from an fd through a buffer.
pub struct LineReader {
    fd: usize,
    buf: Vec<u8>,
    start: usize,
    eof: bool,
}

impl LineReader {
    pub fn new(fd: usize) -> LineReader {
        LineReader { fd, buf: Vec::new(), start: 0, eof: false }
    }

    /// The next line without its `\n`, or `None` at end of input.
    /// Invalid UTF-8 is replaced, never a failure.
    pub fn next_line(&mut self) -> Result<Option<String>, Errno> {
        loop {
            if let Some(pos) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let line = &self.buf[self.start..self.start + pos];
                let text = String::from(String::from_utf8_lossy(line));
                self.start += pos + 1;
                return Ok(Some(text));
            }
            if self.eof {
                if self.start < self.buf.len() {
                    let text = String::from(String::from_utf8_lossy(&self.buf[self.start..]));
                    self.start = self.buf.len();
                    return Ok(Some(text));
                }
                return Ok(None);
            }
            self.buf.drain(..self.start);
            self.start = 0;
            let mut chunk = [0u8; 512];
            let n = sys::read(self.fd, &mut chunk)?;
            if n == 0 {
                self.eof = true;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Runs `f` on an open descriptor of `path` (`-` is standard input), and
/// closes it after: the input loop of `cat`, `head`, `od` and `wc`.
pub fn with_input<R>(path: &str, f: impl FnOnce(usize) -> Result<R, Errno>) -> Result<R, Errno> {
    if path == "-" {
        return f(0);
    }
    let fd = sys::open(path, abi::fs::O_RDONLY, 0)?;
    let result = f(fd);
    let _ = sys::close(fd);
    result
}

/// Reads a whole file into memory.
pub fn read_file(path: &str) -> Result<Vec<u8>, Errno> {
    let fd = sys::open(path, abi::fs::O_RDONLY, 0)?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 512];
    let result = loop {
        match sys::read(fd, &mut chunk) {
            Ok(0) => break Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) => break Err(e),
        }
    };
    let _ = sys::close(fd);
    result
}
