//! The context of every entry point: the structure R1 points to when a
//! program runs.
//!
//! Each context is a `#[repr(C)]` struct here (the kernel fills it) and a
//! table of [`FieldSpec`]s (the verifier profile and the compiler read it).
//! A unit test checks that both agree, offset by offset. Buffers have a
//! constant capacity and a separate length field, so the verifier can bound
//! every access.

use verifier::{CtxField, CtxLayout, FieldKind};

/// Most bytes one run of an entry may append with `emit`.
pub const OUTPUT_CAPACITY: u32 = 4096;
/// Capacity of `name` in a vfs `lookup` context.
pub const NAME_CAPACITY: usize = 64;
/// Capacity of `data` in a `write` context.
pub const WRITE_CAPACITY: usize = 512;
/// Capacity of `data` in a device `ioctl` context.
pub const IOCTL_CAPACITY: usize = 256;
/// Capacity of `header` in an exec `probe` context.
pub const HEADER_CAPACITY: usize = 128;
/// Capacity of `path` in an exec `probe` context.
pub const PATH_CAPACITY: usize = 256;

/// Which context an entry point receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtxKind {
    Syscall,
    VfsLookup,
    VfsGetattr,
    VfsReaddir,
    VfsRead,
    VfsWrite,
    DevOpen,
    DevRead,
    DevWrite,
    DevIoctl,
    ExecProbe,
    MiscLoad,
    MiscTick,
}

/// syscall `call`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallCtx {
    pub nr: u64,
    pub args: [u64; 6],
    pub pid: u32,
    pub uid: u32,
}

/// vfs `lookup`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VfsLookupCtx {
    pub dir_ino: u64,
    pub name: [u8; NAME_CAPACITY],
    pub name_len: u32,
    pub _pad: u32,
}

/// vfs `getattr`: `mode` and `size` are written by the program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfsGetattrCtx {
    pub ino: u64,
    pub mode: u32,
    pub _pad: u32,
    pub size: u64,
}

/// vfs `readdir`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfsReaddirCtx {
    pub dir_ino: u64,
    pub index: u64,
}

/// vfs `read`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfsReadCtx {
    pub ino: u64,
    pub offset: u64,
    pub len: u32,
    pub _pad: u32,
}

/// vfs `write`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VfsWriteCtx {
    pub ino: u64,
    pub offset: u64,
    pub data: [u8; WRITE_CAPACITY],
    pub data_len: u32,
    pub _pad: u32,
}

/// dev `open` and `close`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DevOpenCtx {
    pub minor: u32,
    pub flags: u32,
}

/// dev `read`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DevReadCtx {
    pub minor: u32,
    pub _pad: u32,
    pub offset: u64,
    pub len: u32,
    pub _pad2: u32,
}

/// dev `write`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DevWriteCtx {
    pub minor: u32,
    pub _pad: u32,
    pub offset: u64,
    pub data: [u8; WRITE_CAPACITY],
    pub data_len: u32,
    pub _pad2: u32,
}

/// dev `ioctl`: `data` holds the request's bytes copied in.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DevIoctlCtx {
    pub minor: u32,
    pub cmd: u32,
    pub arg: u64,
    pub data: [u8; IOCTL_CAPACITY],
    pub data_len: u32,
    pub _pad: u32,
}

/// exec `probe`: the first bytes of the file and its path.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecProbeCtx {
    pub header: [u8; HEADER_CAPACITY],
    pub header_len: u32,
    pub _pad: u32,
    pub path: [u8; PATH_CAPACITY],
    pub path_len: u32,
    pub _pad2: u32,
}

/// misc `load` and `unload`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MiscLoadCtx {
    pub module_id: u32,
    pub _pad: u32,
}

/// misc `tick`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MiscTickCtx {
    pub ticks: u64,
    pub uptime_ns: u64,
}

/// What a context field holds, for the compiler and the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecKind {
    /// A plain value: one unsigned integer of `elem` bytes, or an array of
    /// them indexed by constants only.
    Value,
    /// A value the kernel keeps in `min ..= max`.
    Bounded { min: u64, max: u64 },
    /// A byte buffer; any byte may be indexed, also by a variable.
    Buffer,
    /// The number of valid bytes of the named buffer field.
    Length { buffer: &'static str },
}

