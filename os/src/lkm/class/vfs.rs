//! File-system modules: a file-system type whose every answer comes from
//! the module's programs (`lookup`, `getattr`, `readdir`, `read`, `write`).
//!
//! `mount -t NAME none DIR` makes a [`ModFs`]; the module numbers its files
//! itself, with the root directory as inode 1. Unloading is refused
//! (`EBUSY`) while a file system of the type is mounted.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::Errno;
use abi::fs::{S_IFDIR, S_IFMT, S_IFREG};
use lkm::ctx::{self, VfsGetattrCtx, VfsLookupCtx, VfsReadCtx, VfsReaddirCtx, VfsWriteCtx};

use super::{Refusal, checked};
use crate::fs::Result;
use crate::fs::vfs::{self, Attr, DirEntry, FileSystem, FsType, Ino, MAX_OFFSET};
use crate::lkm::helpers::DIRENT_HEADER;
use crate::lkm::module::Module;
use crate::lkm::run::run;

/// The inode of a module file system's root directory.
pub const ROOT_INO: Ino = 1;

/// The file-system type a vfs module registers.
pub struct ModFsType {
    module: Arc<Module>,
    name: String,
}

impl FsType for ModFsType {
    fn name(&self) -> &str {
        &self.name
    }

    fn mount(&self, _source: &str) -> Result<Arc<dyn FileSystem>> {
        Ok(Arc::new(ModFs { module: self.module.clone() }))
    }
}

/// A mounted module file system.
pub struct ModFs {
    module: Arc<Module>,
}

/// What `absent` entry points answer: a module without the program is read-only.
const ABSENT: Result<u64> = Err(Errno::EROFS);

impl ModFs {
    /// Runs `write` once on at most [`ctx::WRITE_CAPACITY`] bytes; the
    /// module may report at most those bytes written.
    fn write_chunk(&self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize> {
        let mut c = VfsWriteCtx { ino, offset, data: [0; ctx::WRITE_CAPACITY], data_len: data.len() as u32, _pad: 0 };
        c.data[..data.len()].copy_from_slice(data);
        let n = checked(&self.module, "write", run(&self.module, "write", &mut c, None), data.len() as u64, ABSENT)?;
        Ok(n as usize)
    }

    /// An inode number the module handed out: `1..=MAX_INO`.
    fn inode(&self, entry: &str, ino: u64) -> Result<Ino> {
        if ino == 0 || ino > MAX_INO {
            return Err(self.module.reject(entry, format_args!("gave inode number {ino}, outside 1..={MAX_INO}"), Errno::EIO));
        }
        Ok(ino)
    }
}

/// Largest inode number a module file system may hand out.
pub const MAX_INO: Ino = i64::MAX as u64;

/// The one record `emit_dirent` leaves: inode, name length, a name that is
/// UTF-8 without `/` or NUL.
fn dirent(out: &[u8]) -> Option<(u64, &str)> {
    let ino = u64::from_le_bytes(out.get(..8)?.try_into().ok()?);
    let len = *out.get(8)? as usize;
    let name = core::str::from_utf8(out.get(DIRENT_HEADER..DIRENT_HEADER.checked_add(len)?)?).ok()?;
    (!name.is_empty() && !name.contains(['/', '\0'])).then_some((ino, name))
}

impl FileSystem for ModFs {
    fn root(&self) -> Ino {
        ROOT_INO
    }

