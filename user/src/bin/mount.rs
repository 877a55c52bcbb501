//! `mount -t TYPE SOURCE DIR`: mounts a file system of a registered type
//! (`ramfs`, `devfs`, or one a module added) on a directory.
#![no_std]
#![no_main]
user::entry!(main);

const USAGE: &str = "mount -t TYPE SOURCE DIR";

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("t") else { return user::usage(USAGE) };
    let (Some(fstype), [source, target]) = (opts.value('t'), opts.operands.as_slice()) else {
        return user::usage(USAGE);
    };
    match user::sys::mount(fstype, source, target) {
        Ok(_) => 0,
        Err(e) => user::report(&alloc::format!("mounting {source} on {target}"), e),
    }
}
extern crate alloc;
