//! The programs the verifier benchmark measures, shared by the criterion
//! benchmark (`benches/verify.rs`) and the CPU-time example
//! (`examples/verify_speed.rs`).

use verifier::{assemble, CtxField, CtxLayout, Profile, Program};

/// A 64-byte context: two values and a 48-byte buffer.
pub fn profile() -> Profile {
    Profile::new().with_ctx(
        CtxLayout::new(64)
            .with_field(CtxField::value("a", 0, 8))
            .with_field(CtxField::value("b", 8, 8).writable())
            .with_field(CtxField::buffer("data", 16, 48)),
    )
}

/// 4,096 slots of straight-line code: context loads, ALU, stack spills and fills.
pub fn straight_line() -> Program {
    let mut src = String::from("r6 = r1\nr0 = 0\n");
    let body = [
        "r2 = *(u64 *)(r6 + 0)",
        "r2 &= 0xff",
        "r0 += r2",
        "*(u64 *)(r10 - 8) = r0",
        "r3 = *(u64 *)(r10 - 8)",
        "w3 += 7",
        "r0 ^= r3",
        "r4 = *(u32 *)(r6 + 8)",
    ];
    for k in 0..4093 {
        src.push_str(body[k % body.len()]);
        src.push('\n');
    }
    src.push_str("exit\n");
    assemble(&src).expect("benchmark program assembles")
}

/// Three nested bounded loops (8 x 8 x 8) with a buffer access inside.
pub fn nested_loops() -> Program {
    assemble(
        "r0 = 0
         r2 = 0
         outer:
         r3 = 0
         middle:
         r4 = 0
         inner:
         r5 = r1
         r5 += r4
         r7 = *(u8 *)(r5 + 16)
         r0 += r7
         r4 += 1
         if r4 < 8 goto inner
         r3 += 1
         if r3 < 8 goto middle
         r2 += 1
         if r2 < 8 goto outer
         exit",
    )
    .expect("benchmark program assembles")
}

/// A loop the verifier cannot prove bounded: it stops at the limit of
/// 1,000,000 processed instructions.
pub fn complexity_limit() -> Program {
    assemble(
        "r0 = 0
         loop:
         r0 += 1
         r2 = r0
         r2 &= 7
         if r0 != 0 goto loop
         exit",
    )
    .expect("benchmark program assembles")
}

/// The benchmark programs by name, with whether the verifier accepts them.
pub fn all() -> [(&'static str, Program, bool); 3] {
    [
        ("straight_line_4096", straight_line(), true),
        ("nested_loops", nested_loops(), true),
        ("complexity_limit", complexity_limit(), false),
    ]
}
