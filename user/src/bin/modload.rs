//! `modload [-v] [-p postinstall] FILE.lkm`: loads a module through
//! `/dev/lkm` (`LMRESERV`, `LMLOADBUF` in 512-byte chunks, `LMREADY`).
//!
//! On success prints the module's id, type and slot; `-v` adds what the
//! verifier processed, the native code size and the time of each phase.
//! A rejection prints the kernel's verifier report with the source line
//! from the image's line table, and exits 1. `-p PROG` runs
//! `PROG ID TYPE SLOT` after the load, as the classic tool did for making
//! device nodes; if PROG fails, the module is unloaded again.
#![no_std]
#![no_main]
use user::lkm::{self, Failure, Lkm, Which};
use user::println;
user::entry!(main);

const USAGE: &str = "modload [-v] [-p postinstall] FILE.lkm";

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("p") else { return user::usage(USAGE) };
    if opts.unknown("vp").is_some() {
        return user::usage(USAGE);
    }
    let [path] = opts.operands.as_slice() else { return user::usage(USAGE) };
    match load(path, opts.has('v'), opts.value('p')) {
        Ok(()) => 0,
        Err(f) => {
            user::eprint!("{}", f.render("modload"));
            1
        }
    }
}

fn load(path: &str, verbose: bool, post: Option<&str>) -> Result<(), Failure> {
    let unreadable = |e: user::Errno| {
        let f = Failure::new(alloc::format!("cannot read `{path}`: {}", e.message()));
        if e == user::Errno::ENOENT { f.help("module images are in /modules (ls /modules)") } else { f }
    };
    let size = user::sys::stat(path).map_err(unreadable)?.size;
    let dev = Lkm::open_rw()?;
    let ready = if size > lkm::MAX_IN_MEMORY {
        // Too large to keep in memory: streamed, and shown without source lines.
        dev.load_file(path, size)?
    } else {
        let bytes = user::io::read_file(path).map_err(unreadable)?;
        dev.load(path, &bytes).map_err(|mut f| {
            let image = ::lkm::parse(&bytes).ok();
            f.detail = f.detail.map(|text| lkm::render_rejection(&text, image.as_ref(), lkm::read_source));
            f
        })?
    };
    let stat = dev.stat(Which::Id(ready.id)).map_err(|e| lkm::explain(lkm::Step::Stat, e, path))?;
    let name = alloc::string::String::from_utf8_lossy(::lkm::ioctl::name_of(&stat.name)).into_owned();
    let class = u8::try_from(stat.class).ok().and_then(::lkm::Class::from_number);
    let kind = class.map_or("?", ::lkm::Class::type_column);
    println!("{name}: loaded as id {} ({kind}, slot {})", ready.id, stat.offset);
    if verbose {
        println!(
            "  {} insns, {} processed by the verifier, {} states stored",
            ready.insns, ready.insns_processed, ready.states
        );
        println!("  native code: {} bytes", ready.code_size);
        println!(
            "  parse {} us, verify {} us, jit {} us, link {} us",
            ready.parse_ns / 1000,
            ready.verify_ns / 1000,
            ready.jit_ns / 1000,
            ready.link_ns / 1000
        );
    }
    let Some(prog) = post else { return Ok(()) };
    let failed = match lkm::run_post(prog, ready.id, stat.class, stat.offset) {
        Ok(0) => return Ok(()),
        Ok(status) => alloc::format!("post-install program `{prog}` exited with status {status}"),
        Err(e) => alloc::format!("cannot run post-install program `{prog}`: {}", e.message()),
    };
    dev.unload(Which::Id(ready.id))?;
    Err(Failure::new(alloc::format!("{failed}; module `{name}` unloaded again"))
        .help("the program gets the module id, type and slot as arguments: PROG ID TYPE SLOT"))
}
extern crate alloc;
