//! The ```` ```wm ```` blocks of the book are real: each is compiled with
//! `modc`'s library and verified with the kernel's own profiles, and a block
//! marked ```` ```wm,run ```` (a `misc` module) also runs its `load` entry on
//! the reference interpreter in checking mode, which must return 0 without
//! a violation. A block marked ```` ```wm,rejected ```` (a lab's broken
//! starting point) must compile and be refused by the verifier.
//!
//! Lines starting with `~` are part of the module but hidden in the book
//! (`[output.html.code.hidelines] wm = "~"` in `book.toml`), so a snippet
//! can show one function of a whole module.

use std::path::Path;

use modc::driver::{compile, verify_image};
use verifier::Reg;
use vm::{Config, Helpers, Map, MapKind, Memory, Value, Vm};

/// One block: where it is, whether it runs, and its source (hidden lines included).
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    pub file: String,
    pub line: usize,
    pub run: bool,
    /// Marked `wm,rejected`: it compiles, and the verifier must refuse it.
    pub rejected: bool,
    pub source: String,
}

/// The `wm` blocks of one Markdown text.
pub fn extract(file: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (None, Some(info)) => {
                let words: Vec<&str> = info.split(',').map(str::trim).collect();
                if words.first() == Some(&"wm") {
                    let (run, rejected) = (words.contains(&"run"), words.contains(&"rejected"));
                    current = Some(Block { file: file.to_string(), line: i + 1, run, rejected, source: String::new() });
                }
            }
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some(block), None) => {
                let visible = line.strip_prefix('~').map(|l| l.strip_prefix(' ').unwrap_or(l)).unwrap_or(line);
                block.source.push_str(visible);
                block.source.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// Every block of the book, checked; one named result a block.
pub fn check_all() -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    for path in super::markdown_files() {
        let file = super::display(&path);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for mut block in extract(&file, &text) {
            block.source = expand_includes(&dir, &block.source);
            let name = format!("wm block {}:{}{}", block.file, block.line, if block.run { " (run)" } else { "" });
            out.push((name, check(&block)));
        }
    }
    out
}

