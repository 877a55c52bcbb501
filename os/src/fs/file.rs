//! Open files and descriptor tables.
//!
//! [`open`] resolves a path, checks the permission bits against the
//! caller's uid, and returns an [`OpenFile`]: the file, the access mode and
//! the offset that `read`, `write` and `lseek` move. A device file is
//! connected to its driver from the device switch at open time; the
//! driver's `close` runs when the last descriptor is closed. A
//! [`FdTable`] maps a process's descriptor numbers to open files (two
//! descriptors may share one open file, and so its offset).

use super::device::{self, BlockDevice, CharDevice};
use super::vfs::{self, Access, Attr, Vnode};
use super::{Result, path};
use crate::sync::IrqLock;
use abi::Errno;
use abi::fs::{self as afs, Dirent, FileKind, S_IFMT, S_IFREG};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Most descriptors a process may have open.
pub const MAX_FDS: usize = 32;

/// What an open file reads from and writes to.
pub enum Backing {
    /// A regular file or directory of a file system.
    Node,
    Char(Arc<dyn CharDevice>, u32),
    Block(Arc<dyn BlockDevice>, u32),
}

/// An open file: shared by every descriptor that refers to it.
pub struct OpenFile {
    pub vnode: Vnode,
    pub flags: u32,
    pub backing: Backing,
    offset: IrqLock<u64>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if let Backing::Char(driver, minor) = &self.backing {
            driver.release(*minor, self.flags);
        }
    }
}

impl OpenFile {
    pub fn attr(&self) -> Result<Attr> {
        self.vnode.getattr()
    }

