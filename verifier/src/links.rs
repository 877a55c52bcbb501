//! Which *links* may still matter: a backward data-flow analysis that lets
//! pruning ignore that two copies of a number were linked when no later
//! instruction can use it.
//!
//! A link (`state/ids.rs`) says that registers and spilled slots hold the
//! same number, so that a jump comparing one copy with a constant bounds
//! them all. Pruning compares the links of the numbers it compares
//! exactly, as Linux's `check_ids` does: a stored state whose `r2` and
//! `r7` were linked covers only states whose `r2` and `r7` are linked too.
//! That is needed only where a link can still act. It acts at a jump that
//! compares a register with a constant, and what it changes there is the
//! bounds of the copies, which matter only for copies whose values still
//! matter afterwards (`relevance.rs`). So the link of a register or slot
//! *may matter* before an instruction when a copy made of it (through
//! whole 64-bit moves, spills and fills, before it is overwritten) may
//! later be
//!
//! * the register compared with a constant by a jump, or
//! * a register whose value matters after such a jump, or a stack slot
//!   there (slots are not told apart by relevance: every slot counts).
//!
//! A link none of whose holders may matter is never used on any path from
//! here: exploring from a stored state with it, or with each of its
//! holders unlinked, checks the same things, takes the same jumps and
//! meets the same pruning (whose link comparisons are restricted the same
//! way), so a state that lacks it is still covered.
//!
//! Stack accesses whose slot is not known here (through a pointer other
//! than `r10`) are taken at their widest: a fill may copy any slot's link,
//! and a spill may give its register's link to any slot that matters.

use alloc::vec::Vec;

use crate::cfg::successors;
use crate::insn::{AluOp, Insn, Reg, Size, Src, Width};
use crate::liveness::{solve_backward, RegSet, CALL_CLOBBERED};
use crate::relevance::{bit, src_bit};
use crate::report::Report;
use crate::state::{slot_index, Exact};

/// Every stack slot.
const ALL_SLOTS: u64 = u64::MAX;

/// The slot an 8-byte access at `r10 + off` is whole in, as a set; `None`
/// when it is not one whole slot (`verify/mem.rs`'s `whole_slot` links no other).
fn whole_slot(off: i16) -> Option<u64> {
    let off = off as i64;
    ((-512..0).contains(&off) && off % 8 == 0).then(|| 1u64 << slot_index(off))
}

/// The links that may matter before `insn`, given those after it (`out`)
/// and the registers whose values matter after it (`relevant`).
fn transfer(insn: &Insn, out: Exact, relevant: RegSet) -> Exact {
    let Exact { regs, slots } = out;
    let has = |r: Reg| regs & bit(r) != 0;
    match *insn {
        // A whole copy shares its source's link.
        Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Reg(s) } => {
            let from = if has(dst) { bit(s) } else { 0 };
            Exact { regs: (regs & !bit(dst)) | from, slots }
        }
        Insn::Alu { dst, .. } | Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::LoadImm64 { dst, .. } => {
            Exact { regs: regs & !bit(dst), slots }
        }
        // A fill shares the slot's link.
        Insn::Load { size: Size::DW, dst, src, off, .. } => {
            let from = match (has(dst), src == Reg::R10) {
                (false, _) => 0,
                (true, true) => whole_slot(off).unwrap_or(0),
                (true, false) => ALL_SLOTS,
            };
            Exact { regs: regs & !bit(dst), slots: slots | from }
        }
        Insn::Load { dst, .. } => Exact { regs: regs & !bit(dst), slots },
        // A spill gives the slot its register's link, replacing the old one.
        Insn::Store { size: Size::DW, dst, off, src } => match (dst == Reg::R10, whole_slot(off)) {
            (true, Some(slot)) => {
                let from = if slots & slot != 0 { src_bit(src) } else { 0 };
                Exact { regs: regs | from, slots: slots & !slot }
            }
            (true, None) => out,
            (false, _) => Exact { regs: regs | if slots != 0 { src_bit(src) } else { 0 }, slots },
        },
        // Where a link acts: the compared register's copies get its bounds.
        Insn::Jump { dst, src: Src::Imm(_), .. } => Exact { regs: regs | bit(dst) | relevant, slots: ALL_SLOTS },
        Insn::Call { .. } | Insn::CallLocal { .. } => Exact { regs: regs & !CALL_CLOBBERED, slots },
        // A frame's links end with it.
        Insn::Exit => Exact::default(),
        Insn::Store { .. } | Insn::Atomic { .. } | Insn::Jump { .. } | Insn::Ja { .. } | Insn::Imm64Tail => out,
    }
}

