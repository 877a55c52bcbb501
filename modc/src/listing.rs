//! `modc disasm`: an image as LLVM-style assembly, with labels at jump
//! targets and the source lines interleaved; and the image `modc asm` makes.

use lkm::{ClassParams, Image, ProgramImage};
use verifier::{Insn, Program};

/// The listing of every program of an image.
pub fn listing(image: &Image, source: Option<&str>) -> String {
    listing_with_names(image, source, &[])
}

/// Like [`listing`], labelling local functions by name: `names` holds
/// (program index, first slot, function name), as the compiler knows them.
pub fn listing_with_names(image: &Image, source: Option<&str>, names: &[(usize, usize, String)]) -> String {
    let lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    let mut out = format!("; module {} ({})\n", image.name, image.params.class().name());
    for (i, m) in image.maps.iter().enumerate() {
        out += &format!("; map[{i}] {}: {:?} key {} value {} entries {}\n", m.name, m.kind, m.key_size, m.value_size, m.max_entries);
    }
    out += &format!("; map[{}] read-only data, {} bytes\n", image.maps.len(), image.rodata.len());
    for (pi, p) in image.programs.iter().enumerate() {
        out += &format!("\n{}:\n", p.entry);
        let program = match verifier::decode(&p.code) {
            Ok(prog) => prog,
            Err(e) => {
                out += &format!("  ; cannot decode: {e}\n");
                continue;
            }
        };
        let insns = program.insns();
        let mut targets: Vec<usize> = insns
            .iter()
            .enumerate()
            .filter(|(_, ins)| !matches!(ins, Insn::CallLocal { .. }))
            .filter_map(|(pc, ins)| ins.target(pc))
            .filter(|&t| t >= 0)
            .map(|t| t as usize)
            .collect();
        let mut calls: Vec<usize> = insns
            .iter()
            .enumerate()
            .filter(|(_, ins)| matches!(ins, Insn::CallLocal { .. }))
            .filter_map(|(pc, ins)| ins.target(pc))
            .map(|t| t as usize)
            .collect();
        targets.sort_unstable();
        targets.dedup();
        calls.sort_unstable();
        calls.dedup();
        let label = |t: usize| -> String {
            if let Some((_, _, name)) = names.iter().find(|(p, start, _)| *p == pi && *start == t) {
                if calls.contains(&t) {
                    return name.clone();
                }
            }
            if calls.contains(&t) { format!("fn_{t}") } else { format!("LBB{pi}_{t}") }
        };
        let mut last_line = 0;
        for (pc, insn) in insns.iter().enumerate() {
            if matches!(insn, Insn::Imm64Tail) {
                continue;
            }
            if calls.contains(&pc) || targets.contains(&pc) {
                out += &format!("{}:\n", label(pc));
            }
            if let Some(e) = image.lines.as_ref().and_then(|t| t.lookup(pi, pc))
                && e.line != last_line {
                    last_line = e.line;
                    if let Some(text) = e.line.checked_sub(1).and_then(|l| lines.get(l as usize)) {
                        out += &format!("  ; {}:{}: {}\n", e.line, e.col, text.trim());
                    }
                }
            let text = match insn.target(pc) {
                Some(t) if !matches!(insn, Insn::CallLocal { .. }) => {
                    let plain = verifier::disasm(insn);
                    match plain.rfind("goto") {
                        Some(at) => format!("{}goto {}", &plain[..at], label(t as usize)),
                        None => plain,
                    }
                }
                Some(t) => format!("call {}", label(t as usize)),
                None => match insn {
                    Insn::Call { helper } => match lkm::helpers::by_id(*helper) {
                        Some(h) => format!("{:<24}; {}", verifier::disasm(insn), h.name),
                        None => verifier::disasm(insn),
                    },
                    _ => verifier::disasm(insn),
                },
            };
            out += &format!("  {pc:>4}: {text}\n");
        }
    }
    out
}

/// A misc-class image holding one assembled program (for verifier labs).
pub fn asm_image(name: &str, entry: &str, program: &Program) -> Image {
    Image {
        name: name.to_string(),
        params: ClassParams::Misc,
        programs: vec![ProgramImage { entry: entry.to_string(), code: verifier::encode(program) }],
        maps: Vec::new(),
        rodata: Vec::new(),
        ports: Vec::new(),
        lines: None,
    }
}
