//! Device modules: a character driver whose open, read, write, ioctl and
//! close are the module's programs.
//!
//! Loading installs the driver in the device switch (at the major the image
//! asks for, or the first free one) and adds its node `/dev/NAME` (minor
//! 0, mode 0666). Unloading is refused (`EBUSY`) while the device is open;
//! otherwise the node disappears with the driver.
//!
//! `ioctl` follows the BSD encoding of the command: with `IOC_IN`, the
//! kernel copies the command's parameter (at most 256 bytes) from the user
//! address `arg` into the context's `data`; with `IOC_OUT`, what the
//! program emits is copied back to `arg`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::Errno;
use abi::fs::{S_IFCHR, makedev};
use lkm::class::MAJOR_ANY;
use lkm::ctx::{self, DevIoctlCtx, DevOpenCtx, DevReadCtx, DevWriteCtx};

use super::{Refusal, checked};
use crate::fs::device::{self, CharDevice};
use crate::fs::{Result, devfs};
use crate::lkm::module::Module;
use crate::lkm::run::run;
use crate::syscall::usercopy;

const IOC_OUT: usize = 0x4000_0000;
const IOC_IN: usize = 0x8000_0000;

/// The driver a device module installs.
pub struct ModDev {
    module: Arc<Module>,
    name: String,
}

impl CharDevice for ModDev {
    fn name(&self) -> &str {
        &self.name
    }

    fn open(&self, minor: u32, flags: u32) -> Result<()> {
        let mut c = DevOpenCtx { minor, flags };
        checked(&self.module, "open", run(&self.module, "open", &mut c, None), u64::MAX, Ok(0)).map(drop)
    }

    fn close(&self, minor: u32) {
        let mut c = DevOpenCtx { minor, flags: 0 };
        // Nothing can refuse a close; a value out of range is still logged.
        let _ = checked(&self.module, "close", run(&self.module, "close", &mut c, None), u64::MAX, Ok(0));
    }

    fn read(&self, minor: u32, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = buf.len().min(ctx::OUTPUT_CAPACITY as usize);
        let mut c = DevReadCtx { minor, _pad: 0, offset, len: len as u32, _pad2: 0 };
        let mut out = Vec::new();
        let run = run(&self.module, "read", &mut c, Some((&mut out, len)));
        checked(&self.module, "read", run, len as u64, Err(Errno::EINVAL))?;
        let n = out.len().min(len);
        buf[..n].copy_from_slice(&out[..n]);
        Ok(n)
    }

    fn write(&self, minor: u32, offset: u64, data: &[u8]) -> Result<usize> {
        let mut done = 0;
        for chunk in data.chunks(ctx::WRITE_CAPACITY) {
            let mut c = DevWriteCtx {
                minor,
                _pad: 0,
                offset: offset.checked_add(done as u64).ok_or(Errno::EFBIG)?,
                data: [0; ctx::WRITE_CAPACITY],
                data_len: chunk.len() as u32,
                _pad2: 0,
            };
            c.data[..chunk.len()].copy_from_slice(chunk);
            let run = run(&self.module, "write", &mut c, None);
            let n = match checked(&self.module, "write", run, chunk.len() as u64, Err(Errno::EINVAL)) {
                Ok(n) => n as usize,
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

    fn ioctl(&self, minor: u32, cmd: usize, arg: usize) -> Result<usize> {
        if self.module.program("ioctl").is_none() {
            return Err(Errno::ENOTTY);
        }
        let len = lkm::ioctl::ioc_len(cmd as u32);
        let mut c = DevIoctlCtx { minor, cmd: cmd as u32, arg: arg as u64, data: [0; ctx::IOCTL_CAPACITY], data_len: 0, _pad: 0 };
        if cmd & IOC_IN != 0 && len > 0 {
            if len > ctx::IOCTL_CAPACITY {
                return Err(Errno::EINVAL);
            }
            usercopy::copy_from_user(arg as u64, &mut c.data[..len])?;
            c.data_len = len as u32;
        }
        let mut out = Vec::new();
        let run = run(&self.module, "ioctl", &mut c, Some((&mut out, ctx::IOCTL_CAPACITY)));
        let r = checked(&self.module, "ioctl", run, isize::MAX as u64, Err(Errno::ENOTTY))?;
        if cmd & IOC_OUT != 0 && len > 0 && !out.is_empty() {
            usercopy::copy_to_user(arg as u64, &out[..out.len().min(len)])?;
        }
        Ok(r as usize)
    }
}

/// Installs the driver and its node; returns the major number.
pub fn link(module: &Arc<Module>, major: u32, name: &str) -> core::result::Result<u32, Refusal> {
    let driver = Arc::new(ModDev { module: module.clone(), name: String::from(name) });
    let wanted = if major == MAJOR_ANY { None } else { Some(major) };
    let major = device::register_char(wanted, driver).map_err(|e| {
        Refusal::new(e, alloc::format!("error: cannot install the driver at major {major}: {e}"))
    })?;
    if let Err(e) = devfs::add_node(name, S_IFCHR | 0o666, 0, makedev(major, 0)) {
        let _ = device::unregister_char(major);
        return Err(Refusal::new(e, alloc::format!("error: cannot add /dev/{name}: {e}")));
    }
    Ok(major)
}

/// Removes the driver and its node of module `name`: `EBUSY` while the
/// device is open.
pub fn unlink(name: &str, major: u32, node: &str) -> core::result::Result<(), Refusal> {
    device::unregister_char(major).map_err(|e| match e {
        Errno::EBUSY => Refusal::in_use(name, format_args!("/dev/{node} is open"), "close it first"),
        e => Refusal::new(e, alloc::format!("error: cannot remove the driver of /dev/{node}: {e}")),
    })?;
    let _ = devfs::remove_node(node);
    Ok(())
}
