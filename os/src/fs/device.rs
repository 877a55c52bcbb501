//! The device switches: tables, indexed by major number, of the drivers
//! for character and block devices (the `cdevsw` and `bdevsw` of BSD). A
//! device file names a driver by its major number and a unit by its minor
//! number; `open` looks the major up here. The device module class adds
//! drivers with [`register_char`] and takes them out with
//! [`unregister_char`], which refuses while the device is open.
//!
//! Built-in drivers: `mem` (major 1: minor 3 `null`, minor 5 `zero`),
//! `tty` (major 5: minor 1 `console`), and the block device `ram`
//! (block major 1: a small RAM disk).

use super::{Result, console, devfs};
use crate::sync::{IrqLock, LockClass};
use abi::Errno;
use abi::fs::{S_IFBLK, S_IFCHR, makedev};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Number of slots in each switch table.
pub const NDEV: usize = 64;
/// Major number of `null` and `zero`.
pub const MEM_MAJOR: u32 = 1;
/// Major number of the console.
pub const TTY_MAJOR: u32 = 5;
/// Block major number of the RAM disk.
pub const RAM_MAJOR: u32 = 1;
/// First major number handed out to drivers that ask for any.
pub const FIRST_DYNAMIC_MAJOR: u32 = 32;

/// A character device driver. `offset` is the file offset of the open
/// file, which a driver may ignore.
pub trait CharDevice: Send + Sync {
    fn name(&self) -> &str;
    fn open(&self, _minor: u32, _flags: u32) -> Result<()> {
        Ok(())
    }
    fn close(&self, _minor: u32) {}
    fn read(&self, minor: u32, offset: u64, buf: &mut [u8]) -> Result<usize>;
    fn write(&self, minor: u32, offset: u64, data: &[u8]) -> Result<usize>;
    /// `arg` is a raw user value; a driver that treats it as a pointer
    /// copies through `crate::syscall::usercopy`.
    fn ioctl(&self, _minor: u32, _cmd: usize, _arg: usize) -> Result<usize> {
        Err(Errno::ENOTTY)
    }
    /// `close`, told the open flags of the file being closed (for drivers
    /// that treat readers and writers differently, like `/dev/lkm`).
    fn release(&self, minor: u32, _flags: u32) {
        self.close(minor)
    }
    /// `ioctl`, told the open flags of the descriptor.
    fn ioctl_flags(&self, minor: u32, _flags: u32, cmd: usize, arg: usize) -> Result<usize> {
        self.ioctl(minor, cmd, arg)
    }
}

/// A block device driver: fixed-size blocks addressed by number.
pub trait BlockDevice: Send + Sync {
    fn name(&self) -> &str;
    fn block_size(&self) -> usize;
    /// Number of blocks of unit `minor`.
    fn blocks(&self, minor: u32) -> Result<u64>;
    fn read_block(&self, minor: u32, block: u64, buf: &mut [u8]) -> Result<()>;
    fn write_block(&self, minor: u32, block: u64, data: &[u8]) -> Result<()>;
}

static CHAR: IrqLock<[Option<Arc<dyn CharDevice>>; NDEV]> = IrqLock::with_class(LockClass::CharDevices, [const { None }; NDEV]);
static BLOCK: IrqLock<[Option<Arc<dyn BlockDevice>>; NDEV]> = IrqLock::with_class(LockClass::BlockDevices, [const { None }; NDEV]);

/// Installs a character driver at `major`, or at the first free dynamic
/// major if `None`; returns the major. `EBUSY` if the slot is taken,
/// `ENFILE` if no slot is free, `EINVAL` for a major out of range.
pub fn register_char(major: Option<u32>, driver: Arc<dyn CharDevice>) -> Result<u32> {
    let mut table = CHAR.lock();
    let major = pick_slot(&*table, major)?;
    table[major as usize] = Some(driver);
    Ok(major)
}

