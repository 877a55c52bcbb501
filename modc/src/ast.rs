//! The syntax tree of a `.wm` module, as the parser builds it.

use crate::diag::Span;

/// A name and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole source file.
#[derive(Clone, Debug)]
pub struct Module {
    pub header: Option<Header>,
    pub items: Vec<Item>,
}

/// `module NAME: CLASS(params);`
#[derive(Clone, Debug)]
pub struct Header {
    pub name: Ident,
    pub class: Ident,
    pub params: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Item {
    Const { name: Ident, ty: TypeExpr, value: Expr },
    Map { name: Ident, kind: Ident, key: Option<TypeExpr>, value: TypeExpr, size: Expr },
    Struct { name: Ident, fields: Vec<(Ident, TypeExpr)> },
    /// `ports START..END;` (END exclusive) or `ports START..=END;`
    Ports { start: Expr, end: Expr, inclusive: bool, span: Span },
    Fn(FnItem),
}

#[derive(Clone, Debug)]
pub struct FnItem {
    pub name: Ident,
    pub params: Vec<(Ident, TypeExpr)>,
    pub ret: Option<TypeExpr>,
    pub body: Block,
    /// From `fn` to the end of the signature.
    pub sig_span: Span,
}

#[derive(Clone, Debug)]
pub enum TypeExpr {
    Named(Ident),
    Array(Box<TypeExpr>, Box<Expr>, Span),
    /// `&T` (the context parameter of an entry point).
    Ref(Box<TypeExpr>, Span),
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(i) => i.span,
            TypeExpr::Array(_, _, s) | TypeExpr::Ref(_, s) => *s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let { name: Ident, mutable: bool, ty: Option<TypeExpr>, init: Expr, span: Span },
    /// `place = value` or `place OP= value`.
    Assign { place: Expr, op: Option<BinOp>, value: Expr, span: Span },
    Expr(Expr),
    If { cond: Expr, then: Block, els: Option<Box<Stmt>>, span: Span },
    /// `if let Some(name) = map.get(&key) { .. } else { .. }`
    IfLet { name: Ident, map: Ident, key: Expr, then: Block, els: Option<Box<Stmt>>, span: Span },
    /// `while COND { .. }` or `while COND max N { .. }` (at most N rounds).
    While { cond: Expr, max: Option<Expr>, body: Block, span: Span },
    For { var: Ident, start: Expr, end: Expr, body: Block, span: Span },
    Break(Span),
    Continue(Span),
    Return(Option<Expr>, Span),
    Block(Block),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LogAnd,
    LogOr,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            And => "&",
            Or => "|",
            Xor => "^",
            Shl => "<<",
            Shr => ">>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            LogAnd => "&&",
            LogOr => "||",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    /// `!`: logical not of a bool, bitwise not of an integer.
    Not,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(u64, Option<String>),
    Bool(bool),
    Str(Vec<u8>),
    Var(String),
    Field(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cast(Box<Expr>, TypeExpr),
    Call(Ident, Vec<Expr>),
    Method(Ident, Ident, Vec<Expr>),
    /// `&e` or `&mut e`.
    Ref(Box<Expr>, bool),
    Deref(Box<Expr>),
    /// `[value; count]`
    Repeat(Box<Expr>, Box<Expr>),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `Name { field: value, .. }`
    StructLit(Ident, Vec<(Ident, Expr)>),
    /// An error already reported; checking it reports nothing more.
    Error,
}
