//! One instruction's effect on the state: the dispatcher, ALU instructions
//! (scalar arithmetic through the domain, pointer arithmetic by the rules
//! below), 64-bit immediate loads and jumps with refinement on both edges.
//!
//! Pointer arithmetic: only 64-bit `+` and `-` of a scalar whose bounds lie
//! within ±2^29 (so offsets never wrap), on a pointer that cannot be NULL.
//! Everything else on a pointer would expose or corrupt an address.
//!
//! Pointer comparisons: only a maybe-NULL pointer against 0 (the null
//! check, which resolves every copy of the pointer), or a non-NULL pointer
//! against 0 (whose outcome is known). Any other comparison would let the
//! program learn an address bit by bit.

use alloc::format;

use super::explore::{Checker, Flow};
use super::precision::Note;
use crate::domain::Scalar;
use crate::insn::{AluOp, Cond, Imm64, Insn, Reg, Src, Width};
use crate::profile::MapKind;
use crate::report::{ErrorKind, Report};
use crate::state::{Ptr, Region, State, Value};

/// Largest magnitude of a pointer offset (as the Linux verifier's `BPF_MAX_VAR_OFF`).
pub(super) const MAX_OFF: i64 = 1 << 29;

impl Checker<'_> {
    /// Applies the instruction at `pc` to `st`.
    pub(super) fn step(&mut self, pc: usize, st: &mut State) -> Result<Flow, Report> {
        let insn = self.insns[pc];
        match insn {
            Insn::Alu { width, op, dst, src } => self.alu(pc, st, width, op, dst, src)?,
            Insn::Neg { width, dst } => {
                let d = self.scalar_operand(pc, st, dst)?;
                self.update(pc, st, dst, Value::Scalar(d.neg(width)))?;
            }
            Insn::Endian { kind, bits, dst } => {
                let d = self.scalar_operand(pc, st, dst)?;
                self.update(pc, st, dst, Value::Scalar(d.endian(kind, bits)))?;
            }
            Insn::LoadImm64 { dst, imm } => {
                let v = self.imm64(pc, st, imm)?;
                self.write(pc, st, dst, v)?;
            }
            Insn::Imm64Tail => {
                return Err(Report::new(ErrorKind::MalformedImm64, pc, "control reached the second half of a 64-bit load"));
            }
            Insn::Load { size, signed, dst, src, off } => self.load(pc, st, size, signed, dst, src, off)?,
            Insn::Store { size, dst, off, src } => self.store(pc, st, size, dst, off, src)?,
            Insn::Atomic { size, op, fetch, dst, src, off } => self.atomic(pc, st, size, op, fetch, dst, src, off)?,
            Insn::Ja { .. } => return Ok(Flow::Next(insn.target(pc).unwrap_or(0) as usize)),
            Insn::Jump { width, cond, dst, src, .. } => {
                return self.jump(pc, st, width, cond, dst, src, insn.target(pc).unwrap_or(0) as usize);
            }
            Insn::Call { helper } => self.call_helper(pc, st, helper)?,
            Insn::CallLocal { .. } => return self.call_local(pc, st, insn.target(pc).unwrap_or(0) as usize),
            Insn::Exit => return self.exit(pc, st),
        }
        Ok(Flow::Next(pc + insn.slots()))
    }

    /// Reads a register that must be initialised.
    #[inline(always)]
    pub(super) fn read(&self, pc: usize, st: &State, r: Reg) -> Result<Value, Report> {
        match *st.reg(r) {
            Value::Uninit => Err(self
                .fail(ErrorKind::UninitRegister, pc, st, &[r], format!("{r} is read before anything was written to it"))
                .hint(format!("assign {r} on every path that reaches this instruction"))),
            v => Ok(v),
        }
    }

    /// Writes a register other than r10.
    #[inline(always)]
    pub(super) fn write(&self, pc: usize, st: &mut State, r: Reg, v: Value) -> Result<(), Report> {
        if r == Reg::R10 {
            return Err(Report::new(ErrorKind::FramePointerWrite, pc, "r10, the frame pointer, is read-only")
                .hint("copy r10 into another register and change the copy"));
        }
        st.set(r, v);
        Ok(())
    }

    /// Writes a register other than r10 with a value computed from its own
    /// alone (see [`State::update`]).
    #[inline(always)]
    fn update(&self, pc: usize, st: &mut State, r: Reg, v: Value) -> Result<(), Report> {
        if r == Reg::R10 {
            return self.write(pc, st, r, v);
        }
        st.update(r, v);
        Ok(())
    }

    /// Reads a register that must hold a scalar (for NEG and byte swaps).
    fn scalar_operand(&self, pc: usize, st: &State, r: Reg) -> Result<Scalar, Report> {
        match self.read(pc, st, r)? {
            Value::Scalar(s) => Ok(s),
            _ => Err(self.fail(
                ErrorKind::PointerArithmetic,
                pc,
                st,
                &[r],
                format!("{r} holds a pointer; this operation would expose or corrupt its address"),
            )),
        }
    }

    /// The value of an ALU or jump operand.
    #[inline(always)]
    fn operand(&self, pc: usize, st: &State, src: Src) -> Result<Value, Report> {
        match src {
            Src::Imm(i) => Ok(Value::constant(i as i64 as u64)),
            Src::Reg(r) => self.read(pc, st, r),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alu(&mut self, pc: usize, st: &mut State, width: Width, op: AluOp, dst: Reg, src: Src) -> Result<(), Report> {
        let s = self.operand(pc, st, src)?;
        let src_reg = match src {
            Src::Reg(r) => Some(r),
            Src::Imm(_) => None,
        };
        if let AluOp::Mov | AluOp::MovSx(_) = op {
            let v = match (s, width, op, src_reg) {
                // A whole copy of a number shares its link.
                (Value::Scalar(s), Width::W64, AluOp::Mov, Some(r)) => {
                    let link = st.link_of(r, || self.fresh_id());
                    self.write(pc, st, dst, Value::Scalar(s))?;
                    st.set_linked(dst, Value::Scalar(s), link);
                    return Ok(());
                }
                (Value::Scalar(s), _, _, _) => Value::Scalar(Scalar::UNKNOWN.alu(width, op, &s)),
                (v, Width::W64, AluOp::Mov, _) => v,
                _ => {
                    return Err(self.fail(
                        ErrorKind::PointerLeak,
                        pc,
                        st,
                        src_reg.as_slice(),
                        "a partial or sign-extending copy of a pointer would expose its address".into(),
                    ));
                }
            };
            return self.write(pc, st, dst, v);
        }
        let d = self.read(pc, st, dst)?;
        let result = match (d, s) {
            (Value::Scalar(d), Value::Scalar(s)) => Value::Scalar(d.alu(width, op, &s)),
            // The number becomes part of the pointer's offset, which every
            // access through it checks: its value decides.
            (Value::Ptr(p), Value::Scalar(s)) if matches!(op, AluOp::Add | AluOp::Sub) && width == Width::W64 => {
                if let Some(r) = src_reg {
                    self.decide(r);
                }
                Value::Ptr(self.ptr_arith(pc, st, dst, p, op, &s, src_reg)?)
            }
            (Value::Scalar(s), Value::Ptr(p)) if op == AluOp::Add && width == Width::W64 => {
                self.decide(dst);
                Value::Ptr(self.ptr_arith(pc, st, dst, p, op, &s, src_reg)?)
            }
            _ => {
                let mut regs = alloc::vec![dst];
                regs.extend(src_reg);
                let what = if width == Width::W32 {
                    "32-bit arithmetic on a pointer".into()
                } else {
                    match (d, s) {
                        (Value::Ptr(_) | Value::MapRef(_), Value::Ptr(_) | Value::MapRef(_)) => {
                            "arithmetic between two pointers".into()
                        }
                        (Value::MapRef(_), _) | (_, Value::MapRef(_)) => "arithmetic on a map reference".into(),
                        _ => format!("`{}` on a pointer", alu_name(op)),
                    }
                };
                return Err(self
                    .fail(ErrorKind::PointerArithmetic, pc, st, &regs, format!("{what} is not allowed"))
                    .hint("only add or subtract a bounded number to a pointer, with 64-bit instructions"));
            }
        };
        match src {
            Src::Imm(_) => self.update(pc, st, dst, result),
            Src::Reg(_) => self.write(pc, st, dst, result),
        }
    }

    /// `p + s` or `p - s`, checking the rules of pointer arithmetic.
    #[allow(clippy::too_many_arguments)]
    fn ptr_arith(
        &self,
        pc: usize,
        st: &State,
        dst: Reg,
        p: Ptr,
        op: AluOp,
        s: &Scalar,
        src_reg: Option<Reg>,
    ) -> Result<Ptr, Report> {
        let both = [dst, src_reg.unwrap_or(dst)];
        let regs = if src_reg.is_some() { &both[..] } else { &both[..1] };
        if p.maybe_null {
            return Err(self
                .fail(
                    ErrorKind::PointerArithmetic,
                    pc,
                    st,
                    regs,
                    "arithmetic on a pointer that may be NULL".into(),
                )
                .hint("compare the pointer with 0 first, then do the arithmetic on the non-NULL path"));
        }
        if s.b.smin < -MAX_OFF || s.b.smax > MAX_OFF {
            return Err(self
                .fail(
                    ErrorKind::PointerArithmetic,
                    pc,
                    st,
                    regs,
                    format!("the number added to a pointer is not bounded (needs to be within ±{MAX_OFF})"),
                )
                .hint("check the number against the size of the memory before adding it to the pointer"));
        }
        let off = p.off.alu(Width::W64, op, s);
        if off.b.smin < -MAX_OFF || off.b.smax > MAX_OFF {
            return Err(self.fail(
                ErrorKind::PointerArithmetic,
                pc,
                st,
                regs,
                format!("the pointer's offset would leave ±{MAX_OFF}"),
            ));
        }
        Ok(Ptr { off, ..p })
    }

    /// The value of a 64-bit immediate load.
    fn imm64(&self, pc: usize, st: &State, imm: Imm64) -> Result<Value, Report> {
        let map = |n: u32| {
            self.profile.map(n).copied().ok_or_else(|| {
                self.fail(
                    ErrorKind::UnknownMap,
                    pc,
                    st,
                    &[],
                    format!("map {n} does not exist (the module has {} maps)", self.profile.maps.len()),
                )
            })
        };
        Ok(match imm {
            Imm64::Value(v) => Value::constant(v),
            Imm64::MapRef(n) | Imm64::MapByIdx(n) => {
                map(n)?;
                Value::MapRef(n)
            }
            Imm64::MapValue { map: n, offset } | Imm64::MapValueByIdx { map: n, offset } => {
                let m = map(n)?;
                if matches!(m.kind, MapKind::Hash | MapKind::PerCpuArray) || m.max_entries == 0 {
                    return Err(self.fail(
                        ErrorKind::UnknownMap,
                        pc,
                        st,
                        &[],
                        format!("map {n} has no fixed value to point to (only array maps and read-only data do)"),
                    )
                    .hint("reach a hash or per-CPU map's values with map_lookup"));
                }
                if offset >= m.value_size {
                    return Err(self.fail(
                        ErrorKind::OutOfBounds,
                        pc,
                        st,
                        &[],
                        format!("offset {offset} is past the end of map {n}'s value of {} bytes", m.value_size),
                    ));
                }
                Value::ptr(Region::MapValue { map: n }, offset as i64)
            }
            Imm64::VarAddr(_) | Imm64::CodeAddr(_) => {
                return Err(Report::new(ErrorKind::Unsupported, pc, "variable and code addresses are not supported"));
            }
        })
    }

    /// A conditional jump: follows each edge that can be taken, refined.
    #[allow(clippy::too_many_arguments)]
    fn jump(&mut self, pc: usize, st: &mut State, width: Width, cond: Cond, dst: Reg, src: Src, target: usize) -> Result<Flow, Report> {
        let d = self.read(pc, st, dst)?;
        let s = self.operand(pc, st, src)?;
        let next = pc + 1;
        let (taken, fall) = match (d, s) {
            (Value::Scalar(ds), Value::Scalar(ss)) => {
                let refined = |taken: bool| {
                    let (mut d2, mut s2) = (ds, ss);
                    Scalar::refine(&mut d2, &mut s2, width, cond, taken).then_some((d2, s2))
                };
                // The bounds a comparison with a constant gives each edge go
                // to every copy linked to the register (see `COPIES`).
                let apply = |st: &mut State, (d2, s2): (Scalar, Scalar)| {
                    if let Src::Reg(r) = src {
                        st.refine(r, s2, false);
                    }
                    st.refine(dst, d2, matches!(src, Src::Imm(_)));
                };
                // A walk back over this jump marks more than the number it
                // is walking for when it compares two registers or gives its
                // bounds to copies: their precision marks no longer stand
                // for the walk (see `Frame::precise`).
                let unsettled = match src {
                    Src::Reg(r) => (1 << dst.index()) | (1 << r.index()),
                    Src::Imm(_) => {
                        let linked = st.linked(st.cur().links[dst.index()]);
                        if linked.regs.count_ones() + linked.slots.count_ones() > 1 {
                            self.note = Some(Note::Linked(linked));
                        }
                        linked.regs
                    }
                };
                st.cur_mut().precise &= !unsettled;
                let (taken, fall) = (refined(true), refined(false));
                // An edge ruled out: the operands' values decided it.
                if taken.is_none() || fall.is_none() {
                    self.decide(dst);
                    if let Src::Reg(r) = src {
                        self.decide(r);
                    }
                }
                // Clone the state only when both edges are possible.
                return Ok(match (taken, fall) {
                    (Some(t), Some(f)) => {
                        let mut other = st.try_clone().ok_or_else(|| Report::out_of_memory(pc))?;
                        apply(&mut other, t);
                        apply(st, f);
                        Flow::Fork { next, other_pc: target, other }
                    }
                    (Some(t), None) => {
                        apply(st, t);
                        Flow::Next(target)
                    }
                    (None, Some(f)) => {
                        apply(st, f);
                        Flow::Next(next)
                    }
                    (None, None) => Flow::End,
                });
            }
            (Value::Ptr(p), Value::Scalar(z))
                if z.as_const() == Some(0) && width == Width::W64 && matches!(cond, Cond::Eq | Cond::Ne) =>
            {
                // A register compared with the pointer must be 0.
                if let Src::Reg(r) = src {
                    self.decide(r);
                }
                let copy = |is_null| resolve_null(st, p.id, is_null).ok_or_else(|| Report::out_of_memory(pc));
                let (null, nonnull) = if p.maybe_null {
                    (Some(copy(true)?), Some(copy(false)?))
                } else {
                    (None, Some(st.try_clone().ok_or_else(|| Report::out_of_memory(pc))?))
                };
                match cond {
                    Cond::Eq => (null, nonnull),
                    _ => (nonnull, null),
                }
            }
            _ => {
                let mut regs = alloc::vec![dst];
                if let Src::Reg(r) = src {
                    regs.push(r);
                }
                return Err(self
                    .fail(
                        ErrorKind::PointerLeak,
                        pc,
                        st,
                        &regs,
                        "comparing a pointer (other than with 0 for a null check) would expose its address".into(),
                    )
                    .hint("compare offsets or lengths held in scalars instead of pointers"));
            }
        };
        Ok(match (taken, fall) {
            (Some(t), Some(f)) => {
                *st = f;
                Flow::Fork { next, other_pc: target, other: t }
            }
            (Some(t), None) => {
                *st = t;
                Flow::Next(target)
            }
            (None, Some(f)) => {
                *st = f;
                Flow::Next(next)
            }
            (None, None) => Flow::End,
        })
    }
}

/// The state after a null check of the pointer with `id`: every copy
/// becomes the scalar 0 (`is_null`) or a pointer that is not NULL. `None`
/// when memory is short.
fn resolve_null(st: &State, id: u32, is_null: bool) -> Option<State> {
    let mut s = st.try_clone()?;
    s.for_each_value(|v| {
        if let Value::Ptr(p) = v
            && p.maybe_null
            && p.id == id
        {
            *v = if is_null { Value::constant(0) } else { Value::Ptr(Ptr { maybe_null: false, id: 0, ..*p }) };
        }
    });
    Some(s)
}

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+",
        AluOp::Sub => "-",
        AluOp::Mul => "*",
        AluOp::Div => "/",
        AluOp::SDiv => "s/",
        AluOp::Or => "|",
        AluOp::And => "&",
        AluOp::Lsh => "<<",
        AluOp::Rsh => ">>",
        AluOp::Mod => "%",
        AluOp::SMod => "s%",
        AluOp::Xor => "^",
        AluOp::Mov | AluOp::MovSx(_) => "=",
        AluOp::Arsh => "s>>",
    }
}
