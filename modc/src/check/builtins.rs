//! Calls: local functions, the class's helpers by name, map methods, and
//! the built-in functions `min`, `max`, `matches` and `starts_with`.

use super::stmt::{FnScope, Lv};
use super::Checker;
use crate::ast::{BinOp, Expr, ExprKind, Ident};
use crate::diag::{Diag, Span};
use crate::tir::*;
use lkm::helpers;

const BUILTINS: &[&str] = &["min", "max", "matches", "starts_with"];

/// Whether `name` is a built-in function of the language.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

fn int(t: IntTy) -> Ty {
    Ty::Int(t)
}

impl Checker {
    pub(super) fn call(&mut self, scope: &mut FnScope, name: &Ident, args: &[Expr], span: Span) -> Option<TExpr> {
        let n = name.name.as_str();
        if let Some(&f) = self.fn_names.get(n) {
            return self.local_call(scope, f, name, args, span);
        }
        if is_builtin(n) {
            return self.builtin(scope, n, args, span);
        }
        let Some(h) = helpers::by_name(n) else {
            self.error(Diag::error(format!("cannot find function `{n}`"), name.span, "not a function or helper")
                .help("the helpers are listed in docs/language.md; local functions are declared with `fn`"));
            return None;
        };
        if !h.allowed.permits(self.class) {
            let only = match h.allowed {
                helpers::Allowed::Only(c) => c.name(),
                helpers::Allowed::All => "every",
            };
            self.error(
                Diag::error(format!("helper `{n}` is not available in a `{}` module", self.class.name()), name.span, "not allowed in this class")
                    .note(format!("`{n}` may be called from `{only}` modules only")),
            );
            return None;
        }
        if matches!(h.id, helpers::MAP_LOOKUP | helpers::MAP_UPDATE | helpers::MAP_DELETE) {
            self.error(Diag::error(format!("`{n}` is called through a map's methods"), name.span, "not called directly")
                .help("write `if let Some(v) = m.get(&k)`, `m.insert(k, v)` or `m.remove(&k)`"));
            return None;
        }
        let arity = |c: &mut Checker, lo: usize, hi: usize, usage: &str| -> Option<()> {
            if args.len() < lo || args.len() > hi {
                c.error(Diag::error(format!("wrong number of arguments to `{n}`"), span, format!("{} given", args.len()))
                    .help(format!("write `{usage}`")));
                return None;
            }
            Some(())
        };
        let helper = |id, args, ty| Some(TExpr { kind: TExprKind::Helper(id, args), ty, span });
        match h.id {
            helpers::KTIME_NS => {
                arity(self, 0, 0, "ktime_ns()")?;
                helper(h.id, vec![], int(IntTy::U64))
            }
            helpers::GET_PID | helpers::GET_UID | helpers::RANDOM_U32 | helpers::CPU_ID => {
                arity(self, 0, 0, &format!("{n}()"))?;
                helper(h.id, vec![], int(IntTy::U32))
            }
            helpers::LOG => {
                if args.len() > 3 {
                    let values = args.len() - 1;
                    self.error(
                        Diag::error("`log` takes at most 2 values", span, format!("{values} values given"))
                            .note("the kernel's log helper has room for a message and two values")
                            .help("split the message into several `log` calls of up to two `{}` each"),
                    );
                    return None;
                }
                arity(self, 1, 3, "log(\"text {}\", value)")?;
                let ExprKind::Str(fmt) = &args[0].kind else {
                    self.error(Diag::error("`log` needs a string literal first", args[0].span, "not a string literal"));
                    return None;
                };
                let holes = fmt.windows(2).filter(|w| w == b"{}").count();
                if holes != args.len() - 1 {
                    let n = args.len() - 1;
                    let values = if n == 1 { "1 value follows".to_string() } else { format!("{n} values follow") };
                    self.error(Diag::error(format!("the message has {holes} `{{}}` but {values}"), span, "count mismatch")
                        .note("each `{}` is replaced by one value, in order"));
                    return None;
                }
                let off = self.intern(fmt);
                let mut hargs = vec![HArg::Ptr(Mem::Rodata { offset: off }), HArg::Scalar(konst(fmt.len() as u64, span))];
                for i in 0..2 {
                    let v = match args.get(i + 1) {
                        Some(a) => self.widened(scope, a)?,
                        None => konst(0, span),
                    };
                    hargs.push(HArg::Scalar(v));
                }
                helper(h.id, hargs, int(IntTy::I64))
            }
            helpers::EMIT => {
                arity(self, 1, 2, "emit(\"text\") or emit(&buf, len)")?;
                let (ptr, len) = self.mem_and_len(scope, &args[0], args.get(1), 0, false)?;
                helper(h.id, vec![ptr, len], int(IntTy::I64))
            }
            helpers::EMIT_DIRENT => {
                arity(self, 2, 3, "emit_dirent(ino, \"name\") or emit_dirent(ino, &buf, len)")?;
                let ino = self.widened(scope, &args[0])?;
                let (ptr, len) = self.mem_and_len(scope, &args[1], args.get(2), 1, false)?;
                helper(h.id, vec![HArg::Scalar(ino), ptr, len], int(IntTy::I64))
            }
            helpers::COPY_FROM_USER => {
                arity(self, 2, 3, "copy_from_user(&mut buf, user_addr) or copy_from_user(&mut buf, user_addr, len)")?;
                let (ptr, len) = self.mem_and_len(scope, &args[0], args.get(2), 1, true)?;
                let addr = self.widened(scope, &args[1])?;
                helper(h.id, vec![ptr, len, HArg::Scalar(addr)], int(IntTy::I64))
            }
            helpers::COPY_TO_USER => {
                arity(self, 2, 3, "copy_to_user(user_addr, &buf) or copy_to_user(user_addr, &buf, len)")?;
                let addr = self.widened(scope, &args[0])?;
                let (ptr, len) = self.mem_and_len(scope, &args[1], args.get(2), 1, false)?;
                helper(h.id, vec![HArg::Scalar(addr), ptr, len], int(IntTy::I64))
            }
            helpers::INB | helpers::INW | helpers::INL => {
                arity(self, 1, 1, &format!("{n}(PORT)"))?;
                let width = [1u32, 2, 4][((h.id - helpers::INB) / 2) as usize];
                let port = self.port(scope, &args[0], width)?;
                helper(h.id, vec![HArg::Scalar(port)], int(IntTy::unsigned_of_size(width)))
            }
            _ => {
                // outb, outw, outl
                arity(self, 2, 2, &format!("{n}(PORT, value)"))?;
                let width = [1u32, 2, 4][((h.id - helpers::OUTB) / 2) as usize];
                let port = self.port(scope, &args[0], width)?;
                let v = self.widened(scope, &args[1])?;
                helper(h.id, vec![HArg::Scalar(port), HArg::Scalar(v)], int(IntTy::I64))
            }
        }
    }

