//! The helpers module code calls (ids and signatures in `lkm::helpers`).
//!
//! The JIT emits a direct `call rel32` to each helper's address
//! ([`address`]). The verifier has already checked every argument against
//! the helper's signature; each helper checks again at run time (defence
//! in depth): memory arguments must lie in the run's context, module
//! code's frames on the stack (from the calling frame's lowest byte, as its
//! entry stub noted, up to the return address into the kernel) or the
//! module's map values, a map reference must be one of the module's maps,
//! a user address must be the calling process's memory, a port must be
//! granted to the module. A failed check is logged and returns `-EFAULT`
//! (or `-EPERM`, or a value in the helper's declared range).
//!
//! A helper that writes into a module buffer (of these, `copy_from_user`)
//! fills all of it or, when it fails, zeroes all of it: the verifier counts
//! the buffer as written after the call, whatever the result, so the bytes
//! the buffer held before must never survive a failure.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use abi::Errno;
use lkm::helpers as ids;

use super::module::{ModMap, Module};
use super::ports;
use super::run::{self, Invocation};
use crate::arch;

/// The address module code calls for helper `id`, for the JIT: the
/// helper's entry stub ([`arch::helper_entry`]), which notes where module
/// code's frames end.
pub fn address(id: u32) -> Option<u64> {
    stub(id)
}

arch::helper_entry::helper_stubs!(
    ids::LOG => log,
    ids::KTIME_NS => ktime_ns,
    ids::GET_PID => get_pid,
    ids::GET_UID => get_uid,
    ids::RANDOM_U32 => random_u32,
    ids::MAP_LOOKUP => map_lookup,
    ids::MAP_UPDATE => map_update,
    ids::MAP_DELETE => map_delete,
    ids::EMIT => emit,
    ids::EMIT_DIRENT => emit_dirent,
    ids::COPY_FROM_USER => copy_from_user,
    ids::COPY_TO_USER => copy_to_user,
    ids::INB => inb,
    ids::OUTB => outb,
    ids::INW => inw,
    ids::OUTW => outw,
    ids::INL => inl,
    ids::OUTL => outl,
    ids::CPU_ID => cpu_id,
);

// `cpu_id` promises module code a number below `lkm::helpers::MAX_CPUS`.
const _: () = assert!(arch::percpu::MAX_CPUS == ids::MAX_CPUS as usize);

/// Run-time checks that refused an argument since boot.
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many helper arguments were refused at run time.
pub fn refused_total() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

fn err(e: Errno) -> u64 {
    e.to_ret() as i64 as u64
}

/// Logs and counts a refused argument; returns `-errno`.
fn refuse(inv: Option<&Invocation>, helper: &str, e: Errno) -> u64 {
    REFUSED.fetch_add(1, Ordering::Relaxed);
    let name = inv.map_or("?", |i| module(i).name.as_str());
    log::warn!("lkm: module `{name}`: helper `{helper}` refused an argument ({e})");
    err(e)
}

fn module(inv: &Invocation) -> &Module {
    // SAFETY: the record points at the module whose code is running; the
    // caller of `run` holds it alive for the run.
    unsafe { &*inv.module }
}

fn within(range: (u64, u64), ptr: u64, len: u64) -> bool {
    ptr >= range.0 && ptr.checked_add(len).is_some_and(|end| end <= range.1)
}

/// Whether module code may read `len` bytes at `ptr`: its context, its
/// stack (as for [`writable`]), or the values of its maps and read-only data.
fn readable(inv: &Invocation, ptr: u64, len: u64) -> bool {
    within((inv.ctx.0, inv.ctx.0 + inv.ctx.1 as u64), ptr, len) || writable(inv, ptr, len) || {
        module(inv).maps.iter().any(|m| {
            // SAFETY: inside a run; only the values' extent is read.
            let values = unsafe { m.get() }.values();
            within((values.as_ptr() as u64, values.as_ptr() as u64 + values.len() as u64), ptr, len)
        })
    }
}

