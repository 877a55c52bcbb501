//! Copying between kernel and user memory.
//!
//! Every pointer and length a program passes is checked against the
//! running process's address space before the kernel touches it: the whole
//! range must lie in the user part and be mapped for user access (and
//! writable, for the kernel to write into it). A bad one is `EFAULT`,
//! never a kernel fault. A process has one thread and only it changes its
//! own mappings (by `exec`), so a range checked stays valid for the copy.
//! Reserved zero-filled pages in the range get their frames during the check.

use crate::proc;
use abi::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Types that may be copied to or from user memory as raw bytes: plain
/// `#[repr(C)]` data, valid for every bit pattern, without implicit padding.
///
/// # Safety
/// Implement only for types meeting that description.
pub unsafe trait Pod: Copy {}

// SAFETY: integers and the abi structs (explicitly padded, repr(C), all
// fields integers) are valid for every bit pattern and have no hidden padding.
unsafe impl Pod for u64 {}
unsafe impl Pod for i32 {}
unsafe impl Pod for abi::proc::UserStr {}
unsafe impl Pod for abi::proc::SpawnRequest {}
unsafe impl Pod for abi::proc::ProcInfo {}
unsafe impl Pod for abi::fs::Stat {}
unsafe impl Pod for abi::fs::Dirent {}

/// Whether the running process may access `len` bytes at `ptr`.
pub fn check(ptr: u64, len: usize, write: bool) -> Result<(), Errno> {
    let ok = proc::with_current(|t| t.space.as_mut().is_some_and(|s| s.check(ptr, len as u64, write)));
    if ok { Ok(()) } else { Err(Errno::EFAULT) }
}

/// Copies `buf.len()` bytes from user address `ptr`.
pub fn copy_from_user(ptr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    check(ptr, buf.len(), false)?;
    // SAFETY: the range was just checked to be mapped user memory of the
    // running process, whose address space is active.
    unsafe { core::ptr::copy_nonoverlapping(ptr as *const u8, buf.as_mut_ptr(), buf.len()) };
    Ok(())
}

/// Copies `data` to user address `ptr`.
pub fn copy_to_user(ptr: u64, data: &[u8]) -> Result<(), Errno> {
    check(ptr, data.len(), true)?;
    // SAFETY: the range was just checked to be mapped, writable user memory
    // of the running process, whose address space is active.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), ptr as *mut u8, data.len()) };
    Ok(())
}

/// Reads one value from user memory (no allocation: straight into the result).
pub fn read<T: Pod>(ptr: u64) -> Result<T, Errno> {
    check(ptr, core::mem::size_of::<T>(), false)?;
    // SAFETY: the range of `size_of::<T>()` bytes was just checked to be
    // mapped user memory of the running process; `T: Pod` is valid for any
    // bytes, and `read_unaligned` needs no alignment.
    Ok(unsafe { core::ptr::read_unaligned(ptr as *const T) })
}

/// `len` copies of `value` in a new vector, or `ENOMEM`: every buffer
/// whose size a program chooses is allocated this way, so a large one
/// fails the call instead of stopping the kernel.
pub fn buffer<T: Clone>(len: usize, value: T) -> Result<Vec<T>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, value);
    Ok(v)
}

/// Writes values to user memory.
pub fn write<T: Pod>(ptr: u64, values: &[T]) -> Result<(), Errno> {
    // SAFETY: `T: Pod` has no padding, so every byte is initialised.
    let bytes = unsafe { core::slice::from_raw_parts(values.as_ptr().cast::<u8>(), core::mem::size_of_val(values)) };
    copy_to_user(ptr, bytes)
}

/// Reads a UTF-8 string of `len` bytes (at most `max`): `ENAMETOOLONG`
/// if longer, `EINVAL` if not UTF-8, `ENOMEM` if no memory is left for it.
pub fn read_str(ptr: u64, len: u64, max: usize) -> Result<String, Errno> {
    let len = usize::try_from(len).ok().filter(|&n| n <= max).ok_or(Errno::ENAMETOOLONG)?;
    let mut bytes = buffer(len, 0u8)?;
    copy_from_user(ptr, &mut bytes)?;
    String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}
