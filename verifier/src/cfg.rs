//! Control-flow checks, done before any state is computed:
//!
//! 1. the program is non-empty, within the size limit, and every 64-bit
//!    immediate load has its second slot (and no stray second slot exists);
//! 2. functions are found: slot 0 and every local call target start one, and
//!    each runs to the next start;
//! 3. every jump stays inside its function and lands on an instruction
//!    (never the second slot of an `lddw`);
//! 4. every function ends in `exit` or an unconditional jump, so no path
//!    runs off its end;
//! 5. every instruction is reachable from slot 0;
//! 6. the call graph has no cycle and no chain deeper than the limit.
//!
//! The result ([`Cfg`]) tells the analysis where functions start and end and
//! which instructions are *prune points* (jump targets and function starts),
//! where states are compared and stored.

use alloc::format;
use alloc::vec::Vec;

use crate::insn::{Imm64, Insn};
use crate::profile::Limits;
use crate::report::{ErrorKind, Report};

/// A function of a verified program: slots `start .. end`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Function {
    /// First slot (the target of its local calls; 0 for the entry).
    pub start: usize,
    /// One past the last slot.
    pub end: usize,
    /// Bytes of stack the function uses (a multiple of 8, at most 512).
    pub stack_depth: u32,
}

/// What the analysis needs to know about control flow.
pub struct Cfg {
    /// The functions, by start.
    pub functions: Vec<Function>,
    /// For each slot, the index of its function.
    pub func_of: Vec<u32>,
    /// For each slot, whether states are compared and stored there.
    pub prune: Vec<bool>,
    /// For each function, the slots of its local calls and their callees.
    pub calls: Vec<Vec<(usize, usize)>>,
}

/// A vector of `n` copies of `v`, or an `out-of-memory` report: sizes that
/// follow the program's length are allocated fallibly.
pub fn try_vec<T: Clone>(n: usize, v: T) -> Result<Vec<T>, Report> {
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| Report::out_of_memory(0))?;
    out.resize(n, v);
    Ok(out)
}

/// Appends `v` to `out`, or an `out-of-memory` report.
pub fn try_push<T>(out: &mut Vec<T>, v: T) -> Result<(), Report> {
    out.try_reserve(1).map_err(|_| Report::out_of_memory(0))?;
    out.push(v);
    Ok(())
}

/// Runs the checks listed in the module documentation.
pub fn check(insns: &[Insn], limits: &Limits) -> Result<Cfg, Report> {
    let n = insns.len();
    if n == 0 {
        return Err(Report::new(ErrorKind::ProgramSize, 0, "the program has no instructions")
            .hint("every program needs at least `r0 = 0` and `exit`"));
    }
    if n > limits.max_program_len {
        return Err(Report::new(
            ErrorKind::ProgramSize,
            limits.max_program_len,
            format!("the program has {n} slots, more than the limit of {}", limits.max_program_len),
        ));
    }
    check_slots(insns)?;
    let starts = function_starts(insns)?;
    let mut func_of = try_vec(n, 0u32)?;
    let mut functions = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(n);
        func_of[start..end].iter_mut().for_each(|f| *f = i as u32);
        try_push(&mut functions, Function { start, end, stack_depth: 0 })?;
    }
    let mut prune = try_vec(n, false)?;
    for f in &functions {
        prune[f.start] = true;
    }
    for (pc, insn) in insns.iter().enumerate() {
        if let (Insn::Ja { .. } | Insn::Jump { .. }, Some(t)) = (insn, insn.target(pc)) {
            let f = &functions[func_of[pc] as usize];
            if t < 0 || t as usize >= n {
                return Err(Report::new(ErrorKind::JumpOutOfRange, pc, format!("jump to slot {t}, outside the program")));
            }
            let t = t as usize;
            if insns[t] == Insn::Imm64Tail {
                return Err(Report::new(
                    ErrorKind::JumpIntoImm64,
                    pc,
                    format!("jump to slot {t}, the second half of a 64-bit immediate load"),
                ));
            }
            if t < f.start || t >= f.end {
                return Err(Report::new(
                    ErrorKind::JumpOutOfRange,
                    pc,
                    format!("jump to slot {t}, outside its function (slots {}..{})", f.start, f.end),
                )
                .hint("functions are entered only by `call` and left only by `exit`"));
            }
            prune[t] = true;
        }
    }
    for f in &functions {
        let mut last = f.end - 1;
        if insns[last] == Insn::Imm64Tail {
            last -= 1;
        }
        if !matches!(insns[last], Insn::Exit | Insn::Ja { .. }) {
            return Err(Report::new(
                ErrorKind::FallsOffEnd,
                last,
                "the last instruction of the function is neither `exit` nor a jump, so execution could run past it",
            )
            .hint("end every path with `exit`"));
        }
    }
    check_reachable(insns)?;
    let mut calls = try_vec(functions.len(), Vec::new())?;
    for (pc, insn) in insns.iter().enumerate() {
        if let (Insn::CallLocal { .. }, Some(t)) = (insn, insn.target(pc)) {
            let callee = func_of[t as usize] as usize;
            try_push(&mut calls[func_of[pc] as usize], (pc, callee))?;
        }
    }
    check_call_graph(&calls, limits)?;
    Ok(Cfg { functions, func_of, prune, calls })
}

