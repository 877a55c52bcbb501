//! Splitting one line of assembly into tokens, each with its column, and a
//! cursor the two dialect parsers read them with.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::AsmError;
use crate::insn::Reg;

/// A token of assembly.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Tok {
    /// A name: mnemonic, register, label, keyword.
    Ident(String),
    /// An unsigned number; `hex` if written `0x...`.
    Num { value: u128, hex: bool },
    /// An operator or punctuation mark, longest match first.
    Punct(&'static str),
}

/// Operators, longest first so that `<<=` wins over `<<` and `<`.
const PUNCTS: [&str; 34] = [
    "s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=", "+=", "-=", "*=", "/=", "%=", "|=", "&=",
    "^=", "==", "!=", ">=", "<=", "s>", "s<", ">", "<", "=", "+", "-", "*", "(", ")", "[", "]",
    ",", ":", "%",
];
/// Single characters that are punctuation of their own.
const SINGLE: &str = "&";

/// A token and the 1-based column where it starts.
#[derive(Clone, Debug)]
pub struct Spanned {
    pub tok: Tok,
    pub col: usize,
}

/// Removes a comment (`#`, `;` or `//` to the end of the line).
pub fn strip_comment(line: &str) -> &str {
    let mut end = line.len();
    for pat in ["#", ";", "//"] {
        if let Some(i) = line.find(pat) {
            end = end.min(i);
        }
    }
    &line[..end]
}

/// Tokenises a line (without its comment).
pub fn tokenize(line: &str, line_no: usize) -> Result<Vec<Spanned>, AsmError> {
    let bytes = line.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let col = i + 1;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let rest = &line[i..];
        // `s>` and friends are operators only when an operator character follows.
        let punct = PUNCTS.iter().find(|p| rest.starts_with(**p)).copied();
        if let Some(p) = punct {
            toks.push(Spanned {
                tok: Tok::Punct(p),
                col,
            });
            i += p.len();
        } else if SINGLE.as_bytes().contains(&c) {
            toks.push(Spanned {
                tok: Tok::Punct("&"),
                col,
            });
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let text = &line[start..i];
            let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))
            {
                Some(h) => (h, 16),
                None => (text, 10),
            };
            let value = u128::from_str_radix(digits, radix)
                .map_err(|_| AsmError::new(line_no, col, format!("invalid number `{text}`")))?;
            toks.push(Spanned {
                tok: Tok::Num {
                    value,
                    hex: radix == 16,
                },
                col,
            });
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'.' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            toks.push(Spanned {
                tok: Tok::Ident(line[start..i].to_string()),
                col,
            });
        } else {
            let ch = rest.chars().next().unwrap_or('?');
            return Err(AsmError::new(
                line_no,
                col,
                format!("unexpected character `{ch}`"),
            ));
        }
    }
    Ok(toks)
}

