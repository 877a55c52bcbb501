//! Constants. A scalar constant (`const LIMIT: u32 = 100;`) is folded
//! into the code that uses it. A constant array (`const HEX: [u8; 16] =
//! b"0123456789abcdef";`, `const PRIMES: [u32; 4] = [2, 3, 5, 7];`) is
//! placed in the module's read-only data, where string literals live too,
//! and read like an array variable: `HEX[i]` (bounds-checked like any
//! index), `emit(&HEX, n)`, `let copy = HEX;`. Nothing can write it.

use super::stmt::FnScope;
use super::Checker;
use crate::ast::{Expr, Ident, TypeExpr};
use crate::diag::Diag;
use crate::tir::*;

impl Checker {
    /// Checks `const NAME: TYPE = VALUE;`; false if it had an error.
    pub(super) fn const_item(&mut self, name: &Ident, ty: &TypeExpr, value: &Expr) -> bool {
        let Some(t) = self.ty(ty) else { return false };
        if self.consts.contains_key(&name.name) || self.const_data.contains_key(&name.name) {
            self.error(Diag::error(format!("constant `{}` is defined twice", name.name), name.span, "redefined"));
            return false;
        }
        let mut scope = FnScope::module_level();
        if !t.is_scalar() {
            return self.const_array(name, &t, ty, value, &mut scope);
        }
        let Some(v) = self.expr(&mut scope, value, Some(&t)) else { return false };
        if v.ty != t {
            self.mismatch(&t, &v.ty, value.span);
            return false;
        }
        let Some(k) = v.constant() else {
            self.error(Diag::error("expected a constant", value.span, "not known at compile time"));
            return false;
        };
        self.consts.insert(name.name.clone(), (t, k));
        true
    }

    /// A constant array: its bytes go into the read-only data.
    fn const_array(&mut self, name: &Ident, t: &Ty, ty: &TypeExpr, value: &Expr, scope: &mut FnScope) -> bool {
        if !holds_integers(t) {
            self.error(
                Diag::error("constants are integers, booleans or arrays of them", ty.span(), "not allowed in a constant")
                    .help("build the value in a `let` inside the function, or keep it in a map"),
            );
            return false;
        }
        let Some((init, _)) = self.init(scope, value, Some(t)) else { return false };
        let Some(bytes) = init_bytes(&init, t) else {
            self.error(Diag::error("expected a constant", value.span, "not known at compile time"));
            return false;
        };
        let (_, align) = layout(t, &self.structs);
        let offset = self.intern_aligned(&bytes, align);
        self.const_data.insert(name.name.clone(), (t.clone(), offset));
        true
    }

    /// The place of constant array `name`, if there is one.
    pub(super) fn const_place(&self, name: &str) -> Option<Place> {
        let (ty, offset) = self.const_data.get(name)?;
        Some(Place { base: Base::Rodata, offset: *offset, indices: Vec::new(), ty: ty.clone() })
    }

    /// Adds a string literal to the read-only data, returning its offset.
    pub(super) fn intern(&mut self, bytes: &[u8]) -> u32 {
        self.intern_aligned(bytes, 1)
    }

    /// Adds bytes to the read-only data at a multiple of `align` (or finds
    /// them there already), returning their offset.
    fn intern_aligned(&mut self, bytes: &[u8], align: u32) -> u32 {
        let align = align.max(1) as usize;
        if !bytes.is_empty()
            && let Some(p) = self.rodata.windows(bytes.len()).enumerate().position(|(i, w)| i % align == 0 && w == bytes)
        {
            return p as u32;
        }
        let at = self.rodata.len().next_multiple_of(align);
        self.rodata.resize(at, 0);
        self.rodata.extend_from_slice(bytes);
        at as u32
    }
}

/// Whether a type is an integer, a bool, or an array of those (at any depth).
fn holds_integers(t: &Ty) -> bool {
    match t {
        Ty::Int(_) | Ty::Bool => true,
        Ty::Array(e, _) => holds_integers(e),
        Ty::Struct(_) | Ty::Unit => false,
    }
}

/// The bytes of a constant initialiser of type `t` (little-endian), or
/// `None` if a part of it is not a constant.
fn init_bytes(init: &Init, t: &Ty) -> Option<Vec<u8>> {
    let size = layout(t, &[]).0 as usize;
    let mut out = match (init, t) {
        (Init::Scalar(e), _) => e.constant()?.to_le_bytes()[..size.min(8)].to_vec(),
        (Init::Bytes(b), _) => b.clone(),
        (Init::Repeat(x, n), Ty::Array(e, _)) => init_bytes(x, e)?.repeat(*n as usize),
        (Init::List(xs), Ty::Array(e, _)) => {
            let mut v = Vec::new();
            for x in xs {
                v.extend(init_bytes(x, e)?);
            }
            v
        }
        _ => return None,
    };
    out.resize(size, 0);
    Some(out)
}

