//! The ELF relocatable object clang writes for `-target bpf`, read with the
//! `object` crate into plain tables: sections by index, symbols by index,
//! and each section's relocations. Only little-endian 64-bit BPF objects
//! are accepted.

use object::{Architecture, Object as _, ObjectKind, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionKind, SymbolKind, SymbolSection};

/// One section of the object.
pub struct Section<'a> {
    pub name: String,
    pub data: &'a [u8],
    /// Whether it holds instructions (`SHF_EXECINSTR`).
    pub code: bool,
    pub relocs: Vec<Reloc>,
}

/// A relocation: at byte `offset` of its section, against symbol `symbol`.
#[derive(Clone, Copy, Debug)]
pub struct Reloc {
    pub offset: u64,
    pub symbol: usize,
    pub r_type: u32,
}

/// One symbol of the object.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// Its name; a section symbol has its section's name.
    pub name: String,
    /// The index of the section it is defined in (`None` when undefined).
    pub section: Option<usize>,
    pub value: u64,
    pub size: u64,
    pub func: bool,
    pub global: bool,
}

/// The object's sections (by ELF index; `None` for those not read) and symbols.
pub struct Object<'a> {
    pub sections: Vec<Option<Section<'a>>>,
    pub symbols: Vec<Option<Symbol>>,
}

/// `R_BPF_64_64`: the 64-bit immediate of an `lddw` (a map or data address).
pub const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_32`: the immediate of a call (a function's address).
pub const R_BPF_64_32: u32 = 10;

impl<'a> Object<'a> {
    /// Reads an object, or says why it is not a BPF object Warden can read.
    pub fn parse(bytes: &'a [u8]) -> Result<Object<'a>, String> {
        let file = object::File::parse(bytes).map_err(|e| format!("it is not an ELF object ({e})"))?;
        if file.architecture() != Architecture::Bpf {
            return Err(format!("it is an object for {:?}, not for BPF", file.architecture()));
        }
        if !file.is_little_endian() || !file.is_64() {
            return Err("it is a big-endian or 32-bit BPF object; Warden runs little-endian 64-bit BPF".into());
        }
        if file.kind() != ObjectKind::Relocatable {
            return Err("it is not a relocatable object (compile with `-c`)".into());
        }
        let mut sections: Vec<Option<Section>> = Vec::new();
        for s in file.sections() {
            let index = s.index().0;
            let name = s.name().map_err(|e| format!("section {index} has no readable name ({e})"))?.to_string();
            let data = s.data().map_err(|e| format!("section `{name}` lies outside the file ({e})"))?;
            let mut relocs = Vec::new();
            for (offset, r) in s.relocations() {
                let (RelocationTarget::Symbol(sym), RelocationFlags::Elf { r_type }) = (r.target(), r.flags()) else {
                    return Err(format!("section `{name}` has a relocation at {offset:#x} that names no symbol"));
                };
                relocs.push(Reloc { offset, symbol: sym.0, r_type: r_type.0 });
            }
            if sections.len() <= index {
                sections.resize_with(index + 1, || None);
            }
            sections[index] = Some(Section { name, data, code: s.kind() == SectionKind::Text, relocs });
        }
        let mut symbols: Vec<Option<Symbol>> = Vec::new();
        for sym in file.symbols() {
            let index = sym.index().0;
            let section = match sym.section() {
                SymbolSection::Section(i) => Some(i.0),
                _ => None,
            };
            let name = match (sym.kind(), section) {
                (SymbolKind::Section, Some(i)) => sections.get(i).and_then(Option::as_ref).map(|s| s.name.clone()),
                _ => sym.name().ok().map(str::to_string),
            };
            let symbol = Symbol {
                name: name.unwrap_or_default(),
                section,
                value: sym.address(),
                size: sym.size(),
                func: sym.kind() == SymbolKind::Text,
                global: sym.is_global(),
            };
            if symbols.len() <= index {
                symbols.resize_with(index + 1, || None);
            }
            symbols[index] = Some(symbol);
        }
        Ok(Object { sections, symbols })
    }

    /// The section named `name`, with its index.
    pub fn section(&self, name: &str) -> Option<(usize, &Section<'a>)> {
        self.sections.iter().enumerate().find_map(|(i, s)| s.as_ref().filter(|s| s.name == name).map(|s| (i, s)))
    }

    /// The symbols defined in section `index`.
    pub fn symbols_in(&self, index: usize) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().flatten().filter(move |s| s.section == Some(index))
    }
}