/// One field of a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub offset: u32,
    /// Total size in bytes.
    pub size: u32,
    /// Size of one element (equal to `size` for a single value).
    pub elem: u32,
    pub kind: SpecKind,
    /// Whether the program may store to the field.
    pub write: bool,
    /// What the field holds, in a few words (the book's context tables).
    pub doc: &'static str,
}

const fn value(name: &'static str, offset: u32, size: u32, doc: &'static str) -> FieldSpec {
    FieldSpec { name, offset, size, elem: size, kind: SpecKind::Value, write: false, doc }
}
const fn buffer(name: &'static str, offset: u32, size: usize, doc: &'static str) -> FieldSpec {
    FieldSpec { name, offset, size: size as u32, elem: 1, kind: SpecKind::Buffer, write: false, doc }
}
const fn length(name: &'static str, offset: u32, buffer: &'static str) -> FieldSpec {
    FieldSpec { name, offset, size: 4, elem: 4, kind: SpecKind::Length { buffer }, write: false, doc: "how many bytes of the buffer are valid" }
}
const fn out_len(name: &'static str, offset: u32) -> FieldSpec {
    FieldSpec {
        name,
        offset,
        size: 4,
        elem: 4,
        kind: SpecKind::Bounded { min: 0, max: OUTPUT_CAPACITY as u64 },
        write: false,
        doc: "most bytes the run may `emit`",
    }
}
const fn writable(mut f: FieldSpec) -> FieldSpec {
    f.write = true;
    f
}

macro_rules! fields {
    [$($f:expr),* $(,)?] => {{
        const FIELDS: &[FieldSpec] = &[$($f),*];
        FIELDS
    }};
}

/// The fields of a context, in offset order.
pub fn fields(kind: CtxKind) -> &'static [FieldSpec] {
    match kind {
        CtxKind::Syscall => fields![
            value("nr", 0, 8, "the system-call number the process asked for"),
            FieldSpec {
                name: "args",
                offset: 8,
                size: 48,
                elem: 8,
                kind: SpecKind::Value,
                write: false,
                doc: "the call's six arguments (indexed by constants only)",
            },
            value("pid", 56, 4, "the calling process"),
            value("uid", 60, 4, "the calling user"),
        ],
        CtxKind::VfsLookup => fields![
            value("dir_ino", 0, 8, "the directory searched"),
            buffer("name", 8, NAME_CAPACITY, "the name looked up"),
            length("name_len", 72, "name"),
        ],
        CtxKind::VfsGetattr => fields![
            value("ino", 0, 8, "the file asked about"),
            writable(value("mode", 8, 4, "set by the program: `S_IFREG` or `S_IFDIR` and permission bits")),
            writable(value("size", 16, 8, "set by the program: the file's size in bytes")),
        ],
        CtxKind::VfsReaddir => fields![
            value("dir_ino", 0, 8, "the directory listed"),
            value("index", 8, 8, "which entry is asked for, from 0"),
        ],
        CtxKind::VfsRead => fields![
            value("ino", 0, 8, "the file read"),
            value("offset", 8, 8, "where in the file the read starts"),
            out_len("len", 16),
        ],
        CtxKind::VfsWrite => fields![
            value("ino", 0, 8, "the file written"),
            value("offset", 8, 8, "where in the file this chunk goes"),
            buffer("data", 16, WRITE_CAPACITY, "the bytes written (one chunk of the write)"),
            length("data_len", 528, "data"),
        ],
        CtxKind::DevOpen => fields![
            value("minor", 0, 4, "the device's minor number"),
            value("flags", 4, 4, "the flags given to `open`"),
        ],
        CtxKind::DevRead => fields![
            value("minor", 0, 4, "the device's minor number"),
            value("offset", 8, 8, "where in the device the read starts"),
            out_len("len", 16),
        ],
        CtxKind::DevWrite => fields![
            value("minor", 0, 4, "the device's minor number"),
            value("offset", 8, 8, "where in the device this chunk goes"),
            buffer("data", 16, WRITE_CAPACITY, "the bytes written (one chunk of the write)"),
            length("data_len", 528, "data"),
        ],
        CtxKind::DevIoctl => fields![
            value("minor", 0, 4, "the device's minor number"),
            value("cmd", 4, 4, "the request"),
            value("arg", 8, 8, "the request's argument"),
            buffer("data", 16, IOCTL_CAPACITY, "the request's bytes, copied in"),
            length("data_len", 272, "data"),
        ],
        CtxKind::ExecProbe => fields![
            buffer("header", 0, HEADER_CAPACITY, "the first bytes of the file run"),
            length("header_len", 128, "header"),
            buffer("path", 136, PATH_CAPACITY, "the path of the file run"),
            length("path_len", 392, "path"),
        ],
        CtxKind::MiscLoad => fields![value("module_id", 0, 4, "this module's id (as `modstat` shows it)")],
        CtxKind::MiscTick => fields![
            value("ticks", 0, 8, "timer ticks since boot (100 a second)"),
            value("uptime_ns", 8, 8, "nanoseconds since boot"),
        ],
    }
}

