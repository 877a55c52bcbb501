//! `mkdir [-p] DIR...`: makes directories (`-p`: with their parents, no
//! error if they exist).
#![no_std]
#![no_main]
extern crate alloc;
use user::{sys, Errno};
user::entry!(main);

fn make_parents(path: &str) -> Result<(), Errno> {
    for (i, c) in path.char_indices() {
        if c == '/' && i > 0 {
            match sys::mkdir(&path[..i], 0o755) {
                Ok(_) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
    }
    match sys::mkdir(path, 0o755) {
        Ok(_) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("") else { return user::usage("mkdir [-p] DIR...") };
    if opts.unknown("p").is_some() || opts.operands.is_empty() {
        return user::usage("mkdir [-p] DIR...");
    }
    let mut status = 0;
    for &dir in &opts.operands {
        let r = if opts.has('p') { make_parents(dir.trim_end_matches('/')) } else { sys::mkdir(dir, 0o755).map(|_| ()) };
        if let Err(e) = r {
            status = user::report(&alloc::format!("cannot create directory '{dir}'"), e);
        }
    }
    status
}
