//! When the checker stores a state, and what the limits on stored states
//! do: each rule checked against the events of a whole analysis, or by
//! counts worked out from a program small enough to follow by hand.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use alloc::vec;

use super::super::precision::NONE;
use super::{Checker, MAX_PENDING, MIN_INSNS_BETWEEN_STORES, MIN_JUMPS_BETWEEN_STORES, Visit, stale};
use crate::cfg::Cfg;
use crate::assemble;
use crate::insn::Insn;
use crate::profile::{Limits, Profile};
use crate::program::Program;
use crate::report::ErrorKind;
use crate::state::{Exact, Frame, State, Value};
use crate::verify::{Entry, Stats, Trace, verify, verify_traced};

fn profile(limits: Limits) -> Profile {
    super::super::tests::ctx_profile().with_limits(limits)
}

/// Counts what the analysis did at the prune points of `insns`, and checks
/// at each visit that the state was stored exactly when the sparseness
/// rule allowed it (at least [`MIN_INSNS_BETWEEN_STORES`] instructions and
/// [`MIN_JUMPS_BETWEEN_STORES`] jumps processed since the last store),
/// with every other limit out of reach.
struct StoreRule<'p> {
    insns: &'p [Insn],
    prune: Vec<bool>,
    /// Instructions and jumps processed, and both when the last state was
    /// stored.
    processed: u64,
    jumps: u64,
    last_store: (u64, u64),
    /// The visit not yet counted: its slot, and whether it was stored or
    /// pruned.
    visit: Option<(usize, bool, bool)>,
    stored: u64,
    refused: u64,
}

impl<'p> StoreRule<'p> {
    fn new(insns: &'p [Insn]) -> StoreRule<'p> {
        let prune = crate::cfg::check(insns, &Limits::DEFAULT).unwrap().prune;
        StoreRule { insns, prune, processed: 0, jumps: 0, last_store: (0, 0), visit: None, stored: 0, refused: 0 }
    }

    /// Counts the last visit: at a prune point, checks the rule.
    fn settle(&mut self) {
        let Some((pc, stored, pruned)) = self.visit.take() else { return };
        if self.prune[pc] && !pruned {
            let (insns, jumps) = self.last_store;
            let allowed =
                self.processed - insns >= MIN_INSNS_BETWEEN_STORES && self.jumps - jumps >= MIN_JUMPS_BETWEEN_STORES;
            assert_eq!(stored, allowed, "slot {pc} after {} instructions, {} jumps", self.processed, self.jumps);
            if stored {
                self.last_store = (self.processed, self.jumps);
                self.stored += 1;
            } else {
                self.refused += 1;
            }
        }
        if !pruned {
            self.processed += 1;
            if matches!(self.insns[pc], Insn::Ja { .. } | Insn::Jump { .. }) {
                self.jumps += 1;
            }
        }
    }
}

impl Trace for StoreRule<'_> {
    fn visit(&mut self, pc: usize, _: &State) {
        self.settle();
        self.visit = Some((pc, false, false));
    }

    fn stored(&mut self, _: usize, _: u32) {
        if let Some(v) = &mut self.visit {
            v.1 = true;
        }
    }

    fn pruned(&mut self, _: usize, _: u32, _: &State, _: &[u16], _: &[crate::state::Exact]) {
        if let Some(v) = &mut self.visit {
            v.2 = true;
        }
    }
}

/// `r6` rounds of a loop whose body branches on the context: one arm sets
/// `r3 = 1`, the other `r3 = 2` (never read), and both join. `pad`
/// instructions lengthen each arm.
fn branching_loop(rounds: u32, pad: usize) -> Program {
    let pad = "r4 = 0\n".repeat(pad);
    assemble(&format!(
        "r6 = 0
         loop:
         r2 = *(u64 *)(r1 + 0)
         if r2 > 5 goto big
         r3 = 1
         {pad}
         goto join
         big:
         r3 = 2
         {pad}
         join:
         r6 += 1
         if r6 < {rounds} goto loop
         r0 = 0
         exit"
    ))
    .unwrap()
}

/// `n` tests of one bit each of an unknown, counting the set ones.
fn bit_counter(n: u32) -> Program {
    let mut src = String::from("r2 = *(u64 *)(r1 + 0)\nr0 = 0\n");
    for i in 0..n {
        src.push_str(&format!("if r2 & {} goto l{i}\nr0 += 1\nl{i}:\n", 1u64 << i));
    }
    src.push_str("exit\n");
    assemble(&src).unwrap()
}

#[test]
fn a_state_is_stored_only_after_enough_instructions_and_jumps_and_always_then() {
    for program in [branching_loop(40, 0), branching_loop(40, 3), bit_counter(9)] {
        let mut rule = StoreRule::new(program.insns());
        let verified = verify_traced(&program, &profile(Limits::DEFAULT), &Entry::default(), &mut rule).unwrap();
        rule.settle();
        assert!(rule.stored > 5 && rule.refused > 5, "stored {}, refused {}", rule.stored, rule.refused);
        assert_eq!(verified.stats().states_stored, rule.stored);
    }
}

