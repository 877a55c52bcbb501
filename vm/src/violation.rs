//! What the interpreter reports instead of doing something unsafe.

use alloc::string::String;
use core::fmt;

use verifier::Reg;

/// Where a pointer escaped to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LeakTarget {
    /// Stored into memory other than the stack (context, map value, helper memory).
    Memory,
    /// Left in r0 when the program exits.
    Return,
    /// Inside memory a helper was asked to read.
    HelperArgument,
}

/// The kinds of violation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ViolationKind {
    /// The address lies outside every live region, or the access runs past
    /// the end of its region (or of one map value).
    OutOfRegion,
    /// (checking mode) A memory access through a register that holds a
    /// number, not a pointer.
    NotAPointer,
    /// The bytes may not be read (a context field without read permission).
    NoReadPermission,
    /// The bytes may not be written (read-only data, a read-only context field).
    NoWritePermission,
    /// (checking mode) A read of stack bytes never written.
    UninitStack,
    /// (checking mode) A read of a register never written (or clobbered by a call).
    UninitRegister(Reg),
    /// (checking mode) A pointer value escaped.
    PointerLeak(LeakTarget),
    /// An instruction writes r10, the read-only frame pointer.
    FramePointerWrite,
    /// The run took more steps than the bound.
    StepLimit,
    /// The run used up its fuel ([`crate::Vm::meter`]): the charge due on
    /// reaching the instruction was more than the fuel left.
    OutOfFuel,
    /// A local call went deeper than the call-depth bound.
    CallDepth,
    /// The frames of the call chain together have more stack than the bound.
    StackLimit,
    /// Control reached a slot that holds no instruction (past the end, or
    /// the second half of `lddw`).
    BadPc,
    /// The instruction is valid but this interpreter does not run it here
    /// (`lddw` of a variable or code address, an unknown map).
    Unsupported(&'static str),
    /// A helper call failed: unknown id, or a bad argument.
    Helper { id: u32, reason: String },
}

/// A violation: what happened, at which instruction, at which address.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Violation {
    pub kind: ViolationKind,
    /// Slot index of the instruction.
    pub pc: usize,
    /// The (interpreter) address of the access, if memory was involved.
    pub addr: Option<u64>,
    /// Size of the access in bytes (0 if none).
    pub size: u32,
}

impl Violation {
    pub fn new(kind: ViolationKind, pc: usize) -> Violation {
        Violation {
            kind,
            pc,
            addr: None,
            size: 0,
        }
    }

    pub fn at(kind: ViolationKind, pc: usize, addr: u64, size: u32) -> Violation {
        Violation {
            kind,
            pc,
            addr: Some(addr),
            size,
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::OutOfRegion => write!(f, "access outside every allowed memory region"),
            ViolationKind::NotAPointer => {
                write!(f, "memory access through a number, not a pointer")
            }
            ViolationKind::NoReadPermission => write!(f, "read of bytes that may not be read"),
            ViolationKind::NoWritePermission => write!(f, "write to bytes that may not be written"),
            ViolationKind::UninitStack => write!(f, "read of uninitialised stack bytes"),
            ViolationKind::UninitRegister(r) => write!(f, "read of uninitialised register {r}"),
            ViolationKind::PointerLeak(LeakTarget::Memory) => {
                write!(f, "pointer stored outside the stack")
            }
            ViolationKind::PointerLeak(LeakTarget::Return) => write!(f, "pointer returned in r0"),
            ViolationKind::PointerLeak(LeakTarget::HelperArgument) => {
                write!(f, "pointer passed to a helper inside memory it reads")
            }
            ViolationKind::FramePointerWrite => {
                write!(f, "write to the read-only frame pointer r10")
            }
            ViolationKind::StepLimit => write!(f, "step bound exceeded"),
            ViolationKind::OutOfFuel => write!(f, "run-time budget used up"),
            ViolationKind::CallDepth => write!(f, "call depth bound exceeded"),
            ViolationKind::StackLimit => write!(f, "stack of the call chain exceeds its bound"),
            ViolationKind::BadPc => write!(f, "control reached a slot with no instruction"),
            ViolationKind::Unsupported(what) => write!(f, "unsupported: {what}"),
            ViolationKind::Helper { id, reason } => write!(f, "helper {id}: {reason}"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}\n --> instruction {}", self.kind, self.pc)?;
        if let Some(a) = self.addr {
            write!(f, ", {} bytes at {a:#x}", self.size)?;
        }
        Ok(())
    }
}
