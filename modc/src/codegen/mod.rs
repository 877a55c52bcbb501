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
                codes.push(FnCode { insns: vec![], spans: vec![], calls: vec![], loops: vec![] });
            }
        }
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
