//! `mount -t TYPE SOURCE DIR`: mounts a file system of a registered type
//! (`ramfs`, `devfs`, or one a module added) on a directory. Without
//! arguments: lists what is mounted (`SOURCE on DIR type TYPE`).
#![no_std]
#![no_main]
extern crate alloc;
user::entry!(main);

const USAGE: &str = "mount [-t TYPE SOURCE DIR]";

fn main(args: user::Args) -> i32 {
    if args.rest().is_empty() {
        let mut buf = alloc::vec![0u8; 4096];
        return match user::sys::mounts(&mut buf) {
            Ok(n) => match user::sys::write_all(1, &buf[..n]) {
                Ok(()) => 0,
                Err(e) => user::report("write error", e),
            },
            Err(e) => user::report("mounts", e),
        };
    }
    let Ok(opts) = args.options("t") else { return user::usage(USAGE) };
    let (Some(fstype), [source, target]) = (opts.value('t'), opts.operands.as_slice()) else {
        return user::usage(USAGE);
    };
    match user::sys::mount(fstype, source, target) {
        Ok(_) => 0,
        Err(e) => user::report(&alloc::format!("mounting {source} on {target}"), e),
    }
}
