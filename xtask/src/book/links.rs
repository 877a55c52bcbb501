//! Every relative link, image and `{{#include}}` of the book must point at a
//! file that exists. Links into the rest of the repository (`../../os/...`)
//! are allowed and checked: they work on GitHub and in the built book,
//! which sits at the same depth (`book/book/`) as its source (`book/src/`).

use std::path::{Component, Path, PathBuf};

use crate::kernel;

/// `Ok` with the number of links checked, or every broken one.
pub fn check() -> Result<String, String> {
    let root = kernel::root();
    let mut broken = Vec::new();
    let mut count = 0;
    for file in super::markdown_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            broken.push(format!("error: cannot read {}", super::display(&file)));
            continue;
        };
        let dir = file.parent().unwrap_or(&root).to_path_buf();
        for (line, target) in targets(&text) {
            count += 1;
            let path = normalize(&dir.join(&target));
            if !path.starts_with(&root) || !path.exists() {
                broken.push(format!("error: broken link `{target}`\n  --> {}:{line}", super::display(&file)));
            }
        }
    }
    if broken.is_empty() { Ok(format!("{count} checked")) } else { Err(broken.join("\n")) }
}

/// The local targets on each line (outside fenced code): links, images,
/// reference definitions and includes, without `#fragment` or title.
pub fn targets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        // Includes are processed inside fences too.
        let mut rest = line;
        while let Some(at) = rest.find("{{#include ") {
            let after = &rest[at + "{{#include ".len()..];
            let end = after.find("}}").unwrap_or(after.len());
            let target = after[..end].trim().split(':').next().unwrap_or("");
            out.push((i + 1, target.to_string()));
            rest = &after[end..];
        }
        if in_fence || line.trim_start().starts_with("```") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            push_local(&mut out, i + 1, &after[..end]);
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(at) = trimmed.find("]: ")
        {
            push_local(&mut out, i + 1, &trimmed[at + 3..]);
        }
    }
    out
}

fn push_local(out: &mut Vec<(usize, String)>, line: usize, raw: &str) {
    let target = raw.split_whitespace().next().unwrap_or("");
    let target = target.split('#').next().unwrap_or("");
    let external = target.contains("://") || target.starts_with("mailto:");
    if !target.is_empty() && !external {
        out.push((line, target.to_string()));
    }
}

/// `a/b/../c` to `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links_images_includes_and_skips_code_and_urls() {
        let text = "see [boot](../../os/src/main.rs#L3) and ![x](img/a.svg \"t\")\n\
                    [web](https://example.org) [top](#intro)\n```\n[not](a link)\n{{#include ../x.wm}}\n```\n[r]: other.md\n";
        let found: Vec<String> = targets(text).into_iter().map(|(_, t)| t).collect();
        assert_eq!(found, vec!["../../os/src/main.rs", "img/a.svg", "../x.wm", "other.md"]);
    }

    #[test]
    fn normalize_removes_parent_components() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
    }

    #[test]
    fn the_book_has_no_broken_links() {
        if let Err(broken) = check() {
            panic!("{broken}");
        }
    }
}
