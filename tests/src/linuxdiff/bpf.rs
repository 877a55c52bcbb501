//! A small safe wrapper over Linux's `bpf(2)`: create an array map and load
//! a socket-filter program, to ask the machine's own verifier for its
//! verdict. Nothing is ever attached; every file descriptor is closed when
//! its owner is dropped.

use std::fmt;

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
/// `BPF_LOG_STATS`: only the error and the statistics lines, not the
/// state at every instruction (a log that overflows its buffer fails the
/// load with `ENOSPC` even when the program is accepted).
const BPF_LOG_STATS: u32 = 4;
const LOG_SIZE: usize = 1 << 16;

/// The fields of `union bpf_attr` that `BPF_MAP_CREATE` reads.
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
}

/// The fields of `union bpf_attr` that `BPF_PROG_LOAD` reads, up to the
/// program name; the kernel treats the fields not passed as zero.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// An open file descriptor, closed on drop.
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor was returned by bpf(2) and is owned only
        // by this value, so it is open and closed exactly once.
        unsafe { libc::close(self.0) };
    }
}

/// Calls `bpf(cmd, attr, size_of attr)`; the result is a new descriptor.
fn bpf<T>(cmd: libc::c_long, attr: &T) -> Result<Fd, std::io::Error> {
    // SAFETY: `attr` is a live `#[repr(C)]` prefix of `union bpf_attr` of
    // the size passed; every pointer inside it (instructions, license, log)
    // points into memory the caller keeps alive across the call, and the
    // log buffer's size is the one given in the attribute.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *const T, std::mem::size_of::<T>()) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(Fd(r as libc::c_int)) }
}

/// An array map of the running kernel.
pub struct ArrayMap {
    fd: Fd,
}

impl ArrayMap {
    /// Creates an array map (`key_size` 4) with `value_size`-byte values.
    pub fn create(value_size: u32, max_entries: u32) -> Result<ArrayMap, std::io::Error> {
        let attr = MapCreateAttr { map_type: BPF_MAP_TYPE_ARRAY, key_size: 4, value_size, max_entries, ..Default::default() };
        Ok(ArrayMap { fd: bpf(BPF_MAP_CREATE, &attr)? })
    }

    /// The descriptor, as `r1 = map[FD] ll` (`BPF_PSEUDO_MAP_FD`) names it.
    pub fn fd(&self) -> u32 {
        self.fd.0 as u32
    }
}

/// What the kernel's verifier said about one program.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Whether the program was loaded.
    pub accepted: bool,
    /// `processed N insns` of the verifier's statistics line, if printed.
    pub processed: Option<u64>,
    /// The `verification time N usec` line, in microseconds.
    pub micros: Option<u64>,
    /// The first line of the log that is not statistics (the error).
    pub message: String,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.accepted { write!(f, "accept") } else { write!(f, "reject: {}", self.message) }
    }
}

/// Loads `insns` (raw 8-byte instructions) as a socket filter and closes it
/// at once. `Err` only when the kernel could not give a verdict at all.
pub fn load_socket_filter(insns: &[u8]) -> Result<Verdict, std::io::Error> {
    let license = b"GPL\0";
    let mut log = vec![0u8; LOG_SIZE];
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_SOCKET_FILTER,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: BPF_LOG_STATS,
        log_size: LOG_SIZE as u32,
        log_buf: log.as_mut_ptr() as u64,
        ..Default::default()
    };
    let result = bpf(BPF_PROG_LOAD, &attr);
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let number_after = |prefix: &str| {
        text.lines().find_map(|l| l.strip_prefix(prefix)).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    let processed = number_after("processed ");
    let micros = number_after("verification time ");
    match result {
        Ok(_fd) => Ok(Verdict { accepted: true, processed, micros, message: String::new() }),
        // The verifier's refusals: a rule broken, or too complex.
        Err(e) if [libc::EACCES, libc::EINVAL, libc::E2BIG].contains(&e.raw_os_error().unwrap_or(0)) => {
            let message = last_error_line(&text).unwrap_or_else(|| e.to_string());
            Ok(Verdict { accepted: false, processed, micros, message })
        }
        Err(e) => Err(e),
    }
}

/// The verifier's own error: the last log line before the statistics.
fn last_error_line(text: &str) -> Option<String> {
    text.lines()
        .take_while(|l| !l.starts_with("processed ") && !l.starts_with("verification time"))
        .filter(|l| !l.is_empty())
        .last()
        .map(str::to_string)
}
