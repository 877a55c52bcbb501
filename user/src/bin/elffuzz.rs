//! `elffuzz [N [SEED]]`: attacks the kernel's ELF loader as an ordinary
//! user. Case `i` is generated from seed `SEED + i` (`elffuzz 1 S` repeats
//! case S): an executable with valid-ish or broken segments (on the stack,
//! in the kernel's half, overlapping, past the end of the file, huge,
//! thousands of them, random bytes flipped), whose read-only pages are
//! copies of pages of `/bin/sh` and of this program, so that a kernel
//! writing into a shared page would change them. Each is written to
//! `/tmp` and spawned with arguments of its own. A case that must run has
//! to exit 0, one that must be refused has to fail with `ENOEXEC` (or
//! `ENOMEM` when too large). At the end this program checks that its own
//! read-only pages still equal its file. Exit status 1 on any wrong answer.
//!
//! `elffuzz forge PROGRAM`: the attack on the shared text pages itself: a
//! read-only segment on the last stack page holding the first code page of
//! PROGRAM (`/bin/sh`); it must be refused with `ENOEXEC`.
#![no_std]
#![no_main]
extern crate alloc;
use abi::proc::{STACK_SIZE, STACK_TOP};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use user::{println, sys, Errno};
user::entry!(main);

const USAGE: &str = "elffuzz [N [SEED]] | elffuzz forge PROGRAM";
const FILE: &str = "/tmp/elffuzz.elf";
const BASE: u64 = 0x40_0000;
const PAGE: u64 = 4096;
/// `p_flags` bits.
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
/// `mov eax, 0 (exit); xor edi, edi; syscall; ud2`.
const EXIT_0: [u8; 11] = [0xb8, 0, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05, 0x0f, 0x0b];

/// A program header (`PT_LOAD` unless `kind` says otherwise).
#[derive(Clone, Copy)]
struct Ph {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

/// What the kernel must answer.
#[derive(Clone, Copy, PartialEq)]
enum Must {
    Run,
    Refuse,
    Either,
}

/// xorshift64*, seeded through splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        Rng((z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn le(v: &mut [u8], at: usize, bytes: &[u8]) {
    v[at..at + bytes.len()].copy_from_slice(bytes);
}

fn u64_at(v: &[u8], at: usize) -> u64 {
    v.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}

/// An ELF64 x86-64 executable: header, program headers, then `payload`
/// at file offset `payload_at` (past the headers).
fn elf(entry: u64, phs: &[Ph], payload_at: u64, payload: &[u8]) -> Vec<u8> {
    let headers = 64 + 56 * phs.len();
    let mut v = alloc::vec![0u8; headers.max(payload_at as usize) + payload.len()];
    le(&mut v, 0, b"\x7fELF\x02\x01\x01");
    le(&mut v, 16, &2u16.to_le_bytes()); // ET_EXEC
    le(&mut v, 18, &62u16.to_le_bytes()); // EM_X86_64
    le(&mut v, 20, &1u32.to_le_bytes());
    le(&mut v, 24, &entry.to_le_bytes());
    le(&mut v, 32, &64u64.to_le_bytes());
    le(&mut v, 52, &64u16.to_le_bytes());
    le(&mut v, 54, &56u16.to_le_bytes());
    le(&mut v, 56, &(phs.len().min(0xffff) as u16).to_le_bytes());
    for (i, ph) in phs.iter().enumerate() {
        let at = 64 + 56 * i;
        le(&mut v, at, &ph.kind.to_le_bytes());
        le(&mut v, at + 4, &ph.flags.to_le_bytes());
        for (j, value) in [ph.offset, ph.vaddr, ph.vaddr, ph.filesz, ph.memsz, PAGE].into_iter().enumerate() {
            le(&mut v, at + 8 + 8 * j, &value.to_le_bytes());
        }
    }
    let from = v.len() - payload.len();
    v[from..].copy_from_slice(payload);
    v
}

