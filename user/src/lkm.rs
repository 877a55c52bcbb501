//! Talking to `/dev/lkm`: what `modload`, `modunload`, `modstat` and
//! `lkmd` share.
//!
//! - [`Lkm`]: the open device and one method per ioctl of `lkm::ioctl`
//!   (`LMRESERV`, `LMLOADBUF`, `LMREADY`, `LMUNRESRV`, `LMUNLOAD`, `LMSTAT`,
//!   `LMSTATV`, `LMMAPREAD`), and [`Lkm::load`], the whole classic load
//!   sequence.
//! - [`Failure`]: an errno with what it means here and how to fix it, printed
//!   rustc-style (`error: ...` then `help: ...`); [`refusal`] makes one
//!   of the kernel's own reason when it sent one (`LMUNLOAD`).
//! - [`render_rejection`] (from `lkm::rejection`): the kernel's verifier
//!   report with the source line inserted under the instruction.
//! - [`stat_header`], [`stat_row`], [`statv_lines`]: `modstat`'s table;
//!   [`map_entry_line`]: one entry of an array map (`modstat -m`).
//!
//! Everything but the ioctl calls is plain text work, tested on the host.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use abi::Errno;
use lkm::ioctl::{self, LmcLoadbuf, LmcMapRead, LmcReady, LmcResrv, LmcStat, LmcStatv, LmcUnload};
use lkm::Class;
pub use lkm::rejection::{render_rejection, report_location};

use crate::sys;

/// The device node of the module facility.
pub const DEV_LKM: &str = "/dev/lkm";
/// Bytes of report buffer handed to `LMREADY`.
pub const REPORT_CAP: usize = 8192;
/// Bytes of reason buffer handed to `LMUNLOAD` (a refusal is a few lines).
pub const REASON_CAP: usize = 1024;
/// Largest image a tool reads into memory (the program heap is 256 KiB);
/// larger ones are streamed with [`Lkm::load_file`].
pub const MAX_IN_MEMORY: u64 = 96 * 1024;

/// A failed step, with what it means and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error line, without the `error: ` prefix.
    pub what: String,
    /// The errno behind it, if any.
    pub errno: Option<Errno>,
    /// Text the kernel sent back (a verifier report), shown as is.
    pub detail: Option<String>,
    pub help: Option<String>,
}

impl Failure {
    pub fn new(what: impl Into<String>) -> Failure {
        Failure { what: what.into(), errno: None, detail: None, help: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Failure {
        self.help = Some(help.into());
        self
    }

    /// The failure as lines for stderr, each prefixed by the program name.
    pub fn render(&self, program: &str) -> String {
        let mut out = format!("{program}: error: {}", self.what);
        if let Some(e) = self.errno {
            out += &format!(" ({})", e.name());
        }
        out.push('\n');
        if let Some(d) = &self.detail {
            out += d;
            if !d.ends_with('\n') {
                out.push('\n');
            }
        }
        if let Some(h) = &self.help {
            out += &format!("{program}: help: {h}\n");
        }
        out
    }
}

/// Which module a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    Id(i32),
    Name(&'a str),
}

impl Which<'_> {
    fn describe(&self) -> String {
        match self {
            Which::Id(id) => format!("module id {id}"),
            Which::Name(n) => format!("module `{n}`"),
        }
    }
}

/// What the step was doing when an errno came back; picks the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Open { write: bool },
    Reserve,
    Loadbuf,
    Ready,
    Unload,
    Stat,
}

