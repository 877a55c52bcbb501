//! A loaded module: its compiled programs, its maps, its granted ports and
//! what loading it changed in the kernel (its link), plus its health.
//!
//! A [`Module`] lives in an `Arc`. The module table holds one reference;
//! every hook that can run module code (a system-call slot, a mounted file
//! system, an open device file, a binary format, the tick list) holds
//! another, so a module in use is never freed under its user.
//!
//! In test builds a freed map's values are filled with [`MAP_POISON`]
//! first (a module is freed only after `lkm::unload`'s grace period), as
//! freed code is filled with `int3` (`memory::code`): a run that reached
//! the map late would read a count near 0x6b6b_6b6b_6b6b_6b6b, not the
//! one it left, and a test comparing counts would fail.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use abi::Errno;
use lkm::{Class, ClassParams, MapDecl, PortDecl};

use super::class::Link;
use crate::memory::code::CodeBlock;
use crate::sync::IrqLock;

/// Most bytes one module may hold: image copy, maps, read-only data and
/// native code together. More is `ENOMEM`.
pub const MODULE_BUDGET: usize = 4 << 20;

/// One map of a module (or its read-only data), at a fixed address for the
/// module's life: programs hold its address as the map reference, and
/// pointers into its values.
pub struct ModMap {
    map: UnsafeCell<vm::Map>,
}

// SAFETY: a map is touched only by module code and its helpers, which run
// one at a time on the one CPU with interrupts off (see `run.rs`), and by
// [`ModMap::with`], which takes the same exclusion.
unsafe impl Sync for ModMap {}
// SAFETY: as above; the map owns plain memory.
unsafe impl Send for ModMap {}

impl ModMap {
    pub fn new(map: vm::Map) -> Box<ModMap> {
        Box::new(ModMap { map: UnsafeCell::new(map) })
    }

    /// The address programs use as this map's reference.
    pub fn address(&self) -> u64 {
        self as *const ModMap as u64
    }

    /// The address of the first value byte (array maps and read-only data:
    /// the value of key 0).
    pub fn values_address(&self) -> u64 {
        // SAFETY: reading the buffer's address does not touch its contents.
        unsafe { (*self.map.get()).values().as_ptr() as u64 }
    }

    /// The map, for a helper running inside a program run.
    ///
    /// # Safety
    /// Only while module code runs (interrupts off, no other run).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut vm::Map {
        // SAFETY: upheld by the caller: runs are exclusive.
        unsafe { &mut *self.map.get() }
    }

    /// Runs `f` on the map outside module code (e.g. for `modstat -v`).
    pub fn with<R>(&self, f: impl FnOnce(&vm::Map) -> R) -> R {
        crate::arch::without_interrupts(|| {
            // SAFETY: interrupts are off and no module code runs outside
            // an interrupts-off run, so nothing else touches the map now.
            f(unsafe { &*self.map.get() })
        })
    }
}

/// The byte a freed map's values are filled with in test builds (the
/// freed-memory byte of Linux's slab poisoning).
pub const MAP_POISON: u8 = 0x6b;

impl Drop for ModMap {
    fn drop(&mut self) {
        if cfg!(feature = "ktest") {
            self.map.get_mut().values_mut().fill(MAP_POISON);
        }
    }
}

/// One entry point's native code.
pub struct LoadedProgram {
    /// The entry point it fills (`call`, `read`, ...).
    pub entry: &'static str,
    /// The executable, read-only pages holding the code.
    pub code: CodeBlock,
    /// The JIT's output (kept for the instruction at a faulting address).
    pub jit: jit::JitOutput,
    /// The verified bytecode (for fault reports).
    pub program: verifier::Program,
    /// Instructions the verifier processed.
    pub insns_processed: u64,
}

impl LoadedProgram {
    /// Address of the entry function.
    pub fn entry_address(&self) -> u64 {
        self.code.addr() + self.jit.entries().first().copied().unwrap_or(0) as u64
    }

    /// Whether `rip` lies in this program's code.
    pub fn contains(&self, rip: u64) -> bool {
        (self.code.addr()..self.code.addr() + self.jit.size() as u64).contains(&rip)
    }
}

/// Per-phase load timings (nanoseconds) and statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub parse_ns: u64,
    pub verify_ns: u64,
    pub jit_ns: u64,
    pub link_ns: u64,
    /// Instruction slots over all programs.
    pub insns: u32,
    pub insns_processed: u64,
    pub states: u64,
    /// Bytes of native code.
    pub code_size: u64,
}

