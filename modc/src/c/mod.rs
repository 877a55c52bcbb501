//! C modules: an object clang wrote for `-target bpf` (libbpf conventions,
//! `warden.h`) made into the same `.lkm` image `modc` builds from `.wm`.
//!
//! * [`clang`]: finding clang and running it on a `.c` file;
//! * [`elf`]: the object's sections, symbols and relocations;
//! * [`btf`]: the object's BTF: map definitions and line information;
//! * [`link`]: one program with its subprograms, relocations resolved;
//! * [`header`]: `warden.h`, generated from the `lkm` crate's tables;
//! * this file: the module as a whole: its `MODULE` and `PORTS` lines,
//!   maps, read-only data and programs, and errors at the C line.
//!
//! docs/c-modules.md describes what of libbpf's conventions is supported.

pub mod btf;
pub mod clang;
pub mod elf;
pub mod header;
pub mod link;

use std::collections::HashMap;
use std::path::Path;

use crate::diag::{render, Diag};
use btf::{Btf, Ext, LineInfo};
use elf::Object;
use lkm::{Image, LineTable, MapDecl, MapKind, ProgramImage};

/// Linux's `BPF_MAP_TYPE_HASH`.
pub const BPF_MAP_TYPE_HASH: u32 = 1;
/// Linux's `BPF_MAP_TYPE_ARRAY`.
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// Linux's `BPF_MAP_TYPE_PERCPU_ARRAY`.
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;

/// Where an instruction came from in the C source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Where {
    /// The file name's offset in the BTF strings.
    file: u32,
    line: u32,
    col: u32,
}

impl Where {
    /// The position of the instruction at byte `off` of section `section`:
    /// the last line record at or before it.
    fn new(lines: &HashMap<String, Vec<LineInfo>>, section: &str, off: usize) -> Option<Where> {
        let l = lines.get(section)?.iter().filter(|l| l.insn_off as usize <= off).max_by_key(|l| l.insn_off)?;
        Some(Where { file: l.file, line: l.line, col: l.col })
    }
}

/// An error reading a C module, at a C line when one is known.
#[derive(Clone, Debug)]
pub struct CError {
    message: String,
    at: Option<Where>,
    notes: Vec<String>,
    help: Option<String>,
}

impl CError {
    fn new(message: impl Into<String>) -> CError {
        CError { message: message.into(), at: None, notes: Vec::new(), help: None }
    }
    fn at(mut self, at: Option<Where>) -> CError {
        self.at = at;
        self
    }
    fn note(mut self, note: impl Into<String>) -> CError {
        self.notes.push(note.into());
        self
    }
    fn help(mut self, help: impl Into<String>) -> CError {
        self.help = Some(help.into());
        self
    }

    /// The error as text: a diagnostic at the C line when the source file
    /// can be read, else `error:` with ` --> file:line:col`.
    fn render(&self, object: &str, btf: Option<&Btf>) -> String {
        let pos = self.at.and_then(|w| Some((btf?.string(w.file)?.to_string(), w.line, w.col)));
        if let Some((file, line, col)) = &pos
            && let Ok(source) = std::fs::read_to_string(file)
            && let Some(span) = crate::driver::span_at(&source, *line, *col)
        {
            let mut d = Diag::error(self.message.clone(), span, "here");
            for n in &self.notes {
                d = d.note(n.clone());
            }
            if let Some(h) = &self.help {
                d = d.help(h.clone());
            }
            return render(file, &source, &[d]);
        }
        let mut s = format!("error: {}\n", self.message);
        match &pos {
            Some((file, line, col)) => s += &format!("  --> {file}:{line}:{col}\n"),
            None => s += &format!("  --> {object}\n"),
        }
        for n in &self.notes {
            s += &format!("   = note: {n}\n");
        }
        if let Some(h) = &self.help {
            s += &format!("   = help: {h}\n");
        }
        s
    }
}

/// The image of a C module: a `.c` file compiled with clang first (with
/// `warden.h` written beside the object), or an `.o` clang already wrote.
pub fn image_of_file(path: &Path) -> Result<Image, String> {
    let is_c = path.extension().is_some_and(|e| e == "c");
    let object = if is_c { clang::scratch_object(path) } else { path.to_path_buf() };
    if is_c {
        let compiler = clang::find()?;
        let include = object.with_extension("include");
        std::fs::create_dir_all(&include)
            .and_then(|()| std::fs::write(include.join("warden.h"), header::warden_h()))
            .map_err(|e| format!("error: cannot write `warden.h` into `{}`: {e}\n", include.display()))?;
        let compiled = clang::compile(&compiler, path, &include, &object);
        let _ = std::fs::remove_dir_all(&include);
        compiled?;
    }
    let bytes = std::fs::read(&object).map_err(|e| format!("error: cannot read `{}`: {e}\n", object.display()));
    if is_c {
        let _ = std::fs::remove_file(&object);
    }
    read_object(&bytes?, &path.display().to_string())
}

