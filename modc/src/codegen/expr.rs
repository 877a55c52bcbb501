//! Expressions: values into registers, conditions into jumps, places into
//! addresses with their bounds checks, and calls with their arguments.

use super::func::{FnGen, GResult, Home, Label};
use crate::ast::BinOp;
use crate::tir::*;
use verifier::{AluOp, Cond, Imm64, Insn, Reg, Size, Src, Width};

/// A value's location after evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opnd {
    /// A temporary the caller owns (and must free).
    Temp(Reg),
    /// A register the value merely lives in (a local's): read only.
    Fixed(Reg),
    Imm(u64),
}

/// An address: register plus constant offset; `owned` if the register is a temporary.
#[derive(Clone, Copy, Debug)]
pub struct Addr {
    pub reg: Reg,
    pub off: i16,
    pub owned: bool,
}

pub fn size_of(bytes: u32) -> Size {
    match bytes {
        1 => Size::B,
        2 => Size::H,
        4 => Size::W,
        _ => Size::DW,
    }
}

fn cond_of(op: BinOp, signed: bool) -> Cond {
    match (op, signed) {
        (BinOp::Eq, _) => Cond::Eq,
        (BinOp::Ne, _) => Cond::Ne,
        (BinOp::Lt, false) => Cond::Lt,
        (BinOp::Lt, true) => Cond::SLt,
        (BinOp::Le, false) => Cond::Le,
        (BinOp::Le, true) => Cond::SLe,
        (BinOp::Gt, false) => Cond::Gt,
        (BinOp::Gt, true) => Cond::SGt,
        (BinOp::Ge, false) => Cond::Ge,
        _ => Cond::SGe,
    }
}

fn negate(op: BinOp) -> BinOp {
    match op {
        BinOp::Eq => BinOp::Ne,
        BinOp::Ne => BinOp::Eq,
        BinOp::Lt => BinOp::Ge,
        BinOp::Le => BinOp::Gt,
        BinOp::Gt => BinOp::Le,
        _ => BinOp::Lt,
    }
}

fn swap(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        o => o,
    }
}

impl<'a> FnGen<'a> {
    pub fn free(&mut self, o: Opnd) {
        if let Opnd::Temp(r) = o {
            self.free_temp(r);
        }
    }

    /// The operand as a second ALU/jump operand.
    pub fn src_of(&mut self, o: Opnd) -> GResult<Src> {
        Ok(match o {
            Opnd::Temp(r) | Opnd::Fixed(r) => Src::Reg(r),
            Opnd::Imm(v) => match i32::try_from(v as i64) {
                Ok(i) => Src::Imm(i),
                Err(_) => {
                    let t = self.alloc_temp()?;
                    self.load_const(t, v);
                    Src::Reg(t)
                }
            },
        })
    }

    fn free_src(&mut self, s: Src, o: Opnd) {
        if let (Src::Reg(r), Opnd::Imm(_)) = (s, o) {
            self.free_temp(r);
        }
        self.free(o);
    }

    /// The value in a temporary the caller owns.
    pub fn in_temp(&mut self, o: Opnd, prefer: Option<Reg>) -> GResult<Reg> {
        Ok(match o {
            Opnd::Temp(r) => r,
            Opnd::Fixed(r) => {
                let t = self.alloc_temp_prefer(prefer)?;
                self.mov(t, r);
                t
            }
            Opnd::Imm(v) => {
                let t = self.alloc_temp_prefer(prefer)?;
                self.load_const(t, v);
                t
            }
        })
    }

    /// The value in some register (its own or a temporary).
    pub fn in_reg(&mut self, o: Opnd) -> GResult<Opnd> {
        Ok(match o {
            Opnd::Imm(v) => {
                let t = self.alloc_temp()?;
                self.load_const(t, v);
                Opnd::Temp(t)
            }
            o => o,
        })
    }

    pub fn eval_temp(&mut self, e: &TExpr) -> GResult<Reg> {
        let o = self.eval(e)?;
        self.in_temp(o, None)
    }

