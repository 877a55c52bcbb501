//! The analysis seen from its API: what `Verified` carries, what reports
//! and the verbose log say. Rules are covered by the case suite in
//! `tests/verifier/cases`.

use alloc::string::String;
use alloc::vec;

use super::*;
use crate::assemble;
use crate::insn::{AluOp, Src, Width};
use crate::profile::{CtxField, CtxLayout, Limits};

pub(super) fn ctx_profile() -> Profile {
    Profile::new().with_ctx(CtxLayout::new(8).with_field(CtxField::value("a", 0, 8)))
}

#[test]
fn verified_programs_carry_functions_and_stack_depths() {
    let p = assemble(
        "*(u64 *)(r10 - 24) = 0
         call local f
         exit
         f:
         *(u32 *)(r10 - 4) = 1
         r0 = 0
         exit",
    )
    .unwrap();
    let v = verify(&p, &ctx_profile()).unwrap();
    assert_eq!(v.program(), &p);
    assert_eq!(
        v.functions(),
        &[Function { start: 0, end: 3, stack_depth: 24 }, Function { start: 3, end: 6, stack_depth: 8 }]
    );
    assert!(v.stats().insns_processed >= 6);
}

#[test]
fn hand_built_instructions_verify() {
    let mov = |dst, imm| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) };
    let p = Program::from_insns(vec![mov(Reg::R0, 0), Insn::Exit]);
    assert!(verify(&p, &Profile::new()).is_ok());
    let p = Program::from_insns(vec![Insn::Exit]);
    assert_eq!(verify(&p, &Profile::new()).unwrap_err().kind, ErrorKind::ReturnValue);
    let p = Program::from_insns(vec![]);
    assert_eq!(verify(&p, &Profile::new()).unwrap_err().kind, ErrorKind::ProgramSize);
    let p = Program::from_insns(vec![Insn::Imm64Tail, Insn::Exit]);
    assert_eq!(verify(&p, &Profile::new()).unwrap_err().kind, ErrorKind::MalformedImm64);
}

#[test]
fn reports_name_the_instruction_registers_and_fix() {
    let p = assemble(
        "r6 = r1
         r1 = 0
         r2 = 0
         r0 = *(u64 *)(r6 + 8)
         exit",
    )
    .unwrap();
    let r = verify(&p, &ctx_profile()).unwrap_err();
    assert_eq!((r.kind, r.pc), (ErrorKind::ContextAccess, 3));
    assert_eq!(r.insn, "r0 = *(u64 *)(r6 + 8)");
    assert_eq!(r.regs, vec![(String::from("r6"), String::from("ctx + 0"))]);
    let text = r.to_string();
    assert!(text.starts_with("error[context-access]: no field of the context at offset 8"), "{text}");
    assert!(text.contains(" --> insn 3: r0 = *(u64 *)(r6 + 8)"), "{text}");
    assert!(text.contains("= help: access the context only through the fields"), "{text}");
}

#[test]
fn null_pointer_reports_carry_the_hint() {
    let profile = ctx_profile()
        .with_map(crate::profile::MapInfo::array(8, 1))
        .with_helper(crate::profile::HelperSig::new(
            1,
            "map_lookup",
            &[crate::profile::ArgKind::MapRef, crate::profile::ArgKind::MapKey],
            crate::profile::RetKind::MapValueOrNull,
        ));
    let p = assemble(
        "r1 = map[0] ll
         *(u32 *)(r10 - 4) = 0
         r2 = r10
         r2 += -4
         call 1
         r0 = *(u64 *)(r0 + 0)
         exit",
    )
    .unwrap();
    let r = verify(&p, &profile).unwrap_err();
    assert_eq!((r.kind, r.pc), (ErrorKind::NullPointer, 6));
    assert_eq!(r.regs[0].1, "map_value_or_null(m0, id=1) + 0");
    assert_eq!(r.hint.as_deref(), Some("compare r0 with 0 (e.g. `if r0 == 0 goto out`) before using it"));
}

#[test]
fn the_verbose_log_shows_the_state_before_each_instruction() {
    let p = assemble(
        "r2 = *(u64 *)(r1 + 0)
         r2 &= 7
         r0 = r2
         exit",
    )
    .unwrap();
    let mut log = String::new();
    verify_verbose(&p, &ctx_profile(), &mut log).unwrap();
    let lines: alloc::vec::Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], "from pending path to 0:");
    assert!(lines[1].starts_with("0: r2 = *(u64 *)(r1 + 0)"), "{log}");
    assert!(lines[1].ends_with("; r1=ctx + 0 r10=fp0 + 0"), "{log}");
    assert!(lines[3].contains("r2=scalar(umin=0,umax=7)"), "{log}");
}

