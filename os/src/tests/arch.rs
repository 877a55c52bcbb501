//! Exceptions and fault recovery.

use crate::arch::fault::{self, pf};
use crate::arch::probe;
use crate::arch::{self, exceptions};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq, kernel_test};

fn breakpoint_returns() -> TestResult {
    let before = exceptions::breakpoint_count();
    arch::breakpoint();
    ensure_eq!(exceptions::breakpoint_count(), before + 1);
    Ok(())
}
kernel_test!(breakpoint_returns);

fn page_fault_is_caught_and_reported() -> TestResult {
    let addr = super::SCRATCH + 0x1234_5000;
    let fault = match probe::read_u64(addr) {
        Ok(value) => return Err(alloc::format!("read of unmapped {addr:#x} returned {value:#x}")),
        Err(fault) => fault,
    };
    ensure_eq!(fault.vector, 14);
    ensure_eq!(fault.address, Some(addr));
    ensure!(fault.error_code & pf::PRESENT == 0, "error code {:#x} claims the page is present", fault.error_code);
    ensure!(fault.error_code & pf::WRITE == 0, "error code {:#x} claims a write", fault.error_code);
    let report = alloc::format!("{fault}");
    ensure!(
        report.starts_with(&alloc::format!("page fault at {addr:#x} (not present, read, kernel mode)")),
        "report: {report}"
    );
    ensure!(report.contains(" at rip 0x"), "report without rip: {report}");
    Ok(())
}
kernel_test!(page_fault_is_caught_and_reported);

fn general_protection_fault_is_recovered() -> TestResult {
    // A non-canonical address raises #GP, not #PF.
    match probe::read_u64(0x8000_0000_0000_0000) {
        Ok(_) => Err("a non-canonical read succeeded".into()),
        Err(fault) => {
            ensure_eq!(fault.vector, 13);
            ensure_eq!(fault.address, None);
            Ok(())
        }
    }
}
kernel_test!(general_protection_fault_is_recovered);

fn runner_goes_on_after_faults() -> TestResult {
    // Many recovered faults in a row leave the kernel (and this test) running.
    for i in 0..100u64 {
        ensure!(probe::read_u64(super::SCRATCH + i * 4096).is_err(), "page {i} readable");
    }
    ensure!(fault::take_last_fault().is_none(), "a fault was left unclaimed");
    Ok(())
}
kernel_test!(runner_goes_on_after_faults);

fn stack_guard_pages_are_unmapped() -> TestResult {
    let guard = arch::boot::boot_stack_guard();
    let fault = probe::read_u64(guard).err().ok_or("the boot stack guard page is readable")?;
    ensure_eq!(fault.address, Some(guard));
    for guard in arch::gdt::guard_pages() {
        ensure!(probe::read_u64(guard).is_err(), "IST guard page {guard:#x} is readable");
    }
    Ok(())
}
kernel_test!(stack_guard_pages_are_unmapped);

fn kernel_text_is_not_writable() -> TestResult {
    let text = kernel_text_is_not_writable as *const () as u64 & !7;
    let value = probe::read_u64(text).map_err(|f| alloc::format!("cannot read kernel text: {f}"))?;
    // Writing back the same value would be harmless if the page were writable.
    // SAFETY: the value written is the value already there.
    let fault = unsafe { probe::write_u64(text, value) }.err().ok_or("kernel text is writable")?;
    ensure_eq!(fault.error_code & (pf::PRESENT | pf::WRITE), pf::PRESENT | pf::WRITE);
    Ok(())
}
kernel_test!(kernel_text_is_not_writable);

fn timer_ticks_advance() -> TestResult {
    let (ticks, ns) = (crate::time::ticks(), crate::time::uptime_ns());
    while crate::time::ticks() == ticks {
        arch::wait_for_interrupt();
    }
    ensure!(crate::time::uptime_ns() > ns, "uptime did not grow");
    ensure!(crate::time::tsc_hz() > 0, "TSC not calibrated");
    Ok(())
}
kernel_test!(timer_ticks_advance);

/// The NMI path takes no lock another context can hold: an NMI while the
/// log's lock is held returns (it used to spin on that lock for ever), and
/// its note reaches the log with the next record.
fn nmi_while_the_log_lock_is_held_does_not_deadlock() -> TestResult {
    let (before, from) = (crate::klog::nmi_count(), crate::klog::end());
    crate::klog::with_ring_locked(arch::nmi_gate);
    ensure_eq!(crate::klog::nmi_count(), before + 1);
    log::info!("after the NMI");
    let mut buf = alloc::vec![0u8; 4096];
    let got = crate::klog::read(from, &mut buf);
    let text = core::str::from_utf8(&buf[..got.len]).unwrap_or("");
    let note = text.find("warn: non-maskable interrupt at rip 0x").ok_or_else(|| alloc::format!("no NMI note in the log:\n{text}"))?;
    ensure!(text[note..].contains("after the NMI"), "the NMI note is not before the next record:\n{text}");
    // Without the lock held, the note is in the ring at once.
    let from = crate::klog::end();
    arch::nmi_gate();
    let got = crate::klog::read(from, &mut buf);
    ensure!(
        core::str::from_utf8(&buf[..got.len]).is_ok_and(|t| t.contains("non-maskable interrupt")),
        "an NMI with the log free left no note"
    );
    Ok(())
}
kernel_test!(nmi_while_the_log_lock_is_held_does_not_deadlock);
