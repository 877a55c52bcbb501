//! Processes: what `spawn`, `exec`, `wait` and `procinfo` exchange.

/// A string in user memory: pointer and length. `argv` is an array of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct UserStr {
    pub ptr: u64,
    pub len: u64,
}

/// Most arguments a program can be given.
pub const ARG_MAX: usize = 32;

/// Most processes (zombies included) at once; `spawn` beyond it is
/// `EAGAIN`. `procinfo` never reports more rows than this.
pub const MAX_PROCESSES: usize = 256;
/// Most bytes in all arguments together.
pub const ARG_BYTES_MAX: usize = 4096;

/// A program's stack ends here (a guard page above it); the arguments are
/// at its top.
pub const STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Size of a program's stack (a guard page below it). A program whose
/// segments reach the stack or its guard pages is refused (`ENOEXEC`).
pub const STACK_SIZE: u64 = 64 * 1024;

/// The argument of `spawn`: which program, its arguments, and which of the
/// caller's descriptors become the child's 0, 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SpawnRequest {
    /// Path of the program.
    pub path: UserStr,
    /// Pointer to `argc` [`UserStr`]s; `argv[0]` is the program name.
    pub argv: u64,
    /// Number of arguments.
    pub argc: u64,
    /// For each of the child's fds 0, 1, 2: the caller's fd it gets, or
    /// [`FD_INHERIT`] for the caller's fd of the same number, or
    /// [`FD_NONE`] to leave it closed.
    pub fds: [i32; 3],
    /// Padding.
    pub _pad: u32,
}

/// In [`SpawnRequest::fds`]: pass the caller's fd of the same number.
pub const FD_INHERIT: i32 = -1;
/// In [`SpawnRequest::fds`]: the child gets no such fd.
pub const FD_NONE: i32 = -2;

/// `wait` status of a program that ended by a fault rather than `exit`
/// (what a shell shows as `$?`, like 128 + SIGSEGV on Unix).
pub const STATUS_FAULT: i32 = 139;

/// `wait` status of a program ended by `kill` (like 128 + SIGKILL on Unix).
pub const STATUS_KILLED: i32 = 137;

/// State of a process as `ps` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ProcState {
    Running = 0,
    Ready = 1,
    Sleeping = 2,
    Zombie = 3,
}

impl ProcState {
    /// From the raw value in [`ProcInfo::state`].
    pub fn from_u32(v: u32) -> Option<ProcState> {
        Some(match v {
            0 => ProcState::Running,
            1 => ProcState::Ready,
            2 => ProcState::Sleeping,
            3 => ProcState::Zombie,
            _ => return None,
        })
    }

    /// The letter of the `STAT` column: `R`, `R`, `S`, `Z`.
    pub fn letter(self) -> char {
        match self {
            ProcState::Running | ProcState::Ready => 'R',
            ProcState::Sleeping => 'S',
            ProcState::Zombie => 'Z',
        }
    }
}

/// Longest process name kept.
pub const PROC_NAME_MAX: usize = 32;

/// One row of `ps`, filled in by `procinfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ProcInfo {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    /// A [`ProcState`] value.
    pub state: u32,
    /// Timer ticks spent running.
    pub ticks: u64,
    /// Bytes of user memory mapped.
    pub mem: u64,
    pub name_len: u32,
    /// 1 for a kernel thread, 0 for a user process.
    pub kernel: u32,
    /// The CPU the task last ran on.
    pub cpu: u32,
    /// Zero (keeps the layout free of padding).
    pub reserved: u32,
    pub name: [u8; PROC_NAME_MAX],
}

impl ProcInfo {
    /// An all-zero row, to fill.
    pub const EMPTY: ProcInfo = ProcInfo {
        pid: 0,
        ppid: 0,
        uid: 0,
        state: 0,
        ticks: 0,
        mem: 0,
        name_len: 0,
        kernel: 0,
        cpu: 0,
        reserved: 0,
        name: [0; PROC_NAME_MAX],
    };

    /// The name as bytes.
    pub fn name(&self) -> &[u8] {
        &self.name[..(self.name_len as usize).min(PROC_NAME_MAX)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in [ProcState::Running, ProcState::Ready, ProcState::Sleeping, ProcState::Zombie] {
            assert_eq!(ProcState::from_u32(s as u32), Some(s));
        }
        assert_eq!(ProcState::from_u32(9), None);
        assert_eq!(ProcState::Zombie.letter(), 'Z');
    }

    #[test]
    fn structs_have_fixed_layouts() {
        assert_eq!(core::mem::size_of::<UserStr>(), 16);
        assert_eq!(core::mem::size_of::<SpawnRequest>(), 48);
        assert_eq!(core::mem::size_of::<ProcInfo>(), 80);
    }
}
