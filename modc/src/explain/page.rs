//! The explorer page: the analyses as compact JSON (column arrays of small
//! numbers for the visits, each distinct value and state once) inside one
//! HTML file whose style and script are inline (`page.html`), so that it
//! opens from `file://` with no network.

use lkm::{Image, MapKind};
use serde_json::{json, Value as Json};
use verifier::state::{Ptr, Region, Value};

use super::record::{Cell, Mark, Recording, StateRow};
use super::Analysis;

/// The page around the data (style, script, and a marker for the data).
const TEMPLATE: &str = include_str!("page.html");
const DATA_MARKER: &str = "/*DATA*/null";
const TITLE_MARKER: &str = "<!--TITLE-->";

/// The whole page.
pub fn render(image: &Image, source: Option<&str>, analyses: &[Analysis]) -> String {
    let file = image.lines.as_ref().map(|t| t.source.clone()).unwrap_or_default();
    let maps: Vec<Json> = image
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let kind = match m.kind {
                MapKind::Array => "array",
                MapKind::Hash => "hash",
                MapKind::PerCpuArray => "percpu_array",
            };
            json!([format!("m{i}"), m.name, kind, m.key_size, m.value_size, m.max_entries])
        })
        .chain(std::iter::once(json!([format!("m{}", image.maps.len()), "read-only data", "read-only", 0, image.rodata.len(), 1])))
        .collect();
    let data = json!({
        "module": image.name,
        "class": image.params.class().name(),
        "file": file,
        "source": source.map(|s| s.lines().collect::<Vec<_>>()).unwrap_or_default(),
        "maps": maps,
        "programs": analyses.iter().map(program).collect::<Vec<_>>(),
    });
    // `</` never appears outside strings in JSON; escaped, it cannot end the script.
    let data = data.to_string().replace("</", "<\\/");
    let title = html_escape(&format!("{}: what the verifier knew", image.name));
    TEMPLATE.replacen(TITLE_MARKER, &title, 1).replacen(DATA_MARKER, &data, 1)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One program's data.
fn program(a: &Analysis) -> Json {
    let rec = &a.recording;
    let insns: Vec<Json> = a
        .insns
        .iter()
        .enumerate()
        .filter(|(_, i)| !matches!(i, verifier::Insn::Imm64Tail))
        .map(|(pc, i)| json!([pc, i.to_string(), a.lines[pc]]))
        .collect();
    let verdict = match &a.result {
        Ok(s) => json!({"ok": true, "processed": s.insns_processed, "stored": s.states_stored, "pruned": s.states_pruned, "peak": s.peak_pending}),
        Err(r) => json!({
            "ok": false, "kind": r.kind.name(), "pc": r.pc, "insn": r.insn, "reason": r.reason,
            "hint": r.hint, "regs": r.regs, "text": r.to_string(),
        }),
    };
    let mut kinds = Vec::new();
    let values: Vec<Json> = rec.values.iter().map(|v| value(v, &mut kinds)).collect();
    let mut stored = Vec::new();
    let mut pruned = Vec::new();
    let mut edges = Vec::new();
    for (i, v) in rec.visits.iter().enumerate() {
        match v.mark {
            Some(Mark::Stored) => stored.push(i),
            Some(Mark::Pruned { by, live, exact }) => pruned.push(json!([i, by, live, exact])),
            None => {}
        }
        if v.edges != 0 {
            edges.push(json!([i, v.edges]));
        }
    }
    json!({
        "entry": a.entry,
        "insns": insns,
        "verdict": verdict,
        "values": values,
        "kinds": kinds,
        "states": states(rec),
        "vpc": rec.visits.iter().map(|v| v.pc).collect::<Vec<_>>(),
        "vstate": rec.visits.iter().map(|v| v.state).collect::<Vec<_>>(),
        // How many visits back the one before it on its path is (0: none).
        "vup": rec.visits.iter().enumerate().map(|(i, v)| v.parent.map_or(0, |p| i - p as usize)).collect::<Vec<_>>(),
        "vround": rec.visits.iter().map(|v| v.round).collect::<Vec<_>>(),
        "stored": stored,
        "pruned": pruned,
        "edges": edges,
        "processed": rec.processed,
        "storedPer": rec.stored,
        "dropped": rec.dropped,
        "path": a.path,
        "walk": a.walk.iter().map(|s| json!([s.text, s.pc])).collect::<Vec<_>>(),
    })
}

