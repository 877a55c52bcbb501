//! In-kernel tests of the module facility (built with `--features ktest`).
//!
//! The example modules of `modules/` are compiled by `os/build.rs` and
//! embedded here; every test loads them through [`super::load_image`],
//! which takes the steps of the `/dev/lkm` ioctls (reserve, copy in
//! 512-byte chunks, ready). The class hooks are tested in [`classes`], the
//! run-time budget with the hostile modules of `tests/hostile/` in [`fuel`].

mod helpers;
mod stack;
mod classes;
mod hostile;
mod race;
mod values;
mod pressure;
mod fuel;
mod percpu;
mod smp;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::Errno;
use lkm::{ClassParams, Image};

use super::module::Module;
use super::{load_image, unload};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq, kernel_test, memory};

include!(concat!(env!("OUT_DIR"), "/test_modules.rs"));

/// The compiled image of example module `name`.
fn image(name: &str) -> Result<&'static [u8], String> {
    match TEST_MODULES.iter().find(|(n, _)| *n == name) {
        Some((_, Ok(bytes))) => Ok(bytes),
        Some((_, Err(diags))) => Err(alloc::format!("modules/{name}.wm does not compile:\n{diags}")),
        None => Err(alloc::format!("no example module modules/{name}.wm")),
    }
}

/// The parsed image of example module `name`, to derive variants from.
fn parsed(name: &str) -> Result<Image, String> {
    lkm::parse(image(name)?).map_err(|e| alloc::format!("{e}"))
}

/// Boots what the classes hook into: the system-call table, the exec
/// switch, a ramfs root with devfs on `/dev` and a `/mnt`, and the facility.
fn setup() -> TestResult {
    static SETUP: spin::Once<()> = spin::Once::new();
    SETUP.call_once(|| {
        use crate::fs::{self, ramfs::RamFs, vfs};
        use abi::fs::S_IFDIR;
        if vfs::resolve("/").is_err() {
            fs::init(None);
            let _ = vfs::mount_root(Arc::new(RamFs::new()), "ramfs");
        }
        let _ = vfs::create("/dev", S_IFDIR | 0o755, 0, 0);
        if !vfs::mounts().iter().any(|m| m.0 == "/dev") {
            let _ = vfs::mount("devfs", "none", "/dev");
        }
        let _ = vfs::create("/mnt", S_IFDIR | 0o755, 0, 0);
        let _ = vfs::create("/tmp", S_IFDIR | 0o777, 0, 0);
        crate::proc::sched::init();
        crate::proc::exec::init();
        crate::syscall::init();
        super::init();
    });
    ensure!(crate::fs::vfs::resolve("/dev/lkm").is_ok(), "/dev/lkm is missing");
    Ok(())
}

fn load(name: &str) -> Result<Arc<Module>, String> {
    load_image(image(name)?, name, None).map_err(|r| alloc::format!("loading {name}: {}\n{}", r.errno, r.message))
}

fn unload_named(module: Arc<Module>) -> TestResult {
    let id = module.id;
    drop(module);
    unload(id).map_err(|r| alloc::format!("unloading module {id}: {}\n{}", r.errno, r.message))
}

/// Heap bytes in use, frames in use outside the heap, code pages in use.
/// (The heap keeps the frames it grew by; what it holds is `bytes_in_use`.)
fn usage() -> (usize, usize, usize) {
    (memory::heap_stats().bytes_in_use, memory::frames_outside_heap(), memory::code::pages_in_use())
}

fn every_example_module_compiles() -> TestResult {
    ensure!(TEST_MODULES.len() >= 5, "only {} example modules", TEST_MODULES.len());
    for (name, _) in TEST_MODULES {
        image(name)?;
    }
    Ok(())
}
kernel_test!(every_example_module_compiles);

/// Load/unload cycles of each example module on one CPU.
const CYCLES: usize = 1000;
/// The same on several CPUs, where every unload also waits for the other
/// CPUs (grace period, TLB shootdowns) and the whole suite runs again
/// twice: fewer cycles keep the stage's time in bounds, and
/// `race::smp_unloads_race_uses_of_every_hook` loads and unloads under
/// use there.
const CYCLES_SMP: usize = 100;

/// The cycles [`churn`] makes on the CPUs online.
fn cycles() -> usize {
    if crate::arch::percpu::online_count() > 1 { CYCLES_SMP } else { CYCLES }
}
/// In the default run, the phase test times only modules of fewer
/// instructions than this, once each.
const DEFAULT_MAX_INSNS: usize = 100;

