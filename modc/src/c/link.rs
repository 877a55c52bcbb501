//! Linking one program: the code of its `SEC("class/entry")` section, the
//! subprograms it calls (static and global functions in `.text`) appended
//! after it as libbpf does, and the relocations resolved: a map's address
//! becomes a map reference (`lddw` source 1), read-only data a map-value
//! address of the image's read-only data (source 2), a call the relative
//! offset of the appended function. The line table comes from the
//! object's BTF line information.

use std::collections::HashMap;

use super::btf::LineInfo;
use super::elf::{Object, R_BPF_64_32, R_BPF_64_64};
use super::{CError, Where};
use lkm::LineEntry;

/// Where each map and each read-only data section went in the image.
pub struct Layout {
    /// Symbol index of each map to its map number.
    pub maps: HashMap<usize, u32>,
    /// Section index of each read-only data section to its offset in the image's read-only data.
    pub rodata: HashMap<usize, u64>,
    /// The map number of the read-only data.
    pub rodata_map: u32,
}

/// A run of a section's instructions placed in the program.
#[derive(Clone, Copy)]
struct Chunk {
    section: usize,
    /// First instruction, in the section.
    start: usize,
    len: usize,
    /// First slot, in the program.
    base: usize,
}

/// One linked program: its code and line entries.
pub struct Linked {
    pub code: Vec<u8>,
    pub lines: Vec<(LineEntry, u32)>,
}

const LDDW: u8 = 0x18;
const CALL: u8 = 0x85;
/// A call's source field for a local (bpf-to-bpf) call.
const PSEUDO_CALL: u8 = 1;
const PSEUDO_MAP: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;

/// Links the program of code section `section`.
pub fn program(obj: &Object, lines: &HashMap<String, Vec<LineInfo>>, layout: &Layout, section: usize) -> Result<Linked, CError> {
    let sec = obj.sections[section].as_ref().ok_or_else(|| CError::new("a program section vanished"))?;
    let mut chunks = vec![Chunk { section, start: 0, len: sec.data.len() / 8, base: 0 }];
    let mut code = sec.data[..chunks[0].len * 8].to_vec();
    let mut i = 0;
    while i < chunks.len() {
        if code.len() / 8 > lkm::image::MAX_SLOTS {
            return Err(CError::new(format!("the program of section `{}` has {} instructions with its functions", sec.name, code.len() / 8))
                .note(format!("a program holds at most {} instruction slots", lkm::image::MAX_SLOTS)));
        }
        let c = chunks[i];
        let s = obj.sections[c.section].as_ref().ok_or_else(|| CError::new("a code section vanished"))?;
        let relocs: HashMap<u64, _> = s.relocs.iter().map(|r| (r.offset, *r)).collect();
        for j in 0..c.len {
            let at = (c.base + j) * 8;
            let (op, src) = (code[at], code[at + 1] >> 4);
            let reloc = relocs.get(&(((c.start + j) * 8) as u64));
            let here = || Where::new(lines, &s.name, (c.start + j) * 8);
            let imm = i32::from_le_bytes([code[at + 4], code[at + 5], code[at + 6], code[at + 7]]);
            if op == CALL && src == PSEUDO_CALL {
                let (tsec, target) = match reloc {
                    Some(r) if r.r_type == R_BPF_64_32 => {
                        let sym = obj.symbols.get(r.symbol).and_then(Option::as_ref);
                        let sym = sym.ok_or_else(|| CError::new("a call names a symbol that does not exist").at(here()))?;
                        let Some(tsec) = sym.section else {
                            return Err(CError::new(format!("function `{}` is called but not defined", sym.name))
                                .at(here())
                                .help("define it in this file: Warden links one object, and helpers are called by id (see warden.h)"));
                        };
                        (tsec, (sym.value / 8) as i64 + imm as i64 + 1)
                    }
                    _ => (c.section, (c.start + j) as i64 + imm as i64 + 1),
                };
                let dest = place(obj, &mut chunks, &mut code, tsec, target).ok_or_else(|| {
                    CError::new("a call goes to no function").at(here()).note("the call's target is not the start of a function in the object")
                })?;
                let off = dest as i64 - (c.base + j) as i64 - 1;
                code[at + 4..at + 8].copy_from_slice(&(off as i32).to_le_bytes());
            } else if let Some(r) = reloc {
                let sym = obj.symbols.get(r.symbol).and_then(Option::as_ref);
                let sym = sym.ok_or_else(|| CError::new("a relocation names a symbol that does not exist").at(here()))?;
                if op != LDDW || r.r_type != R_BPF_64_64 || at + 16 > code.len() {
                    return Err(CError::new(format!("unsupported relocation (type {}) against `{}`", r.r_type, sym.name)).at(here()));
                }
                if let Some(&map) = layout.maps.get(&r.symbol) {
                    code[at + 1] = (code[at + 1] & 0x0f) | (PSEUDO_MAP << 4);
                    code[at + 4..at + 8].copy_from_slice(&map.to_le_bytes());
                } else if let Some(base) = sym.section.and_then(|s| layout.rodata.get(&s)) {
                    let off = base + sym.value + imm as u64;
                    code[at + 1] = (code[at + 1] & 0x0f) | (PSEUDO_MAP_VALUE << 4);
                    code[at + 4..at + 8].copy_from_slice(&layout.rodata_map.to_le_bytes());
                    code[at + 12..at + 16].copy_from_slice(&(off as u32).to_le_bytes());
                } else {
                    let section = sym.section.and_then(|i| obj.sections.get(i)?.as_ref()).map_or("", |s| s.name.as_str());
                    return Err(writable_data(&sym.name, section).at(here()));
                }
            }
        }
        i += 1;
    }
    let mut out = Vec::new();
    for c in &chunks {
        let name = obj.sections[c.section].as_ref().map_or("", |s| s.name.as_str());
        for l in lines.get(name).into_iter().flatten() {
            let insn = l.insn_off as usize / 8;
            if l.line > 0 && (c.start..c.start + c.len).contains(&insn) {
                out.push((LineEntry { slot: (c.base + insn - c.start) as u32, line: l.line, col: l.col }, l.file));
            }
        }
    }
    out.sort_by_key(|(e, _)| e.slot);
    Ok(Linked { code, lines: out })
}

