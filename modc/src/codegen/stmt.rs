//! Statements: the function body, locals and their initialisation,
//! stores, branches, loops (each bounded) and returns; and the pre-pass
//! choosing which locals live in callee-saved registers.

use super::expr::{size_of, Addr, Opnd};
use super::func::{FnGen, GResult, Home};
use crate::tir::*;
use verifier::{AluOp, Cond, Insn, Reg, Src, Width};

/// Picks the locals kept in R6..R9 (R7..R9 in an entry point, where R6
/// holds the context): the scalar locals used most, a use inside a loop
/// counting eight times one outside. Returns the choice per local id
/// (hidden loop locals follow the declared ones) and the hidden count.
pub fn choose_registers(f: &TFn) -> (Vec<Option<Reg>>, usize) {
    let mut weights: Vec<u64> = vec![0; f.locals.len()];
    let mut hidden: Vec<u64> = Vec::new();
    fn w(depth: u32) -> u64 {
        8u64.saturating_pow(depth.min(6))
    }
    fn expr(e: &TExpr, d: u32, ws: &mut Vec<u64>) {
        let mut add = |id: usize| {
            if let Some(x) = ws.get_mut(id) {
                *x += w(d);
            }
        };
        match &e.kind {
            TExprKind::Local(id) => add(*id),
            TExprKind::Load(p) => place(p, d, ws),
            TExprKind::Neg(a) | TExprKind::Not(a) | TExprKind::Cast(a) => expr(a, d, ws),
            TExprKind::Binary(_, a, b) | TExprKind::Compare(_, _, a, b) | TExprKind::Logic(_, a, b) | TExprKind::MinMax(_, a, b) => {
                expr(a, d, ws);
                expr(b, d, ws);
            }
            TExprKind::Call(_, args) => args.iter().for_each(|a| expr(a, d, ws)),
            TExprKind::Helper(_, args) => {
                for a in args {
                    match a {
                        HArg::Scalar(e) | HArg::Len { value: e, .. } => expr(e, d, ws),
                        HArg::Ptr(Mem::Value(e)) => expr(e, d, ws),
                        HArg::Ptr(Mem::Place(p)) => place(p, d, ws),
                        _ => {}
                    }
                }
            }
            TExprKind::BytesEq { buf, len, .. } => {
                place(buf, d, ws);
                expr(len, d, ws);
            }
            TExprKind::Const(_) => {}
        }
    }
    fn place(p: &Place, d: u32, ws: &mut Vec<u64>) {
        if let Base::MapValue(id) | Base::Ctx(id) | Base::Stack(id) = p.base
            && let Some(x) = ws.get_mut(id)
        {
            *x += w(d);
        }
        p.indices.iter().for_each(|i| expr(&i.index, d, ws));
    }
    fn init(i: &Init, d: u32, ws: &mut Vec<u64>) {
        match i {
            Init::Scalar(e) => expr(e, d, ws),
            Init::Repeat(x, _) => init(x, d, ws),
            Init::List(xs) | Init::Struct(xs) => xs.iter().for_each(|x| init(x, d, ws)),
            Init::Copy(p) => place(p, d, ws),
            Init::Bytes(_) => {}
        }
    }
    fn stmts(ss: &[TStmt], d: u32, ws: &mut Vec<u64>, hidden: &mut Vec<u64>) {
        for s in ss {
            match &s.kind {
                TStmtKind::Let(id, i) => {
                    if let Some(x) = ws.get_mut(*id) {
                        *x += w(d);
                    }
                    init(i, d, ws);
                }
                TStmtKind::SetLocal(id, e) => {
                    if let Some(x) = ws.get_mut(*id) {
                        *x += w(d);
                    }
                    expr(e, d, ws);
                }
                TStmtKind::Store(p, i) => {
                    place(p, d, ws);
                    init(i, d, ws);
                }
                TStmtKind::Expr(e) => expr(e, d, ws),
                TStmtKind::If(c, a, b) => {
                    expr(c, d, ws);
                    stmts(a, d, ws, hidden);
                    stmts(b, d, ws, hidden);
                }
                TStmtKind::IfLet { local, key, then, els, .. } => {
                    if let Mem::Value(e) = key {
                        expr(e, d, ws);
                    }
                    if let Some(x) = ws.get_mut(*local) {
                        *x += w(d);
                    }
                    stmts(then, d, ws, hidden);
                    stmts(els, d, ws, hidden);
                }
                TStmtKind::For { var, start, end, body, .. } => {
                    // A hidden end value unless the end is a small constant
                    // (the same test as in `for_loop`).
                    if end.constant().and_then(|k| i32::try_from(k as i64).ok()).is_none() {
                        hidden.push(2 * w(d + 1));
                    }
                    expr(start, d, ws);
                    expr(end, d, ws);
                    if let Some(x) = ws.get_mut(*var) {
                        *x += 3 * w(d + 1);
                    }
                    stmts(body, d + 1, ws, hidden);
                }
                TStmtKind::While { cond, body, .. } => {
                    hidden.push(2 * w(d + 1));
                    expr(cond, d + 1, ws);
                    stmts(body, d + 1, ws, hidden);
                }
                TStmtKind::Return(Some(e)) => expr(e, d, ws),
                TStmtKind::Block(b) => stmts(b, d, ws, hidden),
                _ => {}
            }
        }
    }
    stmts(&f.body, 0, &mut weights, &mut hidden);
    let n = f.locals.len();
    let scalar = |id: usize| -> bool {
        if id >= n {
            return true;
        }
        match &f.locals[id].kind {
            LocalKind::Value(t) => t.is_scalar(),
            LocalKind::MapValue { .. } => true,
            LocalKind::Ctx(_) => false,
        }
    };
    let mut all: Vec<(u64, usize)> = weights.iter().copied().chain(hidden.iter().copied()).enumerate().map(|(i, w)| (w, i)).collect();
    all.retain(|&(w, i)| w > 0 && scalar(i));
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let pool: &[Reg] = if f.entry.is_some() { &[Reg::R7, Reg::R8, Reg::R9] } else { &[Reg::R6, Reg::R7, Reg::R8, Reg::R9] };
    let mut choice = vec![None; n + hidden.len()];
    // A register may be shared by locals whose lifetimes never overlap, but
    // lifetimes are not computed here: each chosen local gets its own.
    for (&(_, id), &r) in all.iter().zip(pool) {
        choice[id] = Some(r);
    }
    if let Some(ctx) = f.locals.iter().position(|l| matches!(l.kind, LocalKind::Ctx(_))) {
        choice[ctx] = Some(Reg::R6);
    }
    (choice, hidden.len())
}