/// The states, each as its difference from the one before it (most visits
/// change one register): `[depth, [reg, value, ...], [[offset, cell], ...]]`,
/// a cell `null` for a slot no longer written.
fn states(rec: &Recording) -> Vec<Json> {
    let cell = |c: &Cell| match c {
        Cell::Spill(v) => json!(v),
        Cell::Bytes(b) => json!(b),
    };
    let mut prev: Option<&StateRow> = None;
    let mut out = Vec::with_capacity(rec.states.len());
    for s in &rec.states {
        let old_regs = prev.map_or([0; 11], |p| p.regs);
        let regs: Vec<u32> = (0..11).filter(|&r| s.regs[r] != old_regs[r]).flat_map(|r| [r as u32, s.regs[r]]).collect();
        let old_stack = prev.map_or(&[][..], |p| &p.stack[..]);
        let mut stack: Vec<Json> = s
            .stack
            .iter()
            .filter(|e| !old_stack.contains(e))
            .map(|(off, c)| json!([off, cell(c)]))
            .collect();
        stack.extend(old_stack.iter().filter(|(off, _)| !s.stack.iter().any(|(o, _)| o == off)).map(|(off, _)| json!([off, null])));
        out.push(json!([s.depth, regs, stack]));
        prev = Some(s);
    }
    out
}

/// One register value: its kind (a number in `kinds`) and the value as
/// the log prints it; for a number not known exactly or a pointer, also
/// the known bits and the u64, s64, u32 and s32 ranges (of the offset, for
/// a pointer), or one range when the four are the same.
fn value(v: &Value, kinds: &mut Vec<String>) -> Json {
    let mut kind = |k: String| match kinds.iter().position(|x| *x == k) {
        Some(i) => i,
        None => {
            kinds.push(k);
            kinds.len() - 1
        }
    };
    let scalar = |s: &verifier::domain::Scalar| {
        let b = &s.b;
        [
            format!("0x{:x}/0x{:x}", s.t.value, s.t.mask),
            format!("[{}, {}]", b.umin, b.umax),
            format!("[{}, {}]", b.smin, b.smax),
            format!("[{}, {}]", b.u32_min, b.u32_max),
            format!("[{}, {}]", b.s32_min, b.s32_max),
        ]
    };
    let views = |k: usize, shown: String, [bits, u, i, u32s, s32s]: [String; 5]| {
        if u == i && u == u32s && u == s32s { json!([k, shown, bits, u]) } else { json!([k, shown, bits, u, i, u32s, s32s]) }
    };
    let shown = v.to_string();
    match v {
        Value::Uninit => json!([kind("not initialised".into()), shown]),
        Value::MapRef(m) => json!([kind(format!("reference to map m{m}")), shown]),
        Value::Scalar(s) if s.as_const().is_some() => json!([kind("known number".into()), shown]),
        Value::Scalar(s) => views(kind("number".into()), shown, scalar(s)),
        Value::Ptr(p) => views(kind(pointer_kind(p)), shown, scalar(&p.off)),
    }
}

fn pointer_kind(p: &Ptr) -> String {
    let region = match p.region {
        Region::Ctx => "the context".to_string(),
        Region::Stack { frame } => format!("the stack of frame {frame}"),
        Region::MapValue { map } => format!("a value of map m{map}"),
        Region::Mem { size, writable } => format!("{size} bytes of {} memory", if writable { "writable" } else { "read-only" }),
    };
    if p.maybe_null { format!("pointer to {region}, or NULL (id {})", p.id) } else { format!("pointer to {region}") }
}
