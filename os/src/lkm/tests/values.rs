//! What modules return or leave in their context is checked before the
//! kernel uses it (docs/lkm.md, "What the kernel does with what a module
//! returns"): one test per check, each with a module that breaks it.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use abi::Errno;
use abi::fs::{O_APPEND, O_RDONLY, O_RDWR, O_WRONLY, S_IFCHR, S_IFDIR, S_IFREG};
use lkm::ClassParams;
use lkm::class::{MAJOR_ANY, SYSCALL_NEXT_FREE};

use super::hostile::generate::image;
use super::{setup, unload_named};
use crate::fs::{file, vfs};
use crate::ktest::TestResult;
use crate::lkm::load_image;
use crate::lkm::module::Module;
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

const DIR: &str = "/vmnt";

fn load(name: &str, params: ClassParams, programs: &[(&str, String)]) -> Result<Arc<Module>, String> {
    let bytes = image(name, params, programs, alloc::vec![], b"x".to_vec())?;
    load_image(&bytes, name, None).map_err(|r| format!("loading {name}: {}\n{}", r.errno, r.message))
}

/// Log lines since `start` that contain `text`.
fn logged(start: u64, text: &str) -> usize {
    let mut buf = alloc::vec![0u8; 16384];
    let read = crate::klog::read(start, &mut buf);
    core::str::from_utf8(&buf[..read.len]).unwrap_or("").lines().filter(|l| l.contains(text)).count()
}

/// A file system whose root holds one file: `lookup` answers `lookup_ino`
/// for any name, `getattr` shows the file with `mode` and `size`,
/// `readdir` emits `dirent_ino` named `x`, and `write` reports `extra`
/// bytes more than it was given.
fn vfs_module(name: &str, lookup_ino: u64, mode: u32, size: u64, dirent_ino: u64, extra: u32) -> Result<Arc<Module>, String> {
    vfs_module_naming(name, lookup_ino, mode, size, (dirent_ino, b"x"), extra)
}

/// [`vfs_module`] whose `readdir` emits the entry `dirent`: inode and name.
fn vfs_module_naming(
    name: &str,
    lookup_ino: u64,
    mode: u32,
    size: u64,
    dirent: (u64, &[u8]),
    extra: u32,
) -> Result<Arc<Module>, String> {
    let (dirent_ino, dirent_name) = dirent;
    let name_len = dirent_name.len();
    let dir = S_IFDIR | 0o755;
    let programs = [
        ("lookup", format!("r0 = {lookup_ino} ll\nexit")),
        (
            "getattr",
            format!(
                "r2 = *(u64 *)(r1 + 0)\nif r2 != 1 goto file\nr2 = {dir}\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit\n\
                 file:\nr2 = {mode}\n*(u32 *)(r1 + 8) = r2\nr2 = {size} ll\n*(u64 *)(r1 + 16) = r2\nr0 = 0\nexit"
            ),
        ),
        (
            "readdir",
            format!(
                "r2 = *(u64 *)(r1 + 8)\nif r2 != 0 goto end\nr1 = {dirent_ino} ll\nr2 = map_value[0] + 0 ll\nr3 = {name_len}\ncall 10\n\
                 r0 = 1\nexit\nend:\nr0 = 0\nexit"
            ),
        ),
        ("read", String::from("r0 = 0\nexit")),
        ("write", format!("r0 = *(u32 *)(r1 + 528)\nr0 += {extra}\nexit")),
    ];
    let bytes = image(name, ClassParams::Vfs { fstype: String::from(name) }, &programs, alloc::vec![], dirent_name.to_vec())?;
    load_image(&bytes, name, None).map_err(|r| format!("loading {name}: {}\n{}", r.errno, r.message))
}

/// Mounts `module`'s type on [`DIR`], runs `f`, unmounts and unloads.
fn mounted(module: Arc<Module>, f: impl FnOnce() -> TestResult) -> TestResult {
    let _ = vfs::create(DIR, S_IFDIR | 0o755, 0, 0);
    let fstype = match &module.params {
        ClassParams::Vfs { fstype } => fstype.clone(),
        _ => return Err(String::from("not a vfs module")),
    };
    vfs::mount(&fstype, "none", DIR).map_err(|e| format!("mount: {e}"))?;
    let result = f();
    vfs::umount(DIR).map_err(|e| format!("umount: {e}"))?;
    unload_named(module)?;
    result
}

