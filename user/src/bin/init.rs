//! `init`: the first process. Runs `/etc/rc` with the shell, then keeps a
//! shell running on the console, starting a new one whenever it ends. It
//! also reaps orphans, which the kernel hands to it.
#![no_std]
#![no_main]
use user::{eprintln, println, sys};
user::entry!(main);

const SHELL: &str = "/bin/sh";

/// Waits until `pid` ends, reaping any other child that ends first.
fn wait_for(pid: usize) -> i32 {
    loop {
        match sys::wait(None) {
            Ok((got, status)) if got == pid => return status,
            Ok(_) => {}
            Err(e) => {
                eprintln!("init: wait: {}", e.message());
                return -1;
            }
        }
    }
}

fn main(_args: user::Args) -> i32 {
    if sys::stat("/etc/rc").is_ok() {
        match sys::spawn(SHELL, &["sh", "/etc/rc"]) {
            Ok(pid) => {
                let status = wait_for(pid);
                if status != 0 {
                    eprintln!("init: /etc/rc ended with status {status}");
                }
            }
            Err(e) => eprintln!("init: cannot run /etc/rc: {}", e.message()),
        }
    }
    loop {
        match sys::spawn(SHELL, &["sh"]) {
            Ok(pid) => {
                let status = wait_for(pid);
                println!("init: shell ended with status {status}; starting a new one");
            }
            Err(e) => {
                eprintln!("init: cannot start {SHELL}: {}", e.message());
                let _ = sys::sleep_ms(1000);
            }
        }
    }
}
