//! The walks of precision tracking over the paths the checker explores:
//! after each instruction, what its deciding numbers mean for the states
//! stored behind the path ([`Checker::settle`]), and the walk back along
//! the path's history that marks them there ([`Checker::backtrack`]).
//! `precision.rs` holds what a walk moves (marks, the history, `undo`);
//! this file decides when to walk and where the marks go.

use crate::insn::{Insn, Reg};
use crate::report::Report;
use crate::state::State;

use super::super::precision::{Marks, NONE, Note, undo};
use super::{Checker, registers};

/// Most instructions one backtracking walk goes back over; a longer walk
/// (a path that stored no state for long) marks every number above it.
pub(super) const MAX_WALK: u32 = 4096;

impl Checker<'_> {
    /// After the instruction at `pc` ran in frame `frame` (whose precise
    /// registers were `precise` before it), on the path with newest stored
    /// state `parent` (`stretch` instructions ago) and history `head`: marks the numbers that decided
    /// again in the states stored since, notes those now precise, and
    /// records in the history what a walk will need (or, when the path
    /// `ends` there, walks its decisions back now). Whether the path's
    /// history is kept.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn settle(
        &mut self,
        pc: usize,
        state: &mut State,
        frame: usize,
        precise: u16,
        parent: Option<u32>,
        stretch: u32,
        head: &mut u32,
        unwalked: &mut u32,
        ends: bool,
    ) -> Result<bool, Report> {
        // Any walk from here would give up before it reached the path's
        // newest stored state (more than MAX_WALK instructions back) and
        // mark every number above: marked at once, no history is needed.
        if stretch > MAX_WALK + 1 {
            self.mark_all(parent);
        }
        // Most instructions decide and note nothing: then only whether the
        // path keeps its history is asked.
        if self.decided == 0 && self.note.is_none() && !ends {
            return Ok(self.tracked(parent));
        }
        // A number whose value already decided something needs no
        // walk, only its mark in the states stored since (see
        // `Frame::precise`).
        let decided = self.decided & !precise;
        let again = self.decided & precise;
        if again != 0 && parent.is_some() {
            let since = state.frames.get(frame).map_or(&[0; Reg::COUNT], |f| &f.precise_since);
            self.mark_since(parent, frame, again, since);
        }
        let kept = match self.insns[pc] {
            // A jump writes none of its operands (but a walk back over
            // one that bounded copies marks them too); pointer
            // arithmetic writes its destination, which is then no
            // number; a helper call clobbers its arguments.
            Insn::Jump { .. } => match self.note {
                Some(Note::Linked(linked)) => self.decided & !linked.regs,
                _ => self.decided,
            },
            Insn::Alu { dst, .. } => self.decided & !(1 << dst.index()),
            _ => 0,
        };
        // (Most instructions keep none: the frame is then not read, just
        // after the instruction wrote part of it.)
        if kept != 0
            && let Some(f) = state.frames.get_mut(frame)
        {
            for r in registers(kept & !f.precise) {
                f.precise_since[r] = self.checkpoints.len() as u32;
            }
            f.precise |= kept;
        }
        // The history is kept only where a walk may read it.
        let tracked = self.tracked(parent);
        if tracked && ends {
            // The path ends here: take its decisions back now.
            if *unwalked != NONE || decided != 0 {
                self.backtrack(pc, *head, parent, frame, Marks::reg(frame, decided), *unwalked);
            }
        } else if tracked {
            if let Some(note) = self.note {
                *head = self.history.note(*head, pc, note)?;
            }
            // Decisions wait in the history for one walk per stretch
            // between stored states (see `visit`).
            if decided != 0 {
                *head = self.history.note(*head, pc, Note::Decided(decided))?;
                *unwalked = (*unwalked).min(*head);
            }
        }
        Ok(tracked)
    }

    /// Whether a path whose newest stored state is `parent` keeps its
    /// history: marks go no further back than that state, and none reach
    /// one that compares everything.
    #[inline(always)]
    fn tracked(&self, parent: Option<u32>) -> bool {
        parent.is_some_and(|p| !self.checkpoints[p as usize].marks.all())
    }

    /// Records that the value of `r` (of the running frame) decided what
    /// the instruction being processed did.
    #[inline]
    pub(in crate::verify) fn decide(&mut self, r: Reg) {
        self.decided |= 1 << r.index();
    }

    /// Marks `bt`, the numbers of the state before `pc` (reached with
    /// history `head`, running frame `frame`) whose values decided
    /// something, in every checkpoint of the path back from there, as
    /// each held them (see `precision.rs`). `oldest` is the path's oldest
    /// history entry noting decisions not walked yet: once past it with
    /// nothing marked, the walk has nothing left to mark.
    pub(super) fn backtrack(&mut self, mut pc: usize, mut head: u32, mut parent: Option<u32>, mut frame: usize, mut bt: Marks, oldest: u32) {
        let mut walked = 0;
        while let Some(p) = parent {
            if (oldest == NONE || head < oldest) && bt.none() {
                return;
            }
            let ck = &mut self.checkpoints[p as usize];
            // A state that compares everything has ancestors that do too.
            if ck.marks.all() {
                return;
            }
            if ck.pc as usize == pc && ck.head == head {
                // Nothing new: the checkpoints above have these already.
                if !ck.marks.absorb(&bt) {
                    return;
                }
                if bt.all() {
                    let above = ck.parent;
                    self.mark_all(above);
                    return;
                }
                parent = ck.parent;
                continue;
            }
            walked += 1;
            match self.history.back(pc, head, self.insns) {
                Some((prev, h, note)) if walked <= MAX_WALK && undo(&self.insns[prev], note, &mut bt, &mut frame) => {
                    pc = prev;
                    head = h;
                }
                _ => {
                    self.mark_all(parent);
                    return;
                }
            }
        }
    }

    /// Marks `regs` of frame `frame` in the checkpoints from `parent` up
    /// that were stored after each became precise (`since`, in numbers of
    /// checkpoints stored): a walk back would mark exactly them there, and
    /// the walk that made them precise marked the checkpoints before. A
    /// checkpoint that has them already ends the pass.
    fn mark_since(&mut self, mut parent: Option<u32>, frame: usize, regs: u16, since: &[u32; Reg::COUNT]) {
        while let Some(p) = parent {
            let stored_after = registers(regs).filter(|&r| since[r] <= p).fold(0, |m, r| m | 1 << r);
            if stored_after == 0 {
                return;
            }
            let ck = &mut self.checkpoints[p as usize];
            // Nothing new: the pass that marked this one went on up.
            if !ck.marks.absorb_regs(frame, stored_after) {
                return;
            }
            parent = ck.parent;
        }
    }

    /// Makes `parent` and every checkpoint above it compare every number.
    fn mark_all(&mut self, mut parent: Option<u32>) {
        while let Some(p) = parent {
            let ck = &mut self.checkpoints[p as usize];
            if !ck.marks.set_all() {
                return;
            }
            parent = ck.parent;
        }
    }
}
