//! System calls on files: read, write, open, close, ioctl, lseek,
//! getdents, stat, fstat, mkdir, mknod, unlink, mount, umount, chdir, getcwd.

use super::usercopy::{self, check};
use super::{Args, ret};
use crate::fs::file::{self, OpenFile};
use crate::fs::path::{self, PATH_MAX};
use crate::fs::vfs::{self, Access};
use crate::proc;
use abi::Errno;
use abi::fs::{Dirent, S_IFBLK, S_IFCHR, S_IFDIR, S_IFMT, Stat};
use alloc::string::String;
use alloc::sync::Arc;

/// Largest transfer one `read` or `write` does.
const MAX_IO: usize = 64 * 1024;

fn fd_file(fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let fd = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
    proc::with_current(|t| t.fds.get(fd))
}

/// The absolute path named by a (pointer, length) pair, and the caller's uid.
pub(super) fn user_path(ptr: u64, len: u64) -> Result<(String, u32), Errno> {
    let text = usercopy::read_str(ptr, len, PATH_MAX)?;
    let (cwd, uid) = proc::with_current(|t| (t.cwd.clone(), t.uid));
    Ok((path::absolute(&cwd, &text)?, uid))
}

fn stat_of(attr: &vfs::Attr, ino: u64) -> Stat {
    Stat { ino, size: attr.size, mode: attr.mode, uid: attr.uid, rdev: attr.rdev, nlink: attr.nlink }
}

pub fn sys_read(a: &Args) -> isize {
    ret((|| {
        let f = fd_file(a.a[0])?;
        let len = (a.a[2] as usize).min(MAX_IO);
        check(a.a[1], len, true)?;
        let mut buf = usercopy::buffer(len, 0u8)?;
        let n = f.read(&mut buf)?;
        usercopy::copy_to_user(a.a[1], &buf[..n])?;
        Ok(n)
    })())
}

pub fn sys_write(a: &Args) -> isize {
    ret((|| {
        let f = fd_file(a.a[0])?;
        let len = (a.a[2] as usize).min(MAX_IO);
        let mut buf = usercopy::buffer(len, 0u8)?;
        usercopy::copy_from_user(a.a[1], &mut buf)?;
        f.write(&buf)
    })())
}

pub fn sys_open(a: &Args) -> isize {
    ret((|| {
        let text = usercopy::read_str(a.a[0], a.a[1], PATH_MAX)?;
        let (cwd, uid) = proc::with_current(|t| (t.cwd.clone(), t.uid));
        let f = file::open(uid, &cwd, &text, a.a[2] as u32, a.a[3] as u32)?;
        proc::with_current(|t| t.fds.insert(f))
    })())
}

pub fn sys_close(a: &Args) -> isize {
    // The file (and a device's `close`) is dropped outside the task lock.
    let taken = proc::with_current(|t| {
        let f = t.fds.get(a.a[0] as usize);
        f.and_then(|f| t.fds.close(a.a[0] as usize).map(|()| f))
    });
    ret(taken.map(|_| 0))
}

pub fn sys_ioctl(a: &Args) -> isize {
    ret(fd_file(a.a[0]).and_then(|f| f.ioctl(a.a[1] as usize, a.a[2] as usize)))
}

pub fn sys_lseek(a: &Args) -> isize {
    ret(fd_file(a.a[0]).and_then(|f| f.seek(a.a[1] as i64, a.a[2] as u32)).map(|o| o as usize))
}

pub fn sys_getdents(a: &Args) -> isize {
    ret((|| {
        let f = fd_file(a.a[0])?;
        let count = (a.a[2] as usize / abi::fs::DIRENT_SIZE).min(256);
        if count == 0 {
            return Err(Errno::EINVAL);
        }
        check(a.a[1], count.saturating_mul(abi::fs::DIRENT_SIZE), true)?;
        let mut entries = usercopy::buffer(count, Dirent::new(0, 0, b""))?;
        let n = f.getdents(&mut entries)?;
        usercopy::write(a.a[1], &entries[..n])?;
        Ok(n.saturating_mul(abi::fs::DIRENT_SIZE))
    })())
}

pub fn sys_stat(a: &Args) -> isize {
    ret((|| {
        let (abs, _) = user_path(a.a[0], a.a[1])?;
        check(a.a[2], core::mem::size_of::<Stat>(), true)?;
        let v = vfs::resolve(&abs)?;
        usercopy::write(a.a[2], &[stat_of(&v.getattr()?, v.ino)])?;
        Ok(0)
    })())
}

pub fn sys_fstat(a: &Args) -> isize {
    ret((|| {
        let f = fd_file(a.a[0])?;
        usercopy::write(a.a[1], &[stat_of(&f.attr()?, f.vnode.ino)])?;
        Ok(0)
    })())
}

pub fn sys_mkdir(a: &Args) -> isize {
    ret((|| {
        let (abs, uid) = user_path(a.a[0], a.a[1])?;
        vfs::create(&abs, S_IFDIR | (a.a[2] as u32 & 0o777), uid, 0)?;
        Ok(0)
    })())
}

pub fn sys_mknod(a: &Args) -> isize {
    ret((|| {
        let (abs, uid) = user_path(a.a[0], a.a[1])?;
        if uid != 0 {
            return Err(Errno::EPERM);
        }
        let mode = a.a[2] as u32;
        if !matches!(mode & S_IFMT, S_IFCHR | S_IFBLK) {
            return Err(Errno::EINVAL);
        }
        vfs::create(&abs, mode & (S_IFMT | 0o777), uid, a.a[3] as u32)?;
        Ok(0)
    })())
}

pub fn sys_unlink(a: &Args) -> isize {
    ret((|| {
        let (abs, uid) = user_path(a.a[0], a.a[1])?;
        vfs::unlink(&abs, uid)?;
        Ok(0)
    })())
}

pub fn sys_mount(a: &Args) -> isize {
    ret((|| {
        let fstype = usercopy::read_str(a.a[0], a.a[1], 64)?;
        let source = usercopy::read_str(a.a[2], a.a[3], PATH_MAX)?;
        let (target, uid) = user_path(a.a[4], a.a[5])?;
        if uid != 0 {
            return Err(Errno::EPERM);
        }
        vfs::mount(&fstype, &source, &target)?;
        log::info!("mounted {fstype} ({source}) on {target}");
        Ok(0)
    })())
}

pub fn sys_umount(a: &Args) -> isize {
    ret((|| {
        let (target, uid) = user_path(a.a[0], a.a[1])?;
        if uid != 0 {
            return Err(Errno::EPERM);
        }
        vfs::umount(&target)?;
        log::info!("unmounted {target}");
        Ok(0)
    })())
}

pub fn sys_chdir(a: &Args) -> isize {
    ret((|| {
        let (abs, uid) = user_path(a.a[0], a.a[1])?;
        let attr = vfs::resolve(&abs)?.getattr()?;
        if !attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !vfs::permits(&attr, uid, Access::Execute) && uid != 0 {
            return Err(Errno::EACCES);
        }
        proc::with_current(|t| t.cwd = abs);
        Ok(0)
    })())
}

pub fn sys_getcwd(a: &Args) -> isize {
    ret((|| {
        let cwd = proc::with_current(|t| t.cwd.clone());
        if cwd.len() > a.a[1] as usize {
            return Err(Errno::ERANGE);
        }
        usercopy::copy_to_user(a.a[0], cwd.as_bytes())?;
        Ok(cwd.len())
    })())
}
