//! ramfs: a file system kept in kernel memory (for `/tmp`). Every mount is
//! a new, empty file system whose root is writable by everyone (mode
//! 1777, like `/tmp` on Unix).

use super::Result;
use super::vfs::{Attr, DirEntry, FileSystem, FsType, Ino};
use crate::sync::IrqLock;
use abi::Errno;
use abi::fs::{S_IFDIR, S_IFMT, S_IFREG, S_IPERM, S_ISVTX};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Largest file ramfs keeps.
pub const MAX_FILE: u64 = 16 * 1024 * 1024;
/// Most bytes of file data one ramfs keeps in all; writes past it get
/// `ENOSPC`, so filling `/tmp` cannot exhaust the kernel heap.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Most files and directories one ramfs keeps.
pub const MAX_NODES: usize = 4096;

struct Node {
    attr: Attr,
    parent: Ino,
    /// Entries of a directory, by name.
    entries: BTreeMap<String, Ino>,
    data: Vec<u8>,
}

struct Tree {
    nodes: BTreeMap<Ino, Node>,
    next: Ino,
    /// Bytes of file data held.
    bytes: usize,
}

/// One mounted ramfs.
pub struct RamFs {
    tree: IrqLock<Tree>,
}

const ROOT: Ino = 1;

impl RamFs {
    pub fn new() -> RamFs {
        let root = Node {
            attr: Attr { mode: S_IFDIR | 0o1777, uid: 0, size: 0, rdev: 0, nlink: 2 },
            parent: ROOT,
            entries: BTreeMap::new(),
            data: Vec::new(),
        };
        let mut nodes = BTreeMap::new();
        nodes.insert(ROOT, root);
        RamFs { tree: IrqLock::new(Tree { nodes, next: ROOT + 1, bytes: 0 }) }
    }
}

impl Default for RamFs {
    fn default() -> Self {
        Self::new()
    }
}

impl FileSystem for RamFs {
    fn root(&self) -> Ino {
        ROOT
    }

    fn lookup(&self, dir: Ino, name: &str) -> Result<Ino> {
        let tree = self.tree.lock();
        let node = tree.nodes.get(&dir).ok_or(Errno::ENOENT)?;
        match name {
            "." => Ok(dir),
            ".." => Ok(node.parent),
            _ => node.entries.get(name).copied().ok_or(Errno::ENOENT),
        }
    }

    fn getattr(&self, ino: Ino) -> Result<Attr> {
        let tree = self.tree.lock();
        let node = tree.nodes.get(&ino).ok_or(Errno::ENOENT)?;
        let mut attr = node.attr;
        if attr.mode & S_IFMT == S_IFREG {
            attr.size = node.data.len() as u64;
        }
        Ok(attr)
    }

    fn readdir(&self, dir: Ino, index: usize) -> Result<Option<DirEntry>> {
        let tree = self.tree.lock();
        let node = tree.nodes.get(&dir).ok_or(Errno::ENOENT)?;
        if !node.attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let Some((name, &ino)) = node.entries.iter().nth(index) else { return Ok(None) };
        let kind = tree.nodes.get(&ino).map_or(0, |n| n.attr.mode & S_IFMT);
        Ok(Some(DirEntry { ino, name: name.clone(), kind }))
    }

    fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let tree = self.tree.lock();
        let node = tree.nodes.get(&ino).ok_or(Errno::ENOENT)?;
        if node.attr.is_dir() {
            return Err(Errno::EISDIR);
        }
        Ok(super::vfs::read_at(&node.data, offset, buf))
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize> {
        let mut tree = self.tree.lock();
        let used = tree.bytes;
        let node = tree.nodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        if node.attr.is_dir() {
            return Err(Errno::EISDIR);
        }
        let end = offset.checked_add(data.len() as u64).filter(|&e| e <= MAX_FILE).ok_or(Errno::EFBIG)?;
        let (start, end) = (offset as usize, end as usize);
        let growth = end.saturating_sub(node.data.len());
        if growth > 0 {
            if used + growth > MAX_BYTES {
                return Err(Errno::ENOSPC);
            }
            node.data.try_reserve(growth).map_err(|_| Errno::ENOSPC)?;
            node.data.resize(end, 0);
        }
        node.data[start..end].copy_from_slice(data);
        tree.bytes += growth;
        Ok(data.len())
    }

    fn create(&self, dir: Ino, name: &str, mode: u32, uid: u32, rdev: u32) -> Result<Ino> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(Errno::EINVAL);
        }
        let mut tree = self.tree.lock();
        if tree.nodes.len() >= MAX_NODES {
            return Err(Errno::ENOSPC);
        }
        let ino = tree.next;
        let parent = tree.nodes.get_mut(&dir).ok_or(Errno::ENOENT)?;
        if !parent.attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if parent.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        parent.entries.insert(name.into(), ino);
        let nlink = if mode & S_IFMT == S_IFDIR { 2 } else { 1 };
        let attr = Attr { mode, uid, size: 0, rdev, nlink };
        tree.nodes.insert(ino, Node { attr, parent: dir, entries: BTreeMap::new(), data: Vec::new() });
        tree.next += 1;
        Ok(ino)
    }

    fn set_permissions(&self, ino: Ino, perm: u32) -> Result<()> {
        let mut tree = self.tree.lock();
        let node = tree.nodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        node.attr.mode = (node.attr.mode & S_IFMT) | (perm & (S_IPERM | S_ISVTX));
        Ok(())
    }

    fn truncate(&self, ino: Ino) -> Result<()> {
        let mut tree = self.tree.lock();
        let node = tree.nodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        let freed = core::mem::take(&mut node.data).len();
        tree.bytes -= freed;
        Ok(())
    }

    fn unlink(&self, dir: Ino, name: &str) -> Result<()> {
        let mut tree = self.tree.lock();
        let parent = tree.nodes.get(&dir).ok_or(Errno::ENOENT)?;
        let ino = *parent.entries.get(name).ok_or(Errno::ENOENT)?;
        let node = tree.nodes.get(&ino).ok_or(Errno::ENOENT)?;
        if node.attr.is_dir() && !node.entries.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        if let Some(gone) = tree.nodes.remove(&ino) {
            tree.bytes -= gone.data.len();
        }
        if let Some(parent) = tree.nodes.get_mut(&dir) {
            parent.entries.remove(name);
        }
        Ok(())
    }
}

/// The `ramfs` type: every mount is a new empty file system.
pub struct RamFsType;

impl FsType for RamFsType {
    fn name(&self) -> &str {
        "ramfs"
    }

    fn mount(&self, _source: &str) -> Result<Arc<dyn FileSystem>> {
        Ok(Arc::new(RamFs::new()))
    }
}
