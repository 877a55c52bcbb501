//! In-kernel tests of the VFS, the initrd parser, ramfs, devfs and the
//! device switch (built with `--features ktest`). They mount a ramfs as the
//! root when none is mounted (test kernels boot without an initrd).

use super::devfs;
use super::device::{self, MEM_MAJOR};
use super::file;
use super::initrd::{CpioError, InitrdFs, parse_cpio};
use super::ramfs::RamFs;
use super::vfs::{self, FileSystem};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq, kernel_test};
use abi::Errno;
use abi::fs::{O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, S_IFDIR, S_IFREG, S_ISVTX};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A newc archive of `(name, mode, data)` entries, as xtask writes them.
fn cpio(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut add = |name: &str, mode: u32, data: &[u8]| {
        let fields = [1, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(alloc::format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for (name, mode, data) in entries {
        add(name, *mode, data);
    }
    add("TRAILER!!!", 0, &[]);
    out
}

/// Sets up the file-system types and devices, and a ramfs root if needed.
pub(crate) fn test_root() -> Result<(), alloc::string::String> {
    static SETUP: spin::Once<()> = spin::Once::new();
    SETUP.call_once(|| {
        super::init(None);
        let _ = vfs::mount_root(Arc::new(RamFs::new()), "ramfs");
        let _ = vfs::create("/dev", S_IFDIR | 0o755, 0, 0);
        let _ = vfs::mount("devfs", "none", "/dev");
    });
    ensure!(vfs::resolve("/").is_ok(), "no root file system");
    Ok(())
}

fn initrd_archive_becomes_a_tree() -> TestResult {
    let image = cpio(&[("bin", S_IFDIR | 0o755, b""), ("bin/hello", S_IFREG | 0o755, b"#!x\n"), ("etc/motd", S_IFREG | 0o644, b"hi\n")]);
    let fs = InitrdFs::parse(&image).map_err(|e| alloc::format!("{e}"))?;
    let bin = fs.lookup(fs.root(), "bin").map_err(|e| alloc::format!("{e}"))?;
    let hello = fs.lookup(bin, "hello").map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(fs.getattr(hello).map(|a| (a.mode, a.size)), Ok((S_IFREG | 0o755, 4)));
    // `etc` was never listed: it is made up as a directory.
    let etc = fs.lookup(fs.root(), "etc").map_err(|e| alloc::format!("{e}"))?;
    ensure!(fs.getattr(etc).is_ok_and(|a| a.is_dir()), "etc is not a directory");
    let motd = fs.lookup(etc, "motd").map_err(|e| alloc::format!("{e}"))?;
    let mut buf = [0u8; 8];
    ensure_eq!(fs.read(motd, 1, &mut buf), Ok(2));
    ensure_eq!(&buf[..2], b"i\n");
    ensure_eq!(fs.write(motd, 0, b"x"), Err(Errno::EROFS));
    ensure_eq!(fs.lookup(fs.root(), "nope"), Err(Errno::ENOENT));
    Ok(())
}
kernel_test!(initrd_archive_becomes_a_tree);

fn damaged_archives_are_errors() -> TestResult {
    let image = cpio(&[("etc/motd", S_IFREG | 0o644, b"hello world\n")]);
    for cut in [0, 5, 60, 110, 120, image.len() - 20] {
        ensure!(parse_cpio(&image[..cut]).is_err(), "a {cut}-byte prefix parsed");
    }
    let mut bad = image.clone();
    bad[0] = b'1';
    ensure_eq!(parse_cpio(&bad).err(), Some(CpioError::BadMagic(0)));
    let mut bad = image.clone();
    bad[6 + 6 * 8] = b'z'; // size field
    ensure_eq!(parse_cpio(&bad).err(), Some(CpioError::BadNumber(6 + 6 * 8)));
    let mut huge = image;
    huge[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"ffffffff");
    ensure_eq!(parse_cpio(&huge).err(), Some(CpioError::Truncated(0)));
    Ok(())
}
kernel_test!(damaged_archives_are_errors);

fn ramfs_files_grow_and_shrink() -> TestResult {
    let fs = RamFs::new();
    let root = fs.root();
    let dir = fs.create(root, "d", S_IFDIR | 0o755, 0, 0).map_err(|e| alloc::format!("{e}"))?;
    let f = fs.create(dir, "f", S_IFREG | 0o644, 0, 0).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(fs.create(dir, "f", S_IFREG | 0o644, 0, 0), Err(Errno::EEXIST));
    ensure_eq!(fs.write(f, 4, b"tail"), Ok(4));
    ensure_eq!(fs.getattr(f).map(|a| a.size), Ok(8));
    let mut buf = [0xffu8; 8];
    ensure_eq!(fs.read(f, 0, &mut buf), Ok(8));
    ensure_eq!(&buf, b"\0\0\0\0tail");
    ensure_eq!(fs.readdir(dir, 0).map(|e| e.map(|e| e.name)), Ok(Some("f".into())));
    ensure_eq!(fs.readdir(dir, 1), Ok(None));
    ensure_eq!(fs.unlink(root, "d"), Err(Errno::ENOTEMPTY));
    ensure_eq!(fs.truncate(f), Ok(()));
    ensure_eq!(fs.getattr(f).map(|a| a.size), Ok(0));
    ensure_eq!(fs.unlink(dir, "f"), Ok(()));
    ensure_eq!(fs.unlink(root, "d"), Ok(()));
    ensure_eq!(fs.lookup(root, "d"), Err(Errno::ENOENT));
    Ok(())
}
kernel_test!(ramfs_files_grow_and_shrink);

fn ramfs_has_a_budget() -> TestResult {
    use super::ramfs::{MAX_BYTES, MAX_FILE};
    let fs = RamFs::new();
    let chunk = alloc::vec![7u8; 1 << 20];
    let files = MAX_BYTES as u64 / MAX_FILE;
    for i in 0..files {
        let f = fs.create(fs.root(), &alloc::format!("f{i}"), S_IFREG | 0o644, 0, 0).map_err(|e| alloc::format!("{e}"))?;
        for mb in 0..MAX_FILE >> 20 {
            ensure_eq!(fs.write(f, mb << 20, &chunk), Ok(chunk.len()));
        }
        ensure_eq!(fs.write(f, MAX_FILE, b"x"), Err(Errno::EFBIG));
    }
    let last = fs.create(fs.root(), "last", S_IFREG | 0o644, 0, 0).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(fs.write(last, 0, b"x"), Err(Errno::ENOSPC));
    fs.unlink(fs.root(), "f0").map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(fs.write(last, 0, b"x"), Ok(1));
    Ok(())
}
kernel_test!(ramfs_has_a_budget);

fn mounts_resolve_and_busy_mounts_stay() -> TestResult {
    test_root()?;
    let _ = vfs::create("/mnt-test", S_IFDIR | 0o755, 0, 0);
    ensure_eq!(vfs::mount("no-such-fs", "none", "/mnt-test").err(), Some(Errno::ENODEV));
    vfs::mount("ramfs", "none", "/mnt-test").map_err(|e| alloc::format!("mount: {e}"))?;
    ensure_eq!(vfs::mount("ramfs", "none", "/mnt-test").err(), Some(Errno::EBUSY));
    let f = file::open(0, "/mnt-test", "../mnt-test/./notes", O_CREAT | O_RDWR, 0o644)
        .map_err(|e| alloc::format!("open: {e}"))?;
    ensure_eq!(f.write(b"hello"), Ok(5));
    ensure_eq!(f.seek(1, abi::fs::SEEK_SET), Ok(1));
    let mut buf = [0u8; 8];
    ensure_eq!(f.read(&mut buf), Ok(4));
    ensure_eq!(&buf[..4], b"ello");
    ensure_eq!(vfs::umount("/mnt-test"), Err(Errno::EBUSY));
    ensure_eq!(vfs::unregister_type("ramfs").err(), Some(Errno::EBUSY));
    drop(f);
    ensure_eq!(vfs::umount("/mnt-test"), Ok(()));
    ensure_eq!(vfs::resolve("/mnt-test/notes").err(), Some(Errno::ENOENT));
    ensure_eq!(vfs::umount("/mnt-test"), Err(Errno::EINVAL));
    ensure_eq!(vfs::umount("/"), Err(Errno::EBUSY));
    Ok(())
}
kernel_test!(mounts_resolve_and_busy_mounts_stay);

fn open_checks_permission_bits() -> TestResult {
    test_root()?;
    let _ = vfs::unlink("/secret", 0);
    let _ = vfs::unlink("/public", 0);
    vfs::create("/secret", S_IFREG | 0o600, 0, 0).map_err(|e| alloc::format!("{e}"))?;
    vfs::create("/public", S_IFREG | 0o644, 0, 0).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(file::open(1000, "/", "/secret", O_RDONLY, 0).err(), Some(Errno::EACCES));
    ensure!(file::open(0, "/", "/secret", O_RDWR, 0).is_ok(), "root cannot open a 0600 file");
    ensure!(file::open(1000, "/", "/public", O_RDONLY, 0).is_ok(), "others cannot read a 0644 file");
    ensure_eq!(file::open(1000, "/", "/public", O_WRONLY, 0).err(), Some(Errno::EACCES));
    ensure_eq!(file::open(1000, "/", "/nope/x", O_RDONLY, 0).err(), Some(Errno::ENOENT));
    ensure_eq!(file::open(1000, "/", "/public/x", O_RDONLY, 0).err(), Some(Errno::ENOTDIR));
    ensure_eq!(file::open(0, "/", "/", O_WRONLY, 0).err(), Some(Errno::EISDIR));
    Ok(())
}
kernel_test!(open_checks_permission_bits);

fn sticky_directories_keep_other_users_entries() -> TestResult {
    test_root()?;
    let e = |e: Errno| alloc::format!("{e}");
    // Like /tmp: everyone may write, mode 1777, owned by root.
    vfs::create("/sticky", S_IFDIR | S_ISVTX | 0o777, 0, 0).map_err(e)?;
    vfs::create("/sticky/root-file", S_IFREG | 0o666, 0, 0).map_err(e)?;
    vfs::create("/sticky/root-dir", S_IFDIR | 0o777, 0, 0).map_err(e)?;
    vfs::create("/sticky/student", S_IFREG | 0o644, 1000, 0).map_err(e)?;
    // Write permission on the directory is not enough to remove another's entry.
    ensure_eq!(vfs::unlink("/sticky/root-file", 1000), Err(Errno::EPERM));
    ensure_eq!(vfs::unlink("/sticky/root-dir", 1000), Err(Errno::EPERM));
    ensure_eq!(vfs::unlink("/sticky/student", 1001), Err(Errno::EPERM));
    ensure!(vfs::resolve("/sticky/root-file").is_ok(), "root's file is gone");
    ensure!(vfs::resolve("/sticky/root-dir").is_ok(), "root's directory is gone");
    // Nor can it be taken over by name.
    ensure_eq!(vfs::create("/sticky/root-file", S_IFREG | 0o644, 1000, 0).err(), Some(Errno::EEXIST));
    // The entry's owner and root may.
    ensure_eq!(vfs::unlink("/sticky/student", 1000), Ok(()));
    ensure_eq!(vfs::unlink("/sticky/root-file", 0), Ok(()));
    // So may the directory's owner, in a sticky directory of their own.
    vfs::create("/sticky/students", S_IFDIR | S_ISVTX | 0o777, 1000, 0).map_err(e)?;
    vfs::create("/sticky/students/x", S_IFREG | 0o644, 1001, 0).map_err(e)?;
    ensure_eq!(vfs::unlink("/sticky/students/x", 1002), Err(Errno::EPERM));
    ensure_eq!(vfs::unlink("/sticky/students/x", 1000), Ok(()));
    // Without the sticky bit, write permission on the directory is what counts.
    vfs::create("/sticky/root-dir/x", S_IFREG | 0o600, 0, 0).map_err(e)?;
    ensure_eq!(vfs::unlink("/sticky/root-dir/x", 1000), Ok(()));
    ensure_eq!(vfs::unlink("/sticky/missing", 1000), Err(Errno::ENOENT));
    Ok(())
}
kernel_test!(sticky_directories_keep_other_users_entries);

fn devices_come_from_the_switch() -> TestResult {
    test_root()?;
    let zero = file::open(0, "/", "/dev/zero", O_RDONLY, 0).map_err(|e| alloc::format!("zero: {e}"))?;
    let mut buf = [0xaau8; 16];
    ensure_eq!(zero.read(&mut buf), Ok(16));
    ensure_eq!(buf, [0u8; 16]);
    let null = file::open(0, "/", "/dev/null", O_RDWR, 0).map_err(|e| alloc::format!("null: {e}"))?;
    ensure_eq!(null.read(&mut buf), Ok(0));
    ensure_eq!(null.write(b"gone"), Ok(4));
    // A driver in use cannot be taken out of the switch.
    ensure_eq!(device::unregister_char(MEM_MAJOR).err(), Some(Errno::EBUSY));
    drop((zero, null));
    let mem = device::unregister_char(MEM_MAJOR).map_err(|e| alloc::format!("unregister: {e}"))?;
    ensure_eq!(file::open(0, "/", "/dev/zero", O_RDONLY, 0).err(), Some(Errno::ENXIO));
    ensure_eq!(device::register_char(Some(MEM_MAJOR), mem), Ok(MEM_MAJOR));
    // A node added by a driver appears in /dev and goes away again.
    devfs::add_node("ktest0", abi::fs::S_IFCHR | 0o600, 0, abi::fs::makedev(MEM_MAJOR, 5))
        .map_err(|e| alloc::format!("{e}"))?;
    ensure!(file::open(0, "/", "/dev/ktest0", O_RDONLY, 0).is_ok(), "new node does not open");
    ensure_eq!(file::open(1000, "/", "/dev/ktest0", O_RDONLY, 0).err(), Some(Errno::EACCES));
    ensure_eq!(devfs::remove_node("ktest0"), Ok(()));
    ensure_eq!(vfs::resolve("/dev/ktest0").err(), Some(Errno::ENOENT));
    // The RAM disk is a block device read and written at byte offsets.
    let ram = file::open(0, "/", "/dev/ram0", O_RDWR, 0).map_err(|e| alloc::format!("ram0: {e}"))?;
    ensure_eq!(ram.seek(510, abi::fs::SEEK_SET), Ok(510));
    ensure_eq!(ram.write(b"span"), Ok(4));
    ensure_eq!(ram.seek(510, abi::fs::SEEK_SET), Ok(510));
    let mut four = [0u8; 4];
    ensure_eq!(ram.read(&mut four), Ok(4));
    ensure_eq!(&four, b"span");
    Ok(())
}
kernel_test!(devices_come_from_the_switch);
