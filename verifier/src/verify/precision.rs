//! Precision tracking, as the Linux verifier does it: which numbers a
//! decision of the analysis really depended on, found by backtracking
//! along the path that made it.
//!
//! A number *decides* when its value, not only its being a number, chose
//! what the analysis did: a conditional jump that could go one way only
//! (its register operands), the number added to a pointer, and a helper
//! argument that is more than a plain number (a length, a port, a
//! constant). From such an instruction the analysis walks back along the
//! current path ([`History`] holds what the instruction slots alone do not
//! tell: where jumps, calls and returns went, and which stack slots each
//! load and store touched), moving the set of deciding registers and stack
//! slots back through each instruction ([`undo`]): `r1 = r2` hands a mark
//! on r1 to r2, `r1 += r2` adds r2, a fill from the stack hands it to the
//! slot and a spill back to the register, a comparison of two registers
//! marks both, a constant ends it. Every stored state the walk passes gets
//! the marks of that point ([`Marks`]).
//!
//! Pruning compares a stored state's marked numbers exactly (those the
//! static analysis of `relevance.rs` also allows to matter) and asks of
//! every other live number only that it be a number in both states: no
//! check in the stored state's explored future depended on its value, so
//! any value passes them the same way. A stored state prunes only when
//! fully explored, so its marks are final; a path it prunes hands those
//! marks to its own stored states in turn, since its future is the stored
//! state's. When the walk cannot follow a path (deeper calls than it has
//! room for), every number of the states above is compared exactly.

use alloc::vec::Vec;

use crate::insn::{AluOp, AtomicOp, Insn, Reg, Src};
use crate::liveness::{ARGS, CALL_CLOBBERED};
use crate::relevance::{bit, src_bit};
use crate::report::Report;
use crate::state::Exact;

/// No history entry (the start of the program).
pub(super) const NONE: u32 = u32::MAX;

/// Frames a walk can follow (the default call depth limit).
const FRAMES: usize = 8;

/// Stack slots marks can name (a frame of 512 bytes).
pub(super) const SLOTS: usize = 64;

/// The stack slots `lo..=hi` of `frame` that one load, store or atomic
/// operation touched; `whole` when it stored a whole aligned slot. Slots
/// from [`SLOTS`] on are not tracked (and counted as [`SLOTS`]): a walk
/// over them marks everything.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct StackAccess {
    pub frame: u8,
    pub lo: u8,
    pub hi: u8,
    pub whole: bool,
}

impl StackAccess {
    fn slots(&self) -> u64 {
        let n = (self.hi - self.lo) as u32 + 1;
        (u64::MAX >> (64 - n)) << self.lo
    }

    fn tracked(&self) -> bool {
        (self.hi as usize) < SLOTS && (self.frame as usize) < FRAMES
    }
}

/// What the history notes of one instruction, besides where it went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Note {
    /// It accessed the stack.
    Stack(StackAccess),
    /// A jump that refined these linked copies (registers and slots of the
    /// running frame) together.
    Linked(Exact),
    /// These registers of the running frame decided what it did (their
    /// values before it); a walk that passes marks them.
    Decided(u16),
}

/// The notes of one instruction, gathered by a walk.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) struct Notes {
    pub stack: Option<StackAccess>,
    pub linked: Option<Exact>,
    pub decided: u16,
}

