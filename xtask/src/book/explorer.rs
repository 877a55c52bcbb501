//! The explorer pages of `modc explain` in a real browser (headless
//! Chromium, [`crate::browser`]): a refused example opens on its refusal
//! (failing line, explanation, register table), clicking an instruction
//! shows its state, visits can be switched and compared and a pruned one
//! says what covered it. Takes the screenshots the book shows, and
//! measures how large the pages of `modules/kvfs.wm` and of a generated
//! 10,000-instruction program are and how long they take to open.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::browser::{self, Browser};
use crate::{kernel, Result, XtaskError};

/// Blocks of the generated program (five instructions each, and two more).
const BIG_BLOCKS: usize = 2000;

/// The screenshots: file name in `book/src/img/` and what they show.
pub const SCREENSHOTS: [&str; 3] = ["explorer-refused.png", "explorer-visits.png", "explorer-fixme.png"];

/// Runs the check, writing the screenshots into `shots`; `Ok(None)` when no
/// browser could be installed (a notice was printed). The text is a
/// summary with the measurements.
pub fn check(shots: &Path) -> Result<Option<String>> {
    if !browser::ensure_installed() {
        return Ok(None);
    }
    let scratch = kernel::target_dir().join("explorer");
    std::fs::create_dir_all(&scratch)?;
    std::fs::create_dir_all(shots)?;
    let generated = super::src_dir().join("generated/explorer");
    let kvfs = explain("modules/kvfs.wm", &scratch)?;
    let big_src = scratch.join("big.s");
    std::fs::write(&big_src, big_program())?;
    let big = explain(&super::display(&big_src), &scratch)?;
    let b = Browser::start(&scratch, 1600, 900)?;
    refused(&b, &generated.join("index_unchecked.html"), &shots.join(SCREENSHOTS[0]))?;
    visits(&b, &kvfs, &shots.join(SCREENSHOTS[1]))?;
    lab(&b, &generated.join("fixme.html"), &shots.join(SCREENSHOTS[2]))?;
    let mut summary = Vec::new();
    for (name, page) in [("kvfs", &kvfs), ("10,000 instructions", &big)] {
        let ms = b.open(page)?;
        let size = std::fs::metadata(page)?.len();
        summary.push(format!("{name}: {} KiB, drawn in {ms:.0} ms", size.div_ceil(1024)));
    }
    // kvfs opens on its first program; its largest, `read`, is drawn on a click.
    b.open(&kvfs)?;
    let read = b.script(
        "const t = performance.now(); document.querySelector('#programs button[data-program=\"3\"]').click();
         void document.body.offsetHeight; return performance.now() - t;",
    )?;
    summary.push(format!("kvfs `read` drawn in {:.0} ms", read.as_f64().unwrap_or(0.0)));
    Ok(Some(summary.join("; ")))
}

