//! `modc load`, `modc unload`, `modc stat`: the module facility of a
//! system started by `cargo xtask run`, from the host.
//!
//! `cargo xtask run` gives the guest a third serial port (COM3) whose other
//! end is the UNIX socket `target/warden-lkm.sock`; in the guest, `lkmd`
//! (started by `/etc/rc`) serves it with `/dev/lkm`. Requests and replies
//! are frames of [`lkm::chan`]. A rejection comes back as the kernel wrote
//! it, and is shown here with the source line (the host has the source);
//! a refused unload shows the kernel's reason as `modunload` does.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lkm::chan::{self, Decoder, Frame, Reply};

/// The socket's name under the workspace's `target/`.
pub const SOCKET_NAME: &str = "warden-lkm.sock";
/// Environment variable naming the socket (overrides the search).
pub const SOCKET_ENV: &str = "WARDEN_LKM_SOCK";
/// How long to wait for the guest's answer (the verifier may take a while under TCG).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The socket: `explicit`, else `$WARDEN_LKM_SOCK`, else `target/warden-lkm.sock`
/// in the current directory or the nearest parent that has one.
pub fn socket_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(SOCKET_ENV) {
        return PathBuf::from(p);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    cwd.ancestors()
        .map(|d| d.join("target").join(SOCKET_NAME))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("target").join(SOCKET_NAME))
}

/// A connection to `lkmd`.
pub struct Channel {
    stream: UnixStream,
    decoder: Decoder,
    path: PathBuf,
}

impl Channel {
    /// Connects to the socket, explaining how to get one when there is none.
    pub fn connect(path: &Path) -> Result<Channel, String> {
        let stream = UnixStream::connect(path).map_err(|e| {
            format!(
                "error: cannot connect to `{}`: {e}\n\
                 help: start the system with `cargo xtask run` in this workspace (it opens the socket), \
                 or name the socket with --socket or ${SOCKET_ENV}\n",
                path.display()
            )
        })?;
        Ok(Channel { stream, decoder: Decoder::new(), path: path.to_path_buf() })
    }

    /// Sends a request and waits for its reply.
    pub fn request(&mut self, frame: &Frame, timeout: Duration) -> Result<Reply, String> {
        let io = |e: std::io::Error| format!("error: `{}`: {e}\n", self.path.display());
        self.stream.write_all(&frame.to_bytes()).map_err(io)?;
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            while let Some(got) = self.decoder.next_frame() {
                match got {
                    Ok(f) => {
                        if let Some(reply) = Reply::from_frame(&f) {
                            return Ok(reply);
                        }
                    }
                    Err(e) => return Err(format!("error: {e}\nhelp: run the command again\n")),
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "error: no answer from the guest within {} s\n\
                     note: `lkmd` answers in the guest; it may not be running, or a loaded module may keep it from answering (a wrapper of `write` that fails)\n\
                     help: type `lkmd` at the guest's shell to start it (`/etc/rc` starts it at boot); if the shell cannot print either, press Ctrl-\\ then `m` at the guest's console to list the modules and Ctrl-\\ then `u` to unload the most recent one\n",
                    timeout.as_secs()
                ));
            }
            self.stream.set_read_timeout(Some(left.min(Duration::from_millis(200)))).map_err(io)?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Err("error: the guest closed the channel (QEMU stopped?)\n".into()),
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(io(e)),
            }
        }
    }
}

/// A failed reply as rustc-style text; `image` maps a report to the source.
pub fn failure_text(reply: &Reply, image: Option<&lkm::Image>) -> String {
    failure_text_with_help(reply, image, reply.field("help"))
}

