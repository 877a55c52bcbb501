//! Diagnostics in the style of rustc: a message, a primary span with a
//! label, secondary spans, notes and a help line, rendered with
//! `codespan-reporting`.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;

/// A byte range of the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub lo: u32,
    pub hi: u32,
}

impl Span {
    pub fn new(lo: usize, hi: usize) -> Span {
        Span { lo: lo as u32, hi: hi.max(lo) as u32 }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub level: Level,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diag {
    /// An error at `span`, with `label` under the caret.
    pub fn error(message: impl Into<String>, span: Span, label: impl Into<String>) -> Diag {
        Diag {
            level: Level::Error,
            message: message.into(),
            span,
            label: label.into(),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(message: impl Into<String>, span: Span, label: impl Into<String>) -> Diag {
        Diag { level: Level::Warning, ..Diag::error(message, span, label) }
    }

    /// Adds a `help:` line.
    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }

    /// Adds a `note:` line.
    pub fn note(mut self, note: impl Into<String>) -> Diag {
        self.notes.push(note.into());
        self
    }

    /// Adds a secondary labelled span.
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diag {
        self.secondary.push((span, label.into()));
        self
    }
}

/// Renders diagnostics as plain text (no colours), as `modc` prints them.
pub fn render(file_name: &str, source: &str, diags: &[Diag]) -> String {
    let file = SimpleFile::new(file_name, source);
    let mut out = String::new();
    let config = term::Config::default();
    let clamp = |s: Span| {
        let hi = (s.hi as usize).min(source.len());
        let lo = (s.lo as usize).min(hi);
        // Keep spans on character boundaries.
        let lo = (0..=lo).rev().find(|&i| source.is_char_boundary(i)).unwrap_or(0);
        let hi = (hi..=source.len()).find(|&i| source.is_char_boundary(i)).unwrap_or(source.len());
        lo..hi
    };
    for d in diags {
        let base = match d.level {
            Level::Error => Diagnostic::error(),
            Level::Warning => Diagnostic::warning(),
        };
        let mut labels = vec![Label::primary((), clamp(d.span)).with_message(&d.label)];
        for (s, l) in &d.secondary {
            labels.push(Label::secondary((), clamp(*s)).with_message(l));
        }
        let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
        if let Some(h) = &d.help {
            notes.push(format!("help: {h}"));
        }
        let diag = base.with_message(&d.message).with_labels(labels).with_notes(notes);
        match term::emit_into_string(&config, &file, &diag) {
            Ok(text) => out.push_str(&text),
            // Spans are clamped above, so this only guards the renderer.
            Err(_) => out.push_str(&format!("error: {}\n", d.message)),
        }
    }
    out
}

/// The 1-based line and column of byte `offset`.
pub fn line_col(source: &str, offset: u32) -> (u32, u32) {
    let offset = (offset as usize).min(source.len());
    let before = &source.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = source[line_start..offset.max(line_start)].chars().count() + 1;
    (line as u32, col as u32)
}
