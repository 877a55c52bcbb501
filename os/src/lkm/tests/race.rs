//! Unloading races the hooks' users: one task per CPU uses a hook of
//! every class in a loop while this one loads and unloads the module over
//! and over (the stage `kernel` runs it on 1, 2 and 4 CPUs, as every
//! test; its name contains `smp`, for `--filter smp`).
//!
//! A system call or an exec format in use is drained (the unload waits for
//! the uses in progress); an open device or a mounted file system refuses
//! the unload with `EBUSY` until its user lets go. Either way, every
//! unload that succeeds leaves the hook as it was before the module; never
//! a panic; every module is freed. Each module counts the uses that reach
//! it with an atomic add in an array map: the test reads the count after
//! each unload, and the totals equal the uses the tasks saw the module
//! answer. A use after the unload would be seen and not counted (the map
//! is poisoned once the module is freed, `module::MAP_POISON`), so the
//! totals would differ. Two more tests: the poison is really there after
//! an unload, and a call that sleeps inside a module makes the unload
//! give up after `gate::DRAIN_MS`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use abi::Errno;
use abi::fs::{O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, S_IFDIR};
use abi::syscall::SYS_YIELD;
use lkm::class::MAJOR_ANY;
use lkm::{ClassParams, LKM_CHAIN, MapDecl, MapKind};

use super::hostile::generate::image;
use super::{setup, usage};
use crate::fs::{device, file, vfs};
use crate::ktest::TestResult;
use crate::lkm::module::Module;
use crate::lkm::{class::gate, load_image, loaded, unload};
use crate::proc::{exec, life, sched};
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

/// Load/unload rounds per class.
const ROUNDS: usize = 200;
/// Microseconds a racing task waits between two uses on several CPUs.
const USE_GAP_US: u64 = 100;
const MOUNT: &str = "/rmnt";
const SCRIPT: &str = "/tmp/race-script";
const DEVICE: &str = "racedev";

static STOP: AtomicBool = AtomicBool::new(false);
/// Uses the tasks made, those the module answered, and what they saw
/// that they should not have.
static USES: AtomicU64 = AtomicU64::new(0);
static ANSWERED: AtomicU64 = AtomicU64::new(0);
static WRONG: AtomicU64 = AtomicU64::new(0);

/// Which hook the tasks use.
#[derive(Clone, Copy, Debug)]
enum Hook {
    /// `yield(2)`, wrapped by a module: with argument 1 the module
    /// answers 1; with 0 it chains to `yield`, so the task switches away
    /// in the middle of a call into the module.
    Syscall = 0,
    /// exec of a file the module's format claims (then `ENOENT`: its
    /// interpreter does not exist).
    Exec = 1,
    /// mount, a look-up the module answers with `EDOM` (its `getattr`),
    /// umount.
    Vfs = 2,
    /// open, read (the module answers one byte), close of `/dev/racedev`.
    Dev = 3,
    /// none: the module's `tick` runs on every CPU's timer.
    Tick = 4,
}

const HOOKS: [Hook; 5] = [Hook::Syscall, Hook::Exec, Hook::Vfs, Hook::Dev, Hook::Tick];

/// One use of `hook`: `Some(answered)` for what the task may see,
/// `None` for what it must not.
fn use_once(hook: u64, round: u64) -> Option<bool> {
    match hook {
        0 => match syscall::dispatch(&Args { nr: SYS_YIELD, a: [round & 1, 0, 0, 0, 0, 0] }) {
            1 if round & 1 == 1 => Some(true),
            0 => Some(false),
            _ => None,
        },
        1 => match exec::load(0, "/", SCRIPT, alloc::vec![String::from(SCRIPT)]).err() {
            Some(Errno::ENOENT) => Some(true),
            Some(Errno::ENOEXEC) => Some(false),
            _ => None,
        },
        2 => match vfs::mount("racefs", "none", MOUNT) {
            Ok(()) => {
                let answer = vfs::resolve(&format!("{MOUNT}/x")).err();
                sched::yield_now();
                // Another task may be looking through the mount a moment.
                let unmounted = loop {
                    match vfs::umount(MOUNT) {
                        Err(Errno::EBUSY) => sched::yield_now(),
                        done => break done.is_ok(),
                    }
                };
                (unmounted && answer == Some(Errno::EDOM)).then_some(true)
            }
            // Mounted by another task: the module answered the look at
            // the mount point.
            Err(Errno::EDOM) => Some(true),
            Err(Errno::ENODEV | Errno::EBUSY) => Some(false),
            Err(_) => None,
        },
        3 => match file::open(0, "/", &format!("/dev/{DEVICE}"), O_RDONLY, 0) {
            Ok(f) => {
                let mut byte = [0u8; 4];
                let read = f.read(&mut byte);
                sched::yield_now();
                (read == Ok(1) && byte[0] == b'r').then_some(true)
            }
            Err(Errno::ENOENT | Errno::ENXIO) => Some(false),
            Err(_) => None,
        },
        _ => Some(false),
    }
}

