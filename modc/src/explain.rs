//! `modc explain`: one self-contained HTML page (inline style, script and
//! data; no network) that shows what the verifier knew at each instruction
//! of every program of a module, beside its source.
//!
//! * [`record`]: the verifier's trace of one analysis, kept compactly;
//! * [`walk`]: for a refused program, the walk back from the failing
//!   instruction in words;
//! * [`page`]: the data as JSON and the page around it.
//!
//! What the page offers is described in `docs/tools.md` ("modc explain").

pub mod page;
pub mod record;
pub mod walk;

use lkm::{Image, LineEntry, LineTable};
use verifier::{Entry, Insn, Report, Stats};

use record::Recording;
use walk::Sentence;

/// One program of a module, analysed with its trace recorded.
pub struct Analysis {
    pub entry: String,
    pub insns: Vec<Insn>,
    /// The source line of each slot, where the image's line table has one.
    pub lines: Vec<Option<usize>>,
    pub recording: Recording,
    pub result: Result<Stats, Report>,
    /// The refused path (for a rejection) or the longest one (visits, in order).
    pub path: Vec<u32>,
    pub walk: Vec<Sentence>,
}

/// Verifies program `index` of `image` as the kernel does, recording the
/// analysis.
pub fn analyse(image: &Image, index: usize) -> Analysis {
    let p = &image.programs[index];
    let program = verifier::decode(&p.code);
    let insns = program.as_ref().map(|p| p.insns().to_vec()).unwrap_or_default();
    let lines: Vec<Option<usize>> = (0..insns.len())
        .map(|pc| image.lines.as_ref().and_then(|t| t.lookup(index, pc)).map(|e| e.line as usize))
        .collect();
    let mut recording = Recording::new(insns.len());
    let result = match (program, lkm::profile_for(image, index)) {
        (Ok(program), Ok(profile)) => {
            verifier::verify_traced(&program, &profile, &Entry::default(), &mut recording).map(|v| *v.stats())
        }
        (Err(e), _) => Err(Report::new(verifier::ErrorKind::Unsupported, e.slot, format!("{e}"))),
        (_, Err(e)) => Err(Report::new(verifier::ErrorKind::Unsupported, 0, format!("{e}"))),
    };
    let (path, walk) = match &result {
        Ok(_) => (recording.deepest().map(|v| recording.path_to(v)).unwrap_or_default(), Vec::new()),
        Err(report) => {
            let path = recording.failing_visit().map(|v| recording.path_to(v)).unwrap_or_default();
            let line_of = |pc: usize| lines.get(pc).copied().flatten();
            (path, walk::walk_back(&recording, &insns, &line_of, report))
        }
    };
    Analysis { entry: p.entry.clone(), insns, lines, recording, result, path, walk }
}

/// The explorer page of `image` (`source` is the text its line table
/// names, when it could be read), and the refused programs: entry point
/// and error kind.
pub fn explain(image: &Image, source: Option<&str>) -> (String, Vec<(String, verifier::ErrorKind)>) {
    let analyses: Vec<Analysis> = (0..image.programs.len()).map(|i| analyse(image, i)).collect();
    let refused = analyses.iter().filter_map(|a| a.result.as_ref().err().map(|r| (a.entry.clone(), r.kind))).collect();
    (page::render(image, source, &analyses), refused)
}

/// A line table for a program assembled from `file` (one entry per change
/// of line; `lines` holds each slot's line).
pub fn line_table(file: &str, lines: &[usize]) -> LineTable {
    let mut entries: Vec<LineEntry> = Vec::new();
    for (slot, &line) in lines.iter().enumerate() {
        if entries.last().is_none_or(|e| e.line as usize != line) {
            entries.push(LineEntry { slot: slot as u32, line: line as u32, col: 1 });
        }
    }
    LineTable { source: file.to_string(), programs: vec![entries] }
}

/// The image of an assembly file: one `load` program of a misc module
/// named after the file, with its line table.
pub fn asm_file_image(file: &str, text: &str, name: &str) -> Result<Image, String> {
    let (program, lines) = verifier::assemble_with_lines(text).map_err(|e| format!("{file}:{e}\n"))?;
    let mut image = crate::listing::asm_image(name, "load", &program);
    image.lines = Some(line_table(file, &lines));
    Ok(image)
}
