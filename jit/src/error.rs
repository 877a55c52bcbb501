//! Why compilation can fail.
//!
//! A verified program compiles unless the caller's environment cannot serve
//! it (a helper without an address, a map reference without a resolver, a
//! helper out of `call rel32` reach) or an internal limit is hit. Each error
//! names the instruction index.

use core::fmt;

/// A compilation failure.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum JitError {
    /// The helper lookup has no address for this helper.
    UnknownHelper { pc: usize, helper: u32 },
    /// The helper is more than ±2 GiB from the code, out of `call rel32` reach.
    HelperOutOfReach { pc: usize, helper: u32, address: u64 },
    /// The resolver has no address for this 64-bit immediate (map reference,
    /// map value, variable or code address).
    UnresolvedImm64 { pc: usize },
    /// An instruction form this JIT does not compile.
    Unsupported { pc: usize, what: &'static str },
    /// A jump or call target outside its function, or into the middle of a
    /// 64-bit immediate load.
    BadTarget { pc: usize },
    /// The function table does not tile the program.
    BadFunctions,
    /// A function's stack is larger than the 512 bytes a frame may have.
    StackTooLarge { function: usize, depth: u32 },
    /// The native code would exceed the JIT's size limit.
    CodeTooLarge { size: usize },
    /// The fuel counter or the exhaustion target is more than ±2 GiB from
    /// the code, out of reach of a `rel32`.
    FuelOutOfReach { address: u64 },
}

/// The largest frame one BPF function may have, in bytes.
pub const MAX_STACK: u32 = 512;
/// The largest native code the JIT produces, in bytes.
pub const MAX_CODE: usize = 256 << 20;

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            JitError::UnknownHelper { pc, helper } => write!(
                f,
                "error: call to helper {helper} which has no address\n  --> insn {pc}\n  = help: give the helper lookup an address for every helper the profile allows"
            ),
            JitError::HelperOutOfReach { pc, helper, address } => write!(
                f,
                "error: helper {helper} at {address:#x} is out of reach of `call rel32`\n  --> insn {pc}\n  = note: code and helpers must lie within ±2 GiB of each other\n  = help: map the code near the helpers, or (on the host only) use the far-call mode"
            ),
            JitError::UnresolvedImm64 { pc } => write!(
                f,
                "error: 64-bit immediate refers to an object without an address\n  --> insn {pc}\n  = help: give the options a resolver for map and read-only data references"
            ),
            JitError::Unsupported { pc, what } => {
                write!(f, "error: the JIT does not compile {what}\n  --> insn {pc}")
            }
            JitError::BadTarget { pc } => write!(
                f,
                "error: jump or call target outside its function or inside an instruction\n  --> insn {pc}\n  = note: the verifier refuses such programs"
            ),
            JitError::BadFunctions => write!(
                f,
                "error: the function table does not cover the program\n  = note: function 0 must start at 0 and each function must end where the next starts"
            ),
            JitError::StackTooLarge { function, depth } => write!(
                f,
                "error: function {function} uses {depth} bytes of stack\n  = note: a frame holds at most {MAX_STACK} bytes"
            ),
            JitError::CodeTooLarge { size } => write!(
                f,
                "error: native code of {size} bytes exceeds the limit of {MAX_CODE} bytes\n  = help: split the program"
            ),
            JitError::FuelOutOfReach { address } => write!(
                f,
                "error: the fuel counter or exhaustion target at {address:#x} is out of reach of a rel32\n  = note: in the near call mode they must lie within ±2 GiB of the code\n  = help: place them near the code, or (on the host only) use the far-call mode"
            ),
        }
    }
}

impl core::error::Error for JitError {}
