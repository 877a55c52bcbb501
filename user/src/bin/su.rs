//! `su [USER] [-c COMMAND]`: runs a shell (or one command line) as
//! another user. Only the superuser may become someone else; Warden has
//! no passwords.
#![no_std]
#![no_main]
use user::{passwd, sys};
user::entry!(main);

const USAGE: &str = "su [USER] [-c COMMAND]";

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("c") else { return user::usage(USAGE) };
    let name = match opts.operands.as_slice() {
        [] => "root",
        [name] => name,
        _ => return user::usage(USAGE),
    };
    let users = passwd::users();
    let Some(target) = passwd::find(name, &users) else {
        user::eprintln!("su: user {name} does not exist");
        return 1;
    };
    if let Err(e) = sys::setuid(target.uid) {
        return user::report(&alloc::format!("cannot become {name}"), e);
    }
    let err = match opts.value('c') {
        Some(cmd) => sys::exec("/bin/sh", &["sh", "-c", cmd]),
        None => sys::exec("/bin/sh", &["sh"]),
    };
    user::report("/bin/sh", err)
}
extern crate alloc;
