//! Probes and guarded calls, for the in-kernel tests (feature `ktest`):
//! they check that the memory map protects what it should by touching it.
//!
//! * [`read_u64`] / [`write_u64`]: one access that returns `Err(Fault)`
//!   instead of crashing the kernel (the probe functions are a region of
//!   their own, registered by [`init`]).
//! * [`call_guarded`]: call generated code; a fault inside a region
//!   registered with [`guarded_resume`] returns `Err(Fault)` from the call.
//!
//! Module code is run by `super::jit`, on the same `guarded_call_raw`.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::fault::{self, Fault, Resume};

/// Registers the probe functions' region.
pub fn init() {
    let start = warden_probe_read as *const () as u64;
    let end = &raw const warden_probe_end as u64;
    // The table is empty at boot, so this cannot fail.
    let _ = fault::register_region(start, end, probe_resume);
}

fn probe_resume(fault: &Fault) -> Option<Resume> {
    // The probes fault before pushing anything: return from them directly.
    Some(Resume { rip: warden_probe_fixup as *const () as u64, rsp: fault.rsp })
}

// The probes and their fixup, in one block so that they are contiguous and
// `warden_probe_read .. warden_probe_end` covers them.
core::arch::global_asm!(
    r#"
    .section .text.warden_probe, "ax"
    .global warden_probe_read, warden_probe_write, warden_probe_fixup, warden_probe_end
warden_probe_read:              /* (addr, out) -> 0 */
    mov (%rdi), %rax
    mov %rax, (%rsi)
    xor %eax, %eax
    ret
warden_probe_write:             /* (addr, value) -> 0 */
    mov %rsi, (%rdi)
    xor %eax, %eax
    ret
warden_probe_fixup:             /* reached after a recovered fault -> 1 */
    mov $1, %eax
    ret
warden_probe_end:
    .text
"#,
    options(att_syntax)
);

unsafe extern "C" {
    fn warden_probe_read(addr: u64, out: *mut u64) -> u64;
    fn warden_probe_write(addr: u64, value: u64) -> u64;
    fn warden_probe_fixup();
    static warden_probe_end: u8;
}

/// Reads 8 bytes at `addr`, or returns the fault it caused.
pub fn read_u64(addr: u64) -> Result<u64, Fault> {
    let mut value = 0;
    // SAFETY: a faulting access is recovered through the probe region; a
    // successful one only reads memory that is mapped.
    match unsafe { warden_probe_read(addr, &mut value) } {
        0 => Ok(value),
        _ => Err(fault::take_last_fault().expect("a recovered probe records its fault")),
    }
}

/// Writes 8 bytes at `addr`, or returns the fault it caused.
///
/// # Safety
/// A successful write changes memory: `addr` must not be memory that Rust
/// code relies on.
pub unsafe fn write_u64(addr: u64, value: u64) -> Result<(), Fault> {
    // SAFETY: upheld by the caller; faults are recovered.
    match unsafe { warden_probe_write(addr, value) } {
        0 => Ok(()),
        _ => Err(fault::take_last_fault().expect("a recovered probe records its fault")),
    }
}

static GUARD_ACTIVE: AtomicBool = AtomicBool::new(false);
static GUARD_RSP: AtomicU64 = AtomicU64::new(0);

/// The [`ResumeFn`] for regions holding code run by [`call_guarded`]:
/// unwinds to the active guarded call, which returns `Err(fault)`.
pub fn guarded_resume(_fault: &Fault) -> Option<Resume> {
    if !GUARD_ACTIVE.load(Ordering::Acquire) {
        return None;
    }
    Some(Resume { rip: fault::guarded_landing as *const () as u64, rsp: GUARD_RSP.load(Ordering::Acquire) })
}


/// Calls the code at `entry` as `extern "C" fn(u64) -> u64`, with
/// interrupts off. If it faults at an instruction inside a region
/// registered with [`guarded_resume`], the call returns `Err(fault)` and the
/// kernel goes on. Guarded calls do not nest (the code they run must not
/// make another one); with interrupts off, no other task can start one.
///
/// # Safety
/// `entry` must be executable code following the System V ABI that, when it
/// does not fault, returns normally.
pub unsafe fn call_guarded(entry: u64, arg: u64) -> Result<u64, Fault> {
    let result = super::without_interrupts(|| {
        let was_active = GUARD_ACTIVE.swap(true, Ordering::AcqRel);
        assert!(!was_active, "call_guarded does not nest");
        // SAFETY: upheld by the caller; `GUARD_RSP` is written before `entry` runs.
        let result = unsafe { fault::guarded_call_raw(entry, arg, GUARD_RSP.as_ptr()) };
        GUARD_ACTIVE.store(false, Ordering::Release);
        result
    });
    if result.faulted == 0 {
        Ok(result.value)
    } else {
        Err(fault::take_last_fault().expect("a recovered guarded call records its fault"))
    }
}
