//! The walk back from a refusal, in words: along the path that reached the
//! failing instruction, from the failure towards the start, where the
//! deciding register got the value the verifier refused, following copies
//! from register to register, and whether any comparison on the way bounded
//! (or checked) it.
//!
//! It reads the states the verifier recorded on that one path, so every
//! sentence is about what really happened there, not about the program in
//! general.

use verifier::state::Value;
use verifier::{Insn, Reg, Report, Src};

use super::record::Recording;

/// One sentence, with the slot it is about (the page links it there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentence {
    pub text: String,
    pub pc: Option<usize>,
}

/// Steps named at most for one register.
const MAX_STEPS: usize = 8;

/// The walk back from the failing visit of `rec`; `line_of` gives a
/// slot's source line.
pub fn walk_back(rec: &Recording, insns: &[Insn], line_of: &dyn Fn(usize) -> Option<usize>, report: &Report) -> Vec<Sentence> {
    if report.kind == verifier::ErrorKind::TooComplex {
        return cost(rec, line_of);
    }
    let Some(fail) = rec.failing_visit() else { return Vec::new() };
    let path = rec.path_to(fail);
    let at = |pc: usize| match line_of(pc) {
        Some(l) => format!("line {l} (instruction {pc}, `{}`)", insns[pc]),
        None => format!("instruction {pc} (`{}`)", insns[pc]),
    };
    let value = |visit: u32, r: Reg| -> Value {
        let state = &rec.states[rec.visits[visit as usize].state as usize];
        rec.values[state.regs[r.index()] as usize]
    };
    let mut out = vec![Sentence { text: choices(rec, &path, insns, &line_of), pc: None }];
    if report.kind == verifier::ErrorKind::InfiniteLoop {
        out.extend(came_back(rec, &path, &line_of));
    }
    for reg in deciding(report, |r| value(fail, r)) {
        let v = value(fail, reg);
        out.push(Sentence { text: format!("At {}, {reg} is {}.", at(report.pc), describe(&v)), pc: Some(report.pc) });
        let mut tracked = reg;
        let mut checked = false;
        let mut steps = 0;
        for pair in path.windows(2).rev() {
            let (before, after) = (pair[0], pair[1]);
            let (vb, va) = (value(before, tracked), value(after, tracked));
            if vb == va {
                continue;
            }
            let pc = rec.visits[before as usize].pc;
            let (text, origin) = step_text(&insns[pc], pc, tracked, &vb, &va, &at(pc), rec.visits[after as usize].pc);
            if matches!(insns[pc], Insn::Jump { .. }) {
                checked = true;
            }
            if let Insn::Alu { op: verifier::AluOp::Mov, dst, src: Src::Reg(s), .. } = insns[pc]
                && dst == tracked
            {
                tracked = s;
            }
            out.push(Sentence { text, pc: Some(pc) });
            steps += 1;
            if origin || steps == MAX_STEPS {
                break;
            }
        }
        if !checked {
            let missing = match v {
                Value::Uninit if steps == 0 => Some(format!("No instruction on this path wrote {reg}.")),
                Value::Ptr(p) if p.maybe_null => Some(format!("No comparison of {reg} with 0 on this path checked it.")),
                Value::Scalar(s) if s.as_const().is_none() => {
                    Some(format!("No comparison on this path bounded {reg} after it got its value."))
                }
                _ => None,
            };
            out.extend(missing.map(|text| Sentence { text, pc: None }));
        }
    }
    if let Some(h) = &report.hint {
        let place = line_of(report.pc).map_or(format!("instruction {}", report.pc), |l| format!("line {l}"));
        out.push(Sentence { text: format!("help: {h} (before {place})."), pc: Some(report.pc) });
    }
    out
}

/// Where the work went, for a program the verifier gave up on: the lines
/// that took most of the processed instructions, and the most rounds of a
/// loop seen on one path.
fn cost(rec: &Recording, line_of: &dyn Fn(usize) -> Option<usize>) -> Vec<Sentence> {
    let total: u64 = rec.processed.iter().sum();
    let mut per_line: Vec<(usize, u64, usize)> = Vec::new();
    for (pc, &n) in rec.processed.iter().enumerate() {
        let Some(line) = line_of(pc) else { continue };
        match per_line.iter_mut().find(|(l, _, _)| *l == line) {
            Some(e) => e.1 += n,
            None => per_line.push((line, n, pc)),
        }
    }
    per_line.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<Sentence> = per_line
        .iter()
        .take(3)
        .filter(|(_, n, _)| *n > 0)
        .map(|&(line, n, pc)| Sentence {
            text: format!("Line {line} took {n} of the {total} instructions processed ({}%).", n * 100 / total.max(1)),
            pc: Some(pc),
        })
        .collect();
    let Some(last) = (0..rec.visits.len() as u32).max_by_key(|&v| rec.visits[v as usize].round) else { return out };
    let v = rec.visits[last as usize];
    if v.round < 2 {
        return out;
    }
    let place = line_of(v.pc).map_or(format!("instruction {}", v.pc), |l| format!("line {l}"));
    out.push(Sentence {
        text: format!(
            "One path came back to {place} {} times{}: every round of a loop is followed separately while the states of its rounds differ.",
            v.round,
            if rec.dropped > 0 { " within the visits kept" } else { "" }
        ),
        pc: Some(v.pc),
    });
    // What differs between its last two rounds there.
    let path = rec.path_to(last);
    if let Some(&prev) = path.iter().rev().skip(1).find(|&&u| rec.visits[u as usize].pc == v.pc) {
        let (a, b) = (&rec.states[rec.visits[prev as usize].state as usize], &rec.states[v.state as usize]);
        let changed: Vec<String> = (0..11)
            .filter(|&r| a.regs[r] != b.regs[r])
            .map(|r| format!("r{r} from {} to {}", describe(&rec.values[a.regs[r] as usize]), describe(&rec.values[b.regs[r] as usize])))
            .collect();
        if !changed.is_empty() {
            out.push(Sentence {
                text: format!(
                    "From round {} to round {} there, {}: a stored state covers a later one only if it includes these values, so each round is new.",
                    v.round - 1,
                    v.round,
                    changed.join(", ")
                ),
                pc: Some(v.pc),
            });
        }
    }
    out
}

