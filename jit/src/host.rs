//! Executable memory on a Linux host, for tests and benchmarks.
//!
//! W^X in three steps: [`CodeRegion::map_near`] maps pages readable and
//! writable (and tells the JIT their address), [`CodeRegion::seal`] copies
//! the code in and turns the pages read-only and executable, and
//! [`ExecCode::call`] runs an entry point. At no time is a page both
//! writable and executable. The kernel does the same with its own page
//! tables; this module is not part of the kernel build.
//!
//! `map_near` looks for free pages within ±1 GiB of an address (a helper
//! function of the test binary), so helper calls can be `call rel32` as in
//! the kernel. If none is found, use [`crate::CallMode::HostFar`].

use std::io;

const PAGE: usize = 4096;

/// Writable, not executable pages waiting for code.
pub struct CodeRegion {
    ptr: *mut u8,
    len: usize,
}

/// Executable, not writable pages holding code.
pub struct ExecCode {
    ptr: *mut u8,
    len: usize,
}

fn unmap(ptr: *mut u8, len: usize) {
    // SAFETY: `ptr..ptr+len` is a mapping this module made and owns; no
    // reference into it outlives the owner.
    unsafe {
        libc::munmap(ptr.cast(), len);
    }
}

impl CodeRegion {
    /// Maps at least `len` bytes anywhere.
    pub fn map(len: usize) -> io::Result<CodeRegion> {
        Self::try_map(len, 0, 0).ok_or_else(io::Error::last_os_error)
    }

    /// Maps at least `len` bytes within ±1 GiB of `near`, or anywhere if no
    /// such place is free (check with [`CodeRegion::within_rel32`]).
    pub fn map_near(len: usize, near: u64) -> io::Result<CodeRegion> {
        let len = len.max(1).next_multiple_of(PAGE);
        let base = near & !(PAGE as u64 - 1);
        for step in 1..256u64 {
            let delta = step << 22; // 4 MiB steps, up to 1 GiB away
            for hint in [base.wrapping_sub(delta), base.wrapping_add(delta)] {
                if let Some(r) = Self::try_map(len, hint, libc::MAP_FIXED_NOREPLACE) {
                    return Ok(r);
                }
            }
        }
        Self::map(len)
    }

    fn try_map(len: usize, hint: u64, extra: libc::c_int) -> Option<CodeRegion> {
        let len = len.max(1).next_multiple_of(PAGE);
        // SAFETY: an anonymous private mapping; with MAP_FIXED_NOREPLACE the
        // kernel refuses rather than replacing an existing mapping.
        let p = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        let r = CodeRegion { ptr: p.cast(), len };
        if extra != 0 && r.address() != hint {
            // Old kernels ignore MAP_FIXED_NOREPLACE and treat it as a hint.
            return None;
        }
        Some(r)
    }

    /// The address the code will run at: give it to the JIT.
    pub fn address(&self) -> u64 {
        self.ptr as u64
    }

    /// Bytes available.
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Whether every byte of the region can reach `target` with a rel32.
    pub fn within_rel32(&self, target: u64) -> bool {
        let lo = self.address() as i128 - target as i128;
        let hi = lo + self.len as i128;
        lo.abs() < i32::MAX as i128 && hi.abs() < i32::MAX as i128
    }

    /// Copies `code` to the start of the region and makes it read-only and
    /// executable.
    pub fn seal(self, code: &[u8]) -> io::Result<ExecCode> {
        if code.len() > self.len {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "code larger than the region"));
        }
        // SAFETY: the region is `len` writable bytes owned by `self`, and
        // `code.len() <= len`; `code` cannot overlap a fresh mapping.
        unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), self.ptr, code.len()) };
        // SAFETY: changes the protection of our own mapping only.
        let rc = unsafe { libc::mprotect(self.ptr.cast(), self.len, libc::PROT_READ | libc::PROT_EXEC) };
        let exec = ExecCode { ptr: self.ptr, len: self.len };
        core::mem::forget(self);
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(exec)
    }
}

impl Drop for CodeRegion {
    fn drop(&mut self) {
        unmap(self.ptr, self.len);
    }
}

impl ExecCode {
    /// The address of the first byte.
    pub fn address(&self) -> u64 {
        self.ptr as u64
    }

