//! The five class hooks, each with an example module: load, use, unload
//! (refused while in use), and the hook is back as it was.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use abi::Errno;
use abi::fs::{O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFREG};
use abi::syscall::{SYS_IOCTL, SYS_WRITE};
use lkm::ClassParams;

use super::{load, parsed, setup, unload_named};
use crate::fs::{file, vfs};
use crate::ktest::TestResult;
use crate::lkm::class::Link;
use crate::lkm::{load_image, module::Module, unload};
use crate::proc::exec::{self, BinaryFormat, Probe};
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

fn call(nr: usize, a: [u64; 6]) -> isize {
    syscall::dispatch(&Args { nr, a })
}

fn err(e: Errno) -> String {
    alloc::format!("{e}")
}

fn syscall_module_takes_the_next_free_slot_and_gives_it_back() -> TestResult {
    setup()?;
    let free = syscall::first_free().ok_or("no free slot")?;
    let module = load("syscount")?;
    let nr = module.slot() as usize;
    ensure_eq!(nr, free);
    ensure_eq!(syscall::entry(nr).map(|e| e.name.into_owned()), Some(String::from("syscount")));
    ensure_eq!(call(nr, [0, 0, 0, 0, 0, 0]), 1);
    ensure_eq!(call(nr, [0, 0, 0, 0, 0, 0]), 2);
    ensure_eq!(call(nr, [1, 0, 0, 0, 0, 0]), 3);
    ensure_eq!(call(nr, [9, 0, 0, 0, 0, 0]), Errno::EINVAL.to_ret());
    unload_named(module)?;
    ensure!(syscall::entry(nr).is_none(), "slot {nr} is not empty after unload");
    ensure_eq!(call(nr, [0; 6]), Errno::ENOSYS.to_ret());
    Ok(())
}
kernel_test!(syscall_module_takes_the_next_free_slot_and_gives_it_back);

/// The image of `base` renamed `name`, with its syscall number set to `nr`.
fn syscall_variant(base: &str, name: &str, nr: Option<u32>) -> Result<Vec<u8>, String> {
    let mut image = parsed(base)?;
    image.name = String::from(name);
    if let Some(nr) = nr {
        image.params = ClassParams::Syscall { nr };
    }
    Ok(image.to_bytes())
}

fn stacked_wrappers_chain_and_unload_in_order() -> TestResult {
    setup()?;
    let original = syscall::entry(SYS_WRITE).map(|e| e.name.into_owned());
    let lower = load("wrapwrite")?;
    let upper_image = syscall_variant("wrapwrite", "wrapwrite2", None)?;
    let upper = load_image(&upper_image, "wrapwrite2", None).map_err(|r| r.message)?;
    // Both count; the call reaches the original write (a bad descriptor).
    ensure_eq!(call(SYS_WRITE, [999, 0, 10, 0, 0, 0]), Errno::EBADF.to_ret());
    ensure_eq!(upper.runs.load(Ordering::Relaxed), 1);
    ensure_eq!(lower.runs.load(Ordering::Relaxed), 1);
    // The upper wrapper answers by itself.
    ensure_eq!(call(SYS_WRITE, [999, 0, 1 << 20, 0, 0, 0]), Errno::E2BIG.to_ret());
    ensure_eq!(lower.runs.load(Ordering::Relaxed), 1);
    // The lower one is in use by the upper one.
    let refusal = unload(lower.id).err().ok_or("the lower wrapper unloaded under the upper one")?;
    ensure_eq!(refusal.errno, Errno::EBUSY);
    ensure!(refusal.message.contains("`wrapwrite2`"), "the refusal does not name the upper module: {}", refusal.message);
    unload_named(upper)?;
    ensure_eq!(syscall::entry(SYS_WRITE).map(|e| e.name.into_owned()), Some(String::from("wrapwrite")));
    unload_named(lower)?;
    ensure_eq!(syscall::entry(SYS_WRITE).map(|e| e.name.into_owned()), original);
    ensure_eq!(call(SYS_WRITE, [999, 0, 1 << 20, 0, 0, 0]), Errno::EBADF.to_ret());
    Ok(())
}
kernel_test!(stacked_wrappers_chain_and_unload_in_order);

