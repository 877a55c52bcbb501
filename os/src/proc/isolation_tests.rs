//! In-kernel tests of the user/kernel boundary: the kernel writes into a
//! user address space only where the process itself could, frames of the
//! shared text cache never change, and the ELF loader refuses the layouts
//! that would let one program reach another's pages.

use super::elf;
use super::exec;
use super::space::{STACK_REGION, STACK_SIZE, STACK_TOP, USER_TOP, UserSpace};
use super::tests::{CODE, PF_R, PF_W, PF_X, Seg, elf_image, good_segments};
use crate::fs::{file, vfs};
use crate::ktest::TestResult;
use crate::memory::{self, MapFlags, PAGE_SIZE};
use crate::{ensure, ensure_eq, kernel_test};
use abi::Errno;
use abi::fs::{O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFDIR, S_ISVTX};
use lkm::ioctl::{LMLOADBUF, LMREADY, LMRESERV, LMUNLOAD, LMUNRESRV};
use alloc::string::String;
use alloc::vec::Vec;

const STUDENT: u32 = 1000;

fn err(e: Errno) -> String {
    alloc::format!("{e}")
}

/// The page of memory `space` maps at `virt`, read through the direct map.
fn page_at(space: &UserSpace, virt: u64) -> Result<Vec<u8>, String> {
    let (phys, _) = space.space().translate(virt).ok_or_else(|| alloc::format!("{virt:#x} is not mapped"))?;
    // SAFETY: `phys` is a mapped frame of a space this test owns; it is only
    // read, through the kernel's direct map, within its page.
    let bytes = unsafe { core::slice::from_raw_parts(memory::phys_to_virt(phys.as_u64()) as *const u8, PAGE_SIZE as usize) };
    Ok(bytes.to_vec())
}

/// A process's memory holding the test program (its code page shared).
fn victim() -> Result<UserSpace, String> {
    let mut space = UserSpace::new().map_err(err)?;
    elf::load("victim", &elf_image(0x40_0000, &good_segments()), &mut space).map_err(err)?;
    Ok(space)
}

/// The kernel log written since position `from`.
fn log_since(from: u64) -> String {
    let mut buf = alloc::vec![0u8; crate::klog::RING_CAPACITY];
    let got = crate::klog::read(from, &mut buf);
    String::from_utf8_lossy(&buf[..got.len]).into_owned()
}

fn kernel_writes_only_where_the_process_could() -> TestResult {
    let mut space = victim()?;
    let code = page_at(&space, 0x40_0000)?;
    // The shared, read-only code page: neither the stack builder's write
    // nor a system call's copy-out may touch it.
    ensure_eq!(space.write(0x40_0000, b"\xcc\xcc"), Err(Errno::EFAULT));
    ensure!(!space.check(0x40_0000, 1, true), "a copy-out into shared code was allowed");
    ensure_eq!(page_at(&space, 0x40_0000)?, code);
    // Not even the kernel can write the frame through its direct map.
    let (phys, _) = space.space().translate(0x40_0000).ok_or("code not mapped")?;
    // SAFETY: a failed probe changes nothing; a successful one is the bug reported here.
    let probe = unsafe { crate::arch::probe::write_u64(memory::phys_to_virt(phys.as_u64()), 0) };
    ensure!(probe.is_err(), "the direct-map alias of a shared code frame is writable");
    ensure_eq!(page_at(&space, 0x40_0000)?, code);
    // A private read-only page is just as closed.
    let read_only = MapFlags { writable: false, executable: false, user: true };
    space.map_private(0x50_0000, b"constant", read_only).map_err(err)?;
    ensure_eq!(space.write(0x50_0000, b"changed!"), Err(Errno::EFAULT));
    ensure_eq!(&page_at(&space, 0x50_0000)?[..8], b"constant");
    // A write running from a writable page into a read-only one writes nothing.
    space.map_private(0x4f_f000, &[], MapFlags::USER_DATA).map_err(err)?;
    ensure_eq!(space.write(0x4f_fffc, b"12345678"), Err(Errno::EFAULT));
    ensure_eq!(&page_at(&space, 0x4f_f000)?[0xffc..], &[0, 0, 0, 0]);
    // A shared page where the stack goes (what a forged ELF would have
    // made): the arguments cannot be written into it.
    space.map_shared(STACK_TOP - PAGE_SIZE, &code, false).map_err(err)?;
    space.reserve(STACK_TOP - STACK_SIZE, STACK_TOP, MapFlags::USER_DATA).map_err(err)?;
    ensure_eq!(space.write(STACK_TOP - 16, b"argv"), Err(Errno::EFAULT));
    ensure_eq!(page_at(&space, 0x40_0000)?, code);
    // Writable pages take the writes.
    ensure_eq!(space.write(0x40_1000, b"data"), Ok(()));
    ensure_eq!(space.write(STACK_TOP - 2 * PAGE_SIZE, b"stack"), Ok(()));
    ensure_eq!(&page_at(&space, STACK_TOP - 2 * PAGE_SIZE)?[..5], b"stack");
    Ok(())
}
kernel_test!(kernel_writes_only_where_the_process_could);

