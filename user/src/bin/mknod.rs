//! `mknod [-m MODE] NAME c|b MAJOR MINOR`: makes a device node.
#![no_std]
#![no_main]
use abi::fs::{makedev, S_IFBLK, S_IFCHR};
user::entry!(main);

const USAGE: &str = "mknod [-m MODE] NAME c|b MAJOR MINOR";

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("m") else { return user::usage(USAGE) };
    let [name, kind, major, minor] = opts.operands.as_slice() else { return user::usage(USAGE) };
    let kind = match *kind {
        "c" | "u" => S_IFCHR,
        "b" => S_IFBLK,
        _ => return user::usage(USAGE),
    };
    let perm = match opts.value('m').map(|m| u32::from_str_radix(m, 8)) {
        None => 0o666,
        Some(Ok(p)) if p <= 0o777 => p,
        Some(_) => {
            user::eprintln!("mknod: invalid mode");
            return 2;
        }
    };
    let (Ok(major), Ok(minor)) = (major.parse::<u32>(), minor.parse::<u32>()) else {
        user::eprintln!("mknod: invalid device number");
        return 2;
    };
    if minor > 255 {
        user::eprintln!("mknod: minor number {minor} is above 255");
        return 2;
    }
    match user::sys::mknod(name, kind | perm, makedev(major, minor)) {
        Ok(_) => 0,
        Err(e) => user::report(name, e),
    }
}
