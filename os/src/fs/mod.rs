//! Files: the virtual file system and the file systems and devices under it.
//!
//! - [`path`]: turning a user's path into an absolute, normalised one.
//! - [`vfs`]: the [`vfs::FileSystem`] trait every file system implements,
//!   the registry of file-system types (the VFS module class adds types
//!   here), the mount table and path resolution.
//! - [`file`]: open files (with their offset) and per-process descriptor
//!   tables; `open` with its permission checks.
//! - [`initrd`]: the read-only file system of the cpio image QEMU loads.
//! - [`ramfs`]: a file system in kernel memory, for `/tmp`.
//! - [`devfs`]: `/dev`, whose nodes name entries of the device switches.
//! - [`device`]: the character and block device switch tables (the device
//!   module class adds drivers here) and the built-in `null`, `zero` and
//!   `ram` devices; [`console`] is the terminal on the serial port;
//!   [`com`] is `/dev/ttyS2`, the polled port `modc load` talks through.

pub mod com;
pub mod console;
pub mod devfs;
pub mod device;
pub mod file;
pub mod initrd;
pub mod path;
pub mod ramfs;
pub mod vfs;


use abi::Errno;

/// Result of every file operation.
pub type Result<T> = core::result::Result<T, Errno>;

/// Registers the built-in file-system types and devices, mounts the initrd
/// (if there is one) on `/` and devfs on `/dev`. Returns whether a root
/// file system was mounted.
pub fn init(initrd_image: Option<&[u8]>) -> bool {
    vfs::register_type(alloc::sync::Arc::new(ramfs::RamFsType)).ok();
    vfs::register_type(alloc::sync::Arc::new(devfs::DevFsType)).ok();
    device::init();
    com::init();
    crate::cpus::init_device();
    let Some(image) = initrd_image else { return false };
    match initrd::InitrdFs::parse(image) {
        Ok(fs) => {
            let root = alloc::sync::Arc::new(fs);
            if let Err(e) = vfs::mount_root(root, "initrd") {
                log::error!("fs: cannot mount the initrd on /: {}", e);
                return false;
            }
            if let Err(e) = vfs::mount("devfs", "none", "/dev") {
                log::warn!("fs: cannot mount devfs on /dev: {}", e);
            }
            true
        }
        Err(e) => {
            log::error!("fs: the initrd is not a cpio archive: {}", e);
            false
        }
    }
}

#[cfg(feature = "ktest")]
pub(crate) mod tests;
