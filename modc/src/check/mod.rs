//! The type checker: resolves names, checks types and the module's shape
//! (header, entry points, helpers allowed in its class), folds constants,
//! and produces the [`crate::tir`] form. Every error found is reported; the
//! checker goes on after each one.
//!
//! * this file: items (header, structs, maps, ports, signatures);
//! * [`consts`]: constants, scalar ones folded, arrays in the read-only data;
//! * [`stmt`]: statements and places;
//! * [`expr`]: expressions and constant folding;
//! * [`loops`]: the bound of each `while` loop;
//! * [`builtins`]: helper calls, map methods and built-in functions.

mod builtins;
mod consts;
mod expr;
mod loops;
mod stmt;

use std::collections::{HashMap, HashSet};

use crate::ast::{self, Expr, ExprKind, Item, TypeExpr};
use crate::diag::{Diag, Span};
use crate::tir::*;
use lkm::class::{Class, ClassParams, MAJOR_ANY, SYSCALL_NEXT_FREE};
use lkm::ctx::CtxKind;

/// A local function's signature.
#[derive(Clone, Debug)]
struct Sig {
    name: String,
    params: Vec<Ty>,
    ret: Ty,
    entry: Option<CtxKind>,
    span: Span,
}

/// Everything known at module level.
pub struct Checker {
    pub diags: Vec<Diag>,
    class: Class,
    consts: HashMap<String, (Ty, u64)>,
    /// Constant arrays: their type and offset in the read-only data.
    const_data: HashMap<String, (Ty, u32)>,
    /// Constants whose definition had an error (their uses report nothing more).
    failed_consts: HashSet<String>,
    structs: Vec<StructDef>,
    struct_names: HashMap<String, usize>,
    maps: Vec<TMap>,
    map_names: HashMap<String, usize>,
    sigs: Vec<Sig>,
    fn_names: HashMap<String, usize>,
    rodata: Vec<u8>,
    ports: Vec<lkm::PortDecl>,
    /// Uses of undeclared ports: (index of the error in `diags`, first and last port).
    undeclared_ports: Vec<(usize, u64, u64)>,
    /// Calls made by each function: (callee, call span).
    calls: Vec<Vec<(usize, Span)>>,
    /// Whether the source had syntax errors (some checks would only repeat them).
    syntax_errors: bool,
    /// Whether the class is known (entry points are checked only then).
    class_known: bool,
}

/// Checks a parsed module. Returns the typed module when no error was found.
pub fn check(module: &ast::Module, syntax_errors: bool) -> (Option<Tir>, Vec<Diag>) {
    let Some(header) = &module.header else {
        return (None, Vec::new());
    };
    let mut c = Checker::new(syntax_errors);
    let params = c.header(header);
    c.items(&module.items);
    let fns: Vec<TFn> = module
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Fn(f) => Some(f),
            _ => None,
        })
        .enumerate()
        .filter_map(|(index, f)| c.function(index, f))
        .collect();
    c.entry_points(header);
    c.call_graph();
    c.suggest_ports();
    let ok = !c.diags.iter().any(|d| d.level == crate::diag::Level::Error);
    let tir = match params {
        Some(params) if ok => Some(Tir {
            name: header.name.name.clone(),
            params,
            structs: c.structs,
            maps: c.maps,
            fns,
            rodata: c.rodata,
            ports: c.ports,
        }),
        _ => None,
    };
    (tir, c.diags)
}

/// A module's name, class parameters and ports.
pub type ModuleHeader = (String, ClassParams, Vec<lkm::PortDecl>);

/// Checks a module's header and port declarations alone (a C module's
/// `MODULE` and `PORTS` lines, which hold `.wm` header text): its name,
/// class parameters and ports.
pub fn header_only(module: &ast::Module) -> (Option<ModuleHeader>, Vec<Diag>) {
    let Some(header) = &module.header else {
        return (None, Vec::new());
    };
    let mut c = Checker::new(false);
    let params = c.header(header);
    c.items(&module.items);
    let ok = !c.diags.iter().any(|d| d.level == crate::diag::Level::Error);
    (params.filter(|_| ok).map(|p| (header.name.name.clone(), p, c.ports)), c.diags)
}

