//! `lkmd`: serves `modc load`, `modc unload` and `modc stat` from the host
//! over `/dev/ttyS2` (COM3, which `cargo xtask run` connects to the UNIX
//! socket `target/warden-lkm.sock`), using `/dev/lkm` like `modload`.
//!
//! `lkmd` starts `lkmd -f` in the background and returns (`/etc/rc` runs
//! it); without the port (tests, a plain QEMU) it quietly does nothing.
//! `lkmd -f` serves in the foreground: it reads frames of `lkm::chan`,
//! carries out each request and answers with a reply frame. The kernel's
//! report goes back as it is; `modc` maps it to the source on the host. A
//! refused unload goes back with the kernel's reason (the `what` field and
//! its note and help lines as the body), so `modc unload` reads like
//! `modunload`.
#![no_std]
#![no_main]
use alloc::string::{String, ToString};
use alloc::vec;
use lkm::chan::{self, Decoder, Frame, Reply};
use user::lkm::{Failure, Lkm, Which};
use user::sys;
user::entry!(main);

const PORT: &str = "/dev/ttyS2";
/// Milliseconds between polls of an idle port.
const IDLE_MS: u64 = 20;
/// Largest request taken: the program heap is 256 KiB, and an image is
/// held once in the frame and once more while the reply is built.
const MAX_REQUEST: usize = 96 * 1024;

fn main(args: user::Args) -> i32 {
    let Ok(opts) = args.options("") else { return user::usage("lkmd [-f]") };
    let Ok(fd) = sys::open(PORT, abi::fs::O_RDWR, 0) else {
        return 0;
    };
    if !opts.has('f') {
        let _ = sys::close(fd);
        return match sys::spawn("/bin/lkmd", &["lkmd", "-f"]) {
            Ok(pid) => {
                user::println!("lkmd: serving modc load on {PORT} (pid {pid})");
                0
            }
            Err(e) => user::report("cannot start lkmd -f", e),
        };
    }
    serve(fd)
}

fn serve(fd: usize) -> i32 {
    let mut decoder = Decoder::with_limit(MAX_REQUEST);
    let mut buf = vec![0u8; 4096];
    loop {
        match sys::read(fd, &mut buf) {
            Ok(0) => {
                let _ = sys::sleep_ms(IDLE_MS);
                continue;
            }
            Ok(n) => decoder.push(&buf[..n]),
            Err(e) => return user::report(PORT, e),
        }
        while let Some(frame) = decoder.next_frame() {
            let reply = match frame {
                Ok(f) => handle(&f),
                Err(e @ chan::ChanError::TooLong(..)) => {
                    failure(Failure::new(e.to_string()).help("copy the image into the guest and use modload there"))
                }
                Err(e) => failure(Failure::new(e.to_string()).help("run the modc command again")),
            };
            if let Err(e) = sys::write_all(fd, &reply.to_frame().to_bytes()) {
                return user::report(PORT, e);
            }
        }
    }
}

fn handle(frame: &Frame) -> Reply {
    let result = match frame.op {
        chan::OP_LOAD => match chan::split_load_payload(&frame.payload) {
            Some((file, image)) => load(file, image),
            None => Err(Failure::new("a load request without a file name")),
        },
        chan::OP_UNLOAD => unload(&String::from_utf8_lossy(&frame.payload)),
        chan::OP_STAT => stat(),
        op => Err(Failure::new(alloc::format!("unknown request {op}")).help("modc and lkmd come from different builds")),
    };
    result.unwrap_or_else(failure)
}

fn failure(f: Failure) -> Reply {
    let mut fields = vec![("what".to_string(), f.what)];
    if let Some(h) = f.help {
        fields.push(("help".to_string(), h));
    }
    if let Some(e) = f.errno {
        fields.push(("errno".to_string(), e.name().to_string()));
    }
    Reply { status: f.errno.map_or(-1, |e| e.code()), fields, body: f.detail.unwrap_or_default() }
}

fn field(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn load(file: &str, image: &[u8]) -> Result<Reply, Failure> {
    let dev = Lkm::open_rw()?;
    let r = dev.load(file, image)?;
    let stat = dev.stat(Which::Id(r.id)).map_err(|e| user::lkm::explain(user::lkm::Step::Stat, e, file))?;
    let class = u8::try_from(stat.class).ok().and_then(lkm::Class::from_number);
    let fields = vec![
        field("id", r.id),
        field("name", String::from_utf8_lossy(lkm::ioctl::name_of(&stat.name))),
        field("type", class.map_or("?", lkm::Class::type_column)),
        field("slot", stat.offset),
        field("insns", r.insns),
        field("processed", r.insns_processed),
        field("states", r.states),
        field("code", r.code_size),
        field("parse_us", r.parse_ns / 1000),
        field("verify_us", r.verify_ns / 1000),
        field("jit_us", r.jit_ns / 1000),
        field("link_us", r.link_ns / 1000),
    ];
    Ok(Reply { status: 0, fields, body: String::new() })
}

fn unload(name: &str) -> Result<Reply, Failure> {
    let dev = Lkm::open_rw()?;
    dev.unload(Which::Name(name))?;
    Ok(Reply::default())
}

fn stat() -> Result<Reply, Failure> {
    let dev = Lkm::open_ro()?;
    let mut body = String::from(user::lkm::stat_header());
    body.push('\n');
    for row in dev.stat_all()? {
        body += &user::lkm::stat_row(&row);
        body.push('\n');
    }
    Ok(Reply { status: 0, fields: vec![], body })
}
extern crate alloc;
