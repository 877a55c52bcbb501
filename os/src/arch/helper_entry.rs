//! Helper entry stubs: where module code's `call` to a helper lands.
//!
//! Each stub notes the caller's stack pointer (the bottom of the calling
//! BPF frame: the JIT reserves every frame with `sub rsp`, so at a helper
//! call `rsp` is at the frame's lowest byte and the return address just
//! below it) and jumps on to the helper. A helper then knows where module
//! code's frames end and its own begin: [`caller_stack_pointer`] up to the
//! return address into the kernel ([`super::jit::module_return_slot`]) is
//! module code's, everything below is the helpers' own frames.
//!
//! Stubs clobber only `r11`, which System V lets a callee clobber; the
//! arguments in `rdi`, `rsi`, `rdx`, `rcx`, `r8` pass through untouched.

use core::arch::naked_asm;
use core::sync::atomic::{AtomicU64, Ordering};

/// How many helper ids have a stub (ids `0 .. SLOTS`).
pub const SLOTS: usize = 32;

/// The stack pointer of module code at its latest helper call. One CPU,
/// and helpers never run nested, so one slot is the per-CPU slot.
static CALLER_RSP: AtomicU64 = AtomicU64::new(0);
/// Where each stub jumps: the helper's address, 0 before [`route`].
static TARGETS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

macro_rules! stubs {
    ($($name:ident $i:literal),* $(,)?) => {
        $(
            #[unsafe(naked)]
            unsafe extern "C" fn $name() {
                naked_asm!(
                    "lea r11, [rsp + 8]",
                    "mov qword ptr [rip + {caller}], r11",
                    "jmp qword ptr [rip + {targets} + {offset}]",
                    caller = sym CALLER_RSP,
                    targets = sym TARGETS,
                    offset = const $i * 8,
                )
            }
        )*
        /// The stub of each helper id.
        static STUBS: [unsafe extern "C" fn(); SLOTS] = [$($name),*];
    };
}

stubs!(
    s0 0, s1 1, s2 2, s3 3, s4 4, s5 5, s6 6, s7 7, s8 8, s9 9, s10 10, s11 11, s12 12, s13 13, s14 14, s15 15,
    s16 16, s17 17, s18 18, s19 19, s20 20, s21 21, s22 22, s23 23, s24 24, s25 25, s26 26, s27 27, s28 28, s29 29,
    s30 30, s31 31,
);

/// The address module code calls for helper `id`, whose code is at
/// `helper` (an `extern "C"` function of up to five integer arguments);
/// `None` for an id without a stub.
pub fn route(id: u32, helper: u64) -> Option<u64> {
    let slot = usize::try_from(id).ok().filter(|&i| i < SLOTS)?;
    TARGETS[slot].store(helper, Ordering::Release);
    Some(STUBS[slot] as usize as u64)
}

/// Module code's stack pointer at the helper call in progress: the lowest
/// byte of the calling BPF frame. Meaningful only inside a helper.
pub fn caller_stack_pointer() -> u64 {
    CALLER_RSP.load(Ordering::Relaxed)
}
