//! Reading a module image defensively: every length and offset is checked
//! before use, and a malformed image is an [`ImageError`], never a panic.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::class::{valid_name, Class, ClassParams};
use crate::image::*;

/// Why an image was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The image ended while reading `what` at byte `offset`.
    Truncated { what: &'static str, offset: usize },
    /// The first four bytes are not [`MAGIC`].
    BadMagic,
    /// A version this kernel does not read.
    UnsupportedVersion(u16),
    /// A class number outside `LM_SYSCALL ..= LM_MISC`.
    UnknownClass(u8),
    /// Flag bits this version does not define.
    UnknownFlags(u8),
    /// A module, vfs or device name that is empty, too long or has bytes
    /// other than letters, digits, `_`, `-` and `.`.
    BadName { what: &'static str },
    /// More items than the format allows.
    TooMany { what: &'static str, count: usize, max: usize },
    /// A program with no instructions.
    EmptyProgram { entry: String },
    /// A program for an entry point the class does not have.
    UnknownEntry { class: Class, entry: String },
    /// Two programs for one entry point.
    DuplicateEntry { entry: String },
    /// A required entry point has no program.
    MissingEntry { class: Class, entry: &'static str },
    /// A device module with no entry point at all.
    NoEntries,
    /// A map kind byte that is not array (0), hash (1) or per-CPU array (2).
    UnknownMapKind { map: usize, code: u8 },
    /// A map whose sizes are out of bounds.
    BadMap { map: usize, reason: &'static str },
    /// A port range that is empty or runs past port 0xffff.
    BadPorts { index: usize },
    /// A line-table entry naming a slot outside its program, or out of order.
    BadLineTable { program: usize },
    /// Text that is not UTF-8.
    NotUtf8 { what: &'static str },
    /// Bytes after the end of the image.
    TrailingBytes { count: usize },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated { what, offset } => write!(f, "image ends inside {what} (at byte {offset})"),
            ImageError::BadMagic => write!(f, "not a module image (bad magic number)"),
            ImageError::UnsupportedVersion(v) => write!(f, "image format version {v} is not supported (expected {VERSION})"),
            ImageError::UnknownClass(c) => write!(f, "unknown module class {c} (expected 0 to 4)"),
            ImageError::UnknownFlags(b) => write!(f, "unknown image flags {b:#x}"),
            ImageError::BadName { what } => {
                write!(f, "bad {what}: 1 to 32 bytes of letters, digits, `_`, `-` or `.` expected")
            }
            ImageError::TooMany { what, count, max } => write!(f, "{count} {what}, at most {max} allowed"),
            ImageError::EmptyProgram { entry } => write!(f, "program `{entry}` has no instructions"),
            ImageError::UnknownEntry { class, entry } => {
                write!(f, "class `{}` has no entry point `{entry}`", class.name())
            }
            ImageError::DuplicateEntry { entry } => write!(f, "two programs for entry point `{entry}`"),
            ImageError::MissingEntry { class, entry } => {
                write!(f, "a `{}` module needs a program for entry point `{entry}`", class.name())
            }
            ImageError::NoEntries => write!(f, "the module has no entry point"),
            ImageError::UnknownMapKind { map, code } => write!(f, "map {map}: unknown kind {code}"),
            ImageError::BadMap { map, reason } => write!(f, "map {map}: {reason}"),
            ImageError::BadPorts { index } => write!(f, "port range {index} is empty or runs past port 0xffff"),
            ImageError::BadLineTable { program } => write!(f, "line table of program {program} is malformed"),
            ImageError::NotUtf8 { what } => write!(f, "{what} is not UTF-8"),
            ImageError::TrailingBytes { count } => write!(f, "{count} bytes after the end of the image"),
        }
    }
}

/// A cursor over the image bytes whose reads fail instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ImageError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(ImageError::Truncated { what, offset: self.pos })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, ImageError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, ImageError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ImageError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A length-prefixed name that must satisfy [`valid_name`].
    fn name(&mut self, what: &'static str) -> Result<String, ImageError> {
        let n = self.u8(what)? as usize;
        let b = self.take(n, what)?;
        if !valid_name(b) {
            return Err(ImageError::BadName { what });
        }
        Ok(b.iter().map(|&c| c as char).collect())
    }
    /// A count that may not exceed `max`.
    fn count16(&mut self, what: &'static str, max: usize) -> Result<usize, ImageError> {
        let n = self.u16(what)? as usize;
        if n > max {
            return Err(ImageError::TooMany { what, count: n, max });
        }
        Ok(n)
    }
}

/// Parses and checks a whole image.
pub fn parse(bytes: &[u8]) -> Result<Image, ImageError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4, "the magic number")? != MAGIC {
        return Err(ImageError::BadMagic);
    }
    let version = r.u16("the version")?;
    if version != VERSION {
        return Err(ImageError::UnsupportedVersion(version));
    }
    let class_no = r.u8("the class")?;
    let class = Class::from_number(class_no).ok_or(ImageError::UnknownClass(class_no))?;
    let flags = r.u8("the flags")?;
    if flags & !1 != 0 {
        return Err(ImageError::UnknownFlags(flags));
    }
    let name = r.name("module name")?;
    let params = match class {
        Class::Syscall => ClassParams::Syscall { nr: r.u32("the syscall number")? },
        Class::Vfs => ClassParams::Vfs { fstype: r.name("file-system type name")? },
        Class::Dev => ClassParams::Dev { major: r.u32("the major number")?, name: r.name("device name")? },
        Class::Exec => ClassParams::Exec,
        Class::Misc => ClassParams::Misc,
    };

    let nprog = r.count16("programs", MAX_PROGRAMS)?;
    let mut programs: Vec<ProgramImage> = Vec::with_capacity(nprog);
    for _ in 0..nprog {
        let entry = r.name("entry point name")?;
        if class.entry(&entry).is_none() {
            return Err(ImageError::UnknownEntry { class, entry });
        }
        if programs.iter().any(|p| p.entry == entry) {
            return Err(ImageError::DuplicateEntry { entry });
        }
        let slots = r.u32("a program length")? as usize;
        if slots > MAX_SLOTS {
            return Err(ImageError::TooMany { what: "instruction slots", count: slots, max: MAX_SLOTS });
        }
        if slots == 0 {
            return Err(ImageError::EmptyProgram { entry });
        }
        let code = r.take(slots * 8, "a program's instructions")?.to_vec();
        programs.push(ProgramImage { entry, code });
    }
    for e in class.entries() {
        if e.required && !programs.iter().any(|p| p.entry == e.name) {
            return Err(ImageError::MissingEntry { class, entry: e.name });
        }
    }
    if programs.is_empty() {
        return Err(ImageError::NoEntries);
    }

    let nmaps = r.count16("maps", MAX_MAPS)?;
    let mut maps = Vec::with_capacity(nmaps);
    for map in 0..nmaps {
        let n = r.u8("a map name")? as usize;
        let raw = r.take(n, "a map name")?;
        if !raw.is_empty() && !valid_name(raw) {
            return Err(ImageError::BadName { what: "map name" });
        }
        let name = raw.iter().map(|&c| c as char).collect();
        let code = r.u8("a map kind")?;
        let kind = MapKind::from_code(code).ok_or(ImageError::UnknownMapKind { map, code })?;
        let key_size = r.u32("a map key size")?;
        let value_size = r.u32("a map value size")?;
        let max_entries = r.u32("a map size")?;
        let bad = |reason| Err(ImageError::BadMap { map, reason });
        if kind != MapKind::Hash && key_size != 4 {
            return bad("an array map's key size must be 4");
        }
        if key_size == 0 || key_size > MAX_KEY_SIZE {
            return bad("key size must be 1 to 512 bytes");
        }
        if value_size == 0 || value_size > MAX_VALUE_SIZE {
            return bad("value size must be 1 to 65536 bytes");
        }
        if max_entries == 0 || max_entries > MAX_ENTRIES {
            return bad("max entries must be 1 to 1048576");
        }
        maps.push(MapDecl { name, kind, key_size, value_size, max_entries });
    }

    let rodata_len = r.u32("the read-only data length")? as usize;
    if rodata_len > MAX_RODATA {
        return Err(ImageError::TooMany { what: "bytes of read-only data", count: rodata_len, max: MAX_RODATA });
    }
    let rodata = r.take(rodata_len, "the read-only data")?.to_vec();

    let nports = r.count16("port ranges", MAX_PORT_RANGES)?;
    let mut ports = Vec::with_capacity(nports);
    for index in 0..nports {
        let start = r.u16("a port range")?;
        let count = r.u16("a port range")?;
        if count == 0 || start as u32 + count as u32 > 0x1_0000 {
            return Err(ImageError::BadPorts { index });
        }
        ports.push(PortDecl { start, count });
    }

    let lines = if flags & 1 != 0 { Some(parse_lines(&mut r, &programs)?) } else { None };
    if r.pos != bytes.len() {
        return Err(ImageError::TrailingBytes { count: bytes.len() - r.pos });
    }
    Ok(Image { name, params, programs, maps, rodata, ports, lines })
}

