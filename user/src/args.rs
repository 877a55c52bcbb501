//! The argument list and a small option parser in the style of `getopt`.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static NAME_PTR: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static NAME_LEN: AtomicUsize = AtomicUsize::new(0);

/// The program's arguments; `get(0)` is its name.
pub struct Args {
    list: Vec<&'static str>,
}

impl Args {
    /// Reads `argc` C strings from `argv`.
    ///
    /// # Safety
    /// `argv` must point to `argc` valid pointers to NUL-terminated
    /// strings that are never freed.
    pub unsafe fn from_raw(argc: usize, argv: *const *const u8) -> Args {
        let mut list = Vec::with_capacity(argc);
        for i in 0..argc.min(abi::proc::ARG_MAX) {
            // SAFETY: the caller guarantees `argv[i]` for i < argc is a
            // valid, immortal, NUL-terminated string.
            let s = unsafe {
                let p = *argv.add(i);
                let bytes = core::ffi::CStr::from_ptr(p.cast()).to_bytes();
                core::str::from_utf8(bytes).unwrap_or("?")
            };
            list.push(s);
        }
        if let Some(first) = list.first() {
            NAME_PTR.store(first.as_ptr() as *mut u8, Ordering::Relaxed);
            NAME_LEN.store(first.len(), Ordering::Relaxed);
        }
        Args { list }
    }

    /// An argument list made in the program (for tests and `sh`).
    pub fn from_vec(list: Vec<&'static str>) -> Args {
        Args { list }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&'static str> {
        self.list.get(i).copied()
    }

    /// All arguments after the program name.
    pub fn rest(&self) -> &[&'static str] {
        self.list.get(1..).unwrap_or(&[])
    }

    /// Splits the arguments after the name into single-letter flags
    /// (`-l`, `-la`) and operands; `--` ends the flags. A flag letter
    /// listed in `with_value` takes the next argument as its value.
    pub fn options(&self, with_value: &str) -> Result<Options, char> {
        let mut out = Options { flags: Vec::new(), operands: Vec::new() };
        let mut it = self.rest().iter();
        let mut flags_done = false;
        while let Some(&arg) = it.next() {
            if flags_done || !arg.starts_with('-') || arg == "-" {
                out.operands.push(arg);
                continue;
            }
            if arg == "--" {
                flags_done = true;
                continue;
            }
            for (i, c) in arg.char_indices().skip(1) {
                if with_value.contains(c) {
                    let rest = &arg[i + c.len_utf8()..];
                    let value = if rest.is_empty() { it.next().copied().ok_or(c)? } else { rest };
                    out.flags.push((c, Some(value)));
                    break;
                }
                out.flags.push((c, None));
            }
        }
        Ok(out)
    }
}

/// Parsed options: flags in order, then the operands.
pub struct Options {
    pub flags: Vec<(char, Option<&'static str>)>,
    pub operands: Vec<&'static str>,
}

impl Options {
    /// True if flag `c` was given.
    pub fn has(&self, c: char) -> bool {
        self.flags.iter().any(|&(f, _)| f == c)
    }

    /// The value of flag `c` (the last one given).
    pub fn value(&self, c: char) -> Option<&'static str> {
        self.flags.iter().rev().find(|&&(f, _)| f == c).and_then(|&(_, v)| v)
    }

    /// The first flag not in `known`, for an "unknown option" message.
    pub fn unknown(&self, known: &str) -> Option<char> {
        self.flags.iter().map(|&(f, _)| f).find(|&f| !known.contains(f))
    }
}

/// The running program's name (`argv[0]`), for messages.
pub fn program_name() -> &'static str {
    let ptr = NAME_PTR.load(Ordering::Relaxed);
    let len = NAME_LEN.load(Ordering::Relaxed);
    if ptr.is_null() {
        return "?";
    }
    // SAFETY: ptr/len were taken from a `&'static str` in `from_raw`.
    unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(ptr, len)) }
}
