//! The interpreter: results of small programs, and every kind of violation
//! the checking mode reports.

use verifier::{Reg, assemble};
use vm::helpers::{map_lookup, map_update, unknown_helper};
use vm::memory::{READ, WRITE};
use vm::{Config, Helpers, LeakTarget, Map, MapKind, Memory, NoHelpers, Value, ViolationKind, Vm};

/// Runs `src` in checking mode with an 8-byte context (bytes 0..4 read-only,
/// 4..8 read-write) in r1.
fn run(src: &str) -> Result<u64, (ViolationKind, usize)> {
    run_with(src, &mut NoHelpers)
}

fn run_with(src: &str, helpers: &mut dyn Helpers) -> Result<u64, (ViolationKind, usize)> {
    let p = assemble(src).unwrap_or_else(|e| panic!("{e}"));
    let mut vm = Vm::new(&p, Config::checking());
    let perms = [
        READ,
        READ,
        READ,
        READ,
        READ | WRITE,
        READ | WRITE,
        READ | WRITE,
        READ | WRITE,
    ];
    let ctx = vm
        .memory_mut()
        .add_context(vec![1, 2, 3, 4, 5, 6, 7, 8], &perms)
        .unwrap();
    vm.memory_mut()
        .add_map(Map::new(MapKind::Hash, 4, 8, 4).unwrap())
        .unwrap();
    vm.set_reg(Reg::R1, Value::pointer(ctx));
    vm.run(helpers).map(|o| o.r0).map_err(|v| (v.kind, v.pc))
}

#[test]
fn arithmetic_and_memory() {
    assert_eq!(run("r0 = *(u32 *)(r1 + 0)\nexit"), Ok(0x04030201));
    assert_eq!(
        run("*(u32 *)(r1 + 4) = -1\nr0 = *(u64 *)(r1 + 0)\nexit"),
        Ok(0xffff_ffff_0403_0201)
    );
    assert_eq!(run("r0 = -1\nw0 += 0\nexit"), Ok(0xffff_ffff));
    assert_eq!(run("r0 = 5\nr2 = 0\nr0 %= r2\nexit"), Ok(5));
    assert_eq!(run("r0 = -1\nw2 = 0\nw0 %= w2\nexit"), Ok(0xffff_ffff));
    assert_eq!(
        run("r0 = 0x8000000000000000 ll\nr0 s/= -1\nexit"),
        Ok(1 << 63)
    );
    assert_eq!(
        run(
            "r2 = 0x1122 ll\n*(u64 *)(r10 - 8) = r2\nr0 = 1\nr1 = r10\nr1 += -8\nr0 = atomic_fetch_add((u64 *)(r1 + 0), r0)\nr2 = *(u64 *)(r10 - 8)\nr2 -= r0\nr0 = r2\nexit"
        ),
        Ok(1)
    );
}

#[test]
fn local_calls_preserve_callee_saved_registers() {
    let src = "r6 = 6\nr1 = 1\ncall f\nr0 += r6\nexit\nf: r6 = 100\nr0 = r1\n*(u64 *)(r10 - 8) = r0\nr0 = *(u64 *)(r10 - 8)\nexit";
    assert_eq!(run(src), Ok(7));
}