impl Checker {
    fn new(syntax_errors: bool) -> Checker {
        Checker {
            diags: Vec::new(),
            class: Class::Misc,
            consts: HashMap::new(),
            const_data: HashMap::new(),
            failed_consts: HashSet::new(),
            structs: Vec::new(),
            struct_names: HashMap::new(),
            maps: Vec::new(),
            map_names: HashMap::new(),
            sigs: Vec::new(),
            fn_names: HashMap::new(),
            rodata: Vec::new(),
            ports: Vec::new(),
            undeclared_ports: Vec::new(),
            calls: Vec::new(),
            syntax_errors,
            class_known: false,
        }
    }

    fn error(&mut self, d: Diag) {
        self.diags.push(d);
    }

    fn header(&mut self, h: &ast::Header) -> Option<ClassParams> {
        if !lkm::class::valid_name(h.name.name.as_bytes()) {
            self.error(
                Diag::error("invalid module name", h.name.span, "1 to 32 letters, digits, `_`, `-` or `.`")
                    .note(format!("module names are at most {} bytes (MAXLKMNAME)", lkm::MAXLKMNAME)),
            );
        }
        let Some(class) = Class::from_name(&h.class.name) else {
            self.error(
                Diag::error(format!("unknown module class `{}`", h.class.name), h.class.span, "not a class")
                    .help("the classes are `syscall`, `vfs`, `dev`, `exec` and `misc`"),
            );
            return None;
        };
        self.class = class;
        self.class_known = true;
        let usage = match class {
            Class::Syscall => "`syscall(NUMBER)` or `syscall(next)`",
            Class::Vfs => "`vfs(\"fstype\")`",
            Class::Dev => "`dev(\"name\")` or `dev(MAJOR, \"name\")`",
            Class::Exec => "`exec`",
            Class::Misc => "`misc`",
        };
        let bad = |c: &mut Checker, span: Span| {
            c.error(
                Diag::error(format!("wrong parameters for class `{}`", class.name()), span, "here")
                    .help(format!("write {usage}")),
            );
            None
        };
        let string = |c: &mut Checker, e: &Expr| -> Option<String> {
            match &e.kind {
                ExprKind::Str(s) if lkm::class::valid_name(s) => Some(String::from_utf8_lossy(s).into_owned()),
                ExprKind::Str(_) => {
                    c.error(Diag::error("invalid name", e.span, "1 to 32 letters, digits, `_`, `-` or `.`"));
                    None
                }
                _ => None,
            }
        };
        let p = &h.params;
        match class {
            Class::Syscall => match p.as_slice() {
                [Expr { kind: ExprKind::Var(v), .. }] if v == "next" => Some(ClassParams::Syscall { nr: SYSCALL_NEXT_FREE }),
                [e] => {
                    let nr = self.const_u64(e)?;
                    if nr >= SYSCALL_NEXT_FREE as u64 {
                        self.error(Diag::error("system call number out of range", e.span, "too large"));
                        return None;
                    }
                    Some(ClassParams::Syscall { nr: nr as u32 })
                }
                _ => bad(self, h.span),
            },
            Class::Vfs => match p.as_slice() {
                [e] => string(self, e).map(|fstype| ClassParams::Vfs { fstype }).or_else(|| bad(self, e.span)),
                _ => bad(self, h.span),
            },
            Class::Dev => match p.as_slice() {
                [n] => string(self, n).map(|name| ClassParams::Dev { major: MAJOR_ANY, name }).or_else(|| bad(self, n.span)),
                [m, n] => {
                    let major = self.const_u64(m)?;
                    if major > u32::MAX as u64 {
                        self.error(Diag::error("major number out of range", m.span, "too large"));
                        return None;
                    }
                    string(self, n).map(|name| ClassParams::Dev { major: major as u32, name }).or_else(|| bad(self, n.span))
                }
                _ => bad(self, h.span),
            },
            Class::Exec if p.is_empty() => Some(ClassParams::Exec),
            Class::Misc if p.is_empty() => Some(ClassParams::Misc),
            _ => bad(self, h.span),
        }
    }

    /// A constant expression's value as u64 (module-level contexts).
    fn const_u64(&mut self, e: &Expr) -> Option<u64> {
        let mut scope = stmt::FnScope::module_level();
        let t = self.expr(&mut scope, e, Some(&Ty::Int(IntTy::U64)))?;
        match t.constant() {
            Some(v) if t.ty.is_scalar() => Some(v),
            _ => {
                self.error(Diag::error("expected a constant", e.span, "not known at compile time"));
                None
            }
        }
    }

