//! The bound of a `while` loop. Every loop must end within a number of
//! rounds the verifier can check, and a loop that stops early without
//! saying so computes something else than what was written. So a `while`
//! loop's bound is either written (`while COND max N { .. }`: at most N
//! rounds, then the loop ends as if COND were false) or seen here in the
//! loop's shape, where it can never cut a round short:
//!
//! ```text
//! while i < END { ..; i += STEP; .. }      // also `<=`, and `&&` other conditions
//! ```
//!
//! with `i` an unsigned variable, `END` a value with a bound the compiler
//! can see (as for a `for` loop's end), `STEP` a constant of at least 1,
//! the step a statement of the loop's own block, no other assignment to
//! `i` in the loop and no `continue` of this loop: every round then adds
//! at least `STEP` to `i`, which cannot wrap before the condition fails.

use super::stmt::FnScope;
use super::Checker;
use crate::ast::{BinOp, Expr};
use crate::diag::{Diag, Span};
use crate::tir::*;

/// The most rounds a loop may take: the hidden round counter is compared
/// with a 32-bit signed immediate.
pub const MAX_ROUNDS: u64 = i32::MAX as u64;

impl Checker {
    /// The `N` of `while COND max N`.
    pub(super) fn while_max(&mut self, e: &Expr) -> Option<u64> {
        let n = self.const_u64(e)?;
        if n == 0 || n > MAX_ROUNDS {
            self.error(
                Diag::error("invalid round limit", e.span, format!("1 to {MAX_ROUNDS} rounds"))
                    .note("`while COND max N` runs the loop at most N times"),
            );
            return None;
        }
        Some(n)
    }

    /// The bound of a `while` loop without `max`, or an error saying how to state one.
    pub(super) fn while_bound(&mut self, scope: &FnScope, cond: &TExpr, body: &[TStmt], cond_span: Span) -> Option<u64> {
        if let Some(n) = conjuncts(cond).into_iter().find_map(|c| self.counted_rounds(scope, c, body)) {
            return Some(n);
        }
        self.error(
            Diag::error("`while` loop without a bound", cond_span, "modc cannot tell how many rounds this loop takes")
                .note("every loop must end within a number of rounds the verifier can check; modc sees it only in loops like `while i < 100 { ...; i += 1; }` (`i` unsigned, stepped once every round without wrapping, no `continue`)")
                .help("state the most rounds it may take: `while CONDITION max 1000 { .. }` (after 1000 rounds the loop ends as if the condition were false), or write a `for` loop"),
        );
        None
    }

    /// The rounds of `while i < END { ..; i += STEP; .. }` for one condition `c`.
    fn counted_rounds(&self, scope: &FnScope, c: &TExpr, body: &[TStmt]) -> Option<u64> {
        let TExprKind::Compare(op, ty, a, b) = &c.kind else { return None };
        let (var, end, inclusive) = match (op, &a.kind, &b.kind) {
            (BinOp::Lt | BinOp::Le, TExprKind::Local(v), _) => (*v, &**b, *op == BinOp::Le),
            (BinOp::Gt | BinOp::Ge, _, TExprKind::Local(v)) => (*v, &**a, *op == BinOp::Ge),
            _ => return None,
        };
        if ty.signed() || !scope.mutable.get(var).copied().unwrap_or(false) {
            return None;
        }
        let step = body.iter().find_map(|s| step_of(s, var))?;
        if assignments(body, var) != 1 || continues(body) {
            return None;
        }
        let bound = self.upper_bound(scope, end)?;
        let top = u128::from(ty.normalize(u64::MAX));
        let (last, rounds) = if inclusive {
            (u128::from(bound), bound / step + 1)
        } else {
            (u128::from(bound.saturating_sub(1)), bound.div_ceil(step))
        };
        // The last value of `i` that enters the loop, plus the step, must not wrap.
        if last + u128::from(step) > top || rounds > MAX_ROUNDS {
            return None;
        }
        Some(rounds.max(1))
    }
}

/// The conditions of a chain of `&&`: the loop ends when any of them fails.
fn conjuncts(e: &TExpr) -> Vec<&TExpr> {
    match &e.kind {
        TExprKind::Logic(BinOp::LogAnd, a, b) => {
            let mut out = conjuncts(a);
            out.extend(conjuncts(b));
            out
        }
        _ => vec![e],
    }
}

/// `STEP` if `s` is `var += STEP` (or `var = var + STEP`) with a constant `STEP >= 1`.
fn step_of(s: &TStmt, var: LocalId) -> Option<u64> {
    let TStmtKind::SetLocal(id, value) = &s.kind else { return None };
    let TExprKind::Binary(BinOp::Add, a, b) = &value.kind else { return None };
    let step = match (&a.kind, &b.kind) {
        (TExprKind::Local(v), TExprKind::Const(k)) | (TExprKind::Const(k), TExprKind::Local(v)) if *v == var => *k,
        _ => return None,
    };
    (*id == var && step >= 1).then_some(step)
}

/// How many statements anywhere in `ss` assign `var`.
fn assignments(ss: &[TStmt], var: LocalId) -> usize {
    ss.iter()
        .map(|s| match &s.kind {
            TStmtKind::SetLocal(id, _) => usize::from(*id == var),
            TStmtKind::If(_, a, b) | TStmtKind::IfLet { then: a, els: b, .. } => assignments(a, var) + assignments(b, var),
            TStmtKind::For { body, .. } | TStmtKind::While { body, .. } | TStmtKind::Block(body) => assignments(body, var),
            _ => 0,
        })
        .sum()
}

/// Whether `ss` holds a `continue` of the loop they are the body of.
fn continues(ss: &[TStmt]) -> bool {
    ss.iter().any(|s| match &s.kind {
        TStmtKind::Continue => true,
        TStmtKind::If(_, a, b) | TStmtKind::IfLet { then: a, els: b, .. } => continues(a) || continues(b),
        TStmtKind::Block(body) => continues(body),
        _ => false,
    })
}