#[test]
fn the_complexity_limit_stops_the_analysis() {
    let p = assemble(
        "r0 = 0
         loop:
         r0 += 1
         if r0 != 0 goto loop
         exit",
    )
    .unwrap();
    let profile = ctx_profile().with_limits(Limits { max_insns_processed: 1000, ..Limits::DEFAULT });
    let r = verify(&p, &profile).unwrap_err();
    assert_eq!(r.kind, ErrorKind::TooComplex);
    assert!(r.reason.contains("1000 instructions"));
}

#[test]
fn entry_facts_replace_the_context() {
    let p = assemble("r0 = r2\nexit").unwrap();
    let entry = Entry { regs: crate::facts::parse("r2: scalar in [0, 10]").unwrap() };
    assert!(verify_with(&p, &Profile::new(), &entry, None).is_ok());
    let p = assemble("r0 = *(u8 *)(r1 + 0)\nexit").unwrap();
    let r = verify_with(&p, &ctx_profile(), &entry, None).unwrap_err();
    assert_eq!(r.kind, ErrorKind::UninitRegister);
}

/// `n` branches in a row on one unknown, with a full 512-byte stack: each
/// doubles the paths, and with no stored states (`max_states: 0`) the
/// paths waiting to be explored grow to `n`, each a frame with 64 slots.
fn branches_with_a_full_stack(n: usize) -> Program {
    let mut src = alloc::string::String::from("r2 = *(u64 *)(r1 + 0)\n*(u64 *)(r10 - 512) = 0\nr0 = 0\n");
    for i in 0..n {
        src.push_str(&alloc::format!("if r2 == {i} goto l{i}\nr0 += 1\nl{i}:\n"));
    }
    src.push_str("exit\n");
    assemble(&src).unwrap()
}

#[test]
fn the_memory_limit_stops_the_analysis() {
    // A small memory budget for pending paths is exhausted long before
    // the instruction limit.
    let limits = Limits { max_memory: 64 << 10, max_states: 0, ..Limits::DEFAULT };
    let r = verify(&branches_with_a_full_stack(40), &ctx_profile().with_limits(limits)).unwrap_err();
    assert_eq!(r.kind, ErrorKind::TooComplex);
    assert!(r.reason.contains("bytes"), "{r}");
}

#[test]
fn the_memory_limit_counts_a_state_by_its_registers_and_slots() {
    // Five waiting paths of a few kilobytes each fit well within 1 MiB.
    let limits = Limits { max_memory: 1 << 20, max_states: 0, ..Limits::DEFAULT };
    verify(&branches_with_a_full_stack(5), &ctx_profile().with_limits(limits)).unwrap();
}

#[test]
fn the_memory_limit_counts_only_the_paths_still_waiting() {
    // Ten tests of one bit each make 1,024 paths one after the other, but
    // never more than ten wait at once.
    let mut src = alloc::string::String::from("r2 = *(u64 *)(r1 + 0)\n*(u64 *)(r10 - 512) = 0\nr0 = 0\n");
    for i in 0..10 {
        src.push_str(&alloc::format!("if r2 & {} goto l{i}\nr0 += 1\nl{i}:\n", 1 << i));
    }
    src.push_str("exit\n");
    let limits = Limits { max_memory: 1 << 20, max_states: 0, ..Limits::DEFAULT };
    let stats = *verify(&assemble(&src).unwrap(), &ctx_profile().with_limits(limits)).unwrap().stats();
    assert!(stats.insns_processed > 1024 * 3, "{stats:?}");
    // Eight paths wait to start at `heavy`; the first to go there adds
    // eight more while seven still wait: fifteen full frames are more than
    // the budget, although eight never are.
    let mut src = alloc::string::String::from("r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 0)\n*(u64 *)(r10 - 512) = 0\nr0 = 0\n");
    for i in 0..8 {
        src.push_str(&alloc::format!("if r2 == {i} goto heavy\n"));
    }
    src.push_str("exit\nheavy:\n");
    for i in 0..8 {
        src.push_str(&alloc::format!("if r3 == {i} goto l{i}\nr0 += 1\nl{i}:\n"));
    }
    src.push_str("exit\n");
    let mut frame = crate::state::Frame::new(0, 0, 0);
    frame.stack.resize(64, crate::state::Slot::INVALID);
    let full = crate::state::State { frames: alloc::vec![frame] }.bytes();
    // Waiting paths may have half the budget: eleven full frames.
    let limits = Limits { max_memory: 22 * full, max_states: 0, ..Limits::DEFAULT };
    let r = verify(&assemble(&src).unwrap(), &ctx_profile().with_limits(limits)).unwrap_err();
    assert_eq!(r.kind, ErrorKind::TooComplex);
    assert!(r.reason.contains("paths waiting"), "{r}");
}