    fn items(&mut self, items: &[Item]) {
        // Structs and consts first, in order, so later items can use them.
        for item in items {
            match item {
                Item::Struct { name, fields } => self.struct_item(name, fields),
                Item::Const { name, ty, value } => {
                    if !self.const_item(name, ty, value) {
                        self.failed_consts.insert(name.name.clone());
                    }
                }
                _ => {}
            }
        }
        for item in items {
            match item {
                Item::Map { name, kind, key, value, size } => self.map_item(name, kind, key.as_ref(), value, size),
                Item::Ports { start, end, inclusive, span } => {
                    let (Some(s), Some(e)) = (self.const_u64(start), self.const_u64(end)) else { continue };
                    let e = if *inclusive { e + 1 } else { e };
                    if self.class != Class::Dev {
                        self.error(
                            Diag::error("only device drivers declare ports", *span, "not allowed in this class")
                                .help("declare the module with `dev(\"name\")`"),
                        );
                    } else if s >= e || e > 0x1_0000 {
                        self.error(Diag::error("empty or invalid port range", *span, "ports are 0 to 0xffff"));
                    } else {
                        self.ports.push(lkm::PortDecl { start: s as u16, count: (e - s) as u16 });
                    }
                }
                Item::Fn(f) => self.signature(f),
                _ => {}
            }
        }
    }

    fn struct_item(&mut self, name: &ast::Ident, fields: &[(ast::Ident, TypeExpr)]) {
        let mut out: Vec<(String, Ty, u32)> = Vec::new();
        let (mut offset, mut align, mut used) = (0u32, 1u32, 0u32);
        for (f, te) in fields {
            let Some(t) = self.ty(te) else { continue };
            if out.iter().any(|(n, _, _)| *n == f.name) {
                self.error(Diag::error(format!("field `{}` is declared twice", f.name), f.span, "again here"));
                continue;
            }
            let (size, a) = layout(&t, &self.structs);
            offset = offset.div_ceil(a) * a;
            out.push((f.name.clone(), t, offset));
            offset = offset.saturating_add(size);
            used = used.saturating_add(size);
            align = align.max(a);
        }
        let size = offset.div_ceil(align) * align;
        if self.struct_names.contains_key(&name.name) {
            self.error(Diag::error(format!("struct `{}` is defined twice", name.name), name.span, "redefined"));
            return;
        }
        self.struct_names.insert(name.name.clone(), self.structs.len());
        self.structs.push(StructDef { name: name.name.clone(), fields: out, size, align, padded: used != size });
    }

    fn map_item(&mut self, name: &ast::Ident, kind: &ast::Ident, key: Option<&TypeExpr>, value: &TypeExpr, size: &Expr) {
        let Some(v) = self.ty(value) else { return };
        let (kind, k) = match (kind.name.as_str(), key) {
            ("hash", Some(k)) => match self.ty(k) {
                Some(k) => (lkm::MapKind::Hash, k),
                None => return,
            },
            ("array", None) => (lkm::MapKind::Array, Ty::Int(IntTy::U32)),
            ("percpu_array", None) => (lkm::MapKind::PerCpuArray, Ty::Int(IntTy::U32)),
            _ => {
                self.error(
                    Diag::error("invalid map type", kind.span, "expected `hash<K, V>`, `array<V>` or `percpu_array<V>`")
                        .help("e.g. `map counts: hash<u32, u64>[64];` or `map regs: array<u64>[8];`"),
                );
                return;
            }
        };
        let Some(n) = self.const_u64(size) else { return };
        let (ks, _) = layout(&k, &self.structs);
        let (vs, _) = layout(&v, &self.structs);
        if n == 0 || n > lkm::image::MAX_ENTRIES as u64 {
            self.error(Diag::error("invalid map size", size.span, "1 to 1048576 entries"));
        } else if ks == 0 || ks > lkm::image::MAX_KEY_SIZE || vs == 0 || vs > lkm::image::MAX_VALUE_SIZE {
            self.error(Diag::error("map key or value too large", name.span, "keys 1..512 bytes, values 1..65536"));
        } else if self.map_names.contains_key(&name.name) {
            self.error(Diag::error(format!("map `{}` is defined twice", name.name), name.span, "redefined"));
        } else {
            self.map_names.insert(name.name.clone(), self.maps.len());
            self.maps.push(TMap { name: name.name.clone(), kind, key: k, value: v, max_entries: n as u32 });
        }
    }

