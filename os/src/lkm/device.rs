//! `/dev/lkm`: the user interface to the module facility, with the ioctls
//! and errors of the classic `sys/lkm.h`.
//!
//! The node is mode 0644, owned by root: anyone may open it read-only (for
//! `LMSTAT`), only the superuser for writing, and one writer at a time
//! (`EBUSY` for a second). Every ioctl that changes something needs a
//! writable descriptor (`EACCES`); `LMSTAT`, `LMSTATV` and `LMMAPREAD` only
//! look. A load is `LMRESERV`, `LMLOADBUF`..., `LMREADY`;
//! closing the writer's descriptor with a load half done discards it.
//! Arguments are copied in and out through the checked user-copy
//! functions (`EFAULT` for a bad pointer); names, ids, sizes and counts are
//! checked (`EINVAL`), unknown modules are `ENOENT`. When `LMREADY` or
//! `LMUNLOAD` is refused, the kernel's reason goes back as text into a
//! buffer the caller names in the request, cut to its capacity.

use alloc::sync::Arc;
use alloc::vec;

use abi::Errno;
use abi::fs::{S_IFCHR, can_write, makedev};
use lkm::ioctl::{
    LKM_STATE_FAILED, LMLOADBUF, LMMAPREAD, LMREADY, LMRESERV, LMSTAT, LMSTAT_FAILED, LMSTATV, LMUNLOAD,
    LMUNRESRV, LmcLoadbuf, LmcMapRead, LmcMapStat, LmcProgStat, LmcReady, LmcResrv, LmcStat, LmcStatv, LmcUnload, MODIOBUF, STATV_MAPS,
    STATV_PROGRAMS, name_field, name_of,
};

use super::module::ModMap;
use super::{MAXLKMS, find, get, load_chunk, ready, reserve, unload, unreserve};
use crate::fs::device::{self, CharDevice};
use crate::fs::{Result, devfs};
use crate::sync::IrqLock;
use crate::syscall::usercopy::{self, Pod};

/// Major number of `/dev/lkm` (as on OpenBSD/i386).
pub const LKM_MAJOR: u32 = 28;
/// Largest report or reason buffer the kernel fills.
pub const MAX_REPORT: u32 = 64 * 1024;

// SAFETY: the request structures are `#[repr(C)]`, made only of integers
// and byte arrays, with explicit padding fields: valid for every bit
// pattern and without hidden padding.
unsafe impl Pod for LmcResrv {}
unsafe impl Pod for LmcLoadbuf {}
unsafe impl Pod for LmcReady {}
unsafe impl Pod for LmcUnload {}
unsafe impl Pod for LmcStat {}
unsafe impl Pod for LmcStatv {}
unsafe impl Pod for LmcMapRead {}

/// The driver: who holds the device for writing, and their reservation.
struct LkmDevice {
    state: IrqLock<Holder>,
}

#[derive(Default)]
struct Holder {
    writer: bool,
    reserved: Option<usize>,
}

/// Installs the driver and `/dev/lkm`.
pub fn init() -> Result<()> {
    let driver = Arc::new(LkmDevice { state: IrqLock::new(Holder::default()) });
    device::register_char(Some(LKM_MAJOR), driver)?;
    devfs::add_node("lkm", S_IFCHR | 0o644, 0, makedev(LKM_MAJOR, 0))
}

impl CharDevice for LkmDevice {
    fn name(&self) -> &str {
        "lkm"
    }

    fn open(&self, minor: u32, flags: u32) -> Result<()> {
        if minor != 0 {
            return Err(Errno::ENXIO);
        }
        if !can_write(flags) {
            return Ok(());
        }
        if crate::proc::current_uid() != 0 {
            return Err(Errno::EACCES);
        }
        let mut state = self.state.lock();
        if state.writer {
            return Err(Errno::EBUSY);
        }
        state.writer = true;
        Ok(())
    }

    fn release(&self, _minor: u32, flags: u32) {
        if !can_write(flags) {
            return;
        }
        let reserved = {
            let mut state = self.state.lock();
            state.writer = false;
            state.reserved.take()
        };
        if let Some(id) = reserved {
            let _ = unreserve(id);
        }
    }

