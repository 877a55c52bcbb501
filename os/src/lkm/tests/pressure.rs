//! The verifier under pressure inside the kernel.
//!
//! * Every allocation on the verifier's path is fallible: with the heap
//!   made to fail every allocation from the n-th on, verifying a program
//!   ends in a report (`out-of-memory`) for every n, never in a panic.
//! * A campaign of programs at each of the verifier's limits (instructions
//!   processed, stored states, pending paths, memory, call depth, wall
//!   time), among them a vfs image of five looping programs with stacks of
//!   different sizes, loaded back to back while a thread that stands for a
//!   printing user program runs: each load ends (loaded, or refused with
//!   its errno and reason), the thread makes progress during every
//!   verification that lasts a few ticks, and the heap is back to its
//!   starting figure after every refusal or unload. `PRESSURE_ROUNDS`
//!   campaigns run by default; selecting the test by name
//!   (`cargo xtask fuzz --campaign verifier-pressure`) runs more.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use abi::Errno;
use lkm::{ClassParams, Image, ProgramImage};

use super::{setup, unload_named};
use crate::ktest::TestResult;
use crate::lkm::{load_image, watch};
use crate::memory::heap;
use crate::proc::{life, sched};
use crate::{ensure, ensure_eq, kernel_test, memory, time};

/// Campaign rounds in the default run; `rounds=N` on the kernel command
/// line (`cargo xtask fuzz --campaign verifier-pressure --rounds N`) asks
/// for more.
const PRESSURE_ROUNDS: usize = 1;

/// A loop of `rounds` rounds that forks twice per round on a context value
/// and keeps `stack` bytes of stack alive: each round leaves pending paths
/// and stored states behind.
fn looping(rounds: u32, stack: u32) -> String {
    format!(
        "r6 = r1
         r7 = 0
         *(u64 *)(r10 - {stack}) = 0
         loop:
         r0 = *(u64 *)(r6 + 0)
         if r0 > 5 goto a
         r8 = 1
         a:
         if r0 > 7 goto b
         r8 = 2
         b:
         r7 += 1
         if r7 < {rounds} goto loop
         r0 = 0
         exit"
    )
}

/// A vfs image whose entry points run `sources` (lookup, getattr, ...;
/// those without one return 0).
fn vfs_image(name: &str, sources: &[String]) -> Result<Vec<u8>, String> {
    let entries = ["lookup", "getattr", "readdir", "read", "write"];
    let mut programs = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let src = sources.get(i).map_or("r0 = 0\nexit", String::as_str);
        let program = verifier::assemble(src).map_err(|e| format!("{name}: {e}"))?;
        programs.push(ProgramImage {
            entry: String::from(entry),
            code: verifier::encode(&program),
        });
    }
    let image = Image {
        name: String::from(name),
        params: ClassParams::Vfs {
            fstype: String::from(name),
        },
        programs,
        maps: Vec::new(),
        rodata: Vec::new(),
        ports: Vec::new(),
        lines: None,
    };
    Ok(image.to_bytes())
}

/// Local calls nested `depth` frames deep.
fn nested_calls(depth: usize) -> String {
    let mut src = String::new();
    for i in 1..depth {
        src.push_str(&format!("call local f{i}\nr0 = 0\nexit\nf{i}:\n"));
    }
    src.push_str("r0 = 0\nexit\n");
    src
}

/// The refusal of a load that ran out of memory while verifying.
const ENOMEM: (Errno, &str) = (Errno::ENOMEM, "error[out-of-memory]: the verifier ran out of memory");

/// One program of the campaign and what a load of it may end in.
struct Case {
    name: &'static str,
    sources: Vec<String>,
    /// Whether it may load, and the refusals it may end in.
    may_load: bool,
    refusals: &'static [(Errno, &'static str)],
    /// Time limit in force while it is verified, in ms.
    time_limit_ms: u64,
    /// Whether it is loaded with the heap filled up to [`SQUEEZED_TO`]
    /// bytes above the kernel's reserve.
    squeezed: bool,
}

/// Bytes left to the verifier in the squeezed case.
const SQUEEZED_TO: usize = 4 << 20;