/// [`failure_text`] with `help` in place of the guest's (which speaks of
/// the guest's commands).
fn failure_text_with_help(reply: &Reply, image: Option<&lkm::Image>, help: Option<&str>) -> String {
    let what = reply.field("what").unwrap_or("the request failed");
    let mut out = match reply.field("errno") {
        Some(e) => format!("error: {what} ({e})\n"),
        None => format!("error: {what}\n"),
    };
    if !reply.body.trim().is_empty() {
        out += &lkm::rejection::render_rejection(&reply.body, image, |p| std::fs::read_to_string(p).ok());
    }
    if let Some(h) = help {
        out += &format!("help: {h}\n");
    }
    out
}

/// A successful load's reply as text, like `modload -v` prints it.
pub fn loaded_text(reply: &Reply) -> String {
    let f = |k: &str| reply.field(k).unwrap_or("?");
    format!(
        "{}: loaded as id {} ({}, slot {})\n  \
         {} insns, {} processed by the verifier, {} states stored\n  \
         native code: {} bytes\n  \
         parse {} us, verify {} us, jit {} us, link {} us\n",
        f("name"),
        f("id"),
        f("type"),
        f("slot"),
        f("insns"),
        f("processed"),
        f("states"),
        f("code"),
        f("parse_us"),
        f("verify_us"),
        f("jit_us"),
        f("link_us")
    )
}

/// Loads an image (already compiled) named `file` through the channel.
/// With `replace`, a loaded module of the same name is unloaded first.
pub fn load(sock: &Path, file: &str, image: &[u8], replace: bool) -> Result<String, String> {
    let parsed = lkm::parse(image).ok();
    let mut out = String::new();
    if let (true, Some(img)) = (replace, &parsed) {
        let reply = unload_request(sock, &img.name)?;
        match reply.field("errno") {
            _ if reply.status == 0 => out += &format!("{}: unloaded\n", img.name),
            // Not loaded: nothing to replace.
            Some("ENOENT" | "EINVAL") => {}
            _ => return Err(failure_text(&reply, None)),
        }
    }
    let mut ch = Channel::connect(sock)?;
    let reply = ch.request(&Frame::new(chan::OP_LOAD, chan::load_payload(file, image)), REPLY_TIMEOUT)?;
    if reply.status == 0 {
        return Ok(out + &loaded_text(&reply));
    }
    if reply.field("errno") == Some("EEXIST") {
        let name = parsed.as_ref().map_or("NAME", |i| i.name.as_str());
        let help = format!("replace it with `modc load --replace {file}`, or unload it with `modc unload {name}`");
        return Err(failure_text_with_help(&reply, parsed.as_ref(), Some(&help)));
    }
    Err(failure_text(&reply, parsed.as_ref()))
}

/// Unloads module `name`.
pub fn unload(sock: &Path, name: &str) -> Result<String, String> {
    let reply = unload_request(sock, name)?;
    if reply.status == 0 { Ok(format!("{name}: unloaded\n")) } else { Err(failure_text(&reply, None)) }
}

fn unload_request(sock: &Path, name: &str) -> Result<Reply, String> {
    Channel::connect(sock)?.request(&Frame::new(chan::OP_UNLOAD, name.as_bytes().to_vec()), REPLY_TIMEOUT)
}

