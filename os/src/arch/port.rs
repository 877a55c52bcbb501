//! Port I/O. Every function is `unsafe`: a write to the wrong port can stop
//! or reset the machine.

use x86_64::instructions::port::Port;

/// # Safety
/// The port must belong to a device the caller drives.
pub unsafe fn inb(port: u16) -> u8 {
    // SAFETY: upheld by the caller.
    unsafe { Port::<u8>::new(port).read() }
}

/// # Safety
/// The port must belong to a device the caller drives.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: upheld by the caller.
    unsafe { Port::<u8>::new(port).write(value) }
}

/// # Safety
/// The port must belong to a device the caller drives.
pub unsafe fn inw(port: u16) -> u16 {
    // SAFETY: upheld by the caller.
    unsafe { Port::<u16>::new(port).read() }
}

/// # Safety
/// The port must belong to a device the caller drives.
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: upheld by the caller.
    unsafe { Port::<u16>::new(port).write(value) }
}

/// # Safety
/// The port must belong to a device the caller drives.
pub unsafe fn inl(port: u16) -> u32 {
    // SAFETY: upheld by the caller.
    unsafe { Port::<u32>::new(port).read() }
}

/// # Safety
/// The port must belong to a device the caller drives.
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: upheld by the caller.
    unsafe { Port::<u32>::new(port).write(value) }
}
