//! devfs: the file system on `/dev`. It holds one flat directory of device
//! nodes, each naming a driver in the device switch by its major number.
//! There is one devfs in the system: drivers add their nodes with
//! [`add_node`] (and remove them with [`remove_node`]) whether or not it is
//! mounted, and `mknod` by the superuser adds nodes too.

use super::Result;
use super::vfs::{Attr, DirEntry, FileSystem, FsType, Ino};
use crate::sync::{IrqLock, LockClass};
use abi::Errno;
use abi::fs::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFMT};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

struct Node {
    name: String,
    attr: Attr,
}

/// `NODES[ino - 2]`; inode 1 is the directory. Removed nodes leave `None`
/// so inode numbers of the others stay stable; a new node takes the first
/// free slot.
static NODES: IrqLock<Vec<Option<Node>>> = IrqLock::with_class(LockClass::Devfs, Vec::new());

const ROOT: Ino = 1;

/// Adds device node `/dev/NAME`; `EEXIST` if the name is taken, `EINVAL`
/// unless `mode` is a character or block device.
pub fn add_node(name: &str, mode: u32, uid: u32, rdev: u32) -> Result<()> {
    if !matches!(mode & S_IFMT, S_IFCHR | S_IFBLK) {
        return Err(Errno::EINVAL);
    }
    if name.is_empty() || name.contains('/') || name.len() > abi::fs::NAME_MAX {
        return Err(Errno::EINVAL);
    }
    let mut nodes = NODES.lock();
    if nodes.iter().flatten().any(|n| n.name == name) {
        return Err(Errno::EEXIST);
    }
    let node = Some(Node { name: name.into(), attr: Attr { mode, uid, size: 0, rdev, nlink: 1 } });
    // A removed node's slot (and inode number) is reused, so that drivers
    // coming and going do not grow the table.
    match nodes.iter_mut().find(|n| n.is_none()) {
        Some(free) => *free = node,
        None => nodes.push(node),
    }
    Ok(())
}

/// Removes `/dev/NAME`; `ENOENT` if there is none.
pub fn remove_node(name: &str) -> Result<()> {
    let mut nodes = NODES.lock();
    let slot = nodes.iter_mut().find(|n| n.as_ref().is_some_and(|n| n.name == name)).ok_or(Errno::ENOENT)?;
    *slot = None;
    Ok(())
}

/// The devfs view of the node table.
pub struct DevFs;

impl FileSystem for DevFs {
    fn root(&self) -> Ino {
        ROOT
    }

    fn lookup(&self, dir: Ino, name: &str) -> Result<Ino> {
        if dir != ROOT {
            return Err(Errno::ENOTDIR);
        }
        if name == "." || name == ".." {
            return Ok(ROOT);
        }
        let nodes = NODES.lock();
        let i = nodes.iter().position(|n| n.as_ref().is_some_and(|n| n.name == name)).ok_or(Errno::ENOENT)?;
        Ok(i as Ino + 2)
    }

    fn getattr(&self, ino: Ino) -> Result<Attr> {
        if ino == ROOT {
            return Ok(Attr { mode: S_IFDIR | 0o755, uid: 0, size: 0, rdev: 0, nlink: 2 });
        }
        let nodes = NODES.lock();
        let i = ino.checked_sub(2).ok_or(Errno::ENOENT)? as usize;
        nodes.get(i).and_then(Option::as_ref).map(|n| n.attr).ok_or(Errno::ENOENT)
    }

    fn readdir(&self, dir: Ino, index: usize) -> Result<Option<DirEntry>> {
        if dir != ROOT {
            return Err(Errno::ENOTDIR);
        }
        let nodes = NODES.lock();
        let found = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
            .nth(index)
            .map(|(i, n)| DirEntry { ino: i as Ino + 2, name: n.name.clone(), kind: n.attr.mode & S_IFMT });
        Ok(found)
    }

    fn read(&self, ino: Ino, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        // Device contents come from the driver; the VFS never asks devfs.
        if ino == ROOT { Err(Errno::EISDIR) } else { Err(Errno::ENXIO) }
    }

    fn create(&self, dir: Ino, name: &str, mode: u32, uid: u32, rdev: u32) -> Result<Ino> {
        if dir != ROOT {
            return Err(Errno::ENOTDIR);
        }
        add_node(name, mode, uid, rdev).map_err(|e| if e == Errno::EINVAL { Errno::EPERM } else { e })?;
        self.lookup(ROOT, name)
    }

    fn unlink(&self, dir: Ino, name: &str) -> Result<()> {
        if dir != ROOT {
            return Err(Errno::ENOTDIR);
        }
        remove_node(name)
    }
}

/// The `devfs` type: every mount shows the one node table.
pub struct DevFsType;

impl FsType for DevFsType {
    fn name(&self) -> &str {
        "devfs"
    }

    fn mount(&self, _source: &str) -> Result<Arc<dyn FileSystem>> {
        Ok(Arc::new(DevFs))
    }
}
