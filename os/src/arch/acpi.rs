//! Finding the CPUs: a small reader of the ACPI tables the firmware leaves
//! in memory (ACPI 6.5, chapter 5).
//!
//! The boot loader hands over the physical address of the RSDP (root
//! system description pointer). It names the XSDT (64-bit entries) or, in
//! ACPI 1.0, the RSDT (32-bit entries), a list of other tables; the one
//! with signature `APIC` is the MADT (multiple APIC description table),
//! which lists a "processor local APIC" (or "local x2APIC") entry per CPU,
//! the I/O APICs (each with its first global system interrupt), the
//! interrupt source overrides (an ISA IRQ wired to another I/O APIC input,
//! or with another polarity or trigger mode) and the local APIC's physical
//! address.
//!
//! The tables come from firmware, so they are read like any input: every
//! length is checked against the bytes actually there, checksums are
//! verified, and an entry that does not fit ends the walk with an error
//! rather than a wrong CPU list. [`parse_madt`] works on a byte slice (the
//! in-kernel tests feed it broken tables); [`read_madt`] finds the table
//! through the direct map, refusing addresses the direct map does not cover.

use alloc::vec::Vec;
use core::fmt;

use crate::memory::{self, phys_to_virt};

/// Tables longer than this are refused (a real MADT is a few hundred bytes).
const MAX_TABLE_LEN: usize = 64 * 1024;
const SDT_HEADER_LEN: usize = 36;

/// One processor from the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuEntry {
    /// The local APIC id (IPIs are addressed to it).
    pub apic_id: u32,
    /// Whether the firmware marks the CPU usable now (flag bit 0) or can
    /// bring it online (bit 1); other entries are left alone.
    pub usable: bool,
}

/// One I/O APIC from the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoApicEntry {
    /// Its I/O APIC id.
    pub id: u8,
    /// Physical address of its registers.
    pub address: u64,
    /// The global system interrupt (GSI) of its first input.
    pub gsi_base: u32,
}

/// An interrupt source override: ISA IRQ `irq` arrives on `gsi`, with the
/// given polarity and trigger mode (ISA's own are active high, edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IrqOverride {
    pub irq: u8,
    pub gsi: u32,
    pub active_low: bool,
    pub level: bool,
}

/// What Warden needs from the MADT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Madt {
    /// Physical address of the local APIC registers.
    pub local_apic: u64,
    /// Every processor entry, in table order (the boot CPU is among them).
    pub cpus: Vec<CpuEntry>,
    /// The I/O APICs, in table order.
    pub io_apics: Vec<IoApicEntry>,
    /// The interrupt source overrides of ISA IRQs, in table order.
    pub overrides: Vec<IrqOverride>,
}

/// Why the tables could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcpiError {
    /// The loader passed no RSDP.
    NoRsdp,
    /// A table lies outside the memory the kernel maps.
    Unmapped(u64),
    /// A signature did not match (`what` was expected at `at`).
    BadSignature { what: &'static str, at: u64 },
    /// The bytes of a table do not sum to zero.
    BadChecksum(&'static str),
    /// A length field is too small, too large or runs past the table.
    BadLength(&'static str),
    /// No table with signature `APIC` is listed.
    NoMadt,
    /// The heap could not hold the CPU list.
    OutOfMemory,
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcpiError::NoRsdp => write!(f, "the boot loader passed no ACPI RSDP"),
            AcpiError::Unmapped(a) => write!(f, "an ACPI table at {a:#x} lies outside the direct map"),
            AcpiError::BadSignature { what, at } => write!(f, "no {what} signature at {at:#x}"),
            AcpiError::BadChecksum(what) => write!(f, "the {what} checksum is wrong"),
            AcpiError::BadLength(what) => write!(f, "the {what} has an impossible length"),
            AcpiError::NoMadt => write!(f, "the ACPI tables list no MADT (`APIC`)"),
            AcpiError::OutOfMemory => write!(f, "out of memory for the CPU list"),
        }
    }
}

fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// Parses a whole MADT (header included).
pub fn parse_madt(table: &[u8]) -> Result<Madt, AcpiError> {
    const WHAT: &str = "MADT";
    if table.get(..4) != Some(b"APIC".as_slice()) {
        return Err(AcpiError::BadSignature { what: WHAT, at: 0 });
    }
    let len = u32_at(table, 4).ok_or(AcpiError::BadLength(WHAT))? as usize;
    if len < SDT_HEADER_LEN + 8 || len > table.len() {
        return Err(AcpiError::BadLength(WHAT));
    }
    let table = &table[..len];
    if !checksum_ok(table) {
        return Err(AcpiError::BadChecksum(WHAT));
    }
    let mut madt = Madt {
        local_apic: u64::from(u32_at(table, SDT_HEADER_LEN).ok_or(AcpiError::BadLength(WHAT))?),
        cpus: Vec::new(),
        io_apics: Vec::new(),
        overrides: Vec::new(),
    };
    let mut at = SDT_HEADER_LEN + 8;
    while at < len {
        const ENTRY: &str = "MADT entry";
        let kind = table[at];
        let entry_len = usize::from(*table.get(at + 1).ok_or(AcpiError::BadLength(ENTRY))?);
        let entry = table.get(at..at + entry_len).filter(|_| entry_len >= 2).ok_or(AcpiError::BadLength(ENTRY))?;
        let flags_usable = |flags: u32| flags & 0b11 != 0;
        match kind {
            0 if entry_len >= 8 => {
                let flags = u32_at(entry, 4).ok_or(AcpiError::BadLength(ENTRY))?;
                let cpu = CpuEntry { apic_id: u32::from(entry[3]), usable: flags_usable(flags) };
                madt.cpus.try_reserve(1).map_err(|_| AcpiError::OutOfMemory)?;
                madt.cpus.push(cpu);
            }
            9 if entry_len >= 16 => {
                let apic_id = u32_at(entry, 4).ok_or(AcpiError::BadLength(ENTRY))?;
                let flags = u32_at(entry, 8).ok_or(AcpiError::BadLength(ENTRY))?;
                madt.cpus.try_reserve(1).map_err(|_| AcpiError::OutOfMemory)?;
                madt.cpus.push(CpuEntry { apic_id, usable: flags_usable(flags) });
            }
            1 if entry_len >= 12 => {
                let address = u32_at(entry, 4).ok_or(AcpiError::BadLength(ENTRY))?;
                let gsi_base = u32_at(entry, 8).ok_or(AcpiError::BadLength(ENTRY))?;
                madt.io_apics.try_reserve(1).map_err(|_| AcpiError::OutOfMemory)?;
                madt.io_apics.push(IoApicEntry { id: entry[2], address: u64::from(address), gsi_base });
            }
            2 if entry_len >= 10 => {
                let gsi = u32_at(entry, 4).ok_or(AcpiError::BadLength(ENTRY))?;
                let flags = u16::from_le_bytes([entry[8], entry[9]]);
                // Polarity in bits 0-1 and trigger mode in bits 2-3; 0b00
                // means "as the bus does" (ISA: active high, edge).
                let (polarity, trigger) = (flags & 0b11, (flags >> 2) & 0b11);
                // Only overrides of the ISA bus (0) are defined.
                if entry[2] == 0 {
                    madt.overrides.try_reserve(1).map_err(|_| AcpiError::OutOfMemory)?;
                    madt.overrides.push(IrqOverride { irq: entry[3], gsi, active_low: polarity == 0b11, level: trigger == 0b11 });
                }
            }
            5 if entry_len >= 12 => madt.local_apic = u64_at(entry, 4).ok_or(AcpiError::BadLength(ENTRY))?,
            0 | 1 | 2 | 5 | 9 => return Err(AcpiError::BadLength(ENTRY)),
            _ => {}
        }
        at += entry_len;
    }
    Ok(madt)
}

/// Copies `len` bytes of physical memory at `phys` through the direct map,
/// after checking that every page of the range is mapped there.
fn read_phys(phys: u64, len: usize) -> Result<Vec<u8>, AcpiError> {
    let end = phys.checked_add(len as u64).ok_or(AcpiError::Unmapped(phys))?;
    let mut page = phys & !(memory::PAGE_SIZE - 1);
    while page < end {
        if memory::translate(phys_to_virt(page)).is_none() {
            return Err(AcpiError::Unmapped(page));
        }
        page += memory::PAGE_SIZE;
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| AcpiError::OutOfMemory)?;
    let base = phys_to_virt(phys) as *const u8;
    for i in 0..len {
        // SAFETY: every page of `phys..end` was just found mapped in the
        // direct map, which the kernel never unmaps; firmware tables are
        // plain memory, so reading them has no side effect.
        bytes.push(unsafe { core::ptr::read_volatile(base.add(i)) });
    }
    Ok(bytes)
}

/// Reads the table header at `phys`, then the whole table, checking its
/// signature, length and checksum.
fn read_table(phys: u64, signature: &[u8; 4], what: &'static str) -> Result<Vec<u8>, AcpiError> {
    let header = read_phys(phys, SDT_HEADER_LEN)?;
    if header[..4] != signature[..] {
        return Err(AcpiError::BadSignature { what, at: phys });
    }
    let len = u32_at(&header, 4).ok_or(AcpiError::BadLength(what))? as usize;
    if !(SDT_HEADER_LEN..=MAX_TABLE_LEN).contains(&len) {
        return Err(AcpiError::BadLength(what));
    }
    let table = read_phys(phys, len)?;
    if !checksum_ok(&table) {
        return Err(AcpiError::BadChecksum(what));
    }
    Ok(table)
}

/// Follows the RSDP at physical `rsdp` to the MADT and parses it.
pub fn read_madt(rsdp: u64) -> Result<Madt, AcpiError> {
    if rsdp == 0 {
        return Err(AcpiError::NoRsdp);
    }
    let pointer = read_phys(rsdp, 20)?;
    if &pointer[..8] != b"RSD PTR " {
        return Err(AcpiError::BadSignature { what: "RSDP", at: rsdp });
    }
    if !checksum_ok(&pointer) {
        return Err(AcpiError::BadChecksum("RSDP"));
    }
    let revision = pointer[15];
    let xsdt = if revision >= 2 { u64_at(&read_phys(rsdp, 36)?, 24).filter(|&a| a != 0) } else { None };
    let (root, entry_size) = match xsdt {
        Some(address) => (read_table(address, b"XSDT", "XSDT")?, 8),
        None => {
            let rsdt = u32_at(&pointer, 16).ok_or(AcpiError::BadLength("RSDP"))?;
            (read_table(u64::from(rsdt), b"RSDT", "RSDT")?, 4)
        }
    };
    for entry in root[SDT_HEADER_LEN..].chunks_exact(entry_size) {
        let address = if entry_size == 8 { u64_at(entry, 0) } else { u32_at(entry, 0).map(u64::from) };
        let Some(address) = address else { continue };
        if read_phys(address, 4)?[..] == b"APIC"[..] {
            return parse_madt(&read_table(address, b"APIC", "MADT")?);
        }
    }
    Err(AcpiError::NoMadt)
}
