//! The analysis watched step by step: a [`Trace`] receives an event at
//! every point where the verifier learns or decides something (a visit of
//! an instruction with the state there, the edges a conditional jump may
//! take with what each teaches, a state stored, a path pruned and the state
//! that covered it, the end of a path, the rejection), so that a tool can
//! show a student what the verifier knew and why it stopped (`modc
//! explain`).
//!
//! Every method has an empty default body, and the analysis is generic
//! over its trace: with [`NoTrace`] (what [`crate::verify()`] uses) the
//! calls compile to nothing, so the kernel pays nothing for them.

use crate::liveness::RegSet;
use crate::report::Report;
use crate::state::State;

/// Receives the events of one analysis, in the order they happen.
///
/// Paths are explored depth-first: a path starts ([`Trace::path`]) either
/// at slot 0 or at the target of a jump queued earlier by
/// [`Trace::branch`] with `queued`, the most recently queued first.
#[allow(unused_variables)]
pub trait Trace {
    /// A path starts at slot `pc` (the first one at slot 0, then the
    /// queued edges, the newest first).
    fn path(&mut self, pc: usize) {}

    /// The analysis reaches slot `pc` with `state` (before the
    /// instruction). At a prune point a [`Trace::pruned`] may follow, and
    /// then the instruction is not processed.
    fn visit(&mut self, pc: usize, state: &State) {}

    /// The conditional jump at `pc` may go to `to` (`taken`: its target;
    /// otherwise the next instruction), with `state` refined by what the
    /// condition teaches on that edge. `queued`: the edge waits as a
    /// pending path; otherwise the current path goes on along it. An edge
    /// with no event is impossible in the state the jump was reached in.
    fn branch(&mut self, pc: usize, to: usize, taken: bool, queued: bool, state: &State) {}

    /// The state of the last visit (at prune point `pc`) was stored as
    /// checkpoint number `checkpoint`.
    fn stored(&mut self, pc: usize, checkpoint: u32) {}

    /// The path ends at prune point `pc`: checkpoint `checkpoint`, fully
    /// explored, covers the state of the last visit. `live` and `relevant`
    /// hold, per frame, the registers that were compared (live ones) and
    /// those whose values had to be covered (the others need only be
    /// numbers in both states).
    fn pruned(&mut self, pc: usize, checkpoint: u32, covering: &State, live: &[RegSet], relevant: &[RegSet]) {}

    /// The path ends at `pc`: the program exits there, or no edge of the
    /// jump there is possible.
    fn end(&mut self, pc: usize) {}

    /// The program is rejected (after any events of the failing path).
    fn rejected(&mut self, report: &Report) {}
}

/// The trace that records nothing.
pub struct NoTrace;

