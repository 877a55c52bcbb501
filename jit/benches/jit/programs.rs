//! The benchmark programs: each as Warden assembly, its input memory and
//! the same algorithm in native Rust. Programs receive the memory in r1 and
//! its length in r2, and may call helper 5, which returns its first
//! argument.
//!
//! The native baselines are built the fair way: optimised like the rest of
//! the benchmark (`cargo bench`, the release profile), their inputs opaque
//! to the compiler (the memory is `black_box`ed by the caller, loop bounds
//! here, once before the loop; the result after it), and no memory barrier
//! inside the loop. What they may not do is what the bytecode cannot:
//! vectorise the loop, or replace it by a closed form. Where LLVM would
//! (the sums, the copy, the branch ladder, the inlined call chain), a value
//! of each round goes through [`in_register`]: an `asm!` block holding
//! only a comment, which costs no
//! instruction, keeps the value in a register (no store and reload, unlike
//! `black_box`) and is opaque to LLVM, so the loop stays a scalar loop that
//! LLVM still unrolls, schedules, strength-reduces and rewrites (the
//! ladder's sixteen cases become `2 * (i & 15) + 3`). Which value goes
//! through it is chosen so that LLVM adds no instruction to the loop,
//! checked in the disassembly (`objdump -d` of the benchmark binary): with
//! the accumulator, LLVM added a `mov` to byte_sum_4k's loop-carried chain
//! (two cycles a byte instead of one), so there the byte goes through it. Loops LLVM cannot vectorise anyway (an early exit, a
//! serial multiply chain, calls through a pointer) are plain Rust.
//!
//! Used by the criterion benchmarks (`jit/benches/jit/main.rs`), which check
//! that every engine computes the native answer before timing anything.

use std::hint::black_box;

/// One benchmark program.
pub struct BenchProgram {
    pub name: &'static str,
    /// Warden assembly (LLVM syntax).
    pub asm: fn() -> String,
    /// The input memory.
    pub mem: fn() -> Vec<u8>,
    /// The algorithm in native Rust, scalar (see the module comment).
    pub native: fn(&mut [u8]) -> u64,
}

