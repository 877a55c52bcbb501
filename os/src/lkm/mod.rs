//! The module facility: loading verified, JIT-compiled modules into the
//! running kernel, in the manner of BSD's lkm(4).
//!
//! A load goes through the module table's slots ([`MAXLKMS`] of them):
//! [`reserve`] takes a free slot for an image of a given size,
//! [`load_chunk`] copies the image in, [`ready`] builds the module
//! ([`load`]: parse, verify, JIT, each timed) and links it into its class's
//! hook table ([`class`]). [`unload`] unlinks it — waiting for calls in
//! progress to return, refused with `EBUSY` while it is held (an open
//! device, a mounted file system) — and frees it after a grace period. `/dev/lkm` ([`device`]) is the user
//! interface to exactly these functions; the in-kernel tests call them too.
//!
//! How modules run is in [`run`] (the invocation record, faults) and
//! [`helpers`] (what module code may call); [`ports`] holds the I/O port
//! allowlist; [`module`] what a loaded module owns. docs/modules.md tells
//! the whole story with figures.

pub mod class;
pub mod device;
pub mod helpers;
pub mod load;
pub mod module;
pub mod ports;
pub mod run;
pub mod watch;

#[cfg(feature = "ktest")]
mod tests;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use abi::Errno;
use lkm::ioctl::MAX_IMAGE_SIZE;

use class::Refusal;
use module::{MODULE_BUDGET, Module};
use crate::sync::{IrqLock, LockClass};

/// Module slots (`MAXLKMS` of the classic kernel).
pub const MAXLKMS: usize = 20;

/// A half-finished load.
struct Reservation {
    name: String,
    size: usize,
    image: Vec<u8>,
}

enum Slot {
    Free,
    Reserved(Reservation),
    /// `ready` is building the module (the image is out of the table).
    Building(String),
    /// A module, with its place in the order of loads (for "unload the
    /// most recent", the magic key's `u`).
    Loaded(Arc<Module>, u64),
}

static TABLE: IrqLock<[Slot; MAXLKMS]> = IrqLock::with_class(LockClass::LkmTable, [const { Slot::Free }; MAXLKMS]);
/// Serialises `ready` and `unload` (which run with interrupts on); taken
/// only through [`serialise`].
static LOAD_LOCK: spin::Mutex<()> = spin::Mutex::new(());
/// Loads so far, numbering [`Slot::Loaded`].
static LOADS: AtomicU64 = AtomicU64::new(0);

/// Sets up the facility: the recovery region for module code, the tick
/// hook and `/dev/lkm`. Call after the device switch and devfs exist.
pub fn init() {
    static DONE: spin::Once<()> = spin::Once::new();
    DONE.call_once(|| {
        if !crate::arch::jit::init() {
            log::error!("lkm: no fault-recovery region for module code; faults in it will be fatal");
        }
        if !class::misc::init() {
            log::error!("lkm: no free tick hook; `tick` programs will not run");
        }
        if let Err(e) = device::init() {
            log::error!("lkm: /dev/lkm not installed: {e}");
        }
    });
}

fn slot_name(slot: &Slot) -> Option<&str> {
    match slot {
        Slot::Free => None,
        Slot::Reserved(r) => Some(&r.name),
        Slot::Building(n) => Some(n),
        Slot::Loaded(m, _) => Some(&m.name),
    }
}

/// Reserves a slot for an image of `size` bytes named `name`; returns the
/// id. `EINVAL` for a bad name or size, `EEXIST` if the name is taken,
/// `ENOMEM` past the per-module budget, `ENFILE` when no slot is free.
pub fn reserve(name: &[u8], size: u64) -> Result<usize, Errno> {
    if !lkm::class::valid_name(name) || size == 0 || size > MAX_IMAGE_SIZE {
        return Err(Errno::EINVAL);
    }
    if size as usize > MODULE_BUDGET {
        return Err(Errno::ENOMEM);
    }
    let name = String::from(core::str::from_utf8(name).map_err(|_| Errno::EINVAL)?);
    let mut image = Vec::new();
    image.try_reserve_exact(size as usize).map_err(|_| Errno::ENOMEM)?;
    let mut table = TABLE.lock();
    if table.iter().any(|s| slot_name(s) == Some(&name)) {
        return Err(Errno::EEXIST);
    }
    let id = table.iter().position(|s| matches!(s, Slot::Free)).ok_or(Errno::ENFILE)?;
    table[id] = Slot::Reserved(Reservation { name, size: size as usize, image });
    Ok(id)
}

