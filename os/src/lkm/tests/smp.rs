//! Module code on several CPUs at once (the stage `kernel` runs these on
//! 1, 2 and 4 CPUs, as every test; `--filter smp` selects them).
//!
//! One process per CPU calls a system-call module (`modules/cpucount.s`)
//! in a loop. The module counts the calls with an atomic add (the total
//! must be exact), and notes with an atomic fetch-and-add on an "inside"
//! counter whether another run was inside the module when it entered:
//! module code never nests on one CPU, so that can only be another CPU,
//! at the same time.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use lkm::{ClassParams, MapDecl, MapKind};

use super::hostile::generate::image;
use core::sync::atomic::Ordering;

use super::setup;
use crate::arch::percpu;
use crate::ktest::TestResult;
use crate::lkm::{load_image, unload};
use crate::proc::{current_pid, life, smp_tests::looping_program};
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

/// Calls each process makes.
const CALLS: u32 = 300;

/// The module of the `cpus` scenario: `call` with `args[0]` 0 counts the
/// call, notes an overlap and spins a little inside; 1 answers the count,
/// 2 the overlaps.
const CPUCOUNT: &str = include_str!("../../../../modules/cpucount.s");

/// Returns the image and the system-call number it takes.
fn counting_module() -> Result<(Vec<u8>, usize), String> {
    let call = CPUCOUNT.split_once("; entry: call").map(|(_, program)| String::from(program));
    let call = call.ok_or("modules/cpucount.s has no `call` program")?;
    let counts = MapDecl { name: String::from("counts"), kind: MapKind::Array, key_size: 4, value_size: 24, max_entries: 1 };
    let nr = syscall::first_free().ok_or("no free system call slot")?;
    let bytes = image("smpcount", ClassParams::Syscall { nr: nr as u32 }, &[("call", call)], alloc::vec![counts], Vec::new())?;
    Ok((bytes, nr))
}

/// Asks the module (as the kernel's own caller) for a figure.
fn ask(nr: usize, what: u64) -> isize {
    syscall::dispatch(&Args { nr, a: [what, 0, 0, 0, 0, 0] })
}

/// Processes on every CPU call a module's system call: the atomic count
/// is exact, and with several CPUs two runs overlapped in time.
fn smp_module_system_calls_run_on_several_cpus_at_once() -> TestResult {
    setup()?;
    let (bytes, nr) = counting_module()?;
    let program = looping_program(nr, CALLS);
    let f = crate::fs::file::open(0, "/", "/tmp/smpcall", abi::fs::O_WRONLY | abi::fs::O_CREAT | abi::fs::O_TRUNC, 0o755)
        .map_err(|e| format!("{e}"))?;
    ensure_eq!(f.write(&program), Ok(program.len()));
    drop(f);
    let module = load_image(&bytes, "smpcount", None).map_err(|r| format!("loading smpcount: {}\n{}", r.errno, r.message))?;
    let id = module.id;
    let processes = percpu::online_count().max(2);
    let mut pids = Vec::new();
    for _ in 0..processes {
        let spec = life::SpawnSpec {
            path: "/tmp/smpcall",
            argv: alloc::vec![String::from("smpcall")],
            fds: [None, None, None],
            uid: 0,
            cwd: String::from("/"),
            parent: current_pid(),
        };
        pids.push(life::spawn(spec).map_err(|e| format!("spawning /tmp/smpcall: {e}"))?);
    }
    for pid in &pids {
        ensure_eq!(life::wait(Some(*pid)), Ok((*pid, 0)));
    }
    let (total, overlaps) = (ask(nr, 1), ask(nr, 2));
    let (runs, skipped) = (module.runs.load(Ordering::Relaxed), module.skipped.load(Ordering::Relaxed));
    drop(module);
    unload(id).map_err(|r| format!("unloading smpcount: {}\n{}", r.errno, r.message))?;
    crate::println!(
        "    {processes} processes on {} CPUs: {total} calls counted, {overlaps} runs overlapped another ({runs} runs, {skipped} skipped)",
        percpu::online_count().max(1)
    );
    ensure_eq!(total, (processes as u32 * CALLS) as isize);
    if percpu::online_count() > 1 {
        ensure!(overlaps > 0, "no run of the module overlapped another on another CPU");
    } else {
        ensure_eq!(overlaps, 0);
    }
    Ok(())
}
kernel_test!(smp_module_system_calls_run_on_several_cpus_at_once);