    fn read(&self, _minor: u32, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _minor: u32, _offset: u64, _data: &[u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn ioctl_flags(&self, _minor: u32, flags: u32, cmd: usize, arg: usize) -> Result<usize> {
        let Ok(cmd) = u32::try_from(cmd) else { return Err(Errno::ENOTTY) };
        let arg = arg as u64;
        if [LMRESERV, LMLOADBUF, LMUNRESRV, LMREADY, LMUNLOAD].contains(&cmd) && !can_write(flags) {
            return Err(Errno::EACCES);
        }
        match cmd {
            LMRESERV => self.reserve(arg),
            LMLOADBUF => self.load_buf(arg),
            LMUNRESRV => {
                let id = self.state.lock().reserved.take().ok_or(Errno::ENOENT)?;
                unreserve(id).map(|()| 0)
            }
            LMREADY => self.ready(arg),
            LMUNLOAD => unload_request(arg),
            LMSTAT => stat(arg),
            LMSTATV => statv(arg),
            LMMAPREAD => map_read(arg),
            _ => Err(Errno::ENOTTY),
        }
    }
}

impl LkmDevice {
    fn reserve(&self, arg: u64) -> Result<usize> {
        let mut req: LmcResrv = usercopy::read(arg)?;
        if self.state.lock().reserved.is_some() {
            return Err(Errno::EBUSY);
        }
        let id = reserve(name_of(&req.name), req.size)?;
        req.slot = id as i32;
        if let Err(e) = usercopy::write(arg, &[req]) {
            let _ = unreserve(id);
            return Err(e);
        }
        self.state.lock().reserved = Some(id);
        Ok(0)
    }

    fn load_buf(&self, arg: u64) -> Result<usize> {
        let req: LmcLoadbuf = usercopy::read(arg)?;
        let id = self.state.lock().reserved.ok_or(Errno::ENOENT)?;
        if req.cnt == 0 || req.cnt > MODIOBUF {
            return Err(Errno::EINVAL);
        }
        let mut data = vec![0u8; req.cnt as usize];
        usercopy::copy_from_user(req.data, &mut data)?;
        load_chunk(id, &data).map(|()| 0)
    }

    fn ready(&self, arg: u64) -> Result<usize> {
        let mut req: LmcReady = usercopy::read(arg)?;
        let reserved = self.state.lock().reserved;
        if reserved.is_none() || req.id < 0 || reserved != Some(req.id as usize) {
            return Err(Errno::ENOENT);
        }
        check_text_buffer(req.report, req.report_cap)?;
        let id = req.id as usize;
        self.state.lock().reserved = None;
        let result = ready(id, None);
        req.report_len = 0;
        let errno = match &result {
            Ok(module) => {
                let s = module.stats();
                req.insns = s.insns;
                req.insns_processed = s.insns_processed;
                req.states = s.states;
                req.code_size = s.code_size;
                req.parse_ns = s.parse_ns;
                req.verify_ns = s.verify_ns;
                req.jit_ns = s.jit_ns;
                req.link_ns = s.link_ns;
                None
            }
            Err(refusal) => {
                req.report_len = copy_text(req.report, req.report_cap, &refusal.message)?;
                Some(refusal.errno)
            }
        };
        usercopy::write(arg, &[req])?;
        match errno {
            None => Ok(0),
            Some(e) => Err(e),
        }
    }
}

/// Checks a caller's text buffer (`LMREADY`'s report, `LMUNLOAD`'s
/// reason) before the request does anything: none (address 0), or at most
/// [`MAX_REPORT`] bytes (`EINVAL`) of writable user memory (`EFAULT`).
fn check_text_buffer(addr: u64, cap: u32) -> Result<()> {
    if addr == 0 {
        return Ok(());
    }
    if cap > MAX_REPORT {
        return Err(Errno::EINVAL);
    }
    usercopy::check(addr, cap as usize, true)
}

/// Copies `text` into a buffer [`check_text_buffer`] passed, cut to its
/// capacity; the bytes written (0 without a buffer).
fn copy_text(addr: u64, cap: u32, text: &str) -> Result<u32> {
    if addr == 0 {
        return Ok(0);
    }
    let n = text.len().min(cap as usize);
    usercopy::copy_to_user(addr, &text.as_bytes()[..n])?;
    Ok(n as u32)
}

/// `LMUNLOAD`: unloads the module the request names; a refusal's reason
/// (the kernel's message: what holds the module and what to do) is copied
/// to the caller's buffer before the errno is returned. The buffer and the
/// request are checked first, so a bad pointer never follows an unload.
fn unload_request(arg: u64) -> Result<usize> {
    let mut req: LmcUnload = usercopy::read(arg)?;
    usercopy::check(arg, size_of::<LmcUnload>(), true)?;
    check_text_buffer(req.reason, req.reason_cap)?;
    let id = module_id(req.id, &req.name)?;
    let result = unload(id);
    req.reason_len = match &result {
        Ok(()) => 0,
        Err(refusal) => copy_text(req.reason, req.reason_cap, &refusal.message)?,
    };
    usercopy::write(arg, &[req])?;
    result.map(|()| 0).map_err(|refusal| refusal.errno)
}

/// The id named by a request: `id`, or the module called `name` when `id`
/// is -1.
fn module_id(id: i32, name: &[u8; lkm::MAXLKMNAME]) -> Result<usize> {
    match id {
        -1 => {
            let name = name_of(name);
            if !lkm::class::valid_name(name) {
                return Err(Errno::EINVAL);
            }
            find(name).ok_or(Errno::ENOENT)
        }
        id if id < 0 || id as usize >= MAXLKMS => Err(Errno::EINVAL),
        id => Ok(id as usize),
    }
}

fn stat(arg: u64) -> Result<usize> {
    let req: LmcStat = usercopy::read(arg)?;
    let id = module_id(req.id, &req.name)?;
    let module = get(id)?;
    let row = LmcStat {
        id: id as i32,
        class: module.class().number() as u32,
        name: name_field(&module.name).unwrap_or_default(),
        offset: module.slot(),
        // Where kernel code lives is for the superuser only (like Linux's
        // `kptr_restrict`): anyone else gets 0.
        area: if crate::proc::current_uid() == 0 { module.load_address() } else { 0 },
        size: module.bytes as u64,
        private: module.runs.load(core::sync::atomic::Ordering::Relaxed),
        ver: lkm::image::VERSION as u32,
        flags: if module.is_failed() { LMSTAT_FAILED } else { 0 },
    };
    usercopy::write(arg, &[row])?;
    Ok(0)
}

/// `LMSTATV`: the module's programs (entry, slots, code size) and maps
/// (declaration and entries in use).
fn statv(arg: u64) -> Result<usize> {
    let req: LmcStatv = usercopy::read(arg)?;
    let id = module_id(req.id, &req.name)?;
    let module = get(id)?;
    let mut out = LmcStatv {
        id: id as i32,
        state: if module.is_failed() { LKM_STATE_FAILED } else { 0 },
        name: name_field(&module.name).unwrap_or_default(),
        nprogs: module.programs.len().min(STATV_PROGRAMS) as u32,
        nmaps: module.map_decls.len() as u32,
        code_size: module.stats().code_size,
        runs: module.runs.load(core::sync::atomic::Ordering::Relaxed),
        out_of_fuel: module.out_of_fuel.load(core::sync::atomic::Ordering::Relaxed),
        longest_run_ns: crate::time::cycles_to_ns(module.longest_run.load(core::sync::atomic::Ordering::Relaxed)),
        rejected: module.rejected.load(core::sync::atomic::Ordering::Relaxed),
        ..LmcStatv::default()
    };
    for (slot, p) in out.progs.iter_mut().zip(&module.programs) {
        let mut entry = [0u8; 16];
        let n = p.entry.len().min(entry.len());
        entry[..n].copy_from_slice(&p.entry.as_bytes()[..n]);
        *slot = LmcProgStat { entry, slots: p.program.len() as u32, code_size: p.jit.size() as u32 };
    }
    for ((slot, decl), map) in out.maps.iter_mut().zip(&module.map_decls).zip(&module.maps).take(STATV_MAPS) {
        let mut name = [0u8; lkm::MAXLKMNAME];
        let n = decl.name.len().min(name.len());
        name[..n].copy_from_slice(&decl.name.as_bytes()[..n]);
        *slot = LmcMapStat {
            name,
            kind: decl.kind.code() as u32,
            key_size: decl.key_size,
            value_size: decl.value_size,
            max_entries: decl.max_entries,
            entries: map.with(|m| m.len()) as u32,
            _pad: 0,
        };
    }
    usercopy::write(arg, &[out])?;
    Ok(0)
}

/// `LMMAPREAD`: one entry of a declared map; of a per-CPU array, every
/// CPU's value of it, CPU 0's first. The values are copied out of the map
/// under its exclusion, then to user memory (which may fault) after.
fn map_read(arg: u64) -> Result<usize> {
    let mut req: LmcMapRead = usercopy::read(arg)?;
    let id = module_id(req.id, &req.name)?;
    let module = get(id)?;
    let index = req.map as usize;
    let map = module.maps.get(index).filter(|_| index < module.map_decls.len()).ok_or(Errno::EINVAL)?;
    let (key_len, value_size, cpus) = map.with(|m| (m.key_size(), m.value_size() as usize, m.cpus()));
    if req.key_len != key_len {
        return Err(Errno::EINVAL);
    }
    let mut key = usercopy::buffer(key_len as usize, 0u8)?;
    usercopy::copy_from_user(req.key, &mut key)?;
    if (req.value_cap as usize) < value_size.saturating_mul(cpus) {
        return Err(Errno::ENOSPC);
    }
    let values = entry_values(map, &key)?;
    usercopy::copy_to_user(req.value, &values)?;
    req.id = id as i32;
    req.value_size = value_size as u32;
    req.cpus = cpus as u32;
    usercopy::write(arg, &[req])?;
    Ok(0)
}

/// The values of `key` in `map`, one for each CPU of a per-CPU array (CPU
/// 0's first), copied out under the map's exclusion; `ENOENT` if the key
/// has no entry.
pub(super) fn entry_values(map: &ModMap, key: &[u8]) -> Result<alloc::vec::Vec<u8>> {
    let (value_size, cpus) = map.with(|m| (m.value_size() as usize, m.cpus()));
    let mut values = usercopy::buffer(value_size.checked_mul(cpus).ok_or(Errno::EINVAL)?, 0u8)?;
    let found = map.with(|m| {
        values.chunks_exact_mut(value_size).enumerate().all(|(cpu, out)| {
            m.lookup_on(cpu, key).map(|slot| out.copy_from_slice(m.value(slot))).is_some()
        })
    });
    if found { Ok(values) } else { Err(Errno::ENOENT) }
}
