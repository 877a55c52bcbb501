//! Checking expressions, with integer literals typed from their context and
//! constants folded as they are built.

use super::stmt::{FnScope, Lv};
use super::Checker;
use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::diag::{Diag, Span};
use crate::tir::*;

impl Checker {
    /// Checks a scalar expression. `expected` types integer literals.
    pub(super) fn expr(&mut self, scope: &mut FnScope, e: &Expr, expected: Option<&Ty>) -> Option<TExpr> {
        let span = e.span;
        let mk = |kind, ty| Some(TExpr { kind, ty, span });
        match &e.kind {
            ExprKind::Error => None,
            ExprKind::Int(v, suffix) => {
                let ty = match suffix {
                    Some(s) => match IntTy::from_name(s) {
                        Some(t) => t,
                        None => {
                            self.error(Diag::error(format!("invalid suffix `{s}` for an integer literal"), span, "unknown suffix")
                                .help("the suffixes are u8 u16 u32 u64 i32 i64"));
                            return None;
                        }
                    },
                    None => match expected {
                        Some(Ty::Int(t)) => *t,
                        _ => IntTy::U64,
                    },
                };
                if !ty.fits(*v as i128) {
                    self.error(Diag::error(format!("literal out of range for `{}`", ty.name()), span, format!("does not fit in `{}`", ty.name())));
                    return None;
                }
                mk(TExprKind::Const(ty.normalize(*v)), Ty::Int(ty))
            }
            ExprKind::Bool(b) => mk(TExprKind::Const(*b as u64), Ty::Bool),
            ExprKind::Str(_) => {
                self.error(
                    Diag::error("string literals are only arguments of helpers", span, "not a value")
                        .help("pass it to `log`, `emit`, `emit_dirent`, `matches` or `starts_with`"),
                );
                None
            }
            ExprKind::Var(name) => {
                if let Some(id) = scope.lookup(name) {
                    return match &scope.locals[id].kind {
                        LocalKind::Value(t) if t.is_scalar() => mk(TExprKind::Local(id), t.clone()),
                        _ => self.place_value(scope, e),
                    };
                }
                if let Some((t, v)) = self.consts.get(name).cloned() {
                    return mk(TExprKind::Const(v), t);
                }
                if let Some(errno) = errno(name) {
                    return mk(TExprKind::Const(errno), Ty::Int(IntTy::I64));
                }
                if name == "CHAIN" {
                    return mk(TExprKind::Const(lkm::LKM_CHAIN), Ty::Int(IntTy::I64));
                }
                if self.const_data.contains_key(name) {
                    return self.place_value(scope, e);
                }
                if self.already_reported(scope, name) {
                    return None;
                }
                let mut d = Diag::error(format!("cannot find value `{name}` in this scope"), span, "not found in this scope");
                if self.map_names.contains_key(name) {
                    d = d.help(format!("`{name}` is a map: use `{name}.get(&key)`, `{name}.insert(key, value)` or `{name}.remove(&key)`"));
                }
                self.error(d);
                None
            }
            ExprKind::Field(..) | ExprKind::Index(..) | ExprKind::Deref(_) => self.place_value(scope, e),
            ExprKind::Unary(op, inner) => {
                // `-LITERAL` is checked as one negative literal.
                if let (UnOp::Neg, ExprKind::Int(v, suffix)) = (op, &inner.kind) {
                    let t = match (suffix.as_deref().and_then(IntTy::from_name), expected) {
                        (Some(t), _) => t,
                        (None, Some(Ty::Int(t))) => *t,
                        _ => IntTy::I64,
                    };
                    if !t.signed() {
                        self.error(Diag::error(format!("cannot negate a `{}`", t.name()), span, "unsigned values cannot be negative"));
                        return None;
                    }
                    if !t.fits(-(*v as i128)) {
                        self.error(Diag::error(format!("literal out of range for `{}`", t.name()), span, "too small"));
                        return None;
                    }
                    return mk(TExprKind::Const(t.normalize((*v as i64).wrapping_neg() as u64)), Ty::Int(t));
                }
                let t = self.expr(scope, inner, expected)?;
                match (op, &t.ty) {
                    (UnOp::Neg, Ty::Int(it)) if it.signed() => Some(fold_unary(*op, t, span)),
                    (UnOp::Neg, _) => {
                        let n = self.ty_name(&t.ty);
                        self.error(Diag::error(format!("cannot negate a `{n}`"), span, "only i32 and i64 can be negated"));
                        None
                    }
                    (UnOp::Not, Ty::Int(_) | Ty::Bool) => Some(fold_unary(*op, t, span)),
                    (UnOp::Not, _) => None,
                }
            }
            ExprKind::Binary(op, l, r) => self.binary(scope, *op, l, r, expected, span),
            ExprKind::Cast(inner, te) => {
                let to = self.ty(te)?;
                let Ty::Int(it) = to else {
                    self.error(Diag::error("casts are to integer types", te.span(), "not an integer type")
                        .help("compare with `!= 0` to get a bool"));
                    return None;
                };
                // The operand is typed on its own (a literal is a u64).
                let t = self.expr(scope, inner, None)?;
                if !t.ty.is_scalar() {
                    return None;
                }
                if let Some(v) = t.constant() {
                    return mk(TExprKind::Const(it.normalize(v)), to);
                }
                if t.ty == to {
                    return Some(TExpr { span, ..t });
                }
                mk(TExprKind::Cast(Box::new(t)), to)
            }
            ExprKind::Call(name, args) => self.call(scope, name, args, span),
            ExprKind::Method(recv, method, args) => self.method(scope, recv, method, args, span),
            ExprKind::Ref(..) => {
                self.error(Diag::error("references are only helper arguments", span, "not a value")
                    .help("`&x` may be passed to helpers such as `emit`, and as a map key"));
                None
            }
            ExprKind::Repeat(..) | ExprKind::List(_) | ExprKind::StructLit(..) => {
                self.error(Diag::error("an aggregate is not allowed here", span, "expected an integer or bool")
                    .help("bind it with `let` first"));
                None
            }
        }
    }