impl<'a> FnGen<'a> {
    /// The prologue (parameters from R1..R5 to their homes), the body, and
    /// the final `exit` of a function that can fall off its end.
    pub fn body(&mut self) -> GResult<()> {
        let f = self.f;
        for (i, &id) in f.params.iter().enumerate() {
            let arg = Reg::new(i as u8 + 1).unwrap_or(Reg::R1);
            match &f.locals[id].kind {
                LocalKind::Ctx(_) => {
                    if let Some(h) = self.homes.get_mut(id) {
                        *h = Home::Reg(Reg::R6);
                    }
                    self.mov(Reg::R6, arg);
                }
                _ => {
                    self.place_local(id, 8, 8, true);
                    self.set_local(id, arg);
                }
            }
        }
        self.stmts(&f.body)?;
        if self.reachable {
            self.load_const(Reg::R0, 0);
            self.emit(Insn::Exit);
        }
        Ok(())
    }

    fn stmts(&mut self, ss: &[TStmt]) -> GResult<()> {
        let mark = self.frame;
        for s in ss {
            self.stmt(s)?;
        }
        self.frame = mark;
        Ok(())
    }

    fn stmt(&mut self, s: &TStmt) -> GResult<()> {
        self.cur = s.span;
        match &s.kind {
            TStmtKind::Let(id, init) => {
                let ty = match &self.f.locals[*id].kind {
                    LocalKind::Value(t) => t.clone(),
                    _ => Ty::Unit,
                };
                if ty.is_scalar() {
                    let Init::Scalar(e) = init else { return Ok(()) };
                    let o = self.eval(e)?;
                    self.place_local(*id, 8, 8, true);
                    self.assign_local(*id, o)?;
                } else {
                    let (size, align) = layout(&ty, &self.tir.structs);
                    let _ = align;
                    self.place_local(*id, size, 8, false);
                    let whole = Place { base: Base::Stack(*id), offset: 0, indices: vec![], ty: ty.clone() };
                    let mark = self.frame;
                    let dst = self.address(&whole, None)?;
                    // A whole local starts 8-byte aligned: fill it in wide stores.
                    self.init_aligned(dst, &ty, init, 8)?;
                    if dst.owned {
                        self.free_temp(dst.reg);
                    }
                    self.frame = mark;
                }
            }
            TStmtKind::SetLocal(id, e) => {
                let mark = self.frame;
                self.set_local_expr(*id, e)?;
                self.frame = mark;
            }
            TStmtKind::Store(p, init) => {
                let mark = self.frame;
                self.store_place(p, init)?;
                self.frame = mark;
            }
            TStmtKind::Expr(e) => {
                let mark = self.frame;
                let o = self.eval(e)?;
                self.free(o);
                self.frame = mark;
            }
            TStmtKind::If(c, then, els) => {
                let other = self.new_label();
                self.cond_jump(c, false, other)?;
                self.stmts(then)?;
                if els.is_empty() {
                    self.bind(other);
                } else {
                    let done = self.new_label();
                    self.jump(done);
                    self.bind(other);
                    self.stmts(els)?;
                    self.bind(done);
                }
            }
            TStmtKind::IfLet { local, map, key, then, els } => {
                let args = [HArg::MapRef(*map), HArg::Ptr(key.clone())];
                let r = self.call_helper(lkm::helpers::MAP_LOOKUP, &args)?;
                let other = self.new_label();
                self.jump_if(Cond::Eq, r, Src::Imm(0), other);
                self.place_local(*local, 8, 8, true);
                self.set_local(*local, r);
                self.free_temp(r);
                self.stmts(then)?;
                if els.is_empty() {
                    self.bind(other);
                } else {
                    let done = self.new_label();
                    self.jump(done);
                    self.bind(other);
                    self.stmts(els)?;
                    self.bind(done);
                }
            }
            TStmtKind::For { var, start, end, limit, body } => self.for_loop(*var, start, end, *limit, body, s)?,
            TStmtKind::While { cond, limit, body } => self.while_loop(cond, *limit, body, s)?,
            TStmtKind::Break => {
                if let Some(&(_, brk)) = self.loop_labels.last() {
                    self.jump(brk);
                }
            }
            TStmtKind::Continue => {
                if let Some(&(cont, _)) = self.loop_labels.last() {
                    self.jump(cont);
                }
            }
            TStmtKind::Return(v) => {
                match v {
                    Some(e) => {
                        let o = self.eval(e)?;
                        match o {
                            Opnd::Imm(k) => self.load_const(Reg::R0, k),
                            Opnd::Temp(r) | Opnd::Fixed(r) => self.mov(Reg::R0, r),
                        }
                        self.free(o);
                    }
                    None => self.load_const(Reg::R0, 0),
                }
                self.emit(Insn::Exit);
            }
            TStmtKind::Block(b) => self.stmts(b)?,
        }
        Ok(())
    }

