//! Every allocation of the analysis is fallible: with a global allocator
//! that refuses every request from the n-th on, verifying a program either
//! succeeds or fails with `out-of-memory`, for every n, and never aborts
//! (an infallible allocation that fails aborts this test process).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use verifier::{
    ArgKind, CtxField, CtxLayout, DecodeErrorKind, ErrorKind, HelperSig, MapInfo, Profile, RetKind, assemble, decode,
    encode, verify,
};

/// Passes requests to the system allocator, except on a thread whose
/// budget of allocations is used up.
struct Failing;

thread_local! {
    /// Allocations this thread may still make; negative: no limit.
    static LEFT: Cell<i64> = const { Cell::new(-1) };
    /// Allocations this thread made (counted while `LEFT` is not negative).
    static MADE: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every request is forwarded unchanged to `System` or refused with
// a null pointer, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let left = LEFT.with(Cell::get);
        if left == 0 {
            return std::ptr::null_mut();
        }
        if left > 0 {
            LEFT.with(|l| l.set(left - 1));
            MADE.with(|m| m.set(m.get() + 1));
        }
        // SAFETY: the caller's layout is passed on as it came.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: every block came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Failing = Failing;

/// Runs `f` allowed `n` allocations; returns what it returned and how many
/// it made.
fn with_allocations<R>(n: i64, f: impl FnOnce() -> R) -> (R, u64) {
    MADE.with(|m| m.set(0));
    LEFT.with(|l| l.set(n));
    let r = f();
    LEFT.with(|l| l.set(-1));
    (r, MADE.with(Cell::get))
}

fn profile() -> Profile {
    Profile::new()
        .with_ctx(CtxLayout::new(16).with_field(CtxField::value("a", 0, 8)).with_field(CtxField::value("b", 8, 8)))
        .with_map(MapInfo::array(16, 4))
        .with_helper(HelperSig::new(6, "map_lookup", &[ArgKind::MapRef, ArgKind::MapKey], RetKind::MapValueOrNull))
}

/// Forks, a loop whose rounds differ, stack of several sizes, a local
/// call, a map lookup with its null check: each kind of copy the analysis
/// makes.
const PROGRAM: &str = "
    r6 = r1
    r7 = 0
    *(u64 *)(r10 - 64) = 0
loop:
    r0 = *(u64 *)(r6 + 0)
    if r0 > 5 goto a
    *(u64 *)(r10 - 16) = r0
a:
    if r0 > 7 goto b
    *(u64 *)(r10 - 24) = r7
b:
    r1 = r7
    call local f
    r7 += 1
    if r7 < 5 goto loop
    r1 = map[0] ll
    *(u32 *)(r10 - 4) = 0
    r2 = r10
    r2 += -4
    call 6
    if r0 == 0 goto out
    r0 = *(u64 *)(r0 + 0)
out:
    r0 = 0
    exit
f:
    *(u64 *)(r10 - 200) = r1
    if r1 > 3 goto g
    r0 = 1
    exit
g:
    r0 = 2
    exit
";

#[test]
fn running_out_of_memory_anywhere_refuses_and_never_aborts() {
    let program = assemble(PROGRAM).unwrap();
    let bytes = encode(&program);
    let profile = profile();
    let run = || decode(&bytes).map_err(|e| Err(e.kind)).and_then(|p| verify(&p, &profile).map(drop).map_err(Ok));
    let (result, total) = with_allocations(i64::MAX, run);
    assert_eq!(result, Ok(()), "the program verifies with memory to spare");
    assert!(total > 50, "only {total} allocations: the program does not exercise the analysis");
    eprintln!("{total} allocations, each made to fail in turn");
    for n in 0..total {
        let (result, _) = with_allocations(n as i64, run);
        match result {
            Err(Ok(r)) => {
                assert_eq!(r.kind, ErrorKind::OutOfMemory, "allocation {n} of {total} failed: {r}");
                let text = r.to_string();
                assert!(text.starts_with("error[out-of-memory]: the verifier ran out of memory"), "{text}");
                assert!(text.contains("= help: "), "{text}");
            }
            Err(Err(kind)) => assert!(matches!(kind, DecodeErrorKind::OutOfMemory { .. }), "allocation {n}: {kind:?}"),
            Ok(()) => panic!("allocation {n} of {total} failed, yet the program verified"),
        }
    }
}