extern "C" fn user(hook: u64) -> ! {
    let mut round = 0u64;
    while !STOP.load(Ordering::Relaxed) {
        let seen = use_once(hook, round);
        round = round.wrapping_add(1);
        USES.fetch_add(1, Ordering::Relaxed);
        ANSWERED.fetch_add(u64::from(seen == Some(true)), Ordering::Relaxed);
        WRONG.fetch_add(u64::from(seen.is_none()), Ordering::Relaxed);
        sched::yield_now();
        if crate::arch::percpu::online_count() > 1 {
            // A moment with interrupts on between uses: a CPU spinning
            // for the run queue's lock takes no IPI, and every unload
            // waits for each CPU to answer its grace period and TLB
            // shootdowns.
            crate::time::delay_us(USE_GAP_US);
        }
    }
    life::exit(0)
}

/// Adds 1 to the `u64` at the start of map 0 (an array map), atomically.
const COUNT: &str = "r2 = map_value[0] + 0 ll\nr3 = 1\nlock *(u64 *)(r2 + 0) += r3\n";

fn module_image(hook: Hook) -> Result<Vec<u8>, String> {
    let counter = || alloc::vec![MapDecl { name: String::from("uses"), kind: MapKind::Array, key_size: 4, value_size: 8, max_entries: 1 }];
    match hook {
        Hook::Syscall => {
            let call = format!("r6 = *(u64 *)(r1 + 8)\nif r6 == 0 goto chain\n{COUNT}r0 = 1\nexit\nchain:\nr0 = {LKM_CHAIN} ll\nexit");
            image("racecall", ClassParams::Syscall { nr: SYS_YIELD as u32 }, &[("call", call)], counter(), Vec::new())
        }
        Hook::Exec => {
            let probe = format!("{COUNT}r1 = map_value[1] + 0 ll\nr2 = 8\ncall 9\nr0 = 1\nexit");
            image("raceexec", ClassParams::Exec, &[("probe", probe)], counter(), b"/no/such".to_vec())
        }
        Hook::Vfs => {
            let mut programs = ["lookup", "readdir", "read"].map(|e| (e, String::from("r0 = -2\nexit"))).to_vec();
            programs.push(("getattr", format!("{COUNT}r0 = -{}\nexit", Errno::EDOM as i32)));
            image("racefs", ClassParams::Vfs { fstype: String::from("racefs") }, &programs, counter(), Vec::new())
        }
        Hook::Dev => {
            let read = format!("{COUNT}r1 = map_value[1] + 0 ll\nr2 = 1\ncall 9\nr0 = 1\nexit");
            let params = ClassParams::Dev { major: MAJOR_ANY, name: String::from(DEVICE) };
            image("racedev", params, &[("read", read)], counter(), b"r".to_vec())
        }
        Hook::Tick => image("racetick", ClassParams::Misc, &[("tick", format!("{COUNT}r0 = 0\nexit"))], counter(), Vec::new()),
    }
}

/// What the hook looks like without the module.
fn hook_state(hook: Hook) -> Vec<String> {
    match hook {
        Hook::Syscall => syscall::entry(SYS_YIELD).map(|e| e.name.into_owned()).into_iter().collect(),
        Hook::Exec => exec::format_names(),
        Hook::Vfs => vfs::type_names().into_iter().chain(vfs::mounts().into_iter().map(|m| m.1)).collect(),
        Hook::Dev => {
            let node = vfs::resolve(&format!("/dev/{DEVICE}")).map(|_| format!("/dev/{DEVICE}"));
            device::drivers().into_iter().map(|d| d.2).chain(node).collect()
        }
        Hook::Tick => loaded().into_iter().map(|m| m.name.clone()).collect(),
    }
}

