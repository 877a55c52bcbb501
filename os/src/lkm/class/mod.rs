//! The five class hook tables: what linking a module changes in the
//! kernel, and how unlinking puts it back.
//!
//! | class | hook | file |
//! |---|---|---|
//! | syscall | a slot of the system-call table | [`syscall`] |
//! | vfs | a file-system type for `mount -t` | [`vfs`] |
//! | dev | a character driver in the device switch and its `/dev` node | [`dev`] |
//! | exec | a binary format in the exec switch | [`exec`] |
//! | misc | `load`/`unload` programs and the timer-tick list | [`misc`] |
//!
//! Each hook holds an `Arc` of the module, so module code is never freed
//! while a hook can still run it. Unlinking a system call or an exec
//! format drains the hook's [`gate`]: new uses are turned away at once, the
//! ones in progress are waited for (bounded), then the hook is taken out.
//! A device that is open or a file system that is mounted is a hold the
//! user made and must end: unlinking refuses with `EBUSY` then, checking
//! and taking the hook out under one lock (the device switch's or the
//! file-system types'). A `tick` program needs neither: the grace period
//! of `lkm::unload` waits for the ticks in progress.
//!
//! What a program returns or leaves in its context is hostile input:
//! [`checked`] and the class files check it against the entry point's
//! contract (docs/lkm.md) before the kernel uses it.

pub mod dev;
pub mod exec;
pub mod gate;
pub mod misc;
pub mod syscall;
pub mod vfs;

use alloc::string::String;
use alloc::sync::Arc;

use abi::Errno;
use lkm::ClassParams;

use super::module::Module;
use super::run::Outcome;

/// What linking a module changed.
pub enum Link {
    Syscall(syscall::SyscallLink),
    Vfs { fstype: String },
    Dev { major: u32, node: String },
    Exec(Arc<exec::ModExec>),
    Misc,
}

impl Link {
    /// The slot for `modstat`'s `Off` column: syscall or major number.
    pub fn slot(&self) -> u64 {
        match self {
            Link::Syscall(l) => l.nr as u64,
            Link::Dev { major, .. } => *major as u64,
            _ => 0,
        }
    }
}

/// A refusal: the errno and a message for the caller's report buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub errno: Errno,
    pub message: String,
}

impl Refusal {
    pub fn new(errno: Errno, message: impl Into<String>) -> Refusal {
        Refusal { errno, message: message.into() }
    }

    /// An unload refused because module `name` is in use (`EBUSY`): what
    /// holds it, and what to do first. `modunload` shows it as it is.
    pub fn in_use(name: &str, note: impl core::fmt::Display, help: impl core::fmt::Display) -> Refusal {
        Refusal::new(Errno::EBUSY, alloc::format!("error: module `{name}` is in use\n  = note: {note}\n  = help: {help}"))
    }
}

/// Plugs `module` into its class's hook table.
pub fn link(module: &Arc<Module>) -> Result<Link, Refusal> {
    match &module.params {
        ClassParams::Syscall { nr } => syscall::link(module, *nr).map(Link::Syscall),
        ClassParams::Vfs { fstype } => vfs::link(module, fstype).map(|()| Link::Vfs { fstype: fstype.clone() }),
        ClassParams::Dev { major, name } => dev::link(module, *major, name).map(|m| Link::Dev { major: m, node: name.clone() }),
        ClassParams::Exec => exec::link(module).map(Link::Exec),
        ClassParams::Misc => misc::link(module).map(|()| Link::Misc),
    }
}

/// Takes `module` out of its hook table; on refusal nothing changed.
pub fn unlink(module: &Arc<Module>, link: &Link) -> Result<(), Refusal> {
    match link {
        Link::Syscall(l) => syscall::unlink(module, l),
        Link::Vfs { fstype } => vfs::unlink(&module.name, fstype),
        Link::Dev { major, node } => dev::unlink(&module.name, *major, node),
        Link::Exec(format) => exec::unlink(format),
        Link::Misc => {
            misc::unlink(module);
            Ok(())
        }
    }
}

/// A program's result checked against its entry point's contract
/// (docs/lkm.md): a negative `r0` must be an errno of the table (anything
/// else, `i64::MIN` included, is `EIO`), a non-negative one at most `max`
/// (more is `EIO`). What is out of range is counted and logged once
/// ([`Module::reject`]). `absent` is the answer when there is no program.
pub fn checked(module: &Module, entry: &str, outcome: Outcome, max: u64, absent: Result<u64, Errno>) -> Result<u64, Errno> {
    match outcome {
        Outcome::Done(r0) if (r0 as i64) < 0 => Err(errno_in(module, entry, r0)),
        Outcome::Done(r0) if r0 > max => {
            Err(module.reject(entry, format_args!("returned {r0}, more than the {max} it may"), Errno::EIO))
        }
        Outcome::Done(r0) => Ok(r0),
        Outcome::Absent => absent,
        Outcome::Skipped => Err(Errno::EAGAIN),
        Outcome::Failed => Err(Errno::EIO),
    }
}

/// The errno in a program's negative result; a number outside the errno
/// table is rejected as `EIO`.
pub fn errno_in(module: &Module, entry: &str, r0: u64) -> Errno {
    let signed = r0 as i64;
    i32::try_from(signed.unsigned_abs()).ok().and_then(Errno::from_i32).unwrap_or_else(|| {
        module.reject(entry, format_args!("returned {signed}, which is no errno"), Errno::EIO)
    })
}
