//! `head [-n N] [FILE...]`: the first N lines (10 if not given) of each
//! file, or of standard input; with several files, each is headed by
//! `==> FILE <==`.
#![no_std]
#![no_main]
extern crate alloc;
use user::{println, sys, Errno};
user::entry!(main);

const USAGE: &str = "head [-n LINES] [FILE...]";

/// Copies the first `lines` lines of `fd` to standard output.
fn head(fd: usize, mut lines: usize) -> Result<(), Errno> {
    let mut buf = [0u8; 512];
    while lines > 0 {
        let n = sys::read(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        let mut end = n;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                lines -= 1;
                if lines == 0 {
                    end = i + 1;
                    break;
                }
            }
        }
        sys::write_all(1, &buf[..end])?;
    }
    Ok(())
}

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("n") else { return user::usage(USAGE) };
    if opts.unknown("n").is_some() {
        return user::usage(USAGE);
    }
    let lines = match opts.value('n').map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) => n,
        Some(Err(_)) => return user::usage(USAGE),
    };
    let files = if opts.operands.is_empty() { alloc::vec!["-"] } else { opts.operands.clone() };
    let mut status = 0;
    for (i, &file) in files.iter().enumerate() {
        if files.len() > 1 {
            println!("{}==> {file} <==", if i > 0 { "\n" } else { "" });
        }
        if let Err(e) = user::io::with_input(file, |fd| head(fd, lines)) {
            status = user::report(file, e);
        }
    }
    status
}
