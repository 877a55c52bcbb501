//! The hostile-module generator: from a seed, a module of one class whose
//! every entry point calls helpers with arguments that make them fail,
//! writes edge values into every writable context field, emits edge
//! output (records with inode numbers never handed out, names no file can
//! have, interpreters that are no path) and returns an edge value.
//!
//! Programs are straight-line assembler text (no loops: run-time budgets
//! are tested elsewhere), built with the one assembler every tool uses.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use abi::fs::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFREG};
use lkm::helpers as h;
use lkm::{ClassParams, Image, MapDecl, MapKind, ProgramImage};

/// A xorshift generator: the same seed makes the same modules.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// Results a program may return: success values, every errno and numbers
/// next to them, `i64::MIN` (`LKM_CHAIN`), and counts and sizes near the
/// limits.
pub fn returns() -> Vec<u64> {
    let mut v: Vec<u64> = alloc::vec![0, 1, 2, 7, 511, 512, 513, 4095, 4096, 4097];
    v.extend([u32::MAX as u64, 1 << 32, i64::MAX as u64, 1 << 63, (1 << 63) + 1, u64::MAX - 1, u64::MAX]);
    v.extend((1..=41u64).map(|e| e.wrapping_neg()));
    v.extend([4095u64.wrapping_neg(), 4096u64.wrapping_neg(), (1u64 << 31).wrapping_neg()]);
    v
}

/// Modes `getattr` may leave: the two a module file can have, and ones
/// with a device type, no type, or bits beyond the permissions.
pub const MODES: [u32; 10] = [
    S_IFREG | 0o644,
    S_IFDIR | 0o755,
    S_IFREG | 0o666,
    S_IFCHR | 0o666,
    S_IFBLK | 0o600,
    0o120777,
    0,
    S_IFREG | 0o4755,
    0o177777,
    u32::MAX,
];

/// Sizes `getattr` may leave.
pub const SIZES: [u64; 8] = [0, 1, 64, 1 << 32, i64::MAX as u64 - 1, i64::MAX as u64, 1 << 63, u64::MAX];

/// Inode numbers `readdir` may emit (and `lookup` return): the root, two a
/// module might hand out, and ones no file has.
pub const INODES: [u64; 7] = [1, 2, 3, 0, i64::MAX as u64, 1 << 63, u64::MAX];

/// User addresses the syscall helpers are given: none of them the
/// caller's memory.
const USER_ADDRS: [u64; 4] = [0, 0x1000, 0x0000_7fff_ffff_f000, 0xffff_8000_0000_0000];

/// The read-only data: pieces the programs emit, at known offsets.
pub struct Rodata {
    pub bytes: Vec<u8>,
    /// (offset, length) of each piece.
    pub pieces: Vec<(usize, usize)>,
}

pub fn rodata() -> Rodata {
    let long = [b'n'; 255];
    let too_long = [b'm'; 256];
    let parts: [&[u8]; 11] = [
        b"/bin/sh -x",
        b"a",
        b"name",
        b"a/b",
        b"\0x",
        b"\xff\xfe",
        b".",
        b"\x01\x02ctl",
        b"relative/interp arg",
        &long,
        &too_long,
    ];
    let mut bytes = Vec::new();
    let mut pieces = Vec::new();
    for p in parts {
        pieces.push((bytes.len(), p.len()));
        bytes.extend_from_slice(p);
    }
    Rodata { bytes, pieces }
}

/// Which class, for which entry points, and which of them have output.
pub fn entries(params: &ClassParams) -> &'static [(&'static str, bool)] {
    match params {
        ClassParams::Syscall { .. } => &[("call", false)],
        ClassParams::Vfs { .. } => &[("lookup", false), ("getattr", false), ("readdir", true), ("read", true), ("write", false)],
        ClassParams::Dev { .. } => &[("open", false), ("read", true), ("write", false), ("ioctl", true), ("close", false)],
        ClassParams::Exec => &[("probe", true)],
        ClassParams::Misc => &[("load", false), ("unload", false), ("tick", false)],
    }
}

/// The map every generated module declares: a hash map of one entry, so
/// that a second insertion fails.
fn map() -> MapDecl {
    MapDecl { name: String::from("one"), kind: MapKind::Hash, key_size: 4, value_size: 8, max_entries: 1 }
}

