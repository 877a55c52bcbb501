//! The Warden kernel, as a library of subsystems; `main.rs` boots it.
//!
//! | module | what |
//! |---|---|
//! | [`arch`] | x86-64: boot entry, GDT/TSS, IDT, trap entry, exceptions, fault recovery, PIC/PIT, port I/O, per-CPU data, local APIC, starting the other CPUs |
//! | [`bootinfo`] | the PVH start info: memory map, modules (initrd), command line |
//! | [`memory`] | frame allocator, page tables, kernel heap, code region for the JIT |
//! | [`time`] | timer tick, uptime, TSC calibration |
//! | [`serial`] | the COM1 console (output, interrupt-driven input) |
//! | [`klog`] | the `log` backend and the kernel log ring (`dmesg`) |
//! | [`cpus`] | what each CPU runs (banner line, console `cpus`) |
//! | [`console`] | the built-in kernel console (`warden> `) |
//! | [`sync`] | locks that are safe against interrupts |
//! | [`qemu`] | leaving QEMU with an exit status |
//! | [`fs`] | the VFS, initrd, ramfs, devfs, device switches, open files |
//! | [`lkm`] | the module facility: `/dev/lkm`, loading (verify, JIT, link), the five class hooks, helpers |
//! | [`proc`] | processes, kernel threads, the scheduler, exec |
//! | [`syscall`] | the system-call table and the calls |
//! | [`userland`] | mounting the root and starting `/bin/init` |
//! | `ktest` | the in-kernel test runner (feature `ktest`) |
#![no_std]

extern crate alloc;

pub mod arch;
pub mod bootinfo;
pub mod console;
pub mod cpus;
pub mod fs;
pub mod klog;
#[cfg(feature = "ktest")]
pub mod ktest;
pub mod lkm;
pub mod memory;
pub mod proc;
pub mod qemu;
pub mod serial;
pub mod sync;
pub mod syscall;
pub mod sysrq;
pub mod time;
pub mod userland;

#[cfg(feature = "ktest")]
mod tests;

/// The kernel's version, shown in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Prints the message and location, then leaves QEMU with a failure status
/// (halts where there is no QEMU exit device).
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::fmt::Write;
    arch::disable_interrupts();
    let mut out = PanicWriter;
    #[cfg(feature = "ktest")]
    if let Some(test) = ktest::current_test() {
        let _ = writeln!(out, "test {test} ... FAILED\n    test {test} panicked");
    }
    let _ = writeln!(out, "\nkernel panic: {}", info.message());
    if let Some(location) = info.location() {
        let _ = writeln!(out, "  at {}:{}:{}", location.file(), location.line(), location.column());
    }
    #[cfg(feature = "ktest")]
    let _ = writeln!(out, "ktest: aborted by a panic");
    qemu::exit(qemu::ExitCode::Failure)
}

/// Writes to the serial port without waiting for its lock.
struct PanicWriter;

impl core::fmt::Write for PanicWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        serial::write_bytes_no_wait(s.as_bytes());
        Ok(())
    }
}
