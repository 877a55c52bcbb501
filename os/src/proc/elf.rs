//! Loading a static ELF executable into a fresh user address space.
//!
//! Parsing uses the `elf` crate (which never panics on bad input); this
//! module checks what matters to the kernel before it maps anything: a
//! 64-bit x86-64 executable; every loadable segment inside the user range,
//! clear of the stack and its guard pages, with its file bytes inside the
//! file; no segment both writable and executable; no two segments
//! overlapping, and no writable segment sharing a page with one that is
//! not; the entry point in an executable segment. A violation is
//! `ENOEXEC`, and the kernel log (`dmesg`) says which rule the file broke.
//!
//! Every page is filled before it is mapped. A read-only page that one
//! segment alone touches comes from the shared text cache; any other page
//! holding file bytes is a private frame with the bytes of every segment
//! on it; the zero-filled rest of a segment is reserved and mapped on
//! first touch.

use super::space::{STACK_REGION, USER_BOTTOM, USER_TOP, UserSpace};
use crate::memory::{MapFlags, PAGE_SIZE};
use abi::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use elf::ElfBytes;
use elf::abi::{EM_X86_64, ET_EXEC, PF_R, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;

/// The ELF magic, for the exec switch's probe.
pub const MAGIC: &[u8; 4] = b"\x7fELF";

/// Largest total size of a program's segments.
pub const MAX_IMAGE: u64 = 64 << 20;

/// One loadable segment that passed the checks (memory size not zero).
#[derive(Clone, Copy)]
struct Segment {
    /// Its place among the program headers, for messages.
    index: usize,
    vaddr: u64,
    end: u64,
    offset: u64,
    filesz: u64,
    flags: MapFlags,
    readable: bool,
}

/// Why a file is not a program the kernel runs.
struct Refusal {
    errno: Errno,
    reason: String,
    help: &'static str,
}

fn refuse(reason: String, help: &'static str) -> Refusal {
    Refusal { errno: Errno::ENOEXEC, reason, help }
}

/// Maps the loadable segments of `file` (the program at `path`) into
/// `space`; returns the entry point. A refusal is logged with its reason.
pub fn load(path: &str, file: &[u8], space: &mut UserSpace) -> Result<u64, Errno> {
    let (entry, segments) = match check(file) {
        Ok(found) => found,
        Err(refusal) => {
            log::info!("exec: error: {path}: {}", refusal.reason);
            log::info!("exec: help: {}", refusal.help);
            return Err(refusal.errno);
        }
    };
    map(&segments, file, space)?;
    Ok(entry)
}

const fn page_of(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// The entry point and the loadable segments (by address) of `file`, if
/// it passes every check.
fn check(file: &[u8]) -> Result<(u64, Vec<Segment>), Refusal> {
    const HELP_FORMAT: &str = "the kernel runs static x86-64 executables (ET_EXEC), such as those `user/` builds";
    const HELP_LINK: &str = "link the program like `user/link.ld` does: segments from 0x400000 up, one per permission";
    let elf = ElfBytes::<LittleEndian>::minimal_parse(file)
        .map_err(|e| refuse(alloc::format!("not an ELF file the kernel can read ({e})"), HELP_FORMAT))?;
    let ehdr = elf.ehdr;
    if ehdr.class != Class::ELF64 || ehdr.e_machine != EM_X86_64 || ehdr.e_type != ET_EXEC {
        return Err(refuse("not a 64-bit x86-64 executable".into(), HELP_FORMAT));
    }
    let headers = elf.segments().ok_or_else(|| refuse("no program headers".into(), HELP_FORMAT))?;
    let mut segments = Vec::new();
    let mut total = 0u64;
    for (index, ph) in headers.iter().enumerate().filter(|(_, ph)| ph.p_type == PT_LOAD) {
        let at = |what: &str| alloc::format!("segment {index} ({:#x}, {:#x} bytes) {what}", ph.p_vaddr, ph.p_memsz);
        let end = ph.p_vaddr.checked_add(ph.p_memsz).ok_or_else(|| refuse(at("wraps around"), HELP_LINK))?;
        if ph.p_vaddr < USER_BOTTOM || end > USER_TOP {
            let range = alloc::format!("lies outside user memory ({USER_BOTTOM:#x}..{USER_TOP:#x})");
            return Err(refuse(at(&range), HELP_LINK));
        }
        if ph.p_memsz > 0 && page_of(ph.p_vaddr) < STACK_REGION.end && end > STACK_REGION.start {
            let range = alloc::format!("overlaps the user stack and its guard pages ({:#x}..{:#x})", STACK_REGION.start, STACK_REGION.end);
            return Err(refuse(at(&range), HELP_LINK));
        }
        let file_end = ph.p_offset.checked_add(ph.p_filesz).filter(|&e| e <= file.len() as u64);
        if file_end.is_none() {
            let what = alloc::format!("has file bytes {:#x}+{:#x} past the end of the file ({:#x} bytes)", ph.p_offset, ph.p_filesz, file.len());
            return Err(refuse(at(&what), HELP_FORMAT));
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(refuse(at(&alloc::format!("has more file bytes ({:#x}) than memory", ph.p_filesz)), HELP_FORMAT));
        }
        let (writable, executable) = (ph.p_flags & PF_W != 0, ph.p_flags & PF_X != 0);
        if writable && executable {
            return Err(refuse(at("is both writable and executable"), "put code and data in separate segments"));
        }
        total = total.saturating_add(ph.p_memsz);
        if total > MAX_IMAGE {
            let what = alloc::format!("segments add up to more than the {} MiB a program may have", MAX_IMAGE >> 20);
            return Err(Refusal { errno: Errno::ENOMEM, reason: what, help: "make the program's data smaller" });
        }
        if ph.p_memsz > 0 {
            segments.try_reserve(1).map_err(|_| Refusal { errno: Errno::ENOMEM, reason: "out of memory".into(), help: "try again" })?;
            let flags = MapFlags { writable, executable, user: true };
            let readable = ph.p_flags & PF_R != 0;
            segments.push(Segment { index, vaddr: ph.p_vaddr, end, offset: ph.p_offset, filesz: ph.p_filesz, flags, readable });
        }
    }
    segments.sort_unstable_by_key(|s| s.vaddr);
    for pair in segments.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.vaddr < a.end {
            let what = alloc::format!("segments {} and {} overlap at {:#x}", a.index, b.index, b.vaddr);
            return Err(refuse(what, HELP_LINK));
        }
        if page_of(a.end - 1) == page_of(b.vaddr) && a.flags.writable != b.flags.writable {
            let what = alloc::format!(
                "segments {} and {} share page {:#x}, but only one of them is writable",
                a.index,
                b.index,
                page_of(b.vaddr)
            );
            return Err(refuse(what, "start each writable segment on a page of its own"));
        }
    }
    let runs_entry = |s: &Segment| s.flags.executable && s.readable && (s.vaddr..s.end).contains(&ehdr.e_entry);
    if !segments.iter().any(runs_entry) {
        let what = alloc::format!("the entry point {:#x} is not in a readable, executable segment", ehdr.e_entry);
        return Err(refuse(what, HELP_LINK));
    }
    Ok((ehdr.e_entry, segments))
}

/// A page being filled from the segments on it.
struct Pending {
    page: u64,
    flags: MapFlags,
    /// How many segments have bytes on it.
    owners: usize,
}

/// Maps checked `segments` (sorted, not overlapping) of `file`.
fn map(segments: &[Segment], file: &[u8], space: &mut UserSpace) -> Result<(), Errno> {
    let mut image = Vec::new();
    image.try_reserve_exact(PAGE_SIZE as usize).map_err(|_| Errno::ENOMEM)?;
    image.resize(PAGE_SIZE as usize, 0u8);
    let mut pending: Option<Pending> = None;
    for (i, s) in segments.iter().enumerate() {
        let first = page_of(s.vaddr);
        let last = page_of(s.end - 1);
        let shares_first = i > 0 && page_of(segments[i - 1].end - 1) == first;
        let shares_last = segments.get(i + 1).is_some_and(|next| page_of(next.vaddr) == last);
        // Pages with file bytes, and pages another segment touches too, are
        // filled now; the rest is reserved.
        let file_pages_end = if s.filesz == 0 { first } else { page_of(s.vaddr + s.filesz - 1) + PAGE_SIZE };
        let eager_end = file_pages_end.max(if shares_first { first + PAGE_SIZE } else { first });
        let mut page = first;
        while page < eager_end {
            fill(&mut pending, &mut image, space, page, s, file)?;
            page += PAGE_SIZE;
        }
        let lazy_end = if shares_last { last } else { last + PAGE_SIZE };
        if page < lazy_end {
            space.reserve(page, lazy_end, s.flags)?;
        }
        if shares_last && last >= eager_end {
            fill(&mut pending, &mut image, space, last, s, file)?;
        }
    }
    flush(pending, &image, space)
}

/// Adds the file bytes segment `s` has on `page` to the page being filled
/// (mapping the previous page first when `page` is another one).
fn fill(pending: &mut Option<Pending>, image: &mut [u8], space: &mut UserSpace, page: u64, s: &Segment, file: &[u8]) -> Result<(), Errno> {
    if pending.as_ref().is_some_and(|p| p.page != page) {
        flush(pending.take(), image, space)?;
    }
    let p = pending.get_or_insert_with(|| {
        image.fill(0);
        Pending { page, flags: s.flags, owners: 0 }
    });
    p.owners += 1;
    p.flags.executable |= s.flags.executable;
    let from = page.max(s.vaddr);
    let to = (page + PAGE_SIZE).min(s.vaddr + s.filesz);
    if from < to {
        let src = (s.offset + (from - s.vaddr)) as usize;
        let len = (to - from) as usize;
        let dst = (from - page) as usize;
        image[dst..dst + len].copy_from_slice(&file[src..src + len]);
    }
    Ok(())
}

/// Maps a filled page: from the shared text cache if it is read-only and
/// one segment's alone, else as a private frame.
fn flush(pending: Option<Pending>, image: &[u8], space: &mut UserSpace) -> Result<(), Errno> {
    match pending {
        Some(p) if p.owners == 1 && !p.flags.writable => space.map_shared(p.page, image, p.flags.executable),
        Some(p) => space.map_private(p.page, image, p.flags),
        None => Ok(()),
    }
}
