//! The magic key: Ctrl-\ then a letter on the serial console, handled by
//! the kernel before any program or module sees the byte (in the spirit
//! of Linux's magic SysRq key).
//!
//! | letter | what the kernel does |
//! |---|---|
//! | `h` (or any other) | list the letters |
//! | `m` | list the loaded modules, the most recent first |
//! | `u` | unload the most recently loaded module |
//! | `U` | unload every module, the most recent first |
//! | `t` | list the tasks |
//!
//! The console's line discipline ([`crate::fs::console`]) calls
//! [`request`], possibly in an interrupt; the idle task does the work
//! ([`run_pending`]), in a context that holds no lock, because unloading
//! waits for the module table's lock. The idle task takes its turn in the
//! run queue even when programs are busy, so the key is served within a
//! few ticks whatever runs. It prints straight to the serial port, so it answers even when a module
//! makes `write(2)` fail for everyone, and it unloads through
//! [`lkm::unload`], the path of `modunload`: a refusal (busy, say) is
//! printed with its reason. The console is the machine's own terminal:
//! whoever types at it is physically present, so the key acts as root.

use crate::proc::snapshot;
use crate::sync::{IrqLock, LockClass};
use crate::{lkm, println};
use abi::proc::ProcState;

/// Letters typed but not handled yet (more are dropped).
const PENDING_MAX: usize = 8;

struct Pending {
    keys: [u8; PENDING_MAX],
    len: usize,
}

static PENDING: IrqLock<Pending> = IrqLock::with_class(LockClass::Sysrq, Pending { keys: [0; PENDING_MAX], len: 0 });

/// Queues `key` for [`run_pending`] (safe in interrupt context).
pub fn request(key: u8) {
    let mut pending = PENDING.lock();
    let len = pending.len;
    if let Some(slot) = pending.keys.get_mut(len) {
        *slot = key;
        pending.len = len + 1;
    }
}

/// Does what the queued keys ask. Called by the idle task, holding nothing.
pub fn run_pending() {
    while let Some(key) = take() {
        act(key);
    }
}

/// The oldest queued key.
fn take() -> Option<u8> {
    let mut pending = PENDING.lock();
    if pending.len == 0 {
        return None;
    }
    let key = pending.keys[0];
    pending.keys.copy_within(1.., 0);
    pending.len -= 1;
    Some(key)
}

fn act(key: u8) {
    println!();
    match key {
        b'm' => list_modules(),
        b'u' => match lkm::newest_first().first() {
            Some(module) => unload(module.id, &module.name),
            None => println!("sysrq: no module is loaded"),
        },
        b'U' => {
            let modules = lkm::newest_first();
            if modules.is_empty() {
                println!("sysrq: no module is loaded");
            }
            for module in modules {
                unload(module.id, &module.name);
            }
        }
        b't' => list_tasks(),
        _ => help(),
    }
}

fn help() {
    println!("sysrq: Ctrl-\\ then: h help, m list modules, u unload the most recent module, U unload all modules, t list tasks");
}

fn list_modules() {
    let modules = lkm::newest_first();
    if modules.is_empty() {
        println!("sysrq: no module is loaded");
        return;
    }
    println!("sysrq: {} module(s), the most recent first:", modules.len());
    for m in modules {
        println!("  {:>3} {:<16} {}", m.id, m.name, m.class().name());
    }
}

fn unload(id: usize, name: &str) {
    match lkm::unload(id) {
        Ok(()) => println!("sysrq: unloaded `{name}` (module {id})"),
        Err(refusal) => {
            println!("sysrq: cannot unload `{name}` (module {id}): {}", refusal.errno);
            for line in refusal.message.lines() {
                println!("  {line}");
            }
        }
    }
}

fn list_tasks() {
    println!("sysrq: tasks:");
    println!("  {:>5} {:>5} {:>5} {:<4} {:>8} NAME", "PID", "PPID", "UID", "STAT", "TICKS");
    for t in snapshot() {
        let state = ProcState::from_u32(t.state).map_or('?', ProcState::letter);
        let name = core::str::from_utf8(t.name()).unwrap_or("?");
        let (open, close) = if t.kernel != 0 { ("[", "]") } else { ("", "") };
        println!("  {:>5} {:>5} {:>5} {:<4} {:>8} {open}{name}{close}", t.pid, t.ppid, t.uid, state, t.ticks);
    }
}
