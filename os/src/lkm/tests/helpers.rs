//! What module code gets back from helpers that fail: never the bytes its
//! buffer held before the call.

use alloc::string::String;
use alloc::vec::Vec;

use lkm::class::SYSCALL_NEXT_FREE;
use lkm::{ClassParams, Image, ProgramImage};

use super::{setup, unload_named};
use crate::ktest::TestResult;
use crate::lkm::load_image;
use crate::proc::space::UserSpace;
use crate::syscall::{self, Args};
use crate::{arch, ensure, ensure_eq, kernel_test, proc};

/// A system call that spills its context pointer, copies 8 bytes from the
/// user address in its first argument over the spill, and returns those
/// 8 bytes: a hostile module's attempt to read a kernel address.
const PEEK: &str = "*(u64 *)(r10 - 8) = r1\n\
                    r3 = *(u64 *)(r1 + 8)\n\
                    r1 = r10\n\
                    r1 += -8\n\
                    r2 = 8\n\
                    call 11\n\
                    r0 = *(u64 *)(r10 - 8)\n\
                    exit";

/// A system-call image (next free slot) whose `call` program is `src` (in
/// assembler syntax).
pub(super) fn syscall_image(name: &str, src: &str) -> Result<Vec<u8>, String> {
    let program = verifier::assemble(src).map_err(|e| alloc::format!("{e}"))?;
    let image = Image {
        name: String::from(name),
        params: ClassParams::Syscall { nr: SYSCALL_NEXT_FREE },
        programs: alloc::vec![ProgramImage { entry: String::from("call"), code: verifier::encode(&program) }],
        maps: Vec::new(),
        rodata: Vec::new(),
        ports: Vec::new(),
        lines: None,
    };
    Ok(image.to_bytes())
}

/// Runs system call `nr` with first argument `arg` as a process with an
/// empty user address space (so every user address is bad), interrupts
/// off so that the space is never activated and is dropped unused.
fn call_as_process(nr: usize, arg: u64) -> Result<isize, String> {
    let space = UserSpace::new().map_err(|e| alloc::format!("{e}"))?;
    Ok(arch::without_interrupts(|| {
        proc::with_current(|t| t.space = Some(space));
        let r = syscall::dispatch(&Args { nr, a: [arg, 0, 0, 0, 0, 0] });
        drop(proc::with_current(|t| t.space.take()));
        r
    }))
}

fn copy_from_user_zeroes_its_buffer_when_it_fails() -> TestResult {
    setup()?;
    let module = load_image(&syscall_image("peek", PEEK)?, "peek", None)
        .map_err(|r| alloc::format!("loading peek: {}\n{}", r.errno, r.message))?;
    let nr = module.slot() as usize;
    // A bad user address in a process, a kernel address, and a call from
    // the kernel itself (no process memory at all): each time the helper
    // fails, and the spilled pointer must not come back.
    let from_process = call_as_process(nr, 0x1000);
    let kernel_address = call_as_process(nr, nr as u64 ^ 0xffff_8000_0000_0000);
    let from_kernel = syscall::dispatch(&Args { nr, a: [0x1000, 0, 0, 0, 0, 0] });
    unload_named(module)?;
    ensure_eq!(from_process?, 0);
    ensure_eq!(kernel_address?, 0);
    ensure_eq!(from_kernel, 0);
    ensure!(proc::with_current(|t| t.space.is_none()), "the test left a user space on the kernel task");
    Ok(())
}
kernel_test!(copy_from_user_zeroes_its_buffer_when_it_fails);