/// The count in the module's map.
fn counted(module: &Module) -> u64 {
    module.maps[0].with(|m| m.values().first_chunk::<8>().map_or(0, |b| u64::from_le_bytes(*b)))
}

/// What one race saw.
#[derive(Debug, Default)]
struct Seen {
    uses: u64,
    answered: u64,
    counted: u64,
    refused_busy: u64,
    ms: u64,
}

/// Loads and unloads the module of `hook` `rounds` times while one task
/// per CPU uses the hook.
fn race(hook: Hook, rounds: usize) -> Result<Seen, String> {
    let bytes = module_image(hook)?;
    let name = lkm::parse(&bytes).map_err(|e| format!("{e}"))?.name;
    let without = hook_state(hook);
    STOP.store(false, Ordering::Relaxed);
    for n in [&USES, &ANSWERED, &WRONG] {
        n.store(0, Ordering::Relaxed);
    }
    let mut pids = Vec::new();
    for _ in 0..crate::arch::percpu::online_count().max(1) {
        match sched::spawn_kernel_thread("ktest-race", user, hook as u64) {
            Ok(pid) => pids.push(pid),
            Err(e) => {
                STOP.store(true, Ordering::Relaxed);
                for pid in pids {
                    let _ = life::wait(Some(pid));
                }
                return Err(format!("spawning a racing task: {e}"));
            }
        }
    }
    let mut seen = Seen::default();
    let start = crate::arch::rdtsc();
    let mut result = Ok(());
    for round in 0..rounds {
        let module = match load_image(&bytes, &name, None) {
            Ok(m) => m,
            Err(r) => {
                result = Err(format!("round {round}: load: {}\n{}", r.errno, r.message));
                break;
            }
        };
        if matches!(hook, Hook::Tick) {
            // Unload a module whose `tick` is running on the CPUs.
            let until = crate::time::ticks() + 2;
            while counted(&module) == 0 && crate::time::ticks() < until {
                sched::yield_now();
            }
        }
        sched::yield_now();
        loop {
            match unload(module.id) {
                Ok(()) => break,
                Err(r) if r.errno == Errno::EBUSY => {
                    seen.refused_busy += 1;
                    sched::yield_now();
                }
                Err(r) => {
                    result = Err(format!("round {round}: unload: {}\n{}", r.errno, r.message));
                    break;
                }
            }
        }
        // Unloaded (or failed): nothing runs the module any more, so its
        // count is final; dropping it poisons the map.
        seen.counted += counted(&module);
        drop(module);
        if result.is_err() {
            break;
        }
        let now = hook_state(hook);
        if now != without {
            result = Err(format!("round {round}: after the unload the hook shows {now:?}, not {without:?}"));
            break;
        }
    }
    seen.ms = crate::time::cycles_to_ns(crate::arch::rdtsc().saturating_sub(start)) / 1_000_000;
    STOP.store(true, Ordering::Relaxed);
    let reaped: Vec<_> = pids.iter().map(|pid| life::wait(Some(*pid))).collect();
    result?;
    ensure_eq!(reaped, pids.iter().map(|pid| Ok((*pid, 0))).collect::<Vec<_>>());
    ensure_eq!(hook_state(hook), without);
    (seen.uses, seen.answered) = (USES.load(Ordering::Relaxed), ANSWERED.load(Ordering::Relaxed));
    ensure!(seen.uses > 0, "the racing tasks never used the {hook:?} hook");
    ensure_eq!(WRONG.load(Ordering::Relaxed), 0);
    if !matches!(hook, Hook::Tick) {
        ensure!(seen.counted == seen.answered, "{hook:?}: the module counted {} uses, the tasks saw {}", seen.counted, seen.answered);
    }
    Ok(seen)
}

