//! Fuel metering: metered code stops where the reference interpreter,
//! metered with the same plan and budget, stops, after the same helper
//! calls; with fuel left over, both report the same amount left.

use super::layout::random_loop;
use super::*;
use crate::host::{self, OutOfFuel};
use crate::JitError;
use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use verifier::Program;
use vm::fuel::Plan;

/// What a helper call costs in these tests: helper 5 (`helper_first`) 100.
fn weight(id: u32) -> u64 {
    if id == 5 { 100 } else { 3 }
}

/// Helper 5 for the interpreter: returns its first argument, as
/// `helper_first` does.
struct First;

impl vm::Helpers for First {
    fn call(&mut self, id: u32, args: [vm::Value; 5], _: &mut vm::Memory) -> Result<vm::Value, vm::ViolationKind> {
        match id {
            5 => Ok(vm::Value::scalar(args[0].bits)),
            _ => Err(vm::helpers::unknown_helper(id)),
        }
    }
}

/// The interpreter's result: r0 and the fuel left, or out of fuel.
fn interpret(insns: &[Insn], budget: u64) -> Result<(u64, u64), OutOfFuel> {
    let program = Program::from_insns(insns.to_vec());
    let mut vm = vm::Vm::new(&program, vm::Config::plain());
    vm.meter(Plan::new(insns, &weight), budget);
    match vm.run(&mut First) {
        Ok(o) => Ok((o.r0, vm.fuel_left().unwrap_or(0))),
        Err(v) if v.kind == vm::ViolationKind::OutOfFuel => Err(OutOfFuel),
        Err(v) => panic!("the interpreter stopped otherwise: {v}"),
    }
}

/// The offset in the GS segment of the counter in the GS-addressed runs
/// (any offset: the thread's GS base is set so that it lands on the host's
/// one counter).
const GS_OFFSET: i32 = 0x58;

/// Runs `f` with this thread's GS base at `base` (Linux `arch_prctl`; the
/// host's Rust and C runtimes leave GS alone on x86-64), then restores it.
fn with_gs_base<R>(base: u64, f: impl FnOnce() -> R) -> R {
    const ARCH_SET_GS: libc::c_long = 0x1001;
    const ARCH_GET_GS: libc::c_long = 0x1004;
    let mut old = 0u64;
    // SAFETY: ARCH_GET_GS writes the thread's GS base into `old`, and
    // ARCH_SET_GS changes only this thread's GS base, which nothing in the
    // test process uses besides the code run inside `f`.
    unsafe {
        assert_eq!(libc::syscall(libc::SYS_arch_prctl, ARCH_GET_GS, &mut old as *mut u64), 0);
        assert_eq!(libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, base), 0);
    }
    let r = f();
    // SAFETY: as above.
    unsafe { assert_eq!(libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, old), 0) };
    r
}

/// Compiles `insns` metered, plain and blinded near and far, and with the
/// counter in the GS segment (plain and blinded, as the kernel's per-CPU
/// counter), and runs each with `budget`; all must agree, and the result
/// is returned.
fn run_metered(insns: &[Insn], funcs: &[Function], budget: u64) -> Result<(u64, u64), OutOfFuel> {
    let mut results = Vec::new();
    let modes = [(None, CallMode::Near, false), (Some(9), CallMode::Near, false), (None, CallMode::HostFar, false)];
    for (blinding, mode, gs) in modes.into_iter().chain([(None, CallMode::Near, true), (Some(9), CallMode::Near, true)]) {
        let region = CodeRegion::map_near(code_size_bound(insns.len(), funcs.len()), helper_first as *const () as u64).unwrap();
        let mut fuel = host::fuel(&weight);
        if gs {
            fuel.counter = crate::FuelCounter::Gs(GS_OFFSET);
        }
        let near = region.within_rel32(helper_first as *const () as u64) && region.within_rel32(host::fuel_counter());
        let mut opts = JitOptions::new(region.address());
        opts.helper_address = &helpers;
        opts.blinding = blinding;
        opts.call_mode = if near { mode } else { CallMode::HostFar };
        opts.fuel = Some(fuel);
        let out = compile_program(insns, funcs, &opts).expect("compiles");
        let exec = region.seal(out.code()).unwrap();
        // SAFETY: the programs touch no memory but their stack.
        let run = || unsafe { exec.call_metered(out.entries()[0], 0, 0, budget) };
        let base = host::fuel_counter().wrapping_sub(GS_OFFSET as u64);
        results.push(if gs { with_gs_base(base, run) } else { run() });
    }
    assert!(results.iter().all(|r| *r == results[0]), "modes disagree: {results:?}");
    results[0]
}

