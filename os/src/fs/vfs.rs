//! The virtual file system: the interface of a file system, the registry
//! of file-system types, the mount table and path resolution.
//!
//! A file system names its files by inode number ([`Ino`]) and answers a
//! handful of questions about them ([`FileSystem`]). A file-system type
//! ([`FsType`]) makes file systems: `mount -t TYPE SOURCE DIR` looks the
//! type up by name and asks it for one. Path resolution finds the mount
//! whose directory is the longest prefix of the path, then walks the rest
//! of the path inside that file system with `lookup`.

use super::{Result, path};
use crate::sync::{IrqLock, LockClass};
use abi::Errno;
use abi::fs::{FileKind, S_IFDIR, S_IFMT, S_ISVTX};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// An inode number, unique within one file system.
pub type Ino = u64;

/// The largest file size and file offset (`off_t`'s largest value): a
/// write that would end past it is `EFBIG`, a read there finds the end.
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// What `stat` shows of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Type and permission bits (`S_IF*` | `rwxrwxrwx`).
    pub mode: u32,
    pub uid: u32,
    pub size: u64,
    /// Device number, for device files.
    pub rdev: u32,
    pub nlink: u32,
}

impl Attr {
    pub fn kind(&self) -> Option<FileKind> {
        FileKind::from_mode(self.mode)
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: Ino,
    pub name: String,
    /// Type bits (`S_IF*`).
    pub kind: u32,
}

/// A mounted file system. Methods that change things default to `EROFS`.
pub trait FileSystem: Send + Sync {
    /// The root directory's inode.
    fn root(&self) -> Ino;
    /// The inode of `name` in directory `dir`, or `ENOENT`.
    fn lookup(&self, dir: Ino, name: &str) -> Result<Ino>;
    fn getattr(&self, ino: Ino) -> Result<Attr>;
    /// The `index`-th entry of directory `dir`, or `None` past the end.
    fn readdir(&self, dir: Ino, index: usize) -> Result<Option<DirEntry>>;
    /// Reads from `offset` into `buf`; bytes read (0 at the end).
    fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Writes `data` at `offset`; bytes written.
    fn write(&self, _ino: Ino, _offset: u64, _data: &[u8]) -> Result<usize> {
        Err(Errno::EROFS)
    }
    /// Makes a file, directory or device node (`mode` has the type bits).
    fn create(&self, _dir: Ino, _name: &str, _mode: u32, _uid: u32, _rdev: u32) -> Result<Ino> {
        Err(Errno::EROFS)
    }
    /// Cuts a regular file to length 0.
    fn truncate(&self, _ino: Ino) -> Result<()> {
        Err(Errno::EROFS)
    }
    /// Removes `name` from `dir` (an empty directory or any other file).
    fn unlink(&self, _dir: Ino, _name: &str) -> Result<()> {
        Err(Errno::EROFS)
    }
    /// Sets the permission bits (`rwxrwxrwx`) of a file, keeping its type.
    fn set_permissions(&self, _ino: Ino, _perm: u32) -> Result<()> {
        Err(Errno::EROFS)
    }
}

/// Copies what `data` holds from `offset` on into `buf`; bytes copied
/// (0 at or past the end). For file systems that keep files in memory.
pub fn read_at(data: &[u8], offset: u64, buf: &mut [u8]) -> usize {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
    let n = buf.len().min(data.len() - start);
    buf[..n].copy_from_slice(&data[start..start + n]);
    n
}

/// A kind of file system that `mount -t NAME` can make.
pub trait FsType: Send + Sync {
    fn name(&self) -> &str;
    /// A file system for `source` (what `source` means is the type's business).
    fn mount(&self, source: &str) -> Result<Arc<dyn FileSystem>>;
}

/// A file system mounted on a directory.
pub struct Mount {
    /// Where it is mounted (normalised).
    pub path: String,
    pub fstype: String,
    pub source: String,
    pub fs: Arc<dyn FileSystem>,
}

/// A file found by path: which mount, which inode. Holding one keeps its
/// mount busy (see [`umount`]).
#[derive(Clone)]
pub struct Vnode {
    pub mount: Arc<Mount>,
    pub ino: Ino,
}

impl Vnode {
    pub fn fs(&self) -> &dyn FileSystem {
        &*self.mount.fs
    }

