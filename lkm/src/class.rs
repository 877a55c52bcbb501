//! The five module classes, their parameters and their entry points.
//!
//! A class is a hook table in the kernel; a module of that class plugs one
//! verified program into each entry point it provides. The numbering of the
//! classes is the classic one of `sys/lkm.h` (`LM_SYSCALL` = 0 ... `LM_MISC` = 4).

use crate::ctx::{self, CtxKind};

/// `LM_SYSCALL`: replaces a system call (or takes the next free slot).
pub const LM_SYSCALL: u8 = 0;
/// `LM_VFS`: registers a file-system type.
pub const LM_VFS: u8 = 1;
/// `LM_DEV`: registers a character device driver.
pub const LM_DEV: u8 = 2;
/// `LM_EXEC`: registers an executable format (e.g. `#!` scripts).
pub const LM_EXEC: u8 = 3;
/// `LM_MISC`: runs `load`/`unload` programs and attaches optional hooks.
pub const LM_MISC: u8 = 4;

/// Longest module name, in bytes (`MAXLKMNAME`); also the longest vfs and
/// device name.
pub const MAXLKMNAME: usize = 32;

/// A syscall module's `nr` asking for the next free system-call slot.
pub const SYSCALL_NEXT_FREE: u32 = u32::MAX;

/// A device module's `major` asking the kernel to choose a free major number.
pub const MAJOR_ANY: u32 = 0;

/// A module class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Syscall,
    Vfs,
    Dev,
    Exec,
    Misc,
}

impl Class {
    /// All classes, in numbering order.
    pub const ALL: [Class; 5] = [Class::Syscall, Class::Vfs, Class::Dev, Class::Exec, Class::Misc];

    /// The class with the `LM_*` number `n`.
    pub fn from_number(n: u8) -> Option<Class> {
        Class::ALL.get(n as usize).copied()
    }

    /// The `LM_*` number.
    pub fn number(self) -> u8 {
        match self {
            Class::Syscall => LM_SYSCALL,
            Class::Vfs => LM_VFS,
            Class::Dev => LM_DEV,
            Class::Exec => LM_EXEC,
            Class::Misc => LM_MISC,
        }
    }

    /// The name used in module sources and tools (`syscall`, `vfs`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Class::Syscall => "syscall",
            Class::Vfs => "vfs",
            Class::Dev => "dev",
            Class::Exec => "exec",
            Class::Misc => "misc",
        }
    }

    /// The class named `name` (as [`Class::name`] spells it).
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The classic `modstat` type column (`SYSCALL`, `VFS`, ...).
    pub fn type_column(self) -> &'static str {
        match self {
            Class::Syscall => "SYSCALL",
            Class::Vfs => "VFS",
            Class::Dev => "DEV",
            Class::Exec => "EXEC",
            Class::Misc => "MISC",
        }
    }

    /// The entry points a module of this class may provide.
    pub fn entries(self) -> &'static [EntryPoint] {
        match self {
            Class::Syscall => SYSCALL_ENTRIES,
            Class::Vfs => VFS_ENTRIES,
            Class::Dev => DEV_ENTRIES,
            Class::Exec => EXEC_ENTRIES,
            Class::Misc => MISC_ENTRIES,
        }
    }

    /// The entry point named `name`, if the class has one.
    pub fn entry(self, name: &str) -> Option<&'static EntryPoint> {
        self.entries().iter().find(|e| e.name == name)
    }
}

/// One entry point of a class: the name of the program that fills it, the
/// context its R1 points to, and whether a module must provide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    /// The program name in the image (and the function name in `.wm` source).
    pub name: &'static str,
    /// The context layout.
    pub ctx: CtxKind,
    /// Whether every module of the class must provide this entry.
    pub required: bool,
    /// Whether the entry has an output buffer (`emit` appends to it).
    pub output: bool,
    /// The run-time budget of one invocation, in units of one bytecode
    /// instruction; a helper call costs its weight
    /// ([`crate::helpers::Helper::weight`]). A run that would go over it is
    /// stopped and fails with `ETIMEDOUT` (docs/lkm.md, "Run-time budget").
    pub budget: u64,
}

const fn entry(name: &'static str, ctx: CtxKind, required: bool, output: bool, budget: u64) -> EntryPoint {
    EntryPoint { name, ctx, required, output, budget }
}

