//! `od [FILE...]`: the bytes of the files (or of standard input) in hex,
//! 16 a line after their offset (hex), with the printable ones on the
//! right; the last line is the total length:
//!
//! ```text
//! 00000000  23 21 2f 62 69 6e 2f 73  68 0a                    |#!/bin/sh.|
//! 0000000a
//! ```
#![no_std]
#![no_main]
extern crate alloc;
use alloc::string::String;
use core::fmt::Write;
use user::{print, println, sys, Errno};
user::entry!(main);

/// Prints one line of up to 16 bytes found at `offset`.
fn line(offset: u64, bytes: &[u8]) {
    let mut text = String::new();
    let _ = write!(text, "{offset:08x} ");
    for i in 0..16 {
        if i == 8 {
            text.push(' ');
        }
        match bytes.get(i) {
            Some(b) => {
                let _ = write!(text, " {b:02x}");
            }
            None => text.push_str("   "),
        }
    }
    text.push_str("  |");
    text.extend(bytes.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }));
    println!("{text}|");
}

/// Dumps `fd` from `offset` on; returns the offset after its last byte.
fn dump(fd: usize, mut offset: u64) -> Result<u64, Errno> {
    let mut row = [0u8; 16];
    let mut filled = 0;
    loop {
        let n = sys::read(fd, &mut row[filled..])?;
        filled += n;
        if filled == row.len() || (n == 0 && filled > 0) {
            line(offset, &row[..filled]);
            offset += filled as u64;
            filled = 0;
        }
        if n == 0 {
            return Ok(offset);
        }
    }
}

fn main(args: user::Args) -> i32 {
    let files = if args.rest().is_empty() { &["-"][..] } else { args.rest() };
    let mut offset = 0;
    let mut status = 0;
    for &file in files {
        match user::io::with_input(file, |fd| dump(fd, offset)) {
            Ok(end) => offset = end,
            Err(e) => status = user::report(file, e),
        }
    }
    print!("{offset:08x}\n");
    status
}
