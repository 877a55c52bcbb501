//! `modstat [-v] [-i id] [-n name]`: lists loaded modules with the classic
//! columns `Type Id Off Loadaddr Size Info Rev Module Name`, through
//! `LMSTAT` on a read-only `/dev/lkm` (any user may run it; only root sees
//! load addresses, others get `-`). `-v` adds each module's programs, code
//! size and maps with their entry counts (`LMSTATV`).
#![no_std]
#![no_main]
use user::lkm::{self, Lkm, Which};
use user::println;
user::entry!(main);

const USAGE: &str = "modstat [-v] [-i id] [-n name]";

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("in") else { return user::usage(USAGE) };
    if opts.unknown("inv").is_some() || !opts.operands.is_empty() {
        return user::usage(USAGE);
    }
    let which = match (opts.value('i'), opts.value('n')) {
        (Some(id), None) => match lkm::parse_id(id) {
            Some(id) => Some(Which::Id(id)),
            None => {
                user::eprintln!("modstat: error: `{id}` is not a module id");
                return 2;
            }
        },
        (None, Some(name)) => Some(Which::Name(name)),
        (None, None) => None,
        _ => return user::usage(USAGE),
    };
    let dev = match Lkm::open_ro() {
        Ok(d) => d,
        Err(f) => {
            user::eprint!("{}", f.render("modstat"));
            return 1;
        }
    };
    let rows = match which {
        Some(w) => match dev.stat(w) {
            Ok(s) => alloc::vec![s],
            Err(e) => {
                let subject = match w {
                    Which::Id(id) => alloc::format!("module id {id}"),
                    Which::Name(n) => alloc::format!("module `{n}`"),
                };
                user::eprint!("{}", lkm::explain(lkm::Step::Stat, e, &subject).render("modstat"));
                return 1;
            }
        },
        None => match dev.stat_all() {
            Ok(rows) => rows,
            Err(f) => {
                user::eprint!("{}", f.render("modstat"));
                return 1;
            }
        },
    };
    println!("{}", lkm::stat_header());
    for row in &rows {
        println!("{}", lkm::stat_row(row));
        if opts.has('v') {
            match dev.statv(row.id) {
                Ok(v) => lkm::statv_lines(&v).iter().for_each(|l| println!("{l}")),
                Err(user::Errno::ENOTTY) => println!("        (no details: this kernel does not answer LMSTATV)"),
                Err(e) => println!("        (no details: {})", e.message()),
            }
        }
    }
    0
}
extern crate alloc;