/// An errno from `/dev/lkm` explained for a user: what happened and the fix.
pub fn explain(step: Step, errno: Errno, subject: &str) -> Failure {
    let (what, help): (String, Option<&str>) = match (step, errno) {
        (Step::Open { .. }, Errno::ENOENT | Errno::ENXIO | Errno::ENODEV) => (
            format!("{DEV_LKM}: no such device"),
            Some("this kernel has no module facility, or devfs is not mounted on /dev"),
        ),
        (Step::Open { write: true }, Errno::EACCES | Errno::EPERM) => {
            (format!("{DEV_LKM}: permission denied"), Some("only the superuser may load and unload modules (try `su`)"))
        }
        (Step::Open { .. }, Errno::EBUSY) => (
            format!("{DEV_LKM}: busy"),
            Some("another process holds /dev/lkm open for writing; wait for it to finish"),
        ),
        (Step::Reserve, Errno::EEXIST) => {
            (format!("a module named `{subject}` is already loaded"), Some("unload it first: modunload -n NAME"))
        }
        (Step::Reserve, Errno::ENFILE) => {
            ("no free module slot".to_string(), Some("unload a module you no longer need (modstat lists them)"))
        }
        (Step::Reserve, Errno::EFBIG | Errno::ENOMEM) => (
            format!("`{subject}` is too large to load"),
            Some("images are limited to 1 MiB (lkm::ioctl::MAX_IMAGE_SIZE); make the module smaller"),
        ),
        (Step::Reserve | Step::Ready, Errno::EBUSY) => (
            format!("cannot load `{subject}`: the slot it asks for is taken"),
            Some("unload the module holding it, or let the kernel choose the slot"),
        ),
        (Step::Ready, Errno::ENOMEM) => (
            format!("`{subject}` is over the module memory budget"),
            Some("declare fewer or smaller maps, or shorten the programs"),
        ),
        (Step::Ready, Errno::ENOEXEC) => {
            (format!("`{subject}` is not a valid module image"), Some("rebuild it with `modc build FILE.wm`"))
        }
        (Step::Ready, Errno::EPERM | Errno::EACCES) => (
            format!("the kernel refused `{subject}`: it asks for something no module may have"),
            Some("a driver may use only the ports the kernel grants to modules (see the note above)"),
        ),
        (Step::Ready, Errno::EINVAL) => (
            format!("the kernel refused `{subject}`"),
            Some("`modc check` on the host gives the same verdict before loading (for a .wm, at the source)"),
        ),
        (Step::Unload | Step::Stat, Errno::ENOENT | Errno::EINVAL) => {
            (format!("no {subject} is loaded"), Some("modstat lists the loaded modules"))
        }
        (Step::Unload, Errno::EBUSY) => (
            format!("{subject} is in use"),
            Some("close its files, unmount its file system, or first unload the module that chains through it"),
        ),
        (_, Errno::EACCES | Errno::EPERM) => (
            format!("{DEV_LKM}: permission denied"),
            Some("only the superuser may load and unload modules (try `su`)"),
        ),
        (_, e) => (format!("{subject}: {}", e.message()), None),
    };
    Failure { what, errno: Some(errno), detail: None, help: help.map(String::from) }
}

/// An errno from `/dev/lkm` with the kernel's reason text (`LMUNLOAD`'s
/// refusal): the kernel's `error:` line becomes the failure's own, its
/// `= note:` and `= help:` lines follow as they are, so the user reads what
/// the kernel knows (e.g. which module chains through this one). Without
/// such text, [`explain`] says what the errno means here.
pub fn refusal(step: Step, errno: Errno, subject: &str, text: &str) -> Failure {
    let mut f = explain(step, errno, subject);
    let text = text.trim_end();
    let Some(rest) = text.strip_prefix("error: ") else {
        if !text.is_empty() {
            f.detail = Some(String::from(text));
        }
        return f;
    };
    let (what, detail) = rest.split_once('\n').unwrap_or((rest, ""));
    f.what = String::from(what);
    if detail.lines().any(|l| l.trim_start().starts_with("= help:")) {
        f.help = None;
    }
    f.detail = (!detail.trim().is_empty()).then(|| String::from(detail));
    f
}

/// The module name an image declares, read from its header without
/// parsing the rest, so that even a malformed image reaches the kernel
/// (which must refuse it itself). `None` if the header is unreadable.
pub fn header_name(bytes: &[u8]) -> Option<&str> {
    // magic (4), version (2), class (1), flags (1), then the name as str8.
    if bytes.len() < 9 || bytes[..4] != lkm::image::MAGIC {
        return None;
    }
    let len = bytes[8] as usize;
    let name = core::str::from_utf8(bytes.get(9..9 + len)?).ok()?;
    lkm::class::valid_name(name.as_bytes()).then_some(name)
}

