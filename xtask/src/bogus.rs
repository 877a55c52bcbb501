//! The bogus module images of `tests/bogus/`, written into the initrd under
//! `/modules/bogus/` for the `modules_bogus` scenario: each must be refused
//! by the kernel with a clear message, and the kernel must go on.
//!
//! Two kinds:
//! - `tests/bogus/NAME.s`: a program in assembly with its image described
//!   in `;` comment directives, each breaking one rule (a verifier rule, an
//!   entry point, a port, the memory budget):
//!
//!   | directive | meaning |
//!   |---|---|
//!   | `; module: NAME` | module name |
//!   | `; class: misc` / `exec` / `syscall NR\|next` / `vfs FSTYPE` / `dev NAME [MAJOR]` | class and parameters |
//!   | `; map: array VALUE ENTRIES` / `hash KEY VALUE ENTRIES` | a map |
//!   | `; port: START COUNT` | a declared port range |
//!   | `; rule: KIND` | the verifier refuses it with error kind KIND |
//!   | `; image-error: TEXT` | parsing the image fails with TEXT in the message |
//!   | `; refused-by: kernel` | only the kernel's policy refuses it (ports, budget) |
//!   | `; entry: NAME` | the lines after it, up to the next `entry`, are program NAME |
//!
//!   Each image carries a line table into `modules/bogus/NAME.s`, so the
//!   rejection shows the offending line.
//! - corruptions of a good image made here ([`corruptions`]): empty,
//!   truncated, bad magic, bad version, unknown class, trailing bytes, a
//!   slot count past the end, and one larger than `LMRESERV` accepts.

use std::fs;
use std::path::Path;

use lkm::{ClassParams, Image, LineEntry, LineTable, MapDecl, MapKind, PortDecl, ProgramImage};

/// How a bogus image is expected to be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The verifier, with this error kind (`uninit-register`, ...).
    Rule(String),
    /// Parsing the image, with this text in the message.
    ImageError(String),
    /// Only the kernel (port allowlist, memory budget).
    Kernel,
}

/// One `tests/bogus/*.s` file, assembled.
#[derive(Debug)]
pub struct Bogus {
    pub file: String,
    pub image: Image,
    /// How it must be refused; `None` for a module the verifier must
    /// accept (the hostile modules of `tests/hostile/*.s`).
    pub refusal: Option<Refusal>,
}

/// Parses and assembles one source in this format; errors name file and
/// line. (The hostile modules of `tests/hostile/*.s` use it too, without
/// a refusal directive: see `modules.rs`.)
pub fn parse(file: &str, text: &str) -> Result<Bogus, String> {
    let mut name = None;
    let mut params = ClassParams::Misc;
    let mut maps = Vec::new();
    let mut ports = Vec::new();
    let mut refusal = None;
    // (entry, first line number, source lines)
    let mut programs: Vec<(String, usize, Vec<&str>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |what: &str| format!("{file}:{}: {what}", i + 1);
        let directive = line.trim().strip_prefix(';').and_then(|d| d.trim().split_once(':'));
        let Some((key, value)) = directive.filter(|(k, _)| KEYS.contains(&k.trim())) else {
            if let Some(p) = programs.last_mut() {
                p.2.push(line);
            }
            continue;
        };
        let words: Vec<&str> = value.split_whitespace().collect();
        match (key.trim(), words.as_slice()) {
            ("module", [n]) => name = Some(n.to_string()),
            ("class", ["misc"]) => params = ClassParams::Misc,
            ("class", ["exec"]) => params = ClassParams::Exec,
            ("class", ["syscall", "next"]) => params = ClassParams::Syscall { nr: lkm::class::SYSCALL_NEXT_FREE },
            ("class", ["syscall", nr]) => params = ClassParams::Syscall { nr: number(nr).ok_or_else(|| at("bad number"))? },
            ("class", ["vfs", fstype]) => params = ClassParams::Vfs { fstype: fstype.to_string() },
            ("class", ["dev", dev]) => params = ClassParams::Dev { major: lkm::class::MAJOR_ANY, name: dev.to_string() },
            ("class", ["dev", dev, major]) => {
                params = ClassParams::Dev { major: number(major).ok_or_else(|| at("bad number"))?, name: dev.to_string() }
            }
            ("map", ["array", value, entries]) => maps.push(map(MapKind::Array, "4", value, entries).ok_or_else(|| at("bad map"))?),
            ("map", ["hash", key, value, entries]) => maps.push(map(MapKind::Hash, key, value, entries).ok_or_else(|| at("bad map"))?),
            ("port", [start, count]) => {
                let (Some(start), Some(count)) = (number(start), number(count)) else { return Err(at("bad port range")) };
                let (Ok(start), Ok(count)) = (u16::try_from(start), u16::try_from(count)) else {
                    return Err(at("port range out of 16 bits"));
                };
                ports.push(PortDecl { start, count });
            }
            ("rule", [kind]) => refusal = Some(Refusal::Rule(kind.to_string())),
            ("image-error", _) => refusal = Some(Refusal::ImageError(value.trim().to_string())),
            ("refused-by", ["kernel"]) => refusal = Some(Refusal::Kernel),
            ("entry", [entry]) => programs.push((entry.to_string(), i + 2, Vec::new())),
            _ => return Err(at(&format!("cannot read directive `{}`", line.trim()))),
        }
    }
    let name = name.ok_or_else(|| format!("{file}: no `; module: NAME` directive"))?;
    let mut images = Vec::new();
    let mut lines = LineTable { source: format!("modules/bogus/{file}"), programs: Vec::new() };
    for (entry, first_line, body) in programs {
        let src = body.join("\n");
        let program = verifier::assemble(&src).map_err(|e| format!("{file}: program `{entry}`: {e}"))?;
        lines.programs.push(line_table(&body, first_line, program.insns()));
        images.push(ProgramImage { entry, code: verifier::encode(&program) });
    }
    let image = Image { name, params, programs: images, maps, rodata: Vec::new(), ports, lines: Some(lines) };
    Ok(Bogus { file: file.to_string(), image, refusal })
}

