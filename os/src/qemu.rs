//! Leaving QEMU through its `isa-debug-exit` device (I/O port 0xf4).
//!
//! Writing `code` makes QEMU exit with status `(code << 1) | 1`, so the
//! codes below become 33 (success) and 35 (failure) for the host.

use crate::arch::port::outl;

const DEBUG_EXIT_PORT: u16 = 0xf4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    Success = 0x10,
    Failure = 0x11,
}

/// Ends the virtual machine; halts if the device is absent (not under QEMU,
/// or started without `-device isa-debug-exit`).
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is QEMU's exit device; writing it ends the VM.
    unsafe { outl(DEBUG_EXIT_PORT, code as u32) };
    crate::arch::halt_forever()
}
