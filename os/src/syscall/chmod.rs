//! `chmod(path, path_len, mode)`: sets a file's permission bits. Only the
//! file's owner and the superuser may (`EPERM` for anyone else, as on
//! Unix); `mode` is the permission bits and the sticky bit, `0` to `0o1777`
//! (`EINVAL` otherwise: Warden has no set-id programs); a file system that
//! keeps no modes (the initrd) says `EROFS`.

use super::files::user_path;
use super::{Args, ret};
use crate::fs::vfs;
use abi::Errno;
use abi::fs::{S_IPERM, S_ISVTX};

pub fn sys_chmod(a: &Args) -> isize {
    ret((|| {
        let (abs, uid) = user_path(a.a[0], a.a[1])?;
        let perm = u32::try_from(a.a[2]).ok().filter(|m| m & !(S_IPERM | S_ISVTX) == 0).ok_or(Errno::EINVAL)?;
        let file = vfs::resolve(&abs)?;
        if uid != 0 && uid != file.getattr()?.uid {
            return Err(Errno::EPERM);
        }
        file.fs().set_permissions(file.ino, perm)?;
        Ok(0)
    })())
}
