//! Path exploration: the work list of pending paths, the states stored at
//! prune points, pruning and infinite-loop detection, the complexity limit
//! and the verbose log.
//!
//! Every stored state (a *checkpoint*) counts its `branches`: the paths
//! still being explored whose most recent checkpoint it is, plus its child
//! checkpoints that are not finished. A path that ends (by `exit` or by
//! being pruned) decrements its checkpoint, and a checkpoint reaching zero
//! decrements its parent in turn. A checkpoint with zero branches is *fully
//! explored*: every continuation from it was checked, so it may prune. One
//! with branches left is an ancestor of the current path (exploration is
//! depth-first), so meeting the very same state there again is a loop that
//! would never end.
//!
//! A fully explored checkpoint that keeps failing to cover the states that
//! reach it (a loop counter that differs on every round) is dropped from
//! its slot's list once its misses exceed three times its hits plus three,
//! as the Linux verifier does. Dropping one is always safe (pruning only
//! saves work) and keeps the comparisons per visit few, instead of growing
//! with every round of every loop.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::Stats;
use crate::cfg::Cfg;
use crate::insn::{Insn, Reg};
use crate::liveness::{CALLEE_SAVED, RegSet};
use crate::profile::Profile;
use crate::report::{ErrorKind, Report};
use crate::state::{Exact, State};

use super::on_path::OnPath;
use super::precision::{History, Marks, NONE, Note};
use super::trace::Trace;
use super::watch::{WATCH_EVERY, Watch};

#[cfg(test)]
mod tests;
mod walk;

/// Paths waiting to be explored, at most (as the Linux verifier's jump
/// sequence limit).
const MAX_PENDING: usize = 8192;

/// A state is stored only after this many instructions and jumps were
/// processed since the last one was (Linux's heuristic): storing at every
/// prune point costs a copy of the state each time, and a state close
/// behind another one rarely prunes anything the other would not.
const MIN_INSNS_BETWEEN_STORES: u64 = 8;
const MIN_JUMPS_BETWEEN_STORES: u64 = 2;

/// The registers (by index) of the set `regs`, lowest first.
fn registers(mut regs: u16) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        let r = regs.trailing_zeros() as usize;
        regs &= regs.wrapping_sub(1);
        (r < Reg::COUNT).then_some(r)
    })
}

/// A state stored at a prune point.
struct Checkpoint {
    state: State,
    /// Where on its path it was stored: the slot, and the path's newest
    /// history entry then.
    pc: u32,
    head: u32,
    /// The numbers whose values decided something after it.
    marks: Marks,
    parent: Option<u32>,
    branches: u32,
    /// Times it covered a state, and times it was compared and did not.
    hits: u32,
    misses: u32,
}

/// Whether a stored state that covered `hits` states and failed to cover
/// `misses` has missed so often that comparing with it again is likely
/// wasted work: more than three misses per hit, and three more.
fn stale(hits: u32, misses: u32) -> bool {
    misses > hits.saturating_mul(3).saturating_add(3)
}

/// A path waiting to be explored.
struct Path {
    pc: usize,
    state: State,
    parent: Option<u32>,
    head: u32,
    /// The oldest entry of its history noting decisions that no walk has
    /// taken back to its newest stored state yet ([`NONE`]: there are none).
    unwalked: u32,
    /// Instructions processed on it since its newest stored state.
    stretch: u32,
}

/// Where the current path goes after one instruction.
pub(super) enum Flow {
    /// On to this slot.
    Next(usize),
    /// On to `next`; the other edge of a jump goes to `other_pc` with `other`.
    Fork { next: usize, other_pc: usize, other: State },
    /// The path ends (the program exits).
    End,
}

enum Visit {
    /// Covered by this checkpoint.
    Pruned(u32),
    Continue(Option<u32>),
}

