//! `spawnmany [N]`: starts N copies of `/bin/true` at once, reaps them all,
//! and prints how many ended with status 0, the time `spawn` took per
//! process, and the time per process for the whole spawn-run-exit-reap cycle.
#![no_std]
#![no_main]
extern crate alloc;
use user::{println, sys};
user::entry!(main);

fn main(args: user::Args) -> i32 {
    let n: usize = match args.get(1).map(str::parse) {
        None => 50,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return user::usage("spawnmany [N]"),
    };
    let start = sys::uptime_ns();
    let mut pids = alloc::vec::Vec::new();
    for i in 0..n {
        match sys::spawn("/bin/true", &["true"]) {
            Ok(pid) => pids.push(pid),
            Err(e) => {
                user::report(&alloc::format!("spawn {i}"), e);
                break;
            }
        }
    }
    let spawned_at = sys::uptime_ns();
    let mut ok = 0;
    let mut reaped = 0;
    while reaped < pids.len() {
        match sys::wait(None) {
            Ok((pid, status)) => {
                if pids.contains(&pid) {
                    reaped += 1;
                    if status == 0 {
                        ok += 1;
                    }
                }
            }
            Err(e) => {
                user::report("wait", e);
                break;
            }
        }
    }
    let end = sys::uptime_ns();
    let count = pids.len().max(1) as u64;
    println!("spawned {} reaped {} ok {}", pids.len(), reaped, ok);
    println!("spawn: {} us per process", (spawned_at - start) / count / 1000);
    println!("spawn+run+exit+wait: {} us per process", (end - start) / count / 1000);
    if ok == n { 0 } else { 1 }
}