fn the_dev_lkm_path_cannot_be_replaced() -> TestResult {
    setup()?;
    let before = syscall::entry(SYS_IOCTL).map(|e| e.name.into_owned());
    let image = syscall_variant("wrapwrite", "wrapioctl", Some(SYS_IOCTL as u32))?;
    let refusal = load_image(&image, "wrapioctl", None).err().ok_or("a module replaced ioctl(2)")?;
    ensure_eq!(refusal.errno, Errno::EPERM);
    ensure!(refusal.message.contains("(ioctl) may not be replaced"), "{}", refusal.message);
    ensure_eq!(syscall::entry(SYS_IOCTL).map(|e| e.name.into_owned()), before);
    ensure!(crate::lkm::loaded().iter().all(|m| m.name != "wrapioctl"), "the refused module is listed");
    Ok(())
}
kernel_test!(the_dev_lkm_path_cannot_be_replaced);

fn read_all(f: &file::OpenFile) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 100];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn vfs_module_is_mountable_and_busy_while_mounted() -> TestResult {
    setup()?;
    let module = load("kvfs")?;
    vfs::mount("kvfs", "none", "/mnt").map_err(err)?;
    let names: Vec<String> = {
        let root = vfs::resolve("/mnt").map_err(err)?;
        (0..8).map_while(|i| root.fs().readdir(root.ino, i).ok().flatten()).map(|e| e.name).collect()
    };
    ensure_eq!(names, ["motd", "count", "note"].map(String::from).to_vec());
    let motd = read_all(&*file::open(0, "/", "/mnt/motd", O_RDONLY, 0).map_err(err)?)?;
    ensure_eq!(core::str::from_utf8(&motd).unwrap_or("?"), "Hello from a verified vfs!\n");
    let attr = vfs::resolve("/mnt/motd").and_then(|v| v.getattr()).map_err(err)?;
    ensure_eq!(attr.mode & S_IFREG, S_IFREG);
    ensure_eq!(vfs::resolve("/mnt/nothing").err(), Some(Errno::ENOENT));
    let note = file::open(0, "/", "/mnt/note", O_WRONLY | O_TRUNC, 0).map_err(err)?;
    ensure_eq!(note.write(b"kept in a map\n").map_err(err)?, 14);
    drop(note);
    let back = read_all(&*file::open(0, "/", "/mnt/note", O_RDONLY, 0).map_err(err)?)?;
    ensure_eq!(back.as_slice(), b"kept in a map\n");
    let refusal = unload(module.id).err().ok_or("unloaded while mounted")?;
    ensure_eq!(refusal.errno, Errno::EBUSY);
    vfs::umount("/mnt").map_err(err)?;
    unload_named(module)?;
    ensure_eq!(vfs::mount("kvfs", "none", "/mnt").err(), Some(Errno::ENODEV));
    Ok(())
}
kernel_test!(vfs_module_is_mountable_and_busy_while_mounted);

fn dev_module_node_comes_and_goes_and_is_busy_while_open() -> TestResult {
    setup()?;
    let module = load("rtc")?;
    ensure!(module.slot() >= crate::fs::device::FIRST_DYNAMIC_MAJOR as u64, "major {}", module.slot());
    let rtc = file::open(0, "/", "/dev/rtc", O_RDWR, 0).map_err(err)?;
    let mut buf = [0u8; 32];
    ensure_eq!(rtc.read(&mut buf).map_err(err)?, 20);
    // No `write` program: the driver refuses.
    ensure_eq!(rtc.write(b"x").err(), Some(Errno::EINVAL));
    let refusal = unload(module.id).err().ok_or("unloaded while open")?;
    ensure_eq!(refusal.errno, Errno::EBUSY);
    ensure!(refusal.message.contains("/dev/rtc is open"), "{}", refusal.message);
    drop(rtc);
    unload_named(module)?;
    ensure_eq!(vfs::resolve("/dev/rtc").err(), Some(Errno::ENOENT));
    ensure!(crate::fs::device::drivers().iter().all(|d| d.2 != "rtc"), "the driver is still installed");
    Ok(())
}
kernel_test!(dev_module_node_comes_and_goes_and_is_busy_while_open);

