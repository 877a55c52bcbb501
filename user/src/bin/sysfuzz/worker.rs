//! A worker: the state of one run of calls (descriptors it opened and
//! closed, children, the scratch buffer), the generators of typed
//! arguments, and the loop that makes the calls and counts them.

use super::{BUCKETS, COUNTS_TAG};
use abi::fs::{S_IFCHR, S_IFMT};
use abi::proc::{FD_INHERIT, FD_NONE};
use abi::syscall::{self as nr, NSYSCALL};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use user::sys;

/// Bytes of the worker's own buffer that pointers "into mapped memory" use.
pub(super) const SCRATCH_LEN: usize = 136 * 1024;
/// Pointers into the scratch buffer start below this offset, so that the
/// longest transfer a call makes (64 KiB) stays inside the buffer.
const SCRATCH_REACH: u64 = 72 * 1024;
/// The top of the user stack (`os/src/proc/space.rs`): the page above is
/// never mapped, so a range starting just below it crosses into nothing.
const STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Where the program's code starts (`user/link.ld`): mapped, not writable.
const TEXT: u64 = 0x40_1000;
/// Most children a worker keeps running at once.
const MAX_CHILDREN: usize = 8;

const LENGTHS: [u64; 22] = [
    0,
    1,
    2,
    8,
    63,
    64,
    4095,
    4096,
    4097,
    8191,
    8192,
    65535,
    65536,
    65537,
    1 << 20,
    0xffff_ffff,
    1 << 32,
    i64::MAX as u64,
    1 << 63,
    u64::MAX - 4095,
    u64::MAX - 1,
    u64::MAX,
];
const BAD_POINTERS: [u64; 14] = [
    0,
    0x1000,
    0xffff,
    0x7000_0000,
    0x4000_0000_0000,
    STACK_TOP,
    0x0000_8000_0000_0000,
    0x0000_7fff_ffff_ffff,
    0x8000_0000_0000_0000,
    0x0001_0000_0000_0000,
    0xffff_8000_0000_0000,
    0xffff_ffff_8000_0000,
    0xffff_ffff_ffff_f000,
    u64::MAX,
];
pub(super) const KNOWN_PATHS: [&str; 26] = [
    "/",
    "/bin",
    "/bin/true",
    "/bin/ls",
    "/etc",
    "/etc/passwd",
    "/etc/motd",
    "/dev",
    "/dev/null",
    "/dev/zero",
    "/dev/lkm",
    "/dev/console",
    "/dev/ram0",
    "/dev/ttyS2",
    "/tmp",
    "/mnt",
    "/modules",
    ".",
    "..",
    "../..",
    "bin/../etc/./passwd",
    "//bin//true/",
    "/etc/passwd/x",
    "/nonexistent",
    "/dev/fifo",
    "/mnt/note",
];
/// Names under the scratch directory for files and directories.
/// (`note` and `count` are files of the `kvfs` module's file system, when
/// root has mounted one there.)
pub(super) const SCRATCH_NAMES: [&str; 11] =
    ["", "/f0", "/f1", "/f2", "/d0", "/d1", "/d0/f0", "/d0/d1", "/d0/d1/f0", "/d0/note", "/d1/count"];
/// Names under the scratch directory for device nodes (never executed).
pub(super) const NODE_NAMES: [&str; 3] = ["/n0", "/n1", "/d0/n2"];
/// Programs a worker may start: each ends by itself without reading input.
const CHILDREN: [&str; 5] = ["/bin/true", "/bin/false", "/bin/echo", "/bin/crash", "/bin/badptr"];
/// Paths `exec` cannot run (so a worker goes on).
pub(super) const NOT_PROGRAMS: [&str; 6] =
    ["/etc/passwd", "/bin", "/nonexistent", "/dev/null", "/dev/zero", "/bin/true/x"];
const CHILD_ARGS: [&str; 6] = ["x", "-n", "write-text", "kernel", "ud", ""];
/// File system types (`kvfs` is the example module's, when it is loaded).
pub(super) const FSTYPES: [&str; 6] = ["ramfs", "devfs", "initrd", "kvfs", "", "nonesuch"];