/// A loaded module.
pub struct Module {
    pub id: usize,
    pub name: String,
    pub params: ClassParams,
    pub programs: Vec<LoadedProgram>,
    /// The image's maps, then the read-only data (map number `maps.len() - 1`).
    pub maps: Vec<Box<ModMap>>,
    /// The image's declarations of `maps` (the read-only data has none).
    pub map_decls: Vec<MapDecl>,
    /// Ports granted to this module.
    pub ports: Vec<PortDecl>,
    stats: LoadStats,
    /// Link time, known only after linking.
    link_ns: AtomicU64,
    /// Bytes counted against [`MODULE_BUDGET`].
    pub bytes: usize,
    /// What loading changed, undone by unloading.
    pub(super) link: IrqLock<Option<Link>>,
    failed: AtomicBool,
    /// Runs skipped because module code was already running.
    pub skipped: AtomicU64,
    /// Runs completed.
    pub runs: AtomicU64,
    /// Values out of range the module returned (see [`Module::reject`]).
    pub rejected: AtomicU64,
    /// Entry points whose out-of-range value was logged already (bit =
    /// index in `programs`).
    logged: AtomicU64,
    /// Runs stopped because they used up their budget.
    pub out_of_fuel: AtomicU64,
    /// Runs in a row, up to now, that used up their budget.
    pub(super) out_of_fuel_in_a_row: AtomicU64,
    /// The longest run, in TSC cycles (interrupts off all along).
    pub longest_run: AtomicU64,
}

impl Module {
    #[allow(clippy::too_many_arguments, clippy::vec_box)]
    pub(super) fn new(
        id: usize,
        name: String,
        params: ClassParams,
        programs: Vec<LoadedProgram>,
        maps: Vec<Box<ModMap>>,
        map_decls: Vec<MapDecl>,
        ports: Vec<PortDecl>,
        stats: LoadStats,
        bytes: usize,
    ) -> Module {
        Module {
            id,
            name,
            params,
            programs,
            maps,
            map_decls,
            ports,
            stats,
            link_ns: AtomicU64::new(0),
            bytes,
            link: IrqLock::new(None),
            failed: AtomicBool::new(false),
            skipped: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            out_of_fuel: AtomicU64::new(0),
            out_of_fuel_in_a_row: AtomicU64::new(0),
            longest_run: AtomicU64::new(0),
        }
    }

    /// Load statistics and per-phase timings.
    pub fn stats(&self) -> LoadStats {
        LoadStats { link_ns: self.link_ns.load(Ordering::Relaxed), ..self.stats }
    }

    pub(super) fn set_link_ns(&self, ns: u64) {
        self.link_ns.store(ns, Ordering::Relaxed);
    }

    pub fn class(&self) -> Class {
        self.params.class()
    }

    /// The program filling entry point `entry`.
    pub fn program(&self, entry: &str) -> Option<&LoadedProgram> {
        self.programs.iter().find(|p| p.entry == entry)
    }

    /// Whether native code of this module faulted, or used up its budget
    /// too many runs in a row (it no longer runs).
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    pub(super) fn mark_failed(&self) {
        self.failed.store(true, Ordering::Release);
    }

    /// Address of the first program's code (the `Loadaddr` column).
    pub fn load_address(&self) -> u64 {
        self.programs.first().map_or(0, |p| p.code.addr())
    }

    /// The slot the module took: system-call number or major number.
    pub fn slot(&self) -> u64 {
        self.link.lock().as_ref().map_or(0, Link::slot)
    }

    /// Counts a value out of range that `entry` returned or left in its
    /// context, logs it the first time for that entry (a hostile module
    /// cannot flood the log), and returns `errno`, what the caller gets.
    pub fn reject(&self, entry: &str, what: core::fmt::Arguments, errno: Errno) -> Errno {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        let bit = self.programs.iter().position(|p| p.entry == entry).unwrap_or(0).min(63);
        if self.logged.fetch_or(1 << bit, Ordering::Relaxed) & (1 << bit) == 0 {
            log::warn!(
                "lkm: module `{}`: `{entry}` {what}; the caller gets {} (once per entry point; later ones are only counted); help: fix the module, or unload it with `modunload -n {}`",
                self.name,
                errno.name(),
                self.name
            );
        }
        errno
    }

    /// Whether `addr` is the reference of one of this module's maps.
    pub fn map_at(&self, addr: u64) -> Option<&ModMap> {
        self.maps.iter().map(|m| &**m).find(|m| m.address() == addr)
    }
}
