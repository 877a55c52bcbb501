//! In-kernel tests of the system-call table (replacing an entry and
//! putting back exactly what was there) and of sizes a program chooses:
//! they fail the call with an errno, never the kernel.

use super::{Args, Entry, Handler, SyscallHandler, dispatch, entry, first_free, replace, restore, usercopy};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq, kernel_test, proc};
use abi::Errno;
use abi::syscall::{FIRST_FREE, KINFO_FRAMES_USED, KINFO_HEAP_IN_USE, KINFO_SYSCALL_CYCLES, NSYSCALL, SYS_GETPID, SYS_KINFO};
use alloc::borrow::Cow;
use alloc::sync::Arc;

struct Constant(isize);

impl SyscallHandler for Constant {
    fn call(&self, _args: &Args) -> isize {
        self.0
    }
}

fn getpid() -> isize {
    dispatch(&Args { nr: SYS_GETPID, a: [0; 6] })
}

fn replace_and_restore_an_entry() -> TestResult {
    super::init();
    let pid = proc::current_pid() as isize;
    ensure_eq!(getpid(), pid);
    let new = Entry { name: Cow::Borrowed("answer"), handler: Handler::Dynamic(Arc::new(Constant(4242))) };
    let old = replace(SYS_GETPID, Some(new)).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(old.as_ref().map(|e| e.name.clone()), Some(Cow::Borrowed("getpid")));
    ensure_eq!(getpid(), 4242);
    ensure_eq!(entry(SYS_GETPID).map(|e| e.name), Some(Cow::Borrowed("answer")));
    // Chaining: a wrapper calls what the slot held before it.
    let previous = old.clone().map(|e| e.handler);
    ensure_eq!(previous.map(|h| h.call(&Args { nr: SYS_GETPID, a: [0; 6] })), Some(pid));
    restore(SYS_GETPID, old).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(getpid(), pid);
    ensure_eq!(entry(SYS_GETPID).map(|e| e.name), Some(Cow::Borrowed("getpid")));
    Ok(())
}
kernel_test!(replace_and_restore_an_entry);

fn free_slots_take_new_calls() -> TestResult {
    super::init();
    let nr = first_free().ok_or("no free slot")?;
    ensure!(nr >= FIRST_FREE, "slot {nr} is below the free range");
    let args = Args { nr, a: [0; 6] };
    ensure_eq!(dispatch(&args), Errno::ENOSYS.to_ret());
    let old = replace(nr, Some(Entry { name: Cow::Borrowed("new"), handler: Handler::Dynamic(Arc::new(Constant(7))) }))
        .map_err(|e| alloc::format!("{e}"))?;
    ensure!(old.is_none(), "the free slot was not empty");
    ensure_eq!(dispatch(&args), 7);
    ensure!(first_free() != Some(nr), "a taken slot is still reported free");
    restore(nr, old).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(dispatch(&args), Errno::ENOSYS.to_ret());
    ensure_eq!(replace(NSYSCALL, None).err(), Some(Errno::EINVAL));
    ensure_eq!(dispatch(&Args { nr: usize::MAX, a: [0; 6] }), Errno::ENOSYS.to_ret());
    Ok(())
}
kernel_test!(free_slots_take_new_calls);

/// A buffer as large as a program may ask for is `ENOMEM`, not an
/// allocation failure that stops the kernel (`sys_write`, `sys_read`,
/// `klog` and `read_str` used to allocate theirs infallibly).
fn user_sized_buffers_fail_with_enomem() -> TestResult {
    for len in [usize::MAX, isize::MAX as usize, 1 << 40] {
        ensure_eq!(usercopy::buffer(len, 0u8).err(), Some(Errno::ENOMEM));
    }
    ensure_eq!(usercopy::buffer(3, 7u8).ok(), Some(alloc::vec![7u8; 3]));
    ensure_eq!(usercopy::read_str(0x1000, u64::MAX, 256).err(), Some(Errno::ENAMETOOLONG));
    Ok(())
}
kernel_test!(user_sized_buffers_fail_with_enomem);

/// The largest count `kinfo(KINFO_SYSCALL_CYCLES, n)` accepts is clamped,
/// and its samples are allocated fallibly.
fn kinfo_cycles_takes_any_count() -> TestResult {
    super::init();
    let r = dispatch(&Args { nr: SYS_KINFO, a: [KINFO_SYSCALL_CYCLES as u64, u64::MAX, 0, 0, 0, 0] });
    ensure!(r >= 0, "kinfo(KINFO_SYSCALL_CYCLES, u64::MAX) returned {r}");
    Ok(())
}
kernel_test!(kinfo_cycles_takes_any_count);

/// `kinfo` reports the heap in use (which an allocation moves) and the
/// frames used outside the heap, for leak checks from user space.
fn kinfo_reports_kernel_memory() -> TestResult {
    super::init();
    let kinfo = |what: usize| dispatch(&Args { nr: SYS_KINFO, a: [what as u64, 0, 0, 0, 0, 0] });
    let before = kinfo(KINFO_HEAP_IN_USE);
    let held = usercopy::buffer(64 * 1024, 0u8).map_err(|e| alloc::format!("{e}"))?;
    let during = kinfo(KINFO_HEAP_IN_USE);
    drop(held);
    ensure!(during.saturating_sub(before) >= 64 * 1024, "heap in use went from {before} to {during} around a 64 KiB buffer");
    ensure!(kinfo(KINFO_FRAMES_USED) > 0, "no frames in use outside the heap");
    Ok(())
}
kernel_test!(kinfo_reports_kernel_memory);
