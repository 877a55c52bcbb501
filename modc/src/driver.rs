//! The whole pipeline: source to image, and verification of an image with
//! the kernel's own profiles, a rejection mapped back to the source.

use crate::codegen::{self, Region};
use crate::diag::{line_col, Diag, Span};
use crate::{check, lexer, parser};
use lkm::{Image, LineEntry, LineTable, MapDecl, ProgramImage};
use verifier::{ErrorKind, Program, Report};

/// A compiled module: the image, and what the compiler knows about each
/// program (source span of each slot, loop and function regions).
#[derive(Clone, Debug)]
pub struct Compiled {
    pub image: Image,
    pub programs: Vec<codegen::ProgramOut>,
}

/// Compiles source text. `file_name` goes into the line table.
pub fn compile(source: &str, file_name: &str) -> Result<Compiled, Vec<Diag>> {
    let mut diags = Vec::new();
    let toks = lexer::lex(source, &mut diags);
    let (module, parse_diags) = parser::parse(&toks);
    diags.extend(parse_diags);
    let (tir, check_diags) = check::check(&module, !diags.is_empty());
    diags.extend(check_diags);
    let tir = match tir {
        Some(t) if diags.is_empty() => t,
        _ => return Err(diags),
    };
    let generated = codegen::generate(&tir)?;
    let maps: Vec<MapDecl> = tir
        .maps
        .iter()
        .map(|m| {
            let (key_size, _) = crate::tir::layout(&m.key, &tir.structs);
            let (value_size, _) = crate::tir::layout(&m.value, &tir.structs);
            MapDecl { name: m.name.clone(), kind: m.kind, key_size, value_size, max_entries: m.max_entries }
        })
        .collect();
    let mut programs = Vec::new();
    let mut lines = LineTable { source: file_name.to_string(), programs: Vec::new() };
    for p in &generated {
        let code = verifier::encode(&Program::from_insns(p.insns.clone()));
        programs.push(ProgramImage { entry: p.entry.clone(), code });
        lines.programs.push(line_entries(source, &p.spans));
    }
    let image = Image {
        name: tir.name.clone(),
        params: tir.params.clone(),
        programs,
        maps,
        rodata: tir.rodata.clone(),
        ports: tir.ports.clone(),
        lines: Some(lines),
    };
    // The image must parse back exactly: every limit is checked here.
    if let Err(e) = lkm::parse(&image.to_bytes()) {
        let span = Span::new(0, 0);
        return Err(vec![Diag::error(format!("the module does not fit in an image: {e}"), span, "this module")]);
    }
    Ok(Compiled { image, programs: generated })
}

/// One line-table entry per change of source position.
fn line_entries(source: &str, spans: &[Span]) -> Vec<LineEntry> {
    let mut out: Vec<LineEntry> = Vec::new();
    let mut last = None;
    for (slot, s) in spans.iter().enumerate() {
        let (line, col) = line_col(source, s.lo);
        if last != Some((line, col)) {
            out.push(LineEntry { slot: slot as u32, line, col });
            last = Some((line, col));
        }
    }
    out
}

/// What an image holds, for the one line `modc build` and `modc check`
/// print: `2 programs (load, unload), 47 instructions`.
pub fn summary(image: &Image) -> String {
    let names: Vec<&str> = image.programs.iter().map(|p| p.entry.as_str()).collect();
    let insns: usize = image.programs.iter().map(|p| instructions(&p.code)).sum();
    let n = names.len();
    format!("{n} program{} ({}), {insns} instructions", if n == 1 { "" } else { "s" }, names.join(", "))
}

/// The instructions of encoded bytecode (a 64-bit load fills two 8-byte
/// slots and counts once).
pub fn instructions(code: &[u8]) -> usize {
    verifier::decode(code).map_or(code.len() / 8, |p| p.insns().iter().filter(|i| !matches!(i, verifier::Insn::Imm64Tail)).count())
}

/// A verifier verdict on one program of an image.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub entry: String,
    pub result: Result<verifier::Stats, Report>,
}

/// Verifies every program of an image exactly as the kernel does.
pub fn verify_image(image: &Image) -> Vec<Verdict> {
    let mut out = Vec::new();
    for (i, p) in image.programs.iter().enumerate() {
        let result = match (verifier::decode(&p.code), lkm::profile_for(image, i)) {
            (Ok(program), Ok(profile)) => verifier::verify(&program, &profile).map(|v| *v.stats()),
            (Err(e), _) => Err(Report::new(ErrorKind::Unsupported, e.slot, format!("{e}"))),
            (_, Err(e)) => Err(Report::new(ErrorKind::Unsupported, 0, format!("{e}"))),
        };
        out.push(Verdict { entry: p.entry.clone(), result });
    }
    out
}

