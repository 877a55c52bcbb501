//! A small x86-64 assembler: just the instructions the JIT emits.
//!
//! [`Asm`] appends encoded instructions to a byte buffer. The operand types
//! here ([`R`], [`OpSize`], [`Mem`], [`Cc`]) name things the way the Intel
//! manual (SDM volume 2) does; the encoding rules (REX prefix, ModRM, SIB,
//! displacement sizes) live in [`asm`] next to the instructions that use them.

mod asm;
#[cfg(test)]
mod tests;

pub use asm::{AluKind, Asm, ShiftKind};

/// A general-purpose 64-bit register, numbered as the encoding numbers it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum R {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl R {
    /// Every register, in encoding order.
    #[cfg(test)]
    pub const ALL: [R; 16] = [
        R::Rax,
        R::Rcx,
        R::Rdx,
        R::Rbx,
        R::Rsp,
        R::Rbp,
        R::Rsi,
        R::Rdi,
        R::R8,
        R::R9,
        R::R10,
        R::R11,
        R::R12,
        R::R13,
        R::R14,
        R::R15,
    ];

    /// The register number, 0 to 15.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The low three bits that go into ModRM, SIB or the opcode byte.
    fn low3(self) -> u8 {
        self as u8 & 7
    }

    /// Whether the register needs the REX extension bit (r8 to r15).
    fn is_extended(self) -> bool {
        self as u8 >= 8
    }

    /// `spl`, `bpl`, `sil` and `dil` exist only with a REX prefix; without
    /// one the same numbers mean `ah`, `ch`, `dh` and `bh`.
    fn byte_needs_rex(self) -> bool {
        matches!(self as u8, 4..=7)
    }
}

/// Operand size of an instruction.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum OpSize {
    S8,
    S16,
    /// 32-bit operations zero the upper half of a destination register.
    S32,
    S64,
}

/// A memory operand `[base + disp]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mem {
    pub base: R,
    pub disp: i32,
}

impl Mem {
    pub fn new(base: R, disp: i32) -> Mem {
        Mem { base, disp }
    }
}

/// Condition codes, numbered as in `Jcc` (`0x70 + cc`, `0x0f 0x80 + cc`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Cc {
    /// Below (unsigned `<`, carry set).
    B = 0x2,
    /// Above or equal (unsigned `>=`).
    Ae = 0x3,
    /// Equal (zero set).
    E = 0x4,
    /// Not equal.
    Ne = 0x5,
    /// Below or equal (unsigned `<=`).
    Be = 0x6,
    /// Above (unsigned `>`).
    A = 0x7,
    /// Signed `<`.
    L = 0xc,
    /// Signed `>=`.
    Ge = 0xd,
    /// Signed `<=`.
    Le = 0xe,
    /// Signed `>`.
    G = 0xf,
}

impl Cc {
    /// The opposite condition: x86 pairs each condition with its negation
    /// in the lowest bit of the code.
    pub fn negate(self) -> Cc {
        match self {
            Cc::B => Cc::Ae,
            Cc::Ae => Cc::B,
            Cc::E => Cc::Ne,
            Cc::Ne => Cc::E,
            Cc::Be => Cc::A,
            Cc::A => Cc::Be,
            Cc::L => Cc::Ge,
            Cc::Ge => Cc::L,
            Cc::Le => Cc::G,
            Cc::G => Cc::Le,
        }
    }
}