    /// Calls the function at `entry` (an offset from
    /// [`crate::JitOutput::entries`]) with `ctx` as its first argument.
    ///
    /// # Safety
    /// The code must come from [`crate::compile`] for this region's address,
    /// `entry` must be one of its entries, and `ctx` must point to memory
    /// laid out as the verifier's profile says, with every helper address
    /// given to the JIT honouring its signature.
    ///
    /// # Panics
    /// If `entry` lies outside the region.
    pub unsafe fn call(&self, entry: u32, ctx: *mut u8) -> u64 {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.call2(entry, ctx as u64, 0) }
    }

    /// Like [`ExecCode::call`], with BPF r1 and r2 set (the first two
    /// System V arguments): the conformance suite's "memory in r1, its
    /// length in r2".
    ///
    /// # Safety
    /// As for [`ExecCode::call`], with `r1` and `r2` matching the entry
    /// state the program was verified for.
    pub unsafe fn call2(&self, entry: u32, r1: u64, r2: u64) -> u64 {
        assert!((entry as usize) < self.len, "entry outside the code");
        // SAFETY: by the caller's promise the bytes at `entry` are a System V
        // function taking two 64-bit arguments and returning a u64.
        let f: extern "C" fn(u64, u64) -> u64 = unsafe { core::mem::transmute(self.ptr.add(entry as usize)) };
        f(r1, r2)
    }
}

impl Drop for ExecCode {
    fn drop(&mut self) {
        unmap(self.ptr, self.len);
    }
}

/// Fuel for metered code on the host ([`crate::Fuel`]): one counter and
/// one exhaustion target in this binary, as the kernel has one of each per
/// CPU. Metered runs therefore take turns ([`ExecCode::call_metered`]
/// holds a lock), and the code must lie within ±2 GiB of this binary
/// (map it with [`CodeRegion::map_near`]) unless it uses the far-call mode.
pub fn fuel(helper_weight: &dyn Fn(u32) -> u64) -> crate::Fuel<'_> {
    crate::Fuel {
        counter: crate::FuelCounter::At(fuel_counter()),
        exhausted: warden_host_fuel_exhausted as *const () as u64,
        helper_weight,
    }
}

/// The address of the one fuel counter [`fuel`] names (to check that code
/// mapped near this binary reaches it with a `rel32`).
pub fn fuel_counter() -> u64 {
    FUEL.as_ptr() as u64
}

/// A metered run used up its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfFuel;

/// The fuel counter of metered code (see [`fuel`]).
static FUEL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// The stack pointer `warden_host_metered_call` saved after its pushes.
static SAVED_RSP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Metered runs take turns: one counter, one saved stack pointer.
static METERED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What `warden_host_metered_call` returns (in rax and rdx).
#[repr(C)]
struct MeteredResult {
    value: u64,
    exhausted: u64,
}

// `warden_host_metered_call(entry, r1, r2)` saves the callee-saved
// registers and then the stack pointer, and calls `entry(r1, r2)`.
// Metered code that runs out of fuel jumps (`jb`, no return address) to
// `warden_host_fuel_exhausted`, which drops the code's frames by going
// back to the saved stack pointer, restores the registers and returns
// `exhausted = 1` from the call, as the kernel's recovery path does.
std::arch::global_asm!(
    ".text",
    ".globl warden_host_metered_call, warden_host_fuel_exhausted",
    ".p2align 4",
    "warden_host_metered_call:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rip + {saved}], rsp",
    "sub rsp, 8",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "call rax",
    "add rsp, 8",
    "xor edx, edx",
    "jmp 2f",
    "warden_host_fuel_exhausted:",
    "mov rsp, [rip + {saved}]",
    "xor eax, eax",
    "mov edx, 1",
    "2:",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    saved = sym SAVED_RSP,
);

unsafe extern "C" {
    fn warden_host_metered_call(entry: u64, r1: u64, r2: u64) -> MeteredResult;
    fn warden_host_fuel_exhausted();
}

impl ExecCode {
    /// Like [`ExecCode::call2`] for code compiled with [`fuel`]: the run
    /// starts with `budget` units of fuel and returns r0 and the fuel
    /// left, or [`OutOfFuel`] if it used its budget up.
    ///
    /// # Safety
    /// As for [`ExecCode::call2`], and the code must have been compiled with
    /// the options of [`fuel`].
    pub unsafe fn call_metered(&self, entry: u32, r1: u64, r2: u64, budget: u64) -> Result<(u64, u64), OutOfFuel> {
        use std::sync::atomic::Ordering::SeqCst;
        assert!((entry as usize) < self.len, "entry outside the code");
        let _turn = METERED.lock().unwrap_or_else(|e| e.into_inner());
        FUEL.store(budget, SeqCst);
        // SAFETY: by the caller's promise the bytes at `entry` are a System V
        // function of two arguments whose only way out besides returning is
        // the jump to `warden_host_fuel_exhausted`, which unwinds to the
        // frame `warden_host_metered_call` saved.
        let r = unsafe { warden_host_metered_call(self.ptr.add(entry as usize) as u64, r1, r2) };
        match r.exhausted {
            0 => Ok((r.value, FUEL.load(SeqCst))),
            _ => Err(OutOfFuel),
        }
    }
}
