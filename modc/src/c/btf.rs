//! The parts of BTF (the `.BTF` and `.BTF.ext` sections clang writes with
//! `-g`) a Warden module needs: the size of a type, the members of a
//! BTF-defined map, and the line of each instruction.
//!
//! The format is the kernel's (`Documentation/bpf/btf.rst`): a header, a
//! type section of variable-length records numbered from 1, and a string
//! section. Every offset and count is checked; a malformed section is an
//! error, never a panic.

use std::collections::HashMap;

/// A `.BTF` section, its types indexed.
pub struct Btf<'a> {
    strings: &'a [u8],
    /// Type id to its record (id 0 is `void` and has none).
    types: Vec<Type>,
}

/// One type record: kind, name, the size-or-type word and its extra data.
#[derive(Clone, Debug)]
struct Type {
    kind: u32,
    name: u32,
    vlen: u32,
    size_or_type: u32,
    /// The record's extra data, 4-byte words.
    extra: Vec<u32>,
}

const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const TYPEDEF: u32 = 8;
const VOLATILE: u32 = 9;
const CONST: u32 = 10;
const RESTRICT: u32 = 11;
const DATASEC: u32 = 15;
const FLOAT: u32 = 16;
const TYPE_TAG: u32 = 18;
const ENUM64: u32 = 19;

const MAGIC: u16 = 0xeb9f;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The part of `b` a header's `(offset, length)` pair names, after `base`.
fn part(b: &[u8], base: usize, off: u32, len: u32) -> Option<&[u8]> {
    let lo = base.checked_add(off as usize)?;
    b.get(lo..lo.checked_add(len as usize)?)
}

/// The magic and header length of a BTF or BTF.ext section.
fn header(b: &[u8]) -> Result<usize, String> {
    let magic = b.get(..2).map(|m| u16::from_le_bytes([m[0], m[1]]));
    if magic != Some(MAGIC) {
        return Err("it does not start with the BTF magic 0xeb9f (little-endian)".into());
    }
    u32_at(b, 4).map(|h| h as usize).ok_or_else(|| "its header is cut short".into())
}

impl<'a> Btf<'a> {
    /// Reads a `.BTF` section.
    pub fn parse(b: &'a [u8]) -> Result<Btf<'a>, String> {
        let hdr = header(b)?;
        let field = |i: usize| u32_at(b, 8 + 4 * i).ok_or_else(|| "its header is cut short".to_string());
        let (type_off, type_len, str_off, str_len) = (field(0)?, field(1)?, field(2)?, field(3)?);
        let types_bytes = part(b, hdr, type_off, type_len).ok_or("its type section lies outside it")?;
        let strings = part(b, hdr, str_off, str_len).ok_or("its string section lies outside it")?;
        let mut types = vec![Type { kind: 0, name: 0, vlen: 0, size_or_type: 0, extra: Vec::new() }];
        let mut at = 0;
        while at < types_bytes.len() {
            let word = |i: usize| u32_at(types_bytes, at + 4 * i).ok_or_else(|| format!("type {} is cut short", types.len()));
            let (name, info, size_or_type) = (word(0)?, word(1)?, word(2)?);
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let words = match kind {
                INT | 14 | 17 => 1,
                ARRAY => 3,
                STRUCT | UNION | DATASEC | ENUM64 => 3 * vlen as usize,
                ENUM | 13 => 2 * vlen as usize,
                1..=19 => 0,
                _ => return Err(format!("type {} has unknown kind {kind}", types.len())),
            };
            let extra = (0..words).map(|i| word(3 + i)).collect::<Result<Vec<u32>, String>>()?;
            types.push(Type { kind, name, vlen, size_or_type, extra });
            at += 12 + 4 * words;
        }
        Ok(Btf { strings, types })
    }

    /// The string at `off` of the string section.
    pub fn string(&self, off: u32) -> Option<&'a str> {
        let rest = self.strings.get(off as usize..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }

    fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize).filter(|_| id != 0)
    }

    /// The type a typedef, qualifier or tag stands for (at most 32 steps).
    fn resolve(&self, mut id: u32) -> Option<&Type> {
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG => id = t.size_or_type,
                _ => return Some(t),
            }
        }
        None
    }

    /// The size in bytes of type `id`, if it has one.
    pub fn size(&self, id: u32) -> Option<u64> {
        self.size_within(id, 32)
    }

    fn size_within(&self, id: u32, depth: u32) -> Option<u64> {
        let t = self.resolve(id)?;
        match t.kind {
            INT | STRUCT | UNION | ENUM | ENUM64 | FLOAT | DATASEC => Some(t.size_or_type as u64),
            PTR => Some(8),
            ARRAY if depth > 0 => self.size_within(t.extra[0], depth - 1)?.checked_mul(t.extra[2] as u64),
            _ => None,
        }
    }

    /// The variables of the data section `name` (`.maps`): each variable's
    /// name and type.
    pub fn section_vars(&self, name: &str) -> Vec<(&'a str, u32)> {
        let Some(sec) = self.types.iter().find(|t| t.kind == DATASEC && self.string(t.name) == Some(name)) else {
            return Vec::new();
        };
        sec.extra
            .chunks(3)
            .filter_map(|v| {
                let var = self.get(v[0])?;
                Some((self.string(var.name)?, var.size_or_type))
            })
            .collect()
    }

    /// The members of struct `id`: name and type of each.
    pub fn members(&self, id: u32) -> Vec<(&'a str, u32)> {
        match self.resolve(id) {
            Some(t) if t.kind == STRUCT => {
                (0..t.vlen as usize).filter_map(|i| Some((self.string(t.extra[3 * i])?, t.extra[3 * i + 1]))).collect()
            }
            _ => Vec::new(),
        }
    }

    /// What a pointer member points to (`__type(key, T)` is `T *key`).
    pub fn pointee(&self, id: u32) -> Option<u32> {
        self.resolve(id).filter(|t| t.kind == PTR).map(|t| t.size_or_type)
    }

    /// The number a `__uint(name, N)` member holds: `int (*name)[N]`.
    pub fn uint_member(&self, id: u32) -> Option<u32> {
        let array = self.resolve(self.pointee(id)?)?;
        (array.kind == ARRAY).then(|| array.extra[2])
    }
}

