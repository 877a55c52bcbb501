//! Finding (or installing) QEMU and building its command line.
//!
//! Always: TCG unless `--kvm` (nested virtual machines may offer a KVM on
//! which `int3` and `sysret` misbehave; multi-threaded TCG when the machine
//! has several CPUs), `-smp` with the CPU count, `-no-reboot`, no display, 128 MiB,
//! the serial port on stdio and QEMU's `isa-debug-exit` device at port 0xf4.
//! The kernel writes 0x10 (success) or 0x11 (failure) there, which QEMU turns
//! into exit status 33 or 35.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::kernel::BootImage;
use crate::{Result, XtaskError};

pub const QEMU: &str = "qemu-system-x86_64";
/// Exit status after the kernel wrote "success" to the debug-exit device.
pub const EXIT_SUCCESS: i32 = 33;
/// Exit status after the kernel wrote "failure" (a failed test or a panic).
pub const EXIT_FAILURE: i32 = 35;
const APT_INSTALL: &str = "apt-get install -y --no-install-recommends qemu-system-x86";

/// How to start a virtual machine.
#[derive(Debug, Clone)]
pub struct Vm {
    pub image: BootImage,
    pub kvm: bool,
    pub gdb: bool,
    /// Kernel command line (`-append`).
    pub append: Option<String>,
    /// A person types at a terminal: QEMU's monitor is multiplexed onto
    /// stdio so that Ctrl-A X quits and Ctrl-A C opens the monitor.
    pub interactive: bool,
    /// The socket of the `modc load` channel (COM3, `/dev/ttyS2`), which
    /// `lkmd` serves ([`crate::modules::channel_args`]).
    pub channel: Option<PathBuf>,
    /// How many CPUs the machine has (`-smp`); TCG runs one host thread
    /// per CPU when there are several.
    pub cpus: u32,
    /// Where the real-time clock starts (`-rtc base=`, a UTC date and time
    /// `YYYY-MM-DDTHH:MM:SS`); the host's UTC time when `None`.
    pub rtc_base: Option<String>,
}

impl Vm {
    pub fn new(image: BootImage) -> Self {
        Self { image, kvm: false, gdb: false, append: None, interactive: false, channel: None, cpus: 1, rtc_base: None }
    }

    /// The QEMU command; stdin/stdout are the serial port.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(QEMU);
        cmd.arg("-kernel").arg(&self.image.kernel);
        if let Some(initrd) = &self.image.initrd {
            cmd.arg("-initrd").arg(initrd);
        }
        if let Some(append) = &self.append {
            cmd.args(["-append", append]);
        }
        if self.kvm {
            cmd.args(["-accel", "kvm", "-cpu", "host"]);
        } else if self.cpus > 1 {
            cmd.args(["-accel", "tcg,thread=multi"]);
        } else {
            cmd.args(["-accel", "tcg"]);
        }
        cmd.args(["-smp", &self.cpus.max(1).to_string()]);
        let serial = if self.interactive { "mon:stdio" } else { "stdio" };
        cmd.args(["-m", "128M", "-no-reboot", "-display", "none", "-serial", serial]);
        cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        if let Some(socket) = &self.channel {
            cmd.args(crate::modules::channel_args(socket));
        }
        if let Some(base) = &self.rtc_base {
            cmd.args(["-rtc", &format!("base={base}")]);
        }
        if self.gdb {
            cmd.args(["-s", "-S"]);
        }
        cmd
    }
}

/// Makes sure QEMU can be run: installs it with apt-get when running as
/// root, otherwise says how to install it.
pub fn ensure_installed() -> Result<()> {
    if qemu_works() {
        return Ok(());
    }
    if !is_root() {
        return Err(XtaskError::new(format!("`{QEMU}` was not found"))
            .with_help(format!("install it with: sudo {APT_INSTALL}")));
    }
    eprintln!("note: `{QEMU}` was not found; installing it: {APT_INSTALL}");
    if apt_get_install(&["qemu-system-x86"]) && qemu_works() {
        return Ok(());
    }
    Err(XtaskError::new(format!("installing `{QEMU}` failed")).with_help(format!("install it by hand: {APT_INSTALL}")))
}

/// Makes sure an optional tool is present (`present`), for tests that skip
/// without it: installs `packages` with apt-get when running as root,
/// saying so with `missing`; `false`, after a notice that names what is
/// `skipped` and the install command, when it is still absent.
pub fn ensure_optional(packages: &[&str], present: impl Fn() -> bool, missing: &str, skipped: &str) -> bool {
    if present() {
        return true;
    }
    let install = format!("apt-get install -y --no-install-recommends {}", packages.join(" "));
    if is_root() {
        println!("note: {missing}; installing it: {install}");
        apt_get_install(packages);
    }
    let ok = present();
    if !ok {
        println!("note: {skipped} (install it with: sudo {install})");
    }
    ok
}

/// Installs Debian packages with `apt-get` (after `apt-get update`), as
/// root; whether the install succeeded.
pub fn apt_get_install(packages: &[&str]) -> bool {
    let _ = Command::new("apt-get").args(["update", "-q"]).status();
    Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
}

fn qemu_works() -> bool {
    Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Explains a QEMU exit status in words.
pub fn describe_exit(code: Option<i32>) -> String {
    match code {
        Some(EXIT_SUCCESS) => "the kernel exited with success (33)".into(),
        Some(EXIT_FAILURE) => "the kernel reported a failure or panicked (35)".into(),
        Some(0) => "QEMU was closed".into(),
        Some(code) => format!("QEMU exited with status {code}"),
        None => "QEMU was killed by a signal".into(),
    }
}
