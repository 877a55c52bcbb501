//! Loading a static ELF executable into a fresh user address space.
//!
//! Parsing uses the `elf` crate (which never panics on bad input); this
//! module checks what matters to the kernel: a 64-bit x86-64 executable,
//! every loadable segment inside the user range, its file bytes inside the
//! file, no segment both writable and executable, and the entry point in
//! an executable segment. Any violation is `ENOEXEC`.

use super::space::{USER_BOTTOM, USER_TOP, UserSpace};
use crate::memory::{MapFlags, PAGE_SIZE};
use abi::Errno;
use elf::ElfBytes;
use elf::abi::{EM_X86_64, ET_EXEC, PF_R, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;

/// The ELF magic, for the exec switch's probe.
pub const MAGIC: &[u8; 4] = b"\x7fELF";

/// Largest total size of a program's segments.
pub const MAX_IMAGE: u64 = 64 << 20;

/// Maps the loadable segments of `file` into `space`; returns the entry point.
pub fn load(file: &[u8], space: &mut UserSpace) -> Result<u64, Errno> {
    let elf = ElfBytes::<LittleEndian>::minimal_parse(file).map_err(|_| Errno::ENOEXEC)?;
    let ehdr = elf.ehdr;
    if ehdr.class != Class::ELF64 || ehdr.e_machine != EM_X86_64 || ehdr.e_type != ET_EXEC {
        return Err(Errno::ENOEXEC);
    }
    let segments = elf.segments().ok_or(Errno::ENOEXEC)?;
    // Pages that more than one segment touches are private; read-only pages
    // of a single segment come from the shared text cache.
    let page_span = |vaddr: u64, memsz: u64| (vaddr & !(PAGE_SIZE - 1), vaddr.saturating_add(memsz));
    let spans: alloc::vec::Vec<(u64, u64)> =
        segments.iter().filter(|ph| ph.p_type == PT_LOAD).map(|ph| page_span(ph.p_vaddr, ph.p_memsz)).collect();
    let shared_by_many = |page: u64| spans.iter().filter(|&&(s, e)| page + PAGE_SIZE > s && page < e).count() > 1;
    let mut total = 0u64;
    let mut entry_ok = false;
    for ph in segments.iter().filter(|ph| ph.p_type == PT_LOAD) {
        let end = ph.p_vaddr.checked_add(ph.p_memsz).ok_or(Errno::ENOEXEC)?;
        let file_end = ph.p_offset.checked_add(ph.p_filesz).ok_or(Errno::ENOEXEC)?;
        if ph.p_vaddr < USER_BOTTOM || end > USER_TOP || ph.p_filesz > ph.p_memsz || file_end > file.len() as u64 {
            return Err(Errno::ENOEXEC);
        }
        let (w, x) = (ph.p_flags & PF_W != 0, ph.p_flags & PF_X != 0);
        if w && x {
            return Err(Errno::ENOEXEC);
        }
        total = total.saturating_add(ph.p_memsz);
        if total > MAX_IMAGE {
            return Err(Errno::ENOMEM);
        }
        let flags = MapFlags { writable: w, executable: x, user: true };
        // Pages holding file bytes are mapped now; the zero-filled rest
        // (`.bss`) is reserved and mapped on first touch.
        let file_part_end = ph.p_vaddr + ph.p_filesz;
        let bytes = &file[ph.p_offset as usize..file_end as usize];
        let mut page = ph.p_vaddr & !(PAGE_SIZE - 1);
        let mut private = false;
        while page < file_part_end {
            if !w && !shared_by_many(page) {
                space.map_shared(page, &page_image(ph.p_vaddr, bytes, page), x)?;
            } else {
                space.map_zeroed(page, flags)?;
                private = true;
            }
            page += PAGE_SIZE;
        }
        if page < end {
            space.reserve(page, end, flags)?;
        }
        if private {
            space.write(ph.p_vaddr, bytes)?;
        }
        if x && ph.p_flags & PF_R != 0 && (ph.p_vaddr..end).contains(&ehdr.e_entry) {
            entry_ok = true;
        }
    }
    if !entry_ok {
        return Err(Errno::ENOEXEC);
    }
    Ok(ehdr.e_entry)
}

/// The 4096 bytes page `page` holds when a segment's file bytes `bytes`
/// start at `vaddr` (zero outside them).
fn page_image(vaddr: u64, bytes: &[u8], page: u64) -> alloc::vec::Vec<u8> {
    let mut image = alloc::vec![0u8; PAGE_SIZE as usize];
    let seg_end = vaddr + bytes.len() as u64;
    let from = page.max(vaddr);
    let to = (page + PAGE_SIZE).min(seg_end);
    if from < to {
        let src = &bytes[(from - vaddr) as usize..(to - vaddr) as usize];
        image[(from - page) as usize..(to - page) as usize].copy_from_slice(src);
    }
    image
}