/// The name to reserve for the image at `path`: the header's, else the
/// file name without directories and `.lkm`, cut to `MAXLKMNAME` bytes.
pub fn reserve_name<'a>(path: &'a str, bytes: &'a [u8]) -> &'a str {
    if let Some(n) = header_name(bytes) {
        return n;
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.strip_suffix(".lkm").unwrap_or(base);
    let mut end = stem.len().min(lkm::MAXLKMNAME);
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 { "module" } else { &stem[..end] }
}

/// The open `/dev/lkm`.
pub struct Lkm {
    fd: usize,
}

impl Lkm {
    /// Opens the device for reading and writing (to load and unload).
    pub fn open_rw() -> Result<Lkm, Failure> {
        Self::open(true)
    }

    /// Opens it read-only (enough for `LMSTAT`; any user may).
    pub fn open_ro() -> Result<Lkm, Failure> {
        Self::open(false)
    }

    fn open(write: bool) -> Result<Lkm, Failure> {
        let flags = if write { abi::fs::O_RDWR } else { abi::fs::O_RDONLY };
        sys::open(DEV_LKM, flags, 0)
            .map(|fd| Lkm { fd })
            .map_err(|e| explain(Step::Open { write }, e, DEV_LKM))
    }

    fn ioctl<T>(&self, cmd: u32, arg: &mut T) -> Result<usize, Errno> {
        sys::ioctl(self.fd, cmd as usize, arg as *mut T as usize)
    }

    /// `LMRESERV`: a slot for `size` bytes named `name`; the module id.
    pub fn reserve(&self, name: &str, size: usize) -> Result<i32, Failure> {
        let field = ioctl::name_field(name).ok_or_else(|| {
            Failure::new(format!("module name `{name}` is longer than {} bytes", lkm::MAXLKMNAME))
        })?;
        let mut req = LmcResrv { size: size as u64, name: field, ..Default::default() };
        self.ioctl(ioctl::LMRESERV, &mut req).map_err(|e| explain(Step::Reserve, e, name))?;
        Ok(req.slot)
    }

    /// `LMLOADBUF`: the image in chunks of at most `MODIOBUF` bytes.
    pub fn load_buf(&self, bytes: &[u8], name: &str) -> Result<(), Failure> {
        for chunk in bytes.chunks(ioctl::MODIOBUF as usize) {
            let mut req = LmcLoadbuf { cnt: chunk.len() as u32, _pad: 0, data: chunk.as_ptr() as u64 };
            self.ioctl(ioctl::LMLOADBUF, &mut req).map_err(|e| explain(Step::Loadbuf, e, name))?;
        }
        Ok(())
    }

    /// `LMREADY`: verify, compile, link; the statistics, or the errno and
    /// the kernel's report text.
    pub fn ready(&self, id: i32) -> Result<LmcReady, (Errno, String)> {
        let mut report = alloc::vec![0u8; REPORT_CAP];
        let mut req = LmcReady {
            id,
            report_cap: REPORT_CAP as u32,
            report: report.as_mut_ptr() as u64,
            ..Default::default()
        };
        match self.ioctl(ioctl::LMREADY, &mut req) {
            Ok(_) => Ok(req),
            Err(e) => {
                let n = (req.report_len as usize).min(REPORT_CAP);
                Err((e, String::from_utf8_lossy(&report[..n]).into_owned()))
            }
        }
    }

    /// `LMUNRESRV`: drops this descriptor's half-finished load.
    pub fn unreserve(&self) {
        let _ = sys::ioctl(self.fd, ioctl::LMUNRESRV as usize, 0);
    }

    /// The whole load: reserve, copy, ready. A rejection carries the
    /// kernel's report text as `detail`, as the kernel wrote it (map it to
    /// the source with [`render_rejection`]).
    pub fn load(&self, path: &str, bytes: &[u8]) -> Result<LmcReady, Failure> {
        let name = reserve_name(path, bytes);
        let id = self.reserve_image(path, name, bytes.len() as u64)?;
        if let Err(f) = self.load_buf(bytes, name) {
            self.unreserve();
            return Err(f);
        }
        self.finish(id, path)
    }

    /// [`Lkm::load`] of a file too large to hold in a program's heap:
    /// the image goes to the kernel chunk by chunk as it is read.
    pub fn load_file(&self, path: &str, size: u64) -> Result<LmcReady, Failure> {
        let unreadable = |e: Errno| Failure::new(format!("cannot read `{path}`: {}", e.message()));
        let fd = sys::open(path, abi::fs::O_RDONLY, 0).map_err(unreadable)?;
        let result = (|| {
            let mut chunk = [0u8; ioctl::MODIOBUF as usize];
            let mut n = sys::read(fd, &mut chunk).map_err(unreadable)?;
            let name = String::from(reserve_name(path, &chunk[..n]));
            let id = self.reserve_image(path, &name, size)?;
            while n > 0 {
                if let Err(f) = self.load_buf(&chunk[..n], &name) {
                    self.unreserve();
                    return Err(f);
                }
                n = sys::read(fd, &mut chunk).map_err(|e| {
                    self.unreserve();
                    unreadable(e)
                })?;
            }
            self.finish(id, path)
        })();
        let _ = sys::close(fd);
        result
    }

    /// `LMRESERV` for an image of `size` bytes; a refusal of an image over
    /// the limit says so.
    fn reserve_image(&self, path: &str, name: &str, size: u64) -> Result<i32, Failure> {
        self.reserve(name, size as usize).map_err(|mut f| {
            if size > ioctl::MAX_IMAGE_SIZE {
                f.what = format!("`{path}` is {size} bytes, more than the {} bytes an image may have", ioctl::MAX_IMAGE_SIZE);
                f.help = Some("a module this large cannot be loaded; split it or shrink its maps and data".into());
            }
            f
        })
    }

    /// `LMREADY`; on a refusal the reservation is dropped and the
    /// kernel's text kept as the failure's `detail`.
    fn finish(&self, id: i32, path: &str) -> Result<LmcReady, Failure> {
        self.ready(id).map_err(|(errno, text)| {
            self.unreserve();
            let mut f = explain(Step::Ready, errno, path);
            if !text.trim().is_empty() {
                f.detail = Some(text);
            }
            f
        })
    }

    /// `LMUNLOAD` by id or name; a refusal carries the kernel's reason
    /// (see [`refusal`]).
    pub fn unload(&self, which: Which<'_>) -> Result<(), Failure> {
        let mut reason = alloc::vec![0u8; REASON_CAP];
        let mut req = LmcUnload {
            reason_cap: REASON_CAP as u32,
            reason: reason.as_mut_ptr() as u64,
            ..Default::default()
        };
        match which {
            Which::Id(id) => req.id = id,
            Which::Name(n) => {
                req.id = -1;
                req.name = ioctl::name_field(n).ok_or_else(|| no_such(which))?;
            }
        }
        self.ioctl(ioctl::LMUNLOAD, &mut req).map_err(|e| {
            let n = (req.reason_len as usize).min(REASON_CAP);
            refusal(Step::Unload, e, &which.describe(), &String::from_utf8_lossy(&reason[..n]))
        })?;
        Ok(())
    }

    /// `LMSTAT` by id or name.
    pub fn stat(&self, which: Which<'_>) -> Result<LmcStat, Errno> {
        let mut req = LmcStat::default();
        match which {
            Which::Id(id) => req.id = id,
            Which::Name(n) => {
                req.id = -1;
                req.name = ioctl::name_field(n).ok_or(Errno::ENOENT)?;
            }
        }
        self.ioctl(ioctl::LMSTAT, &mut req)?;
        Ok(req)
    }

    /// `LMSTATV` for the module with id `id`.
    pub fn statv(&self, id: i32) -> Result<LmcStatv, Errno> {
        let mut req = LmcStatv { id, ..Default::default() };
        self.ioctl(ioctl::LMSTATV, &mut req)?;
        Ok(req)
    }

    /// `LMMAPREAD` of entry `index` of array map `map` of module `id`: the
    /// value size and the values, one for each CPU of a per-CPU array.
    pub fn map_read(&self, id: i32, map: u32, index: u32) -> Result<(u32, Vec<u8>), Errno> {
        let key = index.to_le_bytes();
        let mut values = alloc::vec![0u8; 64];
        loop {
            let mut req = LmcMapRead {
                id,
                map,
                key: key.as_ptr() as u64,
                key_len: 4,
                value_cap: values.len() as u32,
                value: values.as_mut_ptr() as u64,
                ..Default::default()
            };
            match self.ioctl(ioctl::LMMAPREAD, &mut req) {
                Err(Errno::ENOSPC) if values.len() < MAP_READ_MAX => values.resize(values.len() * 4, 0),
                Err(e) => return Err(e),
                Ok(_) => {
                    values.truncate((req.value_size as usize).saturating_mul(req.cpus as usize));
                    return Ok((req.value_size, values));
                }
            }
        }
    }

    /// Every loaded module, stepping through ids as the classic `modstat`
    /// did: ids from 0 until `ENOENT`/`EINVAL` after the last one seen.
    pub fn stat_all(&self) -> Result<Vec<LmcStat>, Failure> {
        let mut out = Vec::new();
        let mut misses = 0;
        let mut id = 0;
        // Ids are small and handed out in order; stop after a run of gaps.
        while misses < MAX_ID_GAP {
            match self.stat(Which::Id(id)) {
                Ok(s) => {
                    out.push(s);
                    misses = 0;
                }
                Err(Errno::ENOENT | Errno::EINVAL) => misses += 1,
                Err(e) => return Err(explain(Step::Stat, e, DEV_LKM)),
            }
            id += 1;
        }
        Ok(out)
    }
}

/// `modstat` stops stepping through ids after this many unused ones in a row.
pub const MAX_ID_GAP: i32 = 64;

impl Drop for Lkm {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}

/// The system-call number that the system-call module `name` occupies.
pub fn syscall_slot(name: &str) -> Result<usize, Failure> {
    let dev = Lkm::open_ro()?;
    let stat = dev.stat(Which::Name(name)).map_err(|e| explain(Step::Stat, e, &format!("module `{name}`")))?;
    if stat.class != u32::from(lkm::class::LM_SYSCALL) {
        return Err(Failure::new(format!("module `{name}` is not a system-call module")).help("modstat shows each module's type"));
    }
    Ok(stat.offset as usize)
}

fn no_such(which: Which<'_>) -> Failure {
    Failure::new(format!("no {} is loaded", which.describe())).help("modstat lists the loaded modules")
}

/// Reads a module's source for the line table, trying the path as written
/// (relative to the current directory), from `/`, and under `/modules`.
pub fn read_source(path: &str) -> Option<String> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let candidates = [String::from(path), format!("/{}", path.trim_start_matches('/')), format!("/modules/{base}")];
    candidates
        .iter()
        .find_map(|p| crate::io::read_file(p).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// `modstat`'s column titles, as the classic tool printed them (with
/// room for a 64-bit load address, as on the classic 64-bit ports).
pub fn stat_header() -> &'static str {
    "Type     Id Off Loadaddr         Size Info Rev Module Name"
}

/// One `modstat` row under [`stat_header`]; a module whose code faulted
/// (`LMSTAT_FAILED`) says so after its name, and a load address the kernel
/// keeps from the caller (0: not root) shows as `-`.
pub fn stat_row(s: &LmcStat) -> String {
    let class = u8::try_from(s.class).ok().and_then(Class::from_number);
    let kind = class.map_or("?", Class::type_column);
    let name = String::from_utf8_lossy(ioctl::name_of(&s.name));
    let failed = if s.flags & ioctl::LMSTAT_FAILED != 0 { " (FAILED: its code faulted or kept running out of time; unload it)" } else { "" };
    // The kernel answers 0 for the load address to a caller who is not root.
    let area = if s.area == 0 { "-".to_string() } else { format!("{:016x}", s.area) };
    format!("{kind:<8}{:>3} {:>3} {area:<16} {:04x} {:>4} {:>3} {name}{failed}", s.id, s.offset, s.size, s.private, s.ver)
}

/// The lines `modstat -v` adds under a module's row.
pub fn statv_lines(v: &LmcStatv) -> Vec<String> {
    let mut out = Vec::new();
    if v.state == ioctl::LKM_STATE_FAILED {
        out.push("        state: FAILED (its code faulted or kept running out of time; hooks are off; unload it)".to_string());
    }
    out.push(format!("        code: {} bytes, {} runs", v.code_size, v.runs));
    out.push(format!("        time: longest run {} us, {} runs out of budget", v.longest_run_ns / 1000, v.out_of_fuel));
    out.push(format!("        checks: {} values out of range refused (see dmesg)", v.rejected));
    for p in v.progs.iter().take((v.nprogs as usize).min(ioctl::STATV_PROGRAMS)) {
        let entry = String::from_utf8_lossy(name_bytes(&p.entry));
        out.push(format!("        program {entry:<8} {:>5} insns {:>6} bytes", p.slots, p.code_size));
    }
    for m in v.maps.iter().take((v.nmaps as usize).min(ioctl::STATV_MAPS)) {
        let name = String::from_utf8_lossy(ioctl::name_of(&m.name));
        let name = if name.is_empty() { "(unnamed)".into() } else { name };
        let shape = match lkm::MapKind::from_code(m.kind as u8) {
            Some(lkm::MapKind::Array) => format!("array<{}>[{}]", m.value_size, m.max_entries),
            Some(lkm::MapKind::Hash) => format!("hash<{}, {}>[{}]", m.key_size, m.value_size, m.max_entries),
            Some(lkm::MapKind::PerCpuArray) => format!("percpu_array<{}>[{}]", m.value_size, m.max_entries),
            None => format!("kind {}", m.kind),
        };
        out.push(format!("        map {name} {shape}: {} entries", m.entries));
    }
    if v.nmaps as usize > ioctl::STATV_MAPS {
        out.push(format!("        ... and {} more maps", v.nmaps as usize - ioctl::STATV_MAPS));
    }
    out
}

/// The largest buffer [`Lkm::map_read`] offers: the largest value for
/// the most CPUs.
const MAP_READ_MAX: usize = lkm::image::MAX_VALUE_SIZE as usize * lkm::helpers::MAX_CPUS as usize;

/// A value of 1, 2, 4 or 8 bytes as a little-endian unsigned number.
fn number(bytes: &[u8]) -> Option<u64> {
    matches!(bytes.len(), 1 | 2 | 4 | 8).then(|| {
        let mut n = [0u8; 8];
        n[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(n)
    })
}

/// One value as `modstat -m` shows it: a number, or its bytes in hex.
fn value_text(bytes: &[u8]) -> String {
    number(bytes).map_or_else(|| bytes.iter().map(|b| format!("{b:02x}")).collect(), |n| n.to_string())
}

/// Entry `index` of an array map as `modstat -m` prints it; `values` holds
/// one value of `value_size` bytes, or (`per_cpu`) one for each CPU, which
/// are listed with their sum when they are numbers.
pub fn map_entry_line(index: u32, value_size: u32, values: &[u8], per_cpu: bool) -> String {
    if !per_cpu {
        return format!("        [{index}] {}", value_text(values));
    }
    let mut line = format!("        [{index}]");
    let mut sum = Some(0u64);
    for (cpu, v) in values.chunks((value_size as usize).max(1)).enumerate() {
        line.push_str(&format!(" cpu{cpu} {}", value_text(v)));
        sum = sum.zip(number(v)).map(|(s, n)| s.wrapping_add(n));
    }
    if let Some(sum) = sum {
        line.push_str(&format!(" (sum {sum})"));
    }
    line
}

fn name_bytes(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// Parses a module id operand (`-i 3`).
pub fn parse_id(text: &str) -> Option<i32> {
    text.parse::<i32>().ok().filter(|&id| id >= 0)
}

/// Runs a post-install or post-remove program the classic way:
/// `PROG ID TYPE SLOT` (type as its `LM_*` number); its exit status.
pub fn run_post(prog: &str, id: i32, class: u32, slot: u64) -> Result<i32, Errno> {
    let id = id.to_string();
    let class = class.to_string();
    let slot = slot.to_string();
    let pid = sys::spawn(prog, &[prog, &id, &class, &slot])?;
    Ok(sys::wait(Some(pid))?.1)
}

#[cfg(test)]
mod tests;
