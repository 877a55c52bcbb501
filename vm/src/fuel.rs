//! The run-time budget's cost model: where a run is charged, and how much.
//!
//! A verified program ends, but "ends" is not "ends soon": a loop of
//! 100,000 rounds that each call a slow helper passes the verifier and then
//! keeps interrupts off for seconds. So every run has a budget of *fuel*,
//! in units of one bytecode instruction, and a helper call costs its
//! weight (the kernel's weights are `lkm::helpers::weight`). Charging each
//! instruction as it runs would cost more than the instruction itself, so
//! a run is charged in lumps, as Wasm engines meter fuel:
//!
//! * on entry, the cost of one pass over the entry function: the sum of
//!   its slots' costs, where an instruction costs 1, the second slot of a
//!   `lddw` 0, a helper call its weight, and a local call 1 plus the cost
//!   of one pass over the callee (calls form no cycles: the verifier
//!   refuses recursion);
//! * on reaching a *loop header* (the target of a jump at or after it,
//!   a back edge), the cost of one pass over the loop: the slots from the
//!   header to its last back edge, costed the same way.
//!
//! Every instruction a run executes is thus paid for before it runs: code
//! without back edges once by the entry charge, each further round of a
//! loop by its header's charge. Straight-line code and local calls carry no
//! metering of their own, so the JIT's inlining and copied paths stay as
//! they are. The JIT (`jit`, which decrements a counter at loop headers and
//! in the entry's prologue) and the interpreter ([`crate::Vm::meter`])
//! both charge from one [`Plan`], so they run out of fuel at the same
//! instruction, after the same helper calls.

use alloc::vec;
use alloc::vec::Vec;

use verifier::Insn;

/// The largest single charge. A budget is always below it, so a larger
/// cost (a saturated sum) exhausts any budget at once; it fits in the
/// sign-extended 32-bit immediate of the JIT's `sub`.
pub const MAX_CHARGE: u64 = i32::MAX as u64;

/// Local calls nested deeper than this cost [`MAX_CHARGE`] (the verifier
/// allows 8 frames; only an unverified program goes deeper).
const MAX_DEPTH: usize = 16;

/// Where a program is charged and how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    entry: u64,
    /// The charge on reaching each slot; 0 for slots that are no loop header.
    at: Vec<u64>,
}

impl Plan {
    /// The plan of `insns`, with each helper call costing `weight(id)`.
    ///
    /// Its tables hold one entry a slot. In the kernel the plan is made
    /// while the JIT compiles a verified program, whose length the image
    /// format bounds first (`lkm::MAX_SLOTS`, 65,536 slots: at most 512 KiB
    /// a table), and it allocates as the JIT's own tables do.
    pub fn new(insns: &[Insn], weight: &dyn Fn(u32) -> u64) -> Plan {
        let starts = function_starts(insns);
        let mut once = vec![None; starts.len()];
        let cost = |pc: usize, once: &mut Vec<Option<u64>>| slot_cost(insns, &starts, pc, weight, once, 0);
        let mut prefix = Vec::with_capacity(insns.len() + 1);
        prefix.push(0u64);
        let mut sum = 0u64;
        for pc in 0..insns.len() {
            sum = sum.saturating_add(cost(pc, &mut once));
            prefix.push(sum);
        }
        // One pass over the slots `from..=to`.
        let pass = |from: usize, to: usize| prefix.get(to + 1).zip(prefix.get(from)).map_or(MAX_CHARGE, |(b, a)| b - a);
        let mut last_back_edge: Vec<Option<usize>> = vec![None; insns.len()];
        for (pc, insn) in insns.iter().enumerate() {
            let Some(t) = back_edge_target(insn, pc) else { continue };
            if let Some(end) = last_back_edge.get_mut(t) {
                *end = Some(end.map_or(pc, |e| e.max(pc)));
            }
        }
        let at = last_back_edge.iter().enumerate().map(|(t, end)| end.map_or(0, |e| pass(t, e).clamp(1, MAX_CHARGE))).collect();
        let entry_end = starts.get(1).copied().unwrap_or(insns.len());
        let entry = if insns.is_empty() { 0 } else { pass(0, entry_end - 1).min(MAX_CHARGE) };
        Plan { entry, at }
    }