#[test]
fn checking_mode_reports_violations() {
    assert_eq!(
        run("r0 = r2\nexit"),
        Err((ViolationKind::UninitRegister(Reg::R2), 0))
    );
    assert_eq!(
        run("exit"),
        Err((ViolationKind::UninitRegister(Reg::R0), 0))
    );
    assert_eq!(
        run("r0 = *(u64 *)(r10 - 8)\nexit"),
        Err((ViolationKind::UninitStack, 0))
    );
    assert_eq!(
        run("r0 = *(u8 *)(r1 + 8)\nexit"),
        Err((ViolationKind::OutOfRegion, 0))
    );
    assert_eq!(
        run("r0 = *(u8 *)(r10 + 0)\nexit"),
        Err((ViolationKind::OutOfRegion, 0))
    );
    assert_eq!(
        run("*(u8 *)(r1 + 0) = 1\nr0 = 0\nexit"),
        Err((ViolationKind::NoWritePermission, 0))
    );
    assert_eq!(
        run("r0 = r1\nexit"),
        Err((ViolationKind::PointerLeak(LeakTarget::Return), 1))
    );
    assert_eq!(
        run("*(u32 *)(r1 + 4) = r1\nexit"),
        Err((ViolationKind::PointerLeak(LeakTarget::Memory), 0))
    );
    assert_eq!(
        run("r2 = 0x1000\nr0 = *(u8 *)(r2 + 0)\nexit"),
        Err((ViolationKind::NotAPointer, 1))
    );
    assert_eq!(
        run("r10 = 0\nexit"),
        Err((ViolationKind::FramePointerWrite, 0))
    );
    assert_eq!(run("r0 = 0\nL: goto L"), Err((ViolationKind::StepLimit, 1)));
    assert_eq!(run("f: call f\nexit"), Err((ViolationKind::CallDepth, 0)));
    assert_eq!(run("r0 = 0"), Err((ViolationKind::BadPc, 1)));
    assert_eq!(
        run("goto +1\nr0 = 1 ll\nexit"),
        Err((ViolationKind::BadPc, 2))
    );
    assert!(matches!(
        run("call 9\nexit"),
        Err((ViolationKind::Helper { id: 9, .. }, 0))
    ));
    // A spilled pointer survives a round trip through the stack, and is still one.
    assert_eq!(
        run("*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nexit"),
        Err((ViolationKind::PointerLeak(LeakTarget::Return), 2))
    );
    // The difference of two pointers is a number.
    assert_eq!(run("r0 = r10\nr0 -= r10\nexit"), Ok(0));
    // A pointer into a returned frame no longer resolves.
    let dangling =
        "call f\nr0 = *(u64 *)(r0 + 0)\nexit\nf: r0 = r10\nr0 += -8\n*(u64 *)(r0 + 0) = r0\nexit";
    assert_eq!(run(dangling), Err((ViolationKind::OutOfRegion, 1)));
}

#[test]
fn plain_mode_starts_registers_at_zero() {
    let p = assemble("r0 += 1\nexit").unwrap();
    let mut vm = Vm::new(&p, Config::plain());
    assert_eq!(vm.run(&mut NoHelpers).map(|o| (o.r0, o.steps)), Ok((1, 2)));
}

struct MapHelpers;

impl Helpers for MapHelpers {
    fn call(&mut self, id: u32, a: [Value; 5], mem: &mut Memory) -> Result<Value, ViolationKind> {
        match id {
            1 => map_lookup(mem, a[0], a[1]),
            2 => map_update(mem, a[0], a[1], a[2], a[3]),
            _ => Err(unknown_helper(id)),
        }
    }
}

#[test]
fn map_helpers_through_the_interpreter() {
    let src = "
        *(u32 *)(r10 - 4) = 7        ; key
        *(u64 *)(r10 - 16) = 42      ; value
        r1 = map[0] ll
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 0
        call 2
        r1 = map[0] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto miss
        r0 = *(u64 *)(r0 + 0)
        exit
    miss:
        r0 = 99
        exit";
    assert_eq!(run_with(src, &mut MapHelpers), Ok(42));
    // Reading past the value found is out of bounds.
    let past = "*(u32 *)(r10 - 4) = 7\n*(u64 *)(r10 - 16) = 1\nr1 = map[0] ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\ncall 2\nr1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\nr0 = *(u64 *)(r0 + 4)\nexit";
    assert_eq!(
        run_with(past, &mut MapHelpers),
        Err((ViolationKind::OutOfRegion, 15))
    );
    // A key with uninitialised bytes is refused.
    let uninit = "r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\nr0 = 0\nexit";
    assert_eq!(
        run_with(uninit, &mut MapHelpers),
        Err((ViolationKind::UninitStack, 4))
    );
}

