//! Fault recovery.
//!
//! Some kernel code may fault on purpose or by design: probing an address,
//! copying from a user pointer, running generated (JIT) code. Such code
//! lives in a *registered region*. When an exception hits an instruction in
//! a region, the exception handler asks [`recover`]; the region's resume
//! function says where to continue (`rip`, `rsp`), the handler rewrites the
//! saved frame and returns there. The fault itself is kept for the code at
//! the resume point ([`take_last_fault`]).
//!
//! Built on this: `super::jit` runs module code through
//! [`guarded_call_raw`], and the in-kernel tests probe memory with
//! `super::probe`.

use core::arch::naked_asm;
use core::fmt;

use super::percpu::MAX_CPUS;
use crate::sync::{IrqLock, LockClass};

/// What the CPU reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Exception vector (14 page fault, 13 general protection, ...).
    pub vector: u8,
    pub error_code: u64,
    /// Address of the faulting instruction.
    pub rip: u64,
    /// Stack pointer at the fault.
    pub rsp: u64,
    /// For page faults: the address that was accessed (CR2).
    pub address: Option<u64>,
}

/// Page-fault error code bits (Intel SDM vol. 3, 4.7).
pub mod pf {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const RESERVED: u64 = 1 << 3;
    pub const FETCH: u64 = 1 << 4;
}

impl Fault {
    pub const PAGE_FAULT: u8 = 14;
    pub const GENERAL_PROTECTION: u8 = 13;

    pub fn name(&self) -> &'static str {
        super::exceptions::name(self.vector)
    }

    pub fn is_page_fault(&self) -> bool {
        self.vector == Self::PAGE_FAULT
    }
}

impl fmt::Display for Fault {
    /// e.g. `page fault at 0xdead000 (not present, read, kernel mode) at rip 0x...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(address) = self.address {
            let e = self.error_code;
            write!(
                f,
                " at {address:#x} ({}, {}, {} mode{}{})",
                if e & pf::PRESENT != 0 { "protection violation" } else { "not present" },
                if e & pf::FETCH != 0 {
                    "instruction fetch"
                } else if e & pf::WRITE != 0 {
                    "write"
                } else {
                    "read"
                },
                if e & pf::USER != 0 { "user" } else { "kernel" },
                if e & pf::RESERVED != 0 { ", reserved bit set" } else { "" },
                if e & pf::PRESENT != 0 && e & pf::FETCH != 0 { ", page not executable" } else { "" },
            )?;
        } else if self.error_code != 0 {
            write!(f, " (error code {:#x})", self.error_code)?;
        }
        write!(f, " at rip {:#x}", self.rip)
    }
}

/// Where to continue after a recovered fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub rip: u64,
    pub rsp: u64,
}

/// Decides how to continue after a fault in a region (or declines: `None`).
pub type ResumeFn = fn(&Fault) -> Option<Resume>;

/// Names a registered region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionId(usize);

/// Every slot of the region table is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionTableFull;

#[derive(Clone, Copy)]
struct Region {
    start: u64,
    end: u64,
    resume: ResumeFn,
}

const MAX_REGIONS: usize = 64;

static REGIONS: IrqLock<[Option<Region>; MAX_REGIONS]> = IrqLock::with_class(LockClass::FaultRegions, [None; MAX_REGIONS]);
/// Each CPU's last recovered fault: the code at the resume point runs on
/// the CPU that faulted.
static LAST_FAULT: [IrqLock<Option<Fault>>; MAX_CPUS] =
    [const { IrqLock::with_class(LockClass::LastFault, None) }; MAX_CPUS];

fn last_fault() -> &'static IrqLock<Option<Fault>> {
    &LAST_FAULT[super::percpu::cpu_id().min(MAX_CPUS - 1)]
}

