//! The `/dev/lkm` interface: ioctl numbers and request structures, in the
//! manner of OpenBSD's `sys/lkm.h`.
//!
//! A load is `LMRESERV` (name and size; returns the module id), then
//! `LMLOADBUF` until the whole image is copied, then `LMREADY` (verify, JIT,
//! link, run `load`); `LMUNRESRV` drops a half-finished load. `LMUNLOAD`
//! and `LMSTAT` name a module by id, or by name when the id is -1.
//! `LMMAPREAD` reads one entry of a module's map (every CPU's value of a
//! per-CPU array).
//!
//! Pointers to user memory are `u64` addresses, so the structures have the
//! same layout in the kernel and in user programs.

use crate::class::MAXLKMNAME;

/// Largest chunk one `LMLOADBUF` copies (`MODIOBUF` of the classic kernel).
pub const MODIOBUF: u32 = 512;

/// Largest image `LMRESERV` accepts, in bytes.
pub const MAX_IMAGE_SIZE: u64 = 1 << 20;

const IOC_VOID: u32 = 0x2000_0000;
const IOC_OUT: u32 = 0x4000_0000;
const IOC_IN: u32 = 0x8000_0000;
const IOC_INOUT: u32 = IOC_IN | IOC_OUT;
const IOCPARM_MASK: u32 = 0x1fff;

/// The BSD `_IOC` encoding: direction, parameter length, group, number.
pub const fn ioc(dir: u32, group: u8, num: u8, len: usize) -> u32 {
    dir | ((len as u32 & IOCPARM_MASK) << 16) | ((group as u32) << 8) | num as u32
}

/// The parameter length encoded in an ioctl number.
pub const fn ioc_len(cmd: u32) -> usize {
    ((cmd >> 16) & IOCPARM_MASK) as usize
}

/// Reserve a slot: `LmcResrv` in, the module id out.
pub const LMRESERV: u32 = ioc(IOC_INOUT, b'K', 0, size_of::<LmcResrv>());
/// Copy the next chunk of the image.
pub const LMLOADBUF: u32 = ioc(IOC_IN, b'K', 1, size_of::<LmcLoadbuf>());
/// Drop the half-finished reservation of this descriptor.
pub const LMUNRESRV: u32 = ioc(IOC_VOID, b'K', 2, 0);
/// Verify, compile, link and run `load`; the verifier's report comes back as text.
pub const LMREADY: u32 = ioc(IOC_INOUT, b'K', 3, size_of::<LmcReady>());
/// Unload a module by id, or by name when the id is -1; a refusal's reason
/// comes back as text.
pub const LMUNLOAD: u32 = ioc(IOC_INOUT, b'K', 10, size_of::<LmcUnload>());
/// Describe a module by id, or by name when the id is -1.
pub const LMSTAT: u32 = ioc(IOC_INOUT, b'K', 11, size_of::<LmcStat>());

/// `LMRESERV`: the image size and the module name in; the module id out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcResrv {
    /// Size of the image in bytes (at most [`MAX_IMAGE_SIZE`]).
    pub size: u64,
    /// The module name, NUL-padded.
    pub name: [u8; MAXLKMNAME],
    /// Out: the module id.
    pub slot: i32,
    pub _pad: u32,
}

/// `LMLOADBUF`: `cnt` bytes (at most [`MODIOBUF`]) at user address `data`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcLoadbuf {
    pub cnt: u32,
    pub _pad: u32,
    pub data: u64,
}

/// `LMREADY`: the reserved id in; the verdict, statistics and timings out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcReady {
    /// The id `LMRESERV` returned.
    pub id: i32,
    /// Capacity of the report buffer.
    pub report_cap: u32,
    /// User address of a buffer for the verifier's report (0: none).
    pub report: u64,
    /// Out: bytes of report written.
    pub report_len: u32,
    /// Out: program slots over all programs.
    pub insns: u32,
    /// Out: instructions the verifier processed.
    pub insns_processed: u64,
    /// Out: states the verifier stored.
    pub states: u64,
    /// Out: bytes of native code.
    pub code_size: u64,
    /// Out: nanoseconds spent parsing, verifying, compiling and linking.
    pub parse_ns: u64,
    pub verify_ns: u64,
    pub jit_ns: u64,
    pub link_ns: u64,
}

/// `LMUNLOAD`: by id, or by name when `id` is -1. A refusal's reason (the
/// kernel's text, e.g. which module chains through this one) comes back in
/// the caller's buffer, as `LMREADY`'s report does.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcUnload {
    /// The id, or -1 to go by `name`.
    pub id: i32,
    /// Capacity of the reason buffer.
    pub reason_cap: u32,
    /// The module name, NUL-padded (when `id` is -1).
    pub name: [u8; MAXLKMNAME],
    /// User address of a buffer for the reason of a refusal (0: none).
    pub reason: u64,
    /// Out: bytes of reason written (0 on success; at most `reason_cap`,
    /// the text cut there when longer).
    pub reason_len: u32,
    pub _pad: u32,
}

