//! Miscellaneous modules: `load` runs when the module is linked (a negative
//! result aborts the load), `unload` when it is unlinked, and `tick`, if
//! present, on every tick of every CPU's timer, on that CPU (in interrupt
//! context, so on several CPUs at once; its result is ignored).

use alloc::sync::Arc;
use alloc::vec::Vec;

use lkm::ctx::{MiscLoadCtx, MiscTickCtx};

use super::{Refusal, errno_in};
use crate::lkm::module::Module;
use crate::lkm::run::{Outcome, run};
use crate::sync::{IrqLock, LockClass};
use crate::time;

/// Modules with a `tick` program.
static TICKERS: IrqLock<Vec<Arc<Module>>> = IrqLock::with_class(LockClass::MiscTickers, Vec::new());

/// Installs the one CPU tick hook that runs every module's `tick`.
pub fn init() -> bool {
    time::add_cpu_tick_hook(on_tick)
}

/// Runs the `tick` programs on this CPU. The list is copied out of its
/// lock first, so CPUs ticking at the same moment do not wait for each
/// other's module code. (A module taken off the list meanwhile may still
/// run this once: `unload` waits for a grace period, which this CPU
/// passes only after this interrupt, before freeing it.)
fn on_tick(_frame: &mut crate::arch::TrapFrame) {
    let mut list = Vec::new();
    {
        let tickers = TICKERS.lock();
        if list.try_reserve(tickers.len()).is_err() {
            return;
        }
        list.extend(tickers.iter().cloned());
    }
    for module in &list {
        let mut c = MiscTickCtx { ticks: time::ticks(), uptime_ns: time::uptime_ns() };
        run(module, "tick", &mut c, None);
    }
}

/// Runs `load`, then adds the module to the tick list if it has `tick`.
pub fn link(module: &Arc<Module>) -> Result<(), Refusal> {
    let mut c = MiscLoadCtx { module_id: module.id as u32, _pad: 0 };
    match run(module, "load", &mut c, None) {
        Outcome::Done(r0) if (r0 as i64) < 0 => {
            let e = errno_in(module, "load", r0);
            return Err(Refusal::new(e, alloc::format!("error: the module's `load` returned {e}")));
        }
        Outcome::Failed => {
            return Err(Refusal::new(abi::Errno::EIO, "error: the module's `load` faulted (see the kernel log)"));
        }
        _ => {}
    }
    if module.program("tick").is_some() {
        TICKERS.lock().push(module.clone());
    }
    Ok(())
}

/// Takes the module off the tick list, then runs `unload` (whose result
/// cannot stop the unload: the superuser can always unload).
pub fn unlink(module: &Arc<Module>) {
    TICKERS.lock().retain(|m| !Arc::ptr_eq(m, module));
    let mut c = MiscLoadCtx { module_id: module.id as u32, _pad: 0 };
    if let Outcome::Done(r0) = run(module, "unload", &mut c, None)
        && (r0 as i64) < 0
    {
        log::warn!("lkm: module `{}`: `unload` returned {}; unloaded anyway", module.name, errno_in(module, "unload", r0));
    }
}