fn rtc_reads_the_cmos_clock_through_granted_ports_only() -> TestResult {
    setup()?;
    let module = load("rtc")?;
    let text = read_all(&*file::open(0, "/", "/dev/rtc", O_RDONLY, 0).map_err(err)?)?;
    let text = core::str::from_utf8(&text).map_err(|_| "not text")?;
    let shape = text.len() == 20
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[10] == b' '
        && text.as_bytes()[13] == b':'
        && text.ends_with('\n')
        && text.starts_with("20");
    ensure!(shape, "/dev/rtc says {text:?}");
    // The ports are granted to one module at a time.
    let mut twin = parsed("rtc")?;
    twin.name = String::from("rtc2");
    twin.params = ClassParams::Dev { major: 0, name: String::from("rtc2") };
    let refusal = load_image(&twin.to_bytes(), "rtc2", None).err().ok_or("ports granted twice")?;
    ensure_eq!(refusal.errno, Errno::EBUSY);
    // Never the keyboard controller.
    twin.ports.push(lkm::PortDecl { start: 0x60, count: 1 });
    let refusal = load_image(&twin.to_bytes(), "rtc2", None).err().ok_or("port 0x60 granted")?;
    ensure_eq!(refusal.errno, Errno::EPERM);
    ensure!(refusal.message.contains("may not be granted"), "{}", refusal.message);
    unload_named(module)?;
    ensure!(!super::super::ports::may_access(&twin.ports, 0, 0x70, 1), "ports still granted");
    Ok(())
}
kernel_test!(rtc_reads_the_cmos_clock_through_granted_ports_only);

fn exec_format(module: &Module) -> Option<Arc<crate::lkm::class::exec::ModExec>> {
    match module.link.lock().as_ref()? {
        Link::Exec(f) => Some(f.clone()),
        _ => None,
    }
}

/// A small `#!` format (the example `shebang` takes long to verify under
/// TCG; the scenarios use it): files starting with `#!` run `/bin/sh -x`.
fn hashbang_image() -> Result<Vec<u8>, String> {
    let src = "r2 = *(u32 *)(r1 + 128)\n\
               if r2 < 2 goto no\n\
               r3 = *(u8 *)(r1 + 0)\n\
               if r3 != 35 goto no\n\
               r3 = *(u8 *)(r1 + 1)\n\
               if r3 != 33 goto no\n\
               r1 = map_value[0] + 0 ll\n\
               r2 = 10\n\
               call 9\n\
               r0 = 1\n\
               exit\n\
               no:\n\
               r0 = 0\n\
               exit";
    super::hostile::generate::image("hashbang", ClassParams::Exec, &[("probe", String::from(src))], Vec::new(), b"/bin/sh\0-x".to_vec())
}

