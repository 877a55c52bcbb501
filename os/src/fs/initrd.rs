//! The initrd file system: the cpio archive ("newc" format, as
//! `xtask/src/initrd.rs` writes it) that QEMU loads, read-only.
//!
//! The archive is parsed once at boot into a tree of nodes; file contents
//! are copied out of the image. The parser checks every length and offset
//! and returns an error for a malformed image, never panics.

use super::Result;
use super::vfs::{Attr, DirEntry, FileSystem, Ino};
use abi::Errno;
use abi::fs::{S_IFDIR, S_IFMT};
use alloc::string::String;
use alloc::vec::Vec;

/// Why an image is not a valid archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpioError {
    /// The header at this offset does not start with `070701`.
    BadMagic(usize),
    /// The entry at this offset runs past the end of the image.
    Truncated(usize),
    /// A header field at this offset is not hexadecimal.
    BadNumber(usize),
    /// The name of the entry at this offset is not UTF-8.
    BadName(usize),
}

impl core::fmt::Display for CpioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CpioError::BadMagic(at) => write!(f, "no newc magic at offset {at}"),
            CpioError::Truncated(at) => write!(f, "entry at offset {at} runs past the end"),
            CpioError::BadNumber(at) => write!(f, "bad hexadecimal field at offset {at}"),
            CpioError::BadName(at) => write!(f, "entry name at offset {at} is not UTF-8"),
        }
    }
}

/// One entry of a cpio archive.
pub struct CpioEntry<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub uid: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub data: &'a [u8],
}

const HEADER: usize = 110;

fn hex_field(image: &[u8], at: usize) -> core::result::Result<u32, CpioError> {
    let bytes = image.get(at..at + 8).ok_or(CpioError::Truncated(at))?;
    let text = core::str::from_utf8(bytes).map_err(|_| CpioError::BadNumber(at))?;
    u32::from_str_radix(text, 16).map_err(|_| CpioError::BadNumber(at))
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|x| x & !3)
}

/// Every entry of a newc archive up to its trailer.
pub fn parse_cpio(image: &[u8]) -> core::result::Result<Vec<CpioEntry<'_>>, CpioError> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    loop {
        let header = image.get(at..at + HEADER).ok_or(CpioError::Truncated(at))?;
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            return Err(CpioError::BadMagic(at));
        }
        let field = |i: usize| hex_field(image, at + 6 + 8 * i);
        let (mode, uid, size) = (field(1)?, field(2)?, field(6)? as usize);
        let (rdev_major, rdev_minor, name_size) = (field(9)?, field(10)?, field(11)? as usize);
        let name_start = at + HEADER;
        let name_end = name_start.checked_add(name_size.saturating_sub(1)).ok_or(CpioError::Truncated(at))?;
        let name_bytes = image.get(name_start..name_end).ok_or(CpioError::Truncated(at))?;
        let name = core::str::from_utf8(name_bytes).map_err(|_| CpioError::BadName(at))?;
        let data_start = align4(name_start + name_size).ok_or(CpioError::Truncated(at))?;
        let data_end = data_start.checked_add(size).ok_or(CpioError::Truncated(at))?;
        let data = image.get(data_start..data_end).ok_or(CpioError::Truncated(at))?;
        if name == "TRAILER!!!" {
            return Ok(entries);
        }
        entries.push(CpioEntry { name, mode, uid, rdev_major, rdev_minor, data });
        at = align4(data_end).ok_or(CpioError::Truncated(at))?;
    }
}

struct Node {
    name: String,
    attr: Attr,
    parent: Ino,
    children: Vec<Ino>,
    data: Vec<u8>,
}

/// The read-only file system of the initrd.
pub struct InitrdFs {
    /// `nodes[ino - 1]`; inode 1 is the root.
    nodes: Vec<Node>,
}

const ROOT: Ino = 1;

impl InitrdFs {
    /// Builds the tree from a cpio image; missing parent directories are
    /// made up (mode 0755).
    pub fn parse(image: &[u8]) -> core::result::Result<InitrdFs, CpioError> {
        let mut fs = InitrdFs { nodes: Vec::new() };
        fs.nodes.push(Node { name: String::new(), attr: dir_attr(0o755), parent: ROOT, children: Vec::new(), data: Vec::new() });
        for entry in parse_cpio(image)? {
            let path = entry.name.trim_start_matches("./").trim_start_matches('/');
            if path.is_empty() || path == "." {
                continue;
            }
            let mut dir = ROOT;
            let mut parts = path.split('/').filter(|p| !p.is_empty() && *p != ".").peekable();
            while let Some(part) = parts.next() {
                let last = parts.peek().is_none();
                dir = match fs.child(dir, part) {
                    Some(ino) => {
                        if last && entry.mode & S_IFMT == S_IFDIR {
                            fs.nodes[(ino - 1) as usize].attr = entry_attr(&entry);
                        }
                        ino
                    }
                    None => {
                        let (attr, data) =
                            if last { (entry_attr(&entry), entry.data.to_vec()) } else { (dir_attr(0o755), Vec::new()) };
                        fs.add(dir, part, attr, data)
                    }
                };
            }
        }
        Ok(fs)
    }

    fn node(&self, ino: Ino) -> Result<&Node> {
        ino.checked_sub(1).and_then(|i| self.nodes.get(i as usize)).ok_or(Errno::ENOENT)
    }

    fn child(&self, dir: Ino, name: &str) -> Option<Ino> {
        let node = self.node(dir).ok()?;
        node.children.iter().copied().find(|&c| self.node(c).is_ok_and(|n| n.name == name))
    }

    fn add(&mut self, dir: Ino, name: &str, attr: Attr, data: Vec<u8>) -> Ino {
        self.nodes.push(Node { name: name.into(), attr, parent: dir, children: Vec::new(), data });
        let ino = self.nodes.len() as Ino;
        self.nodes[(dir - 1) as usize].children.push(ino);
        ino
    }
}

fn dir_attr(perm: u32) -> Attr {
    Attr { mode: S_IFDIR | perm, uid: 0, size: 0, rdev: 0, nlink: 2 }
}

fn entry_attr(e: &CpioEntry<'_>) -> Attr {
    Attr {
        mode: e.mode,
        uid: e.uid,
        size: e.data.len() as u64,
        rdev: abi::fs::makedev(e.rdev_major, e.rdev_minor),
        nlink: 1,
    }
}

impl FileSystem for InitrdFs {
    fn root(&self) -> Ino {
        ROOT
    }

    fn lookup(&self, dir: Ino, name: &str) -> Result<Ino> {
        match name {
            "." => Ok(dir),
            ".." => Ok(self.node(dir)?.parent),
            _ => self.child(dir, name).ok_or(Errno::ENOENT),
        }
    }

    fn getattr(&self, ino: Ino) -> Result<Attr> {
        Ok(self.node(ino)?.attr)
    }

    fn readdir(&self, dir: Ino, index: usize) -> Result<Option<DirEntry>> {
        let node = self.node(dir)?;
        if !node.attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let Some(&ino) = node.children.get(index) else { return Ok(None) };
        let child = self.node(ino)?;
        Ok(Some(DirEntry { ino, name: child.name.clone(), kind: child.attr.mode & S_IFMT }))
    }

    fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let node = self.node(ino)?;
        if node.attr.is_dir() {
            return Err(Errno::EISDIR);
        }
        Ok(super::vfs::read_at(&node.data, offset, buf))
    }
}
