//! The log ring, locks and the tick hooks.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{self, TrapFrame};
use crate::ktest::TestResult;
use crate::sync::IrqLock;
use crate::{ensure, ensure_eq, kernel_test, klog, time};

fn log_lines_reach_the_ring() -> TestResult {
    let start = klog::end();
    log::info!("ktest ring marker 4711");
    let mut buf = [0u8; 256];
    let read = klog::read(start, &mut buf);
    let text = core::str::from_utf8(&buf[..read.len]).map_err(|_| "log text is not UTF-8")?;
    ensure!(text.contains("info: ktest ring marker 4711\n"), "ring holds {text:?}");
    ensure_eq!(read.lost, 0);
    ensure_eq!(klog::read(read.next, &mut buf).len, 0);
    Ok(())
}
kernel_test!(log_lines_reach_the_ring);

fn ring_keeps_the_newest_text() -> TestResult {
    let start = klog::end();
    for i in 0..(klog::RING_CAPACITY / 32 + 10) {
        log::trace!("filler line {i:08}");
    }
    let mut buf = [0u8; 64];
    let read = klog::read(start, &mut buf);
    ensure!(read.lost > 0, "nothing reported lost after overflowing the ring");
    ensure_eq!(read.next, start + read.lost + read.len as u64);
    Ok(())
}
kernel_test!(ring_keeps_the_newest_text);

fn positions_past_the_end_read_nothing() -> TestResult {
    let mut buf = [0u8; 16];
    for pos in [klog::end() + 1, u64::MAX] {
        let read = klog::read(pos, &mut buf);
        ensure_eq!(read.len, 0);
        ensure_eq!(read.lost, 0);
        ensure!(read.next <= klog::end(), "next {} beyond the end", read.next);
    }
    Ok(())
}
kernel_test!(positions_past_the_end_read_nothing);

fn irq_lock_turns_interrupts_off_and_back() -> TestResult {
    let lock = IrqLock::new(5);
    ensure!(arch::interrupts_enabled(), "tests run with interrupts on");
    {
        let mut guard = lock.lock();
        ensure!(!arch::interrupts_enabled(), "interrupts on while a lock is held");
        *guard += 1;
        ensure!(lock.try_lock().is_none(), "a held lock was taken twice");
    }
    ensure!(arch::interrupts_enabled(), "interrupts stayed off after the lock was dropped");
    arch::without_interrupts(|| drop(lock.lock()));
    ensure!(arch::interrupts_enabled(), "without_interrupts did not restore the flag");
    arch::disable_interrupts();
    drop(lock.lock());
    let stayed_off = !arch::interrupts_enabled();
    arch::enable_interrupts();
    ensure!(stayed_off, "dropping a lock turned on interrupts that were off before it");
    ensure_eq!(*lock.lock(), 6);
    Ok(())
}
kernel_test!(irq_lock_turns_interrupts_off_and_back);

static HOOK_CALLS: AtomicU64 = AtomicU64::new(0);

fn count_hook(_frame: &mut TrapFrame) {
    HOOK_CALLS.fetch_add(1, Ordering::Relaxed);
}

fn tick_hooks_run_every_tick_until_removed() -> TestResult {
    ensure!(time::add_tick_hook(count_hook), "no free tick-hook slot");
    let start = time::ticks();
    while time::ticks() < start + 3 {
        arch::wait_for_interrupt();
    }
    ensure!(time::remove_tick_hook(count_hook), "the hook was not found for removal");
    let calls = HOOK_CALLS.load(Ordering::Relaxed);
    ensure!(calls >= 2, "the hook ran {calls} times in 3 ticks");
    let end = time::ticks();
    while time::ticks() < end + 2 {
        arch::wait_for_interrupt();
    }
    ensure_eq!(HOOK_CALLS.load(Ordering::Relaxed), calls);
    ensure!(!time::remove_tick_hook(count_hook), "a removed hook was removed again");
    Ok(())
}
kernel_test!(tick_hooks_run_every_tick_until_removed);