/// splitmix64: small, fast, and the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// What the worker knows about a descriptor it holds.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Plain,
    /// A terminal-like device (the console, a serial port, a node made
    /// for one): a read would wait for input and writes reach the screen,
    /// so reads are of 0 bytes and writes of a dot at most.
    Quiet,
}

pub struct Worker {
    pub(super) rng: Rng,
    pub(super) scratch: Vec<u8>,
    pub(super) base: u64,
    pub(super) root: bool,
    pub(super) dir: String,
    pub(super) open: Vec<(u64, Kind)>,
    pub(super) closed: Vec<u64>,
    /// Device numbers of the devices that never wait: null, zero, lkm.
    pub(super) plain_devices: Vec<u32>,
    pub(super) children: Vec<u64>,
    /// Strings passed by the current call, alive until it returns.
    pub(super) keep: Vec<Vec<u8>>,
    pub(super) counts: [u64; BUCKETS],
    /// Calls of each number that succeeded.
    pub(super) succeeded: [u64; BUCKETS],
}

impl Worker {
    fn new(seed: u64, dir: String) -> Worker {
        let mut scratch = alloc::vec![0u8; SCRATCH_LEN];
        let base = scratch.as_mut_ptr() as u64;
        let plain_devices =
            ["/dev/null", "/dev/zero", "/dev/lkm"].iter().filter_map(|p| sys::stat(p).ok()).map(|s| s.rdev).collect();
        let open = alloc::vec![(0, Kind::Plain), (2, Kind::Plain)];
        Worker {
            rng: Rng(seed),
            scratch,
            base,
            root: sys::getuid() == 0,
            dir,
            open,
            closed: Vec::new(),
            plain_devices,
            children: Vec::new(),
            keep: Vec::new(),
            counts: [0; BUCKETS],
            succeeded: [0; BUCKETS],
        }
    }

    pub(super) fn len(&mut self) -> u64 {
        if self.rng.chance(70) { self.rng.pick(&LENGTHS) } else { self.rng.below(9000) }
    }

    /// A pointer the kernel may write `len` bytes through: mostly into the
    /// scratch buffer, otherwise anything bad.
    pub(super) fn ptr(&mut self) -> u64 {
        match self.rng.below(10) {
            0..=4 => self.base + self.rng.below(SCRATCH_REACH),
            5 => TEXT + self.rng.below(4096),
            6 => STACK_TOP - 1 - self.rng.below(16),
            7 => self.rng.next(),
            _ => self.rng.pick(&BAD_POINTERS),
        }
    }

    pub(super) fn bad_ptr(&mut self) -> u64 {
        if self.rng.chance(80) { self.rng.pick(&BAD_POINTERS) } else { TEXT + self.rng.below(4096) }
    }

    /// Puts `bytes` where the current call can see them; (pointer, length).
    pub(super) fn pass(&mut self, bytes: Vec<u8>) -> (u64, u64) {
        let at = (bytes.as_ptr() as u64, bytes.len() as u64);
        self.keep.push(bytes);
        at
    }

    pub(super) fn fd(&mut self) -> u64 {
        match self.rng.below(20) {
            0..=10 if !self.open.is_empty() => self.rng.pick(&self.open).0,
            11..=12 if !self.closed.is_empty() => self.rng.pick(&self.closed),
            13 => self.rng.pick(&[u64::MAX, 1 << 32, 0x7fff_ffff, 0xffff_ffff, 32, 33, 64, 1 << 31]),
            _ => match self.rng.below(40) {
                // Descriptor 1 carries the counts: never hand it to a call.
                1 => 0,
                n => n,
            },
        }
    }

    pub(super) fn kind(&self, fd: u64) -> Kind {
        self.open.iter().find(|&&(f, _)| f == fd).map_or(Kind::Plain, |&(_, k)| k)
    }

    /// A path for a call that only looks: anything at all.
    pub(super) fn path(&mut self) -> (u64, u64) {
        match self.rng.below(20) {
            0..=7 => {
                let p = self.rng.pick(&KNOWN_PATHS);
                self.pass(p.as_bytes().to_vec())
            }
            8..=11 => self.scratch_path(&SCRATCH_NAMES),
            12 => self.scratch_path(&NODE_NAMES),
            _ => self.odd_path(),
        }
    }

