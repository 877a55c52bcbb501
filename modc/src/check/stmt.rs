//! Checking function bodies: statements, local variables and places.

use std::collections::{HashMap, HashSet};

use super::Checker;
use crate::ast::{self, Expr, ExprKind, Stmt};
use crate::diag::{Diag, Span};
use crate::tir::*;
use lkm::ctx::{CtxKind, SpecKind};

/// The locals and scopes of the function being checked.
pub struct FnScope {
    pub locals: Vec<Local>,
    pub(super) mutable: Vec<bool>,
    scopes: Vec<HashMap<String, LocalId>>,
    pub ret: Ty,
    loops: u32,
    /// Upper bounds of immutable integer locals, known from their initialiser.
    bounds: HashMap<LocalId, u64>,
    /// The function's index, for the call graph (None at module level).
    pub current: Option<usize>,
    /// Names of locals whose declaration had an error (their uses report nothing more).
    pub failed: HashSet<String>,
}

impl FnScope {
    pub fn module_level() -> FnScope {
        FnScope { locals: Vec::new(), mutable: Vec::new(), scopes: vec![HashMap::new()], ret: Ty::Unit, loops: 0, bounds: HashMap::new(), current: None, failed: HashSet::new() }
    }

    pub fn lookup(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn declare(&mut self, name: &str, kind: LocalKind, mutable: bool, span: Span) -> LocalId {
        let id = self.locals.len();
        self.locals.push(Local { name: name.to_string(), kind, span });
        self.mutable.push(mutable);
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), id);
        }
        id
    }
}

impl Checker {
    /// Whether `name` is a local or a constant whose definition already had
    /// an error: its uses are not reported again.
    pub(super) fn already_reported(&self, scope: &FnScope, name: &str) -> bool {
        scope.failed.contains(name) || self.failed_consts.contains(name)
    }
}

/// A place expression resolved: a scalar local or memory.
pub enum Lv {
    Local(LocalId),
    Mem(Place),
}

impl Checker {
    pub(super) fn function(&mut self, index: usize, f: &ast::FnItem) -> Option<TFn> {
        let sig = self.sigs.get(index)?.clone();
        let mut scope = FnScope { ret: sig.ret.clone(), current: Some(index), ..FnScope::module_level() };
        let mut params = Vec::new();
        for ((p, _), ty) in f.params.iter().zip(&sig.params) {
            let kind = match (sig.entry, ty) {
                (Some(ctx), Ty::Unit) => LocalKind::Ctx(ctx),
                _ => LocalKind::Value(ty.clone()),
            };
            params.push(scope.declare(&p.name, kind, false, p.span));
        }
        let body = self.block(&mut scope, &f.body);
        if sig.ret != Ty::Unit && !returns(&f.body.stmts) && !self.syntax_errors {
            let name = self.ty_name(&sig.ret);
            self.error(
                Diag::error("function may end without returning a value", f.body.span, format!("expected `{name}` here"))
                    .also(f.sig_span, "the function returns a value")
                    .help("end every path with `return VALUE;`"),
            );
        }
        Some(TFn { name: sig.name, entry: sig.entry, params, ret: sig.ret, locals: scope.locals, body, span: f.sig_span })
    }

    fn block(&mut self, scope: &mut FnScope, b: &ast::Block) -> Vec<TStmt> {
        scope.scopes.push(HashMap::new());
        let out = b.stmts.iter().filter_map(|s| self.stmt(scope, s)).collect();
        scope.scopes.pop();
        out
    }