impl Notes {
    fn add(&mut self, note: Note) {
        match note {
            Note::Stack(a) => self.stack = Some(a),
            Note::Linked(l) => self.linked = Some(l),
            Note::Decided(r) => self.decided |= r,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    /// Control came to `pc` from `from`, not from the slot before it.
    Jump { from: u32 },
    /// A note on the instruction at `pc`.
    Note(Note),
}

#[derive(Clone, Copy)]
struct Entry {
    pc: u32,
    /// The entry before this one on the same path.
    prev: u32,
    kind: Kind,
}

/// The history of every path explored, as a tree: each path knows its
/// newest entry, and each entry the one before it, so a fork shares its
/// past with the path it forked from.
pub(super) struct History {
    entries: Vec<Entry>,
}

impl History {
    pub(super) fn new() -> History {
        History { entries: Vec::new() }
    }

    fn push(&mut self, pc: usize, prev: u32, kind: Kind) -> Result<u32, Report> {
        if self.entries.try_reserve(1).is_err() {
            return Err(Report::out_of_memory(pc));
        }
        self.entries.push(Entry { pc: pc as u32, prev, kind });
        Ok((self.entries.len() - 1) as u32)
    }

    /// Records that control went from `from` to `to` (after `head`), when
    /// `to` is not the slot after `from`; returns the path's new head.
    pub(super) fn went(&mut self, head: u32, insns: &[Insn], from: usize, to: usize) -> Result<u32, Report> {
        if to == from + insns[from].slots() {
            return Ok(head);
        }
        self.push(to, head, Kind::Jump { from: from as u32 })
    }

    /// Records a note on the instruction at `pc`.
    pub(super) fn note(&mut self, head: u32, pc: usize, note: Note) -> Result<u32, Report> {
        self.push(pc, head, Kind::Note(note))
    }

    /// The instruction before `pc` on the path whose newest entry is
    /// `head`, the head before it, and its notes; `None` at the start of
    /// the program.
    #[inline]
    pub(super) fn back(&self, pc: usize, head: u32, insns: &[Insn]) -> Option<(usize, u32, Notes)> {
        let (prev, mut head) = match self.entries.get(head as usize) {
            Some(&Entry { pc: to, prev, kind: Kind::Jump { from } }) if to as usize == pc => (from as usize, prev),
            _ if pc == 0 => return None,
            _ if pc >= 2 && insns[pc - 1] == Insn::Imm64Tail => (pc - 2, head),
            _ => (pc - 1, head),
        };
        let mut notes = Notes::default();
        while let Some(&Entry { pc: at, prev: before, kind: Kind::Note(n) }) = self.entries.get(head as usize)
            && at as usize == prev
        {
            notes.add(n);
            head = before;
        }
        Some((prev, head, notes))
    }
}

/// Per frame of a state, the registers and stack slots whose values
/// decided something later on its path (`all`: every number counts).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) struct Marks {
    all: bool,
    frames: [Exact; FRAMES],
}

impl Marks {
    /// The registers `regs` of frame `frame`.
    pub(super) fn reg(frame: usize, regs: u16) -> Marks {
        let mut m = Marks::default();
        if frame < FRAMES {
            m.frames[frame].regs = regs;
        } else {
            m.all = true;
        }
        m
    }

    pub(super) fn all(&self) -> bool {
        self.all
    }

    /// Whether no number is marked.
    pub(super) fn none(&self) -> bool {
        !self.all && self.frames.iter().all(|f| f.regs == 0 && f.slots == 0)
    }

    /// What pruning compares exactly in frame `i`, given the registers the
    /// static analysis says may matter there.
    pub(super) fn exact(&self, i: usize, relevant: u16) -> Exact {
        match self.frames.get(i) {
            Some(f) if !self.all => Exact { regs: f.regs & relevant, slots: f.slots },
            _ => Exact { regs: relevant, slots: u64::MAX },
        }
    }

    /// [`Marks::exact`] for each frame whose relevant registers are given.
    pub(super) fn exact_frames(&self, relevant: &[u16]) -> [Exact; 8] {
        let mut exact = [Exact::default(); 8];
        for (k, (e, &r)) in exact.iter_mut().zip(relevant).enumerate() {
            *e = self.exact(k, r);
        }
        exact
    }

    /// Adds `other`; whether anything was new.
    pub(super) fn absorb(&mut self, other: &Marks) -> bool {
        let mut new = other.all && !self.all;
        self.all |= other.all;
        for (f, o) in self.frames.iter_mut().zip(&other.frames) {
            new |= o.regs & !f.regs != 0 || o.slots & !f.slots != 0;
            f.regs |= o.regs;
            f.slots |= o.slots;
        }
        new
    }

    /// Adds the registers `regs` of frame `frame` (as [`Marks::absorb`]
    /// of [`Marks::reg`], without building one); whether any was new.
    #[inline]
    pub(super) fn absorb_regs(&mut self, frame: usize, regs: u16) -> bool {
        match self.frames.get_mut(frame) {
            Some(f) => {
                let new = regs & !f.regs != 0;
                f.regs |= regs;
                new
            }
            None => self.set_all(),
        }
    }

    /// Every number of every frame.
    pub(super) fn set_all(&mut self) -> bool {
        !core::mem::replace(&mut self.all, true)
    }