    /// Brings a register holding a value of type `it` to canonical form.
    pub fn normalize(&mut self, r: Reg, it: IntTy) {
        match it {
            IntTy::U8 => self.alu(Width::W64, AluOp::And, r, Src::Imm(0xff)),
            IntTy::U16 => self.alu(Width::W64, AluOp::And, r, Src::Imm(0xffff)),
            IntTy::U32 => self.alu(Width::W32, AluOp::Mov, r, Src::Reg(r)),
            IntTy::I32 => {
                self.alu(Width::W64, AluOp::Lsh, r, Src::Imm(32));
                self.alu(Width::W64, AluOp::Arsh, r, Src::Imm(32));
            }
            IntTy::U64 | IntTy::I64 => {}
        }
    }

    /// Evaluates a scalar expression.
    pub fn eval(&mut self, e: &TExpr) -> GResult<Opnd> {
        match &e.kind {
            TExprKind::Const(v) => Ok(Opnd::Imm(*v)),
            TExprKind::Local(id) => match self.homes.get(*id).copied().unwrap_or(Home::Unset) {
                Home::Reg(r) => Ok(Opnd::Fixed(r)),
                _ => Ok(Opnd::Temp(self.local_reg(*id)?.0)),
            },
            TExprKind::Load(p) => {
                let t = self.load_place(p)?;
                Ok(Opnd::Temp(t))
            }
            TExprKind::Neg(inner) => {
                let it = e.ty.int();
                let r = self.eval_temp(inner)?;
                self.emit(Insn::Neg { width: Width::W64, dst: r });
                self.normalize(r, it);
                Ok(Opnd::Temp(r))
            }
            TExprKind::Not(inner) => {
                let r = self.eval_temp(inner)?;
                if e.ty == Ty::Bool {
                    self.alu(Width::W64, AluOp::Xor, r, Src::Imm(1));
                } else {
                    self.alu(Width::W64, AluOp::Xor, r, Src::Imm(-1));
                    self.normalize(r, e.ty.int());
                }
                Ok(Opnd::Temp(r))
            }
            TExprKind::Binary(op, a, b) => {
                let r = self.eval_temp(a)?;
                self.binary_into(r, *op, e.ty.int(), b)?;
                Ok(Opnd::Temp(r))
            }
            TExprKind::Cast(inner) => {
                let from = inner.ty.int();
                let to = e.ty.int();
                let o = self.eval(inner)?;
                let needs = match (from.size() > to.size(), from.signed(), to.signed()) {
                    (true, _, _) => true,
                    // Same or wider: sign- or zero-extension is already in the
                    // canonical form, except i32 -> u32 and i64/u64 <-> 32-bit.
                    (false, true, false) => to.size() < 8,
                    (false, false, true) => from.size() == to.size() && to.size() == 4,
                    _ => false,
                };
                if !needs {
                    return Ok(o);
                }
                let r = self.in_temp(o, None)?;
                self.normalize(r, to);
                Ok(Opnd::Temp(r))
            }
            TExprKind::Compare(..) | TExprKind::Logic(..) | TExprKind::BytesEq { .. } => {
                let f = self.new_label();
                let done = self.new_label();
                self.cond_jump(e, false, f)?;
                let t = self.alloc_temp()?;
                self.load_const(t, 1);
                self.jump(done);
                self.bind(f);
                self.load_const(t, 0);
                self.bind(done);
                Ok(Opnd::Temp(t))
            }
            TExprKind::MinMax(op, a, b) => {
                let it = e.ty.int();
                let r = self.eval_temp(a)?;
                let ob = self.eval(b)?;
                let ob = self.in_reg(ob)?;
                let keep = self.new_label();
                // min: keep a when a <= b; max: keep a when a >= b.
                let keep_op = if *op == BinOp::Lt { BinOp::Le } else { BinOp::Ge };
                let (Opnd::Temp(rb) | Opnd::Fixed(rb)) = ob else { return Ok(Opnd::Temp(r)) };
                self.jump_if(cond_of(keep_op, it.signed()), r, Src::Reg(rb), keep);
                self.mov(r, rb);
                self.bind(keep);
                self.free(ob);
                Ok(Opnd::Temp(r))
            }
            TExprKind::Call(f, args) => {
                let r = self.call_fn(*f, args)?;
                Ok(Opnd::Temp(r))
            }
            TExprKind::Helper(id, args) => {
                let r = self.call_helper(*id, args)?;
                Ok(Opnd::Temp(r))
            }
        }
    }