/// The attack: an ELF whose read-only segment sits on the last page of
/// the stack and holds exactly the bytes of another program's shared code
/// page, run by an ordinary user with arguments of their choice.
fn forged_stack_segment_is_enoexec_and_shared_code_unchanged() -> TestResult {
    crate::fs::tests::test_root()?;
    exec::init();
    match vfs::create("/isolation", S_IFDIR | S_ISVTX | 0o777, 0, 0) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(err(e)),
    }
    let victim = victim()?;
    let code = page_at(&victim, 0x40_0000)?;
    let text = Seg { flags: PF_R | PF_X, offset: 0x400, vaddr: 0x40_0000, bytes: CODE, memsz: CODE.len() as u64 };
    let on_stack = Seg { flags: PF_R, offset: 0x1000, vaddr: STACK_TOP - PAGE_SIZE, bytes: &code, memsz: PAGE_SIZE };
    let mut forged = elf_image(0x40_0000, &[text, on_stack]);
    forged.extend_from_slice(&code);
    let f = file::open(STUDENT, "/", "/isolation/forged", O_WRONLY | O_CREAT | O_TRUNC, 0o755).map_err(err)?;
    ensure_eq!(f.write(&forged), Ok(forged.len()));
    drop(f);
    let log_from = crate::klog::end();
    let argv = alloc::vec![String::from("forged"), "\u{cc}".repeat(2000)];
    ensure_eq!(exec::load(STUDENT, "/", "/isolation/forged", argv).err(), Some(Errno::ENOEXEC));
    ensure_eq!(page_at(&victim, 0x40_0000)?, code);
    let log = log_since(log_from);
    ensure!(log.contains("/isolation/forged: segment 1") && log.contains("overlaps the user stack"), "log: {log}");
    ensure!(log.contains("help: link the program"), "log: {log}");
    // The same file without the stack segment runs.
    let plain = elf_image(0x40_0000, &[text]);
    let f = file::open(STUDENT, "/", "/isolation/plain", O_WRONLY | O_CREAT | O_TRUNC, 0o755).map_err(err)?;
    ensure_eq!(f.write(&plain), Ok(plain.len()));
    drop(f);
    let image = exec::load(STUDENT, "/", "/isolation/plain", alloc::vec![String::from("plain")]).map_err(err)?;
    ensure_eq!(page_at(&image.space, 0x40_0000)?, code);
    Ok(())
}
kernel_test!(forged_stack_segment_is_enoexec_and_shared_code_unchanged);

/// `(what, segments, entry, errno, text the log must show)`.
type Case<'a> = (&'a str, Vec<Seg<'a>>, u64, Errno, &'a str);

