//! The hostile-module campaign: generated modules of every class (see
//! [`generate`]) loaded through the path `/dev/lkm` uses, then used the way
//! a user would — the system call called, the file system mounted, listed,
//! read, appended to and truncated, the device opened, read, written and
//! ioctl'd, a script run through the binary format, ticks let run — and
//! unloaded. What the user sees must stay in range (byte counts no larger
//! than asked, sizes a file can have, inode numbers and names a directory
//! can hold, errnos of the table); after unloading, the hook is as it was,
//! nothing holds the module, and memory is back.
//!
//! `cargo xtask test` runs [`DEFAULT_COUNT`] modules (each twice: memory
//! is measured around the second round); the kernel command
//! line `smp_hostile_modules_campaign count=N seed=S` (what `cargo xtask fuzz
//! --campaign hostile-modules` boots) runs more.

pub mod generate;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use abi::Errno;
use abi::fs::{Dirent, O_APPEND, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFDIR, S_IFMT, S_IFREG};
use lkm::ClassParams;
use lkm::class::{MAJOR_ANY, SYSCALL_NEXT_FREE};

use super::{setup, usage};
use crate::fs::vfs::{self, Attr, MAX_OFFSET};
use crate::fs::{device, file};
use crate::ktest::TestResult;
use crate::lkm::class::vfs::MAX_INO;
use crate::lkm::module::Module;
use crate::lkm::{load_image, loaded, unload};
use crate::proc::exec;
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};
use generate::Rng;

/// Modules in the run of every `cargo xtask test` (20 of each class).
pub const DEFAULT_COUNT: u64 = 100;
/// The seed of that run.
pub const DEFAULT_SEED: u64 = 1;

/// Where the campaign mounts the file systems, and the script it runs.
const MOUNT: &str = "/hmnt";
const SCRIPT: &str = "/tmp/hostile-script";

/// What the campaign did.
#[derive(Default, Debug)]
struct Tally {
    loaded: u64,
    refused: u64,
    uses: u64,
    errors: u64,
    rejected: u64,
}

impl Tally {
    /// Counts one use and whether the user saw an error.
    fn saw<T>(&mut self, r: &Result<T, Errno>) {
        self.uses += 1;
        self.errors += u64::from(r.is_err());
    }
}

/// The campaign's count and seed: `count=N seed=S` on the kernel command
/// line after the test filter, else the defaults.
fn parameters() -> (u64, u64) {
    let value = |key| crate::ktest::parameter(key).and_then(|v| v.parse().ok());
    (value("count").unwrap_or(DEFAULT_COUNT), value("seed").unwrap_or(DEFAULT_SEED))
}

fn smp_hostile_modules_campaign() -> TestResult {
    setup()?;
    let _ = vfs::create(MOUNT, S_IFDIR | 0o755, 0, 0);
    let script = file::open(0, "/", SCRIPT, O_WRONLY | O_CREAT | O_TRUNC, 0o755).map_err(err)?;
    script.write(b"#!/bin/sh\necho hi\n").map_err(err)?;
    drop(script);
    let (count, seed) = parameters();
    crate::klog::set_console_level(log::LevelFilter::Error);
    // The same modules twice, memory measured around the second round:
    // what the first uses make lazily (the tick list, a node slot) is not
    // a leak; what the second round keeps is.
    let warm = run(seed, count);
    let before = usage();
    let result = warm.and_then(|_| run(seed, count));
    let after = usage();
    crate::klog::set_console_level(log::LevelFilter::Info);
    let tally = result.map_err(|e| format!("seed {seed}: {e}"))?;
    crate::println!(
        "    hostile modules: seed {seed}, {count} modules ({} loaded, {} refused at load), {} uses ({} errors), {} values rejected, 0 panics",
        tally.loaded,
        tally.refused,
        tally.uses,
        tally.errors,
        tally.rejected
    );
    ensure!(after == before, "seed {seed}: memory (heap bytes, frames, code pages) went from {before:?} to {after:?}");
    Ok(())
}
kernel_test!(smp_hostile_modules_campaign);

fn err(e: Errno) -> String {
    format!("{e}")
}