fn smp_unloads_race_uses_of_every_hook() -> TestResult {
    setup()?;
    let _ = vfs::create(MOUNT, S_IFDIR | 0o755, 0, 0);
    let script = file::open(0, "/", SCRIPT, O_WRONLY | O_CREAT | O_TRUNC, 0o755).map_err(|e| format!("{e}"))?;
    script.write(b"race\n").map_err(|e| format!("{e}"))?;
    drop(script);
    crate::klog::set_console_level(log::LevelFilter::Error);
    let result = (|| {
        // One round of each first: the scheduler's and the hooks' lazy
        // tables are not leaks.
        for hook in HOOKS {
            race(hook, 1)?;
        }
        let mut seen = Vec::with_capacity(HOOKS.len());
        let before = usage();
        let (drains, drained, _) = gate::waited();
        let start = crate::arch::rdtsc();
        for hook in HOOKS {
            seen.push((hook, race(hook, ROUNDS)?));
        }
        let ms = crate::time::cycles_to_ns(crate::arch::rdtsc().saturating_sub(start)) / 1_000_000;
        let after = usage();
        let (drains_after, drained_after, longest) = gate::waited();
        let cpus = crate::arch::percpu::online_count().max(1);
        crate::println!("    {ROUNDS} loads and unloads per class in {ms} ms, raced by {cpus} tasks on {cpus} CPUs:");
        for (hook, s) in &seen {
            crate::println!(
                "      {hook:?}: {} ms, {} uses, {} answered by the module, {} counted by it, {} unloads refused busy",
                s.ms,
                s.uses,
                s.answered,
                s.counted,
                s.refused_busy
            );
        }
        let waited = drains_after - drains;
        let mean = crate::time::cycles_to_ns((drained_after - drained).checked_div(waited).unwrap_or(0));
        crate::println!(
            "    {waited} unloads waited for calls in progress: {mean} ns on average (longest since boot {} ns)",
            crate::time::cycles_to_ns(longest)
        );
        ensure!(waited > 0, "no unload of the yield wrapper found a call in progress to wait for");
        let gated_busy: u64 = seen.iter().filter(|(h, _)| matches!(h, Hook::Syscall | Hook::Exec)).map(|(_, s)| s.refused_busy).sum();
        ensure!(gated_busy == 0, "{gated_busy} unloads of a system call or exec format were refused instead of waiting");
        ensure!(seen.iter().any(|(h, s)| matches!(h, Hook::Tick) && s.counted > 0), "no `tick` ran in {ROUNDS} rounds");
        ensure!(after == before, "memory (heap bytes, frames, code pages) went from {before:?} to {after:?}");
        Ok(())
    })();
    crate::klog::set_console_level(log::LevelFilter::Info);
    result
}
kernel_test!(smp_unloads_race_uses_of_every_hook);

/// Where [`a_freed_modules_map_is_poisoned`]'s module keeps its count:
/// past the bytes the heap may write into a freed block.
const POISONED_AT: u64 = 4096;

/// After an unload the freed map holds the poison where the module's count
/// was (read through the direct map): a late run would find a count near
/// 0x6b6b_6b6b_6b6b_6b6b, and the count it returned to its caller would
/// differ from every count the race test compares.
fn a_freed_modules_map_is_poisoned() -> TestResult {
    setup()?;
    let big = MapDecl { name: String::from("big"), kind: MapKind::Array, key_size: 4, value_size: 8192, max_entries: 1 };
    let call = format!("r2 = map_value[0] + {POISONED_AT} ll\nr3 = 1\nlock *(u64 *)(r2 + 0) += r3\nr0 = *(u64 *)(r2 + 0)\nexit");
    let nr = syscall::first_free().ok_or("no free system-call slot")?;
    let bytes = image("poisoned", ClassParams::Syscall { nr: nr as u32 }, &[("call", call)], alloc::vec![big], Vec::new())?;
    let module = load_image(&bytes, "poisoned", None).map_err(|r| format!("loading: {}\n{}", r.errno, r.message))?;
    let counts: Vec<isize> = (0..3).map(|_| syscall::dispatch(&Args { nr, a: [0; 6] })).collect();
    ensure_eq!(counts, alloc::vec![1, 2, 3]);
    // The direct-map alias of each word from the count on (the heap
    // keeps its pages mapped, so the aliases stay valid after the free).
    let values = module.maps[0].values_address();
    let aliases: Vec<u64> = (POISONED_AT..8192)
        .step_by(8)
        .map(|offset| crate::memory::virt_to_phys(values + offset).map(crate::memory::phys_to_virt))
        .collect::<Option<_>>()
        .ok_or("a map value is not mapped")?;
    let read = |alias: u64| crate::arch::probe::read_u64(alias).map_err(|f| format!("reading the alias {alias:#x}: {f}"));
    ensure_eq!(read(aliases[0])?, 3);
    unload(module.id).map_err(|r| format!("unloading: {}\n{}", r.errno, r.message))?;
    drop(module);
    let poison = u64::from_ne_bytes([crate::lkm::module::MAP_POISON; 8]);
    for (i, alias) in aliases.iter().enumerate() {
        let word = read(*alias)?;
        ensure!(word == poison, "the freed map holds {word:#x} at offset {}, not the poison {poison:#x}", POISONED_AT + 8 * i as u64);
    }
    Ok(())
}
kernel_test!(a_freed_modules_map_is_poisoned);

