//! Asking other CPUs to run a function: one mailbox per CPU and an
//! inter-processor interrupt on [`CALL_VECTOR`].
//!
//! [`call_on_others`] posts `f(arg)` in the mailbox of every other online
//! CPU, sends each the IPI and waits until every one has run it; the TLB
//! shootdown (`super::tlb`) is built on it. One call is under way at a time
//! (the `CALLS` lock). A CPU waiting, for that lock or for the others'
//! answers, runs what is posted in its own mailbox meanwhile, so two CPUs
//! calling each other cannot wait forever, even with interrupts off.
//!
//! The function runs in interrupt context on the other CPU: it must not
//! sleep or take a lock that the calling CPU may hold while it waits.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::percpu::{self, MAX_CPUS};
use super::apic;

/// Vector of the "run what is in your mailbox" IPI.
pub const CALL_VECTOR: u8 = 50;

/// A function another CPU is asked to run.
pub type CallFn = fn(u64);

struct Mailbox {
    func: AtomicUsize,
    arg: AtomicU64,
    /// Set by the caller after `func` and `arg`; cleared by the CPU once
    /// it has run them.
    pending: AtomicBool,
}

static MAILBOXES: [Mailbox; MAX_CPUS] = [const {
    Mailbox { func: AtomicUsize::new(0), arg: AtomicU64::new(0), pending: AtomicBool::new(false) }
}; MAX_CPUS];
/// Held for the length of one call (a spin flag, taken with `try` only).
static CALLS: AtomicBool = AtomicBool::new(false);
/// Calls run on this CPU through its mailbox, per CPU.
static RUN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Runs what is posted in this CPU's mailbox, if anything.
pub fn run_pending() {
    let me = percpu::cpu_id();
    let Some(mailbox) = MAILBOXES.get(me) else { return };
    if !mailbox.pending.load(Ordering::Acquire) {
        return;
    }
    let func = mailbox.func.load(Ordering::Relaxed);
    let arg = mailbox.arg.load(Ordering::Relaxed);
    if func != 0 {
        // SAFETY: only `call_on_others` stores non-zero values, and it
        // stores `CallFn`s.
        let func: CallFn = unsafe { core::mem::transmute(func) };
        func(arg);
    }
    RUN[me].fetch_add(1, Ordering::Relaxed);
    mailbox.pending.store(false, Ordering::Release);
}

/// How many calls CPU `id` has run for others.
pub fn calls_run(id: usize) -> u64 {
    RUN.get(id).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Whether any CPU besides this one is online (the IPI is skipped if not).
pub fn others_online() -> bool {
    percpu::online_count() > 1
}

/// Sends CPU `id` the wake-up IPI (it only ends a `hlt`); nothing if
/// there is no such CPU online.
pub fn wake(id: usize) {
    if let Some(cpu) = percpu::get(id).filter(|c| c.is_online()) {
        apic::send_ipi(cpu.apic_id(), apic::WAKE_VECTOR);
    }
}

/// Runs `f(arg)` on every other online CPU and returns when all have.
pub fn call_on_others(f: CallFn, arg: u64) {
    call_on(|cpu| cpu != percpu::cpu_id(), f, arg);
}

/// Runs `f(arg)` on the online CPUs whose numbers `which` accepts (this
/// CPU excluded) and returns when all have.
pub fn call_on(which: impl Fn(usize) -> bool, f: CallFn, arg: u64) {
    super::without_interrupts(|| {
        while CALLS.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            run_pending();
            core::hint::spin_loop();
        }
        let me = percpu::cpu_id();
        let targets = || percpu::online().filter(|c| c.id() != me && which(c.id()));
        for cpu in targets() {
            let mailbox = &MAILBOXES[cpu.id()];
            mailbox.func.store(f as usize, Ordering::Relaxed);
            mailbox.arg.store(arg, Ordering::Relaxed);
            mailbox.pending.store(true, Ordering::Release);
            apic::send_ipi(cpu.apic_id(), CALL_VECTOR);
        }
        for cpu in targets() {
            while MAILBOXES[cpu.id()].pending.load(Ordering::Acquire) {
                run_pending();
                core::hint::spin_loop();
            }
        }
        CALLS.store(false, Ordering::Release);
    });
}