/// Generates, loads, uses and unloads `count` modules from `seed`.
fn run(seed: u64, count: u64) -> Result<Tally, String> {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for i in 0..count {
        let name = format!("hostile{i}");
        let params = match i % 5 {
            0 => ClassParams::Syscall { nr: if rng.below(3) == 0 { abi::syscall::SYS_GETPID as u32 } else { SYSCALL_NEXT_FREE } },
            1 => ClassParams::Vfs { fstype: name.clone() },
            2 => ClassParams::Dev { major: MAJOR_ANY, name: name.clone() },
            3 => ClassParams::Exec,
            _ => ClassParams::Misc,
        };
        let image = generate::module(&mut rng, &name, params.clone())?;
        let hooks = hooks(&params, &name);
        let module = match load_image(&image, &name, None) {
            Ok(m) => m,
            Err(refusal) => {
                // Only a misc module's `load` may refuse (with its errno).
                ensure!(matches!(params, ClassParams::Misc), "module {i} refused: {}\n{}", refusal.errno, refusal.message);
                ensure!(loaded().iter().all(|m| m.name != name), "module {i}: refused but listed");
                tally.refused += 1;
                continue;
            }
        };
        tally.loaded += 1;
        use_module(&module, &mut rng, &mut tally).map_err(|e| format!("module {i} ({}): {e}", module.class().name()))?;
        tally.rejected += module.rejected.load(Ordering::Relaxed);
        unload(module.id).map_err(|r| format!("module {i}: unload refused: {}\n{}", r.errno, r.message))?;
        ensure_eq!(hooks, self::hooks(&params, &name));
        ensure!(alloc::sync::Arc::strong_count(&module) == 1, "module {i}: a hook still holds it after unload");
    }
    Ok(tally)
}

/// What the hook table of a class shows for module `name`.
fn hooks(params: &ClassParams, name: &str) -> Vec<String> {
    match params {
        ClassParams::Syscall { .. } => syscall::names().into_iter().map(|(nr, n)| format!("{nr}:{n}")).collect(),
        ClassParams::Vfs { .. } => vfs::type_names().into_iter().chain(vfs::mounts().into_iter().map(|m| m.0)).collect(),
        ClassParams::Dev { .. } => {
            let node = vfs::resolve(&format!("/dev/{name}")).is_ok();
            device::drivers().into_iter().map(|d| d.2).chain(node.then(|| String::from("node"))).collect()
        }
        ClassParams::Exec => exec::format_names(),
        ClassParams::Misc => Vec::new(),
    }
}

fn use_module(module: &Module, rng: &mut Rng, tally: &mut Tally) -> TestResult {
    match &module.params {
        ClassParams::Syscall { .. } => use_syscall(module, rng, tally),
        ClassParams::Vfs { fstype } => use_vfs(fstype, tally),
        ClassParams::Dev { name, .. } => use_dev(name, tally),
        ClassParams::Exec => use_exec(tally),
        ClassParams::Misc => {
            let until = crate::time::ticks() + 2;
            while crate::time::ticks() < until {
                crate::arch::wait_for_interrupt();
            }
            Ok(())
        }
    }
}

fn use_syscall(module: &Module, rng: &mut Rng, tally: &mut Tally) -> TestResult {
    let nr = module.slot() as usize;
    for _ in 0..3 {
        let a = [rng.next(), 0, u64::MAX, 1, rng.next(), 0];
        let r = syscall::dispatch(&Args { nr, a });
        let seen = Errno::from_ret(r);
        ensure!(r >= 0 || Errno::from_i32(r.unsigned_abs() as i32).is_some(), "system call {nr} returned {r}, no errno");
        tally.saw(&seen);
    }
    Ok(())
}

/// What `stat` may show of a file of a module file system.
fn sane(attr: &Attr) -> bool {
    let kind = attr.mode & S_IFMT;
    (kind == S_IFREG || kind == S_IFDIR) && attr.mode & !(S_IFMT | 0o777) == 0 && attr.size <= MAX_OFFSET
}

fn use_vfs(fstype: &str, tally: &mut Tally) -> TestResult {
    vfs::mount(fstype, "none", MOUNT).map_err(err)?;
    let result = use_mounted(tally);
    vfs::umount(MOUNT).map_err(|e| format!("umount {MOUNT}: {e}"))?;
    result
}

