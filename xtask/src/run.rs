//! `cargo xtask run`: build the kernel and boot it on `--smp N` CPUs (4
//! unless told) with the serial console on this terminal (Ctrl-A X quits QEMU), with the `modc load` channel on
//! `target/warden-lkm.sock` (see `modules::channel_args`).

use std::process::ExitCode;

use clap::Args;

use crate::kernel::{self, Flavor};
use crate::qemu::{self, Vm};
use crate::{Result, XtaskError};

#[derive(Args)]
pub struct RunArgs {
    /// Wait for gdb on localhost:1234 before the first instruction
    #[arg(long)]
    gdb: bool,
    /// Use KVM instead of TCG (needs /dev/kvm; tests never use it)
    #[arg(long)]
    kvm: bool,
    /// Build and boot the optimised kernel
    #[arg(long)]
    release: bool,
    /// Kernel command line
    #[arg(long)]
    append: Option<String>,
    /// Number of CPUs (1 to 16)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    smp: u32,
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    qemu::ensure_installed()?;
    let image = kernel::build(Flavor::Normal, args.release)?;
    let kernel_file = image.kernel.clone();
    let mut vm = Vm::new(image);
    vm.kvm = args.kvm;
    vm.gdb = args.gdb;
    vm.append = args.append.clone();
    vm.cpus = args.smp;
    vm.interactive = true;
    vm.channel = Some(crate::modules::channel_socket());
    if vm.gdb {
        eprintln!("note: QEMU waits for gdb; in another terminal run:");
        eprintln!("  gdb {} -ex 'target remote :1234'", kernel_file.display());
    }
    eprintln!("note: Ctrl-A X quits QEMU");
    eprintln!("note: `modc load FILE` loads a module into this system through {}", crate::modules::channel_socket().display());
    let status = vm.command().status().map_err(|e| XtaskError::new(format!("cannot start {}: {e}", qemu::QEMU)))?;
    match status.code() {
        Some(0) | Some(qemu::EXIT_SUCCESS) => Ok(ExitCode::SUCCESS),
        code => {
            eprintln!("error: {}", qemu::describe_exit(code));
            Ok(ExitCode::FAILURE)
        }
    }
}