    fn local_call(&mut self, scope: &mut FnScope, f: usize, name: &Ident, args: &[Expr], span: Span) -> Option<TExpr> {
        let sig = self.sigs[f].clone();
        if sig.entry.is_some() {
            self.error(Diag::error(format!("`{}` is an entry point", sig.name), name.span, "called by the kernel only")
                .help("move the shared code into a helper function that both call"));
            return None;
        }
        if args.len() != sig.params.len() {
            let plural = |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
            let (want, got) = (plural(sig.params.len(), "argument"), args.len());
            let were = if got == 1 { "was" } else { "were" };
            self.error(Diag::error(format!("`{}` takes {want} but {got} {were} given", sig.name), span, "wrong number of arguments")
                .also(sig.span, "defined here"));
            return None;
        }
        let mut targs = Vec::new();
        for (a, t) in args.iter().zip(&sig.params) {
            targs.push(self.expect_ty(scope, a, t));
        }
        if let Some(cur) = scope.current {
            self.calls[cur].push((f, name.span));
        }
        let targs = targs.into_iter().collect::<Option<Vec<_>>>()?;
        Some(TExpr { kind: TExprKind::Call(f, targs), ty: sig.ret, span })
    }

    fn builtin(&mut self, scope: &mut FnScope, n: &str, args: &[Expr], span: Span) -> Option<TExpr> {
        match n {
            "min" | "max" => {
                if args.len() != 2 {
                    self.error(Diag::error(format!("`{n}` takes two integers"), span, "wrong number of arguments"));
                    return None;
                }
                let (a, b) = if matches!(args[0].kind, ExprKind::Int(_, None)) {
                    let b = self.expr(scope, &args[1], None)?;
                    (self.expect_ty(scope, &args[0], &b.ty)?, b)
                } else {
                    let a = self.expr(scope, &args[0], None)?;
                    let b = self.expect_ty(scope, &args[1], &a.ty)?;
                    (a, b)
                };
                let Ty::Int(it) = a.ty else {
                    self.error(Diag::error(format!("`{n}` takes integers"), span, "not integers"));
                    return None;
                };
                let op = if n == "min" { BinOp::Lt } else { BinOp::Gt };
                if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
                    let pick_x = super::expr::compare(op, it, x, y);
                    return Some(konst_ty(if pick_x { x } else { y }, a.ty, span));
                }
                let ty = a.ty.clone();
                Some(TExpr { kind: TExprKind::MinMax(op, Box::new(a), Box::new(b)), ty, span })
            }
            _ => {
                // matches / starts_with
                if args.len() != 3 {
                    self.error(Diag::error(format!("`{n}` takes a byte buffer, its length and a string"), span, "wrong number of arguments")
                        .help(format!("write `{n}(&ctx.name, ctx.name_len, \"text\")`")));
                    return None;
                }
                let buf = self.byte_buffer(scope, &args[0])?;
                let len = self.widened(scope, &args[1])?;
                let ExprKind::Str(lit) = &args[2].kind else {
                    self.error(Diag::error(format!("`{n}` compares with a string literal"), args[2].span, "not a string literal"));
                    return None;
                };
                let kind = TExprKind::BytesEq { buf: Box::new(buf), len: Box::new(len), lit: lit.clone(), prefix: n == "starts_with" };
                Some(TExpr { kind, ty: Ty::Bool, span })
            }
        }
    }

    pub(super) fn method(&mut self, scope: &mut FnScope, recv: &Ident, method: &Ident, args: &[Expr], span: Span) -> Option<TExpr> {
        let Some(&m) = self.map_names.get(&recv.name) else {
            self.unknown_map(&recv.name, recv.span);
            return None;
        };
        let helper = |id, args, ty| Some(TExpr { kind: TExprKind::Helper(id, args), ty, span });
        match (method.name.as_str(), args) {
            ("get", _) => {
                self.error(Diag::error("a map lookup must be checked", span, "the value may be missing")
                    .help(format!("write `if let Some(v) = {}.get(&key) {{ ... }}`", recv.name)));
                None
            }
            ("insert", [k, v]) => {
                let key = self.map_key(scope, m, k);
                let value = self.map_value(scope, m, v);
                helper(helpers::MAP_UPDATE, vec![HArg::MapRef(m), HArg::Ptr(key?), HArg::Ptr(value?), HArg::Scalar(konst(0, span))], int(IntTy::I64))
            }
            ("remove", [k]) => {
                let key = self.map_key(scope, m, k)?;
                helper(helpers::MAP_DELETE, vec![HArg::MapRef(m), HArg::Ptr(key)], int(IntTy::I64))
            }
            ("contains_key", [k]) => {
                let key = self.map_key(scope, m, k)?;
                let found = TExpr { kind: TExprKind::Helper(helpers::MAP_LOOKUP, vec![HArg::MapRef(m), HArg::Ptr(key)]), ty: int(IntTy::U64), span };
                let zero = konst(0, span);
                Some(TExpr { kind: TExprKind::Compare(BinOp::Ne, IntTy::U64, Box::new(found), Box::new(zero)), ty: Ty::Bool, span })
            }
            (name, _) => {
                let n = args.len();
                let count = if n == 1 { "1 argument".to_string() } else { format!("{n} arguments") };
                self.error(Diag::error(format!("no method `{name}` with {count} on a map"), method.span, "unknown method")
                    .help("maps have `get(&k)` (in `if let`), `insert(k, v)`, `remove(&k)` and `contains_key(&k)`"));
                None
            }
        }
    }

    /// A key for map `m`: a scalar value or an aggregate place (`&` optional).
    pub(super) fn map_key(&mut self, scope: &mut FnScope, m: usize, e: &Expr) -> Option<Mem> {
        let ty = self.maps[m].key.clone();
        self.map_operand(scope, e, &ty)
    }

    fn map_value(&mut self, scope: &mut FnScope, m: usize, e: &Expr) -> Option<Mem> {
        let ty = self.maps[m].value.clone();
        self.map_operand(scope, e, &ty)
    }

    fn map_operand(&mut self, scope: &mut FnScope, e: &Expr, ty: &Ty) -> Option<Mem> {
        let inner = match &e.kind {
            ExprKind::Ref(inner, _) => inner,
            _ => e,
        };
        if ty.is_scalar() {
            let v = self.expect_ty(scope, inner, ty)?;
            return Some(Mem::Value(Box::new(v)));
        }
        let place = self.whole_place(scope, inner)?;
        if place.ty != *ty {
            self.mismatch(ty, &place.ty, inner.span);
            return None;
        }
        Some(Mem::Place(place))
    }

    /// A place without variable indices, named by `&place` or `place`.
    fn whole_place(&mut self, scope: &mut FnScope, e: &Expr) -> Option<Place> {
        let inner = match &e.kind {
            ExprKind::Ref(inner, _) => inner,
            _ => e,
        };
        let (lv, _) = self.lvalue(scope, inner, true)?;
        match lv {
            Lv::Mem(p) if p.indices.is_empty() => Some(p),
            Lv::Mem(_) => {
                self.error(Diag::error("a variable index is not allowed here", inner.span, "index with a constant")
                    .help("copy the element into a local variable first"));
                None
            }
            Lv::Local(_) => {
                self.error(Diag::error("expected a buffer", inner.span, "this is a scalar variable")
                    .help("use an array, e.g. `let mut buf = [0u8; 16];`"));
                None
            }
        }
    }

    fn byte_buffer(&mut self, scope: &mut FnScope, e: &Expr) -> Option<Place> {
        let p = self.whole_place(scope, e)?;
        match &p.ty {
            Ty::Array(elem, _) if **elem == Ty::Int(IntTy::U8) => Some(p),
            t => {
                let n = self.ty_name(t);
                self.error(Diag::error(format!("expected a byte buffer `[u8; N]`, found `{n}`"), e.span, "not a byte buffer"));
                None
            }
        }
    }

    /// The memory and length arguments of a helper: a string literal, or a
    /// place whose whole size is the length, or a byte buffer and a length.
    fn mem_and_len(&mut self, scope: &mut FnScope, m: &Expr, len: Option<&Expr>, min: u32, write: bool) -> Option<(HArg, HArg)> {
        if let ExprKind::Str(s) = &m.kind {
            if write {
                self.error(Diag::error("a string literal is read-only", m.span, "cannot be written"));
                return None;
            }
            if len.is_some() {
                self.error(Diag::error("a string literal carries its own length", m.span, "drop the length argument"));
                return None;
            }
            if (s.len() as u32) < min.max(1) {
                self.error(Diag::error("empty string", m.span, "at least one byte is needed"));
                return None;
            }
            let off = self.intern(s);
            return Some((HArg::Ptr(Mem::Rodata { offset: off }), HArg::Scalar(konst(s.len() as u64, m.span))));
        }
        if !matches!(m.kind, ExprKind::Ref(..)) {
            self.error(Diag::error("expected a reference to a buffer", m.span, "add `&`")
                .help("pass `&buf` (or `&mut buf` for a helper that writes)"));
            return None;
        }
        if write {
            let inner = match &m.kind {
                ExprKind::Ref(inner, _) => inner,
                _ => m,
            };
            if let Some((_, Err(why))) = self.lvalue(scope, inner, true) {
                self.error(why);
                return None;
            }
        }
        let p = match len {
            Some(_) => self.byte_buffer(scope, m)?,
            None => self.whole_place(scope, m)?,
        };
        let (size, _) = layout(&p.ty, &self.structs);
        let len = match len {
            None => HArg::Scalar(konst(size as u64, m.span)),
            Some(l) => {
                let v = self.widened(scope, l)?;
                match v.constant() {
                    Some(k) if k > size as u64 || k < min as u64 => {
                        self.error(Diag::error("length out of bounds", l.span, format!("the buffer holds {size} bytes")));
                        return None;
                    }
                    Some(k) => HArg::Scalar(konst(k, l.span)),
                    None => HArg::Len { value: v, min, max: size },
                }
            }
        };
        Some((HArg::Ptr(Mem::Place(p)), len))
    }

    /// A scalar argument as a u64 (integers keep their value; bools are 0 or 1).
    fn widened(&mut self, scope: &mut FnScope, e: &Expr) -> Option<TExpr> {
        let t = self.expr(scope, e, Some(&int(IntTy::U64)))?;
        if !t.ty.is_scalar() {
            return None;
        }
        if t.ty == int(IntTy::U64) {
            return Some(t);
        }
        let span = t.span;
        Some(match t.constant() {
            Some(v) => konst(v, span),
            None => TExpr { kind: TExprKind::Cast(Box::new(t)), ty: int(IntTy::U64), span },
        })
    }

    fn port(&mut self, scope: &mut FnScope, e: &Expr, width: u32) -> Option<TExpr> {
        let t = self.expr(scope, e, Some(&int(IntTy::U16)))?;
        let Some(p) = t.constant() else {
            self.error(Diag::error("a port number must be a constant", e.span, "not known at compile time")
                .help("name the port with a `const`, e.g. `const CMOS_INDEX: u16 = 0x70;`"));
            return None;
        };
        if !self.ports.iter().any(|r| (r.start as u64) <= p && p + width as u64 <= r.start as u64 + r.count as u64) {
            // The help, one declaration for every undeclared port of the
            // module, is added by `suggest_ports` once all are known.
            self.undeclared_ports.push((self.diags.len(), p, p + width as u64 - 1));
            self.error(Diag::error(format!("port {p:#x} is not declared"), e.span, "undeclared port"));
            return None;
        }
        Some(konst(p, e.span))
    }
}

impl Checker {
    /// Gives every "port is not declared" error the same help: the
    /// `ports` lines (`A..=B`, adjacent ports joined) that declare every
    /// port the module uses without declaring it.
    pub(super) fn suggest_ports(&mut self) {
        let mut runs: Vec<(u64, u64)> = self.undeclared_ports.iter().map(|&(_, lo, hi)| (lo, hi)).collect();
        runs.sort_unstable();
        let mut joined: Vec<(u64, u64)> = Vec::new();
        for (lo, hi) in runs {
            match joined.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => joined.push((lo, hi)),
            }
        }
        let lines: Vec<String> = joined.iter().map(|(lo, hi)| format!("`ports {lo:#x}..={hi:#x};`")).collect();
        let help = format!("declare the ports this module uses: {}", lines.join(" and "));
        for &(i, _, _) in &self.undeclared_ports {
            if let Some(d) = self.diags.get_mut(i) {
                d.help = Some(help.clone());
            }
        }
    }
}

fn konst(v: u64, span: Span) -> TExpr {
    konst_ty(v, int(IntTy::U64), span)
}

fn konst_ty(v: u64, ty: Ty, span: Span) -> TExpr {
    TExpr { kind: TExprKind::Const(v), ty, span }
}
