//! Execution-interpreter modules: a binary format in the exec switch whose
//! `probe` program decides whether a file is its kind.
//!
//! `probe` sees the first 128 bytes of the file and its path. Returning 1
//! claims the file; what it emitted names the interpreter: a path, then
//! optionally (after a space, tab or NUL) one argument — the shape of a
//! `#!` line. The kernel then runs the interpreter with the file as its
//! argument. After unloading, such files fail with `ENOEXEC` again.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use lkm::ctx::{self, ExecProbeCtx};

use super::Refusal;
use crate::lkm::module::Module;
use crate::lkm::run::{Outcome, run};
use crate::proc::exec::{self, BinaryFormat, Probe};

/// Most bytes of interpreter path and argument a probe may emit.
const PROBE_OUTPUT: usize = 256;

/// The binary format an exec module registers (named after the module).
pub struct ModExec {
    module: Arc<Module>,
}

impl BinaryFormat for ModExec {
    fn name(&self) -> &str {
        &self.module.name
    }

    fn probe(&self, header: &[u8], path: &str) -> Probe {
        let mut c = ExecProbeCtx {
            header: [0; ctx::HEADER_CAPACITY],
            header_len: 0,
            _pad: 0,
            path: [0; ctx::PATH_CAPACITY],
            path_len: 0,
            _pad2: 0,
        };
        let h = header.len().min(ctx::HEADER_CAPACITY);
        c.header[..h].copy_from_slice(&header[..h]);
        c.header_len = h as u32;
        let p = path.len().min(ctx::PATH_CAPACITY);
        c.path[..p].copy_from_slice(&path.as_bytes()[..p]);
        c.path_len = p as u32;
        let mut out = Vec::new();
        match run(&self.module, "probe", &mut c, Some((&mut out, PROBE_OUTPUT))) {
            Outcome::Done(1) => interpreter(&out).unwrap_or(Probe::NotMine),
            _ => Probe::NotMine,
        }
    }
}

/// The interpreter named by a probe's output: path, then an optional argument.
fn interpreter(out: &[u8]) -> Option<Probe> {
    let text = core::str::from_utf8(out).ok()?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
    let (path, arg) = match text.find([' ', '\t', '\0']) {
        Some(i) => (&text[..i], text[i + 1..].trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0')),
        None => (text, ""),
    };
    if path.is_empty() {
        return None;
    }
    let arg = (!arg.is_empty()).then(|| String::from(arg));
    Some(Probe::Interpreter { path: String::from(path), arg })
}

/// Adds the format to the exec switch.
pub fn link(module: &Arc<Module>) -> Result<Arc<ModExec>, Refusal> {
    let format = Arc::new(ModExec { module: module.clone() });
    exec::register_format(format.clone()).map_err(|e| {
        Refusal::new(e, alloc::format!("error: a binary format named `{}` exists already", module.name))
    })?;
    Ok(format)
}

/// Removes the format: `EBUSY` while an exec is asking it.
pub fn unlink(format: &Arc<ModExec>) -> Result<(), Refusal> {
    // The link and the switch hold it; more means an exec in progress.
    if Arc::strong_count(format) > 2 {
        return Err(Refusal::in_use(
            &format.module.name,
            "an exec is consulting its binary format",
            "wait for the exec to finish, then unload it again",
        ));
    }
    exec::unregister_format(&format.module.name).map(drop).map_err(|e| Refusal::new(e, "error: the format is not in the exec switch"))
}
