//! A recursive-descent parser from tokens to the [`crate::ast`]. On an error
//! it reports, skips to the next `;` or `}` and goes on, so that one run
//! shows every syntax error.

use crate::ast::*;
use crate::diag::{Diag, Span};
use crate::lexer::{Tok, Token};

/// Deepest nesting of expressions and blocks the parser follows (each
/// operator of a chain counts as one level).
const MAX_DEPTH: usize = 128;

pub struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    pub diags: Vec<Diag>,
}

/// Marks that an error was reported and parsing should resynchronise.
struct Bail;
type PResult<T> = Result<T, Bail>;

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Int(v, _) => format!("`{v}`"),
        Tok::Str(_) => "a string literal".into(),
        Tok::Byte(_) => "a byte literal".into(),
        Tok::Punct(p) => format!("`{p}`"),
        Tok::Eof => "the end of the file".into(),
    }
}

const KEYWORDS: &[&str] = &[
    "module", "const", "map", "struct", "fn", "let", "mut", "if", "else", "while", "for", "in", "break", "continue",
    "return", "true", "false", "as", "ports",
];

impl<'a> Parser<'a> {
    pub fn new(toks: &'a [Token]) -> Parser<'a> {
        Parser { toks, pos: 0, depth: 0, diags: Vec::new() }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }
    fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }
    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1).min(self.toks.len() - 1)].span
    }
    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == k)
    }
    fn eat(&mut self, p: &str) -> bool {
        let yes = self.is(p);
        if yes {
            self.bump();
        }
        yes
    }
    fn eat_kw(&mut self, k: &str) -> bool {
        let yes = self.is_kw(k);
        if yes {
            self.bump();
        }
        yes
    }
    fn error_here(&mut self, expected: &str) -> Bail {
        let found = describe(self.peek());
        self.diags.push(Diag::error(format!("expected {expected}, found {found}"), self.span(), format!("expected {expected}")));
        Bail
    }
    fn expect(&mut self, p: &str) -> PResult<Span> {
        if self.is(p) {
            Ok(self.bump().span)
        } else {
            Err(self.error_here(&format!("`{p}`")))
        }
    }
    fn ident(&mut self) -> PResult<Ident> {
        match self.peek().clone() {
            Tok::Ident(name) if !KEYWORDS.contains(&name.as_str()) => {
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.error_here("a name")),
        }
    }
    /// Skips to just after the next `;` or to the next `}` at this level.
    fn recover(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                Tok::Punct(";") if depth == 0 => {
                    self.bump();
                    return;
                }
                _ => {}
            }
            self.bump();
        }
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.diags.push(
                Diag::error("nesting too deep", self.span(), "the parser stops here")
                    .help(format!("split the expression or block; at most {MAX_DEPTH} levels are allowed")),
            );
            return Err(Bail);
        }
        Ok(())
    }

    /// Parses a whole module.
    pub fn module(&mut self) -> Module {
        let header = if self.is_kw("module") {
            match self.header() {
                Ok(h) => Some(h),
                Err(Bail) => {
                    self.recover();
                    None
                }
            }
        } else {
            self.diags.push(
                Diag::error("missing module header", self.span(), "expected `module NAME: CLASS(...);` first")
                    .help("start the file with e.g. `module hello: misc;`"),
            );
            None
        };
        let mut items = Vec::new();
        while *self.peek() != Tok::Eof {
            let before = self.pos;
            self.depth = 0;
            match self.item() {
                Ok(item) => items.push(item),
                Err(Bail) => {
                    self.recover();
                    if self.is("}") {
                        self.bump();
                    }
                }
            }
            if self.pos == before {
                self.bump();
            }
        }
        Module { header, items }
    }

    fn header(&mut self) -> PResult<Header> {
        let start = self.bump().span;
        let name = self.ident()?;
        self.expect(":")?;
        let class = self.ident()?;
        let mut params = Vec::new();
        if self.eat("(") {
            while !self.is(")") {
                params.push(self.expr(false)?);
                if !self.eat(",") {
                    break;
                }
            }
            self.expect(")")?;
        }
        let end = self.expect(";")?;
        Ok(Header { name, class, params, span: start.to(end) })
    }

    fn item(&mut self) -> PResult<Item> {
        if self.eat_kw("const") {
            let name = self.ident()?;
            self.expect(":")?;
            let ty = self.ty()?;
            self.expect("=")?;
            let value = self.expr(false)?;
            self.expect(";")?;
            Ok(Item::Const { name, ty, value })
        } else if self.eat_kw("map") {
            let name = self.ident()?;
            self.expect(":")?;
            let kind = self.ident()?;
            self.expect("<")?;
            let first = self.ty()?;
            let (key, value) = if self.eat(",") { (Some(first), self.ty()?) } else { (None, first) };
            self.expect(">")?;
            self.expect("[")?;
            let size = self.expr(false)?;
            self.expect("]")?;
            self.expect(";")?;
            Ok(Item::Map { name, kind, key, value, size })
        } else if self.eat_kw("struct") {
            let name = self.ident()?;
            self.expect("{")?;
            let mut fields = Vec::new();
            while !self.is("}") {
                let f = self.ident()?;
                self.expect(":")?;
                fields.push((f, self.ty()?));
                if !self.eat(",") {
                    break;
                }
            }
            self.expect("}")?;
            Ok(Item::Struct { name, fields })
        } else if self.is_kw("ports") {
            let start_span = self.bump().span;
            let start = self.expr(false)?;
            let inclusive = if self.eat("..=") {
                true
            } else {
                self.expect("..")?;
                false
            };
            let end = self.expr(false)?;
            let end_span = self.expect(";")?;
            Ok(Item::Ports { start, end, inclusive, span: start_span.to(end_span) })
        } else if self.is_kw("fn") {
            let start = self.bump().span;
            let name = self.ident()?;
            self.expect("(")?;
            let mut params = Vec::new();
            while !self.is(")") {
                let p = self.ident()?;
                self.expect(":")?;
                params.push((p, self.ty()?));
                if !self.eat(",") {
                    break;
                }
            }
            let mut sig_end = self.expect(")")?;
            let ret = if self.eat("->") {
                let t = self.ty()?;
                sig_end = t.span();
                Some(t)
            } else {
                None
            };
            let body = self.block()?;
            Ok(Item::Fn(FnItem { name, params, ret, body, sig_span: start.to(sig_end) }))
        } else {
            Err(self.error_here("an item (`const`, `map`, `struct`, `ports` or `fn`)"))
        }
    }

    fn ty(&mut self) -> PResult<TypeExpr> {
        let start = self.span();
        if self.eat("&") {
            self.eat_kw("mut");
            let inner = self.ty()?;
            let span = start.to(inner.span());
            return Ok(TypeExpr::Ref(Box::new(inner), span));
        }
        if self.eat("[") {
            let elem = self.ty()?;
            self.expect(";")?;
            let n = self.expr(false)?;
            let end = self.expect("]")?;
            return Ok(TypeExpr::Array(Box::new(elem), Box::new(n), start.to(end)));
        }
        Ok(TypeExpr::Named(self.ident()?))
    }

    fn block(&mut self) -> PResult<Block> {
        self.enter()?;
        let start = self.expect("{")?;
        let mut stmts = Vec::new();
        while !self.is("}") && *self.peek() != Tok::Eof {
            let (before, depth) = (self.pos, self.depth);
            match self.stmt() {
                Ok(s) => stmts.push(s),
                Err(Bail) => {
                    self.depth = depth;
                    self.recover();
                }
            }
            if self.pos == before {
                self.bump();
            }
        }
        let end = self.expect("}")?;
        self.depth -= 1;
        Ok(Block { stmts, span: start.to(end) })
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        if self.eat_kw("let") {
            let mutable = self.eat_kw("mut");
            let name = self.ident()?;
            let ty = if self.eat(":") { Some(self.ty()?) } else { None };
            self.expect("=")?;
            // A broken initialiser still declares the name, so that its
            // uses are not reported again.
            let depth = self.depth;
            let init = match self.expr(false) {
                Ok(e) => e,
                Err(Bail) => {
                    self.depth = depth;
                    let span = self.span();
                    self.recover();
                    return Ok(Stmt::Let { name, mutable, ty, init: Expr { kind: ExprKind::Error, span }, span: start.to(span) });
                }
            };
            let end = self.expect(";")?;
            return Ok(Stmt::Let { name, mutable, ty, init, span: start.to(end) });
        }
        if self.is_kw("if") {
            return self.if_stmt();
        }
        if self.eat_kw("while") {
            let cond = self.expr(true)?;
            let max = if self.eat_kw("max") { Some(self.expr(true)?) } else { None };
            let body = self.block()?;
            let span = start.to(body.span);
            return Ok(Stmt::While { cond, max, body, span });
        }
        if self.eat_kw("for") {
            let var = self.ident()?;
            if !self.eat_kw("in") {
                return Err(self.error_here("`in`"));
            }
            let from = self.expr_bp(true, 1)?;
            self.expect("..")?;
            let to = self.expr(true)?;
            let body = self.block()?;
            let span = start.to(body.span);
            return Ok(Stmt::For { var, start: from, end: to, body, span });
        }
        if self.eat_kw("break") {
            let end = self.expect(";")?;
            return Ok(Stmt::Break(start.to(end)));
        }
        if self.eat_kw("continue") {
            let end = self.expect(";")?;
            return Ok(Stmt::Continue(start.to(end)));
        }
        if self.eat_kw("return") {
            let value = if self.is(";") { None } else { Some(self.expr(false)?) };
            let end = self.expect(";")?;
            return Ok(Stmt::Return(value, start.to(end)));
        }
        if self.is("{") {
            return Ok(Stmt::Block(self.block()?));
        }
        let e = self.expr(false)?;
        let op = match self.peek() {
            Tok::Punct("=") => Some(None),
            Tok::Punct(p) if p.len() >= 2 && p.ends_with('=') && !matches!(*p, "==" | "!=" | "<=" | ">=") => {
                Some(Some(compound_op(p)))
            }
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let value = self.expr(false)?;
            let end = self.expect(";")?;
            return Ok(Stmt::Assign { place: e, op, value, span: start.to(end) });
        }
        let end = self.expect(";")?;
        let _ = end;
        Ok(Stmt::Expr(e))
    }

    fn if_stmt(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let start = self.bump().span;
        let result = if self.eat_kw("let") {
            match self.peek() {
                Tok::Ident(s) if s == "Some" => {
                    self.bump();
                }
                _ => return Err(self.error_here("`Some`")),
            }
            self.expect("(")?;
            let name = self.ident()?;
            self.expect(")")?;
            self.expect("=")?;
            let map = self.ident()?;
            self.expect(".")?;
            let method = self.ident()?;
            if method.name != "get" {
                self.diags.push(
                    Diag::error("`if let` needs a map lookup", method.span, "expected `get`")
                        .help("write `if let Some(v) = MAP.get(&key) { ... }`"),
                );
                return Err(Bail);
            }
            self.expect("(")?;
            let key = self.expr(false)?;
            self.expect(")")?;
            let then = self.block()?;
            let els = self.else_part()?;
            let span = start.to(then.span);
            Stmt::IfLet { name, map, key, then, els, span }
        } else {
            let cond = self.expr(true)?;
            let then = self.block()?;
            let els = self.else_part()?;
            let span = start.to(then.span);
            Stmt::If { cond, then, els, span }
        };
        self.depth -= 1;
        Ok(result)
    }

    fn else_part(&mut self) -> PResult<Option<Box<Stmt>>> {
        if !self.eat_kw("else") {
            return Ok(None);
        }
        if self.is_kw("if") {
            return Ok(Some(Box::new(self.if_stmt()?)));
        }
        Ok(Some(Box::new(Stmt::Block(self.block()?))))
    }

    /// An expression; `no_struct` forbids `Name { .. }` (conditions, ranges).
    fn expr(&mut self, no_struct: bool) -> PResult<Expr> {
        self.expr_bp(no_struct, 0)
    }

    fn expr_bp(&mut self, no_struct: bool, min: u8) -> PResult<Expr> {
        self.enter()?;
        let mut lhs = self.unary(no_struct)?;
        let start_depth = self.depth;
        loop {
            // Every operator adds a level to the tree: chains count
            // against the same bound as nesting.
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                self.diags.push(
                    Diag::error("expression too long", lhs.span, "too many operators in one expression")
                        .help(format!("split it with `let`; at most {MAX_DEPTH} levels are allowed")),
                );
                return Err(Bail);
            }
            if self.is_kw("as") {
                if min > 11 {
                    break;
                }
                self.bump();
                let ty = self.ty()?;
                let span = lhs.span.to(ty.span());
                lhs = Expr { kind: ExprKind::Cast(Box::new(lhs), ty), span };
                continue;
            }
            let Some((op, bp)) = (match self.peek() {
                Tok::Punct(p) => binop(p),
                _ => None,
            }) else {
                break;
            };
            if bp < min {
                break;
            }
            self.bump();
            let rhs = self.expr_bp(no_struct, bp + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span };
        }
        self.depth = start_depth - 1;
        Ok(lhs)
    }

    fn unary(&mut self, no_struct: bool) -> PResult<Expr> {
        self.enter()?;
        let start = self.span();
        let e = if self.eat("-") {
            let e = self.unary(no_struct)?;
            Expr { span: start.to(e.span), kind: ExprKind::Unary(UnOp::Neg, Box::new(e)) }
        } else if self.eat("!") {
            let e = self.unary(no_struct)?;
            Expr { span: start.to(e.span), kind: ExprKind::Unary(UnOp::Not, Box::new(e)) }
        } else if self.eat("&") {
            let mutable = self.eat_kw("mut");
            let e = self.unary(no_struct)?;
            Expr { span: start.to(e.span), kind: ExprKind::Ref(Box::new(e), mutable) }
        } else if self.eat("*") {
            let e = self.unary(no_struct)?;
            Expr { span: start.to(e.span), kind: ExprKind::Deref(Box::new(e)) }
        } else {
            self.postfix(no_struct)?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn postfix(&mut self, no_struct: bool) -> PResult<Expr> {
        let mut e = self.primary(no_struct)?;
        let mut links = 0usize;
        loop {
            links += 1;
            if self.depth + links > MAX_DEPTH {
                self.diags.push(Diag::error("expression too long", e.span, "too many fields or indices in a row"));
                return Err(Bail);
            }
            if self.eat(".") {
                let field = self.ident()?;
                if self.is("(") {
                    let ExprKind::Var(recv) = &e.kind else {
                        self.diags.push(Diag::error("methods are called on maps only", e.span, "not a map name"));
                        return Err(Bail);
                    };
                    let recv = Ident { name: recv.clone(), span: e.span };
                    let args = self.args()?;
                    e = Expr { span: e.span.to(self.prev_span()), kind: ExprKind::Method(recv, field, args) };
                } else {
                    e = Expr { span: e.span.to(field.span), kind: ExprKind::Field(Box::new(e), field) };
                }
            } else if self.eat("[") {
                let index = self.expr(false)?;
                let end = self.expect("]")?;
                e = Expr { span: e.span.to(end), kind: ExprKind::Index(Box::new(e), Box::new(index)) };
            } else {
                return Ok(e);
            }
        }
    }

    fn args(&mut self) -> PResult<Vec<Expr>> {
        self.expect("(")?;
        let mut args = Vec::new();
        while !self.is(")") {
            args.push(self.expr(false)?);
            if !self.eat(",") {
                break;
            }
        }
        self.expect(")")?;
        Ok(args)
    }

    fn primary(&mut self, no_struct: bool) -> PResult<Expr> {
        let start = self.span();
        match self.peek().clone() {
            Tok::Int(v, suffix) => {
                self.bump();
                Ok(Expr { kind: ExprKind::Int(v, suffix), span: start })
            }
            Tok::Byte(b) => {
                self.bump();
                Ok(Expr { kind: ExprKind::Int(b as u64, Some("u8".into())), span: start })
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr { kind: ExprKind::Str(s), span: start })
            }
            Tok::Ident(s) if s == "true" || s == "false" => {
                self.bump();
                Ok(Expr { kind: ExprKind::Bool(s == "true"), span: start })
            }
            Tok::Ident(_) => {
                let name = self.ident()?;
                if self.is("(") {
                    let args = self.args()?;
                    return Ok(Expr { span: start.to(self.prev_span()), kind: ExprKind::Call(name, args) });
                }
                if !no_struct && self.is("{") && name.name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    self.bump();
                    let mut fields = Vec::new();
                    while !self.is("}") {
                        let f = self.ident()?;
                        self.expect(":")?;
                        fields.push((f, self.expr(false)?));
                        if !self.eat(",") {
                            break;
                        }
                    }
                    let end = self.expect("}")?;
                    return Ok(Expr { span: start.to(end), kind: ExprKind::StructLit(name, fields) });
                }
                Ok(Expr { kind: ExprKind::Var(name.name), span: name.span })
            }
            Tok::Punct("(") => {
                self.bump();
                let e = self.expr(false)?;
                let end = self.expect(")")?;
                Ok(Expr { span: start.to(end), kind: e.kind })
            }
            Tok::Punct("[") => {
                self.bump();
                if self.is("]") {
                    self.diags.push(Diag::error("empty array literal", start.to(self.span()), "arrays have at least one element"));
                    return Err(Bail);
                }
                let first = self.expr(false)?;
                if self.eat(";") {
                    let n = self.expr(false)?;
                    let end = self.expect("]")?;
                    return Ok(Expr { span: start.to(end), kind: ExprKind::Repeat(Box::new(first), Box::new(n)) });
                }
                let mut items = vec![first];
                while self.eat(",") {
                    if self.is("]") {
                        break;
                    }
                    items.push(self.expr(false)?);
                }
                let end = self.expect("]")?;
                Ok(Expr { span: start.to(end), kind: ExprKind::List(items) })
            }
            _ => Err(self.error_here("an expression")),
        }
    }
}

fn binop(p: &str) -> Option<(BinOp, u8)> {
    use BinOp::*;
    Some(match p {
        "||" => (LogOr, 1),
        "&&" => (LogAnd, 2),
        "==" => (Eq, 3),
        "!=" => (Ne, 3),
        "<" => (Lt, 3),
        "<=" => (Le, 3),
        ">" => (Gt, 3),
        ">=" => (Ge, 3),
        "|" => (Or, 4),
        "^" => (Xor, 5),
        "&" => (And, 6),
        "<<" => (Shl, 7),
        ">>" => (Shr, 7),
        "+" => (Add, 8),
        "-" => (Sub, 8),
        "*" => (Mul, 9),
        "/" => (Div, 9),
        "%" => (Rem, 9),
        _ => return None,
    })
}

fn compound_op(p: &str) -> BinOp {
    binop(&p[..p.len() - 1]).map_or(BinOp::Add, |(op, _)| op)
}

/// Parses a module, returning it with the syntax errors found.
pub fn parse(toks: &[Token]) -> (Module, Vec<Diag>) {
    let mut p = Parser::new(toks);
    let m = p.module();
    (m, p.diags)
}