/// The program slot of instruction `target` of section `section`: inside a
/// chunk already placed, or in the function holding it, appended now.
fn place(obj: &Object, chunks: &mut Vec<Chunk>, code: &mut Vec<u8>, section: usize, target: i64) -> Option<usize> {
    let t = usize::try_from(target).ok()?;
    if let Some(c) = chunks.iter().find(|c| c.section == section && (c.start..c.start + c.len).contains(&t)) {
        return Some(c.base + t - c.start);
    }
    let holds = |s: &&super::elf::Symbol| {
        s.func && s.value.is_multiple_of(8) && s.value.checked_add(s.size).is_some_and(|end| s.value / 8 <= t as u64 && (t as u64) < end / 8)
    };
    let f = obj.symbols_in(section).find(holds)?;
    let data = obj.sections.get(section)?.as_ref()?.data;
    let bytes = data.get(usize::try_from(f.value).ok()?..usize::try_from(f.value + f.size).ok()?)?;
    let lo = f.value as usize;
    let c = Chunk { section, start: lo / 8, len: bytes.len() / 8, base: code.len() / 8 };
    code.extend_from_slice(&bytes[..c.len * 8]);
    chunks.push(c);
    Some(c.base + t - c.start)
}

/// The error for a use of data Warden cannot give a module.
fn writable_data(name: &str, section: &str) -> CError {
    let e = CError::new(format!("`{name}` is a global variable in `{section}`, which Warden modules cannot have"));
    if section.starts_with(".data") || section.starts_with(".bss") {
        e.note("a Warden module's only data are its maps and read-only constants")
            .help(format!("make `{name}` `const` if it never changes, or keep it in an array map of one entry"))
    } else {
        e.help("a module's data are maps in `SEC(\".maps\")` and `const` data in `.rodata`")
    }
}