fn a_file_size_of_u64_max_cannot_break_append() -> TestResult {
    setup()?;
    let start = crate::klog::end();
    let module = vfs_module("bigsize", 2, S_IFREG | 0o666, u64::MAX, 2, 0)?;
    let rejected = module.clone();
    mounted(module, || {
        // `echo hi >> /vmnt/x`: the size is refused before any arithmetic.
        let f = file::open(0, "/", "/vmnt/x", O_WRONLY | O_APPEND, 0);
        ensure_eq!(f.err(), Some(Errno::EIO));
        ensure_eq!(vfs::resolve("/vmnt/x").and_then(|v| v.getattr()).err(), Some(Errno::EIO));
        Ok(())
    })?;
    ensure!(rejected.rejected.load(Ordering::Relaxed) >= 2, "the sizes were not counted");
    ensure_eq!(logged(start, "`getattr` set size 18446744073709551615"), 1);
    Ok(())
}
kernel_test!(a_file_size_of_u64_max_cannot_break_append);

fn appending_at_the_largest_size_is_efbig() -> TestResult {
    setup()?;
    let module = vfs_module("maxsize", 2, S_IFREG | 0o666, i64::MAX as u64, 2, 0)?;
    mounted(module, || {
        let f = file::open(0, "/", "/vmnt/x", O_WRONLY | O_APPEND, 0).map_err(|e| format!("{e}"))?;
        ensure_eq!(f.write(b"hi\n").err(), Some(Errno::EFBIG));
        let f = file::open(0, "/", "/vmnt/x", O_RDWR, 0).map_err(|e| format!("{e}"))?;
        ensure_eq!(f.seek(0, abi::fs::SEEK_END), Ok(i64::MAX as u64));
        ensure_eq!(f.read(&mut [0; 4]), Ok(0));
        Ok(())
    })
}
kernel_test!(appending_at_the_largest_size_is_efbig);

fn a_write_that_claims_more_bytes_than_given_is_eio() -> TestResult {
    setup()?;
    let module = vfs_module("overwrite", 2, S_IFREG | 0o666, 0, 2, 1)?;
    mounted(module, || {
        let f = file::open(0, "/", "/vmnt/x", O_WRONLY, 0).map_err(|e| format!("{e}"))?;
        ensure_eq!(f.write(b"hi").err(), Some(Errno::EIO));
        Ok(())
    })
}
kernel_test!(a_write_that_claims_more_bytes_than_given_is_eio);

fn device_types_and_odd_mode_bits_are_refused() -> TestResult {
    setup()?;
    for (name, mode) in [("chrfile", S_IFCHR | 0o666), ("suidfile", S_IFREG | 0o4755), ("notype", 0o644)] {
        let module = vfs_module(name, 2, mode, 0, 2, 0)?;
        mounted(module, || {
            ensure_eq!(file::open(0, "/", "/vmnt/x", O_RDONLY, 0).err(), Some(Errno::EIO));
            Ok(())
        })?;
    }
    Ok(())
}
kernel_test!(device_types_and_odd_mode_bits_are_refused);

fn inode_numbers_never_handed_out_are_eio() -> TestResult {
    setup()?;
    let module = vfs_module("inozero", 0, S_IFREG | 0o644, 0, u64::MAX, 0)?;
    mounted(module, || {
        ensure_eq!(vfs::resolve("/vmnt/x").err(), Some(Errno::EIO));
        let root = vfs::resolve(DIR).map_err(|e| format!("{e}"))?;
        ensure_eq!(root.fs().readdir(root.ino, 0).err(), Some(Errno::EIO));
        Ok(())
    })
}
kernel_test!(inode_numbers_never_handed_out_are_eio);