/// Reads an object (`object` names it in messages) into an image whose
/// line table names the C source. Errors come rendered.
pub fn read_object(bytes: &[u8], object: &str) -> Result<Image, String> {
    let refuse = |why: String| format!("error: `{object}` is not a BPF object Warden can load: {why}\n");
    let obj = Object::parse(bytes).map_err(refuse)?;
    let btf = match obj.section(".BTF") {
        Some((_, s)) => Some(Btf::parse(s.data).map_err(|e| refuse(format!("its `.BTF` section is malformed: {e}")))?),
        None => None,
    };
    let ext = match (obj.section(".BTF.ext"), &btf) {
        (Some((_, s)), Some(btf)) => Ext::parse(s.data, btf).map_err(|e| refuse(format!("its `.BTF.ext` section is malformed: {e}")))?,
        _ => Ext::default(),
    };
    module(&obj, btf.as_ref(), &ext, object).map_err(|e| e.render(object, btf.as_ref()))
}

fn module(obj: &Object, btf: Option<&Btf>, ext: &Ext, object: &str) -> Result<Image, CError> {
    if let Some((section, off)) = ext.core_relocs.first() {
        return Err(CError::new("CO-RE relocations are not supported")
            .at(Where::new(&ext.lines, section, *off as usize))
            .note("Warden's contexts have fixed layouts (warden.h); there are no kernel types to relocate against")
            .help("read context fields directly instead of through `BPF_CORE_READ` or `__builtin_preserve_access_index`"));
    }
    let (name, params, ports) = header(obj)?;
    let (maps, map_symbols) = maps(obj, btf, &ext.lines)?;
    let (rodata, rodata_sections) = rodata(obj, &ext.lines)?;
    let layout = link::Layout { maps: map_symbols, rodata: rodata_sections, rodata_map: maps.len() as u32 };
    let class = params.class();
    let mut programs = Vec::new();
    let mut tables = Vec::new();
    let mut source = None;
    for (index, s) in obj.sections.iter().enumerate() {
        let Some(s) = s.as_ref().filter(|s| s.code && s.name != ".text" && !s.data.is_empty()) else { continue };
        let at = || Where::new(&ext.lines, &s.name, 0);
        let entry = match s.name.split_once('/') {
            Some((c, e)) if c == class.name() && class.entry(e).is_some() => e,
            Some((c, e)) if c == class.name() => {
                let names: Vec<&str> = class.entries().iter().map(|e| e.name).collect();
                return Err(CError::new(format!("class `{c}` has no entry point `{e}`"))
                    .at(at())
                    .help(format!("its entry points are {}", names.join(", "))));
            }
            _ => {
                return Err(CError::new(format!("section `{}` is not an entry point of this `{}` module", s.name, class.name()))
                    .at(at())
                    .help(format!("write `SEC(\"{}/ENTRY\")` on each entry point; shared functions need no section", class.name())));
            }
        };
        let functions: Vec<&str> = obj.symbols_in(index).filter(|f| f.func && f.global).map(|f| f.name.as_str()).collect();
        if let [_, second, ..] = functions.as_slice() {
            return Err(CError::new(format!("section `{}` holds more than one function (`{second}` too)", s.name))
                .at(at())
                .help("give each entry point its own section; a function shared by entry points needs no section"));
        }
        if programs.iter().any(|p: &ProgramImage| p.entry == entry) {
            return Err(CError::new(format!("entry point `{entry}` is defined twice")).at(at()));
        }
        let linked = link::program(obj, &ext.lines, &layout, index)?;
        source = source.or_else(|| linked.lines.first().map(|(_, f)| *f));
        programs.push(ProgramImage { entry: entry.to_string(), code: linked.code });
        tables.push(linked.lines);
    }
    if programs.is_empty() {
        return Err(CError::new(format!("`{object}` has no entry points"))
            .help(format!("put each entry point in a section named after it: `SEC(\"{}/{}\")`", class.name(), class.entries()[0].name)));
    }
    let lines = source.and_then(|f| Some((f, btf?.string(f)?))).map(|(f, name)| LineTable {
        source: name.to_string(),
        programs: tables.iter().map(|t| t.iter().filter(|(_, file)| *file == f).map(|(e, _)| *e).collect()).collect(),
    });
    let image = Image { name, params, programs, maps, rodata, ports, lines };
    lkm::parse(&image.to_bytes()).map_err(|e| CError::new(format!("the module does not fit in an image: {e}")))?;
    Ok(image)
}