/// Declares that faults at instructions in `start..end` are recoverable
/// through `resume`.
pub fn register_region(start: u64, end: u64, resume: ResumeFn) -> Result<RegionId, RegionTableFull> {
    let mut regions = REGIONS.lock();
    let slot = regions.iter().position(Option::is_none).ok_or(RegionTableFull)?;
    regions[slot] = Some(Region { start, end, resume });
    Ok(RegionId(slot))
}

/// Forgets a region registered earlier (only tests register regions for a
/// while).
#[cfg(feature = "ktest")]
pub fn unregister_region(id: RegionId) {
    REGIONS.lock()[id.0] = None;
}

/// Called by the exception handlers: if `fault.rip` is in a registered
/// region whose resume function accepts the fault (regions may overlap;
/// each is asked until one accepts), records the fault
/// for [`take_last_fault`] and returns where to continue.
pub fn recover(fault: &Fault) -> Option<Resume> {
    let regions = lock_regions_for_recovery()?;
    let resume = regions
        .iter()
        .flatten()
        .filter(|r| (r.start..r.end).contains(&fault.rip))
        .find_map(|r| (r.resume)(fault))?;
    drop(regions);
    if let Some(mut last) = last_fault().try_lock() {
        *last = Some(*fault);
    }
    Some(resume)
}

/// Tries for the region table a bounded number of times. Another CPU may
/// hold it for a moment (several CPUs can fault in probes at once); a
/// fault while this CPU holds it is a bug in this module, and gives up
/// after the bound instead of waiting forever: no recovery.
fn lock_regions_for_recovery() -> Option<crate::sync::IrqLockGuard<'static, [Option<Region>; MAX_REGIONS]>> {
    const TRIES: u32 = 1 << 20;
    for _ in 0..TRIES {
        if let Some(regions) = REGIONS.try_lock() {
            return Some(regions);
        }
        core::hint::spin_loop();
    }
    None
}

/// The fault recovered most recently on this CPU, if not taken yet.
pub fn take_last_fault() -> Option<Fault> {
    last_fault().lock().take()
}

/// What [`guarded_call_raw`] returns: the callee's `rax`, and whether the
/// call ended at [`guarded_landing`] instead.
#[repr(C)]
pub(super) struct GuardedResult {
    pub(super) value: u64,
    pub(super) faulted: u64,
}

/// Calls `entry(arg)` (System V), saving the callee-saved registers and then
/// the stack pointer in `*rsp_slot`, so that [`guarded_landing`] can unwind a
/// faulting call. The stack is 16-byte aligned at the `call`, as System V
/// requires. Used by `super::jit` (and by the tests' `super::probe`).
#[unsafe(naked)]
pub(super) unsafe extern "C" fn guarded_call_raw(entry: u64, arg: u64, rsp_slot: *mut u64) -> GuardedResult {
    naked_asm!(
        "push %rbp",
        "push %rbx",
        "push %r12",
        "push %r13",
        "push %r14",
        "push %r15",
        "mov %rsp, (%rdx)",
        "sub $8, %rsp",
        "mov %rdi, %rax",
        "mov %rsi, %rdi",
        "call *%rax",
        "add $8, %rsp",
        "xor %edx, %edx",
        "pop %r15",
        "pop %r14",
        "pop %r13",
        "pop %r12",
        "pop %rbx",
        "pop %rbp",
        "ret",
        options(att_syntax)
    );
}

/// Resume point of a faulting guarded call: the stack is the one saved by
/// `guarded_call_raw` after its pushes. Restores the callee-saved registers
/// and returns from `guarded_call_raw` with `faulted = 1`.
#[unsafe(naked)]
pub(super) unsafe extern "C" fn guarded_landing() {
    naked_asm!(
        "xor %eax, %eax",
        "mov $1, %edx",
        "pop %r15",
        "pop %r14",
        "pop %r13",
        "pop %r12",
        "pop %rbx",
        "pop %rbp",
        "ret",
        options(att_syntax)
    );
}