/// Whether the kernel command line (the test filter) names `test`.
fn selected(test: &str) -> bool {
    let filter = crate::ktest::filter();
    !filter.is_empty() && test.contains(filter)
}

/// Instruction slots of an image.
fn slots(name: &str) -> Result<usize, String> {
    Ok(parsed(name)?.programs.iter().map(|p| p.slots()).sum())
}

fn load_unload_cycles_leave_memory_as_it_was() -> TestResult {
    setup()?;
    crate::klog::set_console_level(log::LevelFilter::Warn);
    let result = churn();
    crate::klog::set_console_level(log::LevelFilter::Info);
    result
}
kernel_test!(load_unload_cycles_leave_memory_as_it_was);

/// Loads and unloads every example module [`cycles`] times, checks that
/// heap, frames and code pages come back to where they were, and prints
/// the median load phases. (Under QEMU's emulation the 1000 cycles on one
/// CPU take about three minutes, most of it verifying the four larger
/// modules.)
fn churn() -> TestResult {
    let cycles = cycles();
    crate::println!("    module     insns processed  code  parse_us verify_us  jit_us link_us  cycles");
    for (name, _) in TEST_MODULES {
        // One cycle first: lazily made tables (page tables of the code
        // region, the heap's growth) are not leaks.
        let first = load(name)?;
        // The figures' vector is allocated in full before measuring.
        let mut runs = Vec::with_capacity(cycles + 1);
        runs.push(first.stats());
        unload_named(first)?;
        let before = usage();
        for _ in 0..cycles {
            let module = load(name)?;
            runs.push(module.stats());
            unload_named(module)?;
        }
        let after = usage();
        ensure!(
            after == before,
            "{name}: {cycles} cycles changed (heap bytes, frames, code pages) from {before:?} to {after:?}"
        );
        print_phases(name, &runs, cycles);
    }
    Ok(())
}

/// One row of the phase table: figures of the first load, median timings.
fn print_phases(name: &str, runs: &[super::module::LoadStats], cycles: usize) {
    let median = |f: fn(&super::module::LoadStats) -> u64| {
        let mut v: Vec<u64> = runs.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2] / 1000
    };
    let s = runs[0];
    crate::println!(
        "    {name:<10} {:>5} {:>9} {:>5} {:>9} {:>9} {:>7} {:>7} {cycles:>7}",
        s.insns,
        s.insns_processed,
        s.code_size,
        median(|s| s.parse_ns),
        median(|s| s.verify_ns),
        median(|s| s.jit_ns),
        median(|s| s.link_ns),
    );
}

/// Loads timed per module when `load_phases` is selected by name.
const TIMED_LOADS: usize = 5;

/// The load phases of every example module (median of five loads); in the
/// default run only of the small ones, once each.
fn load_phases_of_every_example_module() -> TestResult {
    setup()?;
    let full = selected("load_phases_of_every_example_module");
    crate::klog::set_console_level(log::LevelFilter::Warn);
    crate::println!("    module     insns processed  code  parse_us verify_us  jit_us link_us   loads");
    let mut result = Ok(());
    for (name, _) in TEST_MODULES {
        if !full && slots(name)? >= DEFAULT_MAX_INSNS {
            continue;
        }
        let mut runs = Vec::new();
        for _ in 0..if full { TIMED_LOADS } else { 1 } {
            let module = load(name)?;
            runs.push(module.stats());
            unload_named(module)?;
        }
        let s = runs[0];
        if s.insns == 0 || s.code_size == 0 || s.verify_ns == 0 {
            result = Err(alloc::format!("{name}: no figures: {s:?}"));
        }
        print_phases(name, &runs, runs.len());
    }
    crate::klog::set_console_level(log::LevelFilter::Info);
    result
}
kernel_test!(load_phases_of_every_example_module);

/// Overwrites the first instruction of the entry with `mov rax, [0x10]`, a
/// load from an unmapped address.
fn fault_at_first_insn(code: &mut [u8], out: &jit::JitOutput) {
    const LOAD_FROM_0X10: [u8; 8] = [0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00];
    let at = out.insn_offsets()[0] as usize;
    if at + LOAD_FROM_0X10.len() <= code.len() {
        code[at..at + LOAD_FROM_0X10.len()].copy_from_slice(&LOAD_FROM_0X10);
    }
}

