//! `modstat [-v] [-i id] [-n name] [-m map]`: lists loaded modules with the
//! classic columns `Type Id Off Loadaddr Size Info Rev Module Name`, through
//! `LMSTAT` on a read-only `/dev/lkm` (any user may run it; only root sees
//! load addresses, others get `-`). `-v` adds each module's programs, code
//! size and maps with their entry counts (`LMSTATV`). `-m map` (with `-i`
//! or `-n`) prints every entry of one of the module's array maps, named or
//! numbered from 0; of a per-CPU array, each CPU's value and their sum
//! (`LMMAPREAD`).
#![no_std]
#![no_main]
use user::lkm::{self, Lkm, Which};
use user::println;
user::entry!(main);

const USAGE: &str = "modstat [-v] [-i id] [-n name] [-m map]";
/// Most entries `-m` prints.
const MAX_ROWS: u32 = 64;

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("inm") else { return user::usage(USAGE) };
    if opts.unknown("inmv").is_some() || !opts.operands.is_empty() {
        return user::usage(USAGE);
    }
    if opts.has('m') && !(opts.has('i') || opts.has('n')) {
        user::eprintln!("modstat: error: `-m` needs the module\n  = help: name it with `-n name` or `-i id`");
        return 2;
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
        if let Some(map) = opts.value('m') {
            return print_map(&dev, row.id, map);
        }
    }
    0
}

/// Prints every entry (at most [`MAX_ROWS`]) of array map `map` (a name or
/// a number) of module `id`; the exit status.
fn print_map(dev: &Lkm, id: i32, map: &str) -> i32 {
    let v = match dev.statv(id) {
        Ok(v) => v,
        Err(e) => {
            user::eprintln!("modstat: error: cannot describe module id {id}: {}", e.message());
            return 1;
        }
    };
    let listed = &v.maps[..(v.nmaps as usize).min(::lkm::ioctl::STATV_MAPS)];
    let found = listed.iter().position(|m| ::lkm::ioctl::name_of(&m.name) == map.as_bytes()).or_else(|| map.parse().ok());
    let Some((index, m)) = found.and_then(|i| Some((i, listed.get(i)?))) else {
        user::eprintln!("modstat: error: the module has no map `{map}`\n  = help: `modstat -v` lists its maps");
        return 1;
    };
    let kind = ::lkm::MapKind::from_code(m.kind as u8);
    if kind == Some(::lkm::MapKind::Hash) || kind.is_none() {
        user::eprintln!("modstat: error: map `{map}` is not an array\n  = note: `-m` lists array and per-CPU array maps, whose keys are their indices");
        return 1;
    }
    for i in 0..m.max_entries.min(MAX_ROWS) {
        match dev.map_read(id, index as u32, i) {
            Ok((size, values)) => {
                println!("{}", lkm::map_entry_line(i, size, &values, kind == Some(::lkm::MapKind::PerCpuArray)))
            }
            Err(e) => {
                user::eprintln!("modstat: error: cannot read entry {i} of map `{map}`: {}", e.message());
                return 1;
            }
        }
    }
    if m.max_entries > MAX_ROWS {
        println!("        ... and {} more entries", m.max_entries - MAX_ROWS);
    }
    0
}
extern crate alloc;
