//! The lock classes and, in test builds, the lock-order checker.
//!
//! Every global lock has a [`LockClass`] (its name in the lock table of
//! docs/locks.md and of `sync`'s documentation). Two locks can deadlock
//! only if one CPU takes A then B while another takes B then A (or a
//! longer cycle), so what matters is the order in which classes nest.
//!
//! The order is the order of the variants of [`LockClass`]: a CPU may take
//! a lock only while every lock it holds comes earlier in the list. If all
//! CPUs keep to one order, no cycle of waiting CPUs can form.
//!
//! In a `ktest` build the checker watches every lock with a class: when a
//! CPU takes a lock of class B while it holds one of class A, and A comes
//! after B, that is an *inversion*, recorded with both names. The test
//! runner fails the running test when one was recorded
//! ([`take_inversion`]), so an inversion fails a test on one CPU even
//! though only several CPUs could turn it into a deadlock. The checker also
//! keeps every pair it saw ([`edges`]); the runner prints them at the end,
//! which is how docs/locks.md knows which nestings really happen. Locks
//! without a class (those inside objects: a file's offset, a ramfs tree)
//! are not checked. The normal kernel has none of this: [`acquired`] and
//! [`released`] are empty there.

/// The global locks, in the order they nest: a lock may be taken while
/// holding only locks above it in this list. docs/locks.md says what each
/// protects and which nestings happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LockClass {
    /// `lkm::TABLE`: the module table.
    LkmTable,
    /// `lkm::class::misc::TICKERS`: modules with a tick hook.
    MiscTickers,
    /// `lkm::ports::GRANTS`: I/O ports granted to modules.
    LkmPorts,
    /// `syscall::TABLE`: the system-call table.
    SyscallTable,
    /// `syscall::kill::KILLED`: processes marked to be killed.
    Killed,
    /// `proc::exec::FORMATS`: the binary formats exec knows.
    ExecFormats,
    /// `fs::vfs::TYPES`: registered file-system types.
    FsTypes,
    /// `fs::vfs::MOUNTS`: the mount table.
    Mounts,
    /// `fs::devfs::NODES`: the device nodes of `/dev`.
    Devfs,
    /// `fs::device::CHAR`: the character-device switch.
    CharDevices,
    /// `fs::device::BLOCK`: the block-device switch.
    BlockDevices,
    /// `fs::console::LINE`: the console's line discipline.
    ConsoleLine,
    /// `proc::TASKS`: the task table.
    Tasks,
    /// `proc::sched::READY`: the run queue.
    Ready,
    /// `proc::text::CACHE`: shared program text.
    TextCache,
    /// `sysrq::PENDING`: SysRq keys waiting to be handled.
    Sysrq,
    /// `arch::fault::REGIONS`: recoverable code regions.
    FaultRegions,
    /// `arch::fault::LAST_FAULT`: the last recovered fault.
    LastFault,
    /// `memory::heap::HEAP`: the kernel heap.
    Heap,
    /// `memory::paging::PAGING`: every page-table change.
    Paging,
    /// `memory::frame::FRAMES`: the frame bitmap.
    Frames,
    /// `klog::RING`: the kernel log ring.
    LogRing,
    /// `serial::INPUT`: bytes received on COM1.
    SerialInput,
    /// `serial::PORT`: the COM1 transmitter.
    SerialPort,
    /// Two classes for the checker's own tests.
    #[cfg(feature = "ktest")]
    TestA,
    #[cfg(feature = "ktest")]
    TestB,
}

#[cfg(feature = "ktest")]
pub use checker::{Inversion, acquired, edges, released, take_inversion};

#[cfg(not(feature = "ktest"))]
#[inline(always)]
pub fn acquired(_class: LockClass, _checked: bool) {}

#[cfg(not(feature = "ktest"))]
#[inline(always)]
pub fn released(_class: LockClass) {}

#[cfg(feature = "ktest")]
mod checker {
    use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

    use super::LockClass;
    use crate::arch::percpu::{self, MAX_CPUS};

    const CLASSES: usize = LockClass::TestB as usize + 1;
    const _: () = assert!(CLASSES <= 32, "a set of classes is a u32");

    /// `EDGES[a]` has bit `b` when a lock of class `b` was taken while one
    /// of class `a` was held.
    static EDGES: [AtomicU32; CLASSES] = [const { AtomicU32::new(0) }; CLASSES];
    /// The set of classes each CPU holds. Only that CPU changes its own,
    /// with interrupts off (locks are `IrqLock`s). A set, not a stack: two
    /// locks of one class are never held at once on one CPU (each class
    /// is one lock, or one lock per CPU), and a set costs two
    /// instructions per lock where the kernel takes the heap's lock
    /// millions of times.
    static HELD: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
    /// The first inversion not yet taken: `held * CLASSES + taken + 1`, or 0.
    static INVERSION: AtomicUsize = AtomicUsize::new(0);

    /// A lock taken against the order of [`LockClass`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Inversion {
        /// The class held.
        pub held: LockClass,
        /// The class taken, which comes before `held` in the order.
        pub taken: LockClass,
    }

    /// Every class, at its own index.
    const ALL: [LockClass; CLASSES] = {
        use LockClass::*;
        [
            LkmTable, MiscTickers, LkmPorts, SyscallTable, Killed, ExecFormats, FsTypes, Mounts, Devfs,
            CharDevices, BlockDevices, ConsoleLine, Tasks, Ready, TextCache, Sysrq, FaultRegions, LastFault,
            Heap, Paging, Frames, LogRing, SerialInput, SerialPort, TestA, TestB,
        ]
    };
    const _: () = {
        let mut i = 0;
        while i < CLASSES {
            assert!(ALL[i] as usize == i, "ALL lists the classes in their order");
            i += 1;
        }
    };

    fn class(index: usize) -> LockClass {
        ALL[index % CLASSES]
    }

    fn held() -> &'static AtomicU32 {
        &HELD[percpu::cpu_id().min(MAX_CPUS - 1)]
    }

    /// Notes that this CPU took a lock of `class` (interrupts are off);
    /// `checked` is false for `try_lock`, which cannot wait and so cannot
    /// deadlock, but still counts as held for the locks taken under it.
    pub fn acquired(class: LockClass, checked: bool) {
        let taken = class as usize;
        let set = held();
        let mut others = set.load(Ordering::Relaxed) & !(1 << taken);
        set.fetch_or(1 << taken, Ordering::Relaxed);
        while checked && others != 0 {
            let held = others.trailing_zeros() as usize;
            others &= others - 1;
            EDGES[held].fetch_or(1 << taken, Ordering::Relaxed);
            if held > taken {
                let _ = INVERSION.compare_exchange(0, held * CLASSES + taken + 1, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
    }

    /// Notes that this CPU released its lock of `class`.
    pub fn released(class: LockClass) {
        held().fetch_and(!(1 << class as usize), Ordering::Relaxed);
    }

    /// The first inversion recorded since the last call, if any.
    pub fn take_inversion() -> Option<Inversion> {
        match INVERSION.swap(0, Ordering::AcqRel) {
            0 => None,
            n => Some(Inversion { held: class((n - 1) / CLASSES), taken: class((n - 1) % CLASSES) }),
        }
    }

    /// Every order seen so far: `(held, taken)` pairs.
    pub fn edges() -> impl Iterator<Item = (LockClass, LockClass)> {
        (0..CLASSES).flat_map(|a| {
            let bits = EDGES[a].load(Ordering::Relaxed);
            (0..CLASSES).filter(move |b| bits & (1 << b) != 0).map(move |b| (class(a), class(b)))
        })
    }
}