/// A verifier rejection as a source diagnostic. "Too complex" points at
/// the innermost loop holding the instruction (else its function), with a
/// hint; any other rejection of compiled code is a bug in `modc`, and says so.
pub fn rejection_diag(compiled: &Compiled, program: usize, report: &Report) -> Diag {
    let p = &compiled.programs[program];
    let span = p.spans.get(report.pc).copied().unwrap_or_default();
    let entry = &p.entry;
    if report.kind == ErrorKind::TooComplex {
        let region = innermost(&p.regions, report.pc, true).or_else(|| innermost(&p.regions, report.pc, false));
        let (span, what) = match region {
            Some(r) if r.is_loop => (r.span, "this loop".to_string()),
            Some(r) => (r.span, format!("function `{}`", r.func)),
            None => (span, "here".to_string()),
        };
        return Diag::error(format!("entry point `{entry}` is too complex to verify"), span, format!("{what} takes too many steps to check"))
            .note(report.reason.clone())
            .help(verifier::TOO_COMPLEX_HELP);
    }
    let mut d = Diag::error(format!("the verifier rejected entry point `{entry}`"), span, report.reason.clone())
        .note(format!("at instruction {}: {}", report.pc, report.insn));
    if let Some(h) = &report.hint {
        d = d.help(h.clone());
    }
    d.note("modc should only produce code that verifies: this is a bug in modc, please report it with the source")
}

fn innermost(regions: &[Region], pc: usize, loops: bool) -> Option<&Region> {
    regions
        .iter()
        .filter(|r| r.is_loop == loops && r.start <= pc && pc < r.end)
        .min_by_key(|r| r.end - r.start)
}

/// A rejection of an image without source (built by `modc asm` or another
/// tool): `file:line:col` from the line table when it has one.
pub fn report_text(image: &Image, program: usize, report: &Report) -> String {
    let mut s = format!("error: entry point `{}` rejected: {}\n", image.programs[program].entry, report.reason);
    if let Some(e) = image.lines.as_ref().and_then(|t| t.lookup(program, report.pc)) {
        let source = image.lines.as_ref().map_or("", |t| t.source.as_str());
        s += &format!("  --> {source}:{}:{}\n", e.line, e.col);
    }
    s += &format!("   = at instruction {}: {}\n", report.pc, report.insn);
    for (r, v) in &report.regs {
        s += &format!("   = {r}: {v}\n");
    }
    if let Some(h) = &report.hint {
        s += &format!("   = help: {h}\n");
    }
    s
}

/// The verifier's log of every program of an image (for `modc check --log`).
pub fn verifier_log(image: &Image) -> String {
    let mut out = String::new();
    for (i, p) in image.programs.iter().enumerate() {
        out += &format!("; program `{}`\n", p.entry);
        if let (Ok(program), Ok(profile)) = (verifier::decode(&p.code), lkm::profile_for(image, i)) {
            let result = verifier::verify_verbose(&program, &profile, &mut out);
            if let Err(r) = result {
                out += &format!("{r}\n");
            }
        }
    }
    out
}

/// The span from 1-based `line` and `col` of `source` to the end of that line.
pub fn span_at(source: &str, line: u32, col: u32) -> Option<Span> {
    let line_start: usize = source.split_inclusive('\n').take(line.saturating_sub(1) as usize).map(str::len).sum();
    let text = source.get(line_start..)?.lines().next().unwrap_or("");
    let col = text.char_indices().nth(col.saturating_sub(1) as usize).map_or(text.len(), |(i, _)| i);
    Some(Span::new(line_start + col, line_start + text.len()))
}

/// A rejection of an image whose line table names a readable source file:
/// a diagnostic at that line and column, rendered like compile errors.
pub fn rejection_at_source(image: &Image, program: usize, report: &Report, source: &str) -> Option<String> {
    let table = image.lines.as_ref()?;
    let e = table.lookup(program, report.pc)?;
    let span = span_at(source, e.line, e.col)?;
    let entry = &image.programs[program].entry;
    let mut d = Diag::error(format!("the verifier rejected entry point `{entry}`"), span, report.reason.clone())
        .note(format!("at instruction {}: {}", report.pc, report.insn));
    for (r, v) in &report.regs {
        d = d.note(format!("{r} = {v}"));
    }
    if let Some(h) = &report.hint {
        d = d.help(h.clone());
    }
    Some(crate::diag::render(&table.source, source, &[d]))
}
