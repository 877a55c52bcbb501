//! What a program may touch: the *profile* of the entry point it is loaded for.
//!
//! The verifier knows nothing about Warden's classes or entry points. Every
//! fact it relies on comes from a [`Profile`], which the `lkm` crate builds
//! for each program of an image (and tests build inline):
//!
//! * the **context** R1 points to at entry: its size and its fields, each
//!   with an offset, a size, read/write permission and a [`FieldKind`]
//!   (plain value, byte buffer of constant capacity, or the length field of
//!   such a buffer, whose value the kernel guarantees to be within the
//!   capacity);
//! * the **helpers** the program may call, each with a typed signature
//!   ([`HelperSig`]): the kinds of its arguments ([`ArgKind`]) and of its
//!   result ([`RetKind`]);
//! * the **maps** of the image ([`MapInfo`]), numbered as the 64-bit
//!   immediate loads refer to them; read-only data is a map of kind
//!   [`MapKind::ReadOnly`], reached through [`crate::Imm64::MapValue`];
//! * the I/O **ports** the module declared (and was granted);
//! * the **limits** ([`Limits`]) on analysis work, call depth and stack.
//!
//! Everything here is plain data with public fields, so a profile can be
//! written as a literal, built step by step with the `with_*` methods, or
//! assembled from tables.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// A name in a profile: a static table entry or a name built at load time.
pub type Name = Cow<'static, str>;

/// Everything the verifier may assume about the environment of one program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// The layout of the context R1 points to at entry.
    pub ctx: CtxLayout,
    /// The helpers the program may call (looked up by [`HelperSig::id`]).
    pub helpers: Vec<HelperSig>,
    /// The maps of the image, indexed by the number a 64-bit immediate load
    /// (`Imm64::MapRef(n)`, `Imm64::MapValue { map: n, .. }`) names.
    pub maps: Vec<MapInfo>,
    /// The I/O ports the program may name in a [`ArgKind::Port`] argument.
    pub ports: Vec<PortRange>,
    /// Bounds on analysis work and on the program's resources.
    pub limits: Limits,
}

impl Profile {
    /// An empty profile: no context, helpers, maps or ports; default limits.
    pub fn new() -> Profile {
        Profile::default()
    }

    /// The profile with `ctx` as its context layout.
    pub fn with_ctx(mut self, ctx: CtxLayout) -> Profile {
        self.ctx = ctx;
        self
    }

    /// The profile with one more helper.
    pub fn with_helper(mut self, helper: HelperSig) -> Profile {
        self.helpers.push(helper);
        self
    }

    /// The profile with one more map (numbered after those already there).
    pub fn with_map(mut self, map: MapInfo) -> Profile {
        self.maps.push(map);
        self
    }

    /// The profile with one more range of declared ports.
    pub fn with_ports(mut self, ports: PortRange) -> Profile {
        self.ports.push(ports);
        self
    }

    /// The profile with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Profile {
        self.limits = limits;
        self
    }

    /// The signature of helper `id`, if the program may call it.
    pub fn helper(&self, id: u32) -> Option<&HelperSig> {
        self.helpers.iter().find(|h| h.id == id)
    }

    /// Map number `n`, if the image has it.
    pub fn map(&self, n: u32) -> Option<&MapInfo> {
        self.maps.get(n as usize)
    }

    /// Whether ports `port .. port + width` all lie in one declared range.
    pub fn port_allowed(&self, port: u64, width: u32) -> bool {
        self.ports.iter().any(|r| r.contains(port, width))
    }
}

/// The layout of a context structure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtxLayout {
    /// Total size in bytes. Accesses beyond it are rejected.
    pub size: u32,
    /// The fields. Bytes not covered by a field (padding) cannot be accessed.
    /// Fields must not overlap.
    pub fields: Vec<CtxField>,
}

impl CtxLayout {
    /// A context of `size` bytes with no accessible field yet.
    pub fn new(size: u32) -> CtxLayout {
        CtxLayout { size, fields: Vec::new() }
    }

    /// The layout with one more field.
    pub fn with_field(mut self, field: CtxField) -> CtxLayout {
        self.fields.push(field);
        self
    }

    /// The field that holds byte `offset`, if any.
    pub fn field_at(&self, offset: u64) -> Option<(usize, &CtxField)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| offset >= f.offset as u64 && offset < f.end())
    }

    /// The field named `name`, if any.
    pub fn field(&self, name: &str) -> Option<&CtxField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtxField {
    /// The field's name, used in error messages (`ctx.data_len`).
    pub name: Name,
    /// Offset of the first byte.
    pub offset: u32,
    /// Size in bytes (for a buffer, its constant capacity).
    pub size: u32,
    /// Whether the program may load from the field.
    pub read: bool,
    /// Whether the program may store to the field.
    pub write: bool,
    /// What the field holds.
    pub kind: FieldKind,
}

impl CtxField {
    /// A read-only plain value field.
    pub fn value(name: impl Into<Name>, offset: u32, size: u32) -> CtxField {
        CtxField { name: name.into(), offset, size, read: true, write: false, kind: FieldKind::Value }
    }