fn parse_lines(r: &mut Reader<'_>, programs: &[ProgramImage]) -> Result<LineTable, ImageError> {
    let n = r.u16("the source file name")? as usize;
    if n > MAX_SOURCE_NAME {
        return Err(ImageError::TooMany { what: "bytes of source file name", count: n, max: MAX_SOURCE_NAME });
    }
    let raw = r.take(n, "the source file name")?;
    let source = core::str::from_utf8(raw).map_err(|_| ImageError::NotUtf8 { what: "the source file name" })?;
    let source = String::from(source);
    let mut table = LineTable { source, programs: Vec::with_capacity(programs.len()) };
    for (index, p) in programs.iter().enumerate() {
        let count = r.u32("a line table")? as usize;
        if count > p.slots() {
            return Err(ImageError::BadLineTable { program: index });
        }
        let mut entries = Vec::with_capacity(count);
        let mut last: Option<u32> = None;
        for _ in 0..count {
            let e = LineEntry { slot: r.u32("a line entry")?, line: r.u32("a line entry")?, col: r.u32("a line entry")? };
            if e.slot as usize >= p.slots() || last.is_some_and(|l| e.slot <= l) {
                return Err(ImageError::BadLineTable { program: index });
            }
            last = Some(e.slot);
            entries.push(e);
        }
        table.programs.push(entries);
    }
    Ok(table)
}
