//! `cat [FILE...]`: copies each file (or standard input) to standard output.
#![no_std]
#![no_main]
use user::sys;
user::entry!(main);

fn copy(fd: usize) -> Result<(), user::Errno> {
    let mut buf = [0u8; 1024];
    loop {
        let n = sys::read(fd, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        sys::write_all(1, &buf[..n])?;
    }
}

fn main(args: user::Args) -> i32 {
    if args.rest().is_empty() {
        return match copy(0) {
            Ok(()) => 0,
            Err(e) => user::report("stdin", e),
        };
    }
    let mut status = 0;
    for &path in args.rest() {
        if let Err(e) = user::io::with_input(path, copy) {
            status = user::report(path, e);
        }
    }
    status
}
