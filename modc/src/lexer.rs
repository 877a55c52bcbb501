//! Turning `.wm` source text into tokens, each with its byte span.

use crate::diag::{Diag, Span};

/// A token's kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    /// An integer literal with an optional type suffix (`5u8`).
    Int(u64, Option<String>),
    /// A string literal's bytes (escapes resolved).
    Str(Vec<u8>),
    /// A byte literal `b'x'`.
    Byte(u8),
    /// Punctuation and operators, spelled as in the source.
    Punct(&'static str),
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

const PUNCTS: &[&str] = &[
    "..=", "<<=", ">>=", "->", "=>", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=",
    "|=", "^=", "..", "::", "+", "-", "*", "/", "%", "&", "|", "^", "!", "<", ">", "=", "(", ")", "{", "}", "[", "]",
    ";", ":", ",", ".",
];

/// Splits `src` into tokens. Errors are collected; the lexer goes on after
/// each so that one run reports them all.
pub fn lex(src: &str, diags: &mut Vec<Diag>) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match src[i + 2..].find("*/") {
                Some(end) => i += end + 4,
                None => {
                    diags.push(Diag::error("unterminated block comment", Span::new(start, start + 2), "comment starts here"));
                    i = b.len();
                }
            }
        } else if c == b'b' && b.get(i + 1) == Some(&b'\'') {
            i += 2;
            let (value, next) = char_body(b, i, b'\'', diags);
            i = next;
            if i < b.len() && b[i] == b'\'' {
                i += 1;
            } else {
                diags.push(Diag::error("unterminated byte literal", Span::new(start, i), "expected `'`"));
            }
            let byte = match value.as_slice() {
                [v] => *v,
                _ => {
                    diags.push(Diag::error("a byte literal holds exactly one byte", Span::new(start, i), "here"));
                    0
                }
            };
            out.push(Token { tok: Tok::Byte(byte), span: Span::new(start, i) });
        } else if c == b'b' && b.get(i + 1) == Some(&b'"') {
            // A byte string `b"..."` is the same as a string literal.
            i += 2;
            let (value, next) = char_body(b, i, b'"', diags);
            i = next;
            if i < b.len() && b[i] == b'"' {
                i += 1;
            } else {
                diags.push(Diag::error("unterminated string literal", Span::new(start, start + 2), "string starts here"));
            }
            out.push(Token { tok: Tok::Str(value), span: Span::new(start, i) });
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(src[start..i].to_string()), span: Span::new(start, i) });
        } else if c.is_ascii_digit() {
            let (radix, digits_start) = match b.get(i + 1) {
                Some(b'x') if c == b'0' => (16, i + 2),
                Some(b'b') if c == b'0' => (2, i + 2),
                Some(b'o') if c == b'0' => (8, i + 2),
                _ => (10, i),
            };
            i = digits_start;
            while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b'_') {
                if radix != 16 && !b[i].is_ascii_digit() && b[i] != b'_' {
                    break;
                }
                i += 1;
            }
            let digits: String = src[digits_start..i].chars().filter(|&c| c != '_').collect();
            let suffix_start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let suffix = (i > suffix_start).then(|| src[suffix_start..i].to_string());
            let span = Span::new(start, i);
            let value = match u64::from_str_radix(&digits, radix) {
                Ok(v) => v,
                Err(_) => {
                    diags.push(
                        Diag::error("invalid integer literal", span, "not a number that fits in 64 bits")
                            .help("integers are decimal, 0x hex, 0o octal or 0b binary, at most 2^64 - 1"),
                    );
                    0
                }
            };
            out.push(Token { tok: Tok::Int(value, suffix), span });
        } else if c == b'"' {
            i += 1;
            let (value, next) = char_body(b, i, b'"', diags);
            i = next;
            if i < b.len() && b[i] == b'"' {
                i += 1;
            } else {
                diags.push(
                    Diag::error("unterminated string literal", Span::new(start, start + 1), "string starts here")
                        .help("close the string with `\"` on the same line"),
                );
            }
            out.push(Token { tok: Tok::Str(value), span: Span::new(start, i) });
        } else if let Some(p) = PUNCTS.iter().find(|p| b[i..].starts_with(p.as_bytes())) {
            i += p.len();
            out.push(Token { tok: Tok::Punct(p), span: Span::new(start, i) });
        } else {
            let len = src[i..].chars().next().map_or(1, char::len_utf8);
            i += len;
            diags.push(Diag::error(format!("unexpected character `{}`", &src[start..i]), Span::new(start, i), "not part of the language"));
        }
    }
    out.push(Token { tok: Tok::Eof, span: Span::new(b.len(), b.len()) });
    out
}

/// Reads characters up to (not including) `close`, resolving escapes.
/// Returns the bytes and the index of the closing quote (or the end).
fn char_body(b: &[u8], mut i: usize, close: u8, diags: &mut Vec<Diag>) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    while i < b.len() && b[i] != close && b[i] != b'\n' {
        if b[i] == b'\\' && i + 1 < b.len() {
            let esc_start = i;
            i += 1;
            match b[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'"' => out.push(b'"'),
                b'\'' => out.push(b'\''),
                b'x' => {
                    let hex = b.get(i + 1..i + 3).and_then(|h| core::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(v) => {
                            out.push(v);
                            i += 2;
                        }
                        None => diags.push(
                            Diag::error("invalid `\\x` escape", Span::new(esc_start, (i + 1).min(b.len())), "here")
                                .help("write two hex digits, e.g. `\\x7f`"),
                        ),
                    }
                }
                _ => diags.push(
                    Diag::error("unknown escape", Span::new(esc_start, i + 1), "here")
                        .help("the escapes are \\n \\t \\r \\0 \\\\ \\\" \\' and \\xNN"),
                ),
            }
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    (out, i)
}