/// `LMSTAT`: by id, or by name when `id` is -1; the module's row out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcStat {
    /// In: the id (or -1); out: the id found.
    pub id: i32,
    /// Out: the class (`LM_SYSCALL` ...).
    pub class: u32,
    /// In (when `id` is -1) and out: the name, NUL-padded.
    pub name: [u8; MAXLKMNAME],
    /// Out: the slot: syscall number or major number (`Off` column).
    pub offset: u64,
    /// Out: address of the module's code (`Loadaddr`); 0 when the caller
    /// is not the superuser, who alone may learn where kernel code lives.
    pub area: u64,
    /// Out: bytes of code and data (`Size`).
    pub size: u64,
    /// Out: class-specific information (`Info`).
    pub private: u64,
    /// Out: the image format version (`Rev`).
    pub ver: u32,
    /// Out: state bits ([`LMSTAT_FAILED`]).
    pub flags: u32,
}

/// `LmcStat::flags`: the module's native code faulted, or ran out of its
/// run-time budget too many runs in a row; it no longer runs and can only
/// be unloaded.
pub const LMSTAT_FAILED: u32 = 1;

/// Describe a module's programs and maps, by id or by name when the id is
/// -1 (allowed on a read-only descriptor, like `LMSTAT`; `modstat -v`).
pub const LMSTATV: u32 = ioc(IOC_INOUT, b'K', 12, size_of::<LmcStatv>());

/// Most programs an `LMSTATV` answer lists ([`crate::image::MAX_PROGRAMS`]).
pub const STATV_PROGRAMS: usize = 8;
/// Most maps an `LMSTATV` answer lists (`nmaps` still counts them all).
pub const STATV_MAPS: usize = 16;
/// `LmcStatv::state` of a module whose native code faulted, or ran out of
/// its run-time budget too many runs in a row: its hooks are off and it can
/// only be unloaded.
pub const LKM_STATE_FAILED: u32 = 1;

/// One program of a loaded module, in an `LMSTATV` answer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcProgStat {
    /// The entry point it fills, NUL-padded.
    pub entry: [u8; 16],
    /// Instruction slots of the bytecode.
    pub slots: u32,
    /// Bytes of native code.
    pub code_size: u32,
}

/// One map of a loaded module, in an `LMSTATV` answer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcMapStat {
    /// The map's name in the source, NUL-padded (may be empty).
    pub name: [u8; MAXLKMNAME],
    /// [`crate::MapKind::code`].
    pub kind: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// Entries in use now (an array counts all its entries).
    pub entries: u32,
    pub _pad: u32,
}

/// `LMSTATV`: by id, or by name when `id` is -1; programs and maps out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcStatv {
    /// In: the id (or -1); out: the id found.
    pub id: i32,
    /// Out: 0, or [`LKM_STATE_FAILED`].
    pub state: u32,
    /// In (when `id` is -1) and out: the name, NUL-padded.
    pub name: [u8; MAXLKMNAME],
    /// Out: programs listed in `progs`.
    pub nprogs: u32,
    /// Out: maps the module has (only the first [`STATV_MAPS`] are listed).
    pub nmaps: u32,
    /// Out: bytes of native code over all programs.
    pub code_size: u64,
    /// Out: times the module's programs ran.
    pub runs: u64,
    /// Out: runs stopped because they used up their run-time budget.
    pub out_of_fuel: u64,
    /// Out: the longest run, in nanoseconds (interrupts off all along).
    pub longest_run_ns: u64,
    /// Out: values out of their entry point's range that the module
    /// returned, left in its context or emitted (each became an errno for
    /// the caller; docs/lkm.md lists the ranges).
    pub rejected: u64,
    pub progs: [LmcProgStat; STATV_PROGRAMS],
    pub maps: [LmcMapStat; STATV_MAPS],
}

/// Read one entry of a module's map, by module id or by name when the id is
/// -1 (allowed on a read-only descriptor, like `LMSTATV`; `modstat -m`).
pub const LMMAPREAD: u32 = ioc(IOC_INOUT, b'K', 13, size_of::<LmcMapRead>());