fn exec_module_names_the_interpreter_until_unloaded() -> TestResult {
    setup()?;
    let script = file::open(0, "/", "/tmp/script", O_WRONLY | O_CREAT | O_TRUNC, 0o755).map_err(err)?;
    script.write(b"#!/bin/nothing -x\necho hi\n").map_err(err)?;
    drop(script);
    let argv = alloc::vec![String::from("/tmp/script")];
    ensure_eq!(exec::load(0, "/", "/tmp/script", argv.clone()).err(), Some(Errno::ENOEXEC));
    let module = load_image(&hashbang_image()?, "hashbang", None).map_err(|r| r.message)?;
    let format = exec_format(&module).ok_or("no format linked")?;
    let probe = format.probe(b"#!/usr/bin/env awk\n", "/tmp/script");
    ensure_eq!(probe, Probe::Interpreter { path: String::from("/bin/sh"), arg: Some(String::from("-x")) });
    ensure_eq!(format.probe(b"\x7fELF....", "/bin/ls"), Probe::NotMine);
    drop(format);
    // Claimed now: the interpreter itself is what is missing.
    ensure_eq!(exec::load(0, "/", "/tmp/script", argv.clone()).err(), Some(Errno::ENOENT));
    unload_named(module)?;
    ensure_eq!(exec::load(0, "/", "/tmp/script", argv).err(), Some(Errno::ENOEXEC));
    ensure!(!exec::format_names().iter().any(|n| n == "hashbang"), "the format is still registered");
    Ok(())
}
kernel_test!(exec_module_names_the_interpreter_until_unloaded);

fn misc_module_runs_load_tick_and_unload() -> TestResult {
    setup()?;
    let start = crate::klog::end();
    let module = load("hello")?;
    let ticks = crate::time::ticks();
    while crate::time::ticks() < ticks + 5 {
        crate::arch::wait_for_interrupt();
    }
    let counted = module.maps[0].with(|m| m.lookup(&0u32.to_le_bytes()).map(|s| m.value(s)[0]));
    ensure!(counted.is_some_and(|n| n >= 4), "the tick program counted {counted:?}");
    let id = module.id;
    unload_named(module)?;
    let mut buf = [0u8; 4096];
    let read = crate::klog::read(start, &mut buf);
    let log = core::str::from_utf8(&buf[..read.len]).unwrap_or("");
    ensure!(log.contains(&alloc::format!("[hello] hello: loaded as module {id}")), "log: {log}");
    ensure!(log.contains("[hello] hello: unloaded after"), "log: {log}");
    Ok(())
}
kernel_test!(misc_module_runs_load_tick_and_unload);

fn dev_lkm_checks_who_opens_it_and_how() -> TestResult {
    setup()?;
    ensure_eq!(file::open(1000, "/", "/dev/lkm", O_RDWR, 0).err(), Some(Errno::EACCES));
    let reader = file::open(1000, "/", "/dev/lkm", O_RDONLY, 0).map_err(err)?;
    let writer = file::open(0, "/", "/dev/lkm", O_RDWR, 0).map_err(err)?;
    ensure_eq!(file::open(0, "/", "/dev/lkm", O_RDWR, 0).err(), Some(Errno::EBUSY));
    // Read-only: only LMSTAT and LMSTATV, whose bad pointer is EFAULT.
    ensure_eq!(reader.ioctl(lkm::ioctl::LMRESERV as usize, 0x1000).err(), Some(Errno::EACCES));
    ensure_eq!(reader.ioctl(lkm::ioctl::LMSTAT as usize, 0x1000).err(), Some(Errno::EFAULT));
    ensure_eq!(reader.ioctl(lkm::ioctl::LMSTATV as usize, 0x1000).err(), Some(Errno::EFAULT));
    ensure_eq!(writer.ioctl(lkm::ioctl::LMRESERV as usize, 0x1000).err(), Some(Errno::EFAULT));
    ensure_eq!(writer.ioctl(lkm::ioctl::LMUNRESRV as usize, 0).err(), Some(Errno::ENOENT));
    ensure_eq!(writer.ioctl(0x1234, 0).err(), Some(Errno::ENOTTY));
    drop(writer);
    let again = file::open(0, "/", "/dev/lkm", O_RDWR, 0).map_err(err)?;
    drop(again);
    drop(reader);
    Ok(())
}
kernel_test!(dev_lkm_checks_who_opens_it_and_how);
