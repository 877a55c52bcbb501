//! `chmod MODE FILE...`: sets the permission bits of files. MODE is octal,
//! as on Unix: `755` is `rwxr-xr-x`, `644` is `rw-r--r--`. Only a file's
//! owner and root may change its mode. A leading `1` sets the sticky bit
//! (`1777`): in such a directory only an entry's owner, the directory's
//! owner or root may remove the entry.
#![no_std]
#![no_main]
extern crate alloc;
use user::{eprintln, sys, Errno};
user::entry!(main);

const USAGE: &str = "chmod MODE FILE... (MODE in octal, e.g. 755)";

fn main(args: user::Args) -> i32 {
    let [mode, files @ ..] = args.rest() else { return user::usage(USAGE) };
    if files.is_empty() {
        return user::usage(USAGE);
    }
    let Some(mode) = u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o1777) else {
        eprintln!("chmod: error: `{mode}` is not an octal mode");
        eprintln!("chmod: help: write three octal digits, owner, group and others: 755 (rwxr-xr-x), 644 (rw-r--r--); a leading 1 is the sticky bit (1777)");
        return 2;
    };
    let mut status = 0;
    for &file in files {
        if let Err(e) = sys::chmod(file, mode) {
            status = user::report(&alloc::format!("cannot change the mode of '{file}'"), e);
            match e {
                Errno::EPERM => eprintln!("chmod: help: only the file's owner and root may change its mode"),
                Errno::EROFS => eprintln!("chmod: help: the initrd keeps its modes; copy the file to /tmp first"),
                _ => {}
            }
        }
    }
    status
}