    /// Gives a scalar local the value of an operand.
    fn assign_local(&mut self, id: LocalId, o: Opnd) -> GResult<()> {
        match (self.homes.get(id).copied().unwrap_or(Home::Unset), o) {
            (Home::Reg(r), Opnd::Imm(k)) => self.load_const(r, k),
            (Home::Stack(off), Opnd::Imm(k)) if i32::try_from(k as i64).is_ok() => {
                self.store(verifier::Size::DW, Reg::R10, off, Src::Imm(k as i64 as i32))
            }
            (_, o) => {
                let o = self.in_reg(o)?;
                if let Opnd::Temp(r) | Opnd::Fixed(r) = o {
                    self.set_local(id, r);
                }
                self.free(o);
            }
        }
        Ok(())
    }

    /// `x = e`, computing in x's own register when e starts from x itself.
    fn set_local_expr(&mut self, id: LocalId, e: &TExpr) -> GResult<()> {
        if let (Some(Home::Reg(r)), TExprKind::Binary(op, a, b)) = (self.homes.get(id).copied(), &e.kind) {
            let reads_self = |x: &TExpr| matches!(x.kind, TExprKind::Local(l) if l == id);
            if reads_self(a) && !mentions(b, id) {
                return self.binary_into(r, *op, e.ty.int(), b);
            }
        }
        let o = self.eval(e)?;
        self.assign_local(id, o)
    }