/// The size of a context in bytes.
pub fn size(kind: CtxKind) -> u32 {
    (match kind {
        CtxKind::Syscall => size_of::<SyscallCtx>(),
        CtxKind::VfsLookup => size_of::<VfsLookupCtx>(),
        CtxKind::VfsGetattr => size_of::<VfsGetattrCtx>(),
        CtxKind::VfsReaddir => size_of::<VfsReaddirCtx>(),
        CtxKind::VfsRead => size_of::<VfsReadCtx>(),
        CtxKind::VfsWrite => size_of::<VfsWriteCtx>(),
        CtxKind::DevOpen => size_of::<DevOpenCtx>(),
        CtxKind::DevRead => size_of::<DevReadCtx>(),
        CtxKind::DevWrite => size_of::<DevWriteCtx>(),
        CtxKind::DevIoctl => size_of::<DevIoctlCtx>(),
        CtxKind::ExecProbe => size_of::<ExecProbeCtx>(),
        CtxKind::MiscLoad => size_of::<MiscLoadCtx>(),
        CtxKind::MiscTick => size_of::<MiscTickCtx>(),
    }) as u32
}

/// The name of the context type in module sources (`SyscallCtx`, ...).
pub fn type_name(kind: CtxKind) -> &'static str {
    match kind {
        CtxKind::Syscall => "SyscallCtx",
        CtxKind::VfsLookup => "LookupCtx",
        CtxKind::VfsGetattr => "GetattrCtx",
        CtxKind::VfsReaddir => "ReaddirCtx",
        CtxKind::VfsRead => "FileReadCtx",
        CtxKind::VfsWrite => "FileWriteCtx",
        CtxKind::DevOpen => "OpenCtx",
        CtxKind::DevRead => "DevReadCtx",
        CtxKind::DevWrite => "DevWriteCtx",
        CtxKind::DevIoctl => "IoctlCtx",
        CtxKind::ExecProbe => "ProbeCtx",
        CtxKind::MiscLoad => "LoadCtx",
        CtxKind::MiscTick => "TickCtx",
    }
}

