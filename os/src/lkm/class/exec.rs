//! Execution-interpreter modules: a binary format in the exec switch whose
//! `probe` program decides whether a file is its kind.
//!
//! `probe` sees the first 128 bytes of the file and its path. Returning 1
//! claims the file; what it emitted names the interpreter: a path, then
//! optionally (after a space, tab or NUL) one argument — the shape of a
//! `#!` line. 0, an errno, anything else (logged), or a claim without a
//! valid interpreter leave the file to the other formats. The kernel then runs the interpreter with the file as its
//! argument. After unloading, such files fail with `ENOEXEC` again.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::Errno;
use lkm::ctx::{self, ExecProbeCtx};

use super::gate::{DRAIN_MS, Gate};
use super::{Refusal, checked};
use crate::lkm::module::Module;
use crate::lkm::run::run;
use crate::proc::exec::{self, BinaryFormat, Probe};

/// Most bytes of interpreter path and argument a probe may emit.
const PROBE_OUTPUT: usize = 256;

/// The binary format an exec module registers (named after the module).
pub struct ModExec {
    module: Arc<Module>,
    /// Probes in progress; shut when the format leaves the switch.
    gate: Gate,
}

impl BinaryFormat for ModExec {
    fn name(&self) -> &str {
        &self.module.name
    }

    fn probe(&self, header: &[u8], path: &str) -> Probe {
        // An exec that found the format while an unload drains it, or just
        // before it left the switch, sees it gone.
        let Some(_pass) = self.gate.enter() else { return Probe::NotMine };
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
        let run = run(&self.module, "probe", &mut c, Some((&mut out, PROBE_OUTPUT)));
        match checked(&self.module, "probe", run, 1, Ok(0)) {
            Ok(1) => interpreter(&out).unwrap_or_else(|| {
                let what = format_args!("claimed {path} but emitted no interpreter (a path without control characters, then optionally one argument)");
                self.module.reject("probe", what, Errno::ENOEXEC);
                Probe::NotMine
            }),
            _ => Probe::NotMine,
        }
    }
}

/// The interpreter named by a probe's output: path, then an optional
/// argument; `None` unless both are UTF-8 without control characters
/// (other than the separators) and the path fits a path buffer.
fn interpreter(out: &[u8]) -> Option<Probe> {
    let text = core::str::from_utf8(out).ok()?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
    let (path, arg) = match text.find([' ', '\t', '\0']) {
        Some(i) => (&text[..i], text[i + 1..].trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0')),
        None => (text, ""),
    };
    if path.is_empty() || path.len() > ctx::PATH_CAPACITY || path.contains(char::is_control) || arg.contains(char::is_control) {
        return None;
    }
    let arg = (!arg.is_empty()).then(|| String::from(arg));
    Some(Probe::Interpreter { path: String::from(path), arg })
}

/// Adds the format to the exec switch.
pub fn link(module: &Arc<Module>) -> Result<Arc<ModExec>, Refusal> {
    let format = Arc::new(ModExec { module: module.clone(), gate: Gate::new() });
    exec::register_format(format.clone()).map_err(|e| {
        Refusal::new(e, alloc::format!("error: a binary format named `{}` exists already", module.name))
    })?;
    Ok(format)
}

/// Removes the format once the execs asking it have their answer (new
/// ones see it gone): `EBUSY` if one still asks after [`DRAIN_MS`].
pub fn unlink(format: &Arc<ModExec>) -> Result<(), Refusal> {
    let busy = || {
        Refusal::in_use(
            &format.module.name,
            format_args!("an exec was still consulting its binary format after {DRAIN_MS} ms"),
            "wait for the exec to finish, then unload it again",
        )
    };
    format.gate.drain(busy, || {
        exec::unregister_format(&format.module.name)
            .map(drop)
            .map_err(|e| Refusal::new(e, "error: the format is not in the exec switch"))
    })
}
