//! The helper functions a module may call, with their ids, typed signatures
//! and the classes allowed to call them.
//!
//! The verifier enforces the signatures; the kernel implements the helpers;
//! `modc` lets a module call them by name. The ids never change meaning.
//!
//! Each helper also has a *weight*: what one call costs in the run-time
//! budget of an invocation (`class::EntryPoint::budget`), in units of one
//! bytecode instruction. A call that formats and writes a log line costs
//! thousands of instructions' time; reading the clock costs a few. The
//! JIT's fuel metering and the reference interpreter charge these same
//! weights (docs/lkm.md, "Run-time budget").

use crate::class::Class;
use verifier::{ArgKind, HelperSig, RetKind};

/// `log(msg, len, a, b)`: writes the message to the kernel log, replacing
/// the first two `{}` in it by `a` and `b` in decimal. Returns 0.
pub const LOG: u32 = 1;
/// `ktime_ns()`: nanoseconds since boot.
pub const KTIME_NS: u32 = 2;
/// `get_pid()`: the calling process's id (0 outside a process).
pub const GET_PID: u32 = 3;
/// `get_uid()`: the calling process's user id.
pub const GET_UID: u32 = 4;
/// `random_u32()`: a pseudo-random 32-bit number.
pub const RANDOM_U32: u32 = 5;
/// `map_lookup(map, key)`: a pointer to the key's value, or NULL.
pub const MAP_LOOKUP: u32 = 6;
/// `map_update(map, key, value, flags)`: 0 or `-errno` (`-ENOMEM` when full,
/// `-E2BIG` for an array index out of range). `flags` is 0.
pub const MAP_UPDATE: u32 = 7;
/// `map_delete(map, key)`: 0 or `-ENOENT`; an array entry is zeroed.
pub const MAP_DELETE: u32 = 8;
/// `emit(buf, len)`: appends bytes to the entry's output; returns the number
/// appended (less than `len` when the output is full).
pub const EMIT: u32 = 9;
/// `emit_dirent(ino, name, len)`: appends one directory entry (readdir).
pub const EMIT_DIRENT: u32 = 10;
/// `copy_from_user(dst, len, user_addr)`: 0 with all `len` bytes at `dst`
/// copied, or `-EFAULT` (a bad user address, or no calling process) with
/// all `len` bytes at `dst` zeroed: the buffer is written either way, as
/// the verifier assumes, and never keeps what it held before.
pub const COPY_FROM_USER: u32 = 11;
/// `copy_to_user(user_addr, src, len)`: 0 or `-EFAULT`.
pub const COPY_TO_USER: u32 = 12;
/// `inb(port)`.
pub const INB: u32 = 13;
/// `outb(port, value)`.
pub const OUTB: u32 = 14;
/// `inw(port)`.
pub const INW: u32 = 15;
/// `outw(port, value)`.
pub const OUTW: u32 = 16;
/// `inl(port)`.
pub const INL: u32 = 17;
/// `outl(port, value)`.
pub const OUTL: u32 = 18;
/// `cpu_id()`: the number of the CPU running the module's code (0 for the
/// boot CPU), below [`MAX_CPUS`]: the index of this CPU's values in a
/// per-CPU array map.
pub const CPU_ID: u32 = 19;

/// The most CPUs a kernel runs module code on: `cpu_id()` is below it.
pub const MAX_CPUS: u32 = 16;

/// The classes a helper may be called from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Every class.
    All,
    /// One class only.
    Only(Class),
}

impl Allowed {
    /// Whether a module of `class` may call the helper.
    pub fn permits(self, class: Class) -> bool {
        match self {
            Allowed::All => true,
            Allowed::Only(c) => c == class,
        }
    }
}

/// One helper: id, name, signature, and who may call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Helper {
    pub id: u32,
    pub name: &'static str,
    pub args: &'static [ArgKind],
    pub ret: RetKind,
    pub allowed: Allowed,
    /// Budget units one call costs (see the module documentation).
    pub weight: u32,
}

impl Helper {
    /// The verifier's signature of the helper.
    pub fn sig(&self) -> HelperSig {
        HelperSig::new(self.id, self.name, self.args, self.ret)
    }
}

const fn helper(id: u32, name: &'static str, args: &'static [ArgKind], ret: RetKind, allowed: Allowed, weight: u32) -> Helper {
    Helper { id, name, args, ret, allowed, weight }
}

/// Weight of formatting and writing a log line (tens of microseconds
/// under QEMU, thousands of instructions' time).
const W_LOG: u32 = 5_000;
/// Weight of a port access (a VM exit under virtualisation) or a user copy
/// (page-table walks).
const W_IO: u32 = 200;
/// Weight of appending to an output buffer.
const W_BUFFER: u32 = 100;
/// Weight of a map operation (hashing, copying a key and a value).
const W_MAP: u32 = 50;
/// Weight of reading a clock, an id or the random generator.
const W_CHEAP: u32 = 10;

use ArgKind::*;
const LEN0: ArgKind = Len { allow_zero: true };
const LEN1: ArgKind = Len { allow_zero: false };
const U8: RetKind = RetKind::Bounded { min: 0, max: 0xff };
const U16: RetKind = RetKind::Bounded { min: 0, max: 0xffff };
const U32: RetKind = RetKind::Bounded { min: 0, max: 0xffff_ffff };
const CPU: RetKind = RetKind::Bounded { min: 0, max: MAX_CPUS as u64 - 1 };

