//! The command language of `sh`: splitting a line into commands, words and
//! redirections. Kept apart from the program so it can be tested on the host.
//!
//! A line is commands separated by `;` or ended by `&`, which runs the
//! command in the background (the shell does not wait for it). A command
//! is words and
//! redirections: `> FILE` (truncate), `>> FILE` (append), `< FILE`.
//! Quotes: `'...'` keeps everything literally, `"..."` still expands
//! variables. `$?` is the status of the last command, `$$` the shell's pid,
//! `$0`..`$9` the script's arguments, `$#` their count. `#` at the start of
//! a word begins a comment.

use alloc::string::String;
use alloc::vec::Vec;

/// Where a command's output goes.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct OutRedirect {
    pub path: String,
    pub append: bool,
}

/// One command of a line.
#[derive(Debug, PartialEq, Eq, Clone, Default)]
pub struct Command {
    pub argv: Vec<String>,
    pub stdout: Option<OutRedirect>,
    pub stdin: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Out { append: bool },
    In,
    Semi,
}

/// Splits `line` into tokens, expanding variables through `lookup`.
fn tokenize(line: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    tokens.push(Token::Word(core::mem::take(&mut word)));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            ';' | '>' | '<' => {
                if in_word {
                    tokens.push(Token::Word(core::mem::take(&mut word)));
                    in_word = false;
                }
                tokens.push(match c {
                    ';' => Token::Semi,
                    '<' => Token::In,
                    _ => {
                        let append = chars.peek() == Some(&'>');
                        if append {
                            chars.next();
                        }
                        Token::Out { append }
                    }
                });
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err(String::from("unterminated quote '")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('$') => expand(&mut chars, &mut word, lookup),
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err(String::from("unterminated quote \"")),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err(String::from("unterminated quote \"")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    word.push(ch);
                }
            }
            '$' => {
                in_word = true;
                expand(&mut chars, &mut word, lookup);
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// Expands the variable after a `$` (already consumed) into `word`.
fn expand(
    chars: &mut core::iter::Peekable<core::str::Chars<'_>>,
    word: &mut String,
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    match chars.peek().copied() {
        Some(c @ ('?' | '$' | '#' | '0'..='9')) => {
            chars.next();
            let mut name = [0u8; 4];
            if let Some(value) = lookup(c.encode_utf8(&mut name)) {
                word.push_str(&value);
            }
        }
        _ => word.push('$'),
    }
}

/// One command of a line, not yet parsed, and how it is run.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Part<'a> {
    pub text: &'a str,
    /// Ended by `&`: run without waiting for it.
    pub background: bool,
}

/// Splits a line at the `;` and `&` that are outside quotes and drops a
/// trailing comment, without expanding anything: each part is parsed (and
/// its variables expanded) only when it is about to run, so `false; echo
/// $?` shows the status of `false`. A `&` with no command before it (as in
/// `&&`, which this shell does not have) is an error.
pub fn split_commands(line: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let (mut start, mut quote, mut escaped, mut word_start) = (0, None, false, true);
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\\') => escaped = true,
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if word_start => {
                end = i;
                break;
            }
            (None, ';' | '&') => {
                let text = &line[start..i];
                if c == '&' && text.trim().is_empty() {
                    return Err(String::from("syntax error near '&': it ends a command to run in the background"));
                }
                parts.push(Part { text, background: c == '&' });
                start = i + 1;
            }
            _ => {}
        }
        word_start = quote.is_none() && matches!(c, ' ' | '\t' | ';' | '&' | '>' | '<');
    }
    parts.push(Part { text: &line[start..end.max(start)], background: false });
    parts.retain(|p| !p.text.trim().is_empty());
    Ok(parts)
}

/// Parses one line into its commands. Empty commands (blank lines,
/// comments, `;;`) are dropped.
pub fn parse(line: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    let mut current = Command::default();
    let mut tokens = tokenize(line, lookup)?.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(w) => current.argv.push(w),
            Token::Semi => {
                if !current.argv.is_empty() {
                    commands.push(core::mem::take(&mut current));
                } else if current.stdout.is_some() || current.stdin.is_some() {
                    return Err(String::from("syntax error near ';'"));
                }
            }
            Token::Out { append } => match tokens.next() {
                Some(Token::Word(path)) => current.stdout = Some(OutRedirect { path, append }),
                _ => return Err(String::from("syntax error: '>' needs a file name")),
            },
            Token::In => match tokens.next() {
                Some(Token::Word(path)) => current.stdin = Some(path),
                _ => return Err(String::from("syntax error: '<' needs a file name")),
            },
        }
    }
    if !current.argv.is_empty() {
        commands.push(current);
    } else if current.stdout.is_some() || current.stdin.is_some() {
        return Err(String::from("syntax error: redirection without a command"));
    }
    Ok(commands)
}
