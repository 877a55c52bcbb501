//! The context tables: one Markdown table a class, of the fields its entry
//! points receive in R1, written from `lkm`'s own tables
//! ([`lkm::ctx::fields`]) so that the book and `docs/lkm.md` say what the
//! kernel and the verifier use.
//!
//! The book includes `generated/ctx.md`; `docs/lkm.md` holds the same text
//! between [`BEGIN`] and [`END`]. Both are outputs of
//! `cargo xtask book --generate` ([`super::generated`]).

use lkm::class::Class;
use lkm::ctx::{self, CtxKind, FieldSpec, SpecKind};

/// The line before the tables in `docs/lkm.md`.
pub const BEGIN: &str = "<!-- context tables: written by `cargo xtask book --generate` from lkm/src/ctx.rs -->";
/// The line after them.
pub const END: &str = "<!-- end of the context tables -->";

/// The tables, a `###` heading a class.
pub fn markdown() -> String {
    let mut md = String::new();
    for class in Class::ALL {
        md += &format!("### {}\n\n", class.name());
        let mut kinds: Vec<(CtxKind, Vec<&str>)> = Vec::new();
        for entry in class.entries() {
            match kinds.iter_mut().find(|(k, _)| *k == entry.ctx) {
                Some((_, names)) => names.push(entry.name),
                None => kinds.push((entry.ctx, vec![entry.name])),
            }
        }
        for (kind, entries) in kinds {
            let entries: Vec<String> = entries.iter().map(|e| format!("`{e}`")).collect();
            md += &format!(
                "{} {} `{}` ({} bytes):\n\n",
                entries.join(" and "),
                if entries.len() == 1 { "receives" } else { "receive" },
                ctx::type_name(kind),
                ctx::size(kind)
            );
            md += "| field | type | offset | size | access | meaning |\n|---|---|---:|---:|---|---|\n";
            for f in ctx::fields(kind) {
                md += &format!(
                    "| `{}` | `{}` | {} | {} | {} | {} |\n",
                    f.name,
                    type_of(f),
                    f.offset,
                    f.size,
                    if f.write { "**writable**" } else { "read-only" },
                    meaning(kind, f)
                );
            }
            md += "\n";
        }
    }
    md
}

/// `docs/lkm.md` with the tables between [`BEGIN`] and [`END`] replaced by
/// the current ones; `None` when the markers are missing.
pub fn splice(doc: &str) -> Option<String> {
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = start + doc[start..].find(END)?;
    Some(format!("{}\n\n{}{}", &doc[..start], markdown(), &doc[end..]))
}

/// The field's type as a module source would spell it.
fn type_of(f: &FieldSpec) -> String {
    let elem = format!("u{}", f.elem * 8);
    if f.elem == f.size { elem } else { format!("[{elem}; {}]", f.size / f.elem.max(1)) }
}

/// The field's description, with the range the kernel guarantees.
fn meaning(kind: CtxKind, f: &FieldSpec) -> String {
    match f.kind {
        SpecKind::Bounded { min, max } => format!("{} ({min}..={max})", f.doc),
        SpecKind::Length { buffer } => {
            let capacity = ctx::fields(kind).iter().find(|b| b.name == buffer).map_or(0, |b| b.size);
            format!("{} (`{buffer}`: 0..={capacity})", f.doc)
        }
        SpecKind::Value | SpecKind::Buffer => f.doc.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_table_with_its_contexts() {
        let md = markdown();
        for class in Class::ALL {
            assert!(md.contains(&format!("### {}\n", class.name())), "{md}");
        }
        assert!(md.contains("`open` and `close` receive `OpenCtx` (8 bytes)"), "{md}");
        assert!(md.contains("| `args` | `[u64; 6]` | 8 | 48 | read-only |"), "{md}");
        assert!(md.contains("| `mode` | `u32` | 8 | 4 | **writable** |"), "{md}");
        assert!(md.contains("| `name_len` | `u32` | 72 | 4 | read-only | how many bytes of the buffer are valid (`name`: 0..=64) |"), "{md}");
        assert!(md.contains("| `len` | `u32` | 16 | 4 | read-only | most bytes the run may `emit` (0..=4096) |"), "{md}");
    }

    #[test]
    fn splice_replaces_only_what_is_between_the_markers() {
        let doc = format!("before\n{BEGIN}\nold table\n{END}\nafter\n");
        let new = splice(&doc).unwrap();
        assert!(new.starts_with(&format!("before\n{BEGIN}\n\n### syscall")), "{new}");
        assert!(new.ends_with(&format!("\n{END}\nafter\n")), "{new}");
        assert!(!new.contains("old table"));
        assert_eq!(splice(&new).unwrap(), new);
        assert_eq!(splice("no markers"), None);
    }
}