impl Trace for NoTrace {}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;
    use crate::assemble;
    use crate::profile::{CtxField, CtxLayout, Profile};
    use crate::verify::{verify_traced, Entry};

    /// Every event as one line of text.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Trace for Recorder {
        fn path(&mut self, pc: usize) {
            self.0.push(format!("path {pc}"));
        }
        fn visit(&mut self, pc: usize, state: &State) {
            self.0.push(format!("visit {pc}: {state}"));
        }
        fn branch(&mut self, pc: usize, to: usize, taken: bool, queued: bool, state: &State) {
            let q = if queued { " queued" } else { "" };
            self.0.push(format!("branch {pc} -> {to} taken={taken}{q}: {state}"));
        }
        fn stored(&mut self, pc: usize, checkpoint: u32) {
            self.0.push(format!("stored {pc} #{checkpoint}"));
        }
        fn pruned(&mut self, pc: usize, checkpoint: u32, covering: &State, live: &[RegSet], relevant: &[RegSet]) {
            self.0.push(format!("pruned {pc} by #{checkpoint} live={live:?} relevant={relevant:?}: {covering}"));
        }
        fn end(&mut self, pc: usize) {
            self.0.push(format!("end {pc}"));
        }
        fn rejected(&mut self, report: &Report) {
            self.0.push(format!("rejected {} at {}", report.kind, report.pc));
        }
    }

    fn profile() -> Profile {
        Profile::new().with_ctx(CtxLayout::new(8).with_field(CtxField::value("a", 0, 8)))
    }

    fn events(src: &str) -> (Vec<String>, Result<u64, Report>) {
        let p = assemble(src).unwrap();
        let mut rec = Recorder::default();
        let r = verify_traced(&p, &profile(), &Entry::default(), &mut rec).map(|v| v.stats().insns_processed);
        (rec.0, r)
    }

    #[test]
    fn a_branch_reports_both_edges_refined_and_the_queued_path_starts_last() {
        let (ev, r) = events(
            "r2 = *(u64 *)(r1 + 0)
             if r2 > 5 goto big
             r0 = 0
             exit
             big:
             r0 = 1
             exit",
        );
        assert_eq!(r, Ok(6));
        let ev: Vec<&str> = ev.iter().map(String::as_str).collect();
        assert_eq!(ev[0], "path 0");
        assert_eq!(ev[1], "visit 0: r1=ctx + 0 r10=fp0 + 0");
        assert_eq!(ev[2], "visit 1: r1=ctx + 0 r2=scalar() r10=fp0 + 0");
        assert!(ev[3].starts_with("branch 1 -> 4 taken=true queued: r1=ctx + 0 r2=scalar(umin=6,"), "{ev:#?}");
        assert!(ev[4].starts_with("branch 1 -> 2 taken=false: r1=ctx + 0 r2=scalar(umin=0,umax=5"), "{ev:#?}");
        assert_eq!(&ev[5..], [
            "visit 2: r1=ctx + 0 r2=scalar(umin=0,umax=5) r10=fp0 + 0",
            "visit 3: r0=0 r1=ctx + 0 r2=scalar(umin=0,umax=5) r10=fp0 + 0",
            "end 3",
            "path 4",
            "visit 4: r1=ctx + 0 r2=scalar(umin=6,umax=18446744073709551615) r10=fp0 + 0",
            "visit 5: r0=1 r1=ctx + 0 r2=scalar(umin=6,umax=18446744073709551615) r10=fp0 + 0",
            "end 5",
        ]);
    }

    #[test]
    fn an_impossible_edge_has_no_event() {
        let (ev, _) = events("r2 = 3\nif r2 > 5 goto +1\nr0 = 0\nexit");
        let branches: Vec<&String> = ev.iter().filter(|e| e.starts_with("branch")).collect();
        assert_eq!(branches.len(), 1, "{ev:#?}");
        assert!(branches[0].starts_with("branch 1 -> 2 taken=false: "), "{ev:#?}");
    }

    #[test]
    fn a_pruned_path_names_the_stored_state_that_covered_it() {
        // Both arms reach `join` with r3 in different ranges; r3 is dead
        // there, so the second arrival is covered by the first.
        let (ev, r) = events(
            "r2 = *(u64 *)(r1 + 0)
             r6 = 0
             r6 += 1
             r6 += 1
             r6 += 1
             r6 += 1
             r6 += 1
             if r2 > 5 goto big
             r3 = 1
             goto join
             big:
             r3 = 2
             join:
             r0 = r6
             exit",
        );
        let processed = r.unwrap();
        let stored: Vec<&String> = ev.iter().filter(|e| e.starts_with("stored")).collect();
        let pruned: Vec<&String> = ev.iter().filter(|e| e.starts_with("pruned")).collect();
        assert_eq!(stored, ["stored 11 #0"], "{ev:#?}");
        assert_eq!(pruned.len(), 1, "{ev:#?}");
        assert!(pruned[0].starts_with("pruned 11 by #0 live=[1088] relevant=[0]: "), "{ev:#?}");
        assert!(pruned[0].contains("r3=1"), "{ev:#?}");
        // Every visit is processed except the pruned one.
        let visits = ev.iter().filter(|e| e.starts_with("visit")).count() as u64;
        assert_eq!(visits - 1, processed);
    }

    #[test]
    fn a_loop_visits_its_head_once_a_round() {
        let (ev, r) = events(
            "r6 = 0
             loop:
             r6 += 1
             if r6 < 4 goto loop
             r0 = 0
             exit",
        );
        assert!(r.is_ok());
        let rounds: Vec<&String> = ev.iter().filter(|e| e.starts_with("visit 1:")).collect();
        assert_eq!(rounds.len(), 4, "{ev:#?}");
        assert!(rounds[3].contains("r6=3"), "{ev:#?}");
    }

    #[test]
    fn a_rejection_comes_last_after_the_visit_of_the_failing_instruction() {
        let (ev, r) = events("r2 = *(u64 *)(r1 + 0)\nr1 += r2\nr0 = 0\nexit");
        assert_eq!(r.unwrap_err().pc, 1);
        let n = ev.len();
        assert!(ev[n - 2].starts_with("visit 1: "), "{ev:#?}");
        assert_eq!(ev[n - 1], "rejected pointer-arithmetic at 1");
        // Rejected before any path: only the rejection.
        let (ev, _) = events("r0 = 0\ngoto +5\nexit");
        assert_eq!(ev, ["rejected jump-out-of-range at 1"]);
    }
}
