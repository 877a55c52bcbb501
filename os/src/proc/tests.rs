//! In-kernel tests of ELF loading and the scheduler.

use super::life;
use super::sched;
use super::space::UserSpace;
use super::{current_pid, elf};
use crate::ktest::TestResult;
use crate::memory::{self, PAGE_SIZE};
use crate::{ensure, ensure_eq, kernel_test};
use abi::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub(super) const PF_X: u32 = 1;
pub(super) const PF_W: u32 = 2;
pub(super) const PF_R: u32 = 4;

/// One loadable segment: flags, file offset, address, bytes, memory size.
#[derive(Clone, Copy)]
pub(super) struct Seg<'a> {
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub bytes: &'a [u8],
    pub memsz: u64,
}

/// A minimal ELF64 x86-64 executable of 4 KiB (segment bytes that do not
/// fit are left out).
pub(super) fn elf_image(entry: u64, segs: &[Seg<'_>]) -> Vec<u8> {
    let mut out = alloc::vec![0u8; 0x1000];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // 64-bit
    out[5] = 1; // little endian
    out[6] = 1; // version
    let put16 = |o: &mut Vec<u8>, at: usize, v: u16| o[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |o: &mut Vec<u8>, at: usize, v: u32| o[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |o: &mut Vec<u8>, at: usize, v: u64| o[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put16(&mut out, 16, 2); // ET_EXEC
    put16(&mut out, 18, 62); // EM_X86_64
    put32(&mut out, 20, 1);
    put64(&mut out, 24, entry);
    put64(&mut out, 32, 64); // program headers right after the header
    put16(&mut out, 52, 64);
    put16(&mut out, 54, 56);
    put16(&mut out, 56, segs.len() as u16);
    put16(&mut out, 58, 64);
    for (i, s) in segs.iter().enumerate() {
        let at = 64 + 56 * i;
        put32(&mut out, at, 1); // PT_LOAD
        put32(&mut out, at + 4, s.flags);
        put64(&mut out, at + 8, s.offset);
        put64(&mut out, at + 16, s.vaddr);
        put64(&mut out, at + 24, s.vaddr);
        put64(&mut out, at + 32, s.bytes.len() as u64);
        put64(&mut out, at + 40, s.memsz);
        put64(&mut out, at + 48, PAGE_SIZE);
        let o = s.offset as usize;
        if o + s.bytes.len() <= out.len() {
            out[o..o + s.bytes.len()].copy_from_slice(s.bytes);
        }
    }
    out
}

pub(super) const CODE: &[u8] = &[0xeb, 0xfe]; // jmp .
const DATA: &[u8] = b"initialised";

pub(super) fn good_segments() -> [Seg<'static>; 2] {
    [
        Seg { flags: PF_R | PF_X, offset: 0x400, vaddr: 0x40_0000, bytes: CODE, memsz: CODE.len() as u64 },
        Seg { flags: PF_R | PF_W, offset: 0x800, vaddr: 0x40_1000, bytes: DATA, memsz: 3 * PAGE_SIZE },
    ]
}

fn load(image: &[u8]) -> Result<u64, Errno> {
    let mut space = UserSpace::new()?;
    elf::load("ktest", image, &mut space)
}

/// Frames in use outside the kernel heap (which grows but never shrinks).
fn elf_segments_get_their_permissions() -> TestResult {
    check_loaded_image()?;
    // Loading and dropping again and again gives every frame back (the
    // first round above let the heap grow to its working size).
    let frames_before = memory::frames_outside_heap();
    for _ in 0..10 {
        check_loaded_image()?;
    }
    ensure_eq!(memory::frames_outside_heap(), frames_before);
    Ok(())
}
kernel_test!(elf_segments_get_their_permissions);

fn check_loaded_image() -> TestResult {
    {
        let mut space = UserSpace::new().map_err(|e| alloc::format!("{e}"))?;
        let entry = elf::load("ktest", &elf_image(0x40_0000, &good_segments()), &mut space).map_err(|e| alloc::format!("{e}"))?;
        ensure_eq!(entry, 0x40_0000);
        let (_, code) = space.space().translate(0x40_0000).ok_or("code not mapped")?;
        ensure!(code.user && code.executable && !code.writable, "code mapped {code:?}");
        let (phys, data) = space.space().translate(0x40_1000).ok_or("data not mapped")?;
        ensure!(data.user && data.writable && !data.executable, "data mapped {data:?}");
        // SAFETY: `phys` is a frame of this test's space, read through the direct map.
        let bytes = unsafe { core::slice::from_raw_parts(memory::phys_to_virt(phys.as_u64()) as *const u8, DATA.len() + 1) };
        ensure_eq!(&bytes[..DATA.len()], DATA);
        ensure_eq!(bytes[DATA.len()], 0);
        // The zero-filled rest of the data segment is reserved, not mapped ...
        ensure!(space.space().translate(0x40_2000).is_none(), "bss mapped before it was touched");
        ensure_eq!(space.mapped_bytes(), 2 * PAGE_SIZE);
        // ... until touched: by a fault there, or by a user pointer check.
        ensure!(space.fault_in(0x40_2abc), "a touch of the bss was not served");
        ensure!(!space.fault_in(0x40_2abc), "a mapped page was mapped again");
        ensure!(space.check(0x40_1000, 3 * PAGE_SIZE, true), "data not writable for user copies");
        ensure!(space.space().translate(0x40_3000).is_some(), "bss not mapped by the check");
        ensure_eq!(space.mapped_bytes(), 4 * PAGE_SIZE);
        ensure!(space.space().translate(0x40_4000).is_none(), "mapped past the end");
        ensure!(!space.fault_in(0x40_4000), "a touch past the segment was served");
        ensure!(!space.check(0x40_3ff0, 32, false), "a range running past the segment was accepted");
        ensure!(!space.check(0x40_0000, 1, true), "code writable for user copies");
        ensure!(!space.check(0xffff_8000_0000_0000, 1, false), "kernel address accepted");
        ensure!(!space.check(u64::MAX - 4, 8, false), "wrapping range accepted");
    }
    Ok(())
}

fn processes_share_read_only_pages() -> TestResult {
    let image = elf_image(0x40_0000, &good_segments());
    let mut a = UserSpace::new().map_err(|e| alloc::format!("{e}"))?;
    let mut b = UserSpace::new().map_err(|e| alloc::format!("{e}"))?;
    elf::load("ktest", &image, &mut a).map_err(|e| alloc::format!("{e}"))?;
    elf::load("ktest", &image, &mut b).map_err(|e| alloc::format!("{e}"))?;
    let frame = |s: &UserSpace, va: u64| s.space().translate(va).map(|(p, _)| p);
    ensure!(frame(&a, 0x40_0000).is_some(), "code not mapped");
    ensure_eq!(frame(&a, 0x40_0000), frame(&b, 0x40_0000));
    ensure!(frame(&a, 0x40_1000) != frame(&b, 0x40_1000), "writable data shared between processes");
    let (_, users_before) = super::text::stats();
    drop(b);
    let (_, users_after) = super::text::stats();
    ensure_eq!(users_after + 1, users_before);
    Ok(())
}
kernel_test!(processes_share_read_only_pages);

fn bad_executables_are_enoexec() -> TestResult {
    let [code, data] = good_segments();
    let wx = Seg { flags: PF_R | PF_W | PF_X, ..code };
    ensure_eq!(load(&elf_image(0x40_0000, &[wx])), Err(Errno::ENOEXEC));
    let kernel = Seg { vaddr: 0xffff_ffff_8000_0000, ..good_segments()[0] };
    ensure_eq!(load(&elf_image(0xffff_ffff_8000_0000, &[kernel])), Err(Errno::ENOEXEC));
    let null_page = Seg { vaddr: 0, ..good_segments()[0] };
    ensure_eq!(load(&elf_image(0, &[null_page])), Err(Errno::ENOEXEC));
    ensure_eq!(load(&elf_image(0x40_1000, &[good_segments()[0], data])), Err(Errno::ENOEXEC));
    let past_file = Seg { offset: 0x2000, ..good_segments()[0] };
    ensure_eq!(load(&elf_image(0x40_0000, &[past_file])), Err(Errno::ENOEXEC));
    let image = elf_image(0x40_0000, &good_segments());
    ensure_eq!(load(&image[..40]), Err(Errno::ENOEXEC));
    ensure_eq!(load(b"#!/bin/sh\n"), Err(Errno::ENOEXEC));
    let mut dynamic = image.clone();
    dynamic[16] = 3; // ET_DYN
    ensure_eq!(load(&dynamic), Err(Errno::ENOEXEC));
    Ok(())
}
kernel_test!(bad_executables_are_enoexec);

static COUNTER: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn counting_thread(arg: u64) -> ! {
    for _ in 0..5 {
        COUNTER.fetch_add(1, Ordering::Relaxed);
        sched::yield_now();
    }
    life::exit(arg as i32)
}

fn spawn(name: &str, entry: extern "C" fn(u64) -> !, arg: u64) -> Result<u32, String> {
    sched::spawn_kernel_thread(name, entry, arg).map_err(|e| alloc::format!("spawning {name}: {e}"))
}

/// Every task's kernel stack has an unmapped guard page below it, so an
/// overflow faults instead of running into other memory.
fn task_kernel_stacks_have_guard_pages() -> TestResult {
    sched::init();
    FLAG.store(false, Ordering::Relaxed);
    let pid = spawn("ktest-guard", sleeping_thread, 0)?;
    let top = super::TASKS.lock().get(&pid).map(|t| t.kstack_top()).ok_or("the thread is not in the table")?;
    let base = top - super::KERNEL_STACK_SIZE as u64;
    let lowest = memory::translate(base).is_some();
    let guard = crate::memory::stack::is_guard_page(base - 1);
    FLAG.store(true, Ordering::Relaxed);
    sched::wakeup(CHANNEL);
    ensure_eq!(life::wait(Some(pid)), Ok((pid, 7)));
    ensure!(lowest, "the lowest page of the stack at {base:#x} is not mapped");
    ensure!(guard, "no guard page below the kernel stack at {base:#x}");
    Ok(())
}
kernel_test!(task_kernel_stacks_have_guard_pages);

fn threads_run_and_are_reaped() -> TestResult {
    sched::init();
    COUNTER.store(0, Ordering::Relaxed);
    let me = current_pid();
    let pids: Vec<u32> = (0..3).map(|i| spawn("ktest-count", counting_thread, 10 + i)).collect::<Result<_, _>>()?;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (pid, status) = life::wait(None).map_err(|e| alloc::format!("wait: {e}"))?;
        ensure!(pids.contains(&pid), "reaped pid {pid}, not one of {pids:?}");
        statuses.push(status);
    }
    statuses.sort_unstable();
    ensure_eq!(statuses, alloc::vec![10, 11, 12]);
    ensure_eq!(COUNTER.load(Ordering::Relaxed), 15);
    ensure_eq!(life::wait(None).err(), Some(Errno::ECHILD));
    ensure_eq!(current_pid(), me);
    Ok(())
}
kernel_test!(threads_run_and_are_reaped);

/// Tick at which the spinning thread gives up even if never told to stop.
static DEADLINE: AtomicU64 = AtomicU64::new(0);

extern "C" fn spinning_thread(_arg: u64) -> ! {
    while !STOP.load(Ordering::Relaxed) && crate::time::ticks() < DEADLINE.load(Ordering::Relaxed) {
        COUNTER.fetch_add(1, Ordering::Relaxed);
        core::hint::spin_loop();
    }
    life::exit(0)
}

fn the_timer_preempts_a_busy_thread() -> TestResult {
    sched::init();
    COUNTER.store(0, Ordering::Relaxed);
    STOP.store(false, Ordering::Relaxed);
    DEADLINE.store(crate::time::ticks() + 50, Ordering::Relaxed);
    let pid = spawn("ktest-spin", spinning_thread, 0)?;
    // The spinner never yields: this thread gets the processor back after
    // its sleep only because the tick preempts the spinner.
    sched::sleep_ticks(3);
    let seen = COUNTER.load(Ordering::Relaxed);
    let spinning = super::snapshot().iter().any(|p| p.pid == pid && p.state != abi::proc::ProcState::Zombie as u32);
    STOP.store(true, Ordering::Relaxed);
    let reaped = life::wait(Some(pid));
    ensure!(seen > 0, "the spinning thread never ran");
    ensure!(spinning, "the spinning thread ended before the sleeper woke: no preemption seen");
    ensure_eq!(reaped, Ok((pid, 0)));
    Ok(())
}
kernel_test!(the_timer_preempts_a_busy_thread);

static FLAG: AtomicBool = AtomicBool::new(false);
const CHANNEL: usize = 0x6b74_6573_74;

extern "C" fn sleeping_thread(_arg: u64) -> ! {
    sched::sleep_until(CHANNEL, || FLAG.load(Ordering::Relaxed));
    life::exit(7)
}

fn sleepers_wake_on_their_channel() -> TestResult {
    sched::init();
    FLAG.store(false, Ordering::Relaxed);
    let pid = spawn("ktest-sleep", sleeping_thread, 0)?;
    sched::sleep_ticks(2);
    let asleep = super::snapshot().iter().any(|p| p.pid == pid && p.state == abi::proc::ProcState::Sleeping as u32);
    ensure!(asleep, "the thread is not asleep");
    FLAG.store(true, Ordering::Relaxed);
    sched::wakeup(CHANNEL);
    ensure_eq!(life::wait(Some(pid)), Ok((pid, 7)));
    Ok(())
}
kernel_test!(sleepers_wake_on_their_channel);