fn loader_refuses_layouts_across_boundaries() -> TestResult {
    let [text, data] = good_segments();
    let ro = |vaddr: u64, memsz: u64| Seg { flags: PF_R, offset: 0x800, vaddr, bytes: b"ro", memsz };
    let cases: [Case<'_>; 10] = [
        ("last stack page", alloc::vec![text, ro(STACK_TOP - PAGE_SIZE, PAGE_SIZE)], 0x40_0000, Errno::ENOEXEC, "overlaps the user stack"),
        ("guard page above the stack", alloc::vec![text, ro(STACK_TOP, 16)], 0x40_0000, Errno::ENOEXEC, "overlaps the user stack"),
        ("guard page below the stack", alloc::vec![text, ro(STACK_REGION.start + 8, 8)], 0x40_0000, Errno::ENOEXEC, "overlaps the user stack"),
        ("into the kernel's half", alloc::vec![text, ro(USER_TOP - PAGE_SIZE, 2 * PAGE_SIZE)], 0x40_0000, Errno::ENOEXEC, "outside user memory"),
        ("around the address space", alloc::vec![text, ro(0x50_0000, u64::MAX)], 0x40_0000, Errno::ENOEXEC, "wraps around"),
        ("overlapping segments", alloc::vec![Seg { memsz: 2 * PAGE_SIZE, ..text }, ro(0x40_1000, 8)], 0x40_0000, Errno::ENOEXEC, "overlap at 0x401000"),
        ("writable beside read-only in a page", alloc::vec![text, Seg { vaddr: 0x40_0800, ..data }], 0x40_0000, Errno::ENOEXEC, "only one of them is writable"),
        ("entry outside the code", alloc::vec![text, data], 0x40_1000, Errno::ENOEXEC, "entry point 0x401000"),
        ("writable and executable", alloc::vec![Seg { flags: PF_R | PF_W | PF_X, ..text }], 0x40_0000, Errno::ENOEXEC, "writable and executable"),
        ("too large", alloc::vec![text, Seg { memsz: 65 << 20, ..data }], 0x40_0000, Errno::ENOMEM, "more than the 64 MiB"),
    ];
    for (what, segs, entry, errno, says) in cases {
        let from = crate::klog::end();
        let mut space = UserSpace::new().map_err(err)?;
        let got = elf::load("case", &elf_image(entry, &segs), &mut space);
        ensure!(got == Err(errno), "{what}: loaded with {got:?}, not {errno:?}");
        let log = log_since(from);
        ensure!(log.contains(says), "{what}: the log does not say `{says}`: {log}");
        ensure_eq!(space.mapped_bytes(), 0);
    }
    // Just outside the stack's guard page is ordinary memory.
    let below = ro(STACK_REGION.start - PAGE_SIZE, PAGE_SIZE);
    let mut space = UserSpace::new().map_err(err)?;
    ensure_eq!(elf::load("case", &elf_image(0x40_0000, &[text, below]), &mut space), Ok(0x40_0000));
    // Read-only and code segments may share a page; it is then private.
    let beside = Seg { flags: PF_R, offset: 0x800, vaddr: 0x40_0800, bytes: b"beside", memsz: 6 };
    let shared_page = elf_image(0x40_0000, &[text, beside]);
    let (mut a, mut b) = (UserSpace::new().map_err(err)?, UserSpace::new().map_err(err)?);
    elf::load("case", &shared_page, &mut a).map_err(err)?;
    elf::load("case", &shared_page, &mut b).map_err(err)?;
    let frame = |s: &UserSpace| s.space().translate(0x40_0000).map(|(p, f)| (p, f.executable, f.writable));
    ensure!(frame(&a) != frame(&b), "a page two segments share came from the text cache");
    let page = page_at(&a, 0x40_0000)?;
    ensure_eq!((&page[..2], &page[0x800..0x806]), (CODE, &b"beside"[..]));
    ensure_eq!(frame(&a).map(|f| (f.1, f.2)), Some((true, false)));
    Ok(())
}
kernel_test!(loader_refuses_layouts_across_boundaries);

fn lkm_device_takes_no_orders_from_users() -> TestResult {
    crate::fs::tests::test_root()?;
    crate::lkm::init();
    for flags in [O_WRONLY, O_RDWR] {
        ensure_eq!(file::open(STUDENT, "/", "/dev/lkm", flags, 0).err(), Some(Errno::EACCES));
    }
    let read_only = file::open(STUDENT, "/", "/dev/lkm", O_RDONLY, 0).map_err(err)?;
    for cmd in [LMRESERV, LMLOADBUF, LMUNRESRV, LMREADY, LMUNLOAD] {
        ensure_eq!(read_only.ioctl(cmd as usize, 0).err(), Some(Errno::EACCES));
    }
    Ok(())
}
kernel_test!(lkm_device_takes_no_orders_from_users);