/// `modstat`'s table of the guest.
pub fn stat(sock: &Path) -> Result<String, String> {
    let mut ch = Channel::connect(sock)?;
    let reply = ch.request(&Frame::new(chan::OP_STAT, Vec::new()), REPLY_TIMEOUT)?;
    if reply.status == 0 { Ok(reply.body) } else { Err(failure_text(&reply, None)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake `lkmd` answering one request with `reply`; returns the request.
    fn serve_once(path: &Path, reply: Reply) -> std::thread::JoinHandle<Frame> {
        let all = serve(path, vec![reply]);
        std::thread::spawn(move || all.join().unwrap().remove(0))
    }

    /// A fake `lkmd` answering one request per connection with each of
    /// `replies` in turn; returns the requests.
    fn serve(path: &Path, replies: Vec<Reply>) -> std::thread::JoinHandle<Vec<Frame>> {
        let listener = UnixListener::bind(path).unwrap();
        std::thread::spawn(move || {
            let mut frames = Vec::new();
            for reply in replies {
                let (mut s, _) = listener.accept().unwrap();
                let mut d = Decoder::new();
                let mut buf = [0u8; 512];
                let frame = loop {
                    if let Some(f) = d.next_frame() {
                        break f.unwrap();
                    }
                    let n = s.read(&mut buf).unwrap();
                    d.push(&buf[..n]);
                };
                // Noise on the line before the answer, as a serial port may have.
                s.write_all(b"\r\n\0").unwrap();
                s.write_all(&reply.to_frame().to_bytes()).unwrap();
                frames.push(frame);
            }
            frames
        })
    }

    fn temp_socket(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("modc-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn a_rejection_is_shown_at_the_source_line() {
        let dir = std::env::temp_dir().join(format!("modc-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src_path = dir.join("bad.wm");
        let source = "module bad: misc;\nfn load(ctx: &LoadCtx) -> i64 {\n    return 0;\n}\n";
        std::fs::write(&src_path, source).unwrap();
        let name = src_path.display().to_string();
        let image = crate::driver::compile(source, &name).unwrap().image;
        let sock = temp_socket("reject");
        let pc = image.lines.as_ref().unwrap().programs[0].iter().find(|e| e.line == 3).unwrap().slot;
        let body = format!("entry point `load` rejected\nerror[return-value]: r0 is not set\n --> insn {pc}: exit\n  = help: set r0\n");
        let reply = Reply {
            status: 22,
            fields: vec![("what".into(), "the kernel refused `bad.wm`".into()), ("errno".into(), "EINVAL".into())],
            body,
        };
        let server = serve_once(&sock, reply);
        let err = load(&sock, "bad.wm", &image.to_bytes(), false).unwrap_err();
        let request = server.join().unwrap();
        assert_eq!(request.op, chan::OP_LOAD);
        assert_eq!(chan::split_load_payload(&request.payload).unwrap().1, &image.to_bytes()[..]);
        assert!(err.starts_with("error: the kernel refused `bad.wm` (EINVAL)\n"), "{err}");
        assert!(err.contains(&format!(" --> insn {pc}: exit\n  --> {name}:3:5\n")), "{err}");
        assert!(err.contains("3 |     return 0;\n  |     ^\n"), "{err}");
        let _ = std::fs::remove_file(&sock);
    }

    #[test]
    fn a_silent_guest_is_reported_with_the_ways_out() {
        // A guest that takes the request and never answers: lkmd stopped,
        // or a module broke its `write`.
        let sock = temp_socket("silent");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
        let mut ch = Channel::connect(&sock).unwrap();
        let err = ch.request(&Frame::new(chan::OP_STAT, Vec::new()), Duration::from_millis(300)).unwrap_err();
        drop(server.join());
        assert!(err.starts_with("error: no answer from the guest within 0 s\n"), "{err}");
        assert!(err.contains("type `lkmd` at the guest's shell"), "{err}");
        assert!(err.contains("press Ctrl-\\ then `m`"), "{err}");
        let _ = std::fs::remove_file(&sock);
    }

    #[test]
    fn stat_prints_the_guests_table_and_a_missing_socket_says_what_to_do() {
        let sock = temp_socket("stat");
        let table = "Type     Id Off Loadaddr Size Info Rev Module Name\nMISC      0   0 00801000 0040    0   1 hello\n";
        let server = serve_once(&sock, Reply { status: 0, fields: vec![], body: table.into() });
        assert_eq!(stat(&sock).unwrap(), table);
        assert_eq!(server.join().unwrap().op, chan::OP_STAT);
        let _ = std::fs::remove_file(&sock);
        let err = stat(&sock).unwrap_err();
        assert!(err.contains("help: start the system with `cargo xtask run`"), "{err}");
    }

    #[test]
    fn a_refused_unload_shows_the_kernels_reason() {
        let sock = temp_socket("unload");
        let reason = "  = note: module `countwrite` was loaded on system call 2 after it and chains through it\n  \
                      = help: unload `countwrite` first\n";
        let reply = Reply {
            status: 16,
            fields: vec![("what".into(), "module `wrapwrite` is in use".into()), ("errno".into(), "EBUSY".into())],
            body: reason.into(),
        };
        let server = serve_once(&sock, reply);
        let err = unload(&sock, "wrapwrite").unwrap_err();
        let request = server.join().unwrap();
        assert_eq!((request.op, &request.payload[..]), (chan::OP_UNLOAD, &b"wrapwrite"[..]));
        assert_eq!(err, format!("error: module `wrapwrite` is in use (EBUSY)\n{reason}"));
        let _ = std::fs::remove_file(&sock);
    }

    fn hello_image() -> Vec<u8> {
        let source = "module hello: misc;\nfn load(ctx: &LoadCtx) -> i64 {\n    return 0;\n}\n";
        crate::driver::compile(source, "hello.wm").unwrap().image.to_bytes()
    }

    fn reply(status: i32, fields: &[(&str, &str)]) -> Reply {
        Reply { status, fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: String::new() }
    }

    #[test]
    fn loading_a_loaded_module_offers_the_hosts_commands() {
        let sock = temp_socket("exists");
        let exists = reply(17, &[("what", "a module named `hello` is already loaded"), ("errno", "EEXIST"), ("help", "unload it first: modunload -n NAME")]);
        let server = serve_once(&sock, exists);
        let err = load(&sock, "hello.wm", &hello_image(), false).unwrap_err();
        server.join().unwrap();
        assert!(err.starts_with("error: a module named `hello` is already loaded (EEXIST)\n"), "{err}");
        assert!(err.contains("help: replace it with `modc load --replace hello.wm`, or unload it with `modc unload hello`\n"), "{err}");
        assert!(!err.contains("modunload"), "a guest command offered on the host: {err}");
        let _ = std::fs::remove_file(&sock);
    }

    #[test]
    fn replace_unloads_the_module_of_the_same_name_first() {
        let sock = temp_socket("replace");
        let loaded = reply(0, &[("name", "hello"), ("id", "3"), ("type", "MISC"), ("slot", "0")]);
        let server = serve(&sock, vec![reply(0, &[]), loaded]);
        let text = load(&sock, "hello.wm", &hello_image(), true).unwrap();
        let requests = server.join().unwrap();
        assert_eq!((requests[0].op, &requests[0].payload[..]), (chan::OP_UNLOAD, &b"hello"[..]));
        assert_eq!(requests[1].op, chan::OP_LOAD);
        assert!(text.starts_with("hello: unloaded\nhello: loaded as id 3 (MISC, slot 0)\n"), "{text}");
        let _ = std::fs::remove_file(&sock);
        // Nothing loaded under that name: the load goes ahead.
        let server = serve(&sock, vec![reply(2, &[("what", "no module `hello`"), ("errno", "ENOENT")]), reply(0, &[("name", "hello")])]);
        let text = load(&sock, "hello.wm", &hello_image(), true).unwrap();
        server.join().unwrap();
        assert!(text.starts_with("hello: loaded as id"), "{text}");
        let _ = std::fs::remove_file(&sock);
    }

    #[test]
    fn success_shows_id_slot_and_phases() {
        let fields = [("name", "hello"), ("id", "0"), ("type", "MISC"), ("slot", "0"), ("verify_us", "812")];
        let reply = Reply { status: 0, fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: String::new() };
        let text = loaded_text(&reply);
        assert!(text.starts_with("hello: loaded as id 0 (MISC, slot 0)\n"), "{text}");
        assert!(text.contains("verify 812 us"), "{text}");
    }
}
