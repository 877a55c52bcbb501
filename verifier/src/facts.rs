//! Entry-state facts in text form, so that a case or a command line can
//! state what holds at entry instead of the entry point's default:
//!
//! ```text
//! r1: ctx                      the context pointer (offset 0)
//! r2: scalar                   any number
//! r2: scalar in [0, 10]        a number in an unsigned range
//! r2: scalar in [-5, 5] signed a number in a signed range
//! r2: 42                       a known number (also -1, 0x10)
//! r3: stack - 8                a pointer to fp-8 (also `stack + 0`, `fp - 16`)
//! r4: map_value(m0) + 4        a pointer into a value of map 0
//! r4: map_value_or_null(m0)    a map lookup's result, not yet checked
//! r5: map(m1)                  a reference to map 1
//! ```
//!
//! Several facts may be separated by `,` or `;`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::domain::Scalar;
use crate::insn::Reg;
use crate::state::{Ptr, Region, Value};

/// Splits facts on `,`/`;` outside brackets.
fn split_facts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' | ';' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// Parses facts separated by `,` or `;` (commas inside `[..]` belong to a range).
pub fn parse(text: &str) -> Result<Vec<(Reg, Value)>, String> {
    let mut next_id = 1000;
    split_facts(text).into_iter().map(|p| parse_fact(p, &mut next_id)).collect()
}

fn parse_fact(fact: &str, next_id: &mut u32) -> Result<(Reg, Value), String> {
    let (reg, what) = fact.split_once(':').ok_or_else(|| format!("fact `{fact}` needs the form `rN: what`"))?;
    let reg = parse_reg(reg.trim()).ok_or_else(|| format!("`{}` is not a register r0..r9", reg.trim()))?;
    let what = what.trim();
    let value = parse_value(what, next_id).ok_or_else(|| format!("cannot understand `{what}` (see the list of fact forms)"))?;
    Ok((reg, value))
}

fn parse_reg(s: &str) -> Option<Reg> {
    let n: u8 = s.strip_prefix('r')?.parse().ok()?;
    Reg::new(n).filter(|r| *r != Reg::R10)
}

/// A number in decimal or `0x` hex, possibly negative.
pub fn parse_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim()),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => s.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// `base`, `base + N` or `base - N`.
fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(i) = s.rfind(['+', '-']) {
        let off = parse_int(&s[i + 1..])? as i64;
        let off = if &s[i..i + 1] == "-" { -off } else { off };
        Some((s[..i].trim(), off))
    } else {
        Some((s.trim(), 0))
    }
}

fn parse_map(s: &str) -> Option<u32> {
    s.strip_prefix('m')?.parse().ok()
}

fn parse_value(s: &str, next_id: &mut u32) -> Option<Value> {
    if s == "scalar" {
        return Some(Value::Scalar(Scalar::UNKNOWN));
    }
    if let Some(range) = s.strip_prefix("scalar in") {
        let range = range.trim();
        let (range, signed) = match range.strip_suffix("signed") {
            Some(r) => (r.trim(), true),
            None => (range, false),
        };
        let inner = range.strip_prefix('[')?.strip_suffix(']')?;
        let (a, b) = inner.split_once(',')?;
        let (a, b) = (parse_int(a)?, parse_int(b)?);
        let negative = a < 0 || b < 0;
        if a > b {
            return None;
        }
        return Some(Value::Scalar(if signed || negative {
            Scalar::signed_range(i64::try_from(a).ok()?, i64::try_from(b).ok()?)
        } else {
            Scalar::range(u64::try_from(a).ok()?, u64::try_from(b).ok()?)
        }));
    }
    if let Some(v) = parse_int(s) {
        let v = if v < 0 { i64::try_from(v).ok()? as u64 } else { u64::try_from(v).ok()? };
        return Some(Value::constant(v));
    }
    let (base, off) = split_offset(s)?;
    let ptr = |region| Value::ptr(region, off);
    if base == "ctx" {
        return Some(ptr(Region::Ctx));
    }
    if base == "stack" || base == "fp" {
        return Some(ptr(Region::Stack { frame: 0 }));
    }
    if let Some(m) = base.strip_prefix("map_value_or_null(").and_then(|r| r.strip_suffix(')')) {
        *next_id += 1;
        return Some(Value::Ptr(Ptr {
            region: Region::MapValue { map: parse_map(m)? },
            off: Scalar::constant(off as u64),
            maybe_null: true,
            id: *next_id,
        }));
    }
    if let Some(m) = base.strip_prefix("map_value(").and_then(|r| r.strip_suffix(')')) {
        return Some(ptr(Region::MapValue { map: parse_map(m)? }));
    }
    if let Some(m) = base.strip_prefix("map(").and_then(|r| r.strip_suffix(')')) {
        return (off == 0).then(|| Value::MapRef(parse_map(m).unwrap_or(u32::MAX))).filter(|v| *v != Value::MapRef(u32::MAX));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_parse() {
        let f = parse("r2: scalar in [0, 10], r3: stack - 8; r4: map_value(m0) + 4, r1: ctx, r5: map(m1), r6: -1").unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f[0], (Reg::R2, Value::Scalar(Scalar::range(0, 10))));
        assert_eq!(f[1], (Reg::R3, Value::ptr(Region::Stack { frame: 0 }, -8)));
        assert_eq!(f[2], (Reg::R4, Value::ptr(Region::MapValue { map: 0 }, 4)));
        assert_eq!(f[3], (Reg::R1, Value::ptr(Region::Ctx, 0)));
        assert_eq!(f[4], (Reg::R5, Value::MapRef(1)));
        assert_eq!(f[5], (Reg::R6, Value::constant(u64::MAX)));
        let s = parse("r2: scalar in [-5, 5]").unwrap();
        assert_eq!(s[0].1, Value::Scalar(Scalar::signed_range(-5, 5)));
    }

    #[test]
    fn bad_facts_are_errors() {
        assert!(parse("r11: scalar").is_err());
        assert!(parse("r10: scalar").is_err());
        assert!(parse("r2 scalar").is_err());
        assert!(parse("r2: scalar in [10, 0]").is_err());
        assert!(parse("r2: banana").is_err());
    }
}
