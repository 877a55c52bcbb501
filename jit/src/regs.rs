//! Which x86-64 register holds which BPF register.
//!
//! | BPF | x86 | why |
//! |-----|-----|-----|
//! | r0  | rax | return value in both conventions |
//! | r1-r5 | rdi, rsi, rdx, rcx, r8 | the System V argument registers, so helper and local calls pass arguments in place |
//! | r6-r9 | rbx, r13, r14, r15 | callee-saved in System V, so they survive helper calls |
//! | r10 | rbp | the frame pointer; callee-saved |
//!
//! `r10`, `r11` and `r9` of x86 are the JIT's own scratch registers
//! ([`AUX`], [`TMP`], [`AUX2`]): all caller-saved, and no BPF register lives
//! in them. `r12` ([`KEY`]) holds a function's blinding key when constant
//! blinding is on.

use crate::x86::R;
use verifier::Reg;

/// Scratch register for immediates (blinded constants, the saved `rax`
/// of fetching atomics).
pub const AUX: R = R::R10;
/// Scratch register for divisors, shift temporaries and far calls.
pub const TMP: R = R::R11;
/// Scratch register keeping rdx (BPF r3) during a division.
pub const AUX2: R = R::R9;
/// With constant blinding, a function's random key (callee-saved, so it
/// survives helper calls; saved by the functions that set it).
pub const KEY: R = R::R12;

/// The x86 register holding BPF register `r`.
pub fn x86(r: Reg) -> R {
    match r.index() {
        0 => R::Rax,
        1 => R::Rdi,
        2 => R::Rsi,
        3 => R::Rdx,
        4 => R::Rcx,
        5 => R::R8,
        6 => R::Rbx,
        7 => R::R13,
        8 => R::R14,
        9 => R::R15,
        _ => R::Rbp,
    }
}
