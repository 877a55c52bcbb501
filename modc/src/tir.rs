//! The typed intermediate form the checker produces and code generation
//! consumes: names resolved, types known, constants folded, every memory
//! access a [`Place`] with its bounds.

use crate::ast::BinOp;
use crate::diag::Span;
use lkm::ctx::CtxKind;

/// An integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntTy {
    U8,
    U16,
    U32,
    U64,
    I32,
    I64,
}

impl IntTy {
    pub fn size(self) -> u32 {
        match self {
            IntTy::U8 => 1,
            IntTy::U16 => 2,
            IntTy::U32 | IntTy::I32 => 4,
            IntTy::U64 | IntTy::I64 => 8,
        }
    }
    pub fn signed(self) -> bool {
        matches!(self, IntTy::I32 | IntTy::I64)
    }
    pub fn name(self) -> &'static str {
        match self {
            IntTy::U8 => "u8",
            IntTy::U16 => "u16",
            IntTy::U32 => "u32",
            IntTy::U64 => "u64",
            IntTy::I32 => "i32",
            IntTy::I64 => "i64",
        }
    }
    pub fn from_name(s: &str) -> Option<IntTy> {
        Some(match s {
            "u8" => IntTy::U8,
            "u16" => IntTy::U16,
            "u32" => IntTy::U32,
            "u64" => IntTy::U64,
            "i32" => IntTy::I32,
            "i64" => IntTy::I64,
            _ => return None,
        })
    }
    /// The unsigned integer of the given size.
    pub fn unsigned_of_size(size: u32) -> IntTy {
        match size {
            1 => IntTy::U8,
            2 => IntTy::U16,
            4 => IntTy::U32,
            _ => IntTy::U64,
        }
    }
    /// `v` brought to the type's canonical 64-bit form (zero-extended for
    /// unsigned, sign-extended for signed types).
    pub fn normalize(self, v: u64) -> u64 {
        match self {
            IntTy::U8 => v & 0xff,
            IntTy::U16 => v & 0xffff,
            IntTy::U32 => v & 0xffff_ffff,
            IntTy::I32 => v as u32 as i32 as i64 as u64,
            IntTy::U64 | IntTy::I64 => v,
        }
    }
    /// Whether the mathematical value `v` (given as i128) fits.
    pub fn fits(self, v: i128) -> bool {
        let (lo, hi): (i128, i128) = match self {
            IntTy::U8 => (0, 0xff),
            IntTy::U16 => (0, 0xffff),
            IntTy::U32 => (0, 0xffff_ffff),
            IntTy::U64 => (0, u64::MAX as i128),
            IntTy::I32 => (i32::MIN as i128, i32::MAX as i128),
            IntTy::I64 => (i64::MIN as i128, i64::MAX as i128),
        };
        v >= lo && v <= hi
    }
}

/// A type of the language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Int(IntTy),
    Bool,
    Array(Box<Ty>, u32),
    /// Index into [`Tir::structs`].
    Struct(usize),
    /// No value (functions without a result, statements).
    Unit,
}

impl Ty {
    pub fn is_scalar(&self) -> bool {
        matches!(self, Ty::Int(_) | Ty::Bool)
    }
    /// The integer type a scalar is held as (bool as u8).
    pub fn int(&self) -> IntTy {
        match self {
            Ty::Int(t) => *t,
            _ => IntTy::U8,
        }
    }
}

/// A struct's layout: C rules (fields in order, each at its alignment).
#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: String,
    pub fields: Vec<(String, Ty, u32)>,
    pub size: u32,
    pub align: u32,
    /// Whether any byte of the struct belongs to no field.
    pub padded: bool,
}

/// The size and alignment of a type.
pub fn layout(ty: &Ty, structs: &[StructDef]) -> (u32, u32) {
    match ty {
        Ty::Int(t) => (t.size(), t.size()),
        Ty::Bool => (1, 1),
        Ty::Array(e, n) => {
            let (s, a) = layout(e, structs);
            (s.saturating_mul(*n), a)
        }
        Ty::Struct(i) => structs.get(*i).map_or((0, 1), |s| (s.size, s.align)),
        Ty::Unit => (0, 1),
    }
}

/// A function-local variable.
pub type LocalId = usize;

/// What a local holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalKind {
    /// A value of the type (scalar in a register or on the stack; aggregate on the stack).
    Value(Ty),
    /// The pointer to a map value bound by `if let Some(v) = m.get(..)`.
    MapValue { map: usize, ty: Ty },
    /// The context pointer of an entry point.
    Ctx(CtxKind),
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub kind: LocalKind,
    pub span: Span,
}

/// Where a place's memory is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// An aggregate local on the stack.
    Stack(LocalId),
    /// The context (through the ctx local).
    Ctx(LocalId),
    /// A map value (through the `if let` local).
    MapValue(LocalId),
    /// The read-only data (a constant array; the place's offset is its start).
    Rodata,
}

/// A variable index into a place: checked `index < count` before use.
#[derive(Clone, Debug)]
pub struct Index {
    pub index: TExpr,
    pub stride: u32,
    pub count: u32,
}

