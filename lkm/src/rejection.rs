//! A verifier rejection as the kernel reports it (the text `LMREADY`
//! copies back), mapped to the module's source through the image's line
//! table. Shared by `modload` in the guest and `modc load` on the host.
//!
//! The kernel's text holds the verifier's report (`error[kind]: reason`,
//! ` --> insn N: instruction`, notes, help) and names the entry point
//! (`entry point `read``); [`render_rejection`] inserts the source
//! position, the line and a caret under the ` --> insn` line.

use alloc::format;
use alloc::string::{String, ToString};

use crate::image::Image;

/// The program and instruction a verifier report names: `entry point
/// `NAME`` (or `program `NAME``) and ` --> insn N`.
pub fn report_location(text: &str, image: &Image) -> Option<(usize, usize)> {
    let pc = text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("--> insn ")?;
        let digits: &str = &rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())];
        digits.parse::<usize>().ok()
    })?;
    let named = ["entry point `", "program `"].iter().find_map(|key| {
        let start = text.find(key)? + key.len();
        let len = text[start..].find('`')?;
        image.program(&text[start..start + len]).map(|(i, _)| i)
    });
    let program = match named {
        Some(i) => i,
        None if image.programs.len() == 1 => 0,
        None => return None,
    };
    Some((program, pc))
}

/// The kernel's report, with the source position inserted under its
/// ` --> insn` line when the image has a line table:
///
/// ```text
/// error[bad-port]: port 0x64 was not declared by the module
///  --> insn 7: call 33
///   --> modules/rtc.wm:12:5
///    |
/// 12 |     outb(0x64, 1);
///    |     ^
///   = help: declare the port in the module header
/// ```
///
/// When the kernel already wrote the position (`--> FILE:LINE:COL`), the
/// source line and caret go under that line instead of a second position.
/// `source` reads the file the line table names (absent: position only).
pub fn render_rejection(text: &str, image: Option<&Image>, source: impl Fn(&str) -> Option<String>) -> String {
    let location = image.and_then(|img| {
        let (program, pc) = report_location(text, img)?;
        let table = img.lines.as_ref()?;
        Some((table.source.clone(), table.lookup(program, pc)?))
    });
    let Some((file, entry)) = location else { return with_newline(text) };
    let position = format!("{file}:{}:{}", entry.line, entry.col);
    let kernel_wrote_it = text.lines().any(|l| l.trim_start().starts_with(&format!("--> {position}")));
    let mut snippet = String::new();
    if let Some(src_line) = source(&file).as_deref().and_then(|t| t.lines().nth(entry.line.saturating_sub(1) as usize)) {
        let num = entry.line.to_string();
        let pad = " ".repeat(num.len());
        let caret_at = src_line.chars().take(entry.col.saturating_sub(1) as usize).count();
        snippet = format!("{pad} |\n{num} | {src_line}\n{pad} | {}^\n", " ".repeat(caret_at));
    }
    let mut out = String::new();
    let mut inserted = false;
    for line in text.lines() {
        out += line;
        out.push('\n');
        let trimmed = line.trim_start();
        let anchor = if kernel_wrote_it { trimmed.starts_with(&format!("--> {position}")) } else { trimmed.starts_with("--> insn") };
        if inserted || !anchor {
            continue;
        }
        inserted = true;
        if !kernel_wrote_it {
            out += &format!("  --> {position}\n");
        }
        out += &snippet;
    }
    out
}

fn with_newline(text: &str) -> String {
    let mut s = String::from(text);
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}


#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use crate::{ClassParams, LineEntry, LineTable, ProgramImage};

    fn image(programs: &[&str]) -> Image {
        Image {
            name: "rtc".into(),
            params: ClassParams::Dev { major: 0, name: "rtc".into() },
            programs: programs.iter().map(|e| ProgramImage { entry: (*e).into(), code: vec![0; 80] }).collect(),
            maps: vec![],
            rodata: vec![],
            ports: vec![],
            lines: Some(LineTable {
                source: "modules/rtc.wm".into(),
                programs: programs
                    .iter()
                    .map(|_| vec![LineEntry { slot: 0, line: 1, col: 1 }, LineEntry { slot: 5, line: 3, col: 5 }])
                    .collect(),
            }),
        }
    }

    const SOURCE: &str = "module rtc: dev(0, \"rtc\");\nfn read(ctx: &DevReadCtx) -> i64 {\n    outb(0x64, 1);\n}\n";

    const REPORT: &str = "entry point `read` rejected\nerror[bad-port]: port 0x64 was not declared by the module\n --> insn 7: call 33\n  = help: declare the port in the module header\n";

    #[test]
    fn rejection_shows_the_source_line_under_the_instruction() {
        let img = image(&["open", "read"]);
        let out = render_rejection(REPORT, Some(&img), |p| (p == "modules/rtc.wm").then(|| SOURCE.to_string()));
        assert_eq!(
            out,
            "entry point `read` rejected\n\
             error[bad-port]: port 0x64 was not declared by the module\n \
             --> insn 7: call 33\n  \
             --> modules/rtc.wm:3:5\n  |\n3 |     outb(0x64, 1);\n  |     ^\n  \
             = help: declare the port in the module header\n"
        );
    }

    #[test]
    fn rejection_without_source_file_keeps_the_position() {
        let img = image(&["open", "read"]);
        let out = render_rejection(REPORT, Some(&img), |_| None);
        assert!(out.contains(" --> insn 7: call 33\n  --> modules/rtc.wm:3:5\n  = help"), "{out}");
    }

    #[test]
    fn a_position_the_kernel_wrote_gets_the_line_under_it_once() {
        let img = image(&["read"]);
        let text = "error[bad-port]: port 0x64\n --> insn 7: call 33\n  --> modules/rtc.wm:3:5 (program `read`)\n  = help: h\n";
        let out = render_rejection(text, Some(&img), |_| Some(SOURCE.to_string()));
        assert_eq!(
            out,
            "error[bad-port]: port 0x64\n --> insn 7: call 33\n  --> modules/rtc.wm:3:5 (program `read`)\n  \
             |\n3 |     outb(0x64, 1);\n  |     ^\n  = help: h\n"
        );
    }

    #[test]
    fn rejection_of_an_unparsable_image_is_shown_verbatim() {
        let text = "error: malformed image: truncated in program 0\n";
        assert_eq!(render_rejection(text, None, |_| None), text);
    }

    #[test]
    fn location_needs_the_program_when_there_are_several() {
        let img = image(&["open", "read"]);
        let anonymous = "error[x]: bad\n --> insn 2: exit\n";
        assert_eq!(report_location(anonymous, &img), None);
        assert_eq!(report_location(anonymous, &image(&["call"])), Some((0, 2)));
        assert_eq!(report_location(REPORT, &img), Some((1, 7)));
        assert_eq!(report_location("program `open`: x\n --> insn 12\n", &img), Some((0, 12)));
    }
}