/// Takes the driver out of `major`: `EBUSY` while any file has it open,
/// `ENXIO` if the slot is empty.
pub fn unregister_char(major: u32) -> Result<Arc<dyn CharDevice>> {
    let mut table = CHAR.lock();
    let slot = table.get_mut(major as usize).ok_or(Errno::EINVAL)?;
    let driver = slot.as_ref().ok_or(Errno::ENXIO)?;
    if Arc::strong_count(driver) > 1 {
        return Err(Errno::EBUSY);
    }
    slot.take().ok_or(Errno::ENXIO)
}

/// The character driver at `major`.
pub fn char_driver(major: u32) -> Option<Arc<dyn CharDevice>> {
    CHAR.lock().get(major as usize).and_then(Clone::clone)
}

/// Installs a block driver (same rules as [`register_char`]).
pub fn register_block(major: Option<u32>, driver: Arc<dyn BlockDevice>) -> Result<u32> {
    let mut table = BLOCK.lock();
    let major = pick_slot(&*table, major)?;
    table[major as usize] = Some(driver);
    Ok(major)
}

/// Takes the block driver out of `major` (same rules as [`unregister_char`]).
pub fn unregister_block(major: u32) -> Result<Arc<dyn BlockDevice>> {
    let mut table = BLOCK.lock();
    let slot = table.get_mut(major as usize).ok_or(Errno::EINVAL)?;
    let driver = slot.as_ref().ok_or(Errno::ENXIO)?;
    if Arc::strong_count(driver) > 1 {
        return Err(Errno::EBUSY);
    }
    slot.take().ok_or(Errno::ENXIO)
}

/// The block driver at `major`.
pub fn block_driver(major: u32) -> Option<Arc<dyn BlockDevice>> {
    BLOCK.lock().get(major as usize).and_then(Clone::clone)
}

fn pick_slot<T>(table: &[Option<T>], major: Option<u32>) -> Result<u32> {
    match major {
        Some(m) => match table.get(m as usize) {
            None => Err(Errno::EINVAL),
            Some(Some(_)) => Err(Errno::EBUSY),
            Some(None) => Ok(m),
        },
        None => (FIRST_DYNAMIC_MAJOR as usize..table.len())
            .find(|&m| table[m].is_none())
            .map(|m| m as u32)
            .ok_or(Errno::ENFILE),
    }
}

/// Reads from a block device at a byte offset, one block at a time.
pub fn block_read(dev: &dyn BlockDevice, minor: u32, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let bs = dev.block_size() as u64;
    let size = dev.blocks(minor)?.saturating_mul(bs);
    let mut block = alloc::vec![0u8; bs as usize];
    let mut done = 0;
    while done < buf.len() {
        let pos = offset + done as u64;
        if pos >= size {
            break;
        }
        dev.read_block(minor, pos / bs, &mut block)?;
        let within = (pos % bs) as usize;
        let n = (buf.len() - done).min(bs as usize - within).min((size - pos) as usize);
        buf[done..done + n].copy_from_slice(&block[within..within + n]);
        done += n;
    }
    Ok(done)
}

/// Writes to a block device at a byte offset (read, modify, write).
pub fn block_write(dev: &dyn BlockDevice, minor: u32, offset: u64, data: &[u8]) -> Result<usize> {
    let bs = dev.block_size() as u64;
    let size = dev.blocks(minor)?.saturating_mul(bs);
    let mut block = alloc::vec![0u8; bs as usize];
    let mut done = 0;
    while done < data.len() {
        let pos = offset + done as u64;
        if pos >= size {
            if done == 0 {
                return Err(Errno::ENOSPC);
            }
            break;
        }
        dev.read_block(minor, pos / bs, &mut block)?;
        let within = (pos % bs) as usize;
        let n = (data.len() - done).min(bs as usize - within).min((size - pos) as usize);
        block[within..within + n].copy_from_slice(&data[done..done + n]);
        dev.write_block(minor, pos / bs, &block)?;
        done += n;
    }
    Ok(done)
}