fn case(name: &'static str, sources: Vec<String>, refusals: &'static [(Errno, &'static str)]) -> Case {
    Case { name, sources, may_load: refusals.is_empty(), refusals, time_limit_ms: watch::TIME_LIMIT_MS, squeezed: false }
}

fn cases() -> Vec<Case> {
    let count_forever = String::from("r0 = 0\nloop:\nr0 += 1\nif r0 != 0 goto loop\nexit");
    const PROCESSED: &str = "error[too-complex]: the analysis processed 1000000 instructions";
    const PENDING: &str = "error[too-complex]: more than 8192 paths wait to be explored";
    const PENDING_BYTES: &str = "error[too-complex]: the paths waiting to be explored need more than 33554432 bytes";
    const DEPTH: &str = "error[call-depth]: calls nest deeper than the limit of 8 frames";
    const TIME: &str = "error[time-limit]: the verifier ran for more than its limit of 100 ms";
    const HOLDS: &str = "error[out-of-memory]: the verifier ran out of memory: the analysis holds";
    // The image that once panicked the kernel: five loops, each round
    // leaving paths and states behind, stacks of five sizes (five size
    // classes of the heap). It loads, or is refused for memory.
    let five = [512, 384, 256, 128, 64].iter().map(|&s| looping(2500, s)).collect();
    alloc::vec![
        // First, while the heap is small: all it may take is in free frames.
        // When the heap holds more free than that, the pending paths'
        // limit may come first.
        Case {
            squeezed: true,
            ..case("vp_squeeze", alloc::vec![looping(6000, 512)], &[(Errno::ENOMEM, HOLDS), (Errno::EINVAL, PENDING_BYTES)])
        },
        Case { may_load: true, ..case("vp_five", five, &[ENOMEM]) },
        case("vp_insns", alloc::vec![count_forever.clone()], &[(Errno::EINVAL, PROCESSED)]),
        case("vp_pending", alloc::vec![looping(9000, 8)], &[(Errno::EINVAL, PENDING), ENOMEM]),
        case("vp_memory", alloc::vec![looping(6000, 512)], &[(Errno::EINVAL, PENDING_BYTES), ENOMEM]),
        case("vp_depth8", alloc::vec![nested_calls(8)], &[]),
        case("vp_depth9", alloc::vec![nested_calls(9)], &[(Errno::EINVAL, DEPTH)]),
        Case { time_limit_ms: 100, ..case("vp_time", alloc::vec![count_forever], &[(Errno::EINVAL, TIME)]) },
    ]
}

/// Frames taken from the frame allocator, given back when dropped.
struct Squeeze(Vec<x86_64::structures::paging::PhysFrame>);

impl Drop for Squeeze {
    fn drop(&mut self) {
        for f in self.0.drain(..) {
            let _ = memory::free_frame(f);
        }
    }
}

/// Takes free frames until the heap can hand out only [`SQUEEZED_TO`]
/// bytes above the kernel's reserve. (Frames, not heap: the heap keeps
/// the frames it grows by, so filling it would starve the code region and
/// every later test.)
fn squeeze() -> Result<Squeeze, String> {
    let available = memory::heap_stats().bytes_available;
    let wanted = available.saturating_sub(watch::HEAP_RESERVE + SQUEEZED_TO) / 4096;
    // Free blocks of the mapped heap count as available but are no frames.
    let frames = wanted.min(memory::frame::stats().free);
    let mut taken = Squeeze(Vec::new());
    taken.0.try_reserve_exact(frames).map_err(|_| format!("no room to hold {frames} frames"))?;
    for _ in 0..frames {
        taken.0.push(memory::alloc_frame().ok_or("the free frames ran out while counted")?);
    }
    Ok(taken)
}

/// Counts while the campaign runs: it stands for a user program that
/// keeps printing.
static PRINTED: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn printer(_arg: u64) -> ! {
    while !STOP.load(Ordering::Relaxed) {
        PRINTED.fetch_add(1, Ordering::Relaxed);
        sched::sleep_ticks(1);
    }
    life::exit(0)
}

/// Verifications lasting at least this many ticks must see the printer run.
const TICKS_THAT_MUST_SEE_PROGRESS: u64 = 3;

fn verifier_pressure_campaign() -> TestResult {
    setup()?;
    let rounds = crate::ktest::parameter("rounds").and_then(|v| v.parse().ok()).unwrap_or(PRESSURE_ROUNDS);
    crate::klog::set_console_level(log::LevelFilter::Warn);
    STOP.store(false, Ordering::Relaxed);
    let pid = sched::spawn_kernel_thread("ktest-printer", printer, 0).map_err(|e| format!("spawning the printing thread: {e}"))?;
    let result = campaign(rounds);
    STOP.store(true, Ordering::Relaxed);
    let reaped = life::wait(Some(pid));
    watch::set_time_limit_ms(watch::TIME_LIMIT_MS);
    crate::klog::set_console_level(log::LevelFilter::Info);
    result?;
    ensure_eq!(reaped, Ok((pid, 0)));
    Ok(())
}
kernel_test!(verifier_pressure_campaign);

fn campaign(rounds: usize) -> TestResult {
    let cases = cases();
    let mut images = Vec::new();
    for c in &cases {
        images.push(vfs_image(c.name, &c.sources)?);
    }
    // One load first: tables made on first use (of the vfs class) are not
    // what the campaign measures.
    let warm_up = vfs_image("vp_warm", &[])?;
    unload_named(load_image(&warm_up, "vp_warm", None).map_err(|r| format!("vp_warm: {}", r.message))?)?;
    crate::println!(
        "    case        result  insns_processed  verify_ms  ticks  printed  heap_before  heap_after  available"
    );
    let (mut loads, mut loaded_count) = (0usize, 0usize);
    for round in 0..rounds {
        for (c, bytes) in cases.iter().zip(&images) {
            loads += 1;
            watch::set_time_limit_ms(c.time_limit_ms);
            let before = memory::heap_stats().bytes_in_use;
            let (ticks, printed) = (time::ticks(), PRINTED.load(Ordering::Relaxed));
            let squeezed = c.squeezed.then(squeeze).transpose()?;
            let tight = squeezed.is_some()
                && memory::heap_stats().bytes_available <= watch::HEAP_RESERVE + 2 * SQUEEZED_TO;
            let loaded = load_image(bytes, c.name, None);
            drop(squeezed);
            let ticks = time::ticks() - ticks;
            let printed = PRINTED.load(Ordering::Relaxed) - printed;
            let (result, processed, verify_ms) = match loaded {
                Ok(module) => {
                    let s = module.stats();
                    unload_named(module)?;
                    ensure!(c.may_load, "{}: loaded, expected a refusal", c.name);
                    loaded_count += 1;
                    ("loaded", s.insns_processed, s.verify_ns / 1_000_000)
                }
                Err(r) => {
                    let expected = c
                        .refusals
                        .iter()
                        .any(|&(e, text)| e == r.errno && r.message.starts_with(text));
                    ensure!(
                        expected,
                        "{}: refused with {}:\n{}\nexpected one of {:?}",
                        c.name,
                        r.errno,
                        r.message,
                        c.refusals
                    );
                    ensure!(
                        r.message.contains("= help: ") || r.errno != Errno::ENOMEM,
                        "{}: no help:\n{}",
                        c.name,
                        r.message
                    );
                    ensure!(!tight || r.errno == Errno::ENOMEM, "{}: squeezed, refused with {}:\n{}", c.name, r.errno, r.message);
                    (r.errno.name(), 0, 0)
                }
            };
            let after = memory::heap_stats();
            crate::println!(
                "    {:<10} {result:>7} {processed:>16} {verify_ms:>10} {ticks:>6} {printed:>8} {before:>12} {:>11} {:>10}",
                c.name,
                after.bytes_in_use,
                after.bytes_available
            );
            ensure!(
                ticks < TICKS_THAT_MUST_SEE_PROGRESS || printed > 0,
                "round {round}, {}: the printing thread made no progress during {ticks} ticks of loading",
                c.name
            );
            ensure_eq!(after.bytes_in_use, before);
        }
    }
    crate::println!(
        "    verifier pressure: {rounds} rounds, {loads} loads ({loaded_count} loaded, the rest refused as expected), heap back after each, 0 panics"
    );
    Ok(())
}

/// Verifies `src` as the `lookup` entry of a vfs module with the heap made to
/// fail every allocation from the `n`-th on (`None`: no failure).
fn verify_failing_after(
    src: &str,
    n: Option<usize>,
) -> Result<Result<(), verifier::Report>, String> {
    let bytes = vfs_image("vp_fail", &[String::from(src)])?;
    let image = lkm::parse(&bytes).map_err(|e| format!("{e}"))?;
    let profile = lkm::profile_for(&image, 0).map_err(|e| format!("{e}"))?;
    let mut watch = watch::KernelWatch::new(profile.limits.max_memory);
    // Interrupts off: only the verifier allocates while allocations fail.
    let result = crate::arch::without_interrupts(|| {
        heap::fail_after(n);
        let result = verifier::decode(&image.programs[0].code)
            .map(|p| verifier::verify_watched(&p, &profile, &mut watch).map(drop));
        heap::fail_after(None);
        result
    });
    match result {
        Ok(verdict) => Ok(verdict),
        Err(e) if matches!(e.kind, verifier::DecodeErrorKind::OutOfMemory { .. }) => {
            Ok(Err(verifier::Report::out_of_memory(e.slot)))
        }
        Err(e) => Err(format!("{e}")),
    }
}

fn the_verifier_never_panics_when_allocations_fail() -> TestResult {
    let src = looping(4, 64);
    ensure_eq!(verify_failing_after(&src, None)?, Ok(()));
    let mut n = 0;
    loop {
        let before = memory::heap_stats().bytes_in_use;
        let result = verify_failing_after(&src, Some(n))?;
        ensure_eq!(memory::heap_stats().bytes_in_use, before);
        match result {
            Ok(()) => break,
            Err(r) => ensure!(
                r.kind == verifier::ErrorKind::OutOfMemory,
                "allocation {n} failed:\n{r}"
            ),
        }
        n += 1;
    }
    crate::println!("    {n} allocations, each made to fail in turn");
    ensure!(
        n > 20,
        "only {n} allocations: the program does not exercise the analysis"
    );
    Ok(())
}
kernel_test!(the_verifier_never_panics_when_allocations_fail);