/// A memory location of a known type: base, constant offset, variable indices.
#[derive(Clone, Debug)]
pub struct Place {
    pub base: Base,
    pub offset: u32,
    pub indices: Vec<Index>,
    pub ty: Ty,
}

/// Memory given to a helper by pointer.
#[derive(Clone, Debug)]
pub enum Mem {
    /// Bytes of the read-only data.
    Rodata { offset: u32 },
    /// A place without variable indices.
    Place(Place),
    /// A scalar value stored into a stack temporary first.
    Value(Box<TExpr>),
}

/// One helper argument.
#[derive(Clone, Debug)]
pub enum HArg {
    Scalar(TExpr),
    MapRef(usize),
    Ptr(Mem),
    /// A length that must lie in `min ..= max`; if it does not, the call is
    /// skipped and the result is `-EINVAL`.
    Len { value: TExpr, min: u32, max: u32 },
}

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TExprKind {
    Const(u64),
    /// A scalar local (or the pointer of an `if let` binding, for places only).
    Local(LocalId),
    /// A scalar loaded from memory.
    Load(Box<Place>),
    Neg(Box<TExpr>),
    /// Bitwise not of an integer, logical not of a bool.
    Not(Box<TExpr>),
    /// Arithmetic and bitwise operators; both sides of type `ty`.
    Binary(BinOp, Box<TExpr>, Box<TExpr>),
    /// Comparisons (`ty` is bool); `IntTy` is the operand type.
    Compare(BinOp, IntTy, Box<TExpr>, Box<TExpr>),
    /// `&&` and `||`.
    Logic(BinOp, Box<TExpr>, Box<TExpr>),
    /// A cast from the operand's type to `ty`.
    Cast(Box<TExpr>),
    /// A call of local function number `usize`.
    Call(usize, Vec<TExpr>),
    Helper(u32, Vec<HArg>),
    /// `min`/`max` (`BinOp::Lt` for min, `BinOp::Gt` for max).
    MinMax(BinOp, Box<TExpr>, Box<TExpr>),
    /// Whether the first `len` bytes of a byte buffer equal (or, with
    /// `prefix`, start with) the literal.
    BytesEq { buf: Box<Place>, len: Box<TExpr>, lit: Vec<u8>, prefix: bool },
}

impl TExpr {
    pub fn constant(&self) -> Option<u64> {
        match self.kind {
            TExprKind::Const(v) => Some(v),
            _ => None,
        }
    }
}

/// How an aggregate is initialised.
#[derive(Clone, Debug)]
pub enum Init {
    Scalar(TExpr),
    /// Every element the same.
    Repeat(Box<Init>, u32),
    /// Element by element.
    List(Vec<Init>),
    /// Field by field, in layout order.
    Struct(Vec<Init>),
    /// A copy of another place.
    Copy(Place),
    /// The bytes of a string literal, then zeros up to the array's length.
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct TStmt {
    pub kind: TStmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TStmtKind {
    /// Declares a local and gives it its first value.
    Let(LocalId, Init),
    SetLocal(LocalId, TExpr),
    /// Stores into memory (an aggregate or a scalar).
    Store(Place, Init),
    Expr(TExpr),
    If(TExpr, Vec<TStmt>, Vec<TStmt>),
    IfLet { local: LocalId, map: usize, key: Mem, then: Vec<TStmt>, els: Vec<TStmt> },
    /// `for var in start..end` (the loop also ends after `limit` rounds).
    For { var: LocalId, start: TExpr, end: TExpr, limit: u64, body: Vec<TStmt> },
    /// `while cond` with a hidden counter ending it after `limit` rounds
    /// (the bound written with `max`, or the one the checker found).
    While { cond: TExpr, limit: u64, body: Vec<TStmt> },
    Break,
    Continue,
    Return(Option<TExpr>),
    Block(Vec<TStmt>),
}

/// A checked function.
#[derive(Clone, Debug)]
pub struct TFn {
    pub name: String,
    /// `Some` for an entry point of the module's class.
    pub entry: Option<CtxKind>,
    pub params: Vec<LocalId>,
    pub ret: Ty,
    pub locals: Vec<Local>,
    pub body: Vec<TStmt>,
    pub span: Span,
}

/// A checked map.
#[derive(Clone, Debug)]
pub struct TMap {
    pub name: String,
    pub kind: lkm::MapKind,
    pub key: Ty,
    pub value: Ty,
    pub max_entries: u32,
}

/// The whole checked module.
#[derive(Clone, Debug)]
pub struct Tir {
    pub name: String,
    pub params: lkm::ClassParams,
    pub structs: Vec<StructDef>,
    pub maps: Vec<TMap>,
    pub fns: Vec<TFn>,
    pub rodata: Vec<u8>,
    pub ports: Vec<lkm::PortDecl>,
}

/// The span of a binary expression in diagnostics ("`a + b`").
pub fn op_text(op: BinOp) -> &'static str {
    op.symbol()
}