/// The loadable read-only segments of an ELF file: (file offset, vaddr, bytes in file, executable).
fn read_only_segments(file: &[u8]) -> Vec<(u64, u64, u64, bool)> {
    let (phoff, phnum) = (u64_at(file, 32) as usize, file.get(56..58).map_or(0, |b| u16::from_le_bytes([b[0], b[1]])));
    (0..phnum as usize)
        .map(|i| phoff + 56 * i)
        .filter(|&at| file.get(at..at + 4) == Some(&1u32.to_le_bytes()[..]))
        .filter_map(|at| {
            let flags = file.get(at + 4..at + 8).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
            (flags & PF_W == 0).then(|| (u64_at(file, at + 8), u64_at(file, at + 16), u64_at(file, at + 32), flags & PF_X != 0))
        })
        .collect()
}

/// Reads `buf.len()` bytes of the open file `fd` at `offset` (fewer at its end).
fn read_at(fd: usize, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    sys::lseek(fd, offset as i64, abi::fs::SEEK_SET)?;
    let mut done = 0;
    while done < buf.len() {
        match sys::read(fd, &mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

/// The read-only segments of the program at `path` (its headers must fit
/// in the first page, as `user/link.ld` lays them out) and the file, open.
fn open_program(path: &str) -> Result<(usize, Vec<(u64, u64, u64, bool)>), Errno> {
    let fd = sys::open(path, abi::fs::O_RDONLY, 0)?;
    let mut header = alloc::vec![0u8; PAGE as usize];
    let n = read_at(fd, 0, &mut header)?;
    Ok((fd, read_only_segments(&header[..n])))
}

/// Up to `max` whole pages of the read-only segments of `path`, as a
/// program running it has them (zeros after the file bytes).
fn pages_of(path: &str, max: usize) -> Result<Vec<Vec<u8>>, Errno> {
    let (fd, segments) = open_program(path)?;
    let mut pages = Vec::new();
    for (offset, _, filesz, _) in segments.into_iter().filter(|s| s.1 % PAGE == 0) {
        let mut at = 0;
        while at < filesz && pages.len() < max {
            let mut page = alloc::vec![0u8; PAGE as usize];
            let want = (filesz - at).min(PAGE) as usize;
            read_at(fd, offset + at, &mut page[..want])?;
            pages.push(page);
            at += PAGE;
        }
    }
    let _ = sys::close(fd);
    Ok(pages)
}

/// One generated case: the file, what the kernel must answer, and a name.
fn case(rng: &mut Rng, donors: &[Vec<u8>]) -> (Vec<u8>, Must, &'static str) {
    let donor = &donors[rng.below(donors.len() as u64) as usize];
    let code = Ph { kind: 1, flags: PF_R | PF_X, offset: 0, vaddr: BASE, filesz: EXIT_0.len() as u64, memsz: PAGE * (1 + rng.below(2)) };
    // Segment j > 0 holds the donor page at file offset PAGE (the code is at 2 * PAGE).
    let data = |j: u64, flags: u32| Ph { kind: 1, flags, offset: PAGE, vaddr: BASE + 0x10_0000 * j, filesz: PAGE, memsz: PAGE * (1 + j) };
    let mut phs = alloc::vec![code, data(1, PF_R), data(2, PF_R | PF_W)];
    phs.truncate(1 + rng.below(3) as usize);
    let mut entry = BASE;
    let kind = rng.below(10);
    let (must, name) = match kind {
        0 => (Must::Run, "valid"),
        1 => {
            let page = (STACK_TOP - STACK_SIZE - PAGE) + PAGE * rng.below((STACK_SIZE + 2 * PAGE) / PAGE);
            phs.push(Ph { vaddr: page, memsz: PAGE, ..data(1, PF_R) });
            (Must::Refuse, "stack copy")
        }
        2 => {
            phs.push(Ph { vaddr: BASE + rng.below(code.memsz), memsz: 1 + rng.below(3 * PAGE), ..data(1, PF_R) });
            (Must::Refuse, "overlap")
        }
        3 => {
            let top = 0x0000_8000_0000_0000u64;
            let vaddr = [top - PAGE, top, 0xffff_8000_0000_0000, u64::MAX - PAGE + 1, 0, PAGE][rng.below(6) as usize];
            phs.push(Ph { vaddr, memsz: 2 * PAGE, ..data(1, PF_R) });
            (Must::Refuse, "outside user memory")
        }
        4 => {
            let (offset, filesz) = [(PAGE, 1 << 40), (u64::MAX - 8, 16), (1 << 30, 1), (3 * PAGE, PAGE)][rng.below(4) as usize];
            phs.push(Ph { offset, filesz, memsz: filesz.max(PAGE), ..data(3, PF_R) });
            (Must::Refuse, "past the file")
        }
        5 => {
            entry = [0, BASE + code.memsz, BASE + 0x10_0000, STACK_TOP - 8, 0xffff_8000_0000_0000][rng.below(5) as usize];
            (Must::Refuse, "entry outside")
        }
        6 => {
            let memsz = [1 << 40, u64::MAX - BASE, 16, 65 << 20][rng.below(4) as usize];
            phs.push(Ph { memsz, ..data(4, PF_R | PF_W) });
            (Must::Refuse, "huge or odd size")
        }
        7 => {
            let many = 100 + rng.below(900);
            let same_page = rng.below(2) == 0;
            for j in 0..many {
                let vaddr = if same_page { BASE + 0x80_0000 + j } else { BASE + 0x80_0000 + PAGE * j };
                phs.push(Ph { vaddr, filesz: 1, memsz: 1, offset: PAGE + j % PAGE, ..data(1, PF_R) });
            }
            (Must::Run, "many segments")
        }
        8 => {
            phs.push(Ph { vaddr: BASE + 0x10_0000 * 5 + 0x800, filesz: 16, memsz: 16, ..data(5, PF_R | PF_W) });
            phs.push(Ph { vaddr: BASE + 0x10_0000 * 5, filesz: 16, memsz: 16, ..data(5, PF_R) });
            (Must::Refuse, "writable beside read-only")
        }
        _ => (Must::Either, "mutated"),
    };
    // The donor page, then the code; past the headers, on a page boundary
    // (file offsets above were written for headers that fit in one page).
    let headers = 64 + 56 * phs.len() as u64;
    let payload_at = headers.div_ceil(PAGE) * PAGE;
    phs[0].offset = 2 * PAGE;
    for ph in &mut phs {
        ph.offset = ph.offset.wrapping_add(payload_at - PAGE);
    }
    let mut payload = donor.clone();
    payload.extend_from_slice(&EXIT_0);
    let mut file = elf(entry, &phs, payload_at, &payload);
    if kind == 9 {
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(headers) as usize;
            file[at] ^= 1 << rng.below(8);
        }
    }
    (file, must, name)
}

/// Writes `file` to [`FILE`] and spawns it with `argv`, output to /dev/null.
fn spawn(file: &[u8], argv: &[&str], null: i32) -> Result<Result<i32, Errno>, String> {
    let _ = sys::unlink(FILE);
    let fd = sys::open(FILE, abi::fs::O_WRONLY | abi::fs::O_CREAT | abi::fs::O_TRUNC, 0o755).map_err(|e| format!("{FILE}: {}", e.message()))?;
    let written = sys::write_all(fd, file);
    let _ = sys::close(fd);
    written.map_err(|e| format!("{FILE}: {}", e.message()))?;
    Ok(sys::spawn_with(FILE, argv, [null; 3]).and_then(|pid| sys::wait(Some(pid)).map(|(_, status)| status)))
}

fn show(result: &Result<i32, Errno>) -> String {
    match result {
        Ok(status) => format!("ran, status {status}"),
        Err(e) => format!("{} ({})", e.name(), e.message()),
    }
}

/// Whether this program's read-only pages in memory still equal its file
/// (they are frames of the shared text cache, as are the copies of them
/// in the generated files).
fn own_pages_unchanged() -> Result<bool, Errno> {
    let (fd, segments) = open_program("/bin/elffuzz")?;
    let mut chunk = alloc::vec![0u8; PAGE as usize];
    for (offset, vaddr, filesz, _) in segments {
        let mut at = 0;
        while at < filesz {
            let n = (filesz - at).min(PAGE) as usize;
            read_at(fd, offset + at, &mut chunk[..n])?;
            // SAFETY: `vaddr..vaddr + filesz` is a loaded read-only segment
            // of this very program (from its own program headers), mapped
            // for as long as it runs; it is only read.
            let have = unsafe { core::slice::from_raw_parts((vaddr + at) as *const u8, n) };
            if have != &chunk[..n] {
                return Ok(false);
            }
            at += PAGE;
        }
    }
    let _ = sys::close(fd);
    Ok(true)
}

fn forge(program: &str, null: i32) -> i32 {
    let page = match pages_of(program, 1) {
        Ok(mut pages) if !pages.is_empty() => pages.swap_remove(0),
        Ok(_) => {
            user::eprintln!("elffuzz: error: {program} has no read-only page\nhelp: name an ELF program, such as /bin/sh");
            return 1;
        }
        Err(e) => return user::report(program, e),
    };
    let code = Ph { kind: 1, flags: PF_R | PF_X, offset: 2 * PAGE, vaddr: BASE, filesz: EXIT_0.len() as u64, memsz: PAGE };
    let on_stack = Ph { kind: 1, flags: PF_R, offset: PAGE, vaddr: STACK_TOP - PAGE, filesz: PAGE, memsz: PAGE };
    let mut payload = page;
    payload.extend_from_slice(&EXIT_0);
    let argv = ["forged", "\u{cc}\u{cc}\u{cc}\u{cc} overwrite the shared code page"];
    match spawn(&elf(BASE, &[code, on_stack], PAGE, &payload), &argv, null) {
        Ok(result) => {
            println!("elffuzz: forged copy of {program}'s first code page on the stack page: {}", show(&result));
            i32::from(result != Err(Errno::ENOEXEC))
        }
        Err(e) => {
            user::eprintln!("elffuzz: error: {e}");
            1
        }
    }
}

fn main(args: user::Args) -> i32 {
    let null = match sys::open("/dev/null", abi::fs::O_RDWR, 0) {
        Ok(fd) => fd as i32,
        Err(e) => return user::report("/dev/null", e),
    };
    if args.get(1) == Some("forge") {
        return match args.get(2) {
            Some(program) => forge(program, null),
            None => user::usage(USAGE),
        };
    }
    let number = |i: usize, default: u64| args.get(i).map_or(Some(default), |a| a.parse().ok());
    let (Some(count), Some(seed)) = (number(1, 100), number(2, 1)) else { return user::usage(USAGE) };
    let mut donors = Vec::new();
    for program in ["/bin/sh", "/bin/elffuzz"] {
        match pages_of(program, 4) {
            Ok(pages) => donors.extend(pages),
            Err(e) => return user::report(program, e),
        }
    }
    println!("elffuzz: {count} cases from seed {seed}, as uid {}, {} donor pages", sys::getuid(), donors.len());
    let (mut ran, mut refused, mut wrong) = (0u64, 0u64, 0u64);
    let long = "A".repeat(3000);
    for s in seed..seed.saturating_add(count) {
        let mut rng = Rng::new(s);
        let (file, must, name) = case(&mut rng, &donors);
        let argv: [&str; 3] = ["elffuzz-case", if rng.below(2) == 0 { &long } else { "short" }, name];
        let result = match spawn(&file, &argv, null) {
            Ok(r) => r,
            Err(e) => {
                user::eprintln!("elffuzz: error: {e}\nhelp: run elffuzz where /tmp is writable");
                return 1;
            }
        };
        let ok = match (must, &result) {
            (Must::Run, r) => *r == Ok(0),
            (Must::Refuse, r) => matches!(r, Err(Errno::ENOEXEC | Errno::ENOMEM)),
            (Must::Either, _) => true,
        };
        match result {
            Ok(_) => ran += 1,
            Err(_) => refused += 1,
        }
        println!("elffuzz: seed {s} {name}: {}{}", show(&result), if ok { "" } else { "  <-- WRONG" });
        wrong += u64::from(!ok);
    }
    let _ = sys::unlink(FILE);
    let intact = match own_pages_unchanged() {
        Ok(intact) => intact,
        Err(e) => return user::report("/bin/elffuzz", e),
    };
    println!("elffuzz: {count} cases: {ran} ran, {refused} refused, {wrong} wrong, shared pages {}", if intact { "unchanged" } else { "CHANGED" });
    i32::from(wrong > 0 || !intact)
}