    fn lookup(&self, dir: Ino, name: &str) -> Result<Ino> {
        if name.len() > ctx::NAME_CAPACITY {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut c = VfsLookupCtx { dir_ino: dir, name: [0; ctx::NAME_CAPACITY], name_len: name.len() as u32, _pad: 0 };
        c.name[..name.len()].copy_from_slice(name.as_bytes());
        let ino = checked(&self.module, "lookup", run(&self.module, "lookup", &mut c, None), MAX_INO, ABSENT)?;
        self.inode("lookup", ino)
    }

    fn getattr(&self, ino: Ino) -> Result<Attr> {
        let mut c = VfsGetattrCtx { ino, ..VfsGetattrCtx::default() };
        checked(&self.module, "getattr", run(&self.module, "getattr", &mut c, None), u64::MAX, ABSENT)?;
        let kind = c.mode & S_IFMT;
        if (kind != S_IFREG && kind != S_IFDIR) || c.mode & !(S_IFMT | 0o777) != 0 {
            let what = format_args!("set mode {:#o} for inode {ino}: not a regular file or directory with permissions in 0o777", c.mode);
            return Err(self.module.reject("getattr", what, Errno::EIO));
        }
        if c.size > MAX_OFFSET {
            let what = format_args!("set size {} for inode {ino}, more than a file may hold ({MAX_OFFSET})", c.size);
            return Err(self.module.reject("getattr", what, Errno::EIO));
        }
        Ok(Attr { mode: c.mode, uid: 0, size: c.size, rdev: 0, nlink: if kind == S_IFDIR { 2 } else { 1 } })
    }

    fn readdir(&self, dir: Ino, index: usize) -> Result<Option<DirEntry>> {
        let mut c = VfsReaddirCtx { dir_ino: dir, index: index as u64 };
        let mut out = Vec::new();
        let limit = DIRENT_HEADER + abi::fs::NAME_MAX;
        let run = run(&self.module, "readdir", &mut c, Some((&mut out, limit)));
        if checked(&self.module, "readdir", run, u64::MAX, ABSENT)? == 0 {
            return Ok(None);
        }
        let Some((ino, name)) = dirent(&out) else {
            let what = format_args!("returned an entry for index {index} without one valid record from `emit_dirent`");
            return Err(self.module.reject("readdir", what, Errno::EIO));
        };
        let ino = self.inode("readdir", ino)?;
        let name = String::from(name);
        let kind = self.getattr(ino).map_or(S_IFREG, |a| a.mode & S_IFMT);
        Ok(Some(DirEntry { ino, name, kind }))
    }

    fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = buf.len().min(ctx::OUTPUT_CAPACITY as usize);
        let mut c = VfsReadCtx { ino, offset, len: len as u32, _pad: 0 };
        let mut out = Vec::new();
        let run = run(&self.module, "read", &mut c, Some((&mut out, len)));
        checked(&self.module, "read", run, len as u64, ABSENT)?;
        let n = out.len().min(len);
        buf[..n].copy_from_slice(&out[..n]);
        Ok(n)
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize> {
        let mut done = 0;
        for chunk in data.chunks(ctx::WRITE_CAPACITY) {
            let at = offset.checked_add(done as u64).ok_or(Errno::EFBIG)?;
            let n = match self.write_chunk(ino, at, chunk) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            done += n;
            if n < chunk.len() {
                break;
            }
        }
        Ok(done)
    }

    /// `O_TRUNC`: a write of no bytes at offset 0 (the module decides what
    /// that means; a module without `write` is read-only).
    fn truncate(&self, ino: Ino) -> Result<()> {
        self.write_chunk(ino, 0, &[]).map(drop)
    }
}

/// Registers the type `fstype`.
pub fn link(module: &Arc<Module>, fstype: &str) -> core::result::Result<(), Refusal> {
    let t = Arc::new(ModFsType { module: module.clone(), name: String::from(fstype) });
    vfs::register_type(t).map_err(|e| {
        Refusal::new(e, alloc::format!("error: a file-system type named `{fstype}` exists already"))
    })
}

/// Removes the type of module `name`: `EBUSY` while mounted.
pub fn unlink(name: &str, fstype: &str) -> core::result::Result<(), Refusal> {
    let mounted = vfs::mounts().into_iter().filter(|m| m.1 == fstype).map(|m| m.0).collect::<Vec<_>>();
    vfs::unregister_type(fstype).map(drop).map_err(|e| match e {
        Errno::EBUSY => Refusal::in_use(
            name,
            format_args!("file system `{fstype}` is mounted on {}", mounted.join(", ")),
            format_args!("unmount it first: umount {}", mounted.join(" ")),
        ),
        e => Refusal::new(e, alloc::format!("error: cannot remove file-system type `{fstype}`: {e}")),
    })
}