/// The analysis of one program.
pub(super) struct Checker<'a> {
    pub(super) insns: &'a [Insn],
    pub(super) profile: &'a Profile,
    pub(super) cfg: &'a Cfg,
    live: &'a [RegSet],
    relevant: &'a [RegSet],
    /// Per slot, the registers and stack slots whose links may matter
    /// (`links.rs`).
    links: &'a [Exact],
    log: Option<&'a mut String>,
    watch: Option<&'a mut dyn Watch>,
    checkpoints: Vec<Checkpoint>,
    /// Per slot, the fully explored checkpoints (oldest first), which may
    /// prune; and the checkpoints on the current path, which may show an
    /// infinite loop. A checkpoint moves from the second to the first when
    /// its last branch ends.
    explored: Vec<Vec<u32>>,
    on_path: OnPath,
    pending: Vec<Path>,
    stats: Stats,
    /// Bytes of the stored states, and of the pending ones.
    stored_bytes: usize,
    pending_bytes: usize,
    /// Deepest stack byte used, per function.
    depths: Vec<u32>,
    /// The last id given to a maybe-NULL pointer.
    pub(super) last_id: u32,
    /// Jumps processed, and (instructions, jumps) processed when the last
    /// state was stored.
    jumps_processed: u64,
    last_store: (u64, u64),
    /// Where every path went (for precision tracking).
    history: History,
    /// Set by the instruction being processed: the registers of the running
    /// frame whose values decided something, and what the history notes of
    /// it (its stack access, or the linked copies a jump refined).
    decided: u16,
    pub(super) note: Option<Note>,
}

