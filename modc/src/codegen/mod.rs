//! Code generation: the typed module to one program per entry point.
//!
//! Each function is compiled once ([`func`], [`stmt`], [`expr`]); a
//! program is then its entry function followed by every local function it
//! reaches, with local-call offsets patched. Alongside the instructions the
//! generator records, per slot, the source span it came from (the line
//! table), and the slot ranges of every loop and function, so that a "too
//! complex" verdict can be shown at the loop responsible.

mod expr;
mod func;
mod stmt;

use crate::diag::{Diag, Span};
use crate::tir::*;
use verifier::Insn;

/// A region of a program: a loop or a function, with its source span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// First slot.
    pub start: usize,
    /// One past the last slot.
    pub end: usize,
    pub span: Span,
    /// `true` for a loop, `false` for a whole function.
    pub is_loop: bool,
    /// The function's name (for a loop, the function it is in).
    pub func: String,
}

/// One compiled program.
#[derive(Clone, Debug)]
pub struct ProgramOut {
    pub entry: String,
    pub insns: Vec<Insn>,
    /// The source span of each slot.
    pub spans: Vec<Span>,
    pub regions: Vec<Region>,
}

/// One compiled function, before programs are laid out.
#[derive(Clone, Debug)]
pub(crate) struct FnCode {
    insns: Vec<Insn>,
    spans: Vec<Span>,
    /// (slot of a `CallLocal`, callee function index).
    calls: Vec<(usize, usize)>,
    loops: Vec<(usize, usize, Span)>,
    /// Bytes of stack the function's frame uses.
    frame: u32,
}

/// Compiles every function and lays out one program per entry point.
pub fn generate(tir: &Tir) -> Result<Vec<ProgramOut>, Vec<Diag>> {
    let rodata_map = tir.maps.len() as u32;
    let mut codes = Vec::new();
    let mut errors = Vec::new();
    for f in &tir.fns {
        match func::compile_fn(tir, f, rodata_map) {
            Ok(c) => codes.push(c),
            Err(d) => {
                errors.push(*d);
                codes.push(FnCode { insns: vec![], spans: vec![], calls: vec![], loops: vec![], frame: 0 });
            }
        }
    }
    if errors.is_empty() {
        errors = check_call_stacks(tir, &codes);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut programs = Vec::new();
    for (index, f) in tir.fns.iter().enumerate() {
        if f.entry.is_some() {
            programs.push(layout_program(tir, &codes, index));
        }
    }
    Ok(programs)
}

/// A caller's frame stays while its callees run, so every chain of calls
/// must fit in the stack limit together (as the verifier checks). Reports
/// each function where a chain first goes over: its callees' chains fit,
/// its own with theirs does not.
fn check_call_stacks(tir: &Tir, codes: &[FnCode]) -> Vec<Diag> {
    /// The bytes of the deepest chain from `f`, and the callee it goes
    /// through (the checker refused recursion and calls nested deeper than
    /// the verifier's limit, so this ends, and soon).
    fn chain(codes: &[FnCode], memo: &mut [Option<(u32, Option<usize>)>], f: usize) -> (u32, Option<usize>) {
        if let Some(Some(known)) = memo.get(f) {
            return *known;
        }
        let frame = codes.get(f).map_or(0, |c| c.frame);
        let calls: Vec<usize> = codes.get(f).map_or(Vec::new(), |c| c.calls.iter().map(|&(_, c)| c).collect());
        let deepest = calls.into_iter().map(|c| (chain(codes, memo, c).0, c)).max();
        let result = (frame + deepest.map_or(0, |(t, _)| t), deepest.map(|(_, c)| c));
        memo[f] = Some(result);
        result
    }
    let mut memo = vec![None; codes.len()];
    let mut errors = Vec::new();
    for (f, code) in codes.iter().enumerate() {
        let (total, Some(callee)) = chain(codes, &mut memo, f) else { continue };
        let rest = chain(codes, &mut memo, callee).0;
        if total > func::STACK_LIMIT && rest <= func::STACK_LIMIT && code.frame <= func::STACK_LIMIT {
            let (name, callee_name) = (&tir.fns[f].name, &tir.fns[callee].name);
            errors.push(
                Diag::error(
                    format!("function `{name}` and the functions it calls need {total} bytes of stack, more than {}", func::STACK_LIMIT),
                    tir.fns[f].span,
                    "too much stack with its calls",
                )
                .note(format!("`{name}` uses {} bytes and keeps them while `{callee_name}` runs, which needs {rest} with its own calls", code.frame))
                .help("make arrays smaller, or keep large data in a map"),
            );
        }
    }
    errors
}

/// The entry function `entry` and the local functions it reaches, with
/// local calls patched.
fn layout_program(tir: &Tir, codes: &[FnCode], entry: usize) -> ProgramOut {
    let mut order = vec![entry];
    let mut i = 0;
    while i < order.len() {
        for &(_, callee) in &codes[order[i]].calls {
            if !order.contains(&callee) {
                order.push(callee);
            }
        }
        i += 1;
    }
    let mut starts = vec![0usize; codes.len()];
    let mut at = 0;
    for &f in &order {
        starts[f] = at;
        at += codes[f].insns.len();
    }
    let mut insns = Vec::with_capacity(at);
    let mut spans = Vec::with_capacity(at);
    let mut regions = Vec::new();
    for &f in &order {
        let base = starts[f];
        let code = &codes[f];
        let mut fi = code.insns.clone();
        for &(slot, callee) in &code.calls {
            let off = starts[callee] as i64 - (base + slot) as i64 - 1;
            fi[slot] = Insn::CallLocal { off: off as i32 };
        }
        insns.extend(fi);
        spans.extend(code.spans.iter().copied());
        let name = tir.fns[f].name.clone();
        regions.push(Region { start: base, end: base + code.insns.len(), span: tir.fns[f].span, is_loop: false, func: name.clone() });
        for &(s, e, span) in &code.loops {
            regions.push(Region { start: base + s, end: base + e, span, is_loop: true, func: name.clone() });
        }
    }
    ProgramOut { entry: tir.fns[entry].name.clone(), insns, spans, regions }
}
