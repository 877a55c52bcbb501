//! `badptr`: passes bad pointers to system calls and prints what came
//! back, by errno name. Each line should read `... -> EFAULT`.
#![no_std]
#![no_main]
use user::{println, sys};
user::entry!(main);

fn show(what: &str, ret: isize) -> bool {
    match user::Errno::from_ret(ret) {
        Ok(n) => {
            println!("{what} -> {n} (no error)");
            false
        }
        Err(e) => {
            println!("{what} -> {} ({})", e.name(), e.message());
            e == user::Errno::EFAULT
        }
    }
}

fn main(_args: user::Args) -> i32 {
    let fd = match sys::open("/etc/motd", abi::fs::O_RDONLY, 0) {
        Ok(fd) => fd,
        Err(e) => return user::report("/etc/motd", e),
    };
    let cases: [(&str, usize, usize); 4] = [
        ("read(fd, NULL, 16)", 0, 16),
        ("read(fd, 0xffff800000000000, 16)", 0xffff_8000_0000_0000, 16),
        ("read(fd, 0x7000_0000, 16)", 0x7000_0000, 16),
        ("read(fd, text segment, 16)", 0x40_1000, 16),
    ];
    let mut all = true;
    for (what, ptr, len) in cases {
        // SAFETY: the pointers are deliberately bad; the kernel must refuse
        // them without touching memory this program owns.
        let ret = unsafe { sys::raw(abi::syscall::SYS_READ, [fd, ptr, len, 0, 0, 0]) };
        all &= show(what, ret);
    }
    // SAFETY: as above, an unmapped path pointer.
    let ret = unsafe { sys::raw(abi::syscall::SYS_OPEN, [0x10, 4, 0, 0, 0, 0]) };
    all &= show("open(0x10, 4)", ret);
    if all { 0 } else { 1 }
}