/// The `MODULE` line (section `module`) and `PORTS` lines (section
/// `ports`), checked as the `.wm` header they spell.
fn header(obj: &Object) -> Result<crate::check::ModuleHeader, CError> {
    let strings = |name: &str| -> Vec<String> {
        let Some((index, s)) = obj.section(name) else { return Vec::new() };
        let mut syms: Vec<&elf::Symbol> = obj.symbols_in(index).filter(|s| !s.func && s.name != name).collect();
        syms.sort_by_key(|s| s.value);
        syms.iter()
            .filter_map(|sym| s.data.get(sym.value as usize..)?.split(|&b| b == 0).next())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    };
    let module = strings("module");
    let [line] = module.as_slice() else {
        return Err(CError::new(format!("a C module needs exactly one `MODULE` line, and this object has {}", module.len()))
            .help("write `MODULE(name, class);` after `#include <warden.h>`, e.g. `MODULE(hello, misc);`"));
    };
    let mut text = format!("module {line};\n");
    for p in strings("ports") {
        text += &format!("ports {p};\n");
    }
    let mut diags = Vec::new();
    let toks = crate::lexer::lex(&text, &mut diags);
    let (m, parse_diags) = crate::parser::parse(&toks);
    diags.extend(parse_diags);
    let (header, check_diags) = crate::check::header_only(&m);
    diags.extend(check_diags);
    match header {
        Some(h) if diags.is_empty() => Ok(h),
        _ => Err(CError::new(format!("the module's `MODULE`/`PORTS` lines are wrong:\n{}", render("MODULE", &text, &diags).trim_end()))),
    }
}

/// The maps: BTF-defined ones in `.maps`, legacy `struct bpf_map_def`s in
/// `maps`; each with the symbol index relocations name it by.
fn maps(obj: &Object, btf: Option<&Btf>, lines: &HashMap<String, Vec<LineInfo>>) -> Result<(Vec<MapDecl>, HashMap<usize, u32>), CError> {
    let mut out = Vec::new();
    let mut by_symbol = HashMap::new();
    for section in [".maps", "maps"] {
        let Some((index, s)) = obj.section(section) else { continue };
        let mut syms: Vec<(usize, &elf::Symbol)> =
            obj.symbols.iter().enumerate().filter_map(|(i, s)| Some((i, s.as_ref()?))).filter(|(_, s)| s.section == Some(index) && s.name != section).collect();
        syms.sort_by_key(|(_, s)| s.value);
        for (i, sym) in syms {
            let def = if section == ".maps" { btf_map(btf, &sym.name) } else { legacy_map(s.data, sym) };
            let decl = def.and_then(|def| map_decl(&sym.name, def)).map_err(|e| match first_use(obj, lines, |s| s == i) {
                Some(at) => e.at(Some(at)).note(format!("the line shown is the first use of `{}`", sym.name)),
                None => e,
            })?;
            by_symbol.insert(i, out.len() as u32);
            out.push(decl);
        }
    }
    Ok((out, by_symbol))
}

/// The C position of the first instruction naming a symbol `used` picks.
fn first_use(obj: &Object, lines: &HashMap<String, Vec<LineInfo>>, used: impl Fn(usize) -> bool) -> Option<Where> {
    obj.sections.iter().flatten().filter(|s| s.code).find_map(|s| {
        let r = s.relocs.iter().filter(|r| used(r.symbol)).min_by_key(|r| r.offset)?;
        Where::new(lines, &s.name, r.offset as usize)
    })
}

/// A map's definition: type, key size, value size, most entries.
type MapDef = (u32, Option<u64>, Option<u64>, Option<u32>);

