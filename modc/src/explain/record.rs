//! One analysis recorded for the explorer page: a [`Trace`] that keeps
//! every visit (its slot, the visit before it on its path, the round of
//! the loop it is in, its state), the edges each branch could take, the
//! states stored and the paths pruned, and the rejection.
//!
//! States are interned twice over (each distinct register value once, each
//! distinct state once as a row of value numbers), so that thousands of
//! visits that differ in one register stay small on the page.

use std::collections::HashMap;

use verifier::liveness::RegSet;
use verifier::state::{Byte, State, Value};
use verifier::{Report, Trace};

/// Visits kept at most; beyond them only the counts per slot go on (a
/// program the verifier gives up on is processed a million times).
pub const MAX_VISITS: usize = 20_000;

/// One stack slot of a state: its offset from the frame pointer and either
/// a spilled value (a value number) or its bytes (`m` data, `0` zero, `?`
/// never written).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Cell {
    Spill(u32),
    Bytes(String),
}

/// A state as the page shows it: the running frame's depth in the call
/// chain (1 for the entry), its eleven registers and written stack slots.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct StateRow {
    pub depth: usize,
    pub regs: [u32; 11],
    pub stack: Vec<(i64, Cell)>,
}

/// How a visit ended the path, or what was kept of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    /// Stored as a checkpoint.
    Stored,
    /// Covered by the state stored at visit `by`; `live` and `relevant` are
    /// the running frame's registers that were compared and those compared
    /// by value.
    Pruned { by: u32, live: RegSet, relevant: RegSet },
}

/// One visit of an instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Visit {
    pub pc: usize,
    /// The visit before it on its path.
    pub parent: Option<u32>,
    pub state: u32,
    /// Visits of this slot on the path so far, this one included (the
    /// round of a loop whose head it is).
    pub round: u32,
    /// For a conditional jump: bit 0 the next instruction, bit 1 the target
    /// could follow.
    pub edges: u8,
    pub mark: Option<Mark>,
}

/// Everything the page needs of one analysis.
#[derive(Default)]
pub struct Recording {
    pub values: Vec<Value>,
    value_ids: HashMap<Value, u32>,
    pub states: Vec<StateRow>,
    state_ids: HashMap<StateRow, u32>,
    pub visits: Vec<Visit>,
    /// Instructions processed per slot (all of them, past the cap too).
    pub processed: Vec<u64>,
    /// States stored per slot.
    pub stored: Vec<u64>,
    /// Visits not kept because of [`MAX_VISITS`].
    pub dropped: u64,
    pub report: Option<Report>,
    /// The visit of every checkpoint.
    checkpoints: Vec<u32>,
    /// The visits of the current path, and for each slot its last visit on it.
    chain: Vec<u32>,
    last_at: Vec<Option<u32>>,
    /// The visit at which each waiting path forked, as the verifier's
    /// pending stack holds them.
    forks: Vec<Option<u32>>,
    /// For each visit, the last visit of its slot on the path before it.
    prev_same: Vec<Option<u32>>,
}

impl Recording {
    /// An empty recording for a program of `slots` slots.
    pub fn new(slots: usize) -> Recording {
        let mut r = Recording { processed: vec![0; slots], stored: vec![0; slots], last_at: vec![None; slots], ..Default::default() };
        r.value(&Value::Uninit);
        r
    }

    fn value(&mut self, v: &Value) -> u32 {
        if let Some(&i) = self.value_ids.get(v) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(*v);
        self.value_ids.insert(*v, i);
        i
    }

    fn state(&mut self, st: &State) -> u32 {
        let frame = st.cur();
        let mut regs = [0; 11];
        for (r, v) in regs.iter_mut().zip(&frame.regs) {
            *r = self.value(v);
        }
        let mut stack = Vec::new();
        for (i, slot) in frame.stack.iter().enumerate() {
            let off = -8 * (i as i64 + 1);
            if slot.is_spill() {
                stack.push((off, Cell::Spill(self.value(&slot.spill))));
            } else if slot.bytes.iter().any(|b| *b != Byte::Invalid) {
                // Highest address first, as the bytes read from `fp - 1` down.
                let marks = slot.bytes.iter().rev().map(|b| match b {
                    Byte::Invalid => '?',
                    Byte::Misc => 'm',
                    Byte::Zero => '0',
                    Byte::Spill => 's',
                });
                stack.push((off, Cell::Bytes(marks.collect())));
            }
        }
        let row = StateRow { depth: st.frames.len(), regs, stack };
        if let Some(&i) = self.state_ids.get(&row) {
            return i;
        }
        let i = self.states.len() as u32;
        self.states.push(row.clone());
        self.state_ids.insert(row, i);
        i
    }