/// Every `LoadImm64` is followed by its tail and every tail follows one.
fn check_slots(insns: &[Insn]) -> Result<(), Report> {
    let mut pc = 0;
    while pc < insns.len() {
        match insns[pc] {
            Insn::LoadImm64 { imm, .. } => {
                if insns.get(pc + 1) != Some(&Insn::Imm64Tail) {
                    return Err(Report::new(
                        ErrorKind::MalformedImm64,
                        pc,
                        "a 64-bit immediate load without its second slot",
                    ));
                }
                if let Imm64::VarAddr(_) | Imm64::CodeAddr(_) = imm {
                    return Err(Report::new(
                        ErrorKind::Unsupported,
                        pc,
                        "variable and code addresses are not supported; use maps or read-only data",
                    ));
                }
                pc += 2;
            }
            Insn::Imm64Tail => {
                return Err(Report::new(
                    ErrorKind::MalformedImm64,
                    pc,
                    "the second slot of a 64-bit immediate load without its first",
                ));
            }
            _ => pc += 1,
        }
    }
    Ok(())
}

/// Slot 0 and the targets of all local calls, sorted.
fn function_starts(insns: &[Insn]) -> Result<Vec<usize>, Report> {
    let mut starts = Vec::new();
    try_push(&mut starts, 0)?;
    for (pc, insn) in insns.iter().enumerate() {
        if let (Insn::CallLocal { .. }, Some(t)) = (insn, insn.target(pc)) {
            if t < 0 || t as usize >= insns.len() {
                return Err(Report::new(ErrorKind::JumpOutOfRange, pc, format!("call to slot {t}, outside the program")));
            }
            if insns[t as usize] == Insn::Imm64Tail {
                return Err(Report::new(
                    ErrorKind::JumpIntoImm64,
                    pc,
                    format!("call to slot {t}, the second half of a 64-bit immediate load"),
                ));
            }
            try_push(&mut starts, t as usize)?;
        }
    }
    starts.sort_unstable();
    starts.dedup();
    Ok(starts)
}

/// The slots control may go to after `pc` within its function (calls are
/// followed by their return point).
pub fn successors(insns: &[Insn], pc: usize) -> ([usize; 2], usize) {
    let insn = &insns[pc];
    let next = pc + insn.slots();
    match insn {
        Insn::Exit => ([0, 0], 0),
        Insn::Ja { .. } => ([insn.target(pc).unwrap_or(0) as usize, 0], 1),
        Insn::Jump { .. } => ([next, insn.target(pc).unwrap_or(0) as usize], 2),
        _ => ([next, 0], 1),
    }
}

