//! `wc [FILE...]`: lines, words and bytes of each file (or of standard
//! input), then their total when there are several: `  2  5  27 /etc/motd`.
#![no_std]
#![no_main]
extern crate alloc;
use user::{println, sys, Errno};
user::entry!(main);

#[derive(Default, Clone, Copy)]
struct Counts {
    lines: u64,
    words: u64,
    bytes: u64,
}

fn count(fd: usize) -> Result<Counts, Errno> {
    let mut c = Counts::default();
    let mut in_word = false;
    let mut buf = [0u8; 512];
    loop {
        let n = sys::read(fd, &mut buf)?;
        if n == 0 {
            return Ok(c);
        }
        c.bytes += n as u64;
        for &b in &buf[..n] {
            c.lines += u64::from(b == b'\n');
            let space = b.is_ascii_whitespace();
            c.words += u64::from(!space && !in_word);
            in_word = !space;
        }
    }
}

fn show(c: Counts, name: &str) {
    println!("{:>7} {:>7} {:>7} {name}", c.lines, c.words, c.bytes);
}

fn main(args: user::Args) -> i32 {
    let files = if args.rest().is_empty() { &["-"][..] } else { args.rest() };
    let mut total = Counts::default();
    let mut status = 0;
    for &file in files {
        match user::io::with_input(file, count) {
            Ok(c) => {
                show(c, if file == "-" { "" } else { file });
                total.lines += c.lines;
                total.words += c.words;
                total.bytes += c.bytes;
            }
            Err(e) => status = user::report(file, e),
        }
    }
    if files.len() > 1 {
        show(total, "total");
    }
    status
}