    fn stmt(&mut self, scope: &mut FnScope, s: &Stmt) -> Option<TStmt> {
        let (kind, span) = match s {
            Stmt::Let { name, mutable, ty, init, span } => {
                let declared = match ty {
                    Some(te) => match self.ty(te) {
                        Some(t) => Some(t),
                        None => {
                            scope.failed.insert(name.name.clone());
                            return None;
                        }
                    },
                    None => None,
                };
                let Some((init, ty)) = self.init(scope, init, declared.as_ref()) else {
                    // Declare it anyway (with the declared type), so that
                    // its uses raise no further errors.
                    match declared {
                        Some(t) => {
                            scope.declare(&name.name, LocalKind::Value(t), *mutable, name.span);
                        }
                        None => {
                            scope.failed.insert(name.name.clone());
                        }
                    }
                    return None;
                };
                let bound = match (&init, *mutable) {
                    (Init::Scalar(e), false) => self.upper_bound(scope, e),
                    _ => None,
                };
                let id = scope.declare(&name.name, LocalKind::Value(ty), *mutable, name.span);
                if let Some(b) = bound {
                    scope.bounds.insert(id, b);
                }
                (TStmtKind::Let(id, init), *span)
            }
            Stmt::Assign { place, op, value, span } => (self.assign(scope, place, *op, value)?, *span),
            Stmt::Expr(e) => {
                let t = self.expr(scope, e, None)?;
                (TStmtKind::Expr(t), e.span)
            }
            Stmt::If { cond, then, els, span } => {
                let c = self.cond(scope, cond);
                let then = self.block(scope, then);
                let els = self.else_branch(scope, els.as_deref());
                (TStmtKind::If(c?, then, els), *span)
            }
            Stmt::IfLet { name, map, key, then, els, span } => {
                let Some(&m) = self.map_names.get(&map.name) else {
                    self.unknown_map(&map.name, map.span);
                    return None;
                };
                let key = self.map_key(scope, m, key);
                scope.scopes.push(HashMap::new());
                let ty = self.maps[m].value.clone();
                let local = scope.declare(&name.name, LocalKind::MapValue { map: m, ty }, true, name.span);
                let then = self.block(scope, then);
                scope.scopes.pop();
                let els = self.else_branch(scope, els.as_deref());
                (TStmtKind::IfLet { local, map: m, key: key?, then, els }, *span)
            }
            Stmt::While { cond, max, body, span } => {
                let c = self.cond(scope, cond);
                let max = max.as_ref().map(|m| self.while_max(m));
                scope.loops += 1;
                let body = self.block(scope, body);
                scope.loops -= 1;
                let c = c?;
                let limit = match max {
                    Some(m) => m?,
                    None => self.while_bound(scope, &c, &body, cond.span)?,
                };
                (TStmtKind::While { cond: c, limit, body }, *span)
            }
            Stmt::For { var, start, end, body, span } => self.for_loop(scope, var, start, end, body, *span)?,
            Stmt::Break(span) | Stmt::Continue(span) => {
                let brk = matches!(s, Stmt::Break(_));
                if scope.loops == 0 {
                    let word = if brk { "break" } else { "continue" };
                    self.error(Diag::error(format!("`{word}` outside of a loop"), *span, "not in a loop"));
                    return None;
                }
                (if brk { TStmtKind::Break } else { TStmtKind::Continue }, *span)
            }
            Stmt::Return(value, span) => {
                let ret = scope.ret.clone();
                let v = match (value, &ret) {
                    (None, Ty::Unit) => None,
                    (None, _) => {
                        let n = self.ty_name(&ret);
                        self.error(Diag::error("missing return value", *span, format!("expected a `{n}`")));
                        return None;
                    }
                    (Some(e), Ty::Unit) => {
                        self.error(Diag::error("this function returns no value", e.span, "unexpected value"));
                        return None;
                    }
                    (Some(e), _) => Some(self.expect_ty(scope, e, &ret)?),
                };
                (TStmtKind::Return(v), *span)
            }
            Stmt::Block(b) => (TStmtKind::Block(self.block(scope, b)), b.span),
        };
        Some(TStmt { kind, span })
    }

    fn else_branch(&mut self, scope: &mut FnScope, els: Option<&Stmt>) -> Vec<TStmt> {
        match els {
            None => Vec::new(),
            Some(Stmt::Block(b)) => self.block(scope, b),
            Some(s) => self.stmt(scope, s).into_iter().collect(),
        }
    }