/// Every instruction is reached from slot 0 (through jumps and calls).
fn check_reachable(insns: &[Insn]) -> Result<(), Report> {
    let mut seen = try_vec(insns.len(), false)?;
    // Each slot is queued at most once, so the room reserved here suffices.
    let mut work = try_vec(1, 0usize)?;
    work.try_reserve_exact(insns.len()).map_err(|_| Report::out_of_memory(0))?;
    seen[0] = true;
    while let Some(pc) = work.pop() {
        let (succ, count) = successors(insns, pc);
        let call = match insns[pc] {
            Insn::CallLocal { .. } => insns[pc].target(pc).map(|t| t as usize),
            _ => None,
        };
        for s in succ[..count].iter().copied().chain(call) {
            if s < insns.len() && !seen[s] {
                seen[s] = true;
                work.push(s);
            }
        }
    }
    for (pc, insn) in insns.iter().enumerate() {
        if !seen[pc] && *insn != Insn::Imm64Tail {
            return Err(Report::new(ErrorKind::Unreachable, pc, "no path reaches this instruction")
                .hint("remove dead code; the verifier accepts only programs whose every instruction can run"));
        }
    }
    Ok(())
}

/// No recursion, and no chain of calls deeper than the limit.
fn check_call_graph(calls: &[Vec<(usize, usize)>], limits: &Limits) -> Result<(), Report> {
    // Depth-first over the call graph from the entry, with an explicit
    // stack of (function, next call index).
    let mut on_path = try_vec(calls.len(), false)?;
    let mut stack: Vec<(usize, usize)> = try_vec(1, (0, 0))?;
    on_path[0] = true;
    while let Some(&mut (f, ref mut i)) = stack.last_mut() {
        if *i == calls[f].len() {
            on_path[f] = false;
            stack.pop();
            continue;
        }
        let (pc, callee) = calls[f][*i];
        *i += 1;
        if on_path[callee] {
            return Err(Report::new(ErrorKind::CallDepth, pc, "recursive call: the function can call itself again")
                .hint("rewrite the recursion as a bounded loop"));
        }
        if stack.len() + 1 > limits.max_call_depth as usize {
            return Err(Report::new(
                ErrorKind::CallDepth,
                pc,
                format!("calls nest deeper than the limit of {} frames", limits.max_call_depth),
            ));
        }
        on_path[callee] = true;
        try_push(&mut stack, (callee, 0))?;
    }
    Ok(())
}

/// Checks that every chain of calls fits in the stack limit, given the
/// stack depth of each function.
pub fn check_stack(cfg: &Cfg, depths: &[u32], limits: &Limits) -> Result<(), Report> {
    // Total stack of the deepest chain starting at each function, computed
    // callee-first (the graph is acyclic).
    let mut total: Vec<Option<u32>> = try_vec(cfg.functions.len(), None)?;
    let mut stack = try_vec(1, 0usize)?;
    while let Some(&f) = stack.last() {
        // The callees not yet computed go first.
        let before = stack.len();
        for &(_, c) in &cfg.calls[f] {
            if total[c].is_none() {
                try_push(&mut stack, c)?;
            }
        }
        if stack.len() == before {
            stack.pop();
            let mut deepest = 0;
            for &(pc, c) in &cfg.calls[f] {
                let t = total[c].unwrap_or(0);
                if depths[f] + t > limits.max_stack {
                    return Err(Report::new(
                        ErrorKind::StackSize,
                        pc,
                        format!(
                            "this call chain needs {} bytes of stack ({} here and {} in the callees), more than the limit of {}",
                            depths[f] + t,
                            depths[f],
                            t,
                            limits.max_stack
                        ),
                    )
                    .hint("use less stack in the functions of the chain, or keep large data in a map"));
                }
                deepest = deepest.max(t);
            }
            total[f] = Some(depths[f] + deepest);
        }
    }
    Ok(())
}