fn a_fault_in_module_code_marks_it_failed_and_it_still_unloads() -> TestResult {
    setup()?;
    // One load, call and unload first: what the syscall class makes on
    // first use is not what this test measures.
    let warm = load("syscount")?;
    crate::syscall::dispatch(&crate::syscall::Args { nr: warm.slot() as usize, a: [0; 6] });
    unload_named(warm)?;
    let (heap_before, _, code_before) = usage();
    let module = load_image(image("syscount")?, "syscount", Some(fault_at_first_insn))
        .map_err(|r| alloc::format!("{}: {}", r.errno, r.message))?;
    let nr = module.slot() as usize;
    let log_start = crate::klog::end();
    // The call faults; the kernel goes on and the slot answers ENOSYS (it
    // held nothing before the module).
    let r = crate::syscall::dispatch(&crate::syscall::Args { nr, a: [0; 6] });
    ensure_eq!(r, Errno::ENOSYS.to_ret());
    ensure!(module.is_failed(), "the module is not marked failed");
    {
        let mut buf = alloc::vec![0u8; 4096];
        let read = crate::klog::read(log_start, &mut buf);
        let text = core::str::from_utf8(&buf[..read.len]).unwrap_or("");
        ensure!(text.contains("module `syscount` failed in `call`: page fault at 0x10"), "log: {text}");
        ensure!(text.contains("at instruction 0:"), "log: {text}");
        ensure!(text.contains("rax/r0"), "no registers in the report: {text}");
    }
    // A failed module does not run again.
    ensure_eq!(crate::syscall::dispatch(&crate::syscall::Args { nr, a: [0; 6] }), Errno::ENOSYS.to_ret());
    ensure_eq!(module.runs.load(core::sync::atomic::Ordering::Relaxed), 0);
    unload_named(module)?;
    ensure_eq!(crate::syscall::dispatch(&crate::syscall::Args { nr, a: [0; 6] }), Errno::ENOSYS.to_ret());
    let (heap_after, _, code_after) = usage();
    ensure_eq!(heap_after, heap_before);
    ensure_eq!(code_after, code_before);
    Ok(())
}
kernel_test!(a_fault_in_module_code_marks_it_failed_and_it_still_unloads);

fn code_is_executable_and_never_writable() -> TestResult {
    setup()?;
    let module = load("syscount")?;
    let program = module.program("call").ok_or("no `call` program")?;
    let addr = program.code.addr();
    let (_, flags) = memory::translate(addr).ok_or("code not mapped")?;
    ensure!(flags.executable && !flags.writable, "code page flags {flags:?}");
    let alias = memory::code::direct_alias(addr).ok_or("no direct-map alias")?;
    let (_, alias_flags) = memory::translate(alias).ok_or("alias not mapped")?;
    ensure!(!alias_flags.writable, "the direct-map alias of code is writable: {alias_flags:?}");
    // Within ±2 GiB of kernel text, so helper calls are `call rel32`.
    let text = super::helpers::address(lkm::helpers::LOG).ok_or("no log helper")?;
    ensure!(addr.abs_diff(text) < 1 << 31, "code at {addr:#x} is out of reach of {text:#x}");
    unload_named(module)
}
kernel_test!(code_is_executable_and_never_writable);

/// A misc image whose `load` program is `src` (in assembler syntax).
fn misc_image(name: &str, src: &str) -> Result<Vec<u8>, String> {
    hostile::generate::image(name, ClassParams::Misc, &[("load", String::from(src))], Vec::new(), Vec::new())
}

fn bad_images_are_refused_with_a_reason() -> TestResult {
    setup()?;
    // Once first: what the first refusals make lazily (and what a timer
    // tick may allocate meanwhile) is not a leak; a second round that
    // leaves memory changed is.
    refuse_bad_images()?;
    let (heap_before, _, code_before) = usage();
    refuse_bad_images()?;
    ensure_eq!(super::loaded().len(), 0);
    let (heap_after, _, code_after) = usage();
    ensure_eq!(heap_after, heap_before);
    ensure_eq!(code_after, code_before);
    // And a good module still loads.
    unload_named(load("hello")?)
}

