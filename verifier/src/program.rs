//! A decoded program: one [`Insn`] per 8-byte slot.
//!
//! [`crate::decode()`] builds a `Program` from bytes and guarantees that it is
//! *well formed*: every [`Insn::LoadImm64`] is followed by its
//! [`Insn::Imm64Tail`] and no tail appears anywhere else. Programs built with
//! [`Program::from_insns`] (by the assembler, generators, tests) can be
//! checked with [`Program::check_slots`]; the verifier does so before
//! anything else.

use alloc::vec::Vec;

use crate::decode::{DecodeError, DecodeErrorKind};
use crate::insn::Insn;

/// A sequence of instruction slots.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Program {
    insns: Vec<Insn>,
}

impl Program {
    /// Wraps instructions, one per slot (a `LoadImm64` must be followed by an
    /// `Imm64Tail`; see [`Program::check_slots`]).
    pub fn from_insns(insns: Vec<Insn>) -> Program {
        Program { insns }
    }

    /// The instructions, one per slot.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program has no slots at all.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The instruction in slot `pc`, if there is one.
    pub fn get(&self, pc: usize) -> Option<&Insn> {
        self.insns.get(pc)
    }

    /// Gives the instructions back.
    pub fn into_insns(self) -> Vec<Insn> {
        self.insns
    }

    /// Checks the slot structure: every `LoadImm64` is followed by an
    /// `Imm64Tail`, and every `Imm64Tail` follows a `LoadImm64`.
    pub fn check_slots(&self) -> Result<(), DecodeError> {
        let mut pc = 0;
        while pc < self.insns.len() {
            match self.insns[pc] {
                Insn::LoadImm64 { .. } => {
                    if self.insns.get(pc + 1) != Some(&Insn::Imm64Tail) {
                        return Err(DecodeError::new(pc, DecodeErrorKind::LddwMissingTail));
                    }
                    pc += 2;
                }
                Insn::Imm64Tail => {
                    return Err(DecodeError::new(pc, DecodeErrorKind::StrayImm64Tail));
                }
                _ => pc += 1,
            }
        }
        Ok(())
    }
}

impl core::ops::Index<usize> for Program {
    type Output = Insn;
    fn index(&self, pc: usize) -> &Insn {
        &self.insns[pc]
    }
}