    /// A scalar read from a place.
    fn place_value(&mut self, scope: &mut FnScope, e: &Expr) -> Option<TExpr> {
        let (lv, _) = self.lvalue(scope, e, true)?;
        match lv {
            Lv::Local(id) => {
                let LocalKind::Value(t) = &scope.locals[id].kind else { return None };
                Some(TExpr { kind: TExprKind::Local(id), ty: t.clone(), span: e.span })
            }
            Lv::Mem(p) if p.ty.is_scalar() => {
                let ty = p.ty.clone();
                Some(TExpr { kind: TExprKind::Load(Box::new(p)), ty, span: e.span })
            }
            Lv::Mem(p) => {
                let n = self.ty_name(&p.ty);
                self.error(Diag::error(format!("expected an integer or bool, found `{n}`"), e.span, "an aggregate")
                    .help("use one element or field of it"));
                None
            }
        }
    }

    fn binary(&mut self, scope: &mut FnScope, op: BinOp, l: &Expr, r: &Expr, expected: Option<&Ty>, span: Span) -> Option<TExpr> {
        if matches!(op, BinOp::LogAnd | BinOp::LogOr) {
            let a = self.expect_ty(scope, l, &Ty::Bool);
            let b = self.expect_ty(scope, r, &Ty::Bool);
            let (a, b) = (a?, b?);
            return Some(match (a.constant(), b.constant()) {
                (Some(x), Some(y)) => {
                    let v = if op == BinOp::LogAnd { x & y } else { x | y };
                    TExpr { kind: TExprKind::Const(v), ty: Ty::Bool, span }
                }
                _ => TExpr { kind: TExprKind::Logic(op, Box::new(a), Box::new(b)), ty: Ty::Bool, span },
            });
        }
        let literal = |e: &Expr| match &e.kind {
            ExprKind::Int(_, None) => true,
            ExprKind::Unary(UnOp::Neg, inner) => matches!(inner.kind, ExprKind::Int(_, None)),
            _ => false,
        };
        let hint = if op.is_comparison() { None } else { expected };
        let (a, b) = if matches!(op, BinOp::Shl | BinOp::Shr) {
            let a = self.expr(scope, l, hint)?;
            let b = self.expr(scope, r, Some(&a.ty))?;
            (a, b)
        } else if literal(l) && !literal(r) {
            let b = self.expr(scope, r, hint)?;
            let a = self.expr(scope, l, Some(&b.ty))?;
            (a, b)
        } else {
            let a = self.expr(scope, l, hint)?;
            let b = self.expr(scope, r, Some(&a.ty))?;
            (a, b)
        };
        self.binary_typed(op, a, b, span)
    }

    /// Builds (and folds) a binary operation on checked operands.
    pub(super) fn binary_typed(&mut self, op: BinOp, a: TExpr, mut b: TExpr, span: Span) -> Option<TExpr> {
        let sym = op.symbol();
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let (Ty::Int(at), Ty::Int(_)) = (&a.ty, &b.ty) else {
                self.error(Diag::error(format!("`{sym}` needs integers"), span, "not an integer"));
                return None;
            };
            if let Some(k) = b.constant()
                && k >= at.size() as u64 * 8 {
                    self.error(Diag::error("shift amount too large", b.span, format!("a `{}` has {} bits", at.name(), at.size() * 8)));
                    return None;
                }
            if b.ty != a.ty {
                let ty = a.ty.clone();
                b = match b.constant() {
                    Some(v) => TExpr { kind: TExprKind::Const(at.normalize(v)), ty, span: b.span },
                    None => TExpr { kind: TExprKind::Cast(Box::new(b)), ty, span },
                };
            }
        } else if a.ty != b.ty {
            let (x, y) = (self.ty_name(&a.ty), self.ty_name(&b.ty));
            self.error(
                Diag::error(format!("mismatched types in `{sym}`"), span, format!("`{x}` {sym} `{y}`"))
                    .help(format!("convert one side explicitly, e.g. `as {x}`")),
            );
            return None;
        }
        if op.is_comparison() {
            let ok = matches!(a.ty, Ty::Int(_)) || (a.ty == Ty::Bool && matches!(op, BinOp::Eq | BinOp::Ne));
            if !ok {
                self.error(Diag::error(format!("cannot compare with `{sym}`"), span, "integers only"));
                return None;
            }
            let it = a.ty.int();
            if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
                return Some(TExpr { kind: TExprKind::Const(compare(op, it, x, y) as u64), ty: Ty::Bool, span });
            }
            return Some(TExpr { kind: TExprKind::Compare(op, it, Box::new(a), Box::new(b)), ty: Ty::Bool, span });
        }
        let bitwise = matches!(op, BinOp::And | BinOp::Or | BinOp::Xor);
        let Ty::Int(it) = a.ty else {
            if a.ty == Ty::Bool && bitwise {
                return Some(fold_binary(op, IntTy::U8, a, b, span, Ty::Bool));
            }
            let n = self.ty_name(&a.ty);
            self.error(Diag::error(format!("cannot apply `{sym}` to `{n}`"), span, "integers only"));
            return None;
        };
        Some(fold_binary(op, it, a, b, span, Ty::Int(it)))
    }
}

