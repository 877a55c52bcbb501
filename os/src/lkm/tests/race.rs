//! Unloading races the hook's users: one task per CPU uses the hook in a
//! loop while this one loads and unloads the module over and over (on
//! several CPUs, the uses run on other CPUs at the same time as the
//! unloads). Every
//! unload either is refused with `EBUSY` (a use is in progress) or leaves
//! the hook as it was before the module — never a use of a module after
//! its unload succeeded, never a panic — and every module is freed.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use abi::Errno;
use abi::fs::{O_CREAT, O_TRUNC, O_WRONLY, S_IFDIR};
use abi::syscall::SYS_YIELD;
use lkm::{ClassParams, LKM_CHAIN};

use super::hostile::generate::image;
use super::{setup, usage};
use crate::fs::{file, vfs};
use crate::ktest::TestResult;
use crate::lkm::{load_image, unload};
use crate::proc::{exec, life, sched};
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

/// Load/unload rounds per class.
const ROUNDS: usize = 1000;
const MOUNT: &str = "/rmnt";
const SCRIPT: &str = "/tmp/race-script";

static STOP: AtomicBool = AtomicBool::new(false);
/// Uses the second task made, and what it saw that it should not have.
static USES: AtomicU64 = AtomicU64::new(0);
static WRONG: AtomicU64 = AtomicU64::new(0);

/// Which hook the second task uses.
#[derive(Clone, Copy)]
enum Hook {
    /// `yield(2)`, wrapped by a module that chains to it: the task
    /// switches away in the middle of a call into the module.
    Syscall = 0,
    /// exec of a script the module's format claims.
    Exec = 1,
    /// mount and umount of the module's file-system type.
    Vfs = 2,
}

extern "C" fn user(hook: u64) -> ! {
    while !STOP.load(Ordering::Relaxed) {
        let ok = match hook {
            0 => syscall::dispatch(&Args { nr: SYS_YIELD, a: [0; 6] }) == 0,
            1 => matches!(exec::load(0, "/", SCRIPT, alloc::vec![String::from(SCRIPT)]).err(), Some(Errno::ENOENT | Errno::ENOEXEC)),
            _ => match vfs::mount("racefs", "none", MOUNT) {
                Ok(()) => {
                    sched::yield_now();
                    vfs::umount(MOUNT).is_ok()
                }
                Err(e) => e == Errno::ENODEV,
            },
        };
        USES.fetch_add(1, Ordering::Relaxed);
        WRONG.fetch_add(u64::from(!ok), Ordering::Relaxed);
        sched::yield_now();
    }
    life::exit(0)
}

fn module_image(hook: Hook) -> Result<Vec<u8>, String> {
    let enoent = || String::from("r0 = -2\nexit");
    match hook {
        Hook::Syscall => {
            let call = [("call", format!("r0 = {LKM_CHAIN} ll\nexit"))];
            image("racecall", ClassParams::Syscall { nr: SYS_YIELD as u32 }, &call, Vec::new(), Vec::new())
        }
        Hook::Exec => {
            let probe = [("probe", String::from("r1 = map_value[0] + 0 ll\nr2 = 8\ncall 9\nr0 = 1\nexit"))];
            image("raceexec", ClassParams::Exec, &probe, Vec::new(), b"/no/such".to_vec())
        }
        Hook::Vfs => {
            let programs = ["lookup", "getattr", "readdir", "read"].map(|e| (e, enoent()));
            image("racefs", ClassParams::Vfs { fstype: String::from("racefs") }, &programs, Vec::new(), Vec::new())
        }
    }
}

/// What the hook looks like without the module.
fn hook_state(hook: Hook) -> Vec<String> {
    match hook {
        Hook::Syscall => syscall::entry(SYS_YIELD).map(|e| e.name.into_owned()).into_iter().collect(),
        Hook::Exec => exec::format_names(),
        Hook::Vfs => vfs::type_names().into_iter().chain(vfs::mounts().into_iter().map(|m| m.1)).collect(),
    }
}

