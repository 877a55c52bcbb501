//! The checkpoints on the current path, found by slot and fingerprint.
//!
//! The infinite-loop check asks: is there a checkpoint on the current path,
//! at this slot, whose state is exactly the current one? A loop that never
//! ends leaves one such checkpoint per round (up to the limit of states per
//! instruction), and scanning them all at every round made the check
//! quadratic in the rounds. Here they sit in a hash table keyed by slot and
//! [`State::fingerprint`](crate::state::State::fingerprint), chained through
//! one entry per checkpoint, so that only those with the same key are
//! compared. The table has a fixed number of chains, allocated once.

use alloc::vec::Vec;

use crate::report::Report;

/// No checkpoint: the end of a chain.
const NONE: u32 = u32::MAX;

/// The most chains the table has (more states than this only make chains
/// longer).
const MAX_CHAINS: usize = 1 << 17;

/// A checkpoint's key and the next checkpoint of its chain.
#[derive(Clone, Copy)]
struct Entry {
    pc: u32,
    fingerprint: u64,
    next: u32,
}

/// The table: checkpoints are numbered as the analysis numbers them, and
/// each is inserted once (when stored) and removed at most once (when its
/// last branch ends).
pub(super) struct OnPath {
    /// The first checkpoint of each chain; a power of two many.
    heads: Vec<u32>,
    /// One entry per checkpoint ever inserted, by number.
    entries: Vec<Entry>,
    /// Checkpoints on the path, per slot.
    count: Vec<u32>,
}

impl OnPath {
    /// A table for a program of `slots` slots storing up to `max_states`.
    pub(super) fn new(slots: usize, max_states: usize) -> Result<OnPath, Report> {
        let chains = max_states.saturating_mul(2).clamp(16, MAX_CHAINS).next_power_of_two();
        Ok(OnPath {
            heads: crate::cfg::try_vec(chains, NONE)?,
            entries: Vec::new(),
            count: crate::cfg::try_vec(slots, 0)?,
        })
    }

    /// Checkpoints on the path at slot `pc`.
    pub(super) fn count(&self, pc: usize) -> usize {
        self.count[pc] as usize
    }

    /// Makes room for one more checkpoint; `false` when memory is short.
    pub(super) fn try_reserve(&mut self) -> bool {
        self.entries.try_reserve(1).is_ok()
    }

    /// Adds checkpoint `idx` (the next number, after [`OnPath::try_reserve`]).
    pub(super) fn insert(&mut self, idx: u32, pc: usize, fingerprint: u64) {
        debug_assert_eq!(idx as usize, self.entries.len());
        let chain = self.chain(pc, fingerprint);
        self.entries.push(Entry { pc: pc as u32, fingerprint, next: self.heads[chain] });
        self.heads[chain] = idx;
        self.count[pc] += 1;
    }

    /// Removes checkpoint `idx` (its last branch has ended) and returns
    /// the slot it was stored at.
    pub(super) fn remove(&mut self, idx: u32) -> usize {
        let Entry { pc, fingerprint, next } = self.entries[idx as usize];
        let chain = self.chain(pc as usize, fingerprint);
        if self.heads[chain] == idx {
            self.heads[chain] = next;
        } else {
            let mut at = self.heads[chain];
            while at != NONE {
                if self.entries[at as usize].next == idx {
                    self.entries[at as usize].next = next;
                    break;
                }
                at = self.entries[at as usize].next;
            }
        }
        self.count[pc as usize] -= 1;
        pc as usize
    }

    /// The checkpoints on the path at `pc` whose fingerprint is
    /// `fingerprint`.
    pub(super) fn matching(&self, pc: usize, fingerprint: u64) -> impl Iterator<Item = u32> + '_ {
        let mut at = self.heads[self.chain(pc, fingerprint)];
        core::iter::from_fn(move || {
            while at != NONE {
                let idx = at;
                let e = self.entries[idx as usize];
                at = e.next;
                if e.pc as usize == pc && e.fingerprint == fingerprint {
                    return Some(idx);
                }
            }
            None
        })
    }

    /// The chain of key (`pc`, `fingerprint`).
    fn chain(&self, pc: usize, fingerprint: u64) -> usize {
        let key = (fingerprint ^ (pc as u64).rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (key >> 32) as usize & (self.heads.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn only_checkpoints_with_the_same_key_match_and_removal_unlinks() {
        // A tiny table, so that chains are shared.
        let mut t = OnPath::new(4, 1).unwrap();
        let keys = [(0, 7), (1, 7), (0, 7), (0, 8), (3, 7)];
        for (idx, &(pc, fp)) in keys.iter().enumerate() {
            assert!(t.try_reserve());
            t.insert(idx as u32, pc, fp);
        }
        let found = |t: &OnPath, pc, fp| {
            let mut v: Vec<u32> = t.matching(pc, fp).collect();
            v.sort();
            v
        };
        assert_eq!(found(&t, 0, 7), vec![0, 2]);
        assert_eq!(found(&t, 1, 7), vec![1]);
        assert_eq!(found(&t, 2, 7), Vec::<u32>::new());
        assert_eq!((t.count(0), t.count(1), t.count(2), t.count(3)), (3, 1, 0, 1));
        assert_eq!(t.remove(2), 0);
        assert_eq!(t.remove(3), 0);
        assert_eq!(found(&t, 0, 7), vec![0]);
        assert_eq!(found(&t, 0, 8), Vec::<u32>::new());
        assert_eq!(found(&t, 3, 7), vec![4]);
        assert_eq!(t.remove(0), 0);
        assert_eq!(t.remove(4), 3);
        assert_eq!(t.remove(1), 1);
        assert_eq!((t.count(0), t.count(1), t.count(3)), (0, 0, 0));
        assert!(t.heads.iter().all(|&h| h == NONE));
        // Three with one key share a chain (newest first); the middle one
        // leaves it, and the others stay.
        for idx in 5..8 {
            assert!(t.try_reserve());
            t.insert(idx, 2, 9);
        }
        assert_eq!(t.remove(6), 2);
        assert_eq!(found(&t, 2, 9), vec![5, 7]);
        assert_eq!(t.remove(5), 2);
        assert_eq!(found(&t, 2, 9), vec![7]);
    }
}