/// `modc explain FILE` (a path from the repository root, as the page
/// shows it) into `scratch`; the page's path.
fn explain(file: &str, scratch: &Path) -> Result<PathBuf> {
    let stem = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let page = scratch.join(format!("{stem}.html"));
    let out = Command::new(kernel::target_dir().join("debug/modc"))
        .args(["explain".as_ref(), file.as_ref(), "-o".as_ref(), page.as_os_str()])
        .current_dir(kernel::root())
        .output()?;
    if !out.status.success() {
        return Err(XtaskError::new(format!("modc explain {file} failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    Ok(page)
}

/// A program of 10,002 instructions: 2,000 times in a row, a number read
/// from the context decides how the result changes (both ways join again,
/// where the second is pruned).
fn big_program() -> String {
    let mut s = String::from("r0 = 0\n");
    for i in 0..BIG_BLOCKS {
        s += &format!("r2 = *(u32 *)(r1 + 0)\nif r2 > {i} goto +2\nr0 += {i}\ngoto +1\nr0 ^= {i}\n");
    }
    s + "exit\n"
}

fn expect(what: &str, ok: bool, seen: impl std::fmt::Display) -> Result<()> {
    if ok { Ok(()) } else { Err(XtaskError::new(format!("explorer page: {what}; the page shows: {seen}"))) }
}

fn save(b: &Browser, path: &Path) -> Result<()> {
    std::fs::write(path, b.screenshot()?)?;
    Ok(())
}

/// The book's refused example opens on its refusal, and an instruction
/// clicked shows its registers.
fn refused(b: &Browser, page: &Path, shot: &Path) -> Result<()> {
    b.open(page)?;
    let failing = b.script("return document.querySelector('#source .src-line.failing').dataset.line")?;
    expect("the failing source line is 16", failing == "16", &failing)?;
    let reason = b.text("#verdict .reason")?;
    expect(
        "the verdict names the rule",
        reason == "error[pointer-arithmetic]: the number added to a pointer is not bounded (needs to be within ±536870912)",
        &reason,
    )?;
    let walk = b.text("#walk")?;
    expect("the walk back finds where r6 came from", walk.contains("At line 8 (instruction 0, `r6 = *(u64 *)(r1 + 8)`), r6 was loaded through r1"), &walk)?;
    expect("the walk back says nothing bounded r6", walk.contains("No comparison on this path bounded r6 after it got its value."), &walk)?;
    let path = b.script("return [...document.querySelectorAll('#source .src-line.on-path')].map(e => +e.dataset.line)")?;
    expect("the refused path covers lines 8 to 16", path == serde_json::json!([8, 9, 10, 11, 12, 13, 14, 15, 16]), &path)?;
    let r6 = b.text("#regs tr[data-reg=\"r6\"]")?;
    expect("the register table shows r6 before the failing instruction", r6.starts_with("r6 number scalar(umin=0,umax=18446744073709551608"), &r6)?;
    save(b, shot)?;
    b.click("#bytecode .insn[data-pc=\"5\"]")?;
    let title = b.text("#insn-title")?;
    expect("clicking instruction 5 selects it", title == "Instruction 5: r2 += -4 — line 12", &title)?;
    let r2 = b.text("#regs tr[data-reg=\"r2\"]")?;
    expect("r2 holds the frame pointer before `r2 += -4`", r2.starts_with("r2 pointer to the stack of frame 0 fp0 + 0"), &r2)?;
    b.click("#walk li.link")?;
    let title = b.text("#insn-title")?;
    expect("a sentence of the walk selects its instruction", title.starts_with("Instruction 9: r0 += r6"), &title)?;
    Ok(())
}

/// An accepted module: visits of a loop switched and compared, a pruned
/// visit explained.
fn visits(b: &Browser, page: &Path, shot: &Path) -> Result<()> {
    b.open(page)?;
    b.click("#programs button[data-program=\"4\"]")?;
    // The instruction with the most visits, its first two, and a pruned visit anywhere.
    let pick = b.script(
        "let best = 0; visitsAt.forEach((v, pc) => { if (v && v.length > (visitsAt[best] || []).length) best = pc; });
         const pruned = P.pruned.length ? P.pruned[0][0] : -1;
         return [best, visitsAt[best][0], visitsAt[best][1], pruned, pruned >= 0 ? P.vpc[pruned] : -1];",
    )?;
    let n = |i: usize| pick[i].as_i64().unwrap_or(-1);
    let (pc, first, second, pruned, pruned_pc) = (n(0), n(1), n(2), n(3), n(4));
    b.click(&format!("#bytecode .insn[data-pc=\"{pc}\"]"))?;
    let before = b.text("#regs")?;
    b.click(&format!("#visits tr.visit[data-visit=\"{second}\"]"))?;
    let current = b.script("return document.querySelector('#visits tr.current').dataset.visit")?;
    expect("clicking a visit makes it current", current == Value::String(second.to_string()), &current)?;
    let after = b.text("#regs")?;
    expect("another visit shows another state", before != after, &after)?;
    b.click(&format!("#visits button.cmp[data-visit=\"{first}\"]"))?;
    let differs = b.script("return document.querySelectorAll('#compare tr.differs').length")?;
    expect("two visits compared side by side mark what differs", differs.as_u64().unwrap_or(0) >= 1, &differs)?;
    b.script("document.querySelector('#compare').scrollIntoView({block: 'end'})")?;
    save(b, shot)?;
    if pruned >= 0 {
        b.click(&format!("#bytecode .insn[data-pc=\"{pruned_pc}\"]"))?;
        b.click(&format!("#visits tr.visit[data-visit=\"{pruned}\"]"))?;
        let why = b.text("#prune-why")?;
        expect("a pruned visit names the state that covered it", why.starts_with("Pruned: covered by the state stored at visit #"), &why)?;
    }
    Ok(())
}

/// Lab 5's skeleton: too complex, the page says where the work went.
fn lab(b: &Browser, page: &Path, shot: &Path) -> Result<()> {
    b.open(page)?;
    let reason = b.text("#verdict .reason")?;
    expect("Lab 5's skeleton is too complex", reason.starts_with("error[too-complex]"), &reason)?;
    let walk = b.text("#walk")?;
    expect("the page names the line that took the work", walk.starts_with("Line 15 took"), &walk)?;
    b.script("document.querySelector('#source .src-line[data-line=\"15\"]').scrollIntoView({block: 'center'})")?;
    save(b, shot)
}