fn refuse_bad_images() -> TestResult {
    let good = image("hello")?;
    // Malformed: truncated, and bad magic.
    let e = load_image(&good[..good.len() / 2], "half", None).err().ok_or("a truncated image loaded")?;
    ensure_eq!(e.errno, Errno::EINVAL);
    ensure!(e.message.starts_with("error: malformed module image"), "{}", e.message);
    let mut bad = good.to_vec();
    bad[0] = b'X';
    let e = load_image(&bad, "magic", None).err().ok_or("a bad magic number loaded")?;
    ensure!(e.message.contains("magic"), "{}", e.message);
    // Rejected by the verifier: r2 is not initialised at entry.
    let e = load_image(&misc_image("uninit", "r0 = r2\nexit")?, "uninit", None).err().ok_or("verifier accepted")?;
    ensure_eq!(e.errno, Errno::EINVAL);
    ensure!(e.message.contains("error") && e.message.contains("r2"), "{}", e.message);
    // A failing `load` aborts the load.
    let e = load_image(&misc_image("nope", "r0 = -1\nexit")?, "nope", None).err().ok_or("failing load loaded")?;
    ensure_eq!(e.errno, Errno::EPERM);
    // Over budget: one map larger than a module may have.
    let mut big = parsed("hello")?;
    big.name = String::from("big");
    big.maps[0].max_entries = 1 << 20;
    let e = load_image(&big.to_bytes(), "big", None).err().ok_or("an over-budget module loaded")?;
    ensure_eq!(e.errno, Errno::ENOMEM);
    Ok(())
}
kernel_test!(bad_images_are_refused_with_a_reason);

fn reservations_follow_the_classic_rules() -> TestResult {
    setup()?;
    ensure_eq!(super::reserve(b"", 10), Err(Errno::EINVAL));
    ensure_eq!(super::reserve(b"bad/name", 10), Err(Errno::EINVAL));
    ensure_eq!(super::reserve(b"zero", 0), Err(Errno::EINVAL));
    ensure_eq!(super::reserve(b"huge", lkm::ioctl::MAX_IMAGE_SIZE + 1), Err(Errno::EINVAL));
    let mut ids = Vec::new();
    for i in 0..super::MAXLKMS {
        ids.push(super::reserve(alloc::format!("slot{i}").as_bytes(), 16).map_err(|e| alloc::format!("{e}"))?);
    }
    ensure_eq!(super::reserve(b"onemore", 16), Err(Errno::ENFILE));
    ensure_eq!(super::reserve(b"slot3", 16), Err(Errno::EEXIST));
    ensure_eq!(super::load_chunk(ids[0], &[0; 17]), Err(Errno::EINVAL));
    let e = super::ready(ids[1], None).err().ok_or("an incomplete image got ready")?;
    ensure_eq!(e.errno, Errno::EINVAL);
    for id in ids {
        let _ = super::unreserve(id);
    }
    ensure_eq!(super::unreserve(0), Err(Errno::ENOENT));
    ensure_eq!(super::get(super::MAXLKMS).err(), Some(Errno::EINVAL));
    ensure_eq!(super::get(0).err(), Some(Errno::ENOENT));
    Ok(())
}
kernel_test!(reservations_follow_the_classic_rules);

fn runs_never_nest_a_hook_inside_one_is_skipped_and_counted() -> TestResult {
    setup()?;
    let module = load("syscount")?;
    let before = super::run::skipped_total();
    let mut ctx = lkm::ctx::SyscallCtx::default();
    let outcome = crate::arch::jit::as_if_running(|| super::run::run(&module, "call", &mut ctx, None));
    ensure_eq!(outcome, super::run::Outcome::Skipped);
    ensure_eq!(super::run::skipped_total(), before + 1);
    ensure_eq!(module.skipped.load(core::sync::atomic::Ordering::Relaxed), 1);
    ensure_eq!(module.runs.load(core::sync::atomic::Ordering::Relaxed), 0);
    // Outside a run it runs.
    ensure!(matches!(super::run::run(&module, "call", &mut ctx, None), super::run::Outcome::Done(_)), "no run");
    unload_named(module)
}
kernel_test!(runs_never_nest_a_hook_inside_one_is_skipped_and_counted);

/// The magic key's `u` unloads the most recently loaded module: the order
/// is that of loads, not of slot ids (a freed low slot is reused).
fn newest_first_follows_the_order_of_loads() -> TestResult {
    setup()?;
    let quiet = |name: &str| -> Result<Arc<Module>, String> {
        load_image(&misc_image(name, "r0 = 0\nexit")?, name, None).map_err(|r| alloc::format!("loading {name}: {}", r.message))
    };
    let older = quiet("older")?;
    let middle = quiet("middle")?;
    unload_named(older)?;
    let newest = quiet("newest")?;
    ensure!(newest.id < middle.id, "`newest` did not reuse the freed lower slot");
    let names: Vec<String> =
        super::newest_first().iter().filter(|m| m.name == "newest" || m.name == "middle").map(|m| m.name.clone()).collect();
    ensure_eq!(names, ["newest", "middle"]);
    unload_named(newest)?;
    unload_named(middle)
}
kernel_test!(newest_first_follows_the_order_of_loads);
