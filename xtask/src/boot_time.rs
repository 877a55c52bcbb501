//! `cargo xtask boot-time`: boots the normal system N times under TCG and
//! reports the time from starting QEMU to the shell prompt (median); with
//! `--no-initrd`, to the kernel console's prompt; `--smp N` boots N CPUs.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::kernel::{self, Flavor};
use crate::qemu::{self, Vm};
use crate::session::Session;
use crate::{Result, XtaskError};

#[derive(Args)]
pub struct BootTimeArgs {
    /// How many boots to measure
    #[arg(short = 'n', default_value_t = 5)]
    runs: usize,
    /// Measure the optimised kernel
    #[arg(long)]
    release: bool,
    /// Boot without the initrd and stop at the kernel console
    #[arg(long)]
    no_initrd: bool,
    /// Text that marks the end of boot [default: the shell's `warden:/# `,
    /// or `warden> ` with --no-initrd]
    #[arg(long)]
    prompt: Option<String>,
    /// Number of CPUs (1 to 16)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    smp: u32,
}

pub fn run(args: &BootTimeArgs) -> Result<ExitCode> {
    qemu::ensure_installed()?;
    let image = kernel::build(Flavor::Normal, args.release)?;
    let mut vm = Vm::new(image);
    vm.cpus = args.smp;
    if args.no_initrd {
        vm.image.initrd = None;
    }
    let default_prompt = if vm.image.initrd.is_some() { "warden:/# " } else { "warden> " };
    let prompt = args.prompt.as_deref().unwrap_or(default_prompt);
    let mut times = Vec::new();
    for run in 1..=args.runs.max(1) {
        let mut session = Session::start(&vm, false)?;
        session.expect(prompt, Duration::from_secs(30)).map_err(|e| {
            XtaskError::new(format!("boot {run}: no `{prompt}` ({e:?})\n{}", session.tail(20)))
        })?;
        let took = session.elapsed();
        println!("boot {run}: {:.3} s", took.as_secs_f64());
        times.push(took);
    }
    times.sort();
    println!("median boot-to-prompt: {:.3} s over {} boots", times[times.len() / 2].as_secs_f64(), times.len());
    Ok(ExitCode::SUCCESS)
}
