//! `sysfuzz [-n CALLS] [-s SEED] [-c CHUNK]`: the system-call fuzzer, in
//! the manner of trinity and syzkaller. It makes CALLS random system calls
//! whose arguments know their types: descriptors it opened (files,
//! directories, devices, `/dev/lkm`, the console), closed ones and
//! nonsense numbers; pointers into its own memory, unmapped, read-only
//! (its code), in the kernel half and non-canonical; lengths at 0, 1, the
//! page edges and the integer limits; paths short, long and not UTF-8;
//! uids, pids, `/dev/lkm` requests. Every call number is used, the free
//! module slots and numbers past the table too. The kernel must refuse
//! what is wrong with an errno and go on.
//!
//! The calls run in workers, one after another: `sysfuzz -w -s SEED -n
//! CHUNK -d DIR` is spawned with its descriptor 1 on a counts file and 0,
//! 2 on `/dev/null`, fuzzes, and writes its per-call counts to fd 1 (which
//! it never hands to the fuzzed calls). A worker killed by a fault is
//! reported with its seed and the run goes on. Calls that change the file
//! tree (create, unlink, mount, mknod, truncate) name only paths in the
//! scratch directory DIR (`/tmp/sysfuzz-UID`), so that root's run cannot
//! destroy the files the rest of the system needs; `exit` and a successful
//! `exec` would end a worker, so it makes neither with random arguments.
//! A run is reproduced by its seed.
//!
//! This file is the parent (workers, counts, summary); `worker.rs` holds a
//! worker's state and argument generators, `calls.rs` the choice of calls.
#![no_std]
#![no_main]
extern crate alloc;

mod calls;
mod worker;

use abi::fs::{
    DIRENT_SIZE, Dirent, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, S_IFBLK, S_IFCHR, S_IFDIR, S_IFMT,
};
use abi::proc::STATUS_FAULT;
use abi::syscall::{self as nr, KINFO_FRAMES_USED, KINFO_HEAP_IN_USE, NSYSCALL};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use user::{println, sys};
user::entry!(main);

const USAGE: &str = "sysfuzz [-n CALLS] [-s SEED] [-c CHUNK]";
/// Slots in the count table: every table number, and one for those past it.
const BUCKETS: usize = NSYSCALL + 1;
/// How much the kernel heap (bytes) and frames may grow over a run
/// without being called a leak: caches and tables that grow once.
const HEAP_SLACK: usize = 256 * 1024;
const FRAME_SLACK: usize = 64;
/// How deep `clean` walks: deeper than any path a worker makes.
const CLEAN_DEPTH: u32 = 8;
/// The line a worker writes its counts on.
const COUNTS_TAG: &str = "sysfuzz-counts";

fn number(text: Option<&str>, default: u64) -> Option<u64> {
    match text {
        None => Some(default),
        Some(t) => match t.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => t.parse().ok(),
        },
    }
}

/// The seed of worker `i` of a run from `seed`.
fn worker_seed(seed: u64, i: u64) -> u64 {
    worker::Rng(seed ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d)).next()
}

/// What the workers of a run added up to.
struct Totals {
    counts: [u64; BUCKETS],
    succeeded: [u64; BUCKETS],
    lost: u64,
}

impl Totals {
    fn add(&mut self, text: &str) -> bool {
        let Some(line) = text.lines().rev().find_map(|l| l.strip_prefix(COUNTS_TAG)) else {
            return false;
        };
        let numbers: Vec<u64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        if numbers.len() != 2 * BUCKETS {
            return false;
        }
        for (total, n) in self.counts.iter_mut().chain(&mut self.succeeded).zip(&numbers) {
            *total += n;
        }
        true
    }
}

fn run_parent(seed: u64, calls: u64, chunk: u64) -> i32 {
    let uid = sys::getuid();
    let dir = format!("/tmp/sysfuzz-{uid}");
    let counts_path = format!("/tmp/sysfuzz-{uid}.counts");
    if let Err(e) = sys::mkdir(&dir, 0o755)
        && e != user::Errno::EEXIST
    {
        return user::report(&dir, e);
    }
    let workers = calls.div_ceil(chunk);
    println!("sysfuzz: seed {seed}, {calls} calls in {workers} workers of {chunk}, uid {uid}, scratch {dir}");
    let mut totals = Totals { counts: [0; BUCKETS], succeeded: [0; BUCKETS], lost: 0 };
    let started = sys::uptime_ns();
    let mut baseline = None;
    for i in 0..workers {
        clean(&dir);
        let (heap, frames) = kernel_memory();
        if i == 1 {
            baseline = Some((heap, frames));
        }
        let n = chunk.min(calls - i * chunk);
        let s = worker_seed(seed, i);
        let command = format!("sysfuzz -w -s {s:#x} -n {n} -d {dir}");
        // The kernel's memory before each worker shows which one left something behind.
        println!("sysfuzz: worker {i}: {command} (kernel heap {heap} bytes, {frames} frames)");
        let status = match run_one(&command, &counts_path) {
            Ok((status, text)) if status == 0 && totals.add(&text) => continue,
            Ok((status, _)) => status,
            Err(e) => return user::report("starting a worker", e),
        };
        totals.lost += 1;
        let how = if status == STATUS_FAULT { "was killed by a fault" } else { "ended without its counts" };
        println!("sysfuzz: worker {i} {how} (status {status}); rerun it with `{command}`");
    }
    let secs = sys::uptime_ns().saturating_sub(started) / 1_000_000_000;
    clean(&dir);
    let left = entries(&dir);
    if !left.is_empty() {
        println!("sysfuzz: left in {dir} after emptying it: {left:?}");
    }
    print_counts(&totals);
    let grew = baseline.is_some_and(|before| leaked(before, kernel_memory()));
    let made: u64 = totals.counts.iter().sum();
    let refused = made - totals.succeeded.iter().sum::<u64>();
    println!(
        "sysfuzz: done: {made} calls ({refused} refused with an errno) in {secs} s, {} of {workers} workers lost, seed {seed}",
        totals.lost
    );
    if totals.lost == 0 && !grew { 0 } else { 1 }
}