/// `x`, unchanged, through an `asm!` block (a comment) that LLVM cannot see
/// into: a loop that passes each round's value through it can be neither
/// vectorised nor folded into a closed form, and pays no instruction for
/// it (the value stays in its register; `black_box` would store and
/// reload it).
#[inline(always)]
fn in_register(mut x: u64) -> u64 {
    // SAFETY: the assembly is a comment: it touches no memory, no stack and no
    // flags, and leaves `x`'s register as it was.
    unsafe { std::arch::asm!("/* {0} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags)) };
    x
}

/// Helper 5 of the benchmark and test profiles: returns its first argument.
pub extern "C" fn helper_identity(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    black_box(a)
}

const KIB4: usize = 4096;
const KIB64: usize = 65536;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn no_mem() -> Vec<u8> {
    vec![0; 8]
}

// ---- integer loop sum ----------------------------------------------------------

const SUM_N: u64 = 10_000;

fn sum_asm() -> String {
    format!(
        "r0 = 0
         r2 = 0
      loop:
         r0 += r2
         r2 += 1
         if r2 < {SUM_N} goto loop
         exit"
    )
}
fn sum_native(_: &mut [u8]) -> u64 {
    sum_to(black_box(SUM_N))
}
fn sum_to(n: u64) -> u64 {
    let mut acc = 0;
    for i in 0..n {
        // Here the accumulator goes through `in_register`: through `i`,
        // LLVM copied the induction variable each round.
        acc = in_register(acc + i);
    }
    acc
}

// ---- byte sum over 4 KiB --------------------------------------------------------

fn bytesum_asm() -> String {
    format!(
        "r0 = 0
         r3 = {KIB4}
      loop:
         r5 = *(u8 *)(r1 + 0)
         r0 += r5
         r1 += 1
         r3 -= 1
         if r3 != 0 goto loop
         exit"
    )
}
fn bytesum_native(m: &mut [u8]) -> u64 {
    m[..KIB4].iter().fold(0, |acc, &b| acc + in_register(b as u64))
}

// ---- FNV-1a over 4 KiB ----------------------------------------------------------

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv_asm() -> String {
    format!(
        "r0 = {FNV_OFFSET:#x} ll
         r4 = {FNV_PRIME:#x} ll
         r3 = {KIB4}
      loop:
         r5 = *(u8 *)(r1 + 0)
         r0 ^= r5
         r0 *= r4
         r1 += 1
         r3 -= 1
         if r3 != 0 goto loop
         exit"
    )
}
fn fnv_native(m: &mut [u8]) -> u64 {
    m[..KIB4].iter().fold(FNV_OFFSET, |h, &b| (h ^ b as u64).wrapping_mul(FNV_PRIME))
}

// ---- log2 by binary search -------------------------------------------------------

const LOG2_N: u64 = 64;
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

fn log2_asm() -> String {
    let mut s = format!(
        "r0 = 0
         r6 = 0
         r7 = {GOLDEN:#x} ll
      outer:
         r1 = r6
         r1 *= r7
         r1 |= 1
         r2 = 0
"
    );
    for bits in [32, 16, 8, 4, 2, 1] {
        s += &format!(
            "    r3 = r1
                 r3 >>= {bits}
                 if r3 == 0 goto skip{bits}
                 r1 = r3
                 r2 += {bits}
              skip{bits}:
"
        );
    }
    s += &format!(
        "    r0 += r2
             r6 += 1
             if r6 < {LOG2_N} goto outer
             exit"
    );
    s
}
fn log2_search(mut x: u64) -> u64 {
    let mut r = 0;
    for bits in [32, 16, 8, 4, 2, 1] {
        if x >> bits != 0 {
            x >>= bits;
            r += bits;
        }
    }
    r
}
fn log2_native(_: &mut [u8]) -> u64 {
    (0..black_box(LOG2_N)).fold(0, |acc, i| acc + in_register(log2_search(i.wrapping_mul(GOLDEN) | 1)))
}

// ---- prime test by trial division ------------------------------------------------

const PRIME: u64 = 999_983;

fn prime_mem() -> Vec<u8> {
    PRIME.to_le_bytes().to_vec()
}
fn prime_asm() -> String {
    "r6 = *(u64 *)(r1 + 0)
     r0 = 0
     r7 = 3
  loop:
     r3 = r6
     r3 %= r7
     if r3 == 0 goto done
     r7 += 2
     if r7 < 1001 goto loop
     r0 = 1
  done:
     exit"
        .into()
}
fn prime_native(m: &mut [u8]) -> u64 {
    let n = u64::from_le_bytes(m[..8].try_into().unwrap_or_default());
    (!(3..1001).step_by(2).any(|d| n % d == 0)) as u64
}

// ---- memcpy of 64 KiB by u64 words -----------------------------------------------

fn memcpy_mem() -> Vec<u8> {
    let mut m = pattern(2 * KIB64);
    m[KIB64..].fill(0);
    m
}
fn memcpy_asm() -> String {
    format!(
        "r3 = r1
         r3 += {KIB64}
         r4 = {}
      loop:
         r5 = *(u64 *)(r1 + 0)
         *(u64 *)(r3 + 0) = r5
         r1 += 8
         r3 += 8
         r4 -= 1
         if r4 != 0 goto loop
         r0 = r5
         exit",
        KIB64 / 8
    )
}
fn memcpy_native(m: &mut [u8]) -> u64 {
    let (src, dst) = m.split_at_mut(KIB64);
    let mut last = 0;
    for (s, d) in src.chunks_exact(8).zip(dst.chunks_exact_mut(8)) {
        last = in_register(u64::from_le_bytes(s.try_into().unwrap_or_default()));
        d.copy_from_slice(&last.to_le_bytes());
    }
    last
}

// ---- byte-wise strcmp of equal 64 KiB strings --------------------------------------

fn strcmp_mem() -> Vec<u8> {
    let s: Vec<u8> = (0..KIB64).map(|i| if i == KIB64 - 1 { 0 } else { (i % 255 + 1) as u8 }).collect();
    [s.clone(), s].concat()
}
fn strcmp_asm() -> String {
    // The loop continues through taken jumps and leaves by falling
    // through, so the verifier's depth-first search finishes each exit path
    // at once instead of queueing one per byte.
    format!(
        "r3 = r1
         r3 += {KIB64}
         r4 = {KIB64}
      loop:
         r5 = *(u8 *)(r1 + 0)
         r6 = *(u8 *)(r3 + 0)
         if r5 == r6 goto same
         r0 = r5
         r0 -= r6
         exit
      same:
         if r5 != 0 goto next
         r0 = 0
         exit
      next:
         r1 += 1
         r3 += 1
         r4 -= 1
         if r4 != 0 goto loop
         r0 = 0
         exit"
    )
}
fn strcmp_native(m: &mut [u8]) -> u64 {
    let (a, b) = m.split_at(KIB64);
    for (&x, &y) in a.iter().zip(b) {
        if x != y {
            return (x as u64).wrapping_sub(y as u64);
        }
        if x == 0 {
            return 0;
        }
    }
    0
}

// ---- a switch-like branch ladder ----------------------------------------------------

const LADDER_N: u64 = 1000;

fn ladder_asm() -> String {
    let mut s = String::from("r0 = 0\n r6 = 0\nloop:\n r1 = r6\n r1 &= 15\n");
    for k in 0..15 {
        s += &format!(" if r1 == {k} goto case{k}\n");
    }
    s += " r0 += 33\n goto next\n";
    for k in 0..15 {
        s += &format!("case{k}:\n r0 += {}\n goto next\n", 2 * k + 3);
    }
    s += &format!("next:\n r6 += 1\n if r6 < {LADDER_N} goto loop\n exit\n");
    s
}
fn ladder_case(x: u64) -> u64 {
    match x {
        0 => 3,
        1 => 5,
        2 => 7,
        3 => 9,
        4 => 11,
        5 => 13,
        6 => 15,
        7 => 17,
        8 => 19,
        9 => 21,
        10 => 23,
        11 => 25,
        12 => 27,
        13 => 29,
        14 => 31,
        _ => 33,
    }
}
fn ladder_native(_: &mut [u8]) -> u64 {
    (0..black_box(LADDER_N)).fold(0, |acc, i| acc + in_register(ladder_case(i & 15)))
}

// ---- a helper-call-heavy loop, and the same loop without the call ------------------

const CALLS_N: u64 = 1000;

fn helper_asm() -> String {
    format!(
        "r6 = 0
         r7 = 0
      loop:
         r1 = r7
         call 5
         r6 += r0
         r7 += 1
         if r7 < {CALLS_N} goto loop
         r0 = r6
         exit"
    )
}
fn helper_base_asm() -> String {
    format!(
        "r6 = 0
         r7 = 0
      loop:
         r1 = r7
         r0 = r1
         r6 += r0
         r7 += 1
         if r7 < {CALLS_N} goto loop
         r0 = r6
         exit"
    )
}
fn helper_native(_: &mut [u8]) -> u64 {
    let f: extern "C" fn(u64, u64, u64, u64, u64) -> u64 = black_box(helper_identity);
    (0..CALLS_N).map(|i| f(i, 0, 0, 0, 0)).sum()
}
fn helper_base_native(_: &mut [u8]) -> u64 {
    sum_to(black_box(CALLS_N))
}

// ---- local calls: a chain of six nested calls per iteration ------------------------
// (The verifier refuses recursion, as Linux's does; a fixed-depth chain is
// the recursion unrolled.)

const CHAIN_N: u64 = 1000;

fn chain_asm() -> String {
    let mut s = format!(
        "r6 = 0
         r7 = 0
      loop:
         r1 = r7
         call f1
         r6 += r0
         r7 += 1
         if r7 < {CHAIN_N} goto loop
         r0 = r6
         exit
"
    );
    for k in 1..6 {
        s += &format!("f{k}:\n r1 += 1\n call f{}\n r0 += 1\n exit\n", k + 1);
    }
    s += "f6:\n r0 = r1\n r0 *= 3\n exit\n";
    s
}
// Six functions, as in the bytecode. LLVM inlines them, as the JIT does
// (docs/jit.md); each result goes through `in_register` so that the
// inlined chain, a linear function of `i`, is not summed in closed form.
macro_rules! chain_link {
    ($name:ident, $next:ident) => {
        fn $name(x: u64) -> u64 {
            $next(x + 1) + 1
        }
    };
}
chain_link!(chain_f1, chain_f2);
chain_link!(chain_f2, chain_f3);
chain_link!(chain_f3, chain_f4);
chain_link!(chain_f4, chain_f5);
chain_link!(chain_f5, chain_f6);
fn chain_f6(x: u64) -> u64 {
    x.wrapping_mul(3)
}
fn chain_native(_: &mut [u8]) -> u64 {
    (0..black_box(CHAIN_N)).fold(0, |acc, i| acc + in_register(chain_f1(i)))
}

/// Every benchmark program.
pub fn all() -> Vec<BenchProgram> {
    vec![
        BenchProgram { name: "loop_sum", asm: sum_asm, mem: no_mem, native: sum_native },
        BenchProgram { name: "byte_sum_4k", asm: bytesum_asm, mem: || pattern(KIB4), native: bytesum_native },
        BenchProgram { name: "fnv1a_4k", asm: fnv_asm, mem: || pattern(KIB4), native: fnv_native },
        BenchProgram { name: "log2_search", asm: log2_asm, mem: no_mem, native: log2_native },
        BenchProgram { name: "prime_trial", asm: prime_asm, mem: prime_mem, native: prime_native },
        BenchProgram { name: "memcpy_64k", asm: memcpy_asm, mem: memcpy_mem, native: memcpy_native },
        BenchProgram { name: "strcmp_64k", asm: strcmp_asm, mem: strcmp_mem, native: strcmp_native },
        BenchProgram { name: "branch_ladder", asm: ladder_asm, mem: no_mem, native: ladder_native },
        BenchProgram { name: "helper_calls", asm: helper_asm, mem: no_mem, native: helper_native },
        BenchProgram { name: "helper_calls_baseline", asm: helper_base_asm, mem: no_mem, native: helper_base_native },
        BenchProgram { name: "local_call_chain", asm: chain_asm, mem: no_mem, native: chain_native },
    ]
}