    /// Stores into a place; out of bounds, nothing is stored.
    fn store_place(&mut self, p: &Place, init: &Init) -> GResult<()> {
        if let (true, Init::Scalar(e)) = (p.ty.is_scalar(), init) {
            let o = self.eval(e)?;
            let o = match o {
                Opnd::Imm(k) if i32::try_from(k as i64).is_ok() => o,
                o => self.in_reg(o)?,
            };
            let oob = (!p.indices.is_empty()).then(|| self.new_label());
            let addr = self.address(p, oob)?;
            let src = self.src_of(o)?;
            self.store(size_of(p.ty.int().size()), addr.reg, addr.off, src);
            self.free(o);
            if addr.owned {
                self.free_temp(addr.reg);
            }
            if let Some(l) = oob {
                self.bind(l);
            }
            return Ok(());
        }
        let oob = (!p.indices.is_empty()).then(|| self.new_label());
        let addr = self.address(p, oob)?;
        let whole = p.indices.is_empty() && p.offset.is_multiple_of(8);
        let align = if whole { 8 } else { layout(&p.ty, &self.tir.structs).1 };
        self.init_aligned(addr, &p.ty, init, align)?;
        if addr.owned {
            self.free_temp(addr.reg);
        }
        if let Some(l) = oob {
            self.bind(l);
        }
        Ok(())
    }

    /// Writes an initialiser of type `ty` at `dst`.
    fn init_at(&mut self, dst: Addr, ty: &Ty, init: &Init) -> GResult<()> {
        let (_, align) = layout(ty, &self.tir.structs);
        self.init_aligned(dst, ty, init, align)
    }

    /// Like [`FnGen::init_at`], with `dst` known to be aligned to `align`.
    fn init_aligned(&mut self, dst: Addr, ty: &Ty, init: &Init, align: u32) -> GResult<()> {
        let (size, _) = layout(ty, &self.tir.structs);
        match init {
            Init::Bytes(bytes) => {
                let mut all = bytes.clone();
                all.resize(size as usize, 0);
                let t = self.alloc_temp()?;
                let mut done = 0usize;
                while done < all.len() {
                    let chunk = [8usize, 4, 2, 1].into_iter().find(|&c| c <= align.max(1) as usize && c <= all.len() - done).unwrap_or(1);
                    let mut word = [0u8; 8];
                    word[..chunk].copy_from_slice(&all[done..done + chunk]);
                    let v = u64::from_le_bytes(word);
                    let src = match i32::try_from(v as i64) {
                        Ok(i) => Src::Imm(i),
                        Err(_) if chunk < 8 && v <= i32::MAX as u64 => Src::Imm(v as i32),
                        Err(_) => {
                            self.load_const(t, v);
                            Src::Reg(t)
                        }
                    };
                    let d = self.off(dst.off, done as u32)?;
                    self.store(size_of(chunk as u32), dst.reg, d, src);
                    done += chunk;
                }
                self.free_temp(t);
            }
            Init::Scalar(e) => {
                let o = self.eval(e)?;
                let o = match o {
                    Opnd::Imm(k) if i32::try_from(k as i64).is_ok() => o,
                    o => self.in_reg(o)?,
                };
                let src = self.src_of(o)?;
                self.store(size_of(ty.int().size()), dst.reg, dst.off, src);
                self.free(o);
            }
            Init::Repeat(inner, n) => {
                let Ty::Array(elem, _) = ty else { return Ok(()) };
                let (esize, _) = layout(elem, &self.tir.structs);
                // A constant element of one repeated byte fills in wide stores.
                let byte = match &**inner {
                    Init::Scalar(e) => e.constant().and_then(|v| {
                        let bytes = v.to_le_bytes();
                        let b = bytes[0];
                        bytes[..esize as usize].iter().all(|&x| x == b).then_some(b)
                    }),
                    _ => None,
                };
                match byte {
                    Some(b) => self.fill(dst, size, align.max(layout(ty, &self.tir.structs).1), b)?,
                    None => {
                        for k in 0..*n {
                            let at = Addr { off: self.off(dst.off, k * esize)?, ..dst };
                            self.init_at(at, elem, inner)?;
                        }
                    }
                }
            }
            Init::List(items) => {
                let Ty::Array(elem, _) = ty else { return Ok(()) };
                let (esize, _) = layout(elem, &self.tir.structs);
                for (k, item) in items.iter().enumerate() {
                    let at = Addr { off: self.off(dst.off, k as u32 * esize)?, ..dst };
                    self.init_at(at, elem, item)?;
                }
            }
            Init::Struct(fields) => {
                let Ty::Struct(si) = ty else { return Ok(()) };
                let def = self.tir.structs[*si].clone();
                if def.padded {
                    self.fill(dst, size, align, 0)?;
                }
                for ((_, fty, off), item) in def.fields.iter().zip(fields) {
                    let at = Addr { off: self.off(dst.off, *off)?, ..dst };
                    self.init_at(at, fty, item)?;
                }
            }
            Init::Copy(src) => {
                let oob = (!src.indices.is_empty()).then(|| self.new_label());
                let from = self.address(src, oob)?;
                self.copy_bytes(from, dst, size, align)?;
                if from.owned {
                    self.free_temp(from.reg);
                }
                if let Some(l) = oob {
                    let done = self.new_label();
                    self.jump(done);
                    self.bind(l);
                    self.fill(dst, size, align, 0)?;
                    self.bind(done);
                }
            }
        }
        Ok(())
    }

