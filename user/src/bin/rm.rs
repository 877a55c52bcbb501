//! `rm PATH...`: removes files (and empty directories).
#![no_std]
#![no_main]
user::entry!(main);

fn main(args: user::Args) -> i32 {
    if args.rest().is_empty() {
        return user::usage("rm PATH...");
    }
    let mut status = 0;
    for &path in args.rest() {
        if let Err(e) = user::sys::unlink(path) {
            status = user::report(&alloc::format!("cannot remove '{path}'"), e);
        }
    }
    status
}
extern crate alloc;
