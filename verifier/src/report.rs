//! Why a program was rejected: a [`Report`] with an [`ErrorKind`], the
//! instruction, the state of the registers involved, a reason in plain
//! words and, where one helps, a hint. Displayed in the style of rustc:
//!
//! ```text
//! error[null-pointer]: r0 may be NULL here
//!  --> insn 7: r1 = *(u64 *)(r0 + 0)
//!   = note: r0: map_value_or_null(m0, id=1) + 0
//!   = help: compare the result of map_lookup with 0 before using it
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The rule a rejected program broke.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ErrorKind {
    /// The program has no instructions, or more than the limit allows.
    ProgramSize,
    /// A `LoadImm64` without its second slot, or a stray second slot.
    MalformedImm64,
    /// A jump or call target outside the program (or its function).
    JumpOutOfRange,
    /// A jump or call to the second slot of a 64-bit immediate load.
    JumpIntoImm64,
    /// An instruction no path reaches.
    Unreachable,
    /// A function whose last instruction is neither `exit` nor a jump, so
    /// that execution could run past its end.
    FallsOffEnd,
    /// A local call nested deeper than the limit, or a recursive call.
    CallDepth,
    /// The stack of a function, or of a chain of calls, exceeds the limit.
    StackSize,
    /// An instruction form the verifier does not accept (e.g. `VarAddr`).
    Unsupported,
    /// A register is read before anything was written to it.
    UninitRegister,
    /// A write to the read-only frame pointer `r10`.
    FramePointerWrite,
    /// A load or store through something that is not a pointer.
    NotAPointer,
    /// A memory access outside the region the pointer points to.
    OutOfBounds,
    /// An access at an offset the verifier cannot bound well enough (e.g. a
    /// variable offset into the stack or into a plain context field).
    VariableOffset,
    /// A context access that is not within one field, or lacks permission.
    ContextAccess,
    /// A store into read-only memory.
    ReadOnly,
    /// A read of stack bytes never written.
    UninitStack,
    /// A pointer that may be NULL used before a null check.
    NullPointer,
    /// Arithmetic on a pointer other than adding or subtracting a bounded
    /// scalar, or on a pointer that may be NULL.
    PointerArithmetic,
    /// A pointer would leave the program: stored into a map, the context or
    /// helper memory, passed where a scalar is expected, returned, or
    /// exposed through a comparison.
    PointerLeak,
    /// A spilled pointer partly overwritten or partly read.
    SpilledPointer,
    /// A call to a helper the profile does not allow.
    UnknownHelper,
    /// A helper argument that does not match the helper's signature.
    HelperArgument,
    /// A port argument that is not a constant within the declared ports.
    Port,
    /// A 64-bit immediate load naming a map the image does not have.
    UnknownMap,
    /// The function returns (or the program exits) with R0 unusable.
    ReturnValue,
    /// A loop that can never end: the same state recurs on one path.
    InfiniteLoop,
    /// The analysis would take more than the limit of processed instructions
    /// (or of pending paths).
    TooComplex,
    /// The analysis could not allocate memory, or holds more than the
    /// environment running it allows.
    OutOfMemory,
    /// The analysis ran for longer than the environment running it allows.
    TimeLimit,
}

impl ErrorKind {
    /// Every kind, for tools that list them.
    pub const ALL: [ErrorKind; 30] = [
        ErrorKind::ProgramSize,
        ErrorKind::MalformedImm64,
        ErrorKind::JumpOutOfRange,
        ErrorKind::JumpIntoImm64,
        ErrorKind::Unreachable,
        ErrorKind::FallsOffEnd,
        ErrorKind::CallDepth,
        ErrorKind::StackSize,
        ErrorKind::Unsupported,
        ErrorKind::UninitRegister,
        ErrorKind::FramePointerWrite,
        ErrorKind::NotAPointer,
        ErrorKind::OutOfBounds,
        ErrorKind::VariableOffset,
        ErrorKind::ContextAccess,
        ErrorKind::ReadOnly,
        ErrorKind::UninitStack,
        ErrorKind::NullPointer,
        ErrorKind::PointerArithmetic,
        ErrorKind::PointerLeak,
        ErrorKind::SpilledPointer,
        ErrorKind::UnknownHelper,
        ErrorKind::HelperArgument,
        ErrorKind::Port,
        ErrorKind::UnknownMap,
        ErrorKind::ReturnValue,
        ErrorKind::InfiniteLoop,
        ErrorKind::TooComplex,
        ErrorKind::OutOfMemory,
        ErrorKind::TimeLimit,
    ];

