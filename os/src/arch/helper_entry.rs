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
//! A stub clobbers only `r11`, which System V lets a callee clobber; the
//! arguments in `rdi`, `rsi`, `rdx`, `rcx`, `r8` pass through untouched,
//! and the helper returns straight to module code. [`helper_stubs`] makes
//! the stubs of a list of helpers, each a direct `jmp` to its helper.

use core::sync::atomic::Ordering;

/// Where the stubs note module code's stack pointer: the slot in the
/// per-CPU record (`gs:[CALLER_RSP]`; helpers never nest on a CPU, and the
/// GS base is the kernel's while module code runs).
pub const CALLER_RSP: usize = super::percpu::CALLER_RSP;

/// Module code's stack pointer at the helper call in progress on this
/// CPU: the lowest byte of the calling BPF frame. Meaningful only inside
/// a helper.
pub fn caller_stack_pointer() -> u64 {
    super::percpu::current().module.caller_rsp.load(Ordering::Relaxed)
}

/// `helper_stubs!(ID => function, ...)` defines, in the invoking module,
/// the entry stub of each helper `function` (an `extern "C" fn(u64, u64,
/// u64, u64, u64) -> u64` of that module) and `fn stub(id: u32) ->
/// Option<u64>`, the address module code calls for helper `ID`.
macro_rules! helper_stubs {
    ($($id:path => $helper:ident),* $(,)?) => {
        /// The helpers' entry stubs ([`crate::arch::helper_entry`]).
        mod stubs {
            $(
                pub mod $helper {
                    const _: extern "C" fn(u64, u64, u64, u64, u64) -> u64 = super::super::$helper;

                    /// Notes module code's stack pointer, then jumps to the
                    /// helper. Sound: it writes only `r11` (free for a callee
                    /// to clobber) and this CPU's slot in its per-CPU record
                    /// (module code runs in kernel mode, so GS holds the
                    /// record), and leaves the stack and the argument
                    /// registers as the helper expects them.
                    #[unsafe(naked)]
                    pub unsafe extern "C" fn entry() {
                        core::arch::naked_asm!(
                            "lea r11, [rsp + 8]",
                            "mov qword ptr gs:[{caller}], r11",
                            "jmp {helper}",
                            caller = const $crate::arch::helper_entry::CALLER_RSP,
                            helper = sym super::super::$helper,
                        )
                    }
                }
            )*
        }

        /// The address module code calls for helper `id`: its entry stub.
        fn stub(id: u32) -> Option<u64> {
            match id {
                $($id => Some(stubs::$helper::entry as *const () as u64),)*
                _ => None,
            }
        }
    };
}
pub(crate) use helper_stubs;