/// Reads the tokens of one statement.
pub struct Cursor<'a> {
    toks: &'a [Spanned],
    pos: usize,
    pub line: usize,
    /// Column just past the end of the line, for "expected ..." at the end.
    end_col: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(toks: &'a [Spanned], line: usize, end_col: usize) -> Cursor<'a> {
        Cursor {
            toks,
            pos: 0,
            line,
            end_col,
        }
    }

    pub fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos).map(|s| &s.tok)
    }

    pub fn peek_at(&self, n: usize) -> Option<&'a Tok> {
        self.toks.get(self.pos + n).map(|s| &s.tok)
    }

    /// Column of the next token (or of the end of the line).
    pub fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col, |s| s.col)
    }

    pub fn next(&mut self) -> Option<&'a Tok> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// An error at the next token.
    pub fn error(&self, msg: impl Into<String>) -> AsmError {
        AsmError::new(self.line, self.col(), msg.into())
    }

    /// Whether the next token is the punctuation `p`; consumes it if so.
    pub fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Whether the next token is the word `w`; consumes it if so.
    pub fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, p: &str) -> Result<(), AsmError> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{p}`{}", self.found())))
        }
    }

    pub fn expect_word(&mut self, w: &str) -> Result<(), AsmError> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{w}`{}", self.found())))
        }
    }

    /// ", found `x`" describing the next token, for error messages.
    pub fn found(&self) -> String {
        match self.peek() {
            None => String::from(", found the end of the line"),
            Some(Tok::Ident(s)) => format!(", found `{s}`"),
            Some(Tok::Num { value, hex: true }) => format!(", found `{value:#x}`"),
            Some(Tok::Num { value, .. }) => format!(", found `{value}`"),
            Some(Tok::Punct(p)) => format!(", found `{p}`"),
        }
    }

    /// Requires that nothing follows.
    pub fn finish(&self) -> Result<(), AsmError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error(format!(
                "unexpected text after the instruction{}",
                self.found()
            )))
        }
    }

    /// A name (label, mnemonic).
    pub fn ident(&mut self) -> Result<&'a str, AsmError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error(format!("expected a name{}", self.found()))),
        }
    }

    /// A signed number: optional `+`/`-`, then digits. Returns the value and
    /// whether it was written in hex.
    pub fn number(&mut self) -> Result<(i128, bool), AsmError> {
        let neg = if self.eat("-") {
            true
        } else {
            self.eat("+");
            false
        };
        match self.peek() {
            Some(Tok::Num { value, hex }) if *value <= u64::MAX as u128 => {
                self.pos += 1;
                let v = *value as i128;
                Ok((if neg { -v } else { v }, *hex))
            }
            Some(Tok::Num { .. }) => Err(self.error("number does not fit in 64 bits")),
            _ => Err(self.error(format!("expected a number{}", self.found()))),
        }
    }

    /// A 32-bit immediate. Decimal values must fit the signed field; hex
    /// values may also be written as their unsigned 32-bit pattern
    /// (`0x80000000` to `0xffffffff`).
    pub fn imm32(&mut self) -> Result<i32, AsmError> {
        let col = self.col();
        let (value, hex) = self.number()?;
        if let Ok(i) = i32::try_from(value) {
            Ok(i)
        } else if hex && (0..=u32::MAX as i128).contains(&value) {
            Ok(value as u32 as i32)
        } else {
            let shown = if hex {
                format!("{value:#x}")
            } else {
                format!("{value}")
            };
            let msg = format!("immediate {shown} does not fit in 32 bits");
            Err(AsmError::new(self.line, col, msg).with_help(
                "use a value from -2147483648 to 2147483647 (or 0x0 to 0xffffffff), or `lddw` for 64 bits",
            ))
        }
    }

    /// A 64-bit immediate (signed or unsigned).
    pub fn imm64(&mut self) -> Result<u64, AsmError> {
        let col = self.col();
        let (value, _) = self.number()?;
        if let Ok(i) = i64::try_from(value) {
            Ok(i as u64)
        } else if let Ok(u) = u64::try_from(value) {
            Ok(u)
        } else {
            Err(AsmError::new(
                self.line,
                col,
                format!("immediate {value} does not fit in 64 bits"),
            ))
        }
    }

    /// A signed 16-bit offset.
    pub fn off16(&mut self) -> Result<i16, AsmError> {
        let col = self.col();
        let (value, _) = self.number()?;
        i16::try_from(value).map_err(|_| {
            let msg = format!("offset {value} does not fit in 16 bits (-32768 to 32767)");
            AsmError::new(self.line, col, msg)
        })
    }

    /// A register, `r3`/`w3` or `%r3`. Returns it and whether it was a `w` name.
    pub fn reg(&mut self) -> Result<(Reg, bool), AsmError> {
        let col = self.col();
        let percent = self.eat("%");
        if let Some(Tok::Ident(s)) = self.peek() {
            if let Some(r) = parse_reg_name(s).filter(|_| !(percent && s.starts_with('w'))) {
                self.pos += 1;
                return Ok(r);
            }
            if looks_like_reg(s) {
                return Err(
                    AsmError::new(self.line, col, format!("invalid register `{s}`"))
                        .with_help("registers are r0 to r10"),
                );
            }
        }
        Err(AsmError::new(
            self.line,
            col,
            format!("expected a register{}", self.found()),
        ))
    }

    /// Whether the next token is a register name (with or without `%`).
    pub fn at_reg(&self) -> bool {
        let t = if matches!(self.peek(), Some(Tok::Punct("%"))) {
            self.peek_at(1)
        } else {
            self.peek()
        };
        matches!(t, Some(Tok::Ident(s)) if looks_like_reg(s))
    }

    /// Whether the next tokens start a number.
    pub fn at_number(&self) -> bool {
        match self.peek() {
            Some(Tok::Num { .. }) => true,
            Some(Tok::Punct("-" | "+")) => matches!(self.peek_at(1), Some(Tok::Num { .. })),
            _ => false,
        }
    }
}

/// Parses a register name: `r0`..`r10` (64-bit view) or `w0`..`w10` (32-bit
/// view). Returns the register and whether it was a `w` name.
pub fn parse_reg_name(s: &str) -> Option<(Reg, bool)> {
    let (wide, digits) = match s.as_bytes().first()? {
        b'r' => (true, &s[1..]),
        b'w' => (false, &s[1..]),
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 2 {
        return None;
    }
    let n: u8 = digits.parse().ok()?;
    Reg::new(n).map(|r| (r, !wide))
}

/// Whether `s` looks like a register name, valid or not (`r11`, `w50`).
pub fn looks_like_reg(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && matches!(b[0], b'r' | b'w') && b[1..].iter().all(|c| c.is_ascii_digit())
}