/// The registers and slots whose links may matter before each slot, given
/// the registers whose values matter before each (`relevance.rs`).
pub fn links_in(insns: &[Insn], relevant: &[RegSet]) -> Result<Vec<Exact>, Report> {
    solve_backward(insns, |pc, out| {
        let (succ, count) = successors(insns, pc);
        let after = succ[..count].iter().filter_map(|&s| relevant.get(s)).fold(0, |acc, &r| acc | r);
        transfer(&insns[pc], out, after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble;
    use crate::profile::Profile;

    fn links(src: &str) -> Vec<Exact> {
        let p = assemble(src).unwrap();
        let relevant = crate::relevance::relevant_in(p.insns(), &Profile::new(), &alloc::vec![0; p.len()]).unwrap();
        links_in(p.insns(), &relevant).unwrap()
    }

    #[test]
    fn a_link_matters_only_before_a_jump_on_a_copy_or_on_what_matters_after() {
        // r2 is compared with a constant; r3 is stored after the jump; r4
        // and r5 are only returned or dropped.
        let l = links("r2 = r1\nr3 = r1\nr4 = r1\nif r2 > 7 goto +1\n*(u64 *)(r6 + 0) = r3\nr0 = r4\nexit");
        assert_eq!(l[3].regs & 0b111100, 0b1100);
        // Through the copies, r1's link matters before them.
        assert_ne!(l[0].regs & 0b10, 0);
        // After the jump, nothing can use a link.
        assert_eq!(l[4], Exact::default());
    }

    #[test]
    fn a_jump_on_two_registers_or_no_later_jump_uses_no_link() {
        let l = links("r2 = r1\nif r2 > r3 goto +0\nr0 = r2\nexit");
        assert_eq!(l[0], Exact::default());
        let l = links("r2 = r1\nr2 += 1\nif r2 > 3 goto +0\nr0 = 0\nexit");
        // r2 is written before the jump: its copy's link is not used.
        assert_eq!(l[1].regs & 0b110, 0);
        assert_eq!(l[2].regs & 0b100, 0b100);
    }

    /// `transfer` of the one instruction `src`, with `out` after it and
    /// nothing relevant.
    fn before(src: &str, out: Exact) -> Exact {
        transfer(&assemble(src).unwrap().insns()[0], out, 0)
    }

    #[test]
    fn spills_and_fills_carry_the_question_between_slots_and_registers() {
        let r3 = Exact { regs: 1 << 3, slots: 0 };
        let slot1 = Exact { regs: 0, slots: 1 << 1 };
        // A fill of fp - 16 (slot 1) hands r3's question to the slot; a
        // spill there hands it back to the register and ends the slot's.
        assert_eq!(before("r3 = *(u64 *)(r10 - 16)", r3), slot1);
        assert_eq!(before("*(u64 *)(r10 - 16) = r1", slot1), Exact { regs: 1 << 1, slots: 0 });
        // Another slot's spill changes nothing of slot 1's.
        assert_eq!(before("*(u64 *)(r10 - 8) = r1", slot1), slot1);
        // Narrow or unaligned accesses make no copy.
        assert_eq!(before("r3 = *(u32 *)(r10 - 16)", r3), Exact::default());
        assert_eq!(before("r3 = *(u64 *)(r10 - 12)", r3), Exact::default());
        assert_eq!(before("*(u32 *)(r10 - 16) = r1", slot1), slot1);
        // Through another pointer, the slot is not known: any slot may be
        // filled, and a spill may reach a slot that matters.
        assert_eq!(before("r3 = *(u64 *)(r2 + 0)", r3), Exact { regs: 0, slots: ALL_SLOTS });
        assert_eq!(before("*(u64 *)(r2 + 0) = r1", slot1), Exact { regs: 1 << 1, slots: 1 << 1 });
        assert_eq!(before("*(u64 *)(r2 + 0) = r1", r3), r3);
    }

    #[test]
    fn writes_end_a_link_and_copies_move_it() {
        let r3 = Exact { regs: 1 << 3, slots: 1 << 5 };
        assert_eq!(before("r3 = r4", r3), Exact { regs: 1 << 4, slots: 1 << 5 });
        for write in ["w3 = w4", "r3 += 0", "r3 = 5", "r3 = -r3", "r3 = be16 r3", "r3 = *(u8 *)(r10 - 1)", "r3 = 1 ll"] {
            assert_eq!(before(write, r3), Exact { regs: 0, slots: 1 << 5 }, "{write}");
        }
    }

    #[test]
    fn what_matters_already_keeps_mattering() {
        let r3 = Exact { regs: 1 << 3, slots: 0 };
        let slot1 = Exact { regs: 0, slots: 1 << 1 };
        // A fill of a slot that matters anyway, a spill of a register that
        // does: the slot or the register stays.
        assert_eq!(before("r3 = *(u64 *)(r10 - 16)", r3 | slot1), slot1);
        let r1 = Exact { regs: 1 << 1, slots: 0 };
        assert_eq!(before("*(u64 *)(r10 - 16) = r1", r1 | slot1), r1);
        // A jump on a register that matters after it, and whose link
        // matters after it too.
        let jump = assemble("if r3 > 7 goto +0").unwrap().insns()[0];
        assert_eq!(transfer(&jump, r3, 1 << 3 | 1 << 4).regs, 1 << 3 | 1 << 4);
        assert_eq!(transfer(&jump, r3, 1 << 4).regs, 1 << 3 | 1 << 4);
        assert_eq!(transfer(&jump, Exact::default(), 1 << 3).regs, 1 << 3);
        // A call ends r0 to r5 and keeps the rest as it is.
        let r1_r6 = Exact { regs: 1 << 1 | 1 << 6, slots: 1 << 2 };
        assert_eq!(before("call 1", r1_r6), Exact { regs: 1 << 6, slots: 1 << 2 });
        assert_eq!(before("call 1", Exact::default()), Exact::default());
    }

    #[test]
    fn a_jump_takes_what_matters_on_either_edge() {
        // r4 matters on both edges of the jump, r5 on one.
        let l = links("if r2 > 7 goto +2\n*(u64 *)(r6 + 0) = r4\nexit\n*(u64 *)(r6 + 0) = r4\n*(u64 *)(r6 + 8) = r5\nexit");
        assert_eq!(l[0].regs & 0b11_0100, 0b11_0100);
    }

    #[test]
    fn a_slot_keeps_mattering_back_to_where_it_is_written() {
        // Slot 1 is filled after a jump that ignores links, and the fill
        // compared with a constant: the slot matters back to its spill.
        let l = links("*(u64 *)(r10 - 16) = r1\nr4 = 1\nif r4 > r5 goto +0\nr3 = *(u64 *)(r10 - 16)\nif r3 > 7 goto +0\nr0 = 0\nexit");
        assert_eq!([l[1].slots & 0b10, l[2].slots & 0b10, l[3].slots & 0b10], [0b10; 3]);
        assert_eq!((l[0].slots & 0b10, l[0].regs & 0b10), (0, 0b10));
    }

    #[test]
    fn calls_end_the_links_of_what_they_clobber() {
        let l = links("r6 = r1\nr2 = r1\ncall 5\nif r6 > 7 goto +0\nr0 = 0\nexit");
        assert_eq!(l[2].regs & 0b100_0100, 0b100_0000);
        assert_eq!((l[0].regs & 0b10, l[1].regs & 0b110), (0b10, 0));
    }
}