fn stats(program: &Program, limits: Limits) -> Stats {
    *verify(program, &profile(limits)).unwrap().stats()
}

#[test]
fn a_stored_state_goes_once_it_misses_more_than_three_times_per_hit_and_three() {
    assert!(!stale(0, 3) && stale(0, 4));
    assert!(!stale(2, 9) && stale(2, 10));
    assert!(!stale(u32::MAX, u32::MAX));
}

#[test]
fn states_that_keep_missing_are_evicted() {
    // Both arms of the branch reach `join` with the same counter: the
    // second is pruned there. The stored states of later rounds (other
    // counters) miss every time and are dropped from the list.
    let stats = stats(&branching_loop(100, 0), Limits::DEFAULT);
    assert!(stats.states_pruned >= 99, "{stats:?}");
    assert!(stats.states_evicted > 50, "{stats:?}");
}

/// Runs `f` with a checker of a two-slot program whose slot 1 is a prune
/// point, with every register compared, under `limits`, and far enough
/// into its analysis that the sparseness rule allows the next store.
fn with_checker<R>(limits: Limits, f: impl FnOnce(&mut Checker) -> R) -> R {
    let program = assemble("goto +0\nr0 = 0\nexit").unwrap();
    let profile = profile(limits);
    let cfg: Cfg = crate::cfg::check(program.insns(), &profile.limits).unwrap();
    let every = [u16::MAX; 3];
    let links = [Exact::ALL; 3];
    let mut checker = Checker::new(program.insns(), &profile, &cfg, &every, &every, &links, None, None).unwrap();
    checker.stats.insns_processed = 100;
    checker.jumps_processed = 10;
    f(&mut checker)
}

/// A one-frame state whose r0 holds `v`.
fn holding(v: u64) -> State {
    let mut frame = Frame::new(0, 0, 0);
    frame.regs[0] = Value::constant(v);
    State { frames: vec![frame] }
}

/// Visits the prune point with a state holding `v`: whether it was
/// stored, pruned or neither.
fn visit(checker: &mut Checker, v: u64) -> &'static str {
    let before = checker.checkpoints.len();
    match checker.visit(1, &mut holding(v), None, NONE, &mut { NONE }).unwrap() {
        Visit::Pruned(_) => "pruned",
        Visit::Continue(_) if checker.checkpoints.len() > before => {
            // Fully explored at once, comparing every number; the next
            // store is allowed again.
            let i = before as u32;
            checker.checkpoints[before].marks.set_all();
            checker.end_path(Some(i));
            checker.stats.insns_processed += 100;
            checker.jumps_processed += 10;
            "stored"
        }
        Visit::Continue(_) => "passed",
    }
}

#[test]
fn a_stored_state_that_covered_once_is_kept_through_six_misses() {
    with_checker(Limits::DEFAULT, |checker| {
        assert_eq!(visit(checker, 0), "stored");
        assert_eq!(visit(checker, 0), "pruned");
        // Misses (other values) are not stored: too close to the last store.
        checker.last_store = (checker.stats.insns_processed, checker.jumps_processed);
        for miss in 1..=6 {
            assert_eq!(visit(checker, miss), "passed");
            assert_eq!((checker.explored[1].len(), checker.stats.states_evicted), (1, 0), "after miss {miss}");
        }
        assert_eq!(visit(checker, 7), "passed");
        assert_eq!((checker.explored[1].len(), checker.stats.states_evicted), (0, 1), "after miss 7");
    })
}

#[test]
fn an_evicted_state_gives_back_all_but_its_empty_husk() {
    with_checker(Limits::DEFAULT, |checker| {
        let bytes = holding(0).bytes();
        assert_eq!(visit(checker, 0), "stored");
        assert_eq!(checker.stored_bytes, bytes);
        checker.last_store = (checker.stats.insns_processed, checker.jumps_processed);
        for miss in 1..=4 {
            visit(checker, miss);
        }
        assert_eq!(checker.stats.states_evicted, 1);
        assert_eq!(checker.stored_bytes, core::mem::size_of::<State>());
    })
}

#[test]
fn stored_states_stop_at_each_limit() {
    let bytes = holding(0).bytes();
    // (limits, stores expected of visits with 0, 1, 2, 3 when each is
    // stored once allowed)
    let cases = [
        // Two states per instruction.
        (Limits { max_states_per_insn: 2, ..Limits::DEFAULT }, ["stored", "stored", "passed", "passed"]),
        // Half the memory for stored states: room for exactly two.
        (Limits { max_memory: 4 * bytes, ..Limits::DEFAULT }, ["stored", "stored", "passed", "passed"]),
        (Limits { max_memory: 4 * bytes - 2, ..Limits::DEFAULT }, ["stored", "passed", "passed", "passed"]),
        // Three states in all.
        (Limits { max_states: 3, ..Limits::DEFAULT }, ["stored", "stored", "stored", "passed"]),
    ];
    for (limits, expected) in cases {
        let got = with_checker(limits, |checker| [0, 1, 2, 3].map(|v| visit(checker, v)));
        assert_eq!(got, expected, "{limits:?}");
    }
}

