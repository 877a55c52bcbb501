//! The choice of each call and of its arguments, by what the call takes.

use super::worker::{FSTYPES, Kind, NODE_NAMES, NOT_PROGRAMS, SCRATCH_LEN, SCRATCH_NAMES, Worker};
use abi::fs::{O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFBLK, S_IFCHR, S_IFMT};
use abi::syscall::{self as nr, NSYSCALL};
use lkm::ioctl::{LMLOADBUF, LMREADY, LMRESERV, LMSTAT, LMSTATV, LMUNLOAD, LMUNRESRV};
use user::sys;

impl Worker {
    /// Chooses a call number and its arguments.
    pub(super) fn call(&mut self) -> (usize, [u64; 6]) {
        let r = &mut self.rng;
        let mut a = [r.next(), r.next(), r.next(), r.next(), r.next(), r.next()];
        let n = match self.rng.below(100) {
            0..=7 => nr::SYS_READ,
            8..=15 => nr::SYS_WRITE,
            16..=25 => nr::SYS_OPEN,
            26..=31 => nr::SYS_CLOSE,
            32..=37 => nr::SYS_IOCTL,
            38..=42 => nr::SYS_LSEEK,
            43..=46 => nr::SYS_GETDENTS,
            47..=51 => nr::SYS_STAT,
            52..=54 => nr::SYS_MKDIR,
            55..=56 => nr::SYS_MKNOD,
            57..=58 => nr::SYS_MOUNT,
            59..=60 => nr::SYS_UMOUNT,
            61 => nr::SYS_SPAWN,
            62..=63 => nr::SYS_EXEC,
            64..=65 => nr::SYS_WAIT,
            66 => nr::SYS_GETPID,
            67 => nr::SYS_GETUID,
            68 => nr::SYS_SETUID,
            69 => nr::SYS_SLEEP,
            70 => nr::SYS_UPTIME,
            71..=72 => nr::SYS_PROCINFO,
            73..=74 => nr::SYS_KLOG,
            75..=76 => nr::SYS_CHDIR,
            77..=78 => nr::SYS_GETCWD,
            79..=81 => nr::SYS_FSTAT,
            82 => nr::SYS_YIELD,
            83..=85 => nr::SYS_UNLINK,
            86 => nr::SYS_KINFO,
            87..=88 => nr::SYS_MOUNTS,
            89..=93 => 30 + self.rng.below((NSYSCALL - 30) as u64) as usize,
            _ => self.rng.pick(&[NSYSCALL, NSYSCALL + 1, 100, 255, 256, 1 << 32, 1 << 63, usize::MAX]),
        };
        match n {
            nr::SYS_READ | nr::SYS_WRITE => {
                a[0] = self.fd();
                a[1] = self.ptr();
                a[2] = self.len();
                if self.kind(a[0]) == Kind::Quiet {
                    a[2] = if n == nr::SYS_WRITE && self.rng.chance(5) { 1 } else { 0 };
                    a[1] = self.pass(b".".to_vec()).0;
                }
            }
            nr::SYS_OPEN => {
                let flags = self.open_flags();
                let writes = flags & 3 != O_RDONLY || flags & (O_CREAT | O_TRUNC) != 0;
                (a[0], a[1]) = if writes { self.tree_path(&SCRATCH_NAMES) } else { self.path() };
                a[2] = u64::from(flags);
                a[3] = self.rng.pick(&[0o644, 0o600, 0o000, 0o777, 0o7777, u64::MAX]);
            }
            nr::SYS_CLOSE | nr::SYS_FSTAT | nr::SYS_GETDENTS => {
                a[0] = self.fd();
                a[1] = self.ptr();
                a[2] = self.len();
            }
            nr::SYS_IOCTL => {
                a[0] = self.fd();
                a[1] = self.rng.pick(&[
                    u64::from(LMRESERV),
                    u64::from(LMLOADBUF),
                    u64::from(LMUNRESRV),
                    u64::from(LMREADY),
                    u64::from(LMUNLOAD),
                    u64::from(LMSTAT),
                    u64::from(LMSTATV),
                    (1 << 32) | u64::from(LMSTAT),
                    0,
                    u64::from(u32::MAX),
                    a[1],
                ]);
                self.fill_struct(0, 256);
                a[2] = if self.rng.chance(60) { self.base } else { self.ptr() };
            }
            nr::SYS_LSEEK => {
                a[0] = self.fd();
                a[1] = self.rng.pick(&[0, 1, u64::MAX, i64::MAX as u64, 1 << 63, 1 << 40, 4096, 1 << 31, a[1]]);
                a[2] = self.rng.pick(&[0, 1, 2, 3, 1 << 32, u64::MAX]);
            }
            nr::SYS_STAT => {
                (a[0], a[1]) = self.path();
                a[2] = self.ptr();
            }
            nr::SYS_MKDIR | nr::SYS_UNLINK => {
                (a[0], a[1]) = self.tree_path(&SCRATCH_NAMES);
                a[2] = self.rng.pick(&[0o755, 0o700, 0, u64::MAX]);
            }
            nr::SYS_MKNOD => {
                (a[0], a[1]) = self.tree_path(&NODE_NAMES);
                let kind = u64::from(self.rng.pick(&[S_IFCHR, S_IFBLK, S_IFMT, 0]));
                a[2] = kind | self.rng.pick(&[0o600, 0o666, 0o7777, a[2]]);
                a[3] = self
                    .rng
                    .pick(&[
                        abi::fs::makedev(1, 3),
                        abi::fs::makedev(1, 7),
                        abi::fs::makedev(5, 9),
                        abi::fs::makedev(28, 0),
                        u32::MAX,
                    ])
                    .into();
            }
            nr::SYS_MOUNT => {
                let fstype = self.rng.pick(&FSTYPES);
                (a[0], a[1]) =
                    if self.rng.chance(85) { self.pass(fstype.as_bytes().to_vec()) } else { self.odd_path() };
                (a[2], a[3]) = if self.rng.chance(70) { self.pass(b"none".to_vec()) } else { self.odd_path() };
                (a[4], a[5]) = self.tree_path(&SCRATCH_NAMES);
            }
            nr::SYS_UMOUNT => (a[0], a[1]) = self.tree_path(&SCRATCH_NAMES),
            nr::SYS_CHDIR => (a[0], a[1]) = self.path(),
            nr::SYS_SPAWN => a[0] = self.spawn_request(),
            nr::SYS_EXEC => {
                (a[0], a[1]) = if self.rng.chance(70) {
                    let p = self.rng.pick(&NOT_PROGRAMS);
                    self.pass(p.as_bytes().to_vec())
                } else {
                    self.odd_path()
                };
                a[3] =
                    if self.rng.chance(70) { self.rng.below(4) } else { self.rng.pick(&[32, 33, 1 << 32, u64::MAX]) };
                a[2] = self.argv(64, a[3]);
            }
            nr::SYS_WAIT => {
                let mine = self.children.first().copied().unwrap_or(1);
                a[0] = self.rng.pick(&[u64::MAX, 0, 1, mine, u64::from(u32::MAX), 1 << 32, 1 << 63, a[0]]);
                a[1] = if self.rng.chance(30) { 0 } else { self.ptr() };
            }
            nr::SYS_SETUID => {
                let me = u64::from(sys::getuid());
                // Root rarely gives up being root: the rest of its run would be a student's.
                a[0] = if self.root && !self.rng.chance(3) {
                    self.rng.pick(&[0, 1 << 32, u64::MAX, 1 << 63])
                } else {
                    self.rng.pick(&[0, 1000, me, u64::from(u32::MAX), 1 << 32, u64::MAX])
                };
            }
            nr::SYS_SLEEP => a[0] = self.rng.below(3),
            nr::SYS_PROCINFO | nr::SYS_GETCWD | nr::SYS_MOUNTS => {
                a[0] = self.ptr();
                a[1] = self.len();
            }
            nr::SYS_KLOG => {
                a[0] = self.ptr();
                a[1] = self.len();
                let pos = self.rng.pick(&[0, 1, 4096, u64::MAX, 1 << 63, a[2]]);
                self.scratch[SCRATCH_LEN - 8..].copy_from_slice(&pos.to_le_bytes());
                a[2] = if self.rng.chance(70) { self.base + (SCRATCH_LEN - 8) as u64 } else { self.ptr() };
            }
            nr::SYS_KINFO => {
                a[0] = self.rng.below(6);
                // Each unit of KINFO_SYSCALL_CYCLES is a call: keep it small, mostly.
                a[1] = if self.rng.chance(3) { self.rng.pick(&[100_000, u64::MAX]) } else { self.rng.below(64) };
            }
            _ => {}
        }
        (n, a)
    }

    fn open_flags(&mut self) -> u32 {
        if self.rng.chance(10) {
            return self.rng.next() as u32;
        }
        let mut f = self.rng.pick(&[O_RDONLY, O_WRONLY, O_RDWR, 3]);
        for bit in [O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY] {
            if self.rng.chance(20) {
                f |= bit;
            }
        }
        f
    }
}
