//! `crash [null|write-text|kernel|ud]`: faults on purpose, to show that a
//! fault ends only this program. Default: reads through a null pointer.
#![no_std]
#![no_main]
user::entry!(main);

fn main(args: user::Args) -> i32 {
    let how = args.get(1).unwrap_or("null");
    user::println!("crash: about to fault ({how})");
    match how {
        // SAFETY: none of these is safe; faulting is the point.
        "null" => unsafe {
            let p = core::ptr::null::<u64>();
            core::ptr::read_volatile(p) as i32
        },
        "write-text" => unsafe {
            let p = main as *const () as *mut u8;
            core::ptr::write_volatile(p, 0xcc);
            0
        },
        "kernel" => unsafe {
            let p = 0xffff_ffff_8000_0000usize as *const u64;
            core::ptr::read_volatile(p) as i32
        },
        "ud" => unsafe { core::arch::asm!("ud2", options(noreturn)) },
        _ => user::usage("crash [null|write-text|kernel|ud]"),
    }
}
