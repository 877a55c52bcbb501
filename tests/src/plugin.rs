//! Driving the bpf_conformance plugin binary (`warden-bpf-plugin`) the way
//! the public runner drives it: program bytes on standard input, memory in
//! the first argument, the plugin options in the second; r0 in hex on
//! standard output.

use std::io::Write;
use std::process::{Command, Stdio};

/// What a plugin run gave: whether it exited with success, its standard
/// output and its standard error.
pub type PluginRun = (bool, String, String);

/// Hex bytes as the runner writes them: two spaces after each.
pub fn base16(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}  ")).collect()
}

/// Runs the plugin at `exe` (an integration test passes
/// `env!("CARGO_BIN_EXE_warden-bpf-plugin")`) on `program` with `memory`
/// and `options`.
pub fn run_plugin(exe: &str, program: &[u8], memory: &[u8], options: &str) -> PluginRun {
    let mut child = Command::new(exe)
        .arg(base16(memory))
        .arg(options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", base16(program)).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