    fn signature(&mut self, f: &ast::FnItem) {
        let entry = self.class.entry(&f.name.name);
        let mut params = Vec::new();
        for (p, te) in &f.params {
            match te {
                TypeExpr::Ref(inner, _) => {
                    let expected = entry.map(|e| lkm::ctx::type_name(e.ctx));
                    match (&**inner, expected) {
                        (TypeExpr::Named(n), Some(exp)) if n.name == exp => params.push(Ty::Unit),
                        (_, Some(exp)) => {
                            self.error(
                                Diag::error("unexpected reference parameter", te.span(), "not allowed here")
                                    .help(format!("an entry point takes `{}: &{exp}`", p.name)),
                            );
                            params.push(Ty::Unit);
                        }
                        (_, None) => {
                            self.not_an_entry_point(f, te.span());
                            params.push(Ty::Unit);
                        }
                    }
                }
                _ => match self.ty(te) {
                    Some(t) if t.is_scalar() => params.push(t),
                    Some(_) => {
                        self.error(
                            Diag::error("parameters are integers or booleans", te.span(), "aggregate parameter")
                                .help("pass the values you need one by one, or keep the data in a map"),
                        );
                        params.push(Ty::Unit);
                    }
                    None => params.push(Ty::Unit),
                },
            }
        }
        let ret = match &f.ret {
            None => Ty::Unit,
            Some(te) => match self.ty(te) {
                Some(t) if t.is_scalar() => t,
                Some(_) => {
                    self.error(Diag::error("functions return integers or booleans", te.span(), "aggregate result")
                        .help("write the result into a map value instead"));
                    // Checking goes on as if it returned a u64.
                    Ty::Int(IntTy::U64)
                }
                None => Ty::Unit,
            },
        };
        if let Some(e) = entry {
            let exp = format!("fn {}(ctx: &{}) -> i64", e.name, lkm::ctx::type_name(e.ctx));
            let ok = f.params.len() == 1 && matches!(f.params[0].1, TypeExpr::Ref(..)) && ret == Ty::Int(IntTy::I64);
            if !ok {
                self.error(
                    Diag::error(format!("entry point `{}` has the wrong signature", e.name), f.sig_span, "mistyped entry point")
                        .help(format!("write `{exp}`")),
                );
            }
        }
        if self.fn_names.contains_key(&f.name.name) {
            self.error(Diag::error(format!("function `{}` is defined twice", f.name.name), f.name.span, "redefined"));
        }
        if lkm::helpers::by_name(&f.name.name).is_some() || builtins::is_builtin(&f.name.name) {
            self.error(
                Diag::error(format!("`{}` is the name of a helper", f.name.name), f.name.span, "reserved name")
                    .help("rename the function"),
            );
        }
        self.fn_names.insert(f.name.name.clone(), self.sigs.len());
        self.sigs.push(Sig { name: f.name.name.clone(), params, ret, entry: entry.map(|e| e.ctx), span: f.name.span });
        self.calls.push(Vec::new());
    }

    /// A function taking a context reference whose name is no entry point
    /// of the module's class: names the class's entry points, and the
    /// classes that have one of this name.
    fn not_an_entry_point(&mut self, f: &ast::FnItem, span: Span) {
        if !self.class_known {
            // The unknown class is the error to fix first.
            return;
        }
        let name = &f.name.name;
        let class = self.class.name();
        let own: Vec<String> = self.class.entries().iter().map(|e| format!("`{}`", e.name)).collect();
        let others: Vec<&str> = Class::ALL.iter().filter(|c| c.entry(name).is_some()).map(|c| c.name()).collect();
        let mut d = Diag::error(format!("`{name}` is not an entry point of a `{class}` module"), span, "only entry points take a reference (their context)")
            .note(match own.as_slice() {
                [one] => format!("a `{class}` module has one entry point, {one}"),
                all => format!("a `{class}` module's entry points are {}", all.join(", ")),
            });
        if !others.is_empty() {
            d = d.note(format!("`{name}` is an entry point of `{}` modules", others.join("`, `")));
        }
        self.error(d.help(format!("remove `{name}`, or make it a local function taking integers (called from an entry point)")));
    }