/// Assembler for one call of a helper with failing (or edge) arguments.
fn helper_call(rng: &mut Rng, params: &ClassParams, has_output: bool, data: &Rodata) -> String {
    let (off, len) = rng.pick(&data.pieces);
    let rodata = format!("map_value[1] + {off} ll");
    let key = format!("r7 = {}\n*(u32 *)(r10 - 4) = r7\n*(u64 *)(r10 - 16) = r7\n", rng.below(4));
    let mut choices: Vec<String> = alloc::vec![
        format!("{key}r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall {}\n", h::MAP_LOOKUP),
        format!("{key}r1 = map[0] ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = {}\ncall {}\n", rng.below(3), h::MAP_UPDATE),
        format!("{key}r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall {}\n", h::MAP_DELETE),
        format!("r1 = {rodata}\nr2 = {len}\nr3 = {} ll\nr4 = {} ll\ncall {}\n", rng.next(), rng.next(), h::LOG),
        format!("call {}\ncall {}\n", h::RANDOM_U32, h::KTIME_NS),
    ];
    if has_output || rng.below(4) == 0 {
        let n = rng.pick(&[0, len.min(1), len]);
        choices.push(format!("r1 = {rodata}\nr2 = {n}\ncall {}\n", h::EMIT));
    }
    match params {
        ClassParams::Vfs { .. } => {
            let ino = rng.pick(&INODES);
            choices.push(format!("r1 = {ino} ll\nr2 = {rodata}\nr3 = {}\ncall {}\n", len.clamp(1, 255), h::EMIT_DIRENT));
        }
        ClassParams::Syscall { .. } => {
            let user = rng.pick(&USER_ADDRS);
            choices.push(format!("r1 = {user} ll\nr2 = {rodata}\nr3 = {len}\ncall {}\n", h::COPY_TO_USER));
            choices.push(format!("r1 = r10\nr1 += -64\nr2 = 64\nr3 = {user} ll\ncall {}\n", h::COPY_FROM_USER));
        }
        _ => {}
    }
    let i = rng.below(choices.len());
    choices.swap_remove(i)
}

/// One entry point's program.
fn program(rng: &mut Rng, params: &ClassParams, entry: &str, has_output: bool, data: &Rodata) -> String {
    let mut src = String::from("r6 = r1\n");
    for _ in 0..rng.below(4) {
        src.push_str(&helper_call(rng, params, has_output, data));
    }
    if entry == "getattr" {
        if rng.below(8) != 0 {
            // Mostly a root directory, so that paths below it are walked.
            let dir = S_IFDIR | 0o755;
            src.push_str(&format!("r2 = *(u64 *)(r6 + 0)\nif r2 != 1 goto file\nr2 = {dir}\n*(u32 *)(r6 + 8) = r2\nr0 = 0\nexit\nfile:\n"));
        }
        // Half the time a mode a file can have, so that the size is used.
        let modes = if rng.below(2) == 0 { &MODES[..3] } else { &MODES[..] };
        src.push_str(&format!("r2 = {} ll\n*(u32 *)(r6 + 8) = r2\n", rng.pick(modes)));
        src.push_str(&format!("r2 = {} ll\n*(u64 *)(r6 + 16) = r2\n", rng.pick(&SIZES)));
    }
    if entry == "readdir" && rng.below(2) == 0 {
        // A readdir that ends: index past a few entries returns 0.
        src.push_str(&format!("r2 = *(u64 *)(r6 + 8)\nif r2 < {} goto more\nr0 = 0\nexit\nmore:\n", 1 + rng.below(4)));
    }
    // Half the time a plausible answer, so that the kernel goes on to use
    // what else the module left (a walk past `lookup`, a size after
    // `getattr`, the record after `readdir`).
    let r0 = match (rng.below(2), entry) {
        (0, "lookup") => rng.pick(&[2, 3]),
        (0, "readdir" | "write" | "probe") => 1,
        (0, _) => 0,
        _ => rng.pick(&returns()),
    };
    src.push_str(&format!("r0 = {r0} ll\nexit\n"));
    src
}

/// The image of a generated module named `name` of class `params`.
pub fn module(rng: &mut Rng, name: &str, params: ClassParams) -> Result<Vec<u8>, String> {
    let data = rodata();
    let mut programs = Vec::new();
    for &(entry, has_output) in entries(&params) {
        // Now and then an optional entry point is missing.
        let optional = matches!((&params, entry), (ClassParams::Vfs { .. }, "write") | (ClassParams::Dev { .. } | ClassParams::Misc, "open" | "write" | "ioctl" | "close" | "unload" | "tick"));
        if optional && rng.below(4) == 0 {
            continue;
        }
        programs.push((entry, program(rng, &params, entry, has_output, &data)));
    }
    image(name, params, &programs, alloc::vec![map()], data.bytes)
}

/// An image from assembler sources, one per entry point.
pub fn image(
    name: &str,
    params: ClassParams,
    programs: &[(&str, String)],
    maps: Vec<MapDecl>,
    rodata: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut images = Vec::new();
    for (entry, src) in programs {
        let program = verifier::assemble(src).map_err(|e| format!("{entry}: {e}\n{src}"))?;
        images.push(ProgramImage { entry: String::from(*entry), code: verifier::encode(&program) });
    }
    let image = Image { name: String::from(name), params, programs: images, maps, rodata, ports: Vec::new(), lines: None };
    Ok(image.to_bytes())
}