const KEYS: &[&str] = &["module", "class", "map", "port", "rule", "image-error", "refused-by", "entry"];

fn number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn map(kind: MapKind, key: &str, value: &str, entries: &str) -> Option<MapDecl> {
    Some(MapDecl {
        name: String::new(),
        kind,
        key_size: number(key)?,
        value_size: number(value)?,
        max_entries: number(entries)?,
    })
}

/// Slot-to-line entries: each line holding an instruction (after its
/// comment and labels are taken off) is one instruction, in order.
fn line_table(body: &[&str], first_line: usize, insns: &[verifier::Insn]) -> Vec<LineEntry> {
    let mut out = Vec::new();
    let mut slot = 0usize;
    let mut insn = insns.iter().filter(|i| !matches!(i, verifier::Insn::Imm64Tail));
    for (i, line) in body.iter().enumerate() {
        let mut code = line.split([';', '#']).next().unwrap_or("").trim();
        while let Some((label, rest)) = code.split_once(':') {
            if !label.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            code = rest.trim();
        }
        if code.is_empty() {
            continue;
        }
        let Some(ins) = insn.next() else { break };
        let col = line.len() - line.trim_start().len() + 1;
        out.push(LineEntry { slot: slot as u32, line: (first_line + i) as u32, col: col as u32 });
        slot += ins.slots();
    }
    out
}

/// Damaged copies of a good image, each with its file name.
pub fn corruptions(good: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = vec![("empty.lkm", Vec::new())];
    out.push(("truncated.lkm", good[..good.len() / 2].to_vec()));
    out.push(("truncated_header.lkm", good[..6.min(good.len())].to_vec()));
    let mut bad_magic = good.to_vec();
    bad_magic[..4].copy_from_slice(b"\x7fELF");
    out.push(("bad_magic.lkm", bad_magic));
    let mut bad_version = good.to_vec();
    bad_version[4..6].copy_from_slice(&99u16.to_le_bytes());
    out.push(("bad_version.lkm", bad_version));
    let mut bad_class = good.to_vec();
    bad_class[6] = 9;
    out.push(("bad_class.lkm", bad_class));
    let mut trailing = good.to_vec();
    trailing.extend_from_slice(b"trailing garbage");
    out.push(("trailing.lkm", trailing));
    if let Some(at) = first_slot_count(good) {
        let mut huge = good.to_vec();
        huge[at..at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        out.push(("slot_count.lkm", huge));
    }
    let mut oversized = good.to_vec();
    oversized.resize(lkm::ioctl::MAX_IMAGE_SIZE as usize + 4096, 0);
    out.push(("oversized.lkm", oversized));
    out
}

/// Offset of the first program's slot count in a misc-class image
/// (magic, version, class, flags, name, program count, entry name).
fn first_slot_count(good: &[u8]) -> Option<usize> {
    let name_len = *good.get(8)? as usize;
    let entry_at = 9 + name_len + 2;
    let entry_len = *good.get(entry_at)? as usize;
    let at = entry_at + 1 + entry_len;
    (at + 4 <= good.len()).then_some(at)
}

/// A good, small image for the corruptions: a misc module whose `load` returns 0.
pub fn good_image() -> Image {
    let program = verifier::assemble("r0 = 0\nexit\n").expect("a two-line program assembles");
    Image {
        name: "bogus_base".into(),
        params: ClassParams::Misc,
        programs: vec![ProgramImage { entry: "load".into(), code: verifier::encode(&program) }],
        maps: Vec::new(),
        rodata: Vec::new(),
        ports: Vec::new(),
        lines: None,
    }
}

/// Every bogus image (and the `.s` sources, for their line tables, and an
/// `INDEX` saying how each must be refused) as `(file name, bytes)` for
/// `/modules/bogus/`.
pub fn build(root: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let dir = root.join("tests/bogus");
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "s"))
        .collect();
    entries.sort();
    let mut out = Vec::new();
    let mut index = String::new();
    for path in entries {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let bogus = parse(&file, &text)?;
        let stem = bogus.file.trim_end_matches(".s");
        let Some(refusal) = &bogus.refusal else {
            return Err(format!("{file}: no `; rule:`, `; image-error:` or `; refused-by:` directive"));
        };
        let how = match refusal {
            Refusal::Rule(kind) => format!("refused by the verifier: {kind}"),
            Refusal::ImageError(text) => format!("refused when parsed: {text}"),
            Refusal::Kernel => "refused by the kernel's policy (ports, memory budget)".to_string(),
        };
        index += &format!("{:<28} {how}\n", format!("{stem}.lkm"));
        out.push((format!("{stem}.lkm"), bogus.image.to_bytes()));
        out.push((file, text.into_bytes()));
    }
    index.insert_str(0, "# /modules/bogus: every image here must be refused (tests/bogus, xtask/src/bogus.rs)\n");
    for (name, bytes) in corruptions(&good_image().to_bytes()) {
        index += &format!("{name:<28} a damaged image: refused when parsed (or, oversized, when reserved)\n");
        out.push((name.to_string(), bytes));
    }
    out.push(("INDEX".to_string(), index.into_bytes()));
    Ok(out)
}

#[cfg(test)]
mod tests;