impl<'a> Checker<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        insns: &'a [Insn],
        profile: &'a Profile,
        cfg: &'a Cfg,
        live: &'a [RegSet],
        relevant: &'a [RegSet],
        links: &'a [Exact],
        log: Option<&'a mut String>,
        watch: Option<&'a mut dyn Watch>,
    ) -> Result<Checker<'a>, Report> {
        Ok(Checker {
            insns,
            profile,
            cfg,
            live,
            relevant,
            links,
            log,
            watch,
            checkpoints: Vec::new(),
            explored: crate::cfg::try_vec(insns.len(), Vec::new())?,
            on_path: OnPath::new(insns.len(), profile.limits.max_states)?,
            pending: Vec::new(),
            stats: Stats::default(),
            stored_bytes: 0,
            pending_bytes: 0,
            depths: crate::cfg::try_vec(cfg.functions.len(), 0)?,
            last_id: 0,
            jumps_processed: 0,
            last_store: (0, 0),
            history: History::new(),
            decided: 0,
            note: None,
        })
    }

    /// Stack depths per function (multiples of 8) and statistics.
    pub(super) fn finish(mut self) -> (Vec<u32>, Stats) {
        for d in &mut self.depths {
            *d = d.div_ceil(8) * 8;
        }
        (self.depths, self.stats)
    }

    /// Explores every path from slot 0 starting in `init`, telling `trace`.
    pub(super) fn run<T: Trace + ?Sized>(&mut self, init: State, trace: &mut T) -> Result<(), Report> {
        self.pending_bytes = init.bytes();
        crate::cfg::try_push(&mut self.pending, Path { pc: 0, state: init, parent: None, head: NONE, unwalked: NONE, stretch: 0 })?;
        while let Some(Path { mut pc, mut state, mut parent, mut head, mut unwalked, mut stretch }) = self.pending.pop() {
            self.pending_bytes -= state.bytes();
            trace.path(pc);
            if let Some(log) = self.log.as_deref_mut() {
                let _ = writeln!(log, "from pending path to {pc}:");
            }
            loop {
                trace.visit(pc, &state);
                if self.cfg.prune[pc] {
                    match self.visit(pc, &mut state, parent, head, &mut unwalked)? {
                        Visit::Pruned(by) => {
                            let n = state.frames.len().min(8);
                            let (live, exact) = self.compared(pc, &state, by);
                            trace.pruned(pc, by, &self.checkpoints[by as usize].state, &live[..n], &exact[..n]);
                            if let Some(log) = self.log.as_deref_mut() {
                                let _ = writeln!(log, "{pc}: safe (covered by an explored state)");
                            }
                            // This path's future is the covering state's:
                            // what decided there decides here.
                            let marks = self.checkpoints[by as usize].marks;
                            self.backtrack(pc, head, parent, state.frames.len() - 1, marks, unwalked);
                            self.end_path(parent);
                            break;
                        }
                        Visit::Continue(p) => {
                            if let Some(i) = p.filter(|_| p != parent) {
                                trace.stored(pc, i);
                                stretch = 0;
                            }
                            parent = p;
                        }
                    }
                }
                self.stats.insns_processed += 1;
                stretch = stretch.saturating_add(1);
                if self.stats.insns_processed.is_multiple_of(WATCH_EVERY) {
                    self.ask_watch(pc)?;
                }
                if self.stats.insns_processed > self.profile.limits.max_insns_processed {
                    return Err(Report::too_complex(
                        pc,
                        format!(
                            "the analysis processed {} instructions without finishing",
                            self.profile.limits.max_insns_processed
                        ),
                    ));
                }
                if let Some(log) = self.log.as_deref_mut() {
                    let _ = writeln!(log, "{pc}: {:<32} ; {}", format!("{}", self.insns[pc]), state);
                }
                if matches!(self.insns[pc], Insn::Ja { .. } | Insn::Jump { .. }) {
                    self.jumps_processed += 1;
                }
                let frame = state.frames.len() - 1;
                let precise = state.cur().precise;
                self.decided = 0;
                self.note = None;
                // Matched at once (each edge then records what precision
                // tracking needs): the flow is not kept across that work.
                match self.step(pc, &mut state)? {
                    Flow::Next(n) => {
                        let tracked = self.settle(pc, &mut state, frame, precise, parent, stretch, &mut head, &mut unwalked, false)?;
                        if let insn @ Insn::Jump { .. } = self.insns[pc] {
                            trace.branch(pc, n, insn.target(pc) == Some(n as i64), false, &state);
                        }
                        if tracked {
                            head = self.history.went(head, self.insns, pc, n)?;
                        }
                        pc = n;
                    }
                    Flow::Fork { next, other_pc, other } => {
                        let tracked = self.settle(pc, &mut state, frame, precise, parent, stretch, &mut head, &mut unwalked, false)?;
                        trace.branch(pc, other_pc, true, true, &other);
                        trace.branch(pc, next, false, false, &state);
                        let other_head = if tracked { self.history.went(head, self.insns, pc, other_pc)? } else { head };
                        self.fork(pc, Path { pc: other_pc, state: other, parent, head: other_head, unwalked, stretch })?;
                        if tracked {
                            head = self.history.went(head, self.insns, pc, next)?;
                        }
                        pc = next;
                    }
                    Flow::End => {
                        self.settle(pc, &mut state, frame, precise, parent, stretch, &mut head, &mut unwalked, true)?;
                        trace.end(pc);
                        self.end_path(parent);
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Queues the other edge of a jump.
    fn fork(&mut self, pc: usize, other: Path) -> Result<(), Report> {
        self.ask_watch(pc)?;
        if self.pending.len() >= MAX_PENDING {
            return Err(Report::too_complex(pc, format!("more than {MAX_PENDING} paths wait to be explored")));
        }
        let bytes = other.state.bytes();
        if self.pending_bytes + bytes > self.profile.limits.max_memory / 2 {
            return Err(Report::too_complex(
                pc,
                format!("the paths waiting to be explored need more than {} bytes", self.profile.limits.max_memory / 2),
            ));
        }
        if self.pending.try_reserve(1).is_err() {
            return Err(Report::out_of_memory(pc));
        }
        self.pending_bytes += bytes;
        if let Some(p) = other.parent {
            self.checkpoints[p as usize].branches += 1;
        }
        self.pending.push(other);
        self.stats.peak_pending = self.stats.peak_pending.max(self.pending.len());
        Ok(())
    }

    /// A path ended: its checkpoints may now be fully explored.
    fn end_path(&mut self, mut parent: Option<u32>) {
        while let Some(i) = parent {
            let ck = &mut self.checkpoints[i as usize];
            ck.branches -= 1;
            if ck.branches > 0 {
                break;
            }
            // `visit` reserved the room in the explored list.
            let pc = self.on_path.remove(i);
            self.explored[pc].push(i);
            parent = ck.parent;
        }
    }

    /// For each frame of `state` at `pc`, the registers of `sets` (live or
    /// relevant ones): at `pc` for the running frame, at the return point
    /// (callee-saved registers only) for the callers.
    fn masks(sets: &[RegSet], pc: usize, state: &State) -> [RegSet; 8] {
        Checker::frame_masks(sets, pc, state, |s| s & CALLEE_SAVED)
    }

    /// [`Checker::masks`] of registers and slots whose links may matter
    /// (the callers' slots are all theirs).
    fn link_masks(&self, pc: usize, state: &State) -> [Exact; 8] {
        Checker::frame_masks(self.links, pc, state, |e| Exact { regs: e.regs & CALLEE_SAVED, slots: e.slots })
    }

    /// For each frame of `state` at `pc`, the set of `sets` at `pc` for the
    /// running frame, and at the return point, as `kept` keeps it across
    /// the call, for the callers.
    fn frame_masks<T: Copy + Default>(sets: &[T], pc: usize, state: &State, kept: impl Fn(T) -> T) -> [T; 8] {
        let mut masks = [T::default(); 8];
        let n = state.frames.len().min(8);
        for (i, m) in masks.iter_mut().enumerate().take(n) {
            *m = if i + 1 == n {
                sets[pc]
            } else {
                let resume = state.frames[i + 1].callsite + 1;
                kept(sets.get(resume).copied().unwrap_or_default())
            };
        }
        masks
    }

    /// What pruning at `pc` compared against checkpoint `by`: each frame's
    /// live registers, and the numbers compared exactly.
    fn compared(&self, pc: usize, state: &State, by: u32) -> ([RegSet; 8], [Exact; 8]) {
        let n = state.frames.len().min(8);
        let live = Checker::masks(self.live, pc, state);
        let relevant = Checker::masks(self.relevant, pc, state);
        (live, self.checkpoints[by as usize].marks.exact_frames(&relevant[..n]))
    }

    /// Compares the state at a prune point with those stored there, and
    /// stores it; before storing, walks the decisions of the path since its
    /// newest stored state back (`unwalked`), as the new state ends that
    /// stretch.
    fn visit(&mut self, pc: usize, state: &mut State, parent: Option<u32>, head: u32, unwalked: &mut u32) -> Result<Visit, Report> {
        let n = state.frames.len().min(8);
        let live = Checker::masks(self.live, pc, state);
        let live = &live[..n];
        state.drop_single_links(live);
        let state = &*state;
        let relevant = Checker::masks(self.relevant, pc, state);
        let relevant = &relevant[..n];
        let links = self.link_masks(pc, state);
        // Needed only to tell the state apart from those still on the path,
        // and when it is stored.
        let mut fingerprint = None;
        if self.on_path.count(pc) > 0 {
            let fp = *fingerprint.insert(state.fingerprint(live));
            for i in self.on_path.matching(pc, fp) {
                if self.checkpoints[i as usize].state.same(state, live) {
                    return Err(Report::new(
                        ErrorKind::InfiniteLoop,
                        pc,
                        "infinite loop: the program comes back here in exactly the state it was in before",
                    )
                    .hint("make every loop change its condition on each iteration, e.g. count up to a constant bound"));
                }
            }
        }
        let mut pruned = None;
        let mut any_stale = false;
        // Newest first: the state of the nearest earlier round is the most
        // likely to cover.
        for &i in self.explored[pc].iter().rev() {
            let ck = &mut self.checkpoints[i as usize];
            let exact = ck.marks.exact_frames(relevant);
            if ck.state.covers(state, live, &exact[..n], &links[..n]) {
                ck.hits += 1;
                pruned = Some(i);
                break;
            }
            ck.misses += 1;
            any_stale |= stale(ck.hits, ck.misses);
        }
        if any_stale {
            self.evict_stale(pc);
        }
        if let Some(by) = pruned {
            self.stats.states_pruned += 1;
            return Ok(Visit::Pruned(by));
        }
        let limits = &self.profile.limits;
        let bytes = state.bytes();
        let (insns, jumps) = self.last_store;
        let sparse = self.stats.insns_processed - insns < MIN_INSNS_BETWEEN_STORES
            || self.jumps_processed - jumps < MIN_JUMPS_BETWEEN_STORES;
        if sparse
            || self.explored[pc].len() + self.on_path.count(pc) >= limits.max_states_per_insn
            || self.checkpoints.len() - self.stats.states_evicted as usize >= limits.max_states
            || self.stored_bytes + bytes > limits.max_memory / 2
        {
            return Ok(Visit::Continue(parent));
        }
        self.ask_watch(pc)?;
        self.stored_bytes += bytes;
        // Room for every checkpoint on the path here to move to the
        // explored list, so that `end_path` never allocates.
        let on_path = self.on_path.count(pc) + 1;
        let copy = state.try_clone();
        if self.checkpoints.try_reserve(1).is_err()
            || !self.on_path.try_reserve()
            || self.explored[pc].try_reserve(on_path).is_err()
        {
            return Err(Report::out_of_memory(pc));
        }
        let Some(copy) = copy else { return Err(Report::out_of_memory(pc)) };
        let oldest = core::mem::replace(unwalked, NONE);
        if oldest != NONE {
            self.backtrack(pc, head, parent, state.frames.len() - 1, Marks::default(), oldest);
        }
        let idx = self.checkpoints.len() as u32;
        let fingerprint = fingerprint.unwrap_or_else(|| state.fingerprint(live));
        self.checkpoints.push(Checkpoint {
            state: copy,
            pc: pc as u32,
            head,
            marks: Marks::default(),
            parent,
            branches: 1,
            hits: 0,
            misses: 0,
        });
        self.on_path.insert(idx, pc, fingerprint);
        self.stats.states_stored += 1;
        self.last_store = (self.stats.insns_processed, self.jumps_processed);
        Ok(Visit::Continue(Some(idx)))
    }

    /// Drops the stale checkpoints of slot `pc` from its explored list and frees
    /// their frames; the rest stays (for counting `branches` up the
    /// parents) and still counts against the memory limit.
    fn evict_stale(&mut self, pc: usize) {
        let checkpoints = &mut self.checkpoints;
        let (mut freed, mut evicted) = (0, 0);
        self.explored[pc].retain(|&i| {
            let ck = &mut checkpoints[i as usize];
            if !stale(ck.hits, ck.misses) {
                return true;
            }
            freed += ck.state.bytes() - core::mem::size_of::<State>();
            evicted += 1;
            ck.state = State { frames: Vec::new() };
            false
        });
        self.stored_bytes -= freed;
        self.stats.states_evicted += evicted;
    }

    /// Whether the watch, if any, lets the analysis go on at `pc`.
    fn ask_watch(&mut self, pc: usize) -> Result<(), Report> {
        match self.watch.as_deref_mut().map(|w| w.check()) {
            Some(Err(stop)) => Err(stop.report(pc)),
            _ => Ok(()),
        }
    }

    /// A report naming the registers involved and their state.
    pub(super) fn fail(&self, kind: ErrorKind, pc: usize, st: &State, regs: &[Reg], reason: String) -> Report {
        let mut r = Report::new(kind, pc, reason);
        for &reg in regs {
            r = r.reg(format!("{reg}"), format!("{}", st.reg(reg)));
        }
        r
    }

    /// Records that the function owning stack frame `frame` uses bytes down
    /// to `fp + lowest`.
    pub(super) fn touch_stack(&mut self, st: &State, frame: u8, lowest: i64) {
        if let Some(f) = st.frames.get(frame as usize) {
            let d = &mut self.depths[f.func];
            *d = (*d).max(lowest.unsigned_abs() as u32);
        }
    }

    /// A fresh id for a maybe-NULL pointer.
    pub(super) fn fresh_id(&mut self) -> u32 {
        self.last_id += 1;
        self.last_id
    }
}