/// The value of `x OP y` for two constants of type `it`, with the
/// instruction set's rules (wrapping; division by zero gives 0; modulo by
/// zero gives the dividend).
pub fn eval(op: BinOp, it: IntTy, x: u64, y: u64) -> u64 {
    let bits = it.size() * 8;
    let v = match op {
        BinOp::Add => x.wrapping_add(y),
        BinOp::Sub => x.wrapping_sub(y),
        BinOp::Mul => x.wrapping_mul(y),
        BinOp::Div | BinOp::Rem if y == 0 || it.normalize(y) == 0 => {
            if op == BinOp::Div { 0 } else { x }
        }
        BinOp::Div if it.signed() => (x as i64).wrapping_div(y as i64) as u64,
        BinOp::Rem if it.signed() => (x as i64).wrapping_rem(y as i64) as u64,
        BinOp::Div => x / y,
        BinOp::Rem => x % y,
        BinOp::And => x & y,
        BinOp::Or => x | y,
        BinOp::Xor => x ^ y,
        BinOp::Shl => x.wrapping_shl((y % bits as u64) as u32),
        BinOp::Shr if it.signed() => ((x as i64) >> (y % bits as u64)) as u64,
        BinOp::Shr => x >> (y % bits as u64),
        _ => 0,
    };
    it.normalize(v)
}

/// The result of comparing two constants of type `it`.
pub fn compare(op: BinOp, it: IntTy, x: u64, y: u64) -> bool {
    let (sx, sy) = (x as i64, y as i64);
    let s = it.signed();
    match op {
        BinOp::Eq => x == y,
        BinOp::Ne => x != y,
        BinOp::Lt => if s { sx < sy } else { x < y },
        BinOp::Le => if s { sx <= sy } else { x <= y },
        BinOp::Gt => if s { sx > sy } else { x > y },
        BinOp::Ge => if s { sx >= sy } else { x >= y },
        _ => false,
    }
}

fn fold_binary(op: BinOp, it: IntTy, a: TExpr, b: TExpr, span: Span, ty: Ty) -> TExpr {
    match (a.constant(), b.constant()) {
        (Some(x), Some(y)) => TExpr { kind: TExprKind::Const(eval(op, it, x, y)), ty, span },
        // x + 0, x | 0, x ^ 0, x - 0, x * 1, x << 0: the operand itself.
        (None, Some(0)) if matches!(op, BinOp::Add | BinOp::Sub | BinOp::Or | BinOp::Xor | BinOp::Shl | BinOp::Shr) => a,
        (None, Some(1)) if matches!(op, BinOp::Mul | BinOp::Div) => a,
        _ => TExpr { kind: TExprKind::Binary(op, Box::new(a), Box::new(b)), ty, span },
    }
}

fn fold_unary(op: UnOp, t: TExpr, span: Span) -> TExpr {
    let ty = t.ty.clone();
    if let Some(v) = t.constant() {
        let v = match (op, &ty) {
            (UnOp::Not, Ty::Bool) => (v == 0) as u64,
            (UnOp::Not, _) => ty.int().normalize(!v),
            (UnOp::Neg, _) => ty.int().normalize(v.wrapping_neg()),
        };
        return TExpr { kind: TExprKind::Const(v), ty, span };
    }
    let kind = match op {
        UnOp::Neg => TExprKind::Neg(Box::new(t)),
        UnOp::Not => TExprKind::Not(Box::new(t)),
    };
    TExpr { kind, ty, span }
}

/// The negated errno constants a module may return (`ENOENT` is `-2` as
/// an i64), named and numbered as in `abi`.
fn errno(name: &str) -> Option<u64> {
    abi::errno::ALL.iter().find(|e| e.name() == name).map(|e| (-(e.code() as i64)) as u64)
}
