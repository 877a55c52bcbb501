//! `dmesg`: prints the kernel log ring (kernel and module messages).
#![no_std]
#![no_main]
use user::sys;
user::entry!(main);

fn main(_args: user::Args) -> i32 {
    let mut buf = [0u8; 1024];
    let mut pos = 0u64;
    loop {
        match sys::klog(&mut buf, &mut pos) {
            Ok(0) => return 0,
            Ok(n) => {
                if let Err(e) = sys::write_all(1, &buf[..n]) {
                    return user::report("write error", e);
                }
            }
            Err(e) => return user::report("klog", e),
        }
    }
}
