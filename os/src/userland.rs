//! Starting user space: the step from a booted kernel to a shell.
//!
//! [`run`] mounts the initrd on `/` and devfs on `/dev`, fills the system
//! call table and turns on `syscall`, installs the exec switch and the
//! handler for faults in user mode, makes the boot thread the idle task
//! and starts `/bin/init` as pid 1. From then on the boot thread only
//! idles. Without an initrd it returns an error and the kernel keeps its
//! built-in console.

use crate::arch::exceptions;
use crate::proc::{exec, life, sched};
use crate::{bootinfo, fs, klog, syscall};
use core::convert::Infallible;
use core::fmt;

/// The program started as pid 1.
pub const INIT_PATH: &str = "/bin/init";

/// Why user space did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// QEMU was started without `-initrd` (or the image is no cpio archive).
    NoRootFileSystem,
    /// `/bin/init` could not be started.
    NoInit(abi::Errno),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NoRootFileSystem => write!(f, "no initrd to mount on / (start QEMU with -initrd)"),
            StartError::NoInit(e) => write!(f, "cannot start {INIT_PATH}: {e}"),
        }
    }
}

/// Starts user space; returns only if it cannot.
pub fn run() -> Result<Infallible, StartError> {
    if !fs::init(bootinfo::initrd()) {
        return Err(StartError::NoRootFileSystem);
    }
    exec::init();
    syscall::init();
    crate::lkm::init();
    sched::init();
    exceptions::set_user_fault_handler(life::on_user_fault);
    let pid = life::start_init(INIT_PATH).map_err(StartError::NoInit)?;
    log::info!("user space: started {INIT_PATH} as pid {pid}");
    // From here on, kernel messages go to the log ring (`dmesg`); only
    // warnings and errors still reach the console.
    klog::set_console_level(log::LevelFilter::Warn);
    sched::idle_loop()
}
