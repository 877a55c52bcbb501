//! System calls on processes: exit, spawn, exec, wait, getpid, getuid,
//! setuid, sleep, yield.

use super::usercopy::{self, check};
use super::{Args, ret};
use crate::fs::path::PATH_MAX;
use crate::proc::{self, life, sched};
use crate::time;
use abi::Errno;
use abi::proc::{ARG_BYTES_MAX, ARG_MAX, FD_INHERIT, FD_NONE, SpawnRequest, UserStr};
use alloc::string::String;
use alloc::vec::Vec;

pub fn sys_exit(a: &Args) -> isize {
    life::exit(a.a[0] as i32)
}

/// Reads `argc` strings described by the `UserStr` array at `argv`.
fn read_argv(argv: u64, argc: u64) -> Result<Vec<String>, Errno> {
    if argc as usize > ARG_MAX {
        return Err(Errno::E2BIG);
    }
    let mut out = Vec::with_capacity(argc as usize);
    let mut total = 0usize;
    for i in 0..argc {
        let s: UserStr = usercopy::read(argv.wrapping_add(i.saturating_mul(core::mem::size_of::<UserStr>() as u64)))?;
        // `s.len` is the caller's number: no arithmetic on it can overflow.
        total = total.saturating_add(usize::try_from(s.len).unwrap_or(usize::MAX)).saturating_add(1);
        if total > ARG_BYTES_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(usercopy::read_str(s.ptr, s.len, ARG_BYTES_MAX)?);
    }
    Ok(out)
}

pub fn sys_spawn(a: &Args) -> isize {
    ret((|| {
        let req: SpawnRequest = usercopy::read(a.a[0])?;
        let path = usercopy::read_str(req.path.ptr, req.path.len, PATH_MAX)?;
        let argv = read_argv(req.argv, req.argc)?;
        let (uid, cwd, me) = proc::with_current(|t| (t.uid, t.cwd.clone(), t.pid));
        let mut fds = [None, None, None];
        for (i, &which) in req.fds.iter().enumerate() {
            fds[i] = match which {
                FD_INHERIT => proc::with_current(|t| t.fds.get(i).ok()),
                FD_NONE => None,
                n if n >= 0 => Some(proc::with_current(|t| t.fds.get(n as usize))?),
                _ => return Err(Errno::EINVAL),
            };
        }
        let spec = life::SpawnSpec { path: &path, argv, fds, uid, cwd, parent: me };
        life::spawn(spec).map(|pid| pid as usize)
    })())
}

pub fn sys_exec(a: &Args) -> isize {
    ret((|| {
        let path = usercopy::read_str(a.a[0], a.a[1], PATH_MAX)?;
        let argv = read_argv(a.a[2], a.a[3])?;
        life::exec(&path, argv)?;
        Ok(0)
    })())
}

pub fn sys_wait(a: &Args) -> isize {
    ret((|| {
        let status_ptr = a.a[1];
        if status_ptr != 0 {
            check(status_ptr, 4, true)?;
        }
        let pid = match a.a[0] as i64 {
            -1 => None,
            p if p > 0 && p <= u32::MAX as i64 => Some(p as u32),
            _ => return Err(Errno::EINVAL),
        };
        let (child, status) = life::wait(pid)?;
        if status_ptr != 0 {
            usercopy::write(status_ptr, &[status])?;
        }
        Ok(child as usize)
    })())
}

pub fn sys_getpid(_a: &Args) -> isize {
    proc::current_pid() as isize
}

pub fn sys_getuid(_a: &Args) -> isize {
    proc::current_uid() as isize
}

/// The superuser may become anyone; others only themselves.
pub fn sys_setuid(a: &Args) -> isize {
    ret((|| {
        let uid = u32::try_from(a.a[0]).map_err(|_| Errno::EINVAL)?;
        proc::with_current(|t| {
            if t.uid != 0 && t.uid != uid {
                return Err(Errno::EPERM);
            }
            t.uid = uid;
            Ok(0)
        })
    })())
}

pub fn sys_sleep(a: &Args) -> isize {
    let ms = a.a[0].min(24 * 3600 * 1000);
    let ticks = ms.saturating_mul(u64::from(time::HZ)).div_ceil(1000);
    sched::sleep_ticks(ticks);
    0
}

pub fn sys_yield(_a: &Args) -> isize {
    sched::yield_now();
    0
}