/// For an infinite loop: how often the path had come round.
fn came_back(rec: &Recording, path: &[u32], line_of: &dyn Fn(usize) -> Option<usize>) -> Option<Sentence> {
    let v = &rec.visits[*path.last()? as usize];
    let place = line_of(v.pc).map_or(format!("instruction {}", v.pc), |l| format!("line {l}"));
    Some(Sentence {
        text: format!(
            "In round {} the path came back to {place} in exactly a state stored there in an earlier round: \
             nothing the loop reads changed, so it would go round for ever.",
            v.round
        ),
        pc: Some(v.pc),
    })
}

/// The registers of the report worth walking back: those whose value can
/// be wrong (a number not known exactly, a pointer that may be NULL,
/// nothing at all); all of them when none is.
fn deciding(report: &Report, value: impl Fn(Reg) -> Value) -> Vec<Reg> {
    let named: Vec<Reg> = report
        .regs
        .iter()
        .filter_map(|(name, _)| name.strip_prefix('r')?.parse::<u8>().ok().and_then(Reg::new))
        .collect();
    let suspect: Vec<Reg> = named
        .iter()
        .copied()
        .filter(|&r| match value(r) {
            Value::Uninit => true,
            Value::Scalar(s) => s.as_const().is_none(),
            Value::Ptr(p) => p.maybe_null,
            Value::MapRef(_) => false,
        })
        .collect();
    if suspect.is_empty() { named } else { suspect }
}

/// The branches the path took, the last few, as one sentence.
fn choices(rec: &Recording, path: &[u32], insns: &[Insn], line_of: &dyn Fn(usize) -> Option<usize>) -> String {
    let mut taken: Vec<String> = path
        .windows(2)
        .filter_map(|pair| {
            let (from, to) = (rec.visits[pair[0] as usize].pc, rec.visits[pair[1] as usize].pc);
            let insn = &insns[from];
            if !matches!(insn, Insn::Jump { .. }) {
                return None;
            }
            let way = if insn.target(from) == Some(to as i64) { "taken" } else { "not taken" };
            let place = line_of(from).map_or(format!("instruction {from}"), |l| format!("line {l}"));
            Some(format!("`{insn}` at {place} {way}"))
        })
        .collect();
    let n = path.len();
    if taken.is_empty() {
        let s = if n == 1 { "" } else { "s" };
        return format!("The refused path runs {n} instruction{s} without a conditional branch.");
    }
    let shown = taken.len().min(4);
    let skipped = taken.len() - shown;
    let last = taken.split_off(taken.len() - shown).join(", then ");
    let more = if skipped > 0 { format!(" (after {skipped} earlier branches)") } else { String::new() };
    format!("The refused path runs {n} instructions; its last branches{more}: {last}.")
}

/// What one instruction did to the tracked register, and whether the
/// value starts there (nothing earlier can explain it).
fn step_text(insn: &Insn, pc: usize, r: Reg, before: &Value, after: &Value, at: &str, next: usize) -> (String, bool) {
    let a = describe(after);
    match *insn {
        Insn::Jump { .. } => {
            let way = if insn.target(pc) == Some(next as i64) { "taken" } else { "not taken" };
            (format!("The comparison at {at}, {way} on this path, narrowed {r} from {} to {a}.", describe(before)), false)
        }
        Insn::Alu { op: verifier::AluOp::Mov, dst, src: Src::Reg(s), .. } if dst == r => {
            (format!("At {at}, {r} became a copy of {s}: {a}. Following {s} back."), false)
        }
        Insn::Load { dst, src, .. } if dst == r => (
            format!("At {at}, {r} was loaded through {src}; the verifier knows only what the memory's type promises: {a}."),
            true,
        ),
        Insn::Call { .. } if matches!(after, Value::Uninit) => {
            (format!("The call at {at} clobbered {r} (r1 to r5 do not survive a call)."), true)
        }
        Insn::Call { .. } => (format!("At {at}, {r} is the result of the call: {a}."), true),
        Insn::LoadImm64 { dst, .. } | Insn::Alu { dst, src: Src::Imm(_), op: verifier::AluOp::Mov, .. } if dst == r => {
            (format!("At {at}, {r} was set to {a}."), true)
        }
        _ => {
            let b = describe(before);
            // Two values of the same description differ in what the log shows.
            let (b, a) = if b == a { (format!("`{before}`"), format!("`{after}`")) } else { (b, a) };
            (format!("At {at}, {r} went from {b} to {a}."), false)
        }
    }
}

/// A value in words.
fn describe(v: &Value) -> String {
    match v {
        Value::Uninit => "not initialised".into(),
        Value::Scalar(s) => match s.as_const() {
            Some(c) => format!("the number {}", c as i64),
            None if s.b.umax >= 1 << 63 && s.b.smin <= i64::MIN / 2 => "a number with no known bound".into(),
            None if s.b.umax >= 1 << 63 => format!("a number in [{}, {}]", s.b.smin, s.b.smax),
            None => format!("a number in [{}, {}]", s.b.umin, s.b.umax),
        },
        v => format!("`{v}`"),
    }
}