fn one(insns: &[Insn]) -> [Function; 1] {
    [Function { start: 0, end: insns.len(), stack_depth: 0 }]
}

/// r0 = 0; 1000 rounds of `r0 += helper(r6)`; the loop's header is slot 2.
fn helper_loop() -> Vec<Insn> {
    vec![
        a64(AluOp::Mov, 6, 1000),
        a64(AluOp::Mov, 7, 0),
        a64r(AluOp::Mov, 1, 6), // 2: loop
        Insn::Call { helper: 5 },
        a64r(AluOp::Add, 7, 0),
        a64(AluOp::Sub, 6, 1),
        jmp(Cond::Ne, 6, Src::Imm(0), -5),
        a64r(AluOp::Mov, 0, 7),
        EXIT,
    ]
}

#[test]
fn a_loop_of_helper_calls_stops_where_the_interpreter_stops() {
    let p = helper_loop();
    let plan = Plan::new(&p, &weight);
    assert_eq!(plan.at(2), 104, "one round: four instructions and a call of weight 100");
    let full = plan.entry() + 1000 * plan.at(2);
    assert_eq!(run_metered(&p, &one(&p), full), Ok((500_500, 0)));
    assert_eq!(interpret(&p, full), Ok((500_500, 0)));
    for budget in [0, 1, plan.entry(), plan.entry() + 103, plan.entry() + 104, full / 2, full - 1, full + 7] {
        assert_eq!(run_metered(&p, &one(&p), budget), interpret(&p, budget), "budget {budget}");
    }
    assert_eq!(run_metered(&p, &one(&p), full - 1), Err(OutOfFuel));
}

#[test]
fn random_loops_stop_where_the_interpreter_stops() {
    let mut g = fastrand::Rng::with_seed(0xf0e1);
    let (mut stopped, mut finished) = (0, 0);
    for round in 0..150 {
        let p = random_loop(&mut g);
        let funcs = one(&p);
        let full = match interpret(&p, u64::MAX) {
            Ok((_, left)) => u64::MAX - left,
            Err(OutOfFuel) => unreachable!("an unbounded budget runs out"),
        };
        let budget = if g.bool() { g.u64(..full) } else { full + g.u64(..3) };
        let want = interpret(&p, budget);
        assert_eq!(run_metered(&p, &funcs, budget), want, "round {round}, budget {budget} of {full}: {p:?}");
        if want.is_ok() { finished += 1 } else { stopped += 1 }
    }
    assert!(stopped > 50 && finished > 50, "{stopped} stopped, {finished} finished");
}

#[test]
fn straight_code_is_metered_once_and_a_loop_at_its_header() {
    let p = helper_loop();
    let region = CodeRegion::map_near(code_size_bound(p.len(), 1), helper_first as *const () as u64).unwrap();
    let fuel = host::fuel(&weight);
    let mut opts = JitOptions::new(region.address());
    opts.helper_address = &helpers;
    opts.fuel = Some(fuel);
    let out = compile_program(&p, &one(&p), &opts).expect("compiles");
    let decode = |from: u32, to: u32| {
        let bytes = &out.code()[from as usize..to as usize];
        let mut d = Decoder::with_ip(64, bytes, region.address() + from as u64, DecoderOptions::NONE);
        let mut v = Vec::new();
        while d.can_decode() {
            v.push(d.decode());
        }
        v
    };
    let offs = out.insn_offsets();
    // The entry: `sub [rip+counter], charge` and `jb exhausted` before slot 0.
    let entry = decode(0, offs[0]);
    let m: Vec<Mnemonic> = entry.iter().map(|i| i.mnemonic()).collect();
    assert_eq!(m[m.len() - 2..], [Mnemonic::Sub, Mnemonic::Jb]);
    assert_eq!(entry[entry.len() - 2].memory_displacement64(), host::fuel_counter());
    assert_eq!(entry[entry.len() - 1].near_branch_target(), fuel.exhausted);
    // The header (slot 2) starts with the pair; slots 0, 1 and 3-8 have none.
    for pc in 0..p.len() {
        let code = decode(offs[pc], offs.get(pc + 1).copied().unwrap_or(out.size() as u32));
        let metered = code.iter().any(|i| i.mnemonic() == Mnemonic::Jb);
        assert_eq!(metered, pc == 2, "slot {pc}: {code:?}");
    }
    // Unmetered code of the same program has no `jb` at all.
    opts.fuel = None;
    let plain = compile_program(&p, &one(&p), &opts).expect("compiles");
    assert!(plain.size() < out.size());
}

