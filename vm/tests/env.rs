//! Running programs in the environment a verifier profile describes.

use verifier::assemble;
use verifier::profile::{
    ArgKind, CtxField, CtxLayout, HelperSig, MapInfo, PortRange, Profile, RetKind,
};
use vm::{Config, LeakTarget, ProfileEnv, ViolationKind, Vm};

fn profile() -> Profile {
    let ctx = CtxLayout::new(24)
        .with_field(CtxField::value("flags", 0, 4))
        .with_field(CtxField::value("out", 4, 4).writable())
        .with_field(CtxField::buffer("buf", 8, 8))
        .with_field(CtxField::length("len", 16, 8, 2, 8));
    Profile::new()
        .with_ctx(ctx)
        .with_map(MapInfo::hash(4, 8, 16))
        .with_helper(HelperSig::new(
            1,
            "map_lookup",
            &[ArgKind::MapRef, ArgKind::MapKey],
            RetKind::MapValueOrNull,
        ))
        .with_helper(HelperSig::new(
            2,
            "map_update",
            &[
                ArgKind::MapRef,
                ArgKind::MapKey,
                ArgKind::MapValue,
                ArgKind::Scalar,
            ],
            RetKind::Scalar,
        ))
        .with_helper(HelperSig::new(
            7,
            "hash",
            &[ArgKind::MemRead, ArgKind::Len { allow_zero: false }],
            RetKind::Scalar,
        ))
        .with_helper(HelperSig::new(
            8,
            "inb",
            &[ArgKind::Port { width: 1 }],
            RetKind::Bounded { min: 0, max: 0xff },
        ))
        .with_helper(HelperSig::new(9, "tick", &[], RetKind::Void))
        .with_ports(PortRange {
            start: 0x60,
            count: 1,
        })
}

fn run(src: &str) -> Result<u64, (ViolationKind, usize)> {
    let p = assemble(src).unwrap_or_else(|e| panic!("{e}"));
    let profile = profile();
    let mut vm = Vm::new(&p, Config::checking());
    let ctx = ProfileEnv::random_context(&profile, 7);
    let mut env = ProfileEnv::install(&mut vm, &profile, ctx, 7).unwrap();
    vm.run(&mut env).map(|o| o.r0).map_err(|v| (v.kind, v.pc))
}

#[test]
fn context_fields_have_their_permissions() {
    assert!(run("r0 = *(u32 *)(r1 + 0)\nexit").is_ok());
    assert_eq!(
        run("*(u32 *)(r1 + 0) = 1\nr0 = 0\nexit"),
        Err((ViolationKind::NoWritePermission, 0))
    );
    assert!(run("*(u32 *)(r1 + 4) = 1\nr0 = 0\nexit").is_ok());
    assert!(run("r0 = *(u64 *)(r1 + 16)\nif r0 > 8 goto bad\nr0 = 0\nexit\nbad: r0 = *(u8 *)(r1 + 99)\nexit").is_ok());
}

#[test]
fn helpers_follow_their_signatures() {
    // A lookup after an update finds the value.
    let src = "
        *(u32 *)(r10 - 4) = 3
        *(u64 *)(r10 - 16) = 77
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
        if r0 == 0 goto out
        r0 = *(u64 *)(r0 + 0)
        exit
    out:
        exit";
    assert_eq!(run(src), Ok(77));
    // Memory to read must be initialised and hold no pointer.
    assert_eq!(
        run("r1 = r10\nr1 += -8\nr2 = 8\ncall 7\nexit"),
        Err((ViolationKind::UninitStack, 3))
    );
    let spilled = "*(u64 *)(r10 - 8) = r10\nr1 = r10\nr1 += -8\nr2 = 8\ncall 7\nexit";
    assert_eq!(
        run(spilled),
        Err((ViolationKind::PointerLeak(LeakTarget::HelperArgument), 4))
    );
    assert!(matches!(
        run("r1 = r10\nr1 += -8\nr2 = 0\ncall 7\nexit"),
        Err((ViolationKind::Helper { id: 7, .. }, 3))
    ));
    // Ports must be declared; results keep their bounds.
    assert!(
        run("r1 = 0x60\ncall 8\nif r0 > 255 goto +1\nexit\nr0 = *(u8 *)(r0 + 0)\nexit").is_ok()
    );
    assert!(matches!(
        run("r1 = 0x61\ncall 8\nexit"),
        Err((ViolationKind::Helper { id: 8, .. }, 1))
    ));
    assert!(matches!(
        run("call 99\nexit"),
        Err((ViolationKind::Helper { id: 99, .. }, 0))
    ));
}

/// A helper that writes memory and returns a scalar fails now and then,
/// as the kernel's do: its buffer zeroed (never the bytes it held before),
/// its result `-EFAULT`.
#[test]
fn a_failing_helper_zeroes_its_buffer() {
    let profile = profile().with_helper(HelperSig::new(
        10,
        "read_into",
        &[ArgKind::MemWrite, ArgKind::Len { allow_zero: false }],
        RetKind::Scalar,
    ));
    // r0: the 8 bytes after a failed call (77 was stored there before),
    // or 1 after a successful one (its result is a random number).
    let src = "
        *(u64 *)(r10 - 8) = 77
        r1 = r10
        r1 += -8
        r2 = 8
        call 10
        r6 = r0
        r0 = *(u64 *)(r10 - 8)
        if r6 == -14 goto out
        r0 = 1
        out: exit";
    let p = assemble(src).unwrap_or_else(|e| panic!("{e}"));
    let (mut failed, mut filled) = (0, 0);
    for seed in 1..64 {
        let mut vm = Vm::new(&p, Config::checking());
        let ctx = ProfileEnv::random_context(&profile, seed);
        let mut env = ProfileEnv::install(&mut vm, &profile, ctx, seed).unwrap();
        match vm.run(&mut env).map(|o| o.r0) {
            Ok(1) => filled += 1,
            Ok(r0) => {
                assert_eq!(
                    r0, 0,
                    "seed {seed}: the failed call left bytes in its buffer"
                );
                failed += 1;
            }
            Err(v) => panic!("seed {seed}: {v:?}"),
        }
    }
    assert!(failed > 0 && filled > 0, "{failed} failed, {filled} filled");
}

/// A per-CPU array gives the run its own CPU's value: the same program,
/// run as CPU 0 (seed 4) and as CPU 1 (seed 5), bumps a different value.
#[test]
fn per_cpu_array_lookups_reach_the_runs_cpu() {
    let profile = Profile::new()
        .with_map(MapInfo::per_cpu_array(8, 1))
        .with_helper(HelperSig::new(
            1,
            "map_lookup",
            &[ArgKind::MapRef, ArgKind::MapKey],
            RetKind::MapValueOrNull,
        ));
    let p = assemble(
        "r1 = map[0] ll
         *(u32 *)(r10 - 4) = 0
         r2 = r10
         r2 += -4
         call 1
         if r0 == 0 goto out
         r1 = 5
         *(u64 *)(r0 + 0) = r1
         out:
         r0 = 0
         exit",
    )
    .unwrap();
    for (seed, cpu) in [(4, 0usize), (5, 1)] {
        let mut vm = Vm::new(&p, Config::checking());
        let mut env = ProfileEnv::install(&mut vm, &profile, Vec::new(), seed).unwrap();
        assert_eq!(vm.memory().cpu(), cpu);
        vm.run(&mut env).unwrap();
        let values = vm.memory().map(0).unwrap().values().to_vec();
        let mut want = vec![0u8; 16];
        want[cpu * 8] = 5;
        assert_eq!(values, want, "run as CPU {cpu}");
    }
}