    fn entry_points(&mut self, h: &ast::Header) {
        if !self.class_known {
            return;
        }
        let mut any = false;
        for e in self.class.entries() {
            let present = self.sigs.iter().any(|s| s.name == e.name);
            any |= present;
            if e.required && !present {
                self.error(
                    Diag::error(format!("missing entry point `{}`", e.name), h.span, format!("this `{}` module", self.class.name()))
                        .help(format!("add `fn {}(ctx: &{}) -> i64 {{ ... }}`", e.name, lkm::ctx::type_name(e.ctx))),
                );
            }
        }
        if !any && !self.class.entries().iter().any(|e| e.required) {
            let names: Vec<&str> = self.class.entries().iter().map(|e| e.name).collect();
            self.error(
                Diag::error("the module has no entry point", h.span, "nothing to load")
                    .help(format!("a `{}` module has some of: {}", self.class.name(), names.join(", "))),
            );
        }
    }

    /// Refuses recursion and call chains deeper than the verifier allows.
    fn call_graph(&mut self) {
        let n = self.sigs.len();
        let mut depth: Vec<Option<u32>> = vec![None; n];
        let mut on_path = vec![false; n];
        fn visit(c: &mut Checker, f: usize, depth: &mut Vec<Option<u32>>, on_path: &mut Vec<bool>) -> u32 {
            if let Some(d) = depth[f] {
                return d;
            }
            on_path[f] = true;
            let mut d = 1;
            for (callee, span) in c.calls[f].clone() {
                if on_path[callee] {
                    let name = c.sigs[callee].name.clone();
                    c.error(
                        Diag::error(format!("recursive call of `{name}`"), span, "recursion")
                            .note("module code may not recurse: the verifier bounds the call depth")
                            .help("rewrite the recursion as a loop"),
                    );
                    continue;
                }
                d = d.max(1 + visit(c, callee, depth, on_path));
            }
            on_path[f] = false;
            depth[f] = Some(d);
            d
        }
        for f in 0..n {
            let d = visit(self, f, &mut depth, &mut on_path);
            if self.sigs[f].entry.is_some() && d > 8 {
                let span = self.sigs[f].span;
                self.error(
                    Diag::error("calls nest too deeply", span, format!("{d} nested function calls from here"))
                        .note("at most 8 frames (the entry point and 7 nested calls) are allowed"),
                );
            }
        }
    }

    /// Resolves a written type.
    fn ty(&mut self, te: &TypeExpr) -> Option<Ty> {
        match te {
            TypeExpr::Named(n) => {
                if let Some(t) = IntTy::from_name(&n.name) {
                    return Some(Ty::Int(t));
                }
                if n.name == "bool" {
                    return Some(Ty::Bool);
                }
                if let Some(&i) = self.struct_names.get(&n.name) {
                    return Some(Ty::Struct(i));
                }
                self.error(
                    Diag::error(format!("unknown type `{}`", n.name), n.span, "not a type")
                        .help("the types are u8 u16 u32 u64 i32 i64 bool, arrays `[T; N]` and structs"),
                );
                None
            }
            TypeExpr::Array(e, n, span) => {
                let elem = self.ty(e)?;
                let count = self.const_u64(n)?;
                let (size, _) = layout(&elem, &self.structs);
                if count == 0 || count.saturating_mul(size as u64) > 65_536 {
                    self.error(Diag::error("invalid array length", *span, "1 to 65536 bytes in all"));
                    return None;
                }
                Some(Ty::Array(Box::new(elem), count as u32))
            }
            TypeExpr::Ref(_, span) => {
                self.error(Diag::error("references are only allowed as an entry point's context parameter", *span, "here"));
                None
            }
        }
    }

    fn ty_name(&self, t: &Ty) -> String {
        match t {
            Ty::Int(i) => i.name().into(),
            Ty::Bool => "bool".into(),
            Ty::Array(e, n) => format!("[{}; {n}]", self.ty_name(e)),
            Ty::Struct(i) => self.structs.get(*i).map_or("?".into(), |s| s.name.clone()),
            Ty::Unit => "()".into(),
        }
    }

    fn mismatch(&mut self, expected: &Ty, found: &Ty, span: Span) {
        let (e, f) = (self.ty_name(expected), self.ty_name(found));
        let mut d = Diag::error("mismatched types", span, format!("expected `{e}`, found `{f}`"));
        if let (Ty::Int(_), Ty::Int(_)) = (expected, found) {
            d = d.help(format!("convert explicitly with `as {e}`"));
        }
        self.error(d);
    }
}