/// The budget of a hook that runs on every timer tick, inside the timer
/// interrupt: a few log lines' worth, so that a tick hook takes well under
/// a millisecond of the tick's 10 ms.
pub const TICK_BUDGET: u64 = 20_000;
/// The budget of a quick question (lookup, getattr, open, close, probe).
pub const SHORT_BUDGET: u64 = 100_000;
/// The budget of a system call or a device transfer.
pub const CALL_BUDGET: u64 = 200_000;
/// The budget of a file-system read or directory listing, which may
/// produce a whole page of output.
pub const READ_BUDGET: u64 = 500_000;
/// The budget of a misc module's `load` and `unload`, which run once.
pub const ONCE_BUDGET: u64 = 1_000_000;

static SYSCALL_ENTRIES: &[EntryPoint] = &[entry("call", CtxKind::Syscall, true, false, CALL_BUDGET)];
static VFS_ENTRIES: &[EntryPoint] = &[
    entry("lookup", CtxKind::VfsLookup, true, false, SHORT_BUDGET),
    entry("getattr", CtxKind::VfsGetattr, true, false, SHORT_BUDGET),
    entry("readdir", CtxKind::VfsReaddir, true, true, READ_BUDGET),
    entry("read", CtxKind::VfsRead, true, true, READ_BUDGET),
    entry("write", CtxKind::VfsWrite, false, false, CALL_BUDGET),
];
static DEV_ENTRIES: &[EntryPoint] = &[
    entry("open", CtxKind::DevOpen, false, false, SHORT_BUDGET),
    entry("read", CtxKind::DevRead, false, true, CALL_BUDGET),
    entry("write", CtxKind::DevWrite, false, false, CALL_BUDGET),
    entry("ioctl", CtxKind::DevIoctl, false, true, CALL_BUDGET),
    entry("close", CtxKind::DevOpen, false, false, SHORT_BUDGET),
];
static EXEC_ENTRIES: &[EntryPoint] = &[entry("probe", CtxKind::ExecProbe, true, true, SHORT_BUDGET)];
static MISC_ENTRIES: &[EntryPoint] = &[
    entry("load", CtxKind::MiscLoad, false, false, ONCE_BUDGET),
    entry("unload", CtxKind::MiscLoad, false, false, ONCE_BUDGET),
    entry("tick", CtxKind::MiscTick, false, false, TICK_BUDGET),
];

/// The parameters of a module's class, as the module header gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassParams {
    /// The system-call number to replace, or [`SYSCALL_NEXT_FREE`].
    Syscall { nr: u32 },
    /// The file-system type name given to `mount -t`.
    Vfs { fstype: alloc::string::String },
    /// The major number ([`MAJOR_ANY`] lets the kernel choose) and the name
    /// of the node under `/dev`.
    Dev { major: u32, name: alloc::string::String },
    /// An executable-format interpreter: no parameters.
    Exec,
    /// A miscellaneous module: no parameters.
    Misc,
}

impl ClassParams {
    /// The class these parameters belong to.
    pub fn class(&self) -> Class {
        match self {
            ClassParams::Syscall { .. } => Class::Syscall,
            ClassParams::Vfs { .. } => Class::Vfs,
            ClassParams::Dev { .. } => Class::Dev,
            ClassParams::Exec => Class::Exec,
            ClassParams::Misc => Class::Misc,
        }
    }
}

/// Whether `name` is acceptable as a module, vfs or device name: 1 to
/// [`MAXLKMNAME`] bytes of ASCII letters, digits, `_`, `-` and `.`.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAXLKMNAME
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The context layout of an entry point (shorthand for [`ctx::layout`]).
pub fn entry_layout(e: &EntryPoint) -> verifier::CtxLayout {
    ctx::layout(e.ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_hook_has_the_smallest_budget() {
        let budgets = || Class::ALL.into_iter().flat_map(|c| c.entries()).map(|e| e.budget);
        assert_eq!(budgets().min(), Some(TICK_BUDGET));
        assert!(budgets().all(|b| b > 0));
        assert!(Class::Vfs.entry("read").map(|e| e.budget) > Class::Misc.entry("tick").map(|e| e.budget));
    }
}