    /// A read-only byte buffer of constant capacity `size`.
    pub fn buffer(name: impl Into<Name>, offset: u32, size: u32) -> CtxField {
        CtxField { name: name.into(), offset, size, read: true, write: false, kind: FieldKind::Buffer }
    }

    /// A read-only length field of the buffer at field index `buffer`, whose
    /// capacity is `capacity`: the kernel guarantees `0 <= value <= capacity`.
    pub fn length(name: impl Into<Name>, offset: u32, size: u32, buffer: usize, capacity: u32) -> CtxField {
        CtxField {
            name: name.into(),
            offset,
            size,
            read: true,
            write: false,
            kind: FieldKind::Length { buffer, capacity },
        }
    }

    /// The same field, writable too.
    pub fn writable(mut self) -> CtxField {
        self.write = true;
        self
    }

    /// The same field, with other permissions.
    pub fn access(mut self, read: bool, write: bool) -> CtxField {
        self.read = read;
        self.write = write;
        self
    }

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.offset as u64 + self.size as u64
    }
}

/// What a context field holds, which decides how it may be accessed and what
/// the verifier knows about a value loaded from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A plain value. Accesses must lie within the field at a constant
    /// offset; a load gives an unknown scalar.
    Value,
    /// A byte buffer of constant capacity (the field's size). Any bytes
    /// within it may be accessed, also at a variable offset whose bounds keep
    /// the access inside the buffer.
    Buffer,
    /// The number of valid bytes in the buffer field at index `buffer` of
    /// [`CtxLayout::fields`]. The kernel guarantees the value is in
    /// `0 ..= capacity`, so a full-width load gives a scalar in that range.
    Length {
        /// Index of the buffer field in [`CtxLayout::fields`].
        buffer: usize,
        /// The buffer's capacity (its field size).
        capacity: u32,
    },
    /// A value the kernel guarantees to lie in `min ..= max` (unsigned).
    Bounded {
        /// Smallest possible value.
        min: u64,
        /// Largest possible value.
        max: u64,
    },
}

/// The typed signature of a helper function.
///
/// Arguments are passed in R1..R5 in order; R1..R5 are clobbered by the call
/// and R0 receives a value of kind [`HelperSig::ret`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperSig {
    /// The number in `call <id>`.
    pub id: u32,
    /// The helper's name, used in error messages.
    pub name: Name,
    /// Argument kinds of R1, R2, ... (at most five).
    pub args: Vec<ArgKind>,
    /// What R0 holds after the call.
    pub ret: RetKind,
}

impl HelperSig {
    /// A signature from its parts.
    pub fn new(id: u32, name: impl Into<Name>, args: &[ArgKind], ret: RetKind) -> HelperSig {
        HelperSig { id, name: name.into(), args: args.to_vec(), ret }
    }
}

/// What a helper argument must be.
///
/// Memory arguments name a pointer; their length is given by the argument
/// that follows, which must be [`ArgKind::Len`] or [`ArgKind::ConstLen`].
/// Map keys and values belong to the map given by the nearest preceding
/// [`ArgKind::MapRef`] argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Any initialised scalar.
    Scalar,
    /// A scalar whose value the verifier knows exactly.
    Const,
    /// A pointer to memory the helper reads: every byte of it, for the
    /// length given by the next argument, must be readable and initialised,
    /// and may not hold (part of) a spilled pointer.
    MemRead,
    /// A pointer to memory the helper writes: writable for the length given
    /// by the next argument. The bytes count as initialised after the call.
    MemWrite,
    /// The length of the preceding memory argument: a scalar with bounds
    /// known to keep the access in range. `allow_zero` permits a length of 0.
    Len {
        /// Whether a length of zero (no access at all) is allowed.
        allow_zero: bool,
    },
    /// The length of the preceding memory argument, which must be a known
    /// constant (greater than zero).
    ConstLen,
    /// A map reference loaded with `r = map[n] ll` (array or hash map).
    MapRef,
    /// A pointer to `key_size` initialised bytes: a key of the preceding map.
    MapKey,
    /// A pointer to `value_size` initialised bytes: a value for the preceding map.
    MapValue,
    /// An address in the calling process's memory: any scalar (the helper
    /// checks it). Pointers into the kernel are refused.
    UserAddr,
    /// An I/O port number: a known constant such that ports
    /// `value .. value + width` are declared in [`Profile::ports`].
    Port {
        /// Bytes the access touches (1, 2 or 4).
        width: u8,
    },
}

/// What a helper returns in R0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// Nothing: R0 is uninitialised after the call.
    Void,
    /// An unknown 64-bit scalar.
    Scalar,
    /// A scalar in `min ..= max` (unsigned), e.g. `0 ..= 0xff` for `inb`.
    Bounded {
        /// Smallest possible value.
        min: u64,
        /// Largest possible value.
        max: u64,
    },
    /// A pointer to a value of the map given as the [`ArgKind::MapRef`]
    /// argument, or NULL. The program must compare it with 0 before use.
    MapValueOrNull,
    /// A pointer to `size` bytes of helper-owned memory, or NULL.
    MemOrNull {
        /// Bytes accessible from the pointer.
        size: u32,
        /// Whether the program may store into it.
        writable: bool,
    },
}