#[test]
fn a_counter_in_the_gs_segment_is_an_absolute_gs_operand() {
    let p = helper_loop();
    for blinding in [None, Some(3)] {
        let mut opts = JitOptions::new(0x7f00_0000_0000);
        opts.helper_address = &|_| Some(0x7f00_0000_1000);
        opts.blinding = blinding;
        opts.fuel = Some(crate::Fuel { counter: crate::FuelCounter::Gs(0x68), exhausted: 0x7f00_0000_2000, helper_weight: &weight });
        let out = compile_program(&p, &one(&p), &opts).expect("compiles");
        let mut d = Decoder::with_ip(64, out.code(), 0x7f00_0000_0000, DecoderOptions::NONE);
        let subs: Vec<_> = core::iter::from_fn(|| d.can_decode().then(|| d.decode()))
            .filter(|i| i.mnemonic() == Mnemonic::Sub && i.op0_kind() == iced_x86::OpKind::Memory)
            .collect();
        assert_eq!(subs.len(), 2, "the entry and the loop header: {subs:?}");
        for sub in subs {
            assert_eq!(sub.segment_prefix(), iced_x86::Register::GS);
            assert_eq!(sub.memory_base(), iced_x86::Register::None);
            assert_eq!(sub.memory_index(), iced_x86::Register::None);
            assert_eq!(sub.memory_displacement64(), 0x68);
        }
    }
}

#[test]
fn a_fuel_counter_out_of_reach_is_an_error() {
    let p = helper_loop();
    let mut opts = JitOptions::new(0x7f00_0000_0000);
    opts.helper_address = &|_| Some(0x7f00_0000_1000);
    opts.fuel = Some(crate::Fuel { counter: crate::FuelCounter::At(0x1000), exhausted: 0x7f00_0000_2000, helper_weight: &weight });
    let err = compile_program(&p, &one(&p), &opts).unwrap_err();
    assert_eq!(err, JitError::FuelOutOfReach { address: 0x1000 });
    assert!(err.to_string().contains("help:"));
}

#[test]
fn blinding_hides_the_charges() {
    // A helper whose weight the test chooses makes a chosen charge.
    let secret = 0x7ead_beef_u64 & 0x7fff_ffff;
    let weight = |_: u32| secret - 4;
    let p = helper_loop();
    let plan = Plan::new(&p, &weight);
    assert_eq!(plan.at(2), secret);
    let contains = |code: &[u8], pat: &[u8]| code.windows(pat.len()).any(|w| w == pat);
    let bytes = (secret as u32).to_le_bytes();
    let compile = |blinding: Option<u64>| {
        let mut opts = JitOptions::new(0x7f00_0000_0000);
        opts.helper_address = &|_| Some(0x7f00_0000_1000);
        opts.blinding = blinding;
        opts.fuel = Some(crate::Fuel { counter: crate::FuelCounter::At(0x7f00_0000_2000), exhausted: 0x7f00_0000_3000, helper_weight: &weight });
        compile_program(&p, &one(&p), &opts).expect("compiles")
    };
    assert!(contains(compile(None).code(), &bytes));
    for seed in 0..50 {
        let code = compile(Some(seed));
        assert!(!contains(code.code(), &bytes[..3]), "seed {seed}: three bytes of the charge");
    }
}
