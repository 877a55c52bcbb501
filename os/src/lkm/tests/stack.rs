//! Module code runs only where the kernel stack has room for it.

use alloc::string::String;
use core::hint::black_box;

use abi::Errno;
use lkm::ctx::SyscallCtx;

use super::helpers::syscall_image;
use super::{setup, unload_named};
use crate::arch::jit::stack_pointer;
use crate::ktest::TestResult;
use crate::lkm::{helpers, load_image};
use crate::lkm::run::{self, Outcome, STACK_NEEDED};
use crate::memory::stack;
use crate::{ensure, ensure_eq, kernel_test};

/// Uses up the stack 512 bytes a level until less than `room` bytes are
/// left, then calls `f` there; `None` if that takes implausibly deep.
#[inline(never)]
fn with_less_room_than(room: u64, depth: u32, f: &mut dyn FnMut() -> Outcome) -> Option<Outcome> {
    let pad = black_box([depth as u8; 512]);
    let outcome = if depth > 1000 {
        None
    } else if stack::has_room(stack_pointer(), room) {
        with_less_room_than(room, depth + 1, f)
    } else {
        Some(f())
    };
    black_box(&pad);
    outcome
}

fn a_run_without_stack_room_is_refused_and_counted() -> TestResult {
    setup()?;
    let module = load_image(&syscall_image("seven", "r0 = 7\nexit")?, "seven", None)
        .map_err(|r| alloc::format!("loading seven: {}\n{}", r.errno, r.message))?;
    let mut ctx = SyscallCtx { nr: 0, args: [0; 6], pid: 0, uid: 0 };
    let before = run::no_room_total();
    let cramped = with_less_room_than(STACK_NEEDED, 0, &mut || run::run(&module, "call", &mut ctx, None));
    let roomy = run::run(&module, "call", &mut ctx, None);
    let refused = run::no_room_total() - before;
    unload_named(module)?;
    ensure_eq!(cramped, Some(Outcome::Skipped));
    ensure_eq!(refused, 1);
    ensure_eq!(roomy, Outcome::Done(7));
    Ok(())
}
kernel_test!(a_run_without_stack_room_is_refused_and_counted);

/// The room of a stack ends at its guard page.
fn stack_room_ends_at_the_guard_page() -> TestResult {
    let size = 4 * crate::memory::PAGE_SIZE;
    let s = stack::KernelStack::new(size as usize).map_err(|e| alloc::format!("{e}"))?;
    ensure!(stack::has_room(s.top(), size), "a fresh stack has no room for its own size");
    ensure!(!stack::has_room(s.top(), size + 1), "room reaches into the guard page");
    ensure!(!stack::has_room(s.top() - 100, size - 99), "room reaches into the guard page");
    ensure!(!stack::has_room(100, 200), "room below address 0");
    Ok(())
}
kernel_test!(stack_room_ends_at_the_guard_page);

/// Logs the 8 bytes at r10 - 8; the patches below make the pointer one
/// that no verified program can pass.
const LOG_SLOT: &str = "*(u64 *)(r10 - 8) = 0\n\
                        r1 = r10\n\
                        r1 += -8\n\
                        r2 = 8\n\
                        r3 = 0\n\
                        r4 = 0\n\
                        call 1\n\
                        exit";

/// Replaces the code of `r1 = r10; r1 += -8` (instructions 1 and 2) with
/// `lea` (r10 is `rbp`, r1 `rdi`) and no-ops.
fn set_r1(code: &mut [u8], out: &jit::JitOutput, lea: &[u8]) {
    let offsets = out.insn_offsets();
    let (Some(&start), Some(&end)) = (offsets.get(1), offsets.get(3)) else { return };
    let (start, end) = (start as usize, end as usize);
    if start + lea.len() <= end && end <= code.len() {
        code[start..end].fill(0x90);
        code[start..start + lea.len()].copy_from_slice(lea);
    }
}

/// r1 = r10 + 48: above r10 lie the entry function's saved registers (two
/// or three), the return address into the kernel, and from 16 bytes above
/// that the kernel's own saved registers; r10 + 48 is one of those.
fn point_above_the_frames(code: &mut [u8], out: &jit::JitOutput) {
    set_r1(code, out, &[0x48, 0x8d, 0x7d, 0x30]);
}

/// r1 = r10 - 600: below the calling frame (at most 32 bytes here), in the
/// helpers' own frames: their saved registers and return addresses.
fn point_below_the_frames(code: &mut [u8], out: &jit::JitOutput) {
    set_r1(code, out, &[0x48, 0x8d, 0xbd, 0xa8, 0xfd, 0xff, 0xff]);
}

/// Runs `call` of `LOG_SLOT` built with `patch`: (outcome, helper refusals).
fn run_log_slot(patch: Option<crate::lkm::load::Patch>) -> Result<(Outcome, u64), String> {
    let image = syscall_image("kregs", LOG_SLOT)?;
    let module = load_image(&image, "kregs", patch).map_err(|r| alloc::format!("loading kregs: {}\n{}", r.errno, r.message))?;
    let mut ctx = SyscallCtx { nr: 0, args: [0; 6], pid: 0, uid: 0 };
    let before = helpers::refused_total();
    let outcome = run::run(&module, "call", &mut ctx, None);
    let refused = helpers::refused_total() - before;
    unload_named(module)?;
    Ok((outcome, refused))
}

/// A helper given a stack pointer outside module code's frames refuses it:
/// into the kernel's saved registers above them, or into the helpers' own
/// frames below them. (The verifier never lets one through; the code is
/// patched after compiling to get one there.)
fn a_helper_refuses_pointers_outside_the_module_frames() -> TestResult {
    setup()?;
    let efault = Outcome::Done(Errno::EFAULT.to_ret() as i64 as u64);
    ensure_eq!(run_log_slot(None)?, (Outcome::Done(0), 0));
    ensure_eq!(run_log_slot(Some(point_above_the_frames))?, (efault, 1));
    ensure_eq!(run_log_slot(Some(point_below_the_frames))?, (efault, 1));
    Ok(())
}
kernel_test!(a_helper_refuses_pointers_outside_the_module_frames);