/// How long [`sleeper`] sleeps inside the wrapper of `sleep(2)`: longer
/// than an unload waits.
const SLEEP_MS: u64 = gate::DRAIN_MS + 500;

extern "C" fn sleeper(_: u64) -> ! {
    let slept = syscall::dispatch(&Args { nr: abi::syscall::SYS_SLEEP, a: [SLEEP_MS, 0, 0, 0, 0, 0] });
    life::exit(i32::from(slept != 0))
}

/// A call that sleeps inside a module holds it: the unload waits
/// `DRAIN_MS`, then gives up with `EBUSY` and the reason, and leaves the
/// module as it was (calls reach it again); once the call has returned
/// the unload succeeds.
fn an_unload_waits_a_bounded_time_for_a_call_that_sleeps_in_the_module() -> TestResult {
    setup()?;
    let nr = abi::syscall::SYS_SLEEP;
    let original = syscall::entry(nr).map(|e| e.name.into_owned());
    let call = [("call", format!("r0 = {LKM_CHAIN} ll\nexit"))];
    let bytes = image("sleepwrap", ClassParams::Syscall { nr: nr as u32 }, &call, Vec::new(), Vec::new())?;
    let module = load_image(&bytes, "sleepwrap", None).map_err(|r| format!("loading: {}\n{}", r.errno, r.message))?;
    let pid = sched::spawn_kernel_thread("ktest-sleeper", sleeper, 0).map_err(|e| format!("spawning the sleeper: {e}"))?;
    while module.runs.load(Ordering::Relaxed) == 0 {
        sched::yield_now();
    }
    let start = crate::arch::rdtsc();
    let refusal = unload(module.id).err().ok_or("the module unloaded while a call slept inside it")?;
    let waited_ms = crate::time::cycles_to_ns(crate::arch::rdtsc().saturating_sub(start)) / 1_000_000;
    ensure_eq!(refusal.errno, Errno::EBUSY);
    ensure!(
        refusal.message.contains("module `sleepwrap` is in use")
            && refusal.message.contains(&format!("system call {nr}) was still in progress after {} ms", gate::DRAIN_MS)),
        "{}",
        refusal.message
    );
    ensure!(waited_ms >= gate::DRAIN_MS, "the unload gave up after {waited_ms} ms");
    // Given up: the gate is open again and the module answers.
    ensure_eq!(syscall::entry(nr).map(|e| e.name.into_owned()), Some(String::from("sleepwrap")));
    ensure_eq!(syscall::dispatch(&Args { nr, a: [0; 6] }), 0);
    ensure_eq!(module.runs.load(Ordering::Relaxed), 2);
    ensure_eq!(life::wait(Some(pid)), Ok((pid, 0)));
    unload(module.id).map_err(|r| format!("unloading: {}\n{}", r.errno, r.message))?;
    ensure_eq!(syscall::entry(nr).map(|e| e.name.into_owned()), original);
    Ok(())
}
kernel_test!(an_unload_waits_a_bounded_time_for_a_call_that_sleeps_in_the_module);