fn btf_map(btf: Option<&Btf>, name: &str) -> Result<MapDef, CError> {
    let missing = || CError::new(format!("map `{name}` has no BTF description")).help("compile with `-g` so that clang writes the map's type (`modc build` does)");
    let btf = btf.ok_or_else(missing)?;
    let (_, ty) = btf.section_vars(".maps").into_iter().find(|(n, _)| *n == name).ok_or_else(missing)?;
    let (mut kind, mut key, mut value, mut max) = (None, None, None, None);
    for (member, t) in btf.members(ty) {
        match member {
            "type" => kind = btf.uint_member(t),
            "max_entries" => max = btf.uint_member(t),
            "key" => key = btf.pointee(t).and_then(|k| btf.size(k)),
            "value" => value = btf.pointee(t).and_then(|v| btf.size(v)),
            "key_size" => key = btf.uint_member(t).map(u64::from),
            "value_size" => value = btf.uint_member(t).map(u64::from),
            other => {
                return Err(CError::new(format!("map `{name}` has member `{other}`, which Warden maps do not have"))
                    .help("a map declares `type`, `key`, `value` (or `key_size`, `value_size`) and `max_entries`"));
            }
        }
    }
    let kind = kind.ok_or_else(|| CError::new(format!("map `{name}` has no `type`")).help("add `__uint(type, BPF_MAP_TYPE_ARRAY);` or `BPF_MAP_TYPE_HASH`"))?;
    Ok((kind, key, value, max))
}

/// `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }`.
fn legacy_map(data: &[u8], sym: &elf::Symbol) -> Result<MapDef, CError> {
    let at = sym.value as usize;
    let word = |i: usize| {
        let b = data.get(at.checked_add(4 * i)?..at.checked_add(4 * i + 4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let def = (|| Some((word(0)?, Some(word(1)? as u64), Some(word(2)? as u64), Some(word(3)?))))();
    def.ok_or_else(|| CError::new(format!("map `{}` in section `maps` is cut short", sym.name)))
}

fn map_decl(name: &str, (kind, key, value, max): MapDef) -> Result<MapDecl, CError> {
    let kind = match kind {
        BPF_MAP_TYPE_ARRAY => MapKind::Array,
        BPF_MAP_TYPE_HASH => MapKind::Hash,
        BPF_MAP_TYPE_PERCPU_ARRAY => MapKind::PerCpuArray,
        other => {
            return Err(CError::new(format!("map `{name}` has type {other}, which Warden does not have"))
                .note("Warden has array maps (`BPF_MAP_TYPE_ARRAY`, 2), hash maps (`BPF_MAP_TYPE_HASH`, 1) and per-CPU array maps (`BPF_MAP_TYPE_PERCPU_ARRAY`, 6)"));
        }
    };
    let size = |what: &str, v: Option<u64>| {
        v.and_then(|v| u32::try_from(v).ok()).filter(|&v| v > 0).ok_or_else(|| {
            CError::new(format!("map `{name}` has no {what} size")).help(format!("declare it with `__type({what}, TYPE);`"))
        })
    };
    let key_size = size("key", key)?;
    let value_size = size("value", value)?;
    if kind != MapKind::Hash && key_size != 4 {
        return Err(CError::new(format!("array map `{name}` has a key of {key_size} bytes")).help("an array's key is its index: `__type(key, __u32);`"));
    }
    let max_entries = max.filter(|&m| m > 0).ok_or_else(|| {
        CError::new(format!("map `{name}` has no `max_entries`")).help("add `__uint(max_entries, N);`")
    })?;
    Ok(MapDecl { name: name.to_string(), kind, key_size, value_size, max_entries })
}

/// The read-only data: every `.rodata*` section, each at a multiple of 8,
/// with where each went.
fn rodata(obj: &Object, lines: &HashMap<String, Vec<LineInfo>>) -> Result<(Vec<u8>, HashMap<usize, u64>), CError> {
    let mut out = Vec::new();
    let mut at = HashMap::new();
    for (index, s) in obj.sections.iter().enumerate() {
        let Some(s) = s.as_ref().filter(|s| s.name.starts_with(".rodata")) else { continue };
        if let Some(r) = s.relocs.first() {
            let target = obj.symbols.get(r.symbol).and_then(Option::as_ref).map_or("", |t| t.name.as_str());
            let in_section = |i: usize| obj.symbols.get(i).and_then(Option::as_ref).is_some_and(|t| t.section == Some(index));
            return Err(CError::new(format!("the read-only data in `{}` holds the address of `{target}`", s.name))
                .at(first_use(obj, lines, in_section))
                .note("read-only data is copied into the module as bytes; an address in it would point nowhere")
                .help("keep indices or offsets in constant tables, not pointers (`const char *names[]` is one)"));
        }
        out.resize(out.len().next_multiple_of(8), 0);
        at.insert(index, out.len() as u64);
        out.extend_from_slice(s.data);
        if out.len() > lkm::image::MAX_RODATA {
            return Err(CError::new(format!("the module's read-only data (`{}` and others) take more than {} bytes", s.name, lkm::image::MAX_RODATA)));
        }
    }
    Ok((out, at))
}