#[test]
fn frame_sizes_bound_each_function_and_the_chain() {
    let src = "*(u64 *)(r10 - 16) = 1\ncall f\nexit\nf: *(u64 *)(r10 - 8) = 2\nr0 = *(u64 *)(r10 - 8)\nexit";
    let p = assemble(src).unwrap();
    let run = |sizes: &[(usize, usize)], total: usize| {
        let mut vm = Vm::new(
            &p,
            Config {
                max_total_stack: total,
                ..Config::checking()
            },
        );
        for &(start, bytes) in sizes {
            vm.set_frame_size(start, bytes);
        }
        vm.run(&mut NoHelpers)
            .map(|o| o.r0)
            .map_err(|v| (v.kind, v.pc))
    };
    assert_eq!(run(&[(0, 16), (3, 8)], 24), Ok(2));
    assert_eq!(
        run(&[(0, 8), (3, 8)], 24),
        Err((ViolationKind::OutOfRegion, 0))
    );
    assert_eq!(
        run(&[(0, 16), (3, 4)], 24),
        Err((ViolationKind::OutOfRegion, 3))
    );
    assert_eq!(
        run(&[(0, 16), (3, 16)], 24),
        Err((ViolationKind::StackLimit, 1))
    );
}

/// Runs `src` metered with `budget` (helper 1 weighs 100, and returns 0);
/// the result, or where it stopped, and the fuel left.
fn run_metered(src: &str, budget: u64) -> (Result<u64, (ViolationKind, usize)>, Option<u64>) {
    struct Zero;
    impl Helpers for Zero {
        fn call(&mut self, _: u32, _: [Value; 5], _: &mut Memory) -> Result<Value, ViolationKind> {
            Ok(Value::scalar(0))
        }
    }
    let p = assemble(src).unwrap_or_else(|e| panic!("{e}"));
    let mut vm = Vm::new(&p, Config::plain());
    vm.meter(vm::fuel::Plan::new(p.insns(), &|_| 100), budget);
    let r = vm.run(&mut Zero).map(|o| o.r0).map_err(|v| (v.kind, v.pc));
    (r, vm.fuel_left())
}

const HELPER_LOOP: &str = "r6 = 1000\nL: call 1\nr6 -= 1\nif r6 != 0 goto L\nr0 = 7\nexit";

#[test]
fn a_metered_loop_of_helper_calls_stops_at_its_header() {
    // Entry: r6 = 1000 (1), one round (102), r0 = 7 and exit (2) = 105; and
    // every arrival at the header L (slot 1), the first included, 102.
    let (r, left) = run_metered(HELPER_LOOP, 105 + 3 * 102 + 50);
    assert_eq!(r, Err((ViolationKind::OutOfFuel, 1)));
    assert_eq!(left, Some(50), "the charge that cannot be paid is not taken");
}

#[test]
fn a_metered_run_within_its_budget_ends_normally() {
    let (r, left) = run_metered(HELPER_LOOP, 105 + 1000 * 102 + 1);
    assert_eq!(r, Ok(7));
    assert_eq!(left, Some(1));
    let (r, _) = run_metered("r0 = 1\nexit", 1);
    assert_eq!(r, Err((ViolationKind::OutOfFuel, 0)), "the entry charge comes first");
}

/// Runs `src` in checking mode with `config`'s limits and the frame sizes
/// given (slot of a function's first instruction, bytes).
fn run_config(src: &str, config: Config, frames: &[(usize, usize)]) -> Result<u64, (ViolationKind, usize)> {
    let p = assemble(src).unwrap_or_else(|e| panic!("{e}"));
    let mut vm = Vm::new(&p, config);
    for &(start, bytes) in frames {
        vm.set_frame_size(start, bytes);
    }
    vm.run(&mut NoHelpers).map(|o| o.r0).map_err(|v| (v.kind, v.pc))
}

