//! `kill PID...`: ends processes (`ps` lists them with their ids). A user
//! may end their own processes; root may end any but `init`. The process
//! ends with status 137 (`echo $?` in its parent shell shows it).
#![no_std]
#![no_main]
extern crate alloc;
use user::{eprintln, sys, Errno};
user::entry!(main);

fn main(args: user::Args) -> i32 {
    if args.rest().is_empty() {
        return user::usage("kill PID...");
    }
    let mut status = 0;
    for &text in args.rest() {
        let Ok(pid) = text.parse::<usize>() else {
            eprintln!("kill: error: `{text}` is not a process id");
            eprintln!("kill: help: `ps` lists the processes and their ids");
            status = 2;
            continue;
        };
        if let Err(e) = sys::kill(pid) {
            status = user::report(&alloc::format!("cannot kill {pid}"), e);
            match e {
                Errno::EPERM => eprintln!("kill: help: a user may end only their own processes, and no one may end init (pid 1)"),
                Errno::ESRCH => eprintln!("kill: help: `ps` lists the processes and their ids"),
                _ => {}
            }
        }
    }
    status
}
