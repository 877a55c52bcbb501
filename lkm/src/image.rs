//! The module image (`.lkm`): what it holds and how it is written.
//!
//! Layout (all integers little-endian; `str8` is a `u8` length then bytes,
//! `str16` a `u16` length then bytes):
//!
//! ```text
//! magic      "\x7fLKM"
//! version    u16 = 1
//! class      u8 (LM_SYSCALL .. LM_MISC)
//! flags      u8 (bit 0: a line table follows)
//! name       str8 (1..=32 bytes)
//! params     syscall: u32 nr | vfs: str8 fstype | dev: u32 major, str8 name | exec, misc: nothing
//! programs   u16 count, each: str8 entry name, u32 slot count, 8 bytes a slot
//! maps       u16 count, each: str8 name, u8 kind (0 array, 1 hash, 2 per-CPU
//!            array), u32 key size,
//!            u32 value size, u32 max entries
//! rodata     u32 length, bytes
//! ports      u16 count, each: u16 first port, u16 count
//! lines      (flag bit 0) str16 source file name, then per program:
//!            u32 count, each: u32 slot, u32 line, u32 column
//! ```
//!
//! Read-only data is map number `maps.len()` in the program's profile (a map
//! of kind `ReadOnly`), reached with `r = map_value[maps.len()] + off ll`.
//! Parsing is in [`crate::parse`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::class::ClassParams;

/// The first four bytes of every image.
pub const MAGIC: [u8; 4] = *b"\x7fLKM";
/// The image format version this crate reads and writes.
pub const VERSION: u16 = 1;
/// Most programs in one image.
pub const MAX_PROGRAMS: usize = 8;
/// Most slots in one program.
pub const MAX_SLOTS: usize = 65_536;
/// Most maps in one image.
pub const MAX_MAPS: usize = 64;
/// Largest map key, in bytes.
pub const MAX_KEY_SIZE: u32 = 512;
/// Largest map value, in bytes.
pub const MAX_VALUE_SIZE: u32 = 65_536;
/// Most entries of one map.
pub const MAX_ENTRIES: u32 = 1 << 20;
/// Largest read-only data, in bytes.
pub const MAX_RODATA: usize = 65_536;
/// Most declared port ranges.
pub const MAX_PORT_RANGES: usize = 16;
/// Longest source file name in a line table.
pub const MAX_SOURCE_NAME: usize = 1024;

/// The kind of a map declared in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// `array<V>[N]`: keys are `u32` indices below N.
    Array,
    /// `hash<K, V>[N]`.
    Hash,
    /// `percpu_array<V>[N]`: an array of N values for each CPU; a lookup
    /// finds the value of the CPU that runs it.
    PerCpuArray,
}

impl MapKind {
    /// The byte that encodes the kind.
    pub fn code(self) -> u8 {
        match self {
            MapKind::Array => 0,
            MapKind::Hash => 1,
            MapKind::PerCpuArray => 2,
        }
    }

    /// The kind encoded by `code`.
    pub fn from_code(code: u8) -> Option<MapKind> {
        match code {
            0 => Some(MapKind::Array),
            1 => Some(MapKind::Hash),
            2 => Some(MapKind::PerCpuArray),
            _ => None,
        }
    }
}

/// A map declared by the image; the kernel allocates it at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDecl {
    /// The name in the source (shown by `modc disasm`), may be empty.
    pub name: String,
    pub kind: MapKind,
    /// Key size in bytes (4 for an array, per-CPU or not).
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// One program: the bytecode of one entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramImage {
    /// The entry point it fills (`call`, `read`, ...).
    pub entry: String,
    /// The encoded instruction slots, 8 bytes each.
    pub code: Vec<u8>,
}

impl ProgramImage {
    /// Number of 8-byte slots.
    pub fn slots(&self) -> usize {
        self.code.len() / 8
    }
}

/// A range of I/O ports `start .. start + count` the module asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortDecl {
    pub start: u16,
    pub count: u16,
}

/// Where the instruction at `slot` came from in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineEntry {
    pub slot: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// The optional map from instruction to source position.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LineTable {
    /// The source file's name, as given to the compiler.
    pub source: String,
    /// One list per program (same order as [`Image::programs`]), sorted by slot.
    pub programs: Vec<Vec<LineEntry>>,
}

impl LineTable {
    /// The source position of slot `slot` of program `program`: the entry
    /// with the greatest slot not after it.
    pub fn lookup(&self, program: usize, slot: usize) -> Option<LineEntry> {
        let entries = self.programs.get(program)?;
        let i = entries.partition_point(|e| e.slot as usize <= slot);
        i.checked_sub(1).map(|i| entries[i])
    }
}

/// A whole module image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The module name (`MAXLKMNAME` bytes at most).
    pub name: String,
    /// The class and its parameters.
    pub params: ClassParams,
    pub programs: Vec<ProgramImage>,
    pub maps: Vec<MapDecl>,
    /// String literals and constants.
    pub rodata: Vec<u8>,
    /// I/O ports asked for (device drivers).
    pub ports: Vec<PortDecl>,
    pub lines: Option<LineTable>,
}

impl Image {
    /// The program filling entry point `entry`, with its index.
    pub fn program(&self, entry: &str) -> Option<(usize, &ProgramImage)> {
        self.programs.iter().enumerate().find(|(_, p)| p.entry == entry)
    }

    /// The map number of the read-only data in every profile of this image.
    pub fn rodata_map(&self) -> u32 {
        self.maps.len() as u32
    }

    /// The image as bytes. Writing does not check the limits; parse the
    /// result to check it (`modc` does).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.bytes(&MAGIC);
        w.u16(VERSION);
        w.u8(self.params.class().number());
        w.u8(self.lines.is_some() as u8);
        w.str8(&self.name);
        match &self.params {
            ClassParams::Syscall { nr } => w.u32(*nr),
            ClassParams::Vfs { fstype } => w.str8(fstype),
            ClassParams::Dev { major, name } => {
                w.u32(*major);
                w.str8(name);
            }
            ClassParams::Exec | ClassParams::Misc => {}
        }
        w.u16(self.programs.len() as u16);
        for p in &self.programs {
            w.str8(&p.entry);
            w.u32(p.slots() as u32);
            w.bytes(&p.code[..p.slots() * 8]);
        }
        w.u16(self.maps.len() as u16);
        for m in &self.maps {
            w.str8(&m.name);
            w.u8(m.kind.code());
            w.u32(m.key_size);
            w.u32(m.value_size);
            w.u32(m.max_entries);
        }
        w.u32(self.rodata.len() as u32);
        w.bytes(&self.rodata);
        w.u16(self.ports.len() as u16);
        for p in &self.ports {
            w.u16(p.start);
            w.u16(p.count);
        }
        if let Some(lines) = &self.lines {
            w.u16(lines.source.len() as u16);
            w.bytes(lines.source.as_bytes());
            for i in 0..self.programs.len() {
                let entries = lines.programs.get(i).map(Vec::as_slice).unwrap_or(&[]);
                w.u32(entries.len() as u32);
                for e in entries {
                    w.u32(e.slot);
                    w.u32(e.line);
                    w.u32(e.col);
                }
            }
        }
        w.0
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn str8(&mut self, s: &str) {
        let b = &s.as_bytes()[..s.len().min(255)];
        self.u8(b.len() as u8);
        self.bytes(b);
    }
}
