//! `killtest`: shows `kill` ending running processes. It starts a copy of
//! itself that computes in user mode, one that sleeps in the kernel
//! (50 ms at a time), each for at most 10 s, and one that waits for a line
//! on its standard input (the console); ends each with `kill`, waits for
//! it and prints how it ended:
//! `killtest: busy child 12 ended with status 137 (killed) after 3 ms`.
#![no_std]
#![no_main]
use core::hint::black_box;
use user::{println, sys};
user::entry!(main);

const LIFE_NS: u64 = 10_000_000_000;

/// A child: computes (`busy`) or sleeps until its time is up, unless killed.
fn child(busy: bool) -> i32 {
    let start = sys::uptime_ns();
    let mut x: u64 = 1;
    while sys::uptime_ns().saturating_sub(start) < LIFE_NS {
        if busy {
            for _ in 0..100_000 {
                x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        } else {
            let _ = sys::sleep_ms(50);
        }
    }
    println!("killtest: the child was not killed");
    0
}

/// A child asleep in `read` until a line comes, unless killed.
fn reader() -> i32 {
    let mut line = [0u8; 64];
    let _ = sys::read(0, &mut line);
    println!("killtest: the child was not killed");
    0
}

/// Starts a child of the kind, kills it, and reports; true if it was killed.
fn kill_one(kind: &str) -> bool {
    let child = match sys::spawn("/bin/killtest", &["killtest", kind]) {
        Ok(pid) => pid,
        Err(e) => return user::report("cannot start a child", e) == 0,
    };
    // Let the child run a little first.
    let _ = sys::sleep_ms(20);
    let t0 = sys::uptime_ns();
    if let Err(e) = sys::kill(child) {
        return user::report(&alloc::format!("cannot kill {child}"), e) == 0;
    }
    match sys::wait(Some(child)) {
        Ok((pid, status)) => {
            let killed = status == abi::proc::STATUS_KILLED;
            let ms = sys::uptime_ns().saturating_sub(t0) / 1_000_000;
            let how = if killed { "killed" } else { "not killed" };
            println!("killtest: {} child {pid} ended with status {status} ({how}) after {ms} ms", &kind[2..]);
            killed
        }
        Err(e) => user::report("wait", e) == 0,
    }
}

fn main(args: user::Args) -> i32 {
    match args.get(1) {
        Some("--busy") => child(true),
        Some("--sleeping") => child(false),
        Some("--reading") => reader(),
        _ => {
            let busy = kill_one("--busy");
            let sleeping = kill_one("--sleeping");
            let reading = kill_one("--reading");
            i32::from(!(busy && sleeping && reading))
        }
    }
}
extern crate alloc;
