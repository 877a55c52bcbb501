//! No shell session in the book is typed by hand. A ```` ```text ```` block
//! that shows the shell's prompt must come from `{{#include}}`ing a
//! recorded transcript (`generated/transcripts/`, which the stage runs
//! again, [`super::transcripts`]), and a ```` ```sh ```` block holds host
//! commands only (`cargo ...`). A lab page may show the commands a student
//! types to try their own module in a ```` ```sh,lab ```` block: the lab's
//! grader runs them (`cargo xtask grade LAB`).

/// One problem: file, line, what is wrong.
type Problem = (String, usize, String);

/// The problems of one Markdown text (`file` as displayed, for messages).
pub fn problems(file: &str, text: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut block: Option<(usize, String, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (block.take(), fence) {
            (None, Some(info)) => block = Some((i + 1, info.trim().to_string(), Vec::new())),
            (Some((at, info, lines)), Some(_)) => out.extend(judge(file, at, &info, &lines)),
            (Some((at, info, mut lines)), None) => {
                lines.push(line);
                block = Some((at, info, lines));
            }
            (None, None) => {}
        }
    }
    out
}

fn judge(file: &str, at: usize, info: &str, lines: &[&str]) -> Option<Problem> {
    let prompt = super::PROMPT.trim_end();
    let commands = || lines.iter().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty());
    match info {
        "text" if lines.iter().any(|l| l.trim_start().starts_with(prompt)) => Some((
            file.to_string(),
            at,
            "a shell session typed into the page; no test runs it".to_string(),
        )),
        "sh" => commands().find(|c| !c.starts_with("cargo ")).map(|c| {
            (file.to_string(), at, format!("`{c}` is a command for Warden's shell in a block of host commands; no test runs it"))
        }),
        "sh,lab" if !file.contains("/labs/") => {
            Some((file.to_string(), at, "a ```sh,lab block outside a lab's page".to_string()))
        }
        _ => None,
    }
}

/// `Ok` when every shell block of the book is a transcript or host commands.
pub fn check() -> std::result::Result<String, String> {
    let mut found = Vec::new();
    let files = super::markdown_files();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        found.extend(problems(&super::display(path), &text));
    }
    if found.is_empty() {
        return Ok(format!("{} pages", files.len()));
    }
    let list: Vec<String> = found.iter().map(|(file, line, what)| format!("error: {what}\n  --> {file}:{line}")).collect();
    Err(format!(
        "{}\nhelp: put the commands in book/transcripts/NAME.txt, run `cargo xtask book --record`, and show \
         {{{{#include generated/transcripts/NAME.txt}}}} in a ```text block",
        list.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_sessions_and_guest_commands_are_refused() {
        let page = "```text\nwarden:/# modstat\nType Id\n```\n\n```sh\nmodload /modules/hello.lkm\n```\n";
        let found = problems("book/src/x.md", page);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].1, 1);
        assert!(found[1].2.contains("`modload /modules/hello.lkm`"), "{found:?}");
    }

    #[test]
    fn includes_host_commands_and_lab_blocks_pass() {
        let page = "```text\n{{#include generated/transcripts/shell.txt}}\n```\n\
            ```sh\ncargo xtask run     # boot it\n\ncargo run -p modc -- stat\n```\n\
            ```text\nfn tick(ctx: &TickCtx) -> i64 {\n```\n";
        assert_eq!(problems("book/src/x.md", page), vec![]);
        let lab = "```sh,lab\nmodload /modules/lab_upper.lkm\n```\n";
        assert_eq!(problems("book/src/labs/upper.md", lab), vec![]);
        assert_eq!(problems("book/src/modules.md", lab).len(), 1);
    }

    #[test]
    fn the_book_has_no_hand_typed_sessions() {
        if let Err(found) = check() {
            panic!("{found}");
        }
    }
}