/// `null` (minor 3: reads end at once, writes vanish) and `zero` (minor
/// 5: reads give zero bytes).
struct Mem;

const NULL_MINOR: u32 = 3;
const ZERO_MINOR: u32 = 5;

impl CharDevice for Mem {
    fn name(&self) -> &str {
        "mem"
    }

    fn open(&self, minor: u32, _flags: u32) -> Result<()> {
        if minor == NULL_MINOR || minor == ZERO_MINOR { Ok(()) } else { Err(Errno::ENXIO) }
    }

    fn read(&self, minor: u32, _offset: u64, buf: &mut [u8]) -> Result<usize> {
        if minor == ZERO_MINOR {
            buf.fill(0);
            Ok(buf.len())
        } else {
            Ok(0)
        }
    }

    fn write(&self, _minor: u32, _offset: u64, data: &[u8]) -> Result<usize> {
        Ok(data.len())
    }
}

/// A RAM disk of 128 blocks of 512 bytes (unit 0 only).
struct RamDisk {
    data: IrqLock<Vec<u8>>,
}

const RAM_BLOCK: usize = 512;
const RAM_BLOCKS: u64 = 128;

impl BlockDevice for RamDisk {
    fn name(&self) -> &str {
        "ram"
    }

    fn block_size(&self) -> usize {
        RAM_BLOCK
    }

    fn blocks(&self, minor: u32) -> Result<u64> {
        if minor == 0 { Ok(RAM_BLOCKS) } else { Err(Errno::ENXIO) }
    }

    fn read_block(&self, minor: u32, block: u64, buf: &mut [u8]) -> Result<()> {
        if minor != 0 || block >= RAM_BLOCKS || buf.len() != RAM_BLOCK {
            return Err(Errno::EINVAL);
        }
        let start = block as usize * RAM_BLOCK;
        buf.copy_from_slice(&self.data.lock()[start..start + RAM_BLOCK]);
        Ok(())
    }

    fn write_block(&self, minor: u32, block: u64, data: &[u8]) -> Result<()> {
        if minor != 0 || block >= RAM_BLOCKS || data.len() != RAM_BLOCK {
            return Err(Errno::EINVAL);
        }
        let start = block as usize * RAM_BLOCK;
        self.data.lock()[start..start + RAM_BLOCK].copy_from_slice(data);
        Ok(())
    }
}

/// Installs the built-in drivers and their nodes in devfs.
pub fn init() {
    let ram = Arc::new(RamDisk { data: IrqLock::new(alloc::vec![0; RAM_BLOCK * RAM_BLOCKS as usize]) });
    let results = [
        register_char(Some(MEM_MAJOR), Arc::new(Mem)).map(drop),
        register_char(Some(TTY_MAJOR), Arc::new(console::Console)).map(drop),
        register_block(Some(RAM_MAJOR), ram).map(drop),
        devfs::add_node("null", S_IFCHR | 0o666, 0, makedev(MEM_MAJOR, NULL_MINOR)),
        devfs::add_node("zero", S_IFCHR | 0o666, 0, makedev(MEM_MAJOR, ZERO_MINOR)),
        devfs::add_node("console", S_IFCHR | 0o620, 0, makedev(TTY_MAJOR, console::CONSOLE_MINOR)),
        devfs::add_node("ram0", S_IFBLK | 0o600, 0, makedev(RAM_MAJOR, 0)),
    ];
    for r in results {
        if let Err(e) = r {
            log::warn!("device: built-in device not installed: {}", e);
        }
    }
}

/// Every registered driver: (block?, major, name), for `/dev` listings and tests.
pub fn drivers() -> Vec<(bool, u32, alloc::string::String)> {
    let mut out = Vec::new();
    for (m, d) in CHAR.lock().iter().enumerate() {
        if let Some(d) = d {
            out.push((false, m as u32, d.name().into()));
        }
    }
    for (m, d) in BLOCK.lock().iter().enumerate() {
        if let Some(d) = d {
            out.push((true, m as u32, d.name().into()));
        }
    }
    out
}