    /// The kind's name as written in reports and case files (`null-pointer`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ProgramSize => "program-size",
            ErrorKind::MalformedImm64 => "malformed-imm64",
            ErrorKind::JumpOutOfRange => "jump-out-of-range",
            ErrorKind::JumpIntoImm64 => "jump-into-imm64",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::FallsOffEnd => "falls-off-end",
            ErrorKind::CallDepth => "call-depth",
            ErrorKind::StackSize => "stack-size",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::UninitRegister => "uninit-register",
            ErrorKind::FramePointerWrite => "frame-pointer-write",
            ErrorKind::NotAPointer => "not-a-pointer",
            ErrorKind::OutOfBounds => "out-of-bounds",
            ErrorKind::VariableOffset => "variable-offset",
            ErrorKind::ContextAccess => "context-access",
            ErrorKind::ReadOnly => "read-only",
            ErrorKind::UninitStack => "uninit-stack",
            ErrorKind::NullPointer => "null-pointer",
            ErrorKind::PointerArithmetic => "pointer-arithmetic",
            ErrorKind::PointerLeak => "pointer-leak",
            ErrorKind::SpilledPointer => "spilled-pointer",
            ErrorKind::UnknownHelper => "unknown-helper",
            ErrorKind::HelperArgument => "helper-argument",
            ErrorKind::Port => "port",
            ErrorKind::UnknownMap => "unknown-map",
            ErrorKind::ReturnValue => "return-value",
            ErrorKind::InfiniteLoop => "infinite-loop",
            ErrorKind::TooComplex => "too-complex",
            ErrorKind::OutOfMemory => "out-of-memory",
            ErrorKind::TimeLimit => "time-limit",
        }
    }

    /// The kind named `name` (as [`ErrorKind::name`] writes it).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rejection: what rule, where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The rule broken.
    pub kind: ErrorKind,
    /// Slot index of the offending instruction.
    pub pc: usize,
    /// The instruction, disassembled (empty when there is none, e.g. for an
    /// empty program).
    pub insn: String,
    /// The registers involved and their state, e.g. `("r0", "map_value_or_null(m0) + 0")`.
    pub regs: Vec<(String, String)>,
    /// One line in plain words (borrowed only by
    /// [`Report::out_of_memory`], which must not allocate).
    pub reason: Cow<'static, str>,
    /// How to fix it, when there is a usual fix.
    pub hint: Option<Cow<'static, str>>,
}

/// The help of every "too complex" verdict, wherever it is shown (the
/// kernel's report, `modc check`, `modload`): the ways out, which the
/// book's verifier chapter shows with an example ("When the verifier
/// gives up").
pub const TOO_COMPLEX_HELP: &str = "the verifier follows every path through every round of a loop; \
    give it fewer: keep what a loop updates in a map value (a value read from a map is any number \
    to the verifier, so every round looks the same), compute without branches inside loops \
    (`min`, `max`, `&`, arithmetic instead of `if`), keep fewer values alive across a loop, \
    and make loop bounds smaller";

impl Report {
    /// A "too complex" report: the verifier gave up, `reason` says which limit it reached.
    pub fn too_complex(pc: usize, reason: impl Into<String>) -> Report {
        Report::new(ErrorKind::TooComplex, pc, reason).hint(TOO_COMPLEX_HELP)
    }

    /// A report without register states or hint.
    pub fn new(kind: ErrorKind, pc: usize, reason: impl Into<String>) -> Report {
        Report { kind, pc, insn: String::new(), regs: Vec::new(), reason: Cow::Owned(reason.into()), hint: None }
    }

    /// The analysis could not allocate memory at slot `pc`. Making it
    /// allocates nothing (fixed text, borrowed), so it can be made when
    /// nothing else can.
    pub fn out_of_memory(pc: usize) -> Report {
        Report {
            kind: ErrorKind::OutOfMemory,
            pc,
            insn: String::new(),
            regs: Vec::new(),
            reason: Cow::Borrowed("the verifier ran out of memory"),
            hint: Some(Cow::Borrowed(
                "load the module again when the system holds less, or keep fewer paths and less stack alive at once",
            )),
        }
    }

    /// The report with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Report {
        self.hint = Some(Cow::Owned(hint.into()));
        self
    }

    /// The report with one more register state.
    pub fn reg(mut self, name: impl Into<String>, state: impl Into<String>) -> Report {
        self.regs.push((name.into(), state.into()));
        self
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error[{}]: {}", self.kind, self.reason)?;
        if self.insn.is_empty() {
            write!(f, " --> insn {}", self.pc)?;
        } else {
            write!(f, " --> insn {}: {}", self.pc, self.insn)?;
        }
        for (name, state) in &self.regs {
            write!(f, "\n  = note: {name}: {state}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_names() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.name()), Some(k));
        }
        assert_eq!(ErrorKind::from_name("no-such-kind"), None);
    }

    #[test]
    fn display_reads_like_rustc() {
        let mut r = Report::new(ErrorKind::NullPointer, 7, "r0 may be NULL here")
            .reg("r0", "map_value_or_null(m0) + 0")
            .hint("compare the result of map_lookup with 0 before using it");
        r.insn = "r1 = *(u64 *)(r0 + 0)".into();
        assert_eq!(
            r.to_string(),
            "error[null-pointer]: r0 may be NULL here\n --> insn 7: r1 = *(u64 *)(r0 + 0)\n  \
             = note: r0: map_value_or_null(m0) + 0\n  = help: compare the result of map_lookup with 0 before using it"
        );
    }
}