#[test]
fn limits_admit_a_run_that_reaches_them_exactly() {
    // `r0 = 0`, three rounds of `r0 += 1` and the jump, and `exit`: 8 steps.
    let src = "r0 = 0\nL: r0 += 1\nif r0 < 3 goto L\nexit";
    let steps = |max_steps| run_config(src, Config { max_steps, ..Config::checking() }, &[]);
    assert_eq!(steps(8), Ok(3));
    assert_eq!(steps(7), Err((ViolationKind::StepLimit, 3)));
    // The entry frame alone, at and over the limit of the whole chain.
    let stack = |bytes| run_config("r0 = 0\nexit", Config { max_total_stack: 64, ..Config::checking() }, &[(0, bytes)]);
    assert_eq!(stack(64), Ok(0));
    assert_eq!(stack(72), Err((ViolationKind::StackLimit, 0)));
}

#[test]
fn a_returning_call_gives_its_stack_back() {
    // Entry 16 bytes, f 8 and g 16, at most 24 in all: f fits twice in a
    // row (its frame is given back when it returns), g never does.
    let config = Config { max_total_stack: 24, ..Config::checking() };
    let twice = "call f\ncall f\nr0 = 0\nexit\nf: r0 = 0\nexit";
    assert_eq!(run_config(twice, config, &[(0, 16), (4, 8)]), Ok(0));
    let then_g = "call f\ncall g\nr0 = 0\nexit\nf: r0 = 0\nexit\ng: r0 = 0\nexit";
    assert_eq!(run_config(then_g, config, &[(0, 16), (4, 8), (6, 16)]), Err((ViolationKind::StackLimit, 1)));
}

#[test]
fn a_call_leaves_the_argument_registers_unset() {
    assert_eq!(run("r1 = 1\ncall f\nr0 = r1\nexit\nf: r0 = 0\nexit"), Err((ViolationKind::UninitRegister(Reg::R1), 2)));
    assert_eq!(run("r5 = 1\ncall f\nr0 = r5\nexit\nf: r0 = 0\nexit"), Err((ViolationKind::UninitRegister(Reg::R5), 2)));
}

#[test]
fn arithmetic_on_a_pointer_keeps_it_a_pointer() {
    let leak = Err((ViolationKind::PointerLeak(LeakTarget::Return), 2));
    assert_eq!(run("r0 = r10\nr0 -= 8\nexit"), leak);
    assert_eq!(run("r0 = 8\nr0 -= r10\nexit"), leak);
    assert_eq!(run("r0 = r10\nr0 += 8\nexit"), leak);
    // Only the 64-bit difference of two pointers is a plain number.
    assert_eq!(run("w0 = w10\nw0 -= w10\nexit"), leak);
    assert_eq!(run("r0 = r10\nr0 -= r10\nexit"), Ok(0));
}

#[test]
fn an_atomic_operation_on_a_stored_pointer_keeps_it_a_pointer() {
    for op in ["+=", "|=", "&=", "^="] {
        let src = format!("*(u64 *)(r10 - 8) = r10\nr1 = 0\nlock *(u64 *)(r10 - 8) {op} r1\nr0 = *(u64 *)(r10 - 8)\nexit");
        assert_eq!(run(&src), Err((ViolationKind::PointerLeak(LeakTarget::Return), 4)), "{op}");
    }
    // And the operations compute what they say, on overlapping bits too.
    for (op, want) in [("+=", 0b1100 + 0b1010), ("|=", 0b1110), ("&=", 0b1000), ("^=", 0b0110)] {
        let src = format!("r2 = 12\n*(u64 *)(r10 - 8) = r2\nr1 = 10\nlock *(u64 *)(r10 - 8) {op} r1\nr0 = *(u64 *)(r10 - 8)\nexit");
        assert_eq!(run(&src), Ok(want), "{op}");
    }
}