    /// Reads at the file offset and advances it.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if !afs::can_read(self.flags) {
            return Err(Errno::EBADF);
        }
        let offset = *self.offset.lock();
        let n = match &self.backing {
            Backing::Node => {
                if self.attr()?.is_dir() {
                    return Err(Errno::EISDIR);
                }
                self.vnode.fs().read(self.vnode.ino, offset, buf)?
            }
            Backing::Char(d, minor) => d.read(*minor, offset, buf)?,
            Backing::Block(d, minor) => device::block_read(&**d, *minor, offset, buf)?,
        };
        *self.offset.lock() = offset + n as u64;
        Ok(n)
    }

    /// Writes at the file offset (at the end with `O_APPEND`) and advances it.
    pub fn write(&self, data: &[u8]) -> Result<usize> {
        if !afs::can_write(self.flags) {
            return Err(Errno::EBADF);
        }
        let mut offset = *self.offset.lock();
        let n = match &self.backing {
            Backing::Node => {
                if self.flags & afs::O_APPEND != 0 {
                    offset = self.attr()?.size;
                }
                self.vnode.fs().write(self.vnode.ino, offset, data)?
            }
            Backing::Char(d, minor) => d.write(*minor, offset, data)?,
            Backing::Block(d, minor) => device::block_write(&**d, *minor, offset, data)?,
        };
        *self.offset.lock() = offset + n as u64;
        Ok(n)
    }

    /// Moves the offset (`SEEK_SET`, `SEEK_CUR`, `SEEK_END`).
    pub fn seek(&self, off: i64, whence: u32) -> Result<u64> {
        if matches!(self.backing, Backing::Char(..)) {
            return Err(Errno::ESPIPE);
        }
        let mut cur = self.offset.lock();
        let base = match whence {
            afs::SEEK_SET => 0,
            afs::SEEK_CUR => *cur as i64,
            afs::SEEK_END => self.vnode.getattr()?.size as i64,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(off).filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
        *cur = new as u64;
        Ok(new as u64)
    }

    /// Fills `out` with directory entries from the offset (an entry index)
    /// on; returns how many.
    pub fn getdents(&self, out: &mut [Dirent]) -> Result<usize> {
        if !self.attr()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut index = self.offset.lock();
        let mut n = 0;
        while n < out.len() {
            match self.vnode.fs().readdir(self.vnode.ino, *index as usize)? {
                Some(e) => {
                    out[n] = Dirent::new(e.ino, e.kind, e.name.as_bytes());
                    n += 1;
                    *index += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }

    pub fn ioctl(&self, cmd: usize, arg: usize) -> Result<usize> {
        match &self.backing {
            Backing::Char(d, minor) => d.ioctl_flags(*minor, self.flags, cmd, arg),
            _ => Err(Errno::ENOTTY),
        }
    }
}

/// Opens `path` (relative to `cwd`) for `uid` with `open(2)` flags.
pub fn open(uid: u32, cwd: &str, path_in: &str, flags: u32, mode: u32) -> Result<Arc<OpenFile>> {
    let abs = path::absolute(cwd, path_in)?;
    let vnode = match vfs::resolve(&abs) {
        Ok(v) => {
            if flags & afs::O_CREAT != 0 && flags & afs::O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            v
        }
        Err(Errno::ENOENT) if flags & afs::O_CREAT != 0 => vfs::create(&abs, S_IFREG | (mode & 0o777), uid, 0)?,
        Err(e) => return Err(e),
    };
    open_vnode(uid, vnode, flags)
}

/// Opens a file already found, checking permissions.
pub fn open_vnode(uid: u32, vnode: Vnode, flags: u32) -> Result<Arc<OpenFile>> {
    let attr = vnode.getattr()?;
    let (read, write) = (afs::can_read(flags), afs::can_write(flags));
    if attr.is_dir() && write {
        return Err(Errno::EISDIR);
    }
    if flags & afs::O_DIRECTORY != 0 && !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if (read && !vfs::permits(&attr, uid, Access::Read)) || (write && !vfs::permits(&attr, uid, Access::Write)) {
        return Err(Errno::EACCES);
    }
    let (major, minor) = (afs::major(attr.rdev), afs::minor(attr.rdev));
    let backing = match attr.kind() {
        Some(FileKind::CharDevice) => {
            let driver = device::char_driver(major).ok_or(Errno::ENXIO)?;
            driver.open(minor, flags)?;
            Backing::Char(driver, minor)
        }
        Some(FileKind::BlockDevice) => Backing::Block(device::block_driver(major).ok_or(Errno::ENXIO)?, minor),
        _ => {
            if write && flags & afs::O_TRUNC != 0 && attr.mode & S_IFMT == S_IFREG {
                vnode.fs().truncate(vnode.ino)?;
            }
            Backing::Node
        }
    };
    Ok(Arc::new(OpenFile { vnode, flags, backing, offset: IrqLock::new(0) }))
}

/// A process's descriptors.
#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<Arc<OpenFile>>>,
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable { slots: Vec::new() }
    }

    /// Puts `file` in the lowest free slot; `EMFILE` if all are taken.
    pub fn insert(&mut self, file: Arc<OpenFile>) -> Result<usize> {
        if let Some(i) = self.slots.iter().position(Option::is_none) {
            self.slots[i] = Some(file);
            return Ok(i);
        }
        if self.slots.len() >= MAX_FDS {
            return Err(Errno::EMFILE);
        }
        self.slots.push(Some(file));
        Ok(self.slots.len() - 1)
    }

    /// Puts `file` in slot `fd`, closing what was there.
    pub fn set(&mut self, fd: usize, file: Arc<OpenFile>) -> Result<()> {
        if fd >= MAX_FDS {
            return Err(Errno::EBADF);
        }
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(file);
        Ok(())
    }

    pub fn get(&self, fd: usize) -> Result<Arc<OpenFile>> {
        self.slots.get(fd).and_then(Clone::clone).ok_or(Errno::EBADF)
    }

    pub fn close(&mut self, fd: usize) -> Result<()> {
        self.slots.get_mut(fd).and_then(Option::take).map(drop).ok_or(Errno::EBADF)
    }

    /// Closes every descriptor.
    pub fn clear(&mut self) {
        self.slots.clear();
    }
}
