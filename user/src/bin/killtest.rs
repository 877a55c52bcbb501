//! `killtest`: shows `kill` ending a running process. It starts a copy of
//! itself that computes in user mode (for at most 10 s), ends it with
//! `kill`, waits for it and prints how it ended:
//! `killtest: child 12 ended with status 137 (killed) after 3 ms`.
#![no_std]
#![no_main]
use core::hint::black_box;
use user::{println, sys};
user::entry!(main);

const SPIN_NS: u64 = 10_000_000_000;

/// The child: computes until the time is up (or it is killed).
fn spin() -> i32 {
    let start = sys::uptime_ns();
    let mut x: u64 = 1;
    while sys::uptime_ns().saturating_sub(start) < SPIN_NS {
        for _ in 0..100_000 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    println!("killtest: the child was not killed");
    0
}

fn main(args: user::Args) -> i32 {
    if args.get(1) == Some("--child") {
        return spin();
    }
    let child = match sys::spawn("/bin/killtest", &["killtest", "--child"]) {
        Ok(pid) => pid,
        Err(e) => return user::report("cannot start the child", e),
    };
    // Let the child run a little first.
    let _ = sys::sleep_ms(20);
    let t0 = sys::uptime_ns();
    if let Err(e) = sys::kill(child) {
        return user::report(&alloc::format!("cannot kill {child}"), e);
    }
    match sys::wait(Some(child)) {
        Ok((pid, status)) => {
            let how = if status == abi::proc::STATUS_KILLED { "killed" } else { "not killed" };
            let ms = sys::uptime_ns().saturating_sub(t0) / 1_000_000;
            println!("killtest: child {pid} ended with status {status} ({how}) after {ms} ms");
            i32::from(status != abi::proc::STATUS_KILLED)
        }
        Err(e) => user::report("wait", e),
    }
}
extern crate alloc;