/// The stack helpers may touch for module code: within the run's window,
/// from the calling BPF frame's lowest byte up to the return address into
/// the kernel. Never the helpers' own frames below it, nor the kernel's
/// saved registers and return addresses above module code's frames.
fn module_stack(inv: &Invocation) -> (u64, u64) {
    let lo = inv.stack.0.max(arch::helper_entry::caller_stack_pointer());
    (lo, inv.stack.1.min(arch::jit::module_return_slot()))
}

/// Whether module code may write `len` bytes at `ptr`: its stack (below
/// the return address into the kernel) or the values of its writable maps.
fn writable(inv: &Invocation, ptr: u64, len: u64) -> bool {
    within(module_stack(inv), ptr, len)
        || module(inv).maps.iter().any(|m| {
            // SAFETY: inside a run; only the values' extent is read.
            let map = unsafe { m.get() };
            let values = map.values();
            !map.is_read_only()
                && within((values.as_ptr() as u64, values.as_ptr() as u64 + values.len() as u64), ptr, len)
        })
}

/// `len` bytes at `ptr`, checked readable.
fn bytes<'a>(inv: &Invocation, ptr: u64, len: u64) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if !readable(inv, ptr, len) {
        return None;
    }
    // SAFETY: the range lies in memory the run may read (checked above),
    // which stays valid until the run ends, before the helper returns.
    Some(unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) })
}

/// `len` bytes at `ptr`, checked writable.
fn bytes_mut<'a>(inv: &Invocation, ptr: u64, len: u64) -> Option<&'a mut [u8]> {
    if !writable(inv, ptr, len) {
        return None;
    }
    // SAFETY: the range lies in memory the run may write (checked above).
    Some(unsafe { core::slice::from_raw_parts_mut(ptr as *mut u8, len as usize) })
}

/// Longest message `log` writes.
const LOG_MAX: usize = 200;

/// A line buffer on the stack (no allocation inside helpers).
struct Line {
    buf: [u8; LOG_MAX + 48],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

extern "C" fn log(msg: u64, len: u64, a: u64, b: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some(text) = inv.and_then(|i| bytes(i, msg, len.min(LOG_MAX as u64))) else {
        return refuse(inv, "log", Errno::EFAULT);
    };
    let mut line = Line { buf: [0; LOG_MAX + 48], len: 0 };
    let mut values = [a, b].into_iter();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with(b"{}")
            && let Some(v) = values.next()
        {
            let _ = write!(line, "{v}");
            rest = &rest[2..];
            continue;
        }
        let c = rest[0];
        let _ = line.write_char(if c.is_ascii_graphic() || c == b' ' { c as char } else { '?' });
        rest = &rest[1..];
    }
    let name = inv.map_or("?", |i| module(i).name.as_str());
    let text = core::str::from_utf8(&line.buf[..line.len]).unwrap_or("?");
    log::info!("[{name}] {text}");
    0
}

/// The running CPU's number: which values of a per-CPU array this CPU's
/// lookups reach.
extern "C" fn cpu_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    arch::percpu::cpu_id() as u64
}

extern "C" fn ktime_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    crate::time::uptime_ns()
}

extern "C" fn get_pid(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    run::current().map_or(0, |i| i.pid as u64)
}

extern "C" fn get_uid(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    run::current().map_or(0, |i| i.uid as u64)
}

static RANDOM: AtomicU64 = AtomicU64::new(0);

