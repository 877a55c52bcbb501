//! What the caller tells the JIT, and what it gets back.

use alloc::vec::Vec;
use verifier::Imm64;

/// How helper calls are emitted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum CallMode {
    /// `call rel32` straight to the helper: code and helpers lie within
    /// ±2 GiB (the kernel places its JIT pages so). The only mode the kernel uses.
    #[default]
    Near,
    /// HOST ONLY, for tests and benchmarks whose executable pages could not
    /// be mapped near the helpers: `movabs r11, helper; call r11`. This is an
    /// indirect call, which the kernel never emits.
    HostFar,
}

/// Compilation options.
#[derive(Clone, Copy)]
pub struct JitOptions<'a> {
    /// The address at which the code will run (its first byte). Helper
    /// calls are relative to it.
    pub code_address: u64,
    /// The address of each helper id the program may call.
    pub helper_address: &'a dyn Fn(u32) -> Option<u64>,
    /// The address behind each 64-bit immediate that is not a plain value
    /// (map references, map values and read-only data, variables).
    pub resolve_imm64: &'a dyn Fn(&Imm64) -> Option<u64>,
    /// Constant blinding with this seed, or `None` for plain immediates.
    pub blinding: Option<u64>,
    /// How helper calls are emitted.
    pub call_mode: CallMode,
    /// Fuel metering, or `None` for code that runs unmetered.
    pub fuel: Option<Fuel<'a>>,
}

/// Fuel metering: the code spends the charges of a `vm::fuel::Plan` (on
/// entry and at loop headers) from a counter in memory, and jumps to
/// `exhausted` when a charge is more than what is left (docs/jit.md,
/// "Fuel").
#[derive(Clone, Copy)]
pub struct Fuel<'a> {
    /// Where the `u64` fuel counter is, set to the budget before each run.
    pub counter: FuelCounter,
    /// Where the code jumps (`jb`, no return address) when the fuel is used
    /// up: the runner's recovery path, which discards the code's frames.
    /// In [`CallMode::Near`] it lies within ±2 GiB of the code.
    pub exhausted: u64,
    /// What one call of each helper costs.
    pub helper_weight: &'a dyn Fn(u32) -> u64,
}

/// Where metered code finds its fuel counter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FuelCounter {
    /// At this address: `sub qword [rip + disp32]` in [`CallMode::Near`]
    /// (so it lies within ±2 GiB of the code), through r11 in
    /// [`CallMode::HostFar`]. One counter, so runs must take turns.
    At(u64),
    /// At this offset in the GS segment: `sub qword gs:[offset]`, an
    /// absolute `disp32` (SDM vol. 2, 2.2.1.6: ModRM r/m 100 with a SIB
    /// byte of base 101 and no index). The kernel keeps the counter in
    /// each CPU's per-CPU record, which its GS base points to, so code
    /// runs on every CPU at once, each spending its own counter. (The
    /// CPU sign-extends the `disp32`, hence `i32`.)
    Gs(i32),
}

fn no_helper(_: u32) -> Option<u64> {
    None
}

fn no_imm64(_: &Imm64) -> Option<u64> {
    None
}

impl<'a> JitOptions<'a> {
    /// Options for code at `code_address` with no helpers, no map
    /// references and no blinding; set the other fields as needed.
    pub fn new(code_address: u64) -> JitOptions<'static> {
        JitOptions {
            code_address,
            helper_address: &no_helper,
            resolve_imm64: &no_imm64,
            blinding: None,
            call_mode: CallMode::Near,
            fuel: None,
        }
    }
}

/// Compiled code and where everything is in it.
#[derive(Clone, Debug)]
pub struct JitOutput {
    pub(crate) code: Vec<u8>,
    pub(crate) code_address: u64,
    pub(crate) entries: Vec<u32>,
    pub(crate) function_starts: Vec<usize>,
    pub(crate) insn_offsets: Vec<u32>,
    pub(crate) passes: u32,
}

impl JitOutput {
    /// The machine code, to be copied to [`JitOptions::code_address`].
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// The address the code was compiled to run at.
    pub fn code_address(&self) -> u64 {
        self.code_address
    }

    /// Code size in bytes.
    pub fn size(&self) -> usize {
        self.code.len()
    }

    /// Offset of the prologue of each function; entry 0 is the program's
    /// entry point (System V: `extern "C" fn(ctx: *mut u8) -> u64`).
    pub fn entries(&self) -> &[u32] {
        &self.entries
    }

    /// The first slot of each function.
    pub fn function_starts(&self) -> &[usize] {
        &self.function_starts
    }

    /// Native offset of the code of the instruction in each slot (the tail
    /// slot of a 64-bit load maps to the end of that load).
    pub fn insn_offsets(&self) -> &[u32] {
        &self.insn_offsets
    }

    /// The instruction whose code contains native offset `offset`, for
    /// reporting a fault at a code address; `None` outside any instruction
    /// (prologues, epilogues count as part of the instruction they follow).
    pub fn insn_at(&self, offset: u32) -> Option<usize> {
        if offset as usize >= self.code.len() {
            return None;
        }
        // The last slot whose code starts at or before `offset`.
        let n = self.insn_offsets.partition_point(|&o| o <= offset);
        n.checked_sub(1)
    }

    /// How many emission passes jump sizing needed.
    pub fn passes(&self) -> u32 {
        self.passes
    }
}