    /// A path for a call that changes the tree: in the scratch directory
    /// (a student may also aim at the system's files, which must refuse).
    pub(super) fn tree_path(&mut self, names: &[&str]) -> (u64, u64) {
        match self.rng.below(10) {
            0..=6 => self.scratch_path(names),
            7 if !self.root => {
                let p = self.rng.pick(&KNOWN_PATHS);
                self.pass(p.as_bytes().to_vec())
            }
            _ => self.odd_path(),
        }
    }

    pub(super) fn scratch_path(&mut self, names: &[&str]) -> (u64, u64) {
        let name = self.rng.pick(names);
        self.pass(format!("{}{name}", self.dir).into_bytes())
    }

    /// A path few calls can use: too long, not UTF-8, random bytes (in the
    /// scratch directory), empty, or at a bad address.
    pub(super) fn odd_path(&mut self) -> (u64, u64) {
        match self.rng.below(6) {
            0 => {
                let n = self.rng.pick(&[59, 60, 61, 255, 256, 257, 4096, 5000]) as usize;
                let mut p = format!("{}/", self.dir).into_bytes();
                p.resize(p.len() + n, b'a');
                self.pass(p)
            }
            1 => {
                let mut p = format!("{}/", self.dir).into_bytes();
                p.extend_from_slice(self.rng.pick(&[&b"\xff\xfe"[..], b"\xc0\x80", b"a\0b", b"\xed\xa0\x80"]));
                self.pass(p)
            }
            2 => {
                // Random bytes, but a name in the scratch directory: no `/`
                // or `.` that could climb out of it.
                let n = self.rng.below(40) as usize;
                let mut p = format!("{}/", self.dir).into_bytes();
                p.extend((0..n).map(|_| match self.rng.next() as u8 {
                    b'/' | b'.' => b'_',
                    b => b,
                }));
                self.pass(p)
            }
            3 => self.pass(Vec::new()),
            // Not the code: its bytes would make a name relative to
            // wherever the worker's `chdir` went, outside the scratch directory.
            _ => (self.rng.pick(&BAD_POINTERS), self.len()),
        }
    }

