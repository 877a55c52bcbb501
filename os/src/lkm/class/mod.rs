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
//! while a hook can still run it; unlinking refuses with `EBUSY` while the
//! hook is in use.

pub mod dev;
pub mod exec;
pub mod misc;
pub mod syscall;
pub mod vfs;

use alloc::string::String;
use alloc::sync::Arc;

use abi::Errno;
use lkm::ClassParams;

use super::module::Module;

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

/// The errno in a program's negative result, `EIO` for an unknown one.
pub fn errno_of(r0: u64) -> Errno {
    Errno::from_ret(r0 as i64 as isize).err().unwrap_or(Errno::EIO)
}
