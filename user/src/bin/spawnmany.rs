//! `spawnmany [N]`: starts N copies of `/bin/true` at once, reaps them all,
//! and prints how many ended with status 0, the median time of one `spawn`
//! call (load the program, build the process), and the time per process
//! of the whole cycle (spawn, run, exit, reap).
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
    let mut call_ns = alloc::vec::Vec::with_capacity(n);
    for i in 0..n {
        let t0 = sys::uptime_ns();
        let result = sys::spawn("/bin/true", &["true"]);
        call_ns.push(sys::uptime_ns().saturating_sub(t0));
        match result {
            Ok(pid) => pids.push(pid),
            Err(e) => {
                user::report(&alloc::format!("spawn {i}"), e);
                break;
            }
        }
    }
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
    call_ns.sort_unstable();
    println!("spawn call: median {} us", call_ns[call_ns.len() / 2] / 1000);
    println!("spawn+run+exit+wait: {} us per process", (end - start) / count / 1000);
    if ok == n { 0 } else { 1 }
}