#[test]
fn evicted_states_make_room_under_the_limit_on_stored_states() {
    with_checker(Limits { max_states: 1, ..Limits::DEFAULT }, |checker| {
        assert_eq!(visit(checker, 0), "stored");
        assert_eq!(visit(checker, 1), "passed");
        checker.last_store = (checker.stats.insns_processed, checker.jumps_processed);
        for miss in 2..=4 {
            visit(checker, miss);
        }
        assert_eq!(checker.stats.states_evicted, 1);
        checker.stats.insns_processed += 100;
        checker.jumps_processed += 10;
        assert_eq!(visit(checker, 5), "stored");
    })
}

#[test]
fn paths_waiting_are_limited_to_max_pending() {
    // A loop of `rounds` rounds tests an unknown bit once per round and
    // leaves the other edge waiting: `rounds` paths wait before the first
    // ends. The round counter keeps every stored state from covering
    // another on the way down.
    let program = |rounds: usize| {
        assemble(&format!(
            "r6 = 0
             loop:
             r2 = *(u64 *)(r1 + 0)
             if r2 & 1 goto skip
             r3 = 1
             skip:
             r6 += 1
             if r6 < {rounds} goto loop
             r0 = 0
             exit"
        ))
        .unwrap()
    };
    let limits = Limits { max_insns_processed: 10_000_000, max_states_per_insn: 100_000, max_states: 100_000, ..Limits::DEFAULT };
    let done = stats(&program(MAX_PENDING), limits);
    assert_eq!(done.peak_pending, MAX_PENDING, "{done:?}");
    let refused = verify(&program(MAX_PENDING + 1), &profile(limits)).unwrap_err();
    assert_eq!(refused.kind, ErrorKind::TooComplex, "{refused}");
    assert!(refused.reason.contains(&format!("more than {MAX_PENDING} paths")), "{refused}");
}

/// Two paths join at `j` with r7 = r8 and r7 = r8 + 1 (r7 then only meets
/// a jump that may go either way, so it decides nothing); after `pad`
/// instructions, r9 (set before the paths split, the same on both)
/// decides. The walk of that decision goes back over the pad to the
/// state stored at `j`.
fn long_walk(pad: usize) -> Program {
    let pad = "r5 = 0\n".repeat(pad);
    assemble(&format!(
        "r5 = 0
         r9 = 5
         r8 = *(u8 *)(r1 + 0)
         r5 = 0
         r5 = 0
         r5 = 0
         r5 = 0
         r5 = 0
         goto a
         a:
         if r8 > 5 goto other
         r7 = r8
         goto j
         other:
         r7 = r8
         r7 += 1
         goto j
         j:
         {pad}
         if r9 > 20 goto out
         if r7 > 3 goto out
         out:
         r0 = 0
         exit"
    ))
    .unwrap()
}

#[test]
fn a_walk_of_max_walk_instructions_marks_precisely_and_a_longer_one_marks_everything() {
    // Pruned at `j`, the second path processes a few instructions;
    // otherwise it goes over the pad again.
    let second_pruned = |pad: usize| stats(&long_walk(pad), Limits::DEFAULT).insns_processed < pad as u64 + 30;
    // The walk of r9's decision goes back over the pad, the jump itself
    // and the instruction at `j`: `pad + 2` steps. Up to MAX_WALK it marks
    // r9 alone at `j`, and the second path (another r7) is pruned there;
    // past it, the walk gives up and the state at `j` compares everything.
    let longest = super::walk::MAX_WALK as usize - 2;
    assert!(second_pruned(16));
    assert!(second_pruned(longest), "a walk of exactly MAX_WALK steps");
    assert!(!second_pruned(longest + 1), "a walk of one step more");
}

#[test]
fn waiting_paths_fill_their_half_of_the_memory_budget_exactly() {
    // Room for exactly three waiting paths of one state each.
    let bytes = holding(0).bytes();
    with_checker(Limits { max_memory: 2 * 3 * bytes, ..Limits::DEFAULT }, |checker| {
        let path = |v| super::Path { pc: 1, state: holding(v), parent: None, head: NONE, unwalked: NONE, stretch: 0 };
        for v in 0..3 {
            checker.fork(0, path(v)).unwrap();
        }
        let refused = checker.fork(0, path(3)).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::TooComplex);
        assert!(refused.reason.contains("paths waiting to be explored"), "{refused}");
        assert_eq!(checker.stats.peak_pending, 3);
    })
}