    fn cond(&mut self, scope: &mut FnScope, e: &Expr) -> Option<TExpr> {
        self.expect_ty(scope, e, &Ty::Bool)
    }

    /// An expression that must have type `ty`.
    pub(super) fn expect_ty(&mut self, scope: &mut FnScope, e: &Expr, ty: &Ty) -> Option<TExpr> {
        let t = self.expr(scope, e, Some(ty))?;
        if t.ty != *ty {
            self.mismatch(ty, &t.ty, e.span);
            return None;
        }
        Some(t)
    }

    fn for_loop(
        &mut self,
        scope: &mut FnScope,
        var: &ast::Ident,
        start: &Expr,
        end: &Expr,
        body: &ast::Block,
        span: Span,
    ) -> Option<(TStmtKind, Span)> {
        let literal = |e: &Expr| matches!(e.kind, ExprKind::Int(_, None));
        let (s, e) = if literal(end) && !literal(start) {
            let s = self.expr(scope, start, None)?;
            let e = self.expr(scope, end, Some(&s.ty))?;
            (s, e)
        } else {
            let e = self.expr(scope, end, Some(&Ty::Int(IntTy::U64)))?;
            let s = self.expr(scope, start, Some(&e.ty))?;
            (s, e)
        };
        let Ty::Int(it) = e.ty else {
            self.error(Diag::error("a `for` range is over integers", end.span, "not an integer"));
            return None;
        };
        if s.ty != e.ty {
            self.mismatch(&e.ty, &s.ty, start.span);
            return None;
        }
        let Some(limit) = self.upper_bound(scope, &e) else {
            self.error(
                Diag::error("loop bound not known at compile time", end.span, "this end could be anything")
                    .note("every loop must be bounded so that the verifier can prove it ends")
                    .help("bound it with a constant, e.g. `for i in 0..min(n, 64)`, or use a buffer's length field"),
            );
            return None;
        };
        scope.scopes.push(HashMap::new());
        let id = scope.declare(&var.name, LocalKind::Value(Ty::Int(it)), false, var.span);
        // Inside the loop, the variable is below the end.
        scope.bounds.insert(id, limit.saturating_sub(1));
        scope.loops += 1;
        let body = self.block(scope, body);
        scope.loops -= 1;
        scope.scopes.pop();
        Some((TStmtKind::For { var: id, start: s, end: e, limit, body }, span))
    }

