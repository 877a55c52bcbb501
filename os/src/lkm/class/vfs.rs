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

use super::{Refusal, errno_of};
use crate::fs::Result;
use crate::fs::vfs::{self, Attr, DirEntry, FileSystem, FsType, Ino};
use crate::lkm::helpers::DIRENT_HEADER;
use crate::lkm::module::Module;
use crate::lkm::run::{Outcome, run};

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

/// A program's result as a file-system result.
fn result(outcome: Outcome) -> Result<u64> {
    match outcome {
        Outcome::Done(r0) if (r0 as i64) < 0 => Err(errno_of(r0)),
        Outcome::Done(r0) => Ok(r0),
        Outcome::Absent => Err(Errno::EROFS),
        Outcome::Skipped => Err(Errno::EAGAIN),
        Outcome::Failed => Err(Errno::EIO),
    }
}

impl ModFs {
    /// Runs `write` once on at most [`ctx::WRITE_CAPACITY`] bytes.
    fn write_chunk(&self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize> {
        let mut c = VfsWriteCtx { ino, offset, data: [0; ctx::WRITE_CAPACITY], data_len: data.len() as u32, _pad: 0 };
        c.data[..data.len()].copy_from_slice(data);
        let n = result(run(&self.module, "write", &mut c, None))?;
        Ok((n as usize).min(data.len()))
    }
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
        result(run(&self.module, "lookup", &mut c, None))
    }

    fn getattr(&self, ino: Ino) -> Result<Attr> {
        let mut c = VfsGetattrCtx { ino, ..VfsGetattrCtx::default() };
        result(run(&self.module, "getattr", &mut c, None))?;
        let dir = c.mode & S_IFMT == S_IFDIR;
        Ok(Attr { mode: c.mode, uid: 0, size: c.size, rdev: 0, nlink: if dir { 2 } else { 1 } })
    }

    fn readdir(&self, dir: Ino, index: usize) -> Result<Option<DirEntry>> {
        let mut c = VfsReaddirCtx { dir_ino: dir, index: index as u64 };
        let mut out = Vec::new();
        let n = result(run(&self.module, "readdir", &mut c, Some((&mut out, DIRENT_HEADER + abi::fs::NAME_MAX))))?;
        if n == 0 {
            return Ok(None);
        }
        // One record: inode, name length, name (see `emit_dirent`).
        let len = *out.get(8).ok_or(Errno::EIO)? as usize;
        let name = out.get(DIRENT_HEADER..DIRENT_HEADER + len).ok_or(Errno::EIO)?;
        let ino = u64::from_le_bytes(out[..8].try_into().map_err(|_| Errno::EIO)?);
        let name = String::from(core::str::from_utf8(name).map_err(|_| Errno::EIO)?);
        let kind = self.getattr(ino).map_or(S_IFREG, |a| a.mode & S_IFMT);
        Ok(Some(DirEntry { ino, name, kind }))
    }

    fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = buf.len().min(ctx::OUTPUT_CAPACITY as usize);
        let mut c = VfsReadCtx { ino, offset, len: len as u32, _pad: 0 };
        let mut out = Vec::new();
        result(run(&self.module, "read", &mut c, Some((&mut out, len))))?;
        let n = out.len().min(len);
        buf[..n].copy_from_slice(&out[..n]);
        Ok(n)
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize> {
        let mut done = 0;
        for chunk in data.chunks(ctx::WRITE_CAPACITY) {
            let n = match self.write_chunk(ino, offset + done as u64, chunk) {
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
