//! `modunload -i id | -n name [-p postremove]`: unloads a module through
//! `/dev/lkm` (`LMUNLOAD`). A refusal prints the kernel's reason, e.g.
//!
//! ```text
//! modunload: error: module `wrapwrite` is in use (EBUSY)
//!   = note: module `countwrite` was loaded on system call 2 after it and chains through it
//!   = help: unload `countwrite` first
//! ```
//!
//! and exits 1. `-p PROG` runs `PROG ID TYPE SLOT` after the unload, as
//! the classic tool did for removing device nodes.
#![no_std]
#![no_main]
use user::lkm::{self, Failure, Lkm, Which};
user::entry!(main);

const USAGE: &str = "modunload -i id | -n name [-p postremove]";

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("inp") else { return user::usage(USAGE) };
    if opts.unknown("inp").is_some() || !opts.operands.is_empty() {
        return user::usage(USAGE);
    }
    let which = match (opts.value('i'), opts.value('n')) {
        (Some(id), None) => match lkm::parse_id(id) {
            Some(id) => Which::Id(id),
            None => {
                user::eprintln!("modunload: error: `{id}` is not a module id\nmodunload: help: ids are the numbers in modstat's Id column");
                return 2;
            }
        },
        (None, Some(name)) => Which::Name(name),
        _ => return user::usage(USAGE),
    };
    match unload(which, opts.value('p')) {
        Ok(()) => 0,
        Err(f) => {
            user::eprint!("{}", f.render("modunload"));
            1
        }
    }
}

fn unload(which: Which<'_>, post: Option<&str>) -> Result<(), Failure> {
    let dev = Lkm::open_rw()?;
    // The row is read first: the post-remove program needs the id, type and slot.
    let stat = match which {
        Which::Name(n) => dev.stat(which).map_err(|e| lkm::explain(lkm::Step::Unload, e, &alloc::format!("module `{n}`")))?,
        Which::Id(id) => dev.stat(which).map_err(|e| lkm::explain(lkm::Step::Unload, e, &alloc::format!("module id {id}")))?,
    };
    dev.unload(which)?;
    let Some(prog) = post else { return Ok(()) };
    match lkm::run_post(prog, stat.id, stat.class, stat.offset) {
        Ok(0) => Ok(()),
        Ok(status) => Err(Failure::new(alloc::format!("post-remove program `{prog}` exited with status {status}"))),
        Err(e) => Err(Failure::new(alloc::format!("cannot run post-remove program `{prog}`: {}", e.message()))),
    }
}
extern crate alloc;