    /// Writes plausible fields (sizes, ids, pointers, names) at scratch offset `at`.
    pub(super) fn fill_struct(&mut self, at: usize, bytes: usize) {
        for slot in (at..at + bytes).step_by(8) {
            let v = match self.rng.below(5) {
                0 => self.len(),
                1 => self.ptr(),
                2 => self.rng.below(20).wrapping_sub(2),
                3 => u64::from_le_bytes(*b"fuzzmod\0"),
                _ => self.rng.next(),
            };
            self.scratch[slot..slot + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    /// The worker's descriptors that are not [`Kind::Quiet`], or `FD_NONE`.
    pub(super) fn child_fd(&mut self) -> i32 {
        match self.rng.below(6) {
            0 => FD_INHERIT,
            1 => FD_NONE,
            2 => self.rng.pick(&[-3, i32::MIN, 1000, 32]),
            _ => {
                let fd = self.fd();
                if self.kind(fd) == Kind::Quiet { FD_NONE } else { fd as i32 }
            }
        }
    }

    /// A `SpawnRequest` (or junk) in the scratch buffer; its address.
    pub(super) fn spawn_request(&mut self) -> u64 {
        if self.rng.chance(20) {
            self.fill_struct(0, 48);
            return if self.rng.chance(50) { self.base } else { self.ptr() };
        }
        let path = if self.children.len() >= MAX_CHILDREN || self.rng.chance(20) {
            let p = self.rng.pick(&NOT_PROGRAMS);
            self.pass(p.as_bytes().to_vec())
        } else if self.rng.chance(90) {
            let p = self.rng.pick(&CHILDREN);
            // `/bin/crash` kills itself: run it rarely, its report is long.
            let p = if p == "/bin/crash" && !self.rng.chance(10) { "/bin/true" } else { p };
            self.pass(p.as_bytes().to_vec())
        } else {
            self.odd_path()
        };
        let argc = if self.rng.chance(80) { self.rng.below(4) } else { self.rng.pick(&[32, 33, 1 << 32, u64::MAX]) };
        let argv = self.argv(64, argc);
        let fds = [self.child_fd(), self.child_fd(), self.child_fd()];
        let mut req = Vec::with_capacity(48);
        for v in [path.0, path.1, argv, argc] {
            req.extend_from_slice(&v.to_le_bytes());
        }
        for fd in fds {
            req.extend_from_slice(&fd.to_le_bytes());
        }
        req.extend_from_slice(&0u32.to_le_bytes());
        self.scratch[..48].copy_from_slice(&req);
        self.base
    }

    /// An argv array of `argc` `UserStr`s at scratch offset `at` (or a bad pointer).
    pub(super) fn argv(&mut self, at: usize, argc: u64) -> u64 {
        if self.rng.chance(15) {
            return self.bad_ptr();
        }
        for i in 0..argc.min(40) as usize {
            let (p, l) = if self.rng.chance(85) {
                let a = self.rng.pick(&CHILD_ARGS);
                self.pass(a.as_bytes().to_vec())
            } else {
                (self.bad_ptr(), self.len())
            };
            let slot = at + i * 16;
            self.scratch[slot..slot + 8].copy_from_slice(&p.to_le_bytes());
            self.scratch[slot + 8..slot + 16].copy_from_slice(&l.to_le_bytes());
        }
        self.base + at as u64
    }

    /// Makes one call and keeps track of the descriptors and children it made.
    fn step(&mut self) {
        let (n, a) = self.call();
        let args = a.map(|v| v as usize);
        // SAFETY: the pointers are the scratch buffer (which this program
        // never reads as anything but bytes), strings in `keep`, the top
        // bytes of the stack (the argument strings, already parsed), or
        // addresses the kernel must refuse with EFAULT.
        let ret = unsafe { sys::raw(n, args) };
        self.keep.clear();
        self.counts[n.min(NSYSCALL)] += 1;
        let Ok(v) = user::Errno::from_ret(ret) else {
            return;
        };
        self.succeeded[n.min(NSYSCALL)] += 1;
        let v = v as u64;
        match n {
            nr::SYS_OPEN => {
                let kind = match sys::fstat(v as usize) {
                    Ok(st) if st.mode & S_IFMT == S_IFCHR && !self.plain_devices.contains(&st.rdev) => Kind::Quiet,
                    _ => Kind::Plain,
                };
                self.open.retain(|&(f, _)| f != v);
                self.closed.retain(|&f| f != v);
                self.open.push((v, kind));
            }
            nr::SYS_CLOSE => {
                self.open.retain(|&(f, _)| f != a[0]);
                self.closed.push(a[0]);
                self.closed.truncate(16);
            }
            nr::SYS_SPAWN => self.children.push(v),
            nr::SYS_WAIT => self.children.retain(|&c| c != v),
            _ => {}
        }
    }

    /// Waits for every child still running.
    fn reap(&mut self) {
        while !self.children.is_empty() {
            match sys::wait(None) {
                Ok((pid, _)) => self.children.retain(|&c| c != pid as u64),
                Err(_) => break,
            }
        }
    }
}

/// The numbers of a counts line: calls per bucket, then successes per bucket.
fn counts_line(w: &Worker) -> String {
    // A child's `echo -n` may have left a line open on the same file.
    let mut line = format!("\n{COUNTS_TAG}");
    for c in w.counts.iter().chain(&w.succeeded) {
        line.push_str(&format!(" {c}"));
    }
    line.push('\n');
    line
}

/// Makes `calls` calls from `seed`, then writes the counts line to fd 1.
pub fn run(seed: u64, calls: u64, dir: String) -> i32 {
    let mut w = Worker::new(seed, dir);
    for _ in 0..calls {
        w.step();
    }
    w.reap();
    // `exit` is made once per worker, by the worker itself: count it.
    w.counts[nr::SYS_EXIT] += 1;
    w.succeeded[nr::SYS_EXIT] += 1;
    match sys::write_all(1, counts_line(&w).as_bytes()) {
        Ok(()) => 0,
        Err(e) => user::report("writing the counts", e),
    }
}