extern "C" fn random_u32(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // xorshift64*, seeded from the TSC on first use.
    let mut x = RANDOM.load(Ordering::Relaxed);
    if x == 0 {
        x = arch::rdtsc() | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    RANDOM.store(x, Ordering::Relaxed);
    x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
}

/// The map behind reference `map` and the key at `key`, both checked.
fn map_and_key(inv: &Invocation, map: u64, key: u64) -> Option<(&ModMap, &[u8])> {
    let m = module(inv).map_at(map)?;
    // SAFETY: inside a run: runs are exclusive; only the key size is read.
    let key_size = unsafe { m.get() }.key_size();
    Some((m, bytes(inv, key, key_size as u64)?))
}

extern "C" fn map_lookup(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some((m, key)) = inv.and_then(|i| map_and_key(i, map, key)) else {
        // NULL is within the helper's declared result (value or NULL).
        refuse(inv, "map_lookup", Errno::EFAULT);
        return 0;
    };
    // SAFETY: inside a run: runs are exclusive.
    let m = unsafe { m.get() };
    match slot_on_this_cpu(m, key) {
        Some(slot) => m.value(slot).as_ptr() as u64,
        None => 0,
    }
}

/// The slot of `key` that module code on this CPU reaches: of a per-CPU
/// array, this CPU's value (found by the number in its per-CPU record).
pub(super) fn slot_on_this_cpu(map: &vm::Map, key: &[u8]) -> Option<u32> {
    map.lookup_on(arch::percpu::cpu_id(), key)
}

extern "C" fn map_update(map: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some(inv) = inv else { return refuse(None, "map_update", Errno::EFAULT) };
    let Some((m, key)) = map_and_key(inv, map, key) else { return refuse(Some(inv), "map_update", Errno::EFAULT) };
    // SAFETY: inside a run: runs are exclusive.
    let m = unsafe { m.get() };
    let Some(value) = bytes(inv, value, m.value_size() as u64) else {
        return refuse(Some(inv), "map_update", Errno::EFAULT);
    };
    // The value may alias the map's own slot; copy it first.
    let mut copy = [0u8; 512];
    let value: &[u8] = if value.len() <= copy.len() {
        copy[..value.len()].copy_from_slice(value);
        &copy[..value.len()]
    } else {
        value
    };
    match m.update_on(arch::percpu::cpu_id(), key, value, flags) {
        Ok(_) => 0,
        Err(e) => e.errno() as u64,
    }
}

extern "C" fn map_delete(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some((m, key)) = inv.and_then(|i| map_and_key(i, map, key)) else {
        return refuse(inv, "map_delete", Errno::EFAULT);
    };
    // SAFETY: inside a run: runs are exclusive.
    let m = unsafe { m.get() };
    match m.delete(key) {
        Ok(()) => 0,
        Err(e) => e.errno() as u64,
    }
}

/// The run's output buffer.
#[allow(clippy::mut_from_ref)] // the buffer is lent to the run through a raw pointer
fn output(inv: &Invocation) -> Option<&mut alloc::vec::Vec<u8>> {
    // SAFETY: `out` is null or points at the buffer the caller of `run`
    // lent for the run, which nothing else touches during it.
    unsafe { inv.out.as_mut() }
}

extern "C" fn emit(buf: u64, len: u64, _: u64, _: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some(inv) = inv else { return refuse(None, "emit", Errno::EFAULT) };
    let Some(data) = bytes(inv, buf, len.min(lkm::ctx::OUTPUT_CAPACITY as u64)) else {
        return refuse(Some(inv), "emit", Errno::EFAULT);
    };
    let limit = inv.out_limit;
    let Some(out) = output(inv) else { return 0 };
    let n = data.len().min(limit.saturating_sub(out.len()));
    out.extend_from_slice(&data[..n]);
    n as u64
}

/// A directory entry in the output of `readdir`: inode (8 bytes, little
/// endian), name length (1 byte), name.
pub const DIRENT_HEADER: usize = 9;

extern "C" fn emit_dirent(ino: u64, name: u64, len: u64, _: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some(inv) = inv else { return refuse(None, "emit_dirent", Errno::EFAULT) };
    if len == 0 || len > abi::fs::NAME_MAX as u64 {
        return refuse(Some(inv), "emit_dirent", Errno::EINVAL);
    }
    let Some(name) = bytes(inv, name, len) else { return refuse(Some(inv), "emit_dirent", Errno::EFAULT) };
    let limit = inv.out_limit;
    let Some(out) = output(inv) else { return err(Errno::ENOSPC) };
    if out.len() + DIRENT_HEADER + name.len() > limit {
        return err(Errno::ENOSPC);
    }
    out.extend_from_slice(&ino.to_le_bytes());
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    0
}

/// Whether the run is a system call of a user process.
fn user_call(inv: &Invocation) -> bool {
    module(inv).class() == lkm::Class::Syscall
        && crate::proc::TASKS.lock().get(&inv.pid).is_some_and(|t| t.space.is_some())
}

/// Fills `dst` from user memory, or zeroes all of it and returns `-EFAULT`:
/// the verifier counts the buffer as written after the call, so it never
/// keeps what the stack held before (spilled pointers, older frames).
extern "C" fn copy_from_user(dst: u64, len: u64, user: u64, _: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some(inv) = inv else { return refuse(None, "copy_from_user", Errno::EFAULT) };
    let Some(dst) = bytes_mut(inv, dst, len) else { return refuse(Some(inv), "copy_from_user", Errno::EFAULT) };
    let copied = if user_call(inv) {
        crate::syscall::usercopy::copy_from_user(user, dst)
    } else {
        refuse(Some(inv), "copy_from_user", Errno::EFAULT);
        Err(Errno::EFAULT)
    };
    match copied {
        Ok(()) => 0,
        Err(e) => {
            dst.fill(0);
            err(e)
        }
    }
}

extern "C" fn copy_to_user(user: u64, src: u64, len: u64, _: u64, _: u64) -> u64 {
    let inv = run::current();
    let Some(inv) = inv.filter(|i| user_call(i)) else { return refuse(inv, "copy_to_user", Errno::EFAULT) };
    let Some(src) = bytes(inv, src, len) else { return refuse(Some(inv), "copy_to_user", Errno::EFAULT) };
    match crate::syscall::usercopy::copy_to_user(user, src) {
        Ok(()) => 0,
        Err(e) => err(e),
    }
}

/// The port if the running module was granted `port .. port + width`.
fn granted(helper: &str, port: u64, width: u16) -> Option<u16> {
    let inv = run::current();
    let ok = inv.is_some_and(|i| {
        u16::try_from(port).is_ok_and(|p| ports::may_access(&module(i).ports, module(i).id, p, width))
    });
    if ok {
        Some(port as u16)
    } else {
        refuse(inv, helper, Errno::EPERM);
        None
    }
}

// A refused read returns all ones in the declared width, as a read of a
// port with no device does.
extern "C" fn inb(port: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: the port is granted to this module from the allowlist of
    // harmless devices.
    granted("inb", port, 1).map_or(0xff, |p| unsafe { arch::port::inb(p) } as u64)
}

extern "C" fn inw(port: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: as in `inb`.
    granted("inw", port, 2).map_or(0xffff, |p| unsafe { arch::port::inw(p) } as u64)
}

extern "C" fn inl(port: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: as in `inb`.
    granted("inl", port, 4).map_or(0xffff_ffff, |p| unsafe { arch::port::inl(p) } as u64)
}

extern "C" fn outb(port: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    let Some(p) = granted("outb", port, 1) else { return err(Errno::EPERM) };
    // SAFETY: as in `inb`.
    unsafe { arch::port::outb(p, value as u8) };
    0
}

extern "C" fn outw(port: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    let Some(p) = granted("outw", port, 2) else { return err(Errno::EPERM) };
    // SAFETY: as in `inb`.
    unsafe { arch::port::outw(p, value as u16) };
    0
}

extern "C" fn outl(port: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    let Some(p) = granted("outl", port, 4) else { return err(Errno::EPERM) };
    // SAFETY: as in `inb`.
    unsafe { arch::port::outl(p, value as u32) };
    0
}
