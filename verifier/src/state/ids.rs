//! Links and renamings: the ids that copies of one number share, and how
//! ids are matched between two states.
//!
//! A whole 64-bit copy of a number (`rD = rS`, an aligned spill and its
//! fill, within one frame) shares a *link* with its source until either
//! is written; a comparison with a constant gives its bounds to every copy
//! ([`State::refine`]). States are compared with the ids renamed
//! consistently ([`IdMap`]): maybe-NULL pointer ids one to one, links as
//! Linux's `check_ids` does for the numbers compared exactly.

use alloc::vec::Vec;

use super::{Exact, State, Value};
use crate::domain::Scalar;
use crate::insn::Reg;

/// A consistent renaming of maybe-NULL ids between two states.
#[derive(Default)]
pub(super) struct IdMap(Vec<(u32, u32)>);

impl IdMap {
    pub(super) fn map(&mut self, old: u32, new: u32) -> bool {
        for &(o, n) in &self.0 {
            if o == old || n == new {
                return o == old && n == new;
            }
        }
        self.add(old, new)
    }

    /// Adds `old` as renamed to `new`; `false` (the states are then taken
    /// as different, which is always safe) when memory is short.
    fn add(&mut self, old: u32, new: u32) -> bool {
        if self.0.try_reserve(1).is_err() {
            return false;
        }
        self.0.push((old, new));
        true
    }

    /// Whether a compared number linked as `old` (0: to nothing) in a
    /// stored state may stand for one linked as `new`, as Linux's
    /// `check_ids`: the compared copies the stored state linked must be
    /// linked alike in the new state, each old link to one new link (the
    /// new state may link more: it is then only narrower). A new number
    /// linked to nothing stands for a link of its own, so an old link of
    /// which only one copy is compared maps to it (the others' values, and
    /// so their being equal, decided nothing).
    pub(super) fn link_covers(&mut self, old: u32, new: u32) -> bool {
        if old == 0 {
            return true;
        }
        match self.0.iter().find(|&&(o, _)| o == old) {
            Some(&(_, n)) => n == new && new != 0,
            None => self.add(old, new),
        }
    }

    /// Whether links `old` and `new` are the same up to renaming.
    pub(super) fn link_same(&mut self, old: u32, new: u32) -> bool {
        (old == 0) == (new == 0) && (old == 0 || self.map(old, new))
    }
}

/// The renamings of one state comparison: maybe-NULL ids and links.
#[derive(Default)]
pub(super) struct Ids {
    pub(super) null: IdMap,
    pub(super) links: IdMap,
}

impl State {
    /// Sets register `r` of the running frame to `v`, linked as `link`.
    #[inline]
    pub fn set_linked(&mut self, r: Reg, v: Value, link: u32) {
        self.set(r, v);
        self.cur_mut().links[r.index()] = link;
    }

    /// The link of register `r` of the running frame, made with `fresh`
    /// when it has none and holds a number that is not a constant (a
    /// constant's copies need no link: nothing can narrow them); 0 when
    /// it cannot be linked.
    pub fn link_of(&mut self, r: Reg, fresh: impl FnOnce() -> u32) -> u32 {
        let f = self.cur_mut();
        let i = r.index();
        match f.regs[i] {
            Value::Scalar(s) if f.links[i] == 0 && s.as_const().is_none() => f.links[i] = fresh(),
            Value::Scalar(_) => {}
            _ => return 0,
        }
        f.links[i]
    }

    /// The registers (bit `r`) and slots (bit `i`) of the running frame
    /// linked as `link` (none for 0).
    pub fn linked(&self, link: u32) -> Exact {
        let f = self.cur();
        let mut set = Exact::default();
        if link == 0 {
            return set;
        }
        for (r, &l) in f.links.iter().enumerate() {
            if l == link {
                set.regs |= 1 << r;
            }
        }
        for (i, s) in f.stack.iter().enumerate().take(64) {
            if s.link == link {
                set.slots |= 1 << i;
            }
        }
        set
    }

