//! User names and ids from `/etc/passwd` (`name:x:uid:gid:gecos:home:shell`).

use crate::io;
use alloc::string::String;
use alloc::vec::Vec;

/// One line of `/etc/passwd`.
pub struct User {
    pub name: String,
    pub uid: u32,
    pub home: String,
}

/// Every user listed; empty if the file cannot be read.
pub fn users() -> Vec<User> {
    let Ok(bytes) = io::read_file("/etc/passwd") else { return Vec::new() };
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let uid = f.get(2)?.parse().ok()?;
            Some(User { name: String::from(*f.first()?), uid, home: String::from(*f.get(5).unwrap_or(&"/")) })
        })
        .collect()
}

/// The name of `uid`, or the number as text.
pub fn name_of(uid: u32, users: &[User]) -> String {
    users.iter().find(|u| u.uid == uid).map_or_else(|| alloc::format!("{uid}"), |u| u.name.clone())
}

/// The user named `name`, or whose uid is `name` written as a number.
pub fn find<'a>(name: &str, users: &'a [User]) -> Option<&'a User> {
    users.iter().find(|u| u.name == name).or_else(|| {
        let uid: u32 = name.parse().ok()?;
        users.iter().find(|u| u.uid == uid)
    })
}