/// Kernel heap bytes in use and frames used outside the heap.
fn kernel_memory() -> (usize, usize) {
    (sys::kinfo(KINFO_HEAP_IN_USE, 0).unwrap_or(0), sys::kinfo(KINFO_FRAMES_USED, 0).unwrap_or(0))
}

/// Compares the kernel's memory after the first worker and after the
/// last, each with the scratch directory emptied: what every worker gave
/// back must not add up. Prints both; true if it grew past the slack.
fn leaked(before: (usize, usize), after: (usize, usize)) -> bool {
    println!(
        "sysfuzz: kernel memory after the first worker and at the end: heap {} -> {} bytes, frames {} -> {}",
        before.0, after.0, before.1, after.1
    );
    let grew = after.0 > before.0.saturating_add(HEAP_SLACK) || after.1 > before.1.saturating_add(FRAME_SLACK);
    if grew {
        println!("sysfuzz: kernel memory grew: a leak? rerun the workers one by one to find it");
    }
    grew
}

/// Empties the scratch directory `dir`, so that every worker starts from
/// the same tree and the leak check counts nothing a worker left: first
/// every mount on it or below it (deepest first, so that a mount over
/// others does not hide them), then the files, depth first.
fn clean(dir: &str) {
    let mut buf = alloc::vec![0u8; 16 * 1024];
    let table = sys::mounts(&mut buf).map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()).unwrap_or_default();
    // Lines read `SOURCE on DIR type TYPE`.
    let mut targets: Vec<&str> = table
        .lines()
        .filter_map(|l| l.rsplit_once(" type ").and_then(|(head, _)| head.rsplit_once(" on ")).map(|(_, d)| d))
        .filter(|d| *d == dir || d.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')))
        .collect();
    targets.sort_by_key(|d| core::cmp::Reverse(d.len()));
    for target in targets {
        let _ = sys::umount(target);
    }
    remove_entries(dir, CLEAN_DEPTH);
}

/// Removes what is in directory `dir`, `depth` levels down at most. A
/// device node is removed only under the names workers give them: in a
/// file system mounted from devfs, removing `null` would remove `/dev/null`.
fn remove_entries(dir: &str, depth: u32) {
    for name in entries(dir) {
        let path = format!("{dir}/{name}");
        let mode = sys::stat(&path).map_or(0, |st| st.mode & S_IFMT);
        if mode == S_IFDIR && depth > 0 {
            remove_entries(&path, depth - 1);
        }
        let node = mode == S_IFCHR || mode == S_IFBLK;
        if !node || worker::NODE_NAMES.iter().any(|n| n.ends_with(&format!("/{name}"))) {
            let _ = sys::unlink(&path);
        }
    }
}

/// The names in directory `dir` (none if it cannot be read).
fn entries(dir: &str) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(fd) = sys::open(dir, O_RDONLY | O_DIRECTORY, 0) else { return names };
    let mut buf = [Dirent::new(0, 0, b""); 16];
    while let Ok(bytes @ 1..) = sys::getdents(fd, &mut buf) {
        for d in &buf[..bytes / DIRENT_SIZE] {
            if let Ok(name) = core::str::from_utf8(d.name())
                && name != "."
                && name != ".."
            {
                names.push(String::from(name));
            }
        }
    }
    let _ = sys::close(fd);
    names
}

/// Runs one worker with its fd 1 on the counts file; its status and counts text.
fn run_one(command: &str, counts_path: &str) -> Result<(i32, String), user::Errno> {
    let null = sys::open("/dev/null", O_RDWR, 0)?;
    let out = sys::open(counts_path, O_RDWR | O_CREAT | O_TRUNC, 0o600)?;
    let argv: Vec<&str> = command.split(' ').collect();
    let spawned = sys::spawn_with("/bin/sysfuzz", &argv, [null as i32, out as i32, null as i32]);
    let _ = sys::close(null);
    let _ = sys::close(out);
    let pid = spawned?;
    let (_, status) = sys::wait(Some(pid))?;
    let text = user::io::read_file(counts_path)?;
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// Calls per number as `NAME CALLS/SUCCEEDED`, a few to a line.
fn print_counts(totals: &Totals) {
    let mut line = String::from("sysfuzz: calls/ok:");
    for (i, (&c, &ok)) in totals.counts.iter().zip(&totals.succeeded).enumerate() {
        let name = match nr::name(i) {
            Some(n) => String::from(n),
            None if i < NSYSCALL => format!("#{i}"),
            None => String::from("past-the-end"),
        };
        if c > 0 {
            line.push_str(&format!(" {name} {c}/{ok}"));
        }
        if line.len() > 70 {
            println!("{line}");
            line = String::from("sysfuzz:");
        }
    }
    if line != "sysfuzz:" {
        println!("{line}");
    }
}

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("nscd") else {
        return user::usage(USAGE);
    };
    if opts.unknown("nscdw").is_some() || !opts.operands.is_empty() {
        return user::usage(USAGE);
    }
    let (Some(calls), Some(seed), Some(chunk)) =
        (number(opts.value('n'), 50_000), number(opts.value('s'), 1), number(opts.value('c'), 5_000))
    else {
        return user::usage(USAGE);
    };
    if opts.has('w') {
        let dir = String::from(opts.value('d').unwrap_or("/tmp/sysfuzz"));
        return worker::run(seed, calls, dir);
    }
    run_parent(seed, calls, chunk.max(1))
}
