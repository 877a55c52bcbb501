//! The run-time budget, with the hostile modules of `tests/hostile/`: a
//! run that uses up its budget is stopped, fails with `ETIMEDOUT`, is
//! counted and logged; three in a row mark the module failed; it unloads.

use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use abi::Errno;

use super::{setup, unload_named, usage, HOSTILE_MODULES};
use crate::ktest::TestResult;
use crate::lkm::module::Module;
use crate::lkm::run::OUT_OF_FUEL_LIMIT;
use crate::lkm::load_image;
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

/// Loads hostile module `name` (`tests/hostile/NAME.wm`).
fn load_hostile(name: &str) -> Result<Arc<Module>, String> {
    let bytes = match HOSTILE_MODULES.iter().find(|(n, _)| *n == name) {
        Some((_, Ok(bytes))) => bytes,
        Some((_, Err(diags))) => return Err(alloc::format!("tests/hostile/{name}.wm does not compile:\n{diags}")),
        None => return Err(alloc::format!("no hostile module tests/hostile/{name}.wm")),
    };
    load_image(bytes, name, None).map_err(|r| alloc::format!("loading {name}: {}\n{}", r.errno, r.message))
}

/// The kernel log from `start` on.
fn log_since(start: u64) -> String {
    let mut buf = alloc::vec![0u8; 16 * 1024];
    let read = crate::klog::read(start, &mut buf);
    String::from(core::str::from_utf8(&buf[..read.len]).unwrap_or(""))
}

/// Microseconds in `cycles` of the TSC (QEMU's TCG TSC in the test runs).
fn us(cycles: u64) -> u64 {
    crate::time::cycles_to_ns(cycles) / 1000
}

fn a_tick_hook_logging_100000_times_is_stopped_on_each_tick_then_failed() -> TestResult {
    setup()?;
    let start = crate::klog::end();
    let module = load_hostile("ticklog")?;
    let ticks = crate::time::ticks();
    while !module.is_failed() && crate::time::ticks() < ticks + 100 {
        crate::arch::wait_for_interrupt();
    }
    let waited = crate::time::ticks() - ticks;
    ensure!(module.is_failed(), "still running after {waited} ticks");
    // The third run-out in a row fails it; on several CPUs, ticks already
    // inside the hook on the others run out too (one more each at most).
    let others = crate::arch::percpu::online_count() as u64 - 1;
    let run_outs = module.out_of_fuel.load(Ordering::Relaxed);
    ensure!(
        (OUT_OF_FUEL_LIMIT..=OUT_OF_FUEL_LIMIT + others).contains(&run_outs),
        "{run_outs} run-outs, not {OUT_OF_FUEL_LIMIT} (and at most one more per other CPU)"
    );
    ensure_eq!(module.runs.load(Ordering::Relaxed), 0);
    let longest = module.longest_run.load(Ordering::Relaxed);
    crate::println!("    ticklog: longest run {longest} cycles ({} us), failed after {waited} ticks", us(longest));
    let log = log_since(start);
    ensure!(log.contains("module `ticklog` ran out of its run-time budget in `tick` (20000 units)"), "log: {log}");
    ensure!(log.contains("the call fails with ETIMEDOUT"), "log: {log}");
    ensure!(log.contains("help: do less work per call"), "log: {log}");
    ensure!(log.contains("3 runs in a row ran out: the module is marked failed"), "log: {log}");
    ensure!(log.contains("modunload -n ticklog"), "log: {log}");
    // Each tick ran a few rounds, not 100,000: a `log` weighs 5,000 of the
    // 20,000 units. (What a run takes in time is printed above, not
    // checked: under emulation a CPU may wait for its host thread in the
    // middle of a run, and the TSC counts that too.)
    let rounds = log.matches("[ticklog] ticklog: round").count() as u64;
    ensure!((1..=4 * run_outs).contains(&rounds), "{rounds} rounds logged");
    unload_named(module)
}
kernel_test!(a_tick_hook_logging_100000_times_is_stopped_on_each_tick_then_failed);

fn a_long_system_call_fails_with_etimedout_and_the_module_unloads() -> TestResult {
    setup()?;
    // Once first: what the first load and run-out make lazily is not a leak.
    let first = load_hostile("spin")?;
    syscall::dispatch(&Args { nr: first.slot() as usize, a: [1, 0, 0, 0, 0, 0] });
    unload_named(first)?;
    let (heap_before, _, code_before) = usage();
    let module = load_hostile("spin")?;
    let nr = module.slot() as usize;
    let start = crate::klog::end();
    let call = || syscall::dispatch(&Args { nr, a: [1, 0, 0, 0, 0, 0] });
    for n in 1..OUT_OF_FUEL_LIMIT {
        ensure_eq!(call(), Errno::ETIMEDOUT.to_ret());
        ensure_eq!(module.out_of_fuel.load(Ordering::Relaxed), n);
        ensure!(!module.is_failed(), "failed after {n} run-outs");
    }
    // The third run-out in a row marks it failed; then the slot answers
    // as if the module were absent (it held nothing before: ENOSYS).
    ensure_eq!(call(), Errno::ETIMEDOUT.to_ret());
    ensure!(module.is_failed(), "not failed after {OUT_OF_FUEL_LIMIT} run-outs in a row");
    ensure_eq!(call(), Errno::ENOSYS.to_ret());
    ensure_eq!(module.out_of_fuel.load(Ordering::Relaxed), OUT_OF_FUEL_LIMIT);
    let longest = module.longest_run.load(Ordering::Relaxed);
    let log = log_since(start);
    ensure!(log.contains("module `spin` ran out of its run-time budget in `call` (200000 units)"), "log: {log}");
    drop(log);
    unload_named(module)?;
    ensure_eq!(call(), Errno::ENOSYS.to_ret());
    let (heap_after, _, code_after) = usage();
    ensure!(heap_after == heap_before, "heap: {heap_before} bytes before, {heap_after} after");
    ensure_eq!(code_after, code_before);
    crate::println!("    spin: longest run {longest} cycles ({} us)", us(longest));
    Ok(())
}
kernel_test!(a_long_system_call_fails_with_etimedout_and_the_module_unloads);

fn a_run_within_its_budget_clears_the_run_outs_in_a_row() -> TestResult {
    setup()?;
    let module = load_hostile("spin")?;
    let nr = module.slot() as usize;
    let long = Args { nr, a: [1, 0, 0, 0, 0, 0] };
    for _ in 0..2 * OUT_OF_FUEL_LIMIT {
        // Two run-outs, then a quick call that returns: never three in a row.
        ensure_eq!(syscall::dispatch(&long), Errno::ETIMEDOUT.to_ret());
        ensure_eq!(syscall::dispatch(&long), Errno::ETIMEDOUT.to_ret());
        ensure_eq!(syscall::dispatch(&Args { nr, a: [0; 6] }), 0);
    }
    ensure!(!module.is_failed(), "failed although no three runs in a row ran out");
    ensure_eq!(module.out_of_fuel.load(Ordering::Relaxed), 4 * OUT_OF_FUEL_LIMIT);
    unload_named(module)
}
kernel_test!(a_run_within_its_budget_clears_the_run_outs_in_a_row);