/// The verifier's view of a context.
pub fn layout(kind: CtxKind) -> CtxLayout {
    let specs = fields(kind);
    let mut layout = CtxLayout::new(size(kind));
    for f in specs {
        let field = match f.kind {
            SpecKind::Value => CtxField::value(f.name, f.offset, f.size),
            SpecKind::Bounded { min, max } => CtxField {
                kind: FieldKind::Bounded { min, max },
                ..CtxField::value(f.name, f.offset, f.size)
            },
            SpecKind::Buffer => CtxField::buffer(f.name, f.offset, f.size),
            SpecKind::Length { buffer } => {
                // The buffer precedes its length in every table above.
                let index = specs.iter().position(|s| s.name == buffer).unwrap_or(0);
                CtxField::length(f.name, f.offset, f.size, index, specs[index].size)
            }
        };
        layout = layout.with_field(field.access(true, f.write));
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    fn offset(kind: CtxKind, name: &str) -> u32 {
        fields(kind).iter().find(|f| f.name == name).unwrap().offset
    }

    #[test]
    fn tables_match_the_structs() {
        assert_eq!(offset(CtxKind::Syscall, "args") as usize, offset_of!(SyscallCtx, args));
        assert_eq!(offset(CtxKind::Syscall, "pid") as usize, offset_of!(SyscallCtx, pid));
        assert_eq!(offset(CtxKind::Syscall, "uid") as usize, offset_of!(SyscallCtx, uid));
        assert_eq!(offset(CtxKind::VfsLookup, "name") as usize, offset_of!(VfsLookupCtx, name));
        assert_eq!(offset(CtxKind::VfsLookup, "name_len") as usize, offset_of!(VfsLookupCtx, name_len));
        assert_eq!(offset(CtxKind::VfsGetattr, "mode") as usize, offset_of!(VfsGetattrCtx, mode));
        assert_eq!(offset(CtxKind::VfsGetattr, "size") as usize, offset_of!(VfsGetattrCtx, size));
        assert_eq!(offset(CtxKind::VfsReaddir, "index") as usize, offset_of!(VfsReaddirCtx, index));
        assert_eq!(offset(CtxKind::VfsRead, "len") as usize, offset_of!(VfsReadCtx, len));
        assert_eq!(offset(CtxKind::VfsWrite, "data") as usize, offset_of!(VfsWriteCtx, data));
        assert_eq!(offset(CtxKind::VfsWrite, "data_len") as usize, offset_of!(VfsWriteCtx, data_len));
        assert_eq!(offset(CtxKind::DevOpen, "flags") as usize, offset_of!(DevOpenCtx, flags));
        assert_eq!(offset(CtxKind::DevRead, "offset") as usize, offset_of!(DevReadCtx, offset));
        assert_eq!(offset(CtxKind::DevRead, "len") as usize, offset_of!(DevReadCtx, len));
        assert_eq!(offset(CtxKind::DevWrite, "data") as usize, offset_of!(DevWriteCtx, data));
        assert_eq!(offset(CtxKind::DevWrite, "data_len") as usize, offset_of!(DevWriteCtx, data_len));
        assert_eq!(offset(CtxKind::DevIoctl, "cmd") as usize, offset_of!(DevIoctlCtx, cmd));
        assert_eq!(offset(CtxKind::DevIoctl, "arg") as usize, offset_of!(DevIoctlCtx, arg));
        assert_eq!(offset(CtxKind::DevIoctl, "data") as usize, offset_of!(DevIoctlCtx, data));
        assert_eq!(offset(CtxKind::DevIoctl, "data_len") as usize, offset_of!(DevIoctlCtx, data_len));
        assert_eq!(offset(CtxKind::ExecProbe, "header_len") as usize, offset_of!(ExecProbeCtx, header_len));
        assert_eq!(offset(CtxKind::ExecProbe, "path") as usize, offset_of!(ExecProbeCtx, path));
        assert_eq!(offset(CtxKind::ExecProbe, "path_len") as usize, offset_of!(ExecProbeCtx, path_len));
        assert_eq!(offset(CtxKind::MiscTick, "uptime_ns") as usize, offset_of!(MiscTickCtx, uptime_ns));
    }

    #[test]
    fn every_field_fits_and_none_overlap() {
        let all = [
            CtxKind::Syscall,
            CtxKind::VfsLookup,
            CtxKind::VfsGetattr,
            CtxKind::VfsReaddir,
            CtxKind::VfsRead,
            CtxKind::VfsWrite,
            CtxKind::DevOpen,
            CtxKind::DevRead,
            CtxKind::DevWrite,
            CtxKind::DevIoctl,
            CtxKind::ExecProbe,
            CtxKind::MiscLoad,
            CtxKind::MiscTick,
        ];
        for kind in all {
            let specs = fields(kind);
            for w in specs.windows(2) {
                assert!(w[0].offset + w[0].size <= w[1].offset, "{kind:?}: {} overlaps {}", w[0].name, w[1].name);
            }
            let last = specs.last().unwrap();
            assert!(last.offset + last.size <= size(kind), "{kind:?}");
            for f in specs {
                assert_eq!(f.offset % f.elem.min(8), 0, "{kind:?}.{} is misaligned", f.name);
                assert!(!f.doc.is_empty(), "{kind:?}.{} has no description for the book", f.name);
            }
            let layout = layout(kind);
            for f in &layout.fields {
                if let FieldKind::Length { buffer, capacity } = f.kind {
                    assert_eq!(layout.fields[buffer].kind, FieldKind::Buffer);
                    assert_eq!(layout.fields[buffer].size, capacity);
                }
            }
        }
    }
}
