//! `ls [-l] [PATH...]`: lists directory entries, one a line, sorted by
//! name; `-l` adds mode, links, owner, size (or device numbers).
#![no_std]
#![no_main]
extern crate alloc;
use abi::fs::{major, minor, mode_string, Dirent, FileKind, Stat, O_DIRECTORY, O_RDONLY};
use alloc::string::String;
use alloc::vec::Vec;
use user::passwd::{self, User};
use user::{println, sys, Errno};
user::entry!(main);

fn read_dir(path: &str) -> Result<Vec<String>, Errno> {
    let fd = sys::open(path, O_RDONLY | O_DIRECTORY, 0)?;
    let mut names = Vec::new();
    let mut buf = [Dirent::new(0, 0, b""); 16];
    let result = loop {
        match sys::getdents(fd, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(bytes) => {
                let count = (bytes / abi::fs::DIRENT_SIZE).min(buf.len());
                for d in &buf[..count] {
                    names.push(String::from(String::from_utf8_lossy(d.name())));
                }
            }
            Err(e) => break Err(e),
        }
    };
    let _ = sys::close(fd);
    result?;
    names.sort();
    Ok(names)
}

fn long_line(name: &str, st: &Stat, users: &[User]) {
    let mode = mode_string(st.mode);
    let mode = core::str::from_utf8(&mode).unwrap_or("?");
    let owner = passwd::name_of(st.uid, users);
    let size = match FileKind::from_mode(st.mode) {
        Some(FileKind::CharDevice | FileKind::BlockDevice) => {
            alloc::format!("{}, {}", major(st.rdev), minor(st.rdev))
        }
        _ => alloc::format!("{}", st.size),
    };
    println!("{} {:>2} {:<8} {:>8} {}", mode, st.nlink, owner, size, name);
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') { alloc::format!("{dir}{name}") } else { alloc::format!("{dir}/{name}") }
}

fn list(path: &str, long: bool, users: &[User]) -> Result<(), Errno> {
    let st = sys::stat(path)?;
    if FileKind::from_mode(st.mode) != Some(FileKind::Directory) {
        if long { long_line(path, &st, users) } else { println!("{path}") }
        return Ok(());
    }
    for name in read_dir(path)? {
        if long {
            match sys::stat(&join(path, &name)) {
                Ok(st) => long_line(&name, &st, users),
                Err(e) => {
                    user::report(&join(path, &name), e);
                }
            }
        } else {
            println!("{name}");
        }
    }
    Ok(())
}

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("") else { return user::usage("ls [-l] [PATH...]") };
    if let Some(c) = opts.unknown("l") {
        user::eprintln!("ls: invalid option -- '{c}'");
        return user::usage("ls [-l] [PATH...]");
    }
    let long = opts.has('l');
    let users = if long { passwd::users() } else { Vec::new() };
    let paths = if opts.operands.is_empty() { alloc::vec!["."] } else { opts.operands.clone() };
    let mut status = 0;
    for (i, path) in paths.iter().enumerate() {
        if paths.len() > 1 {
            if i > 0 {
                println!();
            }
            println!("{path}:");
        }
        if let Err(e) = list(path, long, &users) {
            user::eprintln!("ls: cannot access '{}': {}", path, e.message());
            status = 2;
        }
    }
    status
}
