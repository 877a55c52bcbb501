//! Module code runs only where the kernel stack has room for it.

use core::hint::black_box;

use lkm::ctx::SyscallCtx;

use super::helpers::syscall_image;
use super::{setup, unload_named};
use crate::arch::jit::stack_pointer;
use crate::ktest::TestResult;
use crate::lkm::load_image;
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
