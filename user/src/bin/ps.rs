//! `ps`: one line per process (`PID PPID USER STAT CPU TICKS MEM COMMAND`,
//! CPU being the one it last ran on); kernel threads are shown in brackets.
#![no_std]
#![no_main]
extern crate alloc;
use abi::proc::{ProcInfo, ProcState};
use user::{passwd, println};
user::entry!(main);

fn main(_args: user::Args) -> i32 {
    let mut rows = alloc::vec![ProcInfo::EMPTY; 128];
    let n = match user::sys::procinfo(&mut rows) {
        Ok(n) => n.min(rows.len()),
        Err(e) => return user::report("procinfo", e),
    };
    let users = passwd::users();
    println!("{:>5} {:>5} {:<8} {:<4} {:>3} {:>6} {:>6} COMMAND", "PID", "PPID", "USER", "STAT", "CPU", "TICKS", "MEM");
    for p in &rows[..n] {
        let state = ProcState::from_u32(p.state).map_or('?', ProcState::letter);
        let name = core::str::from_utf8(p.name()).unwrap_or("?");
        let mem_k = alloc::format!("{}K", p.mem / 1024);
        let user = passwd::name_of(p.uid, &users);
        if p.kernel != 0 {
            println!("{:>5} {:>5} {:<8} {:<4} {:>3} {:>6} {:>6} [{}]", p.pid, p.ppid, user, state, p.cpu, p.ticks, "-", name);
        } else {
            println!("{:>5} {:>5} {:<8} {:<4} {:>3} {:>6} {:>6} {}", p.pid, p.ppid, user, state, p.cpu, p.ticks, mem_k, name);
        }
    }
    0
}
