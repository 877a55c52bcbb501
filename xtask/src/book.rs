//! `cargo xtask book`: builds the book in `book/` with mdBook, and the
//! `book` test stage that keeps it true.
//!
//! | command | what it does |
//! |---|---|
//! | `cargo xtask book` | builds `book/book/` (installs mdBook 0.5 if missing) |
//! | `cargo xtask book --serve` | builds and serves it on <http://localhost:3000>, rebuilding on change |
//! | `cargo xtask book --generate` | rewrites `book/src/generated/` from real `modc` runs |
//! | `cargo xtask book --record` | boots Warden and records the shell transcripts of `book/transcripts/` |
//! | `cargo xtask book --screenshots` | drives the explorer pages in headless Chromium and writes the book's screenshots of them |
//!
//! The stage (in `cargo xtask test`) checks, one counted check each: every
//! generated file is what `modc` prints today ([`generated`]), every
//! transcript is what its script shows on a fresh boot now, per-boot values
//! masked ([`transcripts`]), every shell block of the book is a recorded
//! transcript or host commands ([`shell_blocks`]), every
//! ```` ```wm ```` block of the book compiles and verifies, and those marked
//! `wm,run` run on the reference interpreter ([`blocks`]), every relative
//! link and include points at a file that exists ([`links`]), the explorer
//! pages of `modc explain` work in a real browser ([`explorer`]; skipped
//! with a notice where Chromium cannot be installed), and mdBook builds the
//! book without a warning ([`mdbook`]).

mod blocks;
mod ctx_tables;
mod explorer;
mod generated;
mod links;
mod mask;
mod mdbook;
mod shell_blocks;
mod transcripts;

pub use transcripts::PROMPT;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::kernel;
use crate::test::{StageResult, TestArgs};
use crate::{Result, XtaskError};

#[derive(Args)]
pub struct BookArgs {
    /// Serve the book on localhost:3000 and rebuild it when a file changes
    #[arg(long)]
    serve: bool,
    /// Rewrite book/src/generated/ from real modc runs (instead of building)
    #[arg(long)]
    generate: bool,
    /// Boot Warden and record the transcripts of book/transcripts/ (instead of building)
    #[arg(long)]
    record: bool,
    /// Take the screenshots of the explorer pages in book/src/img/ with headless Chromium (instead of building)
    #[arg(long)]
    screenshots: bool,
}

/// `book/`.
pub fn book_dir() -> PathBuf {
    kernel::root().join("book")
}

/// `book/src/`.
pub fn src_dir() -> PathBuf {
    book_dir().join("src")
}

pub fn run(args: &BookArgs) -> Result<ExitCode> {
    if args.generate {
        for (path, text) in generated::produce()? {
            write(&path, &text)?;
            println!("wrote {}", display(&path));
        }
    }
    if args.record {
        for path in transcripts::record()? {
            println!("recorded {}", display(&path));
        }
    }
    if args.screenshots {
        generated::build_modc()?;
        let img = src_dir().join("img");
        match explorer::check(&img)? {
            Some(summary) => {
                for name in explorer::SCREENSHOTS {
                    println!("wrote {}", display(&img.join(name)));
                }
                println!("{summary}");
            }
            None => return Ok(ExitCode::FAILURE),
        }
    }
    if args.generate || args.record || args.screenshots {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(mdbook) = mdbook::ensure_installed(args.serve)? else {
        return Err(XtaskError::new("mdBook is not installed and could not be installed")
            .with_help(format!("install it by hand: {}", mdbook::INSTALL)));
    };
    if args.serve {
        mdbook::serve(&mdbook)?;
        return Ok(ExitCode::SUCCESS);
    }
    let warnings = mdbook::build(&mdbook)?;
    for w in &warnings {
        println!("{w}");
    }
    println!("the book is in {}", display(&book_dir().join("book/index.html")));
    Ok(if warnings.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The stage `book` of `cargo xtask test`.
pub fn stage(_args: &TestArgs) -> Result<StageResult> {
    let mut result = StageResult::default();
    let mut check = |name: &str, outcome: std::result::Result<String, String>| match outcome {
        Ok(note) => {
            result.passed += 1;
            println!("book {name} ... ok{}", if note.is_empty() { String::new() } else { format!(" ({note})") });
        }
        Err(why) => {
            result.failed += 1;
            println!("book {name} ... FAILED\n{why}");
        }
    };
    check("generated outputs are up to date", generated::check());
    check("transcripts are what a boot shows now", transcripts::check());
    check("shell blocks are transcripts or host commands", shell_blocks::check());
    for (name, outcome) in blocks::check_all() {
        check(&name, outcome);
    }
    check("links and includes resolve", links::check());
    // After `generated`, which built modc and checked the committed pages.
    match explorer::check(&kernel::target_dir().join("explorer/screenshots")) {
        Ok(Some(summary)) => check("explorer pages work in a browser", Ok(summary)),
        Ok(None) => {}
        Err(e) => check("explorer pages work in a browser", Err(e.to_string())),
    }
    match mdbook::ensure_installed(false) {
        Ok(Some(mdbook)) => check("builds without warnings", mdbook::build(&mdbook).map_err(|e| e.to_string()).and_then(
            |warnings| if warnings.is_empty() { Ok(String::new()) } else { Err(warnings.join("\n")) },
        )),
        Ok(None) | Err(_) => println!("note: mdBook could not be installed; the book build is skipped ({})", mdbook::INSTALL),
    }
    Ok(result)
}

/// The Markdown files of the book's source, sorted.
pub fn markdown_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(&src_dir(), &mut |p| {
        if p.extension().is_some_and(|e| e == "md") {
            out.push(p.to_path_buf());
        }
    });
    out.sort();
    out
}

/// Calls `f` for every file under `dir`.
pub fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, f);
        } else {
            f(&path);
        }
    }
}

/// A path relative to the repository root, for messages.
pub fn display(path: &Path) -> String {
    path.strip_prefix(kernel::root()).unwrap_or(path).display().to_string()
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).map_err(|e| XtaskError::new(format!("cannot write {}: {e}", display(path))))
}