    /// The charge when a run starts.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The charge on reaching slot `pc` (0: none).
    pub fn at(&self, pc: usize) -> u64 {
        self.at.get(pc).copied().unwrap_or(0)
    }
}

/// The target of `insn` at `pc` if it jumps back (to itself or before).
fn back_edge_target(insn: &Insn, pc: usize) -> Option<usize> {
    if !matches!(insn, Insn::Jump { .. } | Insn::Ja { .. }) {
        return None;
    }
    let t = usize::try_from(insn.target(pc)?).ok()?;
    (t <= pc).then_some(t)
}

/// The first slot of each function: 0 and every local call's target, sorted.
fn function_starts(insns: &[Insn]) -> Vec<usize> {
    let mut starts = vec![0];
    for (pc, insn) in insns.iter().enumerate() {
        if let Insn::CallLocal { .. } = insn
            && let Some(t) = insn.target(pc).and_then(|t| usize::try_from(t).ok())
            && t < insns.len()
        {
            starts.push(t);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// What reaching slot `pc` once costs.
fn slot_cost(insns: &[Insn], starts: &[usize], pc: usize, weight: &dyn Fn(u32) -> u64, once: &mut Vec<Option<u64>>, depth: usize) -> u64 {
    match insns.get(pc) {
        Some(Insn::Imm64Tail) | None => 0,
        Some(Insn::Call { helper }) => weight(*helper).min(MAX_CHARGE),
        Some(insn @ Insn::CallLocal { .. }) => {
            let callee = insn.target(pc).and_then(|t| usize::try_from(t).ok()).and_then(|t| starts.binary_search(&t).ok());
            callee.map_or(MAX_CHARGE, |f| function_cost(insns, starts, f, weight, once, depth + 1)).saturating_add(1)
        }
        Some(_) => 1,
    }
}

/// What one pass over function `f` (the `f`-th start) costs.
fn function_cost(insns: &[Insn], starts: &[usize], f: usize, weight: &dyn Fn(u32) -> u64, once: &mut Vec<Option<u64>>, depth: usize) -> u64 {
    if let Some(Some(known)) = once.get(f) {
        return *known;
    }
    if depth > MAX_DEPTH {
        return MAX_CHARGE;
    }
    let start = starts.get(f).copied().unwrap_or(0);
    let end = starts.get(f + 1).copied().unwrap_or(insns.len());
    let cost = (start..end).fold(0u64, |sum, pc| sum.saturating_add(slot_cost(insns, starts, pc, weight, once, depth)));
    if let Some(slot) = once.get_mut(f) {
        *slot = Some(cost);
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use verifier::assemble;

    fn plan(src: &str) -> Plan {
        let p = assemble(src).expect("assembles");
        Plan::new(p.insns(), &|id| if id == 1 { 1000 } else { 5 })
    }

    #[test]
    fn straight_code_is_charged_once_on_entry() {
        let p = plan("r0 = 1\nr0 += 2\nexit");
        assert_eq!(p.entry(), 3);
        assert!((0..3).all(|pc| p.at(pc) == 0));
    }

    #[test]
    fn a_loop_header_pays_for_one_round_helpers_included() {
        // 0: r6 = 10; 1: call 1; 2: r6 -= 1; 3: if r6 != 0 goto 1; 4: exit
        let p = plan("r6 = 10\nL: call 1\nr6 -= 1\nif r6 != 0 goto L\nr0 = 0\nexit");
        assert_eq!(p.at(1), 1000 + 2);
        assert_eq!(p.at(0), 0);
        assert_eq!(p.entry(), 1 + 1000 + 2 + 2);
    }

    #[test]
    fn a_local_call_costs_one_pass_over_the_callee() {
        let p = plan("call f\nr0 = 0\nexit\nf: call 2\nr0 = 1\nexit");
        assert_eq!(p.entry(), (1 + (5 + 2)) + 2);
    }

    #[test]
    fn a_jump_to_itself_is_a_loop_of_one() {
        let p = plan("r0 = 0\nL: goto L");
        assert_eq!(p.at(1), 1);
    }

    #[test]
    fn huge_costs_saturate_at_the_largest_charge() {
        let p = Plan::new(assemble("L: call 1\ngoto L").expect("assembles").insns(), &|_| u64::MAX);
        assert_eq!(p.at(0), MAX_CHARGE);
        assert_eq!(p.entry(), MAX_CHARGE);
    }
}