    /// Narrows register `r` of the running frame to `s`, keeping its link,
    /// and with it (when `copies`) every copy linked to it (registers and
    /// spilled slots of that frame).
    pub fn refine(&mut self, r: Reg, s: Scalar, copies: bool) {
        let f = self.cur_mut();
        let link = f.links[r.index()];
        f.regs[r.index()] = Value::Scalar(s);
        if link == 0 || !copies {
            return;
        }
        for (v, &l) in f.regs.iter_mut().zip(&f.links) {
            if l == link {
                *v = Value::Scalar(s);
            }
        }
        for slot in &mut f.stack {
            if slot.link == link {
                slot.spill = Value::Scalar(s);
            }
        }
    }

    /// Drops the links of registers not in `live` (one set per frame) and
    /// every link that only one live register or slot holds (Linux's
    /// `clear_singular_ids`): it tells nothing, and kept it would make the
    /// state differ from those whose copy was overwritten.
    pub fn drop_single_links(&mut self, live: &[u16]) {
        for (f, &live) in self.frames.iter_mut().zip(live) {
            for (r, l) in f.links.iter_mut().enumerate() {
                if live & (1 << r) == 0 {
                    *l = 0;
                }
            }
            // Links are few: count each one's holders directly.
            let holders = |f: &super::Frame, l: u32| {
                f.links.iter().filter(|&&k| k == l).count() + f.stack.iter().filter(|s| s.link == l).count()
            };
            for r in 0..Reg::COUNT {
                let l = f.links[r];
                if l != 0 && holders(f, l) == 1 {
                    f.links[r] = 0;
                }
            }
            for i in 0..f.stack.len() {
                let l = f.stack[i].link;
                if l != 0 && holders(f, l) == 1 {
                    f.stack[i].link = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Frame, Ptr, Region, Slot};

    #[test]
    fn null_ids_must_rename_consistently() {
        let p = |id| Value::Ptr(Ptr { region: Region::MapValue { map: 0 }, off: Scalar::constant(0), maybe_null: true, id });
        let mut ids = Ids::default();
        assert!(p(1).covers(&p(5), &mut ids));
        assert!(p(1).covers(&p(5), &mut ids));
        assert!(!p(2).covers(&p(5), &mut ids));
    }

    #[test]
    fn links_of_compared_copies_must_rename_consistently() {
        let mut ids = IdMap::default();
        // No old link: anything goes.
        assert!(ids.link_covers(0, 7));
        // An old link maps to one new link; a second copy must follow.
        assert!(ids.link_covers(1, 5));
        assert!(ids.link_covers(1, 5));
        assert!(!ids.link_covers(1, 6));
        // A copy linked to nothing is a link of its own: one compared copy
        // of an old link may be, two may not.
        let mut ids = IdMap::default();
        assert!(ids.link_covers(2, 0));
        assert!(!ids.link_covers(2, 0));
        assert!(!ids.link_covers(2, 9));
        // Renaming for the loop check is one to one.
        let mut ids = IdMap::default();
        assert!(ids.link_same(3, 4) && ids.link_same(0, 0));
        assert!(!ids.link_same(3, 5) && !ids.link_same(6, 4) && !ids.link_same(0, 4));
    }

    #[test]
    fn a_link_held_once_or_by_dead_registers_is_dropped() {
        let mut st = State { frames: alloc::vec![Frame::new(0, 0, 0)] };
        let n = Value::Scalar(Scalar::range(0, 5));
        st.set_linked(Reg::R1, n, 3);
        st.set_linked(Reg::R2, n, 3);
        st.set_linked(Reg::R3, n, 4);
        st.set_linked(Reg::R4, n, 4);
        st.cur_mut().stack.push(Slot::spilled(n, 4));
        st.set_linked(Reg::R5, n, 5);
        st.cur_mut().stack.push(Slot::spilled(n, 5));
        // A spill whose only copy is a dead register.
        st.set_linked(Reg::R6, n, 6);
        st.cur_mut().stack.push(Slot::spilled(n, 6));
        // r2, r4 and r6 are dead.
        st.drop_single_links(&[0x7ff & !(1 << 2) & !(1 << 4) & !(1 << 6)]);
        let f = st.cur();
        assert_eq!(f.links[1..7], [0, 0, 4, 0, 5, 0]);
        assert_eq!((f.stack[0].link, f.stack[1].link, f.stack[2].link), (4, 5, 0));
        // A refinement reaches every live copy of the link.
        st.refine(Reg::R3, Scalar::constant(2), true);
        assert_eq!(st.cur().stack[0].spill, Value::constant(2));
        assert_eq!(*st.reg(Reg::R5), n);
    }
}