/// Where one instruction came from: 1-based line and column, and the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

/// The line information and CO-RE relocation count of a `.BTF.ext`
/// section, by the name of the code section it describes.
#[derive(Default)]
pub struct Ext {
    pub lines: HashMap<String, Vec<LineInfo>>,
    /// Code sections with CO-RE relocations, and their first instruction's offset.
    pub core_relocs: Vec<(String, u32)>,
}

impl Ext {
    /// Reads a `.BTF.ext` section, its names from `btf`.
    pub fn parse(b: &[u8], btf: &Btf) -> Result<Ext, String> {
        let hdr = header(b)?;
        let field = |i: usize| u32_at(b, 8 + 4 * i).ok_or_else(|| "its header is cut short".to_string());
        let mut ext = Ext::default();
        let lines = part(b, hdr, field(2)?, field(3)?).ok_or("its line information lies outside it")?;
        for (sec, at) in blocks(lines)? {
            let word = |i: usize| u32_at(lines, at + 4 * i).ok_or("a line record is cut short");
            let line_col = word(3)?;
            let info = LineInfo { insn_off: word(0)?, file: word(1)?, line: line_col >> 10, col: line_col & 0x3ff };
            let name = btf.string(sec).ok_or("a line record names no section")?;
            ext.lines.entry(name.to_string()).or_default().push(info);
        }
        if hdr >= 40 {
            let relocs = part(b, hdr, field(4)?, field(5)?).ok_or("its CO-RE relocations lie outside it")?;
            for (sec, at) in blocks(relocs)? {
                let name = btf.string(sec).ok_or("a CO-RE relocation names no section")?;
                ext.core_relocs.push((name.to_string(), u32_at(relocs, at).ok_or("a CO-RE record is cut short")?));
            }
        }
        Ok(ext)
    }
}

/// The records of a `.BTF.ext` subsection: a record size, then blocks of
/// (section name, count, records). Yields (section name, record offset).
fn blocks(b: &[u8]) -> Result<Vec<(u32, usize)>, String> {
    if b.is_empty() {
        return Ok(Vec::new());
    }
    let rec = u32_at(b, 0).ok_or("a record size is cut short")? as usize;
    if rec < 16 {
        return Err(format!("records of {rec} bytes are too short"));
    }
    let mut out = Vec::new();
    let mut at = 4;
    while at < b.len() {
        let sec = u32_at(b, at).ok_or("a block header is cut short")?;
        let n = u32_at(b, at + 4).ok_or("a block header is cut short")? as usize;
        at += 8;
        let end = n.checked_mul(rec).and_then(|len| at.checked_add(len)).filter(|&e| e <= b.len());
        let end = end.ok_or("a block of records runs past its section")?;
        out.extend((at..end).step_by(rec).map(|r| (sec, r)));
        at = end;
    }
    Ok(out)
}