/// The kind of a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// Fixed number of entries indexed by a `u32` key.
    Array,
    /// Hash table with arbitrary keys.
    Hash,
    /// Fixed number of entries indexed by a `u32` key, one set for each
    /// CPU: a lookup returns the running CPU's value. To the program it is
    /// an array (a value pointer of `value_size` bytes); only the fixed
    /// address of a value (`Imm64::MapValue`) does not exist, since which
    /// CPU's value it would be depends on where the code runs.
    PerCpuArray,
    /// Read-only data (string literals, constants): one value of
    /// `value_size` bytes, reached only through `Imm64::MapValue`; loads only.
    ReadOnly,
}

/// A map of the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// Array, hash, per-CPU array or read-only data.
    pub kind: MapKind,
    /// Key size in bytes (4 for arrays, per-CPU or not; 0 for read-only data).
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries (1 for read-only data).
    pub max_entries: u32,
}

impl MapInfo {
    /// An array map with `max_entries` values of `value_size` bytes.
    pub fn array(value_size: u32, max_entries: u32) -> MapInfo {
        MapInfo { kind: MapKind::Array, key_size: 4, value_size, max_entries }
    }

    /// A per-CPU array map: `max_entries` values of `value_size` bytes for
    /// each CPU.
    pub fn per_cpu_array(value_size: u32, max_entries: u32) -> MapInfo {
        MapInfo { kind: MapKind::PerCpuArray, key_size: 4, value_size, max_entries }
    }

    /// A hash map.
    pub fn hash(key_size: u32, value_size: u32, max_entries: u32) -> MapInfo {
        MapInfo { kind: MapKind::Hash, key_size, value_size, max_entries }
    }

    /// Read-only data of `size` bytes.
    pub fn read_only(size: u32) -> MapInfo {
        MapInfo { kind: MapKind::ReadOnly, key_size: 0, value_size: size, max_entries: 1 }
    }

    /// Whether the program may store into the map's values.
    pub fn writable(&self) -> bool {
        self.kind != MapKind::ReadOnly
    }
}

/// A range of I/O ports `start .. start + count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Number of ports.
    pub count: u16,
}

impl PortRange {
    /// Whether ports `port .. port + width` all lie in the range.
    pub fn contains(&self, port: u64, width: u32) -> bool {
        let start = self.start as u64;
        let end = start + self.count as u64;
        port >= start && port.saturating_add(width as u64) <= end
    }
}

/// Bounds on the analysis and on the program's resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Instructions the analysis may process (over all paths) before it
    /// gives up with `ErrorKind::TooComplex`.
    pub max_insns_processed: u64,
    /// Program length in slots.
    pub max_program_len: usize,
    /// Deepest nesting of frames (the entry function counts as 1).
    pub max_call_depth: u32,
    /// Stack bytes of one frame, and of all frames of a call chain together.
    /// The interpreter and the JIT reserve 512 bytes a frame, so a larger
    /// value is only for analysing programs that will not run here.
    pub max_stack: u32,
    /// States kept for pruning at one instruction; beyond it, new states are
    /// explored but not stored (bounding memory, never soundness).
    pub max_states_per_insn: usize,
    /// States kept for pruning in all, not counting evicted ones (bounding
    /// the analysis's memory).
    pub max_states: usize,
    /// Bytes of abstract states the analysis may hold: half for stored
    /// states (beyond it, no more are stored), half for paths waiting to be
    /// explored (beyond it, the program is too complex).
    pub max_memory: usize,
}

impl Limits {
    /// The defaults: 1,000,000 processed instructions, 1,000,000 slots,
    /// depth 8, 512 bytes of stack, 4,096 stored states per instruction
    /// (so that loops of a few hundred rounds whose body branches are still
    /// pruned: each round leaves its own states) and 8,192 in all, 64 MiB
    /// of states.
    pub const DEFAULT: Limits = Limits {
        max_insns_processed: 1_000_000,
        max_program_len: 1_000_000,
        max_call_depth: 8,
        max_stack: 512,
        max_states_per_insn: 4096,
        max_states: 8_192,
        max_memory: 64 << 20,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_contain_whole_accesses_only() {
        let r = PortRange { start: 0x70, count: 2 };
        assert!(r.contains(0x70, 1));
        assert!(r.contains(0x70, 2));
        assert!(r.contains(0x71, 1));
        assert!(!r.contains(0x71, 2));
        assert!(!r.contains(0x6f, 1));
        assert!(!r.contains(u64::MAX, 4));
    }

    #[test]
    fn ctx_fields_are_found_by_byte() {
        let ctx = CtxLayout::new(16)
            .with_field(CtxField::value("nr", 0, 8))
            .with_field(CtxField::value("pid", 12, 4).writable());
        assert_eq!(ctx.field_at(7).map(|(i, _)| i), Some(0));
        assert!(ctx.field_at(8).is_none());
        assert_eq!(ctx.field_at(15).map(|(_, f)| f.name.as_ref()), Some("pid"));
        assert!(ctx.field("pid").unwrap().write);
    }
}