/// Replaces each `{{#include PATH}}` line with the file it names
/// (relative to the page's directory), as mdBook does.
fn expand_includes(dir: &Path, source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        let target = line.trim().strip_prefix("{{#include ").and_then(|rest| rest.strip_suffix("}}"));
        match target.and_then(|t| std::fs::read_to_string(dir.join(t.trim())).ok()) {
            Some(text) => out.push_str(&text),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Compiles and verifies one block (and runs it when marked).
pub fn check(block: &Block) -> Result<String, String> {
    let name = format!("{}:{}", block.file, block.line);
    let compiled = compile(&block.source, &name)
        .map_err(|diags| modc::diag::render(&name, &block.source, &diags))?;
    let verdicts = verify_image(&compiled.image);
    if block.rejected {
        return match verdicts.into_iter().find_map(|v| v.result.err()) {
            Some(report) => Ok(format!("rejected: {}", report.kind)),
            None => Err(format!("error: the block at {name} is marked `rejected`, but the verifier accepts it")),
        };
    }
    for verdict in verdicts {
        if let Err(report) = verdict.result {
            return Err(format!("error: entry point `{}` of the block at {name} does not verify\n{report}", verdict.entry));
        }
    }
    if !block.run {
        return Ok(String::new());
    }
    let logs = run_load(&compiled.image).map_err(|e| format!("error: the block at {name} {e}"))?;
    Ok(logs.join("; "))
}

/// Runs the `load` entry of a misc image; its log lines.
fn run_load(image: &lkm::Image) -> Result<Vec<String>, String> {
    let (index, p) = image.program("load").ok_or("has no `load` entry point to run")?;
    let program = verifier::decode(&p.code).map_err(|e| e.to_string())?;
    let profile = lkm::profile_for(image, index).map_err(|e| e.to_string())?;
    let mut machine = Vm::new(&program, Config::checking());
    let mem = machine.memory_mut();
    let size = profile.ctx.size as usize;
    let perms = vec![vm::memory::READ; size];
    // The context's first field (`module_id` of `LoadCtx`) is 7.
    let mut ctx = vec![0; size];
    if let Some(first) = ctx.first_mut() {
        *first = 7;
    }
    let base = mem.add_context(ctx, &perms).map_err(|e| format!("{e:?}"))?;
    for m in &image.maps {
        let kind = match m.kind {
            lkm::MapKind::Array => MapKind::Array,
            lkm::MapKind::Hash => MapKind::Hash,
            lkm::MapKind::PerCpuArray => MapKind::PerCpuArray,
        };
        let map = Map::with_cpus(kind, m.key_size, m.value_size, m.max_entries, BOOK_CPUS).map_err(|e| format!("{e:?}"))?;
        mem.add_map(map).map_err(|e| format!("{e:?}"))?;
    }
    let rodata = if image.rodata.is_empty() { vec![0] } else { image.rodata.clone() };
    mem.add_map(Map::read_only_data(&rodata).map_err(|e| format!("{e:?}"))?).map_err(|e| format!("{e:?}"))?;
    machine.set_reg(Reg::R1, Value::pointer(base));
    let mut kernel = Kernel { logs: Vec::new() };
    let outcome = machine.run(&mut kernel).map_err(|v| format!("stopped with a violation: {v:?}"))?;
    match outcome.r0 as i64 {
        0 => Ok(kernel.logs),
        r => Err(format!("returned {r} from `load` (0 expected)")),
    }
}

/// CPUs a per-CPU map of a book example has values for (the example runs
/// on CPU 0).
const BOOK_CPUS: usize = 2;

/// The helpers a `load` entry may call, as the kernel provides them (the
/// clock, ids and random numbers return fixed values).
struct Kernel {
    logs: Vec<String>,
}

impl Helpers for Kernel {
    fn call(&mut self, id: u32, a: [Value; 5], mem: &mut Memory) -> Result<Value, vm::ViolationKind> {
        use lkm::helpers::*;
        let v = match id {
            LOG => {
                let mut text = vec![0u8; a[1].bits as usize];
                mem.read(a[0].bits, &mut text)?;
                let text = String::from_utf8_lossy(&text)
                    .replacen("{}", &(a[2].bits as i64).to_string(), 1)
                    .replacen("{}", &(a[3].bits as i64).to_string(), 1);
                self.logs.push(text);
                0
            }
            KTIME_NS => 1_000_000_000,
            GET_PID => 1,
            GET_UID => 0,
            RANDOM_U32 => 4,
            CPU_ID => mem.cpu() as u64,
            MAP_LOOKUP => return vm::helpers::map_lookup(mem, a[0], a[1]),
            MAP_UPDATE => return vm::helpers::map_update(mem, a[0], a[1], a[2], a[3]),
            MAP_DELETE => return vm::helpers::map_delete(mem, a[0], a[1]),
            _ => return Err(vm::ViolationKind::Helper { id, reason: "not available to a misc module's `load` in the book".into() }),
        };
        Ok(Value::scalar(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_wm_blocks_with_hidden_lines_and_run_marker() {
        let text = "# t\n```wm,run\n~module t: misc;\nfn load(ctx: &LoadCtx) -> i64 { return 0; }\n```\n```rust\nfn x() {}\n```\n";
        let blocks = extract("t.md", text);
        assert_eq!(blocks.len(), 1);
        assert!(blocks[0].run);
        assert_eq!(blocks[0].line, 2);
        assert_eq!(blocks[0].source, "module t: misc;\nfn load(ctx: &LoadCtx) -> i64 { return 0; }\n");
    }

    #[test]
    fn a_block_that_does_not_compile_fails_with_the_diagnostic() {
        let block = Block { file: "t.md".into(), line: 1, run: false, rejected: false, source: "module t: misc;\nfn load(ctx: &LoadCtx) -> i64 { return x; }\n".into() };
        let error = check(&block).unwrap_err();
        assert!(error.contains("t.md:1"), "{error}");
    }

    #[test]
    fn a_run_block_runs_load_and_collects_logs() {
        let source = "module t: misc;\nfn load(ctx: &LoadCtx) -> i64 { log(\"id {}\", ctx.module_id); return 0; }\n";
        let block = Block { file: "t.md".into(), line: 1, run: true, rejected: false, source: source.into() };
        assert_eq!(check(&block), Ok("id 7".into()));
        let failing = source.replace("return 0", "return 5");
        let block = Block { file: "t.md".into(), line: 1, run: true, rejected: false, source: failing };
        assert!(check(&block).unwrap_err().contains("returned 5"));
    }
}
