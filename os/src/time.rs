//! Time: the timer tick and the TSC.
//!
//! The PIT raises IRQ 0 [`HZ`] times a second on the boot CPU; each tick
//! increments [`ticks`] and runs the registered tick hooks (timed
//! wake-ups, console input). Every CPU's local APIC timer also ticks at
//! [`HZ`] and runs the *CPU tick hooks* on that CPU ([`add_cpu_tick_hook`]:
//! the scheduler's time slices, the `tick` programs of misc modules).
//! Precise time comes from the TSC, whose frequency is measured once at boot
//! against the PIT: [`uptime_ns`], [`cycles_to_ns`].

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::arch::{self, TrapFrame, pic, pit};

/// Timer interrupts per second.
pub const HZ: u32 = 100;
/// The TSC is measured over several short windows of the PIT; a window in
/// which the (virtual) machine was held up only looks slower, so the
/// smallest frequency seen is the best estimate.
const CALIBRATION_WINDOWS: usize = 5;
const CALIBRATION_MS: u64 = 2;
const MAX_TICK_HOOKS: usize = 8;

static TICKS: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static TICK_HOOKS: [AtomicUsize; MAX_TICK_HOOKS] = [const { AtomicUsize::new(0) }; MAX_TICK_HOOKS];
static CPU_TICK_HOOKS: [AtomicUsize; MAX_TICK_HOOKS] = [const { AtomicUsize::new(0) }; MAX_TICK_HOOKS];

/// A function called on every tick, in interrupt context.
pub type TickHook = fn(&mut TrapFrame);

/// Notes the boot TSC, measures the TSC frequency and starts the tick.
pub fn init() {
    TSC_AT_BOOT.store(arch::rdtsc(), Ordering::Relaxed);
    let hz = (0..CALIBRATION_WINDOWS).map(|_| pit::measure_tsc_hz(CALIBRATION_MS)).min().unwrap_or(0);
    TSC_HZ.store(hz.max(1), Ordering::Relaxed);
    pit::start_periodic(HZ);
    arch::register_irq_handler(pic::IRQ_TIMER, on_tick);
    arch::set_cpu_timer_handler(on_cpu_tick);
}

fn on_tick(frame: &mut TrapFrame) {
    TICKS.fetch_add(1, Ordering::Relaxed);
    run_hooks(&TICK_HOOKS, frame);
}

fn on_cpu_tick(frame: &mut TrapFrame) {
    run_hooks(&CPU_TICK_HOOKS, frame);
}

fn run_hooks(hooks: &[AtomicUsize], frame: &mut TrapFrame) {
    for hook in hooks {
        let hook = hook.load(Ordering::Acquire);
        if hook != 0 {
            // SAFETY: only `add_hook` stores non-zero values, and it stores `TickHook`s.
            let hook: TickHook = unsafe { core::mem::transmute(hook) };
            hook(frame);
        }
    }
}

fn add_hook(hooks: &[AtomicUsize], hook: TickHook) -> bool {
    hooks.iter().any(|slot| slot.compare_exchange(0, hook as usize, Ordering::AcqRel, Ordering::Acquire).is_ok())
}

/// Adds a hook run on every tick of the boot CPU's PIT; `false` if all
/// slots are taken.
pub fn add_tick_hook(hook: TickHook) -> bool {
    add_hook(&TICK_HOOKS, hook)
}

/// Adds a hook run on every tick of every CPU's own timer, on that CPU;
/// `false` if all slots are taken.
pub fn add_cpu_tick_hook(hook: TickHook) -> bool {
    add_hook(&CPU_TICK_HOOKS, hook)
}

/// Removes a hook added with [`add_tick_hook`]; `false` if it was not there.
pub fn remove_tick_hook(hook: TickHook) -> bool {
    TICK_HOOKS.iter().any(|slot| {
        slot.compare_exchange(hook as usize, 0, Ordering::AcqRel, Ordering::Acquire).is_ok()
    })
}

/// Timer ticks since the timer started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Measured TSC frequency in Hz (0 before [`init`]).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Converts TSC cycles to nanoseconds (0 before [`init`]).
pub fn cycles_to_ns(cycles: u64) -> u64 {
    match tsc_hz() {
        0 => 0,
        hz => (u128::from(cycles) * 1_000_000_000 / u128::from(hz)) as u64,
    }
}

/// Spins for `us` microseconds, measured with the TSC (no wait before
/// [`init`]).
pub fn delay_us(us: u64) {
    let cycles = u128::from(tsc_hz()) * u128::from(us) / 1_000_000;
    let start = arch::rdtsc();
    while u128::from(arch::rdtsc().wrapping_sub(start)) < cycles {
        core::hint::spin_loop();
    }
}

/// Nanoseconds since [`init`] (0 before).
pub fn uptime_ns() -> u64 {
    let boot = TSC_AT_BOOT.load(Ordering::Relaxed);
    if boot == 0 {
        return 0;
    }
    cycles_to_ns(arch::rdtsc().saturating_sub(boot))
}