#[test]
fn a_pointer_into_an_earlier_call_frame_does_not_resolve_in_a_later_one() {
    // Four calls at the same depth reuse one frame: g, then f, which leaves
    // a pointer to its own frame in the entry's stack, g again, and h. h's
    // own stack works, and f's pointer, of two calls before, does not
    // resolve there.
    let src = "
        call g
        r1 = r10
        r1 += -8
        call f
        call g
        r1 = r10
        r1 += -8
        call h
        exit
    f:  r2 = r10
        r2 += -8
        *(u64 *)(r2 + 0) = r2
        *(u64 *)(r1 + 0) = r2
        exit
    g:  r0 = 0
        exit
    h:  *(u64 *)(r10 - 16) = 7
        r0 = *(u64 *)(r10 - 16)
        r2 = *(u64 *)(r1 + 0)
        r0 = *(u64 *)(r2 + 0)
        exit";
    assert_eq!(run(src), Err((ViolationKind::OutOfRegion, 19)));
}

#[test]
fn memory_refuses_more_regions_or_a_larger_one_than_an_address_holds() {
    let mut mem = Memory::new(true);
    for _ in 0..4096 {
        mem.add_buffer(vec![0; 8], false).unwrap();
    }
    assert!(mem.add_buffer(vec![0; 8], false).is_err(), "a region past the 4096th");
    // Offsets have 32 bits: a region of 2^32 - 1 bytes fits, one more does
    // not. (Zeroed memory is not touched, so this costs no real memory.)
    let mut mem = Memory::new(true);
    assert!(mem.add_buffer(vec![0; u32::MAX as usize], false).is_ok());
    let mut mem = Memory::new(true);
    assert!(mem.add_buffer(vec![0; u32::MAX as usize + 1], false).is_err());
}

#[test]
fn an_access_stays_within_one_map_value() {
    let mut mem = Memory::new(true);
    mem.add_map(Map::new(MapKind::Array, 4, 8, 2).unwrap()).unwrap();
    let first = mem.map_value_addr(0, 0).unwrap();
    assert_eq!(mem.check_helper_read(first, 8), Ok(()));
    assert_eq!(mem.check_helper_read(first, 0), Ok(()), "nothing at the start of a value");
    assert_eq!(mem.check_helper_read(first + 8, 8), Ok(()), "the second value");
    assert_eq!(mem.check_helper_read(first + 4, 8), Err(ViolationKind::OutOfRegion), "across two values");
}

#[test]
fn a_helper_may_write_only_writable_bytes() {
    let mut mem = Memory::new(true);
    let ctx = mem.add_context(vec![0; 8], &[READ, READ, READ, READ, READ | WRITE, READ | WRITE, READ | WRITE, READ | WRITE]).unwrap();
    assert_eq!(mem.check_helper_write(ctx + 4, 4), Ok(()));
    assert_eq!(mem.check_helper_write(ctx + 2, 4), Err(ViolationKind::NoWritePermission));
    let rodata = mem.add_buffer(vec![0; 8], false).unwrap();
    assert_eq!(mem.check_helper_write(rodata, 1), Err(ViolationKind::NoWritePermission));
}

#[test]
fn a_violation_says_what_where_and_which_bytes() {
    let p = assemble("r0 = 0\nr1 = 0x1000\nr0 = *(u32 *)(r1 + 0)\nexit").unwrap();
    let v = Vm::new(&p, Config::checking()).run(&mut NoHelpers).unwrap_err();
    assert_eq!(v.to_string(), "error: memory access through a number, not a pointer\n --> instruction 2");
    let past = vm::Violation::at(ViolationKind::OutOfRegion, 7, 0x5a00_0000_0000_0010, 8);
    assert_eq!(past.to_string(), "error: access outside every allowed memory region\n --> instruction 7, 8 bytes at 0x5a00000000000010");
    assert_eq!(ViolationKind::UninitRegister(Reg::R3).to_string(), "read of uninitialised register r3");
}
