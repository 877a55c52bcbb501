//! System calls that report on the kernel: uptime, procinfo (for `ps`),
//! klog (for `dmesg`), mounts (for `mount`), kinfo (figures for tests,
//! benchmarks and leak checks).

use super::usercopy::{self, check};
use super::{Args, dispatch, ret};
use crate::fs::vfs;
use crate::{arch, klog, memory, proc, time};
use abi::Errno;
use abi::syscall::{KINFO_FRAMES_USED, KINFO_HEAP_IN_USE, KINFO_SYSCALL_CYCLES, KINFO_TSC, KINFO_TSC_HZ, SYS_GETPID};

pub fn sys_uptime(_a: &Args) -> isize {
    time::uptime_ns().min(isize::MAX as u64) as isize
}

pub fn sys_procinfo(a: &Args) -> isize {
    ret((|| {
        let rows = proc::snapshot();
        let n = rows.len().min(a.a[1] as usize);
        usercopy::write(a.a[0], &rows[..n])?;
        Ok(n)
    })())
}

pub fn sys_klog(a: &Args) -> isize {
    ret((|| {
        let len = (a.a[1] as usize).min(64 * 1024);
        let pos_ptr = a.a[2];
        check(a.a[0], len, true)?;
        let pos: u64 = usercopy::read(pos_ptr)?;
        check(pos_ptr, 8, true)?;
        let mut buf = usercopy::buffer(len, 0u8)?;
        let r = klog::read(pos, &mut buf);
        usercopy::copy_to_user(a.a[0], &buf[..r.len])?;
        usercopy::write(pos_ptr, &[r.next])?;
        Ok(r.len)
    })())
}

pub fn sys_mounts(a: &Args) -> isize {
    ret((|| {
        let mut text = alloc::string::String::new();
        for (dir, fstype, source) in vfs::mounts() {
            text.push_str(&alloc::format!("{source} on {dir} type {fstype}\n"));
        }
        if text.len() > a.a[1] as usize {
            return Err(Errno::ERANGE);
        }
        usercopy::copy_to_user(a.a[0], text.as_bytes())?;
        Ok(text.len())
    })())
}

/// Median cycles of `n` calls of `getpid` through the system-call table,
/// measured inside the kernel with the TSC (the dispatch part of a system
/// call; user space measures the full round trip). `ENOMEM` if the
/// samples find no room.
pub fn syscall_table_cycles(n: usize) -> Result<u64, Errno> {
    let n = n.clamp(1, 100_000);
    let mut samples = usercopy::buffer(n, 0u64)?;
    let args = Args { nr: SYS_GETPID, a: [0; 6] };
    for sample in samples.iter_mut() {
        let t0 = arch::rdtsc();
        core::hint::black_box(dispatch(core::hint::black_box(&args)));
        *sample = arch::rdtsc().wrapping_sub(t0);
    }
    samples.sort_unstable();
    Ok(samples[n / 2])
}

pub fn sys_kinfo(a: &Args) -> isize {
    ret(match a.a[0] as usize {
        KINFO_SYSCALL_CYCLES => syscall_table_cycles(usize::try_from(a.a[1]).unwrap_or(usize::MAX)).map(|c| c as usize),
        KINFO_TSC => Ok(arch::rdtsc() as usize),
        KINFO_TSC_HZ => Ok(time::tsc_hz() as usize),
        KINFO_HEAP_IN_USE => Ok(memory::heap::heap_stats().bytes_in_use),
        KINFO_FRAMES_USED => Ok(memory::heap::frames_outside_heap()),
        _ => Err(Errno::EINVAL),
    })
}
