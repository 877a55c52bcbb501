//! `umount DIR`: detaches the file system mounted on a directory.
#![no_std]
#![no_main]
user::entry!(main);

fn main(args: user::Args) -> i32 {
    let [target] = args.rest() else { return user::usage("umount DIR") };
    match user::sys::umount(target) {
        Ok(_) => 0,
        Err(e) => user::report(target, e),
    }
}