    /// A compile-time upper bound of an integer expression, if one is evident.
    pub(super) fn upper_bound(&self, scope: &FnScope, e: &TExpr) -> Option<u64> {
        if let Some(v) = e.constant() {
            return (!e.ty.int().signed() || (v as i64) >= 0).then_some(v);
        }
        if let Ty::Int(t) = e.ty
            && !t.signed() && t.size() <= 2 {
                return Some(t.normalize(u64::MAX));
            }
        match &e.kind {
            TExprKind::MinMax(ast::BinOp::Lt, a, b) => match (self.upper_bound(scope, a), self.upper_bound(scope, b)) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            },
            TExprKind::Binary(ast::BinOp::And, a, b) if !e.ty.int().signed() => {
                b.constant().or(a.constant())
            }
            TExprKind::Binary(ast::BinOp::Rem, _, b) if !e.ty.int().signed() => b.constant().map(|m| m.saturating_sub(1)),
            TExprKind::Load(p) => ctx_bound(scope, p),
            TExprKind::Local(id) => scope.bounds.get(id).copied(),
            TExprKind::Cast(inner) if !e.ty.int().signed() => self.upper_bound(scope, inner),
            _ => None,
        }
    }

    /// Checks an initialiser of a `let` or of a whole-aggregate assignment.
    pub(super) fn init(&mut self, scope: &mut FnScope, e: &Expr, expected: Option<&Ty>) -> Option<(Init, Ty)> {
        match (&e.kind, expected) {
            (ExprKind::Repeat(v, n), _) => {
                let elem = match expected {
                    Some(Ty::Array(t, _)) => Some((**t).clone()),
                    Some(t) => {
                        let name = self.ty_name(t);
                        self.error(Diag::error("mismatched types", e.span, format!("expected `{name}`, found an array")));
                        return None;
                    }
                    None => None,
                };
                let (iv, et) = self.init(scope, v, elem.as_ref())?;
                let count = self.const_u64(n)?;
                let ty = Ty::Array(Box::new(et), count as u32);
                self.check_init_ty(expected, &ty, e.span)?;
                Some((Init::Repeat(Box::new(iv), count as u32), ty))
            }
            (ExprKind::Str(bytes), _) => {
                let ty = match expected {
                    Some(Ty::Array(elem, n)) if **elem == Ty::Int(IntTy::U8) && *n as usize >= bytes.len() => {
                        Ty::Array(elem.clone(), *n)
                    }
                    Some(t) => {
                        let name = self.ty_name(t);
                        self.error(Diag::error("mismatched types", e.span, format!("expected `{name}`, found a string of {} bytes", bytes.len()))
                            .note("a string initialises a `[u8; N]` with N at least its length"));
                        return None;
                    }
                    None if bytes.is_empty() => {
                        self.error(Diag::error("empty string", e.span, "arrays have at least one element"));
                        return None;
                    }
                    None => Ty::Array(Box::new(Ty::Int(IntTy::U8)), bytes.len() as u32),
                };
                Some((Init::Bytes(bytes.clone()), ty))
            }
            (ExprKind::List(items), _) => {
                let mut elem = match expected {
                    Some(Ty::Array(t, _)) => Some((**t).clone()),
                    _ => None,
                };
                let mut out = Vec::new();
                for item in items {
                    let (iv, t) = self.init(scope, item, elem.as_ref())?;
                    if let Some(et) = &elem
                        && *et != t {
                            self.mismatch(et, &t, item.span);
                            return None;
                        }
                    elem = Some(t);
                    out.push(iv);
                }
                let ty = Ty::Array(Box::new(elem?), out.len() as u32);
                self.check_init_ty(expected, &ty, e.span)?;
                Some((Init::List(out), ty))
            }
            (ExprKind::StructLit(name, fields), _) => {
                let Some(&si) = self.struct_names.get(&name.name) else {
                    self.error(Diag::error(format!("unknown struct `{}`", name.name), name.span, "not a struct"));
                    return None;
                };
                let def = self.structs[si].clone();
                let mut inits = Vec::new();
                for (fname, fty, _) in &def.fields {
                    match fields.iter().find(|(f, _)| f.name == *fname) {
                        Some((_, v)) => inits.push(self.init(scope, v, Some(fty))?.0),
                        None => {
                            self.error(Diag::error(format!("missing field `{fname}` in `{}`", def.name), e.span, "every field needs a value"));
                            return None;
                        }
                    }
                }
                for (f, _) in fields {
                    if !def.fields.iter().any(|(n, _, _)| *n == f.name) {
                        self.error(Diag::error(format!("struct `{}` has no field `{}`", def.name, f.name), f.span, "unknown field"));
                        return None;
                    }
                }
                let ty = Ty::Struct(si);
                self.check_init_ty(expected, &ty, e.span)?;
                Some((Init::Struct(inits), ty))
            }
            _ => {
                let place_like = match &e.kind {
                    ExprKind::Var(name) => scope.lookup(name).is_some() || self.const_data.contains_key(name),
                    ExprKind::Field(..) | ExprKind::Index(..) | ExprKind::Deref(_) => true,
                    _ => false,
                };
                if place_like {
                    // Resolved once: an aggregate is copied, a scalar read.
                    let (lv, _) = self.lvalue(scope, e, true)?;
                    let t = match lv {
                        Lv::Mem(p) if !p.ty.is_scalar() => {
                            let ty = p.ty.clone();
                            self.check_init_ty(expected, &ty, e.span)?;
                            return Some((Init::Copy(p), ty));
                        }
                        Lv::Mem(p) => {
                            let ty = p.ty.clone();
                            TExpr { kind: TExprKind::Load(Box::new(p)), ty, span: e.span }
                        }
                        Lv::Local(id) => {
                            let LocalKind::Value(ty) = scope.locals[id].kind.clone() else { return None };
                            TExpr { kind: TExprKind::Local(id), ty, span: e.span }
                        }
                    };
                    let ty = t.ty.clone();
                    self.check_init_ty(expected, &ty, e.span)?;
                    return Some((Init::Scalar(t), ty));
                }
                let t = self.expr(scope, e, expected)?;
                if t.ty == Ty::Unit {
                    self.error(Diag::error("this expression has no value", e.span, "returns nothing"));
                    return None;
                }
                let ty = t.ty.clone();
                self.check_init_ty(expected, &ty, e.span)?;
                Some((Init::Scalar(t), ty))
            }
        }
    }

    fn check_init_ty(&mut self, expected: Option<&Ty>, found: &Ty, span: Span) -> Option<()> {
        match expected {
            Some(t) if t != found => {
                self.mismatch(t, found, span);
                None
            }
            _ => Some(()),
        }
    }

    fn assign(&mut self, scope: &mut FnScope, place: &Expr, op: Option<ast::BinOp>, value: &Expr) -> Option<TStmtKind> {
        let (lv, writable) = self.lvalue(scope, place, true)?;
        if let Err(why) = writable {
            self.error(why);
            return None;
        }
        let ty = match &lv {
            Lv::Local(id) => match &scope.locals[*id].kind {
                LocalKind::Value(t) => t.clone(),
                _ => return None,
            },
            Lv::Mem(p) => p.ty.clone(),
        };
        let init = match op {
            None => self.init(scope, value, Some(&ty))?.0,
            Some(op) => {
                if !matches!(ty, Ty::Int(_)) {
                    self.error(Diag::error(format!("`{}=` needs an integer", op.symbol()), place.span, "not an integer"));
                    return None;
                }
                let current = match &lv {
                    Lv::Local(id) => TExpr { kind: TExprKind::Local(*id), ty: ty.clone(), span: place.span },
                    Lv::Mem(p) => TExpr { kind: TExprKind::Load(Box::new(p.clone())), ty: ty.clone(), span: place.span },
                };
                let rhs = self.expr(scope, value, Some(&ty))?;
                Init::Scalar(self.binary_typed(op, current, rhs, place.span.to(value.span))?)
            }
        };
        Some(match (lv, init) {
            (Lv::Local(id), Init::Scalar(v)) => TStmtKind::SetLocal(id, v),
            (Lv::Local(_), _) => return None,
            (Lv::Mem(p), init) => TStmtKind::Store(p, init),
        })
    }

    /// Resolves a place. With `for_write`, the second result says whether
    /// it may be assigned (or the error explaining why not).
    pub(super) fn lvalue(&mut self, scope: &mut FnScope, e: &Expr, for_write: bool) -> Option<(Lv, Result<(), Diag>)> {
        match &e.kind {
            ExprKind::Var(name) => {
                let Some(id) = scope.lookup(name) else {
                    if let Some(p) = self.const_place(name) {
                        let why = Diag::error(format!("cannot assign to constant `{name}`"), e.span, "constants are read-only")
                            .help(format!("copy it into a variable first: `let mut copy = {name};`"));
                        return Some((Lv::Mem(p), Err(why)));
                    }
                    if !for_write || self.already_reported(scope, name) {
                        return None;
                    }
                    self.error(Diag::error(format!("cannot find variable `{name}`"), e.span, "not found in this scope"));
                    return None;
                };
                let local = &scope.locals[id];
                let ok = if scope.mutable[id] {
                    Ok(())
                } else {
                    Err(Diag::error(format!("cannot assign twice to immutable variable `{name}`"), e.span, "cannot assign")
                        .also(local.span, "first assignment")
                        .help(format!("make this binding mutable: `let mut {name}`")))
                };
                match &local.kind {
                    LocalKind::Value(t) if t.is_scalar() => Some((Lv::Local(id), ok)),
                    LocalKind::Value(t) => Some((Lv::Mem(Place { base: Base::Stack(id), offset: 0, indices: vec![], ty: t.clone() }), ok)),
                    LocalKind::MapValue { .. } => {
                        self.error(
                            Diag::error(format!("`{name}` is a reference to a map value"), e.span, "use `*` to reach the value")
                                .help(format!("write `*{name}`")),
                        );
                        None
                    }
                    LocalKind::Ctx(_) => {
                        self.error(Diag::error("the context is not a value", e.span, "use one of its fields, e.g. `ctx.FIELD`"));
                        None
                    }
                }
            }
            ExprKind::Deref(inner) => {
                let ExprKind::Var(name) = &inner.kind else {
                    self.error(Diag::error("only map values can be dereferenced", e.span, "not a reference"));
                    return None;
                };
                match scope.lookup(name).map(|id| (id, &scope.locals[id].kind)) {
                    Some((id, LocalKind::MapValue { ty, .. })) => {
                        Some((Lv::Mem(Place { base: Base::MapValue(id), offset: 0, indices: vec![], ty: ty.clone() }), Ok(())))
                    }
                    _ => {
                        self.error(Diag::error(format!("`{name}` is not a reference"), inner.span, "cannot be dereferenced"));
                        None
                    }
                }
            }
            ExprKind::Field(base, field) => {
                if let ExprKind::Var(name) = &base.kind
                    && let Some(id) = scope.lookup(name) {
                        if let LocalKind::Ctx(kind) = scope.locals[id].kind {
                            return self.ctx_field(id, kind, field);
                        }
                        if let LocalKind::MapValue { ty, .. } = &scope.locals[id].kind {
                            let p = Place { base: Base::MapValue(id), offset: 0, indices: vec![], ty: ty.clone() };
                            return self.field_of(p, field).map(|p| (Lv::Mem(p), Ok(())));
                        }
                    }
                let (lv, ok) = self.lvalue(scope, base, true)?;
                let Lv::Mem(p) = lv else {
                    self.error(Diag::error(format!("no field `{}` on a scalar", field.name), field.span, "unknown field"));
                    return None;
                };
                self.field_of(p, field).map(|p| (Lv::Mem(p), ok))
            }
            ExprKind::Index(base, index) => {
                let (lv, ok) = match &base.kind {
                    ExprKind::Var(name) if scope.lookup(name).is_some_and(|id| matches!(scope.locals[id].kind, LocalKind::MapValue { .. })) => {
                        let id = scope.lookup(name)?;
                        let LocalKind::MapValue { ty, .. } = &scope.locals[id].kind else { return None };
                        (Lv::Mem(Place { base: Base::MapValue(id), offset: 0, indices: vec![], ty: ty.clone() }), Ok(()))
                    }
                    _ => self.lvalue(scope, base, true)?,
                };
                let Lv::Mem(mut p) = lv else {
                    self.error(Diag::error("cannot index a scalar", base.span, "not an array"));
                    return None;
                };
                let Ty::Array(elem, count) = p.ty.clone() else {
                    let n = self.ty_name(&p.ty);
                    self.error(Diag::error(format!("cannot index a value of type `{n}`"), base.span, "not an array"));
                    return None;
                };
                let (stride, _) = layout(&elem, &self.structs);
                let i = self.expr(scope, index, Some(&Ty::Int(IntTy::U64)))?;
                if !matches!(i.ty, Ty::Int(_)) {
                    self.error(Diag::error("array indices are integers", index.span, "not an integer"));
                    return None;
                }
                match i.constant() {
                    Some(k) => {
                        if k >= count as u64 || (i.ty.int().signed() && (k as i64) < 0) {
                            self.error(
                                Diag::error("index out of bounds", index.span, format!("the length is {count} but the index is {}", k as i64))
                                    .note("a constant index must be below the array's length"),
                            );
                            return None;
                        }
                        p.offset += k as u32 * stride;
                    }
                    None => {
                        if matches!(p.base, Base::Ctx(_)) && stride > 1 {
                            self.error(
                                Diag::error("this context array is indexed by constants only", index.span, "not a constant")
                                    .help("write e.g. `ctx.args[0]`"),
                            );
                            return None;
                        }
                        p.indices.push(Index { index: i, stride, count });
                    }
                }
                p.ty = *elem;
                Some((Lv::Mem(p), ok))
            }
            _ => {
                if for_write {
                    self.error(Diag::error("invalid left-hand side of assignment", e.span, "cannot assign to this expression"));
                }
                None
            }
        }
    }

    fn field_of(&mut self, mut p: Place, field: &ast::Ident) -> Option<Place> {
        let Ty::Struct(si) = p.ty else {
            let n = self.ty_name(&p.ty);
            self.error(Diag::error(format!("no field `{}` on type `{n}`", field.name), field.span, "unknown field"));
            return None;
        };
        let def = &self.structs[si];
        match def.fields.iter().find(|(n, _, _)| *n == field.name) {
            Some((_, t, off)) => {
                p.offset += off;
                p.ty = t.clone();
                Some(p)
            }
            None => {
                let names: Vec<&str> = def.fields.iter().map(|(n, _, _)| n.as_str()).collect();
                let d = Diag::error(format!("no field `{}` on type `{}`", field.name, def.name), field.span, "unknown field")
                    .note(format!("the fields are: {}", names.join(", ")));
                self.error(d);
                None
            }
        }
    }

    fn ctx_field(&mut self, id: LocalId, kind: CtxKind, field: &ast::Ident) -> Option<(Lv, Result<(), Diag>)> {
        let specs = lkm::ctx::fields(kind);
        let Some(spec) = specs.iter().find(|s| s.name == field.name) else {
            let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
            self.error(
                Diag::error(format!("no field `{}` in `{}`", field.name, lkm::ctx::type_name(kind)), field.span, "unknown field")
                    .note(format!("the fields are: {}", names.join(", "))),
            );
            return None;
        };
        let elem = Ty::Int(IntTy::unsigned_of_size(spec.elem));
        let ty = if spec.elem < spec.size { Ty::Array(Box::new(elem), spec.size / spec.elem) } else { elem };
        let ok = if spec.write {
            Ok(())
        } else {
            Err(Diag::error(format!("`ctx.{}` is read-only", spec.name), field.span, "cannot assign")
                .note(format!("in `{}` only the fields marked writable may be assigned", lkm::ctx::type_name(kind))))
        };
        Some((Lv::Mem(Place { base: Base::Ctx(id), offset: spec.offset, indices: vec![], ty }), ok))
    }

    pub(super) fn unknown_map(&mut self, name: &str, span: Span) {
        self.error(Diag::error(format!("cannot find map `{name}`"), span, "not a map").help("declare it with `map NAME: hash<K, V>[N];`"));
    }
}

/// The capacity bound of a context length field (or the bound of a bounded field).
fn ctx_bound(scope: &FnScope, p: &Place) -> Option<u64> {
    let Base::Ctx(id) = p.base else { return None };
    let LocalKind::Ctx(kind) = scope.locals.get(id)?.kind else { return None };
    let spec = lkm::ctx::fields(kind).iter().find(|s| s.offset == p.offset)?;
    match spec.kind {
        SpecKind::Length { buffer } => lkm::ctx::fields(kind).iter().find(|s| s.name == buffer).map(|b| b.size as u64),
        SpecKind::Bounded { max, .. } => Some(max),
        _ => None,
    }
}

/// Whether every path through the statements ends in `return`.
fn returns(stmts: &[Stmt]) -> bool {
    stmts.last().is_some_and(|s| match s {
        Stmt::Return(..) => true,
        Stmt::Block(b) => returns(&b.stmts),
        Stmt::If { then, els: Some(e), .. } | Stmt::IfLet { then, els: Some(e), .. } => {
            returns(&then.stmts) && returns(std::slice::from_ref(&**e))
        }
        _ => false,
    })
}