/// Loads and unloads the module of `hook` `rounds` times while one task
/// per CPU uses the hook; returns how many uses they made and how many
/// unloads were refused as busy.
fn race(hook: Hook, rounds: usize) -> Result<(u64, u64), String> {
    let bytes = module_image(hook)?;
    let name = lkm::parse(&bytes).map_err(|e| format!("{e}"))?.name;
    let without = hook_state(hook);
    STOP.store(false, Ordering::Relaxed);
    USES.store(0, Ordering::Relaxed);
    WRONG.store(0, Ordering::Relaxed);
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
    let mut busy = 0;
    let mut result = Ok(());
    for round in 0..rounds {
        let module = match load_image(&bytes, &name, None) {
            Ok(m) => m,
            Err(r) => {
                result = Err(format!("round {round}: load: {}\n{}", r.errno, r.message));
                break;
            }
        };
        let id = module.id;
        drop(module);
        sched::yield_now();
        loop {
            match unload(id) {
                Ok(()) => break,
                Err(r) if r.errno == Errno::EBUSY => {
                    busy += 1;
                    sched::yield_now();
                }
                Err(r) => {
                    result = Err(format!("round {round}: unload: {}\n{}", r.errno, r.message));
                    break;
                }
            }
        }
        if result.is_err() {
            break;
        }
        let now = hook_state(hook);
        if now != without {
            result = Err(format!("round {round}: after the unload the hook shows {now:?}, not {without:?}"));
            break;
        }
    }
    STOP.store(true, Ordering::Relaxed);
    let reaped: Vec<_> = pids.iter().map(|pid| life::wait(Some(*pid))).collect();
    result?;
    ensure_eq!(reaped, pids.iter().map(|pid| Ok((*pid, 0))).collect::<Vec<_>>());
    ensure_eq!(hook_state(hook), without);
    ensure!(USES.load(Ordering::Relaxed) > 0, "the second task never used the hook");
    ensure_eq!(WRONG.load(Ordering::Relaxed), 0);
    Ok((USES.load(Ordering::Relaxed), busy))
}

fn unloads_race_uses_of_every_hook() -> TestResult {
    setup()?;
    let _ = vfs::create(MOUNT, S_IFDIR | 0o755, 0, 0);
    let script = file::open(0, "/", SCRIPT, O_WRONLY | O_CREAT | O_TRUNC, 0o755).map_err(|e| format!("{e}"))?;
    script.write(b"#!x\n").map_err(|e| format!("{e}"))?;
    drop(script);
    crate::klog::set_console_level(log::LevelFilter::Error);
    let result = (|| {
        // One round of each first: the scheduler's and the hooks' lazy
        // tables are not leaks.
        for hook in [Hook::Syscall, Hook::Exec, Hook::Vfs] {
            race(hook, 1)?;
        }
        let before = usage();
        let (waits, waited, _) = crate::arch::grace::waited();
        let mut seen = [(0, 0); 3];
        for (i, hook) in [Hook::Syscall, Hook::Exec, Hook::Vfs].into_iter().enumerate() {
            seen[i] = race(hook, ROUNDS)?;
        }
        let after = usage();
        let (waits_after, waited_after, longest) = crate::arch::grace::waited();
        if waits_after > waits {
            let mean_ns = crate::time::cycles_to_ns((waited_after - waited) / (waits_after - waits));
            crate::println!(
                "    unloads under load on {} CPUs: the grace period took {mean_ns} ns on average over {} unloads (longest since boot {} ns)",
                crate::arch::percpu::online_count(),
                waits_after - waits,
                crate::time::cycles_to_ns(longest)
            );
        }
        crate::println!(
            "    {ROUNDS} unloads per hook raced uses from a task per CPU: (uses, unloads refused busy): syscall {:?}, exec {:?}, vfs {:?}",
            seen[0],
            seen[1],
            seen[2]
        );
        ensure!(seen[0].1 > 0, "no unload of the yield wrapper found a call in progress");
        ensure!(after == before, "memory (heap bytes, frames, code pages) went from {before:?} to {after:?}");
        Ok(())
    })();
    crate::klog::set_console_level(log::LevelFilter::Info);
    result
}
kernel_test!(unloads_race_uses_of_every_hook);