    pub fn getattr(&self) -> Result<Attr> {
        self.mount.fs.getattr(self.ino)
    }
}

static TYPES: IrqLock<Vec<Arc<dyn FsType>>> = IrqLock::with_class(LockClass::FsTypes, Vec::new());
static MOUNTS: IrqLock<Vec<Arc<Mount>>> = IrqLock::with_class(LockClass::Mounts, Vec::new());

/// Adds a file-system type; `EEXIST` if one of that name exists.
pub fn register_type(t: Arc<dyn FsType>) -> Result<()> {
    let mut types = TYPES.lock();
    if types.iter().any(|x| x.name() == t.name()) {
        return Err(Errno::EEXIST);
    }
    types.push(t);
    Ok(())
}

/// Removes a file-system type: `EBUSY` while a file system of that type is
/// mounted, `ENOENT` if there is no such type. The check and the removal
/// happen under the type lock, which [`mount`] holds while it adds the
/// mount, so no mount of the type can appear in between.
pub fn unregister_type(name: &str) -> Result<Arc<dyn FsType>> {
    let mut types = TYPES.lock();
    if mounted_count(name) > 0 {
        return Err(Errno::EBUSY);
    }
    let i = types.iter().position(|t| t.name() == name).ok_or(Errno::ENOENT)?;
    Ok(types.remove(i))
}

/// Names of the registered types.
pub fn type_names() -> Vec<String> {
    TYPES.lock().iter().map(|t| String::from(t.name())).collect()
}

/// How many file systems of type `name` are mounted.
pub fn mounted_count(name: &str) -> usize {
    MOUNTS.lock().iter().filter(|m| m.fstype == name).count()
}

/// The mount table: (directory, type, source), in mount order.
pub fn mounts() -> Vec<(String, String, String)> {
    MOUNTS.lock().iter().map(|m| (m.path.clone(), m.fstype.clone(), m.source.clone())).collect()
}

/// Mounts `fs` as the root file system (once, at boot).
pub fn mount_root(fs: Arc<dyn FileSystem>, fstype: &str) -> Result<()> {
    let mut mounts = MOUNTS.lock();
    if mounts.iter().any(|m| m.path == "/") {
        return Err(Errno::EBUSY);
    }
    mounts.push(Arc::new(Mount { path: String::from("/"), fstype: fstype.into(), source: "initrd".into(), fs }));
    Ok(())
}

/// Mounts a new file system of type `fstype` on directory `target`
/// (normalised). `ENODEV` for an unknown type (or one removed meanwhile),
/// `ENOTDIR` if the target is no directory, `EBUSY` if something is
/// mounted there already. Lock order: types, then mounts.
pub fn mount(fstype: &str, source: &str, target: &str) -> Result<()> {
    let t = TYPES.lock().iter().find(|t| t.name() == fstype).cloned().ok_or(Errno::ENODEV)?;
    let dir = resolve(target)?;
    if !dir.getattr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    drop(dir);
    let mount = Arc::new(Mount { path: target.into(), fstype: fstype.into(), source: source.into(), fs: t.mount(source)? });
    // Declared after `mount`, the guards are dropped before it.
    let types = TYPES.lock();
    if !types.iter().any(|x| Arc::ptr_eq(x, &t)) {
        return Err(Errno::ENODEV);
    }
    let mut mounts = MOUNTS.lock();
    if mounts.iter().any(|m| m.path == target) {
        return Err(Errno::EBUSY);
    }
    mounts.push(mount);
    Ok(())
}

/// Unmounts the file system on `target`: `EINVAL` if nothing is mounted
/// there, `EBUSY` if a file in it is open, something is mounted below it,
/// or it is the root.
pub fn umount(target: &str) -> Result<()> {
    let mut mounts = MOUNTS.lock();
    let i = mounts.iter().position(|m| m.path == target).ok_or(Errno::EINVAL)?;
    let below = mounts.iter().any(|m| m.path != target && path::strip_prefix(&m.path, target).is_some());
    if target == "/" || below || Arc::strong_count(&mounts[i]) > 1 {
        return Err(Errno::EBUSY);
    }
    mounts.remove(i);
    Ok(())
}

/// The mount holding `abs` and the rest of the path inside it.
fn mount_for(abs: &str) -> Result<(Arc<Mount>, String)> {
    let mounts = MOUNTS.lock();
    let best = mounts
        .iter()
        .filter_map(|m| path::strip_prefix(abs, &m.path).map(|rest| (m, rest)))
        .max_by_key(|(m, _)| m.path.len())
        .ok_or(Errno::ENOENT)?;
    Ok((best.0.clone(), String::from(best.1)))
}

/// Finds the file at normalised path `abs`.
pub fn resolve(abs: &str) -> Result<Vnode> {
    let (mount, rest) = mount_for(abs)?;
    let fs = mount.fs.clone();
    let mut ino = fs.root();
    for name in path::components(&rest) {
        if !fs.getattr(ino)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        ino = fs.lookup(ino, name)?;
    }
    Ok(Vnode { mount, ino })
}

/// Finds the directory that holds normalised path `abs`, and the last name.
pub fn resolve_parent(abs: &str) -> Result<(Vnode, String)> {
    let (parent, name) = path::split_last(abs).ok_or(Errno::EEXIST)?;
    let dir = resolve(parent)?;
    if !dir.getattr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok((dir, String::from(name)))
}

/// What a user may do with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// Whether `uid` may access a file with `attr` as asked: the owner's bits
/// for the owner, the others' bits for everyone else; the superuser may
/// read and write anything and execute what has any `x` bit.
pub fn permits(attr: &Attr, uid: u32, access: Access) -> bool {
    let shift = match access {
        Access::Read => 2,
        Access::Write => 1,
        Access::Execute => 0,
    };
    if uid == 0 {
        return access != Access::Execute || attr.mode & 0o111 != 0;
    }
    let bits = if uid == attr.uid { (attr.mode >> 6) & 7 } else { attr.mode & 7 };
    bits & (1 << shift) != 0
}

/// Makes a file, directory or node at `abs` for `uid`: `EEXIST` if the
/// name is taken, `EACCES` without write permission on the directory.
pub fn create(abs: &str, mode: u32, uid: u32, rdev: u32) -> Result<Vnode> {
    let (dir, name) = resolve_parent(abs)?;
    if dir.fs().lookup(dir.ino, &name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if !permits(&dir.getattr()?, uid, Access::Write) {
        return Err(Errno::EACCES);
    }
    let ino = dir.fs().create(dir.ino, &name, mode, uid, rdev)?;
    Ok(Vnode { mount: dir.mount, ino })
}

/// Removes the file at `abs` for `uid`: `EBUSY` for a mount point,
/// `EACCES` without write permission on the directory, and `EPERM` in a
/// sticky directory (mode `+t`, like `/tmp`) unless `uid` owns the entry
/// or the directory, or is the superuser.
pub fn unlink(abs: &str, uid: u32) -> Result<()> {
    if MOUNTS.lock().iter().any(|m| m.path == abs) {
        return Err(Errno::EBUSY);
    }
    let (dir, name) = resolve_parent(abs)?;
    let dir_attr = dir.getattr()?;
    if !permits(&dir_attr, uid, Access::Write) {
        return Err(Errno::EACCES);
    }
    if dir_attr.mode & S_ISVTX != 0 && uid != 0 && uid != dir_attr.uid {
        let entry = dir.fs().lookup(dir.ino, &name)?;
        if dir.fs().getattr(entry)?.uid != uid {
            return Err(Errno::EPERM);
        }
    }
    dir.fs().unlink(dir.ino, &name)
}