    fn for_loop(&mut self, var: LocalId, start: &TExpr, end: &TExpr, limit: u64, body: &[TStmt], s: &TStmt) -> GResult<()> {
        let it = end.ty.int();
        let signed = it.signed();
        let first = self.insns.len();
        let o = self.eval(start)?;
        self.place_local(var, 8, 8, true);
        self.assign_local(var, o)?;
        // The end is evaluated once, clamped to the bound the checker proved.
        let end_imm = end.constant().and_then(|k| i32::try_from(k as i64).ok());
        let end_local = match end_imm {
            Some(_) => None,
            None => {
                let (hid, _) = self.hidden_local();
                let r = self.eval_temp(end)?;
                if end.constant().is_none() {
                    let ok = self.new_label();
                    let c = if signed { Cond::SLe } else { Cond::Le };
                    if let Ok(lim) = i32::try_from(limit) {
                        self.jump_if(c, r, Src::Imm(lim), ok);
                        self.load_const(r, limit);
                        self.bind(ok);
                    }
                }
                self.set_local(hid, r);
                self.free_temp(r);
                Some(hid)
            }
        };
        let top = self.new_label();
        let cont = self.new_label();
        let brk = self.new_label();
        self.bind(top);
        self.cur = s.span;
        let (vr, vtemp) = self.local_reg(var)?;
        let (src, etemp) = match (end_imm, end_local) {
            (Some(k), _) => (Src::Imm(k), None),
            (None, Some(hid)) => {
                let (r, t) = self.local_reg(hid)?;
                (Src::Reg(r), t.then_some(r))
            }
            (None, None) => (Src::Imm(0), None),
        };
        self.jump_if(if signed { Cond::SGe } else { Cond::Ge }, vr, src, brk);
        if vtemp {
            self.free_temp(vr);
        }
        if let Some(r) = etemp {
            self.free_temp(r);
        }
        self.loop_labels.push((cont, brk));
        self.stmts(body)?;
        self.loop_labels.pop();
        self.bind(cont);
        self.cur = s.span;
        let (vr, vtemp) = self.local_reg(var)?;
        self.alu(Width::W64, AluOp::Add, vr, Src::Imm(1));
        if vtemp {
            self.set_local(var, vr);
            self.free_temp(vr);
        }
        self.jump(top);
        self.bind(brk);
        self.loops.push((first, self.insns.len(), s.span));
        Ok(())
    }

    fn while_loop(&mut self, cond: &TExpr, limit: u64, body: &[TStmt], s: &TStmt) -> GResult<()> {
        let first = self.insns.len();
        let (counter, _) = self.hidden_local();
        self.assign_local(counter, Opnd::Imm(0))?;
        let top = self.new_label();
        let brk = self.new_label();
        self.bind(top);
        self.cur = s.span;
        let (cr, ctemp) = self.local_reg(counter)?;
        self.jump_if(Cond::Ge, cr, Src::Imm(limit as i32), brk);
        self.alu(Width::W64, AluOp::Add, cr, Src::Imm(1));
        if ctemp {
            self.set_local(counter, cr);
            self.free_temp(cr);
        }
        self.cond_jump(cond, false, brk)?;
        self.loop_labels.push((top, brk));
        self.stmts(body)?;
        self.loop_labels.pop();
        self.jump(top);
        self.bind(brk);
        self.loops.push((first, self.insns.len(), s.span));
        Ok(())
    }
}

/// Whether an expression reads local `id`.
fn mentions(e: &TExpr, id: LocalId) -> bool {
    match &e.kind {
        TExprKind::Local(l) => *l == id,
        TExprKind::Const(_) => false,
        TExprKind::Neg(a) | TExprKind::Not(a) | TExprKind::Cast(a) => mentions(a, id),
        TExprKind::Binary(_, a, b) | TExprKind::Compare(_, _, a, b) | TExprKind::Logic(_, a, b) | TExprKind::MinMax(_, a, b) => {
            mentions(a, id) || mentions(b, id)
        }
        // Anything else may read it through a call or a place: be safe.
        _ => true,
    }
}