/// Lets the analysis go on `left` times, then stops it with `stop`.
struct Countdown {
    left: u32,
    asked: u32,
    stop: Stop,
}

impl Watch for Countdown {
    fn check(&mut self) -> Result<(), Stop> {
        self.asked += 1;
        if self.left == 0 {
            return Err(self.stop);
        }
        self.left -= 1;
        Ok(())
    }
}

#[test]
fn a_watch_is_asked_while_the_analysis_runs_and_may_stop_it() {
    // 100 rounds of a loop: about 600 instructions and 200 forks.
    let p = assemble(
        "r6 = 0
         loop:
         r2 = *(u64 *)(r1 + 0)
         if r2 > 5 goto big
         r3 = 1
         big:
         r6 += 1
         if r6 < 100 goto loop
         r0 = 0
         exit",
    )
    .unwrap();
    let memory = Stop::Memory { used: 3 << 20, limit: 2 << 20 };
    let mut patient = Countdown { left: u32::MAX, asked: 0, stop: memory };
    verify_watched(&p, &ctx_profile(), &mut patient).unwrap();
    assert!(patient.asked >= 100, "asked only {} times", patient.asked);
    let mut watch = Countdown { left: 10, asked: 0, stop: memory };
    let r = verify_watched(&p, &ctx_profile(), &mut watch).unwrap_err();
    assert_eq!((r.kind, watch.asked), (ErrorKind::OutOfMemory, 11));
    assert!(r.to_string().starts_with("error[out-of-memory]: the verifier ran out of memory: the analysis holds 3072 KiB, more than the 2048 KiB"), "{r}");
    let mut watch = Countdown { left: 50, asked: 0, stop: Stop::Time { limit_ms: 250 } };
    let r = verify_watched(&p, &ctx_profile(), &mut watch).unwrap_err();
    assert_eq!(r.kind, ErrorKind::TimeLimit);
    assert!(r.to_string().starts_with("error[time-limit]: the verifier ran for more than its limit of 250 ms"), "{r}");
    assert!(r.hint.is_some(), "{r}");
}

/// A per-CPU array is an array to the program: lookup gives a value pointer
/// of `value_size` bytes (which CPU's value is the kernel's business), but
/// there is no fixed value address to load.
#[test]
fn per_cpu_array_values_are_reached_only_through_lookup() {
    let profile = ctx_profile().with_map(crate::profile::MapInfo::per_cpu_array(8, 4)).with_helper(
        crate::profile::HelperSig::new(
            1,
            "map_lookup",
            &[crate::profile::ArgKind::MapRef, crate::profile::ArgKind::MapKey],
            crate::profile::RetKind::MapValueOrNull,
        ),
    );
    let lookup_then = |access: &str| {
        assemble(&alloc::format!(
            "r1 = map[0] ll
             *(u32 *)(r10 - 4) = 0
             r2 = r10
             r2 += -4
             call 1
             if r0 == 0 goto out
             {access}
             out:
             r0 = 0
             exit"
        ))
        .unwrap()
    };
    assert!(verify(&lookup_then("r1 = *(u64 *)(r0 + 0)\n r1 += 1\n *(u64 *)(r0 + 0) = r1"), &profile).is_ok());
    let r = verify(&lookup_then("r1 = *(u64 *)(r0 + 8)"), &profile).unwrap_err();
    assert_eq!(r.kind, ErrorKind::OutOfBounds);
    let p = assemble("r1 = map_value[0] + 0 ll\n r0 = 0\n exit").unwrap();
    let r = verify(&p, &profile).unwrap_err();
    assert_eq!(r.kind, ErrorKind::UnknownMap);
    assert!(r.to_string().contains("map 0 has no fixed value to point to"), "{r}");
}