fn results_outside_the_errno_table_are_eio() -> TestResult {
    setup()?;
    let start = crate::klog::end();
    // `call` returns its first argument.
    let module = load("echo", ClassParams::Syscall { nr: SYSCALL_NEXT_FREE }, &[("call", String::from("r0 = *(u64 *)(r1 + 8)\nexit"))])?;
    let nr = module.slot() as usize;
    let call = |v: i64| syscall::dispatch(&Args { nr, a: [v as u64, 0, 0, 0, 0, 0] });
    ensure_eq!(call(7), 7);
    ensure_eq!(call(i64::MAX), isize::MAX);
    ensure_eq!(call(-(Errno::ENOENT as i64)), Errno::ENOENT.to_ret());
    for bad in [-35, -4096, i64::MIN + 1, -(1 << 40)] {
        ensure_eq!(call(bad), Errno::EIO.to_ret());
    }
    // `LKM_CHAIN` runs what the slot held: nothing.
    ensure_eq!(call(i64::MIN), Errno::ENOSYS.to_ret());
    ensure_eq!(module.rejected.load(Ordering::Relaxed), 4);
    ensure_eq!(logged(start, "which is no errno"), 1);
    unload_named(module)
}
kernel_test!(results_outside_the_errno_table_are_eio);

fn a_driver_that_reports_more_bytes_than_asked_is_eio() -> TestResult {
    setup()?;
    let programs = [
        ("read", String::from("r0 = *(u32 *)(r1 + 16)\nr0 += 1\nexit")),
        ("write", String::from("r0 = *(u32 *)(r1 + 528)\nr0 += 1\nexit")),
        ("ioctl", String::from("r0 = -9999\nexit")),
    ];
    let module = load("greedy", ClassParams::Dev { major: MAJOR_ANY, name: String::from("greedy") }, &programs)?;
    let f = file::open(0, "/", "/dev/greedy", O_RDWR, 0).map_err(|e| format!("{e}"))?;
    ensure_eq!(f.read(&mut [0; 16]).err(), Some(Errno::EIO));
    ensure_eq!(f.write(b"abc").err(), Some(Errno::EIO));
    ensure_eq!(f.ioctl(0x1234, 0).err(), Some(Errno::EIO));
    drop(f);
    unload_named(module)
}
kernel_test!(a_driver_that_reports_more_bytes_than_asked_is_eio);

fn directory_entries_no_directory_can_hold_are_eio() -> TestResult {
    setup()?;
    for (name, entry) in [("slashname", &b"a/b"[..]), ("nulname", b"a\0"), ("badutf8", b"\xff")] {
        let module = vfs_module_naming(name, 2, S_IFREG | 0o644, 0, (2, entry), 0)?;
        mounted(module, || {
            let root = vfs::resolve(DIR).map_err(|e| format!("{e}"))?;
            ensure_eq!(root.fs().readdir(root.ino, 0).err(), Some(Errno::EIO));
            Ok(())
        })?;
    }
    Ok(())
}
kernel_test!(directory_entries_no_directory_can_hold_are_eio);

fn a_probe_without_a_valid_interpreter_claims_nothing() -> TestResult {
    setup()?;
    let script = file::open(0, "/", "/tmp/probed", abi::fs::O_WRONLY | abi::fs::O_CREAT | abi::fs::O_TRUNC, 0o755)
        .map_err(|e| format!("{e}"))?;
    script.write(b"#!x\n").map_err(|e| format!("{e}"))?;
    drop(script);
    let argv = alloc::vec![String::from("/tmp/probed")];
    // Emits its read-only data, then claims the file with `r0`.
    let cases: [(&str, &[u8], u64); 3] = [("ctlinterp", b"\x01sh -x", 1), ("twoprobe", b"/bin/sh", 2), ("emptyinterp", b"  ", 1)];
    for (name, rodata, r0) in cases {
        let probe = format!("r1 = map_value[0] + 0 ll\nr2 = {}\ncall 9\nr0 = {r0}\nexit", rodata.len());
        let bytes = image(name, ClassParams::Exec, &[("probe", probe)], alloc::vec![], rodata.to_vec())?;
        let module = load_image(&bytes, name, None).map_err(|r| format!("loading {name}: {}\n{}", r.errno, r.message))?;
        ensure_eq!(crate::proc::exec::load(0, "/", "/tmp/probed", argv.clone()).err(), Some(Errno::ENOEXEC));
        ensure_eq!(module.rejected.load(Ordering::Relaxed), 1);
        unload_named(module)?;
    }
    Ok(())
}
kernel_test!(a_probe_without_a_valid_interpreter_claims_nothing);
