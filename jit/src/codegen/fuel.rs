//! Fuel metering: the code spends the charges of a `vm::fuel::Plan`.
//!
//! With [`crate::Fuel`] in the options, the entry function's prologue and
//! the code of every loop header (a slot some later jump goes back to)
//! start by subtracting the plan's charge from a 64-bit counter in memory,
//! set to the budget before each run:
//!
//! ```text
//!     sub qword [rip + counter], charge     ; 8 bytes (11 for a charge over 127)
//!     jb  exhausted                         ; 6 bytes, never taken while fuel lasts
//! ```
//!
//! or, with the counter in the GS segment ([`crate::FuelCounter::Gs`], the
//! kernel's per-CPU record, so that each CPU spends its own counter),
//! `sub qword gs:[offset], charge` (9 bytes, 12 for a charge over 127).
//!
//! `jb` is taken when the subtraction borrows, that is when the charge is
//! more than the fuel left: the run ends at the runner's exhaustion
//! target (the kernel's recovery path), which discards the code's frames.
//! The pair sits at the start of the slot's code, so every way into the
//! slot pays: falling through, a jump in place, and a copy of the slot in
//! a likely path ([`super::hotpath`] meters its copies too). Straight-line
//! code and local calls carry no metering (the plan charges them in
//! lumps), so inlining and copied paths keep their shape. One
//! read-modify-write of a counter per loop round is the whole cost; in the
//! host far-call mode the counter's and the target's addresses are loaded
//! into r11 instead.
//!
//! A module chooses its charges in part (the length of its loops, which
//! helpers they call), so with constant blinding a charge is never an
//! immediate: it is made in r10 as any blinded value is
//! (`lea r10, [r12 + (charge - key)]`) and subtracted from the counter as a
//! register (`sub qword [rip + counter], r10`, or `gs:[offset]`).

use super::emit::Emitter;
use crate::error::JitError;
use crate::options::{CallMode, FuelCounter};
use crate::regs::{AUX, TMP};
use crate::x86::{AluKind, Asm, Cc, Mem};

impl Emitter<'_> {
    /// Meters the entry charge (in function 0's prologue).
    pub fn meter_entry(&mut self) -> Result<(), JitError> {
        match self.plan() {
            Some(plan) => self.meter(plan.entry()),
            None => Ok(()),
        }
    }

    /// Meters the charge on reaching slot `pc`, if it has one.
    pub(super) fn meter_at(&mut self, pc: usize) -> Result<(), JitError> {
        match self.plan() {
            Some(plan) if plan.at(pc) > 0 => self.meter(plan.at(pc)),
            _ => Ok(()),
        }
    }

    /// `sub [counter], charge; jb exhausted` (charges are at most
    /// `vm::fuel::MAX_CHARGE`, which fits in an `imm32`).
    fn meter(&mut self, charge: u64) -> Result<(), JitError> {
        let Some(fuel) = self.opts.fuel else { return Ok(()) };
        let imm = i32::try_from(charge).unwrap_or(i32::MAX);
        self.clear_flags();
        let blinded = self.blinding();
        if blinded {
            self.imm_to_reg(AUX, imm as u64);
        }
        match (fuel.counter, self.opts.call_mode) {
            (FuelCounter::Gs(offset), mode) => {
                match blinded {
                    true => self.asm.alu_gs_reg(AluKind::Sub, offset, AUX),
                    false => self.asm.alu_gs_imm(AluKind::Sub, offset, imm),
                }
                self.jump_if_exhausted(mode, fuel.exhausted)?;
            }
            (FuelCounter::At(counter), CallMode::Near) => {
                if blinded {
                    let disp = self.rel32_to(counter, 7)?;
                    self.asm.alu_rip_reg(AluKind::Sub, disp, AUX);
                } else {
                    let len = Asm::alu_rip_imm_len(imm) as i128;
                    let disp = self.rel32_to(counter, len)?;
                    self.asm.alu_rip_imm(AluKind::Sub, disp, imm);
                }
                self.jump_if_exhausted(CallMode::Near, fuel.exhausted)?;
            }
            (FuelCounter::At(counter), CallMode::HostFar) => {
                self.asm.mov_r64_imm64(TMP, counter);
                match blinded {
                    true => self.asm.alu_mr(AluKind::Sub, Mem::new(TMP, 0), AUX),
                    false => self.asm.alu_mi(AluKind::Sub, Mem::new(TMP, 0), imm),
                }
                self.jump_if_exhausted(CallMode::HostFar, fuel.exhausted)?;
            }
        }
        Ok(())
    }

    /// `jb exhausted` after the subtraction: a `jb rel32` in the near
    /// mode, `jae` over `movabs r11, exhausted; jmp r11` in the far one.
    fn jump_if_exhausted(&mut self, mode: CallMode, exhausted: u64) -> Result<(), JitError> {
        match mode {
            CallMode::Near => {
                let rel = self.rel32_to(exhausted, 6)?;
                self.asm.jcc32(Cc::B, rel);
            }
            CallMode::HostFar => {
                self.asm.jcc8(Cc::Ae, 0);
                let skip = self.asm.len() - 1;
                self.asm.mov_r64_imm64(TMP, exhausted);
                self.asm.jmp_reg(TMP);
                self.asm.patch_rel8_here(skip).ok_or(JitError::CodeTooLarge { size: self.asm.len() })?;
            }
        }
        Ok(())
    }

    /// The rel32 from the end of an instruction of `len` bytes starting
    /// here to the absolute `address`.
    fn rel32_to(&self, address: u64, len: i128) -> Result<i32, JitError> {
        let end = self.opts.code_address as i128 + self.offset()? as i128 + len;
        i32::try_from(address as i128 - end).map_err(|_| JitError::FuelOutOfReach { address })
    }
}
