//! In-kernel tests of the boot subsystems (built with `--features ktest`).
//! Each file registers its tests with `kernel_test!`; the runner in
//! `ktest.rs` finds them through the `.kernel_tests` linker section.

mod arch;
mod heap;
mod ioapic;
mod locks;
mod memory;
mod services;
mod smp;

/// A lower-half address range no kernel code uses, for mapping tests (the
/// kernel's own lower half is empty).
pub const SCRATCH: u64 = 0x0000_7000_0000_0000;
