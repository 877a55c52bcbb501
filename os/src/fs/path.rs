//! Paths: every path the VFS handles is absolute and normalised — it
//! starts with `/`, has no empty, `.` or `..` components and no trailing
//! `/` (except the root itself, `/`).

use super::Result;
use abi::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest path accepted.
pub const PATH_MAX: usize = 256;

/// Joins `path` to `cwd` (if relative) and normalises the result.
pub fn absolute(cwd: &str, path: &str) -> Result<String> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() > PATH_MAX || cwd.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut parts: Vec<&str> = Vec::new();
    let base = if path.starts_with('/') { "" } else { cwd };
    for part in base.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => {
                if name.len() > abi::fs::NAME_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                parts.push(name)
            }
        }
    }
    let mut out = String::with_capacity(path.len() + cwd.len() + 1);
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// The components of a normalised path (none for `/`).
pub fn components(abs: &str) -> impl Iterator<Item = &str> {
    abs.split('/').filter(|p| !p.is_empty())
}

/// Splits a normalised path into its parent and last component;
/// `None` for `/`.
pub fn split_last(abs: &str) -> Option<(&str, &str)> {
    if abs == "/" {
        return None;
    }
    let cut = abs.rfind('/')?;
    let parent = if cut == 0 { "/" } else { &abs[..cut] };
    Some((parent, &abs[cut + 1..]))
}

/// If `path` is `prefix` or lies below it, the rest (without a leading `/`).
pub fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}
