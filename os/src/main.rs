//! The Warden kernel: boot sequence.
//!
//! QEMU loads the ELF image at 1 MiB and enters `pvh_start32`
//! (`arch/boot.rs`), which switches to long mode and calls [`kernel_entry`]
//! below. Everything else lives in the library (`lib.rs`):
//!
//! * `arch/` — x86-64 only: boot, GDT/TSS/IST, IDT, trap entry stubs,
//!   exception reports, fault recovery, PIC, PIT, port I/O, context
//!   switch, `syscall` entry, entering JIT code.
//! * `bootinfo.rs` — memory map, modules and command line from the loader.
//! * `memory/` — frames (`frame.rs`), page tables (`paging.rs`), heap
//!   (`heap.rs`), code region for generated code (`code.rs`), kernel
//!   stacks with guard pages (`stack.rs`).
//! * `cpus.rs` — what the CPUs are doing (the banner line, `cpus`).
//! * `time.rs`, `serial.rs`, `klog.rs` (log ring), `console.rs` (the
//!   `warden> ` prompt), `sync.rs` (interrupt-safe locks), `qemu.rs`.
//! * `proc/`, `syscall/`, `fs/`, `userland.rs` — processes, system calls,
//!   files and the start of user space; `lkm/` — loadable modules.
//! * `ktest.rs` and `tests/` — in-kernel tests (`--features ktest`); other
//!   subsystems keep theirs next to their code.
//!
//! See docs/boot.md for the boot path and the memory layout.
#![no_std]
#![no_main]

use os::{arch, bootinfo, memory, println, serial, time};

/// Called by the boot code with the physical address of the PVH start info.
#[unsafe(no_mangle)]
extern "C" fn kernel_entry(start_info: u32) -> ! {
    arch::init_boot_cpu();
    serial::init();
    os::klog::init();
    arch::init();
    let Some(info) = bootinfo::init(start_info) else {
        panic!("no PVH start info at {start_info:#x}: boot Warden with `qemu-system-x86_64 -kernel`");
    };
    let mem = memory::init(info);
    time::init();
    let cpus = arch::smp::init(info.rsdp());
    serial::enable_input();
    arch::enable_interrupts();

    println!("Warden {} (x86_64)", os::VERSION);
    println!("memory: {} MiB usable, {} KiB free after boot", mem.usable_bytes >> 20, memory::frame::stats().free * 4);
    match cpus {
        Ok(report) => println!("{}", os::cpus::Summary(report)),
        Err(e) => log::warn!("only the boot CPU runs: {e}"),
    }
    log::info!("TSC {} MHz, timer {} Hz", time::tsc_hz() / 1_000_000, time::HZ);

    #[cfg(feature = "ktest")]
    os::ktest::run_all(info.cmdline());

    #[cfg(not(feature = "ktest"))]
    let Err(e) = os::userland::run();
    #[cfg(not(feature = "ktest"))]
    log::warn!("user space not started: {e}; the kernel console takes over");
    #[cfg(not(feature = "ktest"))]
    os::console::run()
}