/// Every helper, in id order.
pub static HELPERS: &[Helper] = &[
    helper(LOG, "log", &[MemRead, LEN0, Scalar, Scalar], RetKind::Scalar, Allowed::All, W_LOG),
    helper(KTIME_NS, "ktime_ns", &[], RetKind::Scalar, Allowed::All, W_CHEAP),
    helper(GET_PID, "get_pid", &[], U32, Allowed::All, W_CHEAP),
    helper(GET_UID, "get_uid", &[], U32, Allowed::All, W_CHEAP),
    helper(RANDOM_U32, "random_u32", &[], U32, Allowed::All, W_CHEAP),
    helper(MAP_LOOKUP, "map_lookup", &[MapRef, MapKey], RetKind::MapValueOrNull, Allowed::All, W_MAP),
    helper(MAP_UPDATE, "map_update", &[MapRef, MapKey, MapValue, Scalar], RetKind::Scalar, Allowed::All, W_MAP),
    helper(MAP_DELETE, "map_delete", &[MapRef, MapKey], RetKind::Scalar, Allowed::All, W_MAP),
    helper(EMIT, "emit", &[MemRead, LEN0], RetKind::Scalar, Allowed::All, W_BUFFER),
    helper(EMIT_DIRENT, "emit_dirent", &[Scalar, MemRead, LEN1], RetKind::Scalar, Allowed::Only(Class::Vfs), W_BUFFER),
    helper(COPY_FROM_USER, "copy_from_user", &[MemWrite, LEN1, UserAddr], RetKind::Scalar, Allowed::Only(Class::Syscall), W_IO),
    helper(COPY_TO_USER, "copy_to_user", &[UserAddr, MemRead, LEN1], RetKind::Scalar, Allowed::Only(Class::Syscall), W_IO),
    helper(INB, "inb", &[Port { width: 1 }], U8, Allowed::Only(Class::Dev), W_IO),
    helper(OUTB, "outb", &[Port { width: 1 }, Scalar], RetKind::Scalar, Allowed::Only(Class::Dev), W_IO),
    helper(INW, "inw", &[Port { width: 2 }], U16, Allowed::Only(Class::Dev), W_IO),
    helper(OUTW, "outw", &[Port { width: 2 }, Scalar], RetKind::Scalar, Allowed::Only(Class::Dev), W_IO),
    helper(INL, "inl", &[Port { width: 4 }], U32, Allowed::Only(Class::Dev), W_IO),
    helper(OUTL, "outl", &[Port { width: 4 }, Scalar], RetKind::Scalar, Allowed::Only(Class::Dev), W_IO),
    helper(CPU_ID, "cpu_id", &[], CPU, Allowed::All, W_CHEAP),
];

/// The helper with id `id`.
pub fn by_id(id: u32) -> Option<&'static Helper> {
    HELPERS.iter().find(|h| h.id == id)
}

/// The helper named `name`.
pub fn by_name(name: &str) -> Option<&'static Helper> {
    HELPERS.iter().find(|h| h.name == name)
}

/// The budget units a call of helper `id` costs; an unknown id costs as
/// much as the dearest helper.
pub fn weight(id: u32) -> u64 {
    by_id(id).map_or(W_LOG, |h| h.weight) as u64
}

/// The helpers a module of `class` may call.
pub fn for_class(class: Class) -> impl Iterator<Item = &'static Helper> {
    HELPERS.iter().filter(move |h| h.allowed.permits(class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_in_order() {
        for (i, h) in HELPERS.iter().enumerate() {
            assert_eq!(h.id as usize, i + 1, "{}", h.name);
            assert!(h.args.len() <= 5);
        }
    }

    #[test]
    fn memory_arguments_are_followed_by_a_length() {
        for h in HELPERS {
            for (i, a) in h.args.iter().enumerate() {
                if matches!(a, MemRead | MemWrite) {
                    assert!(matches!(h.args.get(i + 1), Some(Len { .. } | ConstLen)), "{}", h.name);
                }
            }
        }
    }

    /// A helper that writes a buffer returns a scalar, so that it can fail
    /// with `-errno` (after zeroing the buffer), as the checking
    /// interpreter's model of such helpers expects.
    #[test]
    fn helpers_that_write_buffers_can_report_failure() {
        for h in HELPERS.iter().filter(|h| h.args.contains(&MemWrite)) {
            assert_eq!(h.ret, RetKind::Scalar, "{}", h.name);
        }
        assert!(HELPERS.iter().any(|h| h.args.contains(&MemWrite)));
    }

    #[test]
    fn logging_costs_far_more_than_reading_the_clock() {
        assert!(weight(LOG) >= 100 * weight(KTIME_NS));
        assert!(weight(EMIT) > weight(KTIME_NS));
        assert_eq!(weight(999), weight(LOG));
        assert!(HELPERS.iter().all(|h| h.weight > 0), "every call costs something");
    }

    #[test]
    fn class_specific_helpers_are_refused_elsewhere() {
        assert!(for_class(Class::Dev).any(|h| h.name == "inb"));
        assert!(!for_class(Class::Misc).any(|h| h.name == "inb"));
        assert!(for_class(Class::Vfs).any(|h| h.name == "emit_dirent"));
        assert!(!for_class(Class::Dev).any(|h| h.name == "copy_to_user"));
        assert_eq!(by_name("map_lookup").map(|h| h.id), Some(MAP_LOOKUP));
    }

    #[test]
    fn cpu_id_is_a_valid_index_of_per_cpu_values() {
        let h = by_name("cpu_id").unwrap();
        assert_eq!((h.id, h.args.len()), (CPU_ID, 0));
        assert_eq!(h.ret, RetKind::Bounded { min: 0, max: MAX_CPUS as u64 - 1 });
        assert!(for_class(Class::Misc).any(|h| h.id == CPU_ID) && for_class(Class::Dev).any(|h| h.id == CPU_ID));
    }
}
