//! Decoding errors: which slot, and what is wrong with it.

use core::fmt;

/// Why a program failed to decode, and where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DecodeError {
    /// Index of the offending 8-byte slot.
    pub slot: usize,
    /// What is wrong with it.
    pub kind: DecodeErrorKind,
}

/// A field of an instruction slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    Dst,
    Src,
    Off,
    Imm,
}

/// What is wrong with a slot.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DecodeErrorKind {
    /// The program has no instructions.
    Empty,
    /// The byte length is not a multiple of 8.
    TrailingBytes { len: usize },
    /// The opcode byte is not defined by RFC 9669.
    UnknownOpcode(u8),
    /// `LD_ABS`/`LD_IND` (classic BPF packet access).
    LegacyPacketAccess(u8),
    /// A register field holds a number above 10.
    BadRegister { field: Field, value: u8 },
    /// A field the RFC reserves is not zero.
    /// `form` says which form of the instruction, e.g. " with immediate".
    Reserved {
        field: Field,
        value: i64,
        insn: &'static str,
        form: &'static str,
    },
    /// A field holds a value the instruction does not define.
    BadValue {
        field: Field,
        value: i64,
        insn: &'static str,
    },
    /// `lddw` at the end of the program.
    LddwMissingTail,
    /// The second slot of `lddw` has a nonzero opcode, register or offset.
    LddwBadTail { field: &'static str, value: i64 },
    /// An `Imm64Tail` that does not follow a `LoadImm64` (built programs only).
    StrayImm64Tail,
    /// The `callx` extension (call through a register) is not RFC 9669.
    Callx,
    /// Helper calls by BTF id (`src = 2`) need BTF, which Warden does not have.
    CallByBtfId,
    /// No memory for the decoded program of `slots` slots.
    OutOfMemory { slots: usize },
}

impl DecodeError {
    pub fn new(slot: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { slot, kind }
    }

    /// A hint naming the fix, where one helps.
    pub fn help(&self) -> Option<&'static str> {
        match self.kind {
            DecodeErrorKind::LegacyPacketAccess(_) => Some(
                "load from the context pointer with `ldx` (e.g. `r0 = *(u8 *)(r1 + 0)`) instead",
            ),
            DecodeErrorKind::Reserved { .. } => {
                Some("reserved fields must be zero (RFC 9669 section 3)")
            }
            DecodeErrorKind::Callx => Some("call the function directly (`call <label>`)"),
            DecodeErrorKind::TrailingBytes { .. } => {
                Some("a program is a sequence of 8-byte instructions")
            }
            DecodeErrorKind::OutOfMemory { .. } => {
                Some("load the module again when the system holds less, or make the program shorter")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Dst => "dst",
            Field::Src => "src",
            Field::Off => "offset",
            Field::Imm => "imm",
        })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slot {}: ", self.slot)?;
        match &self.kind {
            DecodeErrorKind::Empty => write!(f, "the program has no instructions"),
            DecodeErrorKind::TrailingBytes { len } => {
                write!(f, "program length {len} bytes is not a multiple of 8")
            }
            DecodeErrorKind::UnknownOpcode(c) => write!(f, "unknown opcode {c:#04x}"),
            DecodeErrorKind::LegacyPacketAccess(c) => write!(
                f,
                "opcode {c:#04x}: legacy packet access (LD_ABS/LD_IND) is not supported"
            ),
            DecodeErrorKind::BadRegister { field, value } => {
                write!(f, "{field} register r{value} does not exist (r0 to r10)")
            }
            DecodeErrorKind::Reserved {
                field,
                value,
                insn,
                form,
            } => {
                write!(f, "reserved {field} field is {value} in `{insn}`{form}")
            }
            DecodeErrorKind::BadValue { field, value, insn } => {
                write!(f, "{field} {value} is not defined for `{insn}`")
            }
            DecodeErrorKind::LddwMissingTail => write!(f, "lddw missing its second slot"),
            DecodeErrorKind::LddwBadTail { field, value } => {
                write!(f, "second slot of lddw must have {field} 0, found {value}")
            }
            DecodeErrorKind::StrayImm64Tail => {
                write!(f, "second half of lddw without the lddw before it")
            }
            DecodeErrorKind::Callx => {
                write!(f, "call through a register (callx) is not part of RFC 9669")
            }
            DecodeErrorKind::CallByBtfId => {
                write!(f, "helper call by BTF id (src 2) is not supported")
            }
            DecodeErrorKind::OutOfMemory { slots } => {
                write!(f, "no memory to decode a program of {slots} slots")
            }
        }
    }
}