    /// `r = r OP b` for values of type `it`, then normalised.
    pub fn binary_into(&mut self, r: Reg, op: BinOp, it: IntTy, b: &TExpr) -> GResult<()> {
        let ob = self.eval(b)?;
        let src = self.src_of(ob)?;
        let signed = it.signed();
        let alu = match op {
            BinOp::Add => AluOp::Add,
            BinOp::Sub => AluOp::Sub,
            BinOp::Mul => AluOp::Mul,
            BinOp::Div if signed => AluOp::SDiv,
            BinOp::Div => AluOp::Div,
            BinOp::Rem if signed => AluOp::SMod,
            BinOp::Rem => AluOp::Mod,
            BinOp::And => AluOp::And,
            BinOp::Or => AluOp::Or,
            BinOp::Xor => AluOp::Xor,
            BinOp::Shl => AluOp::Lsh,
            BinOp::Shr if signed => AluOp::Arsh,
            _ => AluOp::Rsh,
        };
        // 32-bit types compute with 32-bit instructions (which zero-extend).
        let width = if it.size() == 4 { Width::W32 } else { Width::W64 };
        self.alu(width, alu, r, src);
        self.free_src(src, ob);
        let needs = match it {
            IntTy::U8 | IntTy::U16 => matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Shl),
            IntTy::I32 => true,
            _ => false,
        };
        if needs {
            self.normalize(r, it);
        }
        Ok(())
    }

    /// Jumps to `l` when the boolean `e` equals `when`.
    pub fn cond_jump(&mut self, e: &TExpr, when: bool, l: Label) -> GResult<()> {
        match &e.kind {
            TExprKind::Const(v) => {
                if (*v != 0) == when {
                    self.jump(l);
                }
                Ok(())
            }
            TExprKind::Not(inner) if e.ty == Ty::Bool => self.cond_jump(inner, !when, l),
            TExprKind::Logic(op, a, b) => {
                // `a && b` is false when either is; `a || b` is true when either is.
                let short = (*op == BinOp::LogAnd) != when;
                if short {
                    self.cond_jump(a, when, l)?;
                    self.cond_jump(b, when, l)
                } else {
                    let skip = self.new_label();
                    self.cond_jump(a, !when, skip)?;
                    self.cond_jump(b, when, l)?;
                    self.bind(skip);
                    Ok(())
                }
            }
            TExprKind::Compare(op, it, a, b) => {
                let (mut op, mut a, mut b) = (*op, a, b);
                if a.constant().is_some() && b.constant().is_none() {
                    std::mem::swap(&mut a, &mut b);
                    op = swap(op);
                }
                if !when {
                    op = negate(op);
                }
                let oa = self.eval(a)?;
                let oa = self.in_reg(oa)?;
                let ob = self.eval(b)?;
                let src = self.src_of(ob)?;
                let (Opnd::Temp(ra) | Opnd::Fixed(ra)) = oa else { return Ok(()) };
                self.jump_if(cond_of(op, it.signed()), ra, src, l);
                self.free_src(src, ob);
                self.free(oa);
                Ok(())
            }
            TExprKind::BytesEq { buf, len, lit, prefix } => self.bytes_eq(buf, len, lit, *prefix, when, l),
            _ => {
                let o = self.eval(e)?;
                let o = self.in_reg(o)?;
                let (Opnd::Temp(r) | Opnd::Fixed(r)) = o else { return Ok(()) };
                self.jump_if(if when { Cond::Ne } else { Cond::Eq }, r, Src::Imm(0), l);
                self.free(o);
                Ok(())
            }
        }
    }

    fn bytes_eq(&mut self, buf: &Place, len: &TExpr, lit: &[u8], prefix: bool, when: bool, l: Label) -> GResult<()> {
        let (size, _) = layout(&buf.ty, &self.tir.structs);
        let fail = self.new_label();
        let (false_target, true_target) = if when { (fail, l) } else { (l, fail) };
        if lit.len() as u32 > size {
            self.jump(false_target);
            self.bind(fail);
            return Ok(());
        }
        let o = self.eval(len)?;
        let o = self.in_reg(o)?;
        let (Opnd::Temp(rl) | Opnd::Fixed(rl)) = o else { return Ok(()) };
        let cond = if prefix { Cond::Lt } else { Cond::Ne };
        self.jump_if(cond, rl, Src::Imm(lit.len() as i32), false_target);
        self.free(o);
        let addr = self.address(buf, None)?;
        let t = self.alloc_temp()?;
        for (k, &byte) in lit.iter().enumerate() {
            let o = self.off(addr.off, k as u32)?;
            self.load(Size::B, t, addr.reg, o);
            self.jump_if(Cond::Ne, t, Src::Imm(byte as i32), false_target);
        }
        self.free_temp(t);
        if addr.owned {
            self.free_temp(addr.reg);
        }
        self.jump(true_target);
        self.bind(fail);
        Ok(())
    }

    // ----- places -----

    /// The register holding a base pointer (ctx or map value), loaded if spilled.
    fn base_reg(&mut self, id: LocalId) -> GResult<(Reg, bool)> {
        self.local_reg(id)
    }

    /// Computes the address of a place. With variable indices, each is
    /// checked against its count first, jumping to `oob` when out of bounds.
    pub fn address(&mut self, p: &Place, oob: Option<Label>) -> GResult<Addr> {
        let (base, mut owned, mut off) = match p.base {
            Base::Stack(id) => match self.homes.get(id).copied().unwrap_or(Home::Unset) {
                Home::Stack(o) => (Reg::R10, false, o as i64 + p.offset as i64),
                _ => (Reg::R10, false, p.offset as i64),
            },
            Base::Ctx(id) | Base::MapValue(id) => {
                let (r, owned) = self.base_reg(id)?;
                (r, owned, p.offset as i64)
            }
            Base::Rodata => {
                let r = self.alloc_temp()?;
                let map = self.rodata_map;
                self.emit(Insn::LoadImm64 { dst: r, imm: Imm64::MapValue { map, offset: 0 } });
                (r, true, p.offset as i64)
            }
        };
        let mut reg = base;
        // The byte offset of the indexed element, summed index by index
        // (each checked, then scaled) so that one register holds it.
        let mut sum: Option<Reg> = None;
        for ix in &p.indices {
            let r = self.eval_temp(&ix.index)?;
            if let Some(l) = oob {
                self.jump_if(Cond::Ge, r, Src::Imm(ix.count as i32), l);
            }
            if ix.stride.is_power_of_two() {
                if ix.stride > 1 {
                    self.alu(Width::W64, AluOp::Lsh, r, Src::Imm(ix.stride.trailing_zeros() as i32));
                }
            } else {
                self.alu(Width::W64, AluOp::Mul, r, Src::Imm(ix.stride as i32));
            }
            match sum {
                Some(s) => {
                    self.alu(Width::W64, AluOp::Add, s, Src::Reg(r));
                    self.free_temp(r);
                }
                None => sum = Some(r),
            }
        }
        if let Some(s) = sum {
            let t = if owned { reg } else { self.alloc_temp()? };
            self.mov(t, reg);
            if off != 0 {
                self.alu(Width::W64, AluOp::Add, t, Src::Imm(off as i32));
                off = 0;
            }
            self.alu(Width::W64, AluOp::Add, t, Src::Reg(s));
            self.free_temp(s);
            reg = t;
            owned = true;
        }
        if i16::try_from(off).is_err() {
            let t = if owned { reg } else { self.alloc_temp()? };
            self.mov(t, reg);
            self.alu(Width::W64, AluOp::Add, t, Src::Imm(off as i32));
            reg = t;
            owned = true;
            off = 0;
        }
        Ok(Addr { reg, off: off as i16, owned })
    }

    /// Loads a scalar place into a new temporary; out of bounds gives 0.
    /// The result is zeroed first and the load skipped when out of bounds,
    /// so that the two paths meet at a single point.
    pub fn load_place(&mut self, p: &Place) -> GResult<Reg> {
        let it = p.ty.int();
        if p.indices.is_empty() {
            let addr = self.address(p, None)?;
            let dst = if addr.owned { addr.reg } else { self.alloc_temp()? };
            self.load(size_of(it.size()), dst, addr.reg, addr.off);
            if it.signed() && it.size() < 8 {
                self.normalize(dst, it);
            }
            return Ok(dst);
        }
        let dst = self.alloc_temp()?;
        self.load_const(dst, 0);
        let skip = self.new_label();
        let addr = self.address(p, Some(skip))?;
        self.load(size_of(it.size()), dst, addr.reg, addr.off);
        if addr.owned {
            self.free_temp(addr.reg);
        }
        self.bind(skip);
        if it.signed() && it.size() < 8 {
            self.normalize(dst, it);
        }
        Ok(dst)
    }

    // ----- calls -----

    fn call_fn(&mut self, f: usize, args: &[TExpr]) -> GResult<Reg> {
        let saved = self.save_live();
        let mut regs = Vec::new();
        for (i, a) in args.iter().enumerate() {
            self.hint = Reg::new(i as u8 + 1);
            let o = self.eval(a)?;
            self.hint = None;
            let r = match o {
                Opnd::Fixed(r) => r,
                o => self.in_temp(o, Reg::new(i as u8 + 1))?,
            };
            regs.push(r);
        }
        let temps: Vec<Reg> = regs.iter().copied().filter(|r| self.is_temp(*r)).collect();
        self.parallel_move(&regs);
        self.call_local(f);
        self.finish_call(&temps, &saved)
    }

    /// Calls a helper: arguments into R1..R5, lengths checked (a length out
    /// of range skips the call and gives -EINVAL), live values saved.
    pub fn call_helper(&mut self, id: u32, args: &[HArg]) -> GResult<Reg> {
        enum Prep {
            R(Reg),
            MapRef(u32),
            Rodata(u32),
            /// r10 + offset.
            Frame(i16),
            /// register + offset (the register is moved first).
            Offset(Reg, i16),
        }
        let map_helper = matches!(id, lkm::helpers::MAP_LOOKUP | lkm::helpers::MAP_UPDATE | lkm::helpers::MAP_DELETE);
        let saved = self.save_live();
        let mut preps = Vec::new();
        let mut checks = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let prefer = Reg::new(i as u8 + 1);
            let prep = match a {
                HArg::Scalar(e) => {
                    self.hint = prefer;
                    let o = self.eval(e)?;
                    self.hint = None;
                    match o {
                        Opnd::Fixed(r) => Prep::R(r),
                        o => Prep::R(self.in_temp(o, prefer)?),
                    }
                }
                HArg::MapRef(m) => Prep::MapRef(*m as u32),
                HArg::Ptr(Mem::Rodata { offset }) => Prep::Rodata(*offset),
                HArg::Ptr(Mem::Value(e)) => {
                    let o = self.eval(e)?;
                    let size = e.ty.int().size();
                    let slot = self.alloc_stack(size, size);
                    let src = match o {
                        Opnd::Imm(v) if i32::try_from(v as i64).is_ok() || size < 8 => Src::Imm(v as i64 as i32),
                        o => {
                            let o = self.in_reg(o)?;
                            let (Opnd::Temp(r) | Opnd::Fixed(r)) = o else { return Ok(Reg::R0) };
                            Src::Reg(r)
                        }
                    };
                    self.store(size_of(size), Reg::R10, slot, src);
                    if let Src::Reg(r) = src {
                        self.free_temp(r);
                    }
                    Prep::Frame(slot)
                }
                HArg::Ptr(Mem::Place(p)) => {
                    let on_stack = match p.base {
                        Base::Stack(id) => matches!(self.homes.get(id), Some(Home::Stack(_))),
                        _ => false,
                    };
                    if map_helper && !on_stack {
                        // Keys and values are copied to the stack first.
                        let (size, align) = layout(&p.ty, &self.tir.structs);
                        let slot = self.alloc_stack(size, align);
                        self.copy_to_frame(p, slot)?;
                        Prep::Frame(slot)
                    } else {
                        let addr = self.address(p, None)?;
                        if addr.reg == Reg::R10 {
                            Prep::Frame(addr.off)
                        } else {
                            Prep::Offset(addr.reg, addr.off)
                        }
                    }
                }
                HArg::Len { value, min, max } => {
                    let r = self.eval_temp(value)?;
                    checks.push((r, *min, *max));
                    Prep::R(r)
                }
            };
            preps.push(prep);
        }
        let regs_in: Vec<Reg> = preps
            .iter()
            .filter_map(|p| match p {
                Prep::R(r) | Prep::Offset(r, _) => Some(*r),
                _ => None,
            })
            .filter(|r| self.is_temp(*r))
            .collect();
        let fail = self.new_label();
        let has_checks = !checks.is_empty();
        for &(r, min, max) in &checks {
            self.jump_if(Cond::Gt, r, Src::Imm(max as i32), fail);
            if min > 0 {
                self.jump_if(Cond::Lt, r, Src::Imm(min as i32), fail);
            }
        }
        // Register sources first (in parallel), then the rest.
        let moves: Vec<Reg> = preps
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Prep::R(r) | Prep::Offset(r, _) => *r,
                _ => Reg::new(i as u8 + 1).unwrap_or(Reg::R1),
            })
            .collect();
        self.parallel_move(&moves);
        let rodata = self.rodata_map;
        for (i, p) in preps.iter().enumerate() {
            let dst = Reg::new(i as u8 + 1).unwrap_or(Reg::R1);
            match *p {
                Prep::R(_) => {}
                Prep::Offset(_, off) => {
                    if off != 0 {
                        self.alu(Width::W64, AluOp::Add, dst, Src::Imm(off as i32));
                    }
                }
                Prep::MapRef(m) => self.emit(Insn::LoadImm64 { dst, imm: Imm64::MapRef(m) }),
                Prep::Rodata(off) => self.emit(Insn::LoadImm64 { dst, imm: Imm64::MapValue { map: rodata, offset: off } }),
                Prep::Frame(off) => {
                    self.mov(dst, Reg::R10);
                    self.alu(Width::W64, AluOp::Add, dst, Src::Imm(off as i32));
                }
            }
        }
        self.emit(Insn::Call { helper: id });
        if has_checks {
            let done = self.new_label();
            self.jump(done);
            self.bind(fail);
            self.load_const(Reg::R0, (-22i64) as u64);
            self.bind(done);
        }
        self.finish_call(&regs_in, &saved)
    }

    /// Copies a place's bytes into the frame at `slot` (bounds-checked
    /// places copy zeros when out of bounds).
    pub fn copy_to_frame(&mut self, p: &Place, slot: i16) -> GResult<()> {
        let (size, align) = layout(&p.ty, &self.tir.structs);
        let oob = (!p.indices.is_empty()).then(|| self.new_label());
        let src = self.address(p, oob)?;
        let dst = super::expr::Addr { reg: Reg::R10, off: slot, owned: false };
        self.copy_bytes(src, dst, size, align)?;
        if src.owned {
            self.free_temp(src.reg);
        }
        if let Some(oob) = oob {
            let done = self.new_label();
            self.jump(done);
            self.bind(oob);
            self.fill(dst, size, align, 0)?;
            self.bind(done);
        }
        Ok(())
    }

    /// Copies `size` bytes in chunks no larger than `align`.
    pub fn copy_bytes(&mut self, src: Addr, dst: Addr, size: u32, align: u32) -> GResult<()> {
        let t = self.alloc_temp()?;
        let mut done = 0u32;
        while done < size {
            let chunk = [8u32, 4, 2, 1].into_iter().find(|&c| c <= align.max(1) && c <= size - done).unwrap_or(1);
            let s = size_of(chunk);
            let (so, d) = (self.off(src.off, done)?, self.off(dst.off, done)?);
            self.load(s, t, src.reg, so);
            self.store(s, dst.reg, d, Src::Reg(t));
            done += chunk;
        }
        self.free_temp(t);
        Ok(())
    }

    /// Fills `size` bytes with the byte pattern of `v` repeated (v is a
    /// byte value; 0 zeroes).
    pub fn fill(&mut self, dst: Addr, size: u32, align: u32, byte: u8) -> GResult<()> {
        let mut done = 0u32;
        let pattern = u64::from_ne_bytes([byte; 8]);
        let mut big: Option<Reg> = None;
        while done < size {
            let chunk = [8u32, 4, 2, 1].into_iter().find(|&c| c <= align.max(1) && c <= size - done).unwrap_or(1);
            let value = if chunk == 8 { pattern } else { pattern & ((1u64 << (chunk * 8)) - 1) };
            let src = match i32::try_from(value as i64) {
                Ok(i) if chunk < 8 || (i as i64 as u64) == value => Src::Imm(i),
                _ => {
                    let r = match big {
                        Some(r) => r,
                        None => {
                            let r = self.alloc_temp()?;
                            self.load_const(r, pattern);
                            big = Some(r);
                            r
                        }
                    };
                    Src::Reg(r)
                }
            };
            let d = self.off(dst.off, done)?;
            self.store(size_of(chunk), dst.reg, d, src);
            done += chunk;
        }
        if let Some(r) = big {
            self.free_temp(r);
        }
        Ok(())
    }
}