    /// The last visit kept, when it is the one at `pc`.
    fn last_visit_at(&self, pc: usize) -> Option<u32> {
        let &v = self.chain.last()?;
        (self.visits[v as usize].pc == pc).then_some(v)
    }

    /// The visits from the start of the path to `v`.
    pub fn path_to(&self, v: u32) -> Vec<u32> {
        let mut path = vec![v];
        let mut at = v;
        while let Some(p) = self.visits[at as usize].parent {
            path.push(p);
            at = p;
        }
        path.reverse();
        path
    }

    /// The visit that ends the longest path.
    pub fn deepest(&self) -> Option<u32> {
        let mut depth = vec![0u32; self.visits.len()];
        let mut best: Option<(u32, u32)> = None;
        for (i, v) in self.visits.iter().enumerate() {
            depth[i] = v.parent.map_or(1, |p| depth[p as usize] + 1);
            if best.is_none_or(|(d, _)| depth[i] > d) {
                best = Some((depth[i], i as u32));
            }
        }
        best.map(|(_, i)| i)
    }

    /// The visit of the failing instruction, for a rejection found while
    /// exploring (not by the checks before it).
    pub fn failing_visit(&self) -> Option<u32> {
        let report = self.report.as_ref()?;
        self.last_visit_at(report.pc)
    }
}

impl Trace for Recording {
    fn path(&mut self, _pc: usize) {
        let fork = self.forks.pop().flatten();
        while let Some(&v) = self.chain.last() {
            if Some(v) == fork {
                break;
            }
            self.chain.pop();
            let pc = self.visits[v as usize].pc;
            self.last_at[pc] = self.prev_same[v as usize];
        }
    }

    fn visit(&mut self, pc: usize, state: &State) {
        // Taken back by `pruned` when the visit ends there.
        self.processed[pc] += 1;
        if self.visits.len() >= MAX_VISITS {
            self.dropped += 1;
            self.chain.clear();
            return;
        }
        let idx = self.visits.len() as u32;
        let prev = self.last_at[pc];
        let round = prev.map_or(1, |p| self.visits[p as usize].round + 1);
        let state = self.state(state);
        self.visits.push(Visit { pc, parent: self.chain.last().copied(), state, round, edges: 0, mark: None });
        self.prev_same.push(prev);
        self.last_at[pc] = Some(idx);
        self.chain.push(idx);
    }

    fn branch(&mut self, pc: usize, _to: usize, taken: bool, queued: bool, _state: &State) {
        let v = self.last_visit_at(pc);
        if let Some(v) = v {
            self.visits[v as usize].edges |= if taken { 2 } else { 1 };
        }
        if queued {
            self.forks.push(v);
        }
    }

    fn stored(&mut self, pc: usize, _checkpoint: u32) {
        self.stored[pc] += 1;
        let v = self.last_visit_at(pc);
        if let Some(v) = v {
            self.visits[v as usize].mark = Some(Mark::Stored);
        }
        // Checkpoints are numbered in order; one stored past the cap has no visit.
        self.checkpoints.push(v.unwrap_or(u32::MAX));
    }

    fn pruned(&mut self, pc: usize, checkpoint: u32, _covering: &State, live: &[RegSet], relevant: &[RegSet]) {
        self.processed[pc] -= 1;
        let by = self.checkpoints.get(checkpoint as usize).copied().filter(|&b| b != u32::MAX);
        if let (Some(v), Some(by)) = (self.last_visit_at(pc), by) {
            let (live, relevant) = (live.last().copied().unwrap_or(0), relevant.last().copied().unwrap_or(0));
            self.visits[v as usize].mark = Some(Mark::Pruned { by, live, relevant });
        }
    }

    fn rejected(&mut self, report: &Report) {
        self.report = Some(report.clone());
    }
}