/// Appends `data` to the image of reservation `id`: `ENOENT` if `id` is not
/// reserved, `EINVAL` past the reserved size.
pub fn load_chunk(id: usize, data: &[u8]) -> Result<(), Errno> {
    let mut table = TABLE.lock();
    let Some(Slot::Reserved(r)) = table.get_mut(id) else { return Err(Errno::ENOENT) };
    if r.image.len() + data.len() > r.size {
        return Err(Errno::EINVAL);
    }
    r.image.extend_from_slice(data);
    Ok(())
}

/// Drops reservation `id` (`ENOENT` if there is none).
pub fn unreserve(id: usize) -> Result<(), Errno> {
    let mut table = TABLE.lock();
    match table.get(id) {
        Some(Slot::Reserved(_)) => {
            // The image is freed after the lock is dropped.
            let old = core::mem::replace(&mut table[id], Slot::Free);
            drop(table);
            drop(old);
            Ok(())
        }
        _ => Err(Errno::ENOENT),
    }
}

/// Builds and links the module whose image reservation `id` holds. The
/// reservation is used up either way. The module's name is the image's.
pub fn ready(id: usize, patch: Option<load::Patch>) -> Result<Arc<Module>, Refusal> {
    let _serial = serialise();
    let reservation = {
        let mut table = TABLE.lock();
        match table.get(id) {
            Some(Slot::Reserved(r)) if r.image.len() == r.size => {}
            Some(Slot::Reserved(r)) => {
                return Err(Refusal::new(
                    Errno::EINVAL,
                    alloc::format!("error: the image is incomplete: {} of {} bytes loaded", r.image.len(), r.size),
                ));
            }
            _ => return Err(Refusal::new(Errno::ENOENT, alloc::format!("error: no reservation with id {id}"))),
        }
        let Slot::Reserved(r) = core::mem::replace(&mut table[id], Slot::Free) else { unreachable!() };
        table[id] = Slot::Building(r.name.clone());
        r
    };
    let result = build_and_link(id, &reservation.image, patch);
    drop(reservation);
    let mut table = TABLE.lock();
    table[id] = match &result {
        Ok(m) => Slot::Loaded(m.clone(), LOADS.fetch_add(1, Ordering::Relaxed)),
        Err(_) => Slot::Free,
    };
    result
}