fn use_mounted(tally: &mut Tally) -> TestResult {
    // ls
    let root = vfs::resolve(MOUNT).map_err(err)?;
    for index in 0..6 {
        let entry = root.fs().readdir(root.ino, index);
        tally.saw(&entry);
        if let Ok(Some(e)) = entry {
            ensure!((1..=MAX_INO).contains(&e.ino), "readdir gave inode {}", e.ino);
            ensure!(!e.name.is_empty() && !e.name.contains(['/', '\0']), "readdir gave name {:?}", e.name);
        }
    }
    drop(root);
    if let Ok(dir) = file::open(0, "/", MOUNT, O_RDONLY | O_DIRECTORY, 0) {
        let mut out = [Dirent::new(0, 0, b""); 4];
        let n = dir.getdents(&mut out);
        tally.saw(&n);
        ensure!(n.unwrap_or(0) <= out.len(), "getdents filled {n:?} of {}", out.len());
    }
    for name in ["a", "name", "x"] {
        let path = format!("{MOUNT}/{name}");
        // stat
        let attr = vfs::resolve(&path).and_then(|v| v.getattr());
        tally.saw(&attr);
        if let Ok(attr) = attr {
            ensure!(sane(&attr), "stat {path} shows {attr:?}");
        }
        // cat
        if let Ok(f) = file::open(0, "/", &path, O_RDONLY, 0) {
            let mut buf = [0u8; 100];
            let n = f.read(&mut buf);
            tally.saw(&n);
            ensure!(n.unwrap_or(0) <= buf.len(), "read {path} gave {n:?} bytes for {}", buf.len());
            let end = f.seek(0, abi::fs::SEEK_END);
            tally.saw(&end);
            ensure!(end.unwrap_or(0) <= MAX_OFFSET, "lseek {path} SEEK_END gave {end:?}");
        }
        // echo hi >> path
        if let Ok(f) = file::open(0, "/", &path, O_WRONLY | O_APPEND, 0) {
            let n = f.write(b"hi\n");
            tally.saw(&n);
            ensure!(n.unwrap_or(0) <= 3, "append to {path} wrote {n:?} of 3 bytes");
        }
        // > path, a write of two chunks, and a write at the largest offset
        if let Ok(f) = file::open(0, "/", &path, O_RDWR | O_TRUNC, 0) {
            let n = f.write(&[b'w'; 600]);
            tally.saw(&n);
            ensure!(n.unwrap_or(0) <= 600, "write to {path} wrote {n:?} of 600 bytes");
            f.seek(i64::MAX, abi::fs::SEEK_SET).map_err(err)?;
            ensure_eq!(f.write(b"x").err(), Some(Errno::EFBIG));
            let n = f.read(&mut [0u8; 8]);
            ensure!(n.unwrap_or(0) == 0, "read at the largest offset of {path} gave {n:?} bytes");
        }
    }
    Ok(())
}

fn use_dev(name: &str, tally: &mut Tally) -> TestResult {
    let path = format!("/dev/{name}");
    let f = file::open(0, "/", &path, O_RDWR, 0);
    tally.saw(&f);
    let Ok(f) = f else { return Ok(()) };
    let mut buf = [0u8; 64];
    let n = f.read(&mut buf);
    tally.saw(&n);
    ensure!(n.unwrap_or(0) <= buf.len(), "read {path} gave {n:?} bytes for {}", buf.len());
    for len in [1, 600] {
        let n = f.write(&alloc::vec![b'd'; len]);
        tally.saw(&n);
        ensure!(n.unwrap_or(0) <= len, "write to {path} wrote {n:?} of {len} bytes");
    }
    // No user memory here: a command that copies fails with EFAULT.
    for cmd in [0x1234, 0x4008_6401, 0x8008_6402] {
        let r = f.ioctl(cmd, 0);
        tally.saw(&r);
        ensure!(r.unwrap_or(0) <= isize::MAX as usize, "ioctl {cmd:#x} on {path} returned {r:?}");
    }
    Ok(())
}

fn use_exec(tally: &mut Tally) -> TestResult {
    let r = exec::load(0, "/", SCRIPT, alloc::vec![String::from(SCRIPT), String::from("arg")]);
    tally.saw(&r);
    Ok(())
}
