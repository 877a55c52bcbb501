//! System-call modules: the module's `call` program takes a slot of the
//! system-call table.
//!
//! Loading replaces slot `nr` (or the first free slot) with a handler that
//! runs `call`; when `call` returns `LKM_CHAIN`, the handler runs what the
//! slot held when the module was loaded, with the same arguments. Any other
//! negative result must be an errno of the table (else the caller gets
//! `EIO`); a non-negative one is the call's result. Wrappers stack: each
//! keeps the entry it replaced. Unloading shuts the handler's [`Gate`] (a
//! call that arrives from then on runs the entry the module replaced),
//! waits for the calls in progress to return, and puts that entry back.
//! It is refused (`EBUSY`) when calls are still in the module after
//! [`DRAIN_MS`] (one that sleeps there, say) or while a module loaded
//! later chains through it (the refusal names it).
//!
//! Lock-out rule: the calls on the path from a shell to `/dev/lkm` —
//! `exit`, `read`, `open`, `close`, `ioctl`, `spawn`, `exec`, `wait` —
//! cannot be replaced ([`PROTECTED`]): a module that broke one of them could
//! keep the superuser from ever unloading it.

use alloc::borrow::Cow;
use alloc::format;
use alloc::sync::Arc;

use abi::Errno;
use abi::syscall as nr;
use lkm::ctx::SyscallCtx;
use lkm::{LKM_CHAIN, class::SYSCALL_NEXT_FREE};

use super::gate::{DRAIN_MS, Gate};
use super::{Link, Refusal, errno_in};
use crate::lkm::module::Module;
use crate::lkm::run::{self, Outcome};
use crate::syscall::{self, Args, Entry, Handler, SyscallHandler};

/// System calls a module may not replace (see the module documentation).
pub const PROTECTED: [usize; 8] =
    [nr::SYS_EXIT, nr::SYS_READ, nr::SYS_OPEN, nr::SYS_CLOSE, nr::SYS_IOCTL, nr::SYS_SPAWN, nr::SYS_EXEC, nr::SYS_WAIT];

/// The handler a syscall module puts in its slot.
pub struct ModSyscall {
    module: Arc<Module>,
    /// What the slot held before (run on `LKM_CHAIN`).
    previous: Option<Entry>,
    /// Calls in progress; shut when the slot is given back.
    gate: Gate,
}

impl ModSyscall {
    /// What the slot held before the module, with the same arguments.
    fn chain(&self, args: &Args) -> isize {
        match &self.previous {
            Some(entry) => entry.handler.call(args),
            None => Errno::ENOSYS.to_ret(),
        }
    }
}

impl SyscallHandler for ModSyscall {
    fn call(&self, args: &Args) -> isize {
        // A caller that found the slot while an unload drains it, or just
        // before the unload gave it back, gets what the module replaced.
        let Some(_pass) = self.gate.enter() else { return self.chain(args) };
        let (pid, uid) = (crate::proc::current_pid(), crate::proc::current_uid());
        let mut ctx = SyscallCtx { nr: args.nr as u64, args: args.a, pid, uid };
        match run::run(&self.module, "call", &mut ctx, None) {
            Outcome::Done(r0) if r0 == LKM_CHAIN => self.chain(args),
            Outcome::Done(r0) if (r0 as i64) < 0 => errno_in(&self.module, "call", r0).to_ret(),
            Outcome::Done(r0) => r0 as isize,
            // A failed module: what the slot held before.
            _ => self.chain(args),
        }
    }
}

/// What unloading must undo.
pub struct SyscallLink {
    pub nr: usize,
    handler: Arc<ModSyscall>,
}

/// Puts the module's `call` in slot `nr` ([`SYSCALL_NEXT_FREE`]: the first free one).
pub fn link(module: &Arc<Module>, wanted: u32) -> Result<SyscallLink, Refusal> {
    let nr = if wanted == SYSCALL_NEXT_FREE {
        syscall::first_free().ok_or_else(|| Refusal::new(Errno::ENFILE, "error: no free system-call slot"))?
    } else {
        wanted as usize
    };
    if nr >= syscall::NSYSCALL {
        return Err(Refusal::new(
            Errno::EINVAL,
            format!("error: system call {nr} is outside the table\n  = note: the table has {} slots", syscall::NSYSCALL),
        ));
    }
    if PROTECTED.contains(&nr) {
        let name = abi::syscall::name(nr).unwrap_or("?");
        return Err(Refusal::new(
            Errno::EPERM,
            format!(
                "error: system call {nr} ({name}) may not be replaced by a module\n  = note: the superuser reaches /dev/lkm through it; replacing it could make the module impossible to unload\n  = help: wrap another call, or take a free slot with `syscall(next)`"
            ),
        ));
    }
    let previous = syscall::entry(nr);
    let handler = Arc::new(ModSyscall { module: module.clone(), previous, gate: Gate::new() });
    let entry = Entry { name: Cow::Owned(module.name.clone()), handler: Handler::Dynamic(handler.clone()) };
    syscall::replace(nr, Some(entry)).map_err(|e| Refusal::new(e, "error: cannot fill the system-call slot"))?;
    Ok(SyscallLink { nr, handler })
}

/// Whether `entry` runs `handler`.
fn runs(entry: &Entry, handler: &Arc<ModSyscall>) -> bool {
    match &entry.handler {
        Handler::Dynamic(h) => core::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(handler)),
        Handler::Builtin(_) => false,
    }
}

/// Puts back what the slot held before the module.
pub fn unlink(module: &Arc<Module>, link: &SyscallLink) -> Result<(), Refusal> {
    let current = syscall::entry(link.nr);
    if !current.as_ref().is_some_and(|e| runs(e, &link.handler)) {
        // Another module took the slot after this one and chains to it.
        let upper = crate::lkm::loaded().into_iter().find(|m| {
            m.link.lock().as_ref().is_some_and(|l| match l {
                Link::Syscall(s) => s.handler.previous.as_ref().is_some_and(|p| runs(p, &link.handler)),
                _ => false,
            })
        });
        let slot = link.nr;
        return Err(match upper {
            Some(upper) => Refusal::in_use(
                &module.name,
                format_args!("module `{}` was loaded on system call {slot} after it and chains through it", upper.name),
                format_args!("unload `{}` first", upper.name),
            ),
            None => Refusal::in_use(
                &module.name,
                format_args!("another handler took system call {slot} after it and chains through it"),
                format_args!("unload the module on system call {slot} first (modstat lists it)"),
            ),
        });
    }
    drop(current);
    let busy = || {
        Refusal::in_use(
            &module.name,
            format_args!("a call into it (system call {}) was still in progress after {DRAIN_MS} ms", link.nr),
            "a call that sleeps inside the module holds it: end the process making it, then unload it again",
        )
    };
    link.handler.gate.drain(busy, || {
        syscall::restore(link.nr, link.handler.previous.clone())
            .map_err(|e| Refusal::new(e, "error: cannot restore the system-call slot"))
    })
}