    /// Marks all of `linked` (of frame `f`) if any of them is marked: a
    /// bound a jump gave one copy it gave them all (Linux's
    /// `bt_sync_linked_regs`).
    fn sync_linked(&mut self, f: usize, linked: Exact) {
        let m = &mut self.frames[f];
        if m.regs & linked.regs != 0 || m.slots & linked.slots != 0 {
            m.regs |= linked.regs;
            m.slots |= linked.slots;
        }
    }
}

/// Moves `bt` from after `insn` to before it; `frame` is the index of the
/// running frame, which calls and returns change (walking back over a
/// return enters the callee). `false` when the walk cannot follow.
#[inline]
pub(super) fn undo(insn: &Insn, notes: Notes, bt: &mut Marks, frame: &mut usize) -> bool {
    let f = *frame;
    if f >= FRAMES || notes.stack.is_some_and(|a| !a.tracked()) {
        return false;
    }
    let through = match notes.linked {
        Some(linked) => {
            // Before the jump and after it: a copy marked by the jump's own
            // registers marks the others too.
            bt.sync_linked(f, linked);
            let through = undo_one(insn, None, bt, frame);
            bt.sync_linked(f, linked);
            through
        }
        None => undo_one(insn, notes.stack, bt, frame),
    };
    // Instructions that decide run in one frame (no call or return).
    bt.frames[f].regs |= notes.decided;
    through
}

/// [`undo`] of one instruction, without linked copies.
#[inline]
fn undo_one(insn: &Insn, access: Option<StackAccess>, bt: &mut Marks, frame: &mut usize) -> bool {
    let f = *frame;
    let regs = bt.frames[f].regs;
    let has = |r: Reg| regs & bit(r) != 0;
    let stack_marked = |bt: &Marks| access.is_some_and(|a| bt.frames[a.frame as usize].slots & a.slots() != 0);
    let mark_slots = |bt: &mut Marks| {
        if let Some(a) = access {
            bt.frames[a.frame as usize].slots |= a.slots();
        }
    };
    match *insn {
        Insn::Alu { op: AluOp::Mov | AluOp::MovSx(_), dst, src, .. } => {
            if has(dst) {
                bt.frames[f].regs = (regs & !bit(dst)) | src_bit(src);
            }
        }
        Insn::Alu { dst, src, .. } => {
            if has(dst) {
                bt.frames[f].regs |= src_bit(src);
            }
        }
        Insn::LoadImm64 { dst, .. } => bt.frames[f].regs &= !bit(dst),
        Insn::Load { dst, .. } => {
            if has(dst) {
                bt.frames[f].regs &= !bit(dst);
                mark_slots(bt);
            }
        }
        Insn::Store { src, .. } => {
            if let Some(a) = access
                && stack_marked(bt)
            {
                if a.whole {
                    bt.frames[a.frame as usize].slots &= !a.slots();
                }
                bt.frames[f].regs |= src_bit(src);
            }
        }
        Insn::Atomic { op, src, .. } => {
            let r0 = if op == AtomicOp::CmpXchg { bit(Reg::R0) } else { 0 };
            if stack_marked(bt) || has(src) || regs & r0 != 0 {
                bt.frames[f].regs |= bit(src) | r0;
                mark_slots(bt);
            }
        }
        Insn::Jump { dst, src: Src::Reg(s), .. } => {
            if has(dst) || has(s) {
                bt.frames[f].regs |= bit(dst) | bit(s);
            }
        }
        Insn::Call { .. } => bt.frames[f].regs &= !CALL_CLOBBERED,
        Insn::CallLocal { .. } => {
            // Back from the callee's first instruction to the caller: its
            // arguments were the caller's r1-r5; nothing else was set.
            if f == 0 {
                return false;
            }
            bt.frames[f - 1].regs |= regs & ARGS;
            bt.frames[f] = Exact::default();
            *frame = f - 1;
        }
        Insn::Exit => {
            // Back from the caller, after the call, into the callee's exit:
            // the caller's r0 was the callee's.
            if f + 1 >= FRAMES {
                return false;
            }
            bt.frames[f].regs &= !bit(Reg::R0);
            bt.frames[f + 1] = Exact { regs: regs & bit(Reg::R0), slots: 0 };
            *frame = f + 1;
        }
        Insn::Neg { .. } | Insn::Endian { .. } | Insn::Jump { .. } | Insn::Ja { .. } | Insn::Imm64Tail => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble;

    fn walk(src: &str, from: u16) -> u16 {
        let p = assemble(src).unwrap();
        let mut bt = Marks::reg(0, from);
        let mut frame = 0;
        for insn in p.insns().iter().rev() {
            assert!(undo(insn, Notes::default(), &mut bt, &mut frame));
        }
        bt.frames[0].regs
    }

    #[test]
    fn a_mark_moves_to_the_source_of_a_copy_and_ends_at_a_constant() {
        assert_eq!(walk("r1 = r2", 1 << 1), 1 << 2);
        assert_eq!(walk("r1 = 5", 1 << 1), 0);
        assert_eq!(walk("r1 += r3", 1 << 1), (1 << 1) | (1 << 3));
        assert_eq!(walk("r1 &= 7", 1 << 1), 1 << 1);
        // A register no decision read is not marked.
        assert_eq!(walk("r4 = r2", 1 << 1), 1 << 1);
        // A comparison of two registers marks both.
        assert_eq!(walk("if r1 > r5 goto +0", 1 << 1), (1 << 1) | (1 << 5));
        // A helper's result depends on no register before it.
        assert_eq!(walk("call 1", 1), 0);
    }

    #[test]
    fn stack_marks_follow_spills_and_fills() {
        let fill = StackAccess { frame: 0, lo: 1, hi: 1, whole: false };
        let mut bt = Marks::reg(0, 1 << 3);
        let mut frame = 0;
        let load = assemble("r3 = *(u64 *)(r10 - 16)").unwrap().insns()[0];
        assert!(undo(&load, Notes { stack: Some(fill), ..Notes::default() }, &mut bt, &mut frame));
        assert_eq!((bt.frames[0].regs, bt.frames[0].slots), (0, 1 << 1));
        let spill = assemble("*(u64 *)(r10 - 16) = r6").unwrap().insns()[0];
        assert!(undo(&spill, Notes { stack: Some(StackAccess { whole: true, ..fill }), ..Notes::default() }, &mut bt, &mut frame));
        assert_eq!((bt.frames[0].regs, bt.frames[0].slots), (1 << 6, 0));
        // A narrow store keeps the slot marked and adds its source.
        let mut bt = Marks::reg(0, 0);
        bt.frames[0].slots = 1 << 1;
        let narrow = assemble("*(u8 *)(r10 - 16) = r7").unwrap().insns()[0];
        assert!(undo(&narrow, Notes { stack: Some(fill), ..Notes::default() }, &mut bt, &mut frame));
        assert_eq!((bt.frames[0].regs, bt.frames[0].slots), (1 << 7, 1 << 1));
    }

    #[test]
    fn absorbing_marks_says_whether_any_were_new() {
        let mut slot = Marks::default();
        slot.frames[1].slots = 1 << 4;
        let mut marks = Marks::reg(0, 1 << 6);
        // A register, a slot, then neither: only the first two bring news.
        assert!(marks.absorb(&Marks::reg(0, (1 << 6) | (1 << 7))));
        assert!(marks.absorb(&slot));
        assert!(!marks.absorb(&Marks::reg(0, 1 << 7)));
        assert!(!marks.absorb(&slot));
        assert_eq!((marks.frames[0].regs, marks.frames[1].slots), ((1 << 6) | (1 << 7), 1 << 4));
        // Every number: new once.
        let mut all = Marks::default();
        assert!(all.set_all());
        assert!(marks.absorb(&all));
        assert!(!marks.absorb(&all));
        assert!(marks.all());
    }

    #[test]
    fn a_mark_on_one_linked_copy_marks_every_copy() {
        let linked = Exact { regs: (1 << 1) | (1 << 3), slots: 1 << 2 };
        let mut by_reg = Marks::reg(0, (1 << 3) | (1 << 8));
        by_reg.sync_linked(0, linked);
        assert_eq!(by_reg.frames[0], Exact { regs: (1 << 1) | (1 << 3) | (1 << 8), slots: 1 << 2 });
        let mut by_slot = Marks::default();
        by_slot.frames[0].slots = (1 << 2) | (1 << 9);
        by_slot.sync_linked(0, linked);
        assert_eq!(by_slot.frames[0], Exact { regs: (1 << 1) | (1 << 3), slots: (1 << 2) | (1 << 9) });
        // No copy marked: nothing changes.
        let mut none = Marks::reg(0, 1 << 8);
        none.frames[0].slots = 1 << 9;
        none.sync_linked(0, linked);
        assert_eq!(none.frames[0], Exact { regs: 1 << 8, slots: 1 << 9 });
    }

    #[test]
    fn marks_of_a_frame_past_the_deepest_mark_every_number() {
        let deepest = Marks::reg(FRAMES - 1, 1 << 2);
        assert!(!deepest.all());
        assert_eq!(deepest.exact(FRAMES - 1, 0x7ff), Exact { regs: 1 << 2, slots: 0 });
        let past = Marks::reg(FRAMES, 1 << 2);
        assert!(past.all());
        assert_eq!(past.exact(0, 0x7ff), Exact { regs: 0x7ff, slots: u64::MAX });
    }

    #[test]
    fn calls_and_returns_move_marks_between_frames() {
        let mut bt = Marks::reg(0, 1);
        let mut frame = 0;
        assert!(undo(&Insn::Exit, Notes::default(), &mut bt, &mut frame));
        assert_eq!((frame, bt.frames[1].regs, bt.frames[0].regs), (1, 1, 0));
        bt.frames[1].regs = (1 << 2) | 1;
        assert!(undo(&Insn::CallLocal { off: 0 }, Notes::default(), &mut bt, &mut frame));
        assert_eq!((frame, bt.frames[0].regs, bt.frames[1].regs), (0, 1 << 2, 0));
    }
}
