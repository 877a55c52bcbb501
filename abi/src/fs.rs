//! Files: open flags, mode bits, `stat` and directory entries, device
//! numbers. Values follow Linux where Linux has one.

/// Open for reading only.
pub const O_RDONLY: u32 = 0;
/// Open for writing only.
pub const O_WRONLY: u32 = 1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 2;
/// Mask of the access mode bits.
pub const O_ACCMODE: u32 = 3;
/// Create the file if it does not exist.
pub const O_CREAT: u32 = 0o100;
/// Fail with `EEXIST` if `O_CREAT` and the file exists.
pub const O_EXCL: u32 = 0o200;
/// Cut the file to length 0.
pub const O_TRUNC: u32 = 0o1000;
/// Every write goes to the end of the file.
pub const O_APPEND: u32 = 0o2000;
/// Fail with `ENOTDIR` unless the path is a directory.
pub const O_DIRECTORY: u32 = 0o200000;

/// True if the access mode allows reading.
pub fn can_read(flags: u32) -> bool {
    matches!(flags & O_ACCMODE, O_RDONLY | O_RDWR)
}

/// True if the access mode allows writing.
pub fn can_write(flags: u32) -> bool {
    matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR)
}

/// `ioctl(console, CONSOLE_SET_FOREGROUND, pid)`: makes `pid`, a child of
/// the caller, the console's foreground program, the one Ctrl-C ends
/// (with every process it started); `pid` 0 clears it. The shell calls it
/// around each command it waits for (Unix's `tcsetpgrp`).
pub const CONSOLE_SET_FOREGROUND: usize = 0x5410;

/// `lseek` from the start of the file.
pub const SEEK_SET: u32 = 0;
/// `lseek` from the current offset.
pub const SEEK_CUR: u32 = 1;
/// `lseek` from the end of the file.
pub const SEEK_END: u32 = 2;

/// Mask of the file type bits of a mode.
pub const S_IFMT: u32 = 0o170000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Mask of the permission bits (`rwxrwxrwx`).
pub const S_IPERM: u32 = 0o777;
/// The sticky bit: in a directory with it (like `/tmp`), only the owner of
/// an entry, the owner of the directory or the superuser may remove it.
pub const S_ISVTX: u32 = 0o1000;

/// The kind of a file, from its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Directory,
    CharDevice,
    BlockDevice,
}

impl FileKind {
    /// The kind named by the type bits of `mode`, if any.
    pub fn from_mode(mode: u32) -> Option<FileKind> {
        match mode & S_IFMT {
            S_IFREG => Some(FileKind::Regular),
            S_IFDIR => Some(FileKind::Directory),
            S_IFCHR => Some(FileKind::CharDevice),
            S_IFBLK => Some(FileKind::BlockDevice),
            _ => None,
        }
    }

    /// The type bits of this kind.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileKind::Regular => S_IFREG,
            FileKind::Directory => S_IFDIR,
            FileKind::CharDevice => S_IFCHR,
            FileKind::BlockDevice => S_IFBLK,
        }
    }

    /// The letter `ls -l` shows first: `-`, `d`, `c`, `b`.
    pub fn letter(self) -> char {
        match self {
            FileKind::Regular => '-',
            FileKind::Directory => 'd',
            FileKind::CharDevice => 'c',
            FileKind::BlockDevice => 'b',
        }
    }
}

/// Writes the ten characters of `ls -l` for `mode` (e.g. `drwxr-xr-x`;
/// `drwxrwxrwt` for a sticky directory).
pub fn mode_string(mode: u32) -> [u8; 10] {
    let mut s = *b"----------";
    s[0] = FileKind::from_mode(mode).map_or('?', FileKind::letter) as u8;
    let letters = *b"rwxrwxrwx";
    for (i, letter) in letters.iter().enumerate() {
        if mode & (0o400 >> i) != 0 {
            s[1 + i] = *letter;
        }
    }
    if mode & S_ISVTX != 0 {
        s[9] = if mode & 0o001 != 0 { b't' } else { b'T' };
    }
    s
}

/// A device number: major (which driver) and minor (which unit).
pub fn makedev(major: u32, minor: u32) -> u32 {
    (major << 8) | (minor & 0xff)
}

/// The major number of a device number.
pub fn major(dev: u32) -> u32 {
    dev >> 8
}

/// The minor number of a device number.
pub fn minor(dev: u32) -> u32 {
    dev & 0xff
}

/// What `stat` and `fstat` fill in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Stat {
    /// Inode number within its file system.
    pub ino: u64,
    /// Size in bytes (0 for devices).
    pub size: u64,
    /// Type and permission bits (`S_IF*` | `rwxrwxrwx`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Device number for device files ([`makedev`]), else 0.
    pub rdev: u32,
    /// Number of links.
    pub nlink: u32,
}

/// Longest file name in a directory entry.
pub const NAME_MAX: usize = 60;

/// One record that `getdents` writes: fixed size, so a user program can
/// read the buffer as an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Dirent {
    /// Inode number.
    pub ino: u64,
    /// File type bits (`S_IF*`), or 0 if unknown.
    pub kind: u32,
    /// Bytes of `name` in use.
    pub name_len: u32,
    /// The name, not NUL-terminated.
    pub name: [u8; NAME_MAX],
    /// Padding to keep the record a multiple of 8 bytes.
    pub _pad: [u8; 4],
}

impl Dirent {
    /// An entry for `name` (cut to [`NAME_MAX`] bytes).
    pub fn new(ino: u64, kind: u32, name: &[u8]) -> Dirent {
        let len = name.len().min(NAME_MAX);
        let mut d = Dirent { ino, kind, name_len: len as u32, name: [0; NAME_MAX], _pad: [0; 4] };
        d.name[..len].copy_from_slice(&name[..len]);
        d
    }

    /// The name as bytes.
    pub fn name(&self) -> &[u8] {
        &self.name[..(self.name_len as usize).min(NAME_MAX)]
    }
}

/// Size in bytes of one [`Dirent`] record.
pub const DIRENT_SIZE: usize = core::mem::size_of::<Dirent>();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_read_like_ls() {
        assert_eq!(&mode_string(S_IFDIR | 0o755), b"drwxr-xr-x");
        assert_eq!(&mode_string(S_IFREG | 0o644), b"-rw-r--r--");
        assert_eq!(&mode_string(S_IFCHR | 0o600), b"crw-------");
        assert_eq!(&mode_string(S_IFDIR | S_ISVTX | 0o777), b"drwxrwxrwt");
        assert_eq!(&mode_string(S_IFDIR | S_ISVTX | 0o770), b"drwxrwx--T");
    }

    #[test]
    fn device_numbers_split_back() {
        let dev = makedev(10, 3);
        assert_eq!((major(dev), minor(dev)), (10, 3));
    }

    #[test]
    fn dirent_records_are_fixed_and_aligned() {
        assert_eq!(DIRENT_SIZE % 8, 0);
        let d = Dirent::new(7, S_IFREG, b"motd");
        assert_eq!(d.name(), b"motd");
        let long = [b'a'; 100];
        assert_eq!(Dirent::new(1, 0, &long).name().len(), NAME_MAX);
    }

    #[test]
    fn access_modes() {
        assert!(can_read(O_RDONLY) && !can_write(O_RDONLY));
        assert!(can_write(O_WRONLY | O_CREAT) && !can_read(O_WRONLY));
        assert!(can_read(O_RDWR) && can_write(O_RDWR));
    }
}