/// `LMMAPREAD`: a module, one of its maps and a key in; the entry's value
/// out, or for a per-CPU array every CPU's value of the entry, CPU 0's
/// first, back to back. `ENOENT`: no such module, or no entry with the key
/// (a hash map); `EINVAL`: no such map, or a key of the wrong length;
/// `ENOSPC`: the buffer holds fewer than `value_size * cpus` bytes (a
/// buffer of `value_size * helpers::MAX_CPUS` always suffices).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LmcMapRead {
    /// In: the id (or -1); out: the id found.
    pub id: i32,
    /// In: the map's number, counting from 0 in the order `modstat -v`
    /// lists the maps.
    pub map: u32,
    /// In (when `id` is -1): the module name, NUL-padded.
    pub name: [u8; MAXLKMNAME],
    /// In: user address of the key.
    pub key: u64,
    /// In: bytes of key: the map's key size (4 for an array).
    pub key_len: u32,
    /// In: capacity of the value buffer.
    pub value_cap: u32,
    /// In: user address of the value buffer.
    pub value: u64,
    /// Out: bytes of one value.
    pub value_size: u32,
    /// Out: values written: the CPUs running for a per-CPU array, else 1.
    pub cpus: u32,
}

/// A name as the NUL-padded field of a request; `None` if it does not fit.
pub fn name_field(name: &str) -> Option<[u8; MAXLKMNAME]> {
    let b = name.as_bytes();
    if b.len() > MAXLKMNAME {
        return None;
    }
    let mut out = [0u8; MAXLKMNAME];
    out[..b.len()].copy_from_slice(b);
    Some(out)
}

/// The name in a NUL-padded field (bytes up to the first NUL).
pub fn name_of(field: &[u8; MAXLKMNAME]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(MAXLKMNAME);
    &field[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_in_group_k_and_carry_their_sizes() {
        for (cmd, len) in [
            (LMRESERV, size_of::<LmcResrv>()),
            (LMLOADBUF, size_of::<LmcLoadbuf>()),
            (LMREADY, size_of::<LmcReady>()),
            (LMUNLOAD, size_of::<LmcUnload>()),
            (LMSTAT, size_of::<LmcStat>()),
            (LMSTATV, size_of::<LmcStatv>()),
            (LMMAPREAD, size_of::<LmcMapRead>()),
        ] {
            assert_eq!((cmd >> 8) & 0xff, b'K' as u32);
            assert_eq!(ioc_len(cmd), len);
        }
        assert_eq!(LMUNRESRV, 0x2000_4b02);
        let all = [LMRESERV, LMLOADBUF, LMUNRESRV, LMREADY, LMUNLOAD, LMSTAT, LMSTATV, LMMAPREAD];
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b));
        }
    }

    /// The requests are an interface between separately built programs:
    /// their layout is fixed (what docs/lkm.md shows).
    #[test]
    fn requests_with_text_buffers_have_their_documented_layout() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(LmcReady, id), 0);
        assert_eq!(offset_of!(LmcReady, report_cap), 4);
        assert_eq!(offset_of!(LmcReady, report), 8);
        assert_eq!(offset_of!(LmcReady, report_len), 16);
        assert_eq!(offset_of!(LmcReady, insns_processed), 24);
        assert_eq!(size_of::<LmcReady>(), 80);
        assert_eq!(offset_of!(LmcUnload, id), 0);
        assert_eq!(offset_of!(LmcUnload, reason_cap), 4);
        assert_eq!(offset_of!(LmcUnload, name), 8);
        assert_eq!(offset_of!(LmcUnload, reason), 8 + MAXLKMNAME);
        assert_eq!(offset_of!(LmcUnload, reason_len), 16 + MAXLKMNAME);
        assert_eq!(size_of::<LmcUnload>(), 56);
        assert_eq!(LMUNLOAD, 0xc038_4b0a);
    }

    #[test]
    fn other_requests_have_their_documented_layout() {
        use core::mem::offset_of;
        assert_eq!((offset_of!(LmcResrv, name), offset_of!(LmcResrv, slot), size_of::<LmcResrv>()), (8, 40, 48));
        assert_eq!((offset_of!(LmcLoadbuf, data), size_of::<LmcLoadbuf>()), (8, 16));
        assert_eq!((offset_of!(LmcStat, name), offset_of!(LmcStat, offset), offset_of!(LmcStat, flags)), (8, 40, 76));
        assert_eq!(size_of::<LmcStat>(), 80);
        assert_eq!((offset_of!(LmcMapRead, key), offset_of!(LmcMapRead, value), offset_of!(LmcMapRead, cpus)), (40, 56, 68));
        assert_eq!(size_of::<LmcMapRead>(), 72);
    }

    #[test]
    fn names_round_trip_through_fields() {
        let f = name_field("rtc").unwrap();
        assert_eq!(name_of(&f), b"rtc");
        assert!(name_field(&"x".repeat(33)).is_none());
        assert_eq!(name_of(&name_field(&"y".repeat(32)).unwrap()).len(), 32);
    }
}