fn build_and_link(id: usize, bytes: &[u8], patch: Option<load::Patch>) -> Result<Arc<Module>, Refusal> {
    let built = load::build(bytes, patch)?;
    let t = crate::arch::rdtsc();
    let name = built.image.name.clone();
    let taken = TABLE.lock().iter().enumerate().any(|(i, s)| i != id && slot_name(s) == Some(name.as_str()));
    if taken {
        return Err(Refusal::new(Errno::EEXIST, alloc::format!("error: a module named `{name}` is loaded already")));
    }
    let image = built.image;
    if let Err(e) = ports::grant(id, &image.ports) {
        let message = match e {
            ports::PortError::NotAllowed(p) => alloc::format!(
                "error: ports {:#x}..={:#x} may not be granted to a module\n  = note: modules may use only {}",
                p.start,
                (p.start as u32 + p.count as u32).saturating_sub(1),
                ports::ALLOWLIST
                    .iter()
                    .map(|(s, n, what)| alloc::format!("{s:#x}..={:#x} ({what})", (*s as u32 + *n as u32).saturating_sub(1)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ports::PortError::Taken { range, holder } => alloc::format!(
                "error: port {:#x} is held by module {holder}\n  = note: a port is granted to one module at a time",
                range.start
            ),
        };
        let errno = if matches!(e, ports::PortError::Taken { .. }) { Errno::EBUSY } else { Errno::EPERM };
        return Err(Refusal::new(errno, message));
    }
    let stats = built.stats;
    let module = Arc::new(Module::new(
        id,
        name,
        image.params.clone(),
        built.programs,
        built.maps,
        image.maps.clone(),
        image.ports.clone(),
        stats,
        built.bytes,
    ));
    match class::link(&module) {
        Ok(link) => *module.link.lock() = Some(link),
        Err(e) => {
            ports::release(id);
            return Err(e);
        }
    }
    module.set_link_ns(load::since(t));
    log::info!(
        "lkm: loaded `{}` as module {id} ({}, {} insns, {} bytes of code)",
        module.name,
        module.class().name(),
        stats.insns,
        stats.code_size
    );
    Ok(module)
}

/// The id of the module (loaded or reserved) named `name`.
pub fn find(name: &[u8]) -> Option<usize> {
    let name = core::str::from_utf8(name).ok()?;
    TABLE.lock().iter().position(|s| slot_name(s) == Some(name))
}

/// The loaded module with id `id`: `EINVAL` out of range, `ENOENT` if the
/// slot holds no loaded module.
pub fn get(id: usize) -> Result<Arc<Module>, Errno> {
    match TABLE.lock().get(id) {
        None => Err(Errno::EINVAL),
        Some(Slot::Loaded(m, _)) => Ok(m.clone()),
        Some(_) => Err(Errno::ENOENT),
    }
}

/// Every loaded module, by id.
pub fn loaded() -> Vec<Arc<Module>> {
    TABLE.lock().iter().filter_map(|s| if let Slot::Loaded(m, _) = s { Some(m.clone()) } else { None }).collect()
}

/// Every loaded module, the most recently loaded first.
pub fn newest_first() -> Vec<Arc<Module>> {
    let mut modules: Vec<(u64, Arc<Module>)> =
        TABLE.lock().iter().filter_map(|s| if let Slot::Loaded(m, n) = s { Some((*n, m.clone())) } else { None }).collect();
    modules.sort_by_key(|m| core::cmp::Reverse(m.0));
    modules.into_iter().map(|(_, m)| m).collect()
}

/// Takes `LOAD_LOCK`, yielding while another load or unload holds it: an
/// unload may hold it for up to `class::gate::DRAIN_MS` while it waits for
/// calls into a hook, and a spinning CPU would keep the tasks making those
/// calls from running there.
fn serialise() -> spin::MutexGuard<'static, ()> {
    loop {
        if let Some(guard) = LOAD_LOCK.try_lock() {
            return guard;
        }
        crate::proc::sched::yield_now();
        core::hint::spin_loop();
    }
}

/// Unloads module `id`: unlinks it (waiting, bounded, for the calls in
/// progress through its hook; `EBUSY` with the reason while it is held or
/// when they do not return in time), waits for a grace period
/// (`arch::grace`), gives back its ports and frees it.
pub fn unload(id: usize) -> Result<(), Refusal> {
    let _serial = serialise();
    let module = get(id).map_err(|e| Refusal::new(e, alloc::format!("error: no module with id {id}")))?;
    let link = module.link.lock().take();
    if let Some(link) = link {
        if let Err(refusal) = class::unlink(&module, &link) {
            *module.link.lock() = Some(link);
            log::warn!("lkm: cannot unload `{}`: {}", module.name, one_line(&refusal.message));
            return Err(refusal);
        }
        drop(link);
    }
    // Unlinked, so no new run starts; wait until no CPU is still inside a
    // run that began before, then free.
    crate::arch::grace::wait();
    ports::release(id);
    let slot = core::mem::replace(&mut TABLE.lock()[id], Slot::Free);
    log::info!("lkm: unloaded `{}` (module {id})", module.name);
    drop(slot);
    drop(module);
    Ok(())
}

/// A refusal's message on one line for the kernel log: `error: what;
/// note: ...; help: ...` without the `error: ` and `= ` marks.
fn one_line(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(|l| l.trim_start().trim_start_matches("= "))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    parts.join("; ")
}

/// Loads `bytes` through the same steps as the ioctls (reserve, copy in
/// chunks of `MODIOBUF`, ready); for in-kernel users and tests.
pub fn load_image(bytes: &[u8], name: &str, patch: Option<load::Patch>) -> Result<Arc<Module>, Refusal> {
    let id = reserve(name.as_bytes(), bytes.len() as u64)
        .map_err(|e| Refusal::new(e, alloc::format!("error: cannot reserve a slot for `{name}`: {e}")))?;
    for chunk in bytes.chunks(lkm::ioctl::MODIOBUF as usize) {
        if let Err(e) = load_chunk(id, chunk) {
            let _ = unreserve(id);
            return Err(Refusal::new(e, "error: cannot copy the image"));
        }
    }
    ready(id, patch)
}
