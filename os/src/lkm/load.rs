//! `LMREADY`: from image bytes to a module ready to link, in timed phases.
//!
//! 1. parse: `lkm::parse` checks every length and offset of the image;
//! 2. verify: each program is decoded and verified in the kernel against
//!    `lkm::profile_for` (the same profile `modc check` uses on the host),
//!    watched by [`KernelWatch`] (memory as the heap hands it out, wall
//!    time); every allocation on this path is fallible, and running out of
//!    memory refuses the load with `ENOMEM`;
//! 3. JIT: maps and read-only data are allocated first (their addresses go
//!    into the code), then each program is compiled with constant blinding
//!    into a code block of the code region (within ±2 GiB of kernel text,
//!    direct-map alias read-only), which is then made executable and
//!    read-only;
//! 4. link (in `mod.rs`): ports granted, class hook filled, `load` run.
//!
//! Everything the module controls counts against
//! [`MODULE_BUDGET`](super::module::MODULE_BUDGET): `ENOMEM` past it. A
//! rejection is a [`Refusal`] with rustc-style text for the caller.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use abi::Errno;
use lkm::{Image, MapKind};
use verifier::Imm64;

use super::class::Refusal;
use super::helpers;
use super::module::{LoadStats, LoadedProgram, MODULE_BUDGET, ModMap};
use super::watch::KernelWatch;
use crate::arch;
use crate::memory::code::CodeBlock;
use crate::time;

/// Changes the emitted code before it is made executable (fault tests).
pub type Patch = fn(&mut [u8], &jit::JitOutput);

/// A module built but not linked yet.
pub struct Built {
    pub image: Image,
    pub programs: Vec<LoadedProgram>,
    pub maps: Vec<Box<ModMap>>,
    pub stats: LoadStats,
    pub bytes: usize,
}

/// Nanoseconds since `start` (a TSC reading).
pub fn since(start: u64) -> u64 {
    time::cycles_to_ns(arch::rdtsc().wrapping_sub(start))
}

/// Parses, verifies and compiles `bytes`.
pub fn build(bytes: &[u8], patch: Option<Patch>) -> Result<Built, Refusal> {
    let mut stats = LoadStats::default();
    let mut budget = Budget { used: 0 };
    budget.take(bytes.len(), "the image")?;

    let t = arch::rdtsc();
    let image = lkm::parse(bytes).map_err(|e| {
        Refusal::new(Errno::EINVAL, format!("error: malformed module image: {e}"))
    })?;
    if !image.ports.is_empty() && image.params.class() != lkm::Class::Dev {
        return Err(Refusal::new(
            Errno::EINVAL,
            "error: the image asks for I/O ports\n  = note: only device drivers may use ports",
        ));
    }
    stats.parse_ns = since(t);

    let t = arch::rdtsc();
    let mut verified = Vec::new();
    verified.try_reserve_exact(image.programs.len()).map_err(|_| out_of_memory("the verified programs"))?;
    for (i, p) in image.programs.iter().enumerate() {
        let v = verify(&image, i)?;
        stats.insns += p.slots() as u32;
        stats.insns_processed += v.stats().insns_processed;
        stats.states += v.stats().states_stored;
        verified.push(v);
    }
    stats.verify_ns = since(t);

    let t = arch::rdtsc();
    let maps = make_maps(&image, &mut budget)?;
    let mut programs = Vec::new();
    programs.try_reserve_exact(verified.len()).map_err(|_| out_of_memory("the compiled programs"))?;
    for (v, p) in verified.into_iter().zip(&image.programs) {
        let program = compile(v, entry_name(&image, &p.entry), &maps, &mut budget, patch)?;
        stats.code_size += program.jit.size() as u64;
        programs.push(program);
    }
    stats.jit_ns = since(t);
    Ok(Built { image, programs, maps, stats, bytes: budget.used })
}

/// The refusal when the kernel has no memory left for `what`.
fn out_of_memory(what: &str) -> Refusal {
    Refusal::new(
        Errno::ENOMEM,
        format!("error: the kernel ran out of memory for {what}\n  = help: load the module again when the system holds less"),
    )
}

/// Bytes counted against the module budget.
struct Budget {
    used: usize,
}

impl Budget {
    fn take(&mut self, bytes: usize, what: &str) -> Result<(), Refusal> {
        self.used = self.used.saturating_add(bytes);
        if self.used > MODULE_BUDGET {
            return Err(Refusal::new(
                Errno::ENOMEM,
                format!(
                    "error: the module needs more than {} KiB (at {what})\n  = note: image, maps, read-only data and code of one module share a budget of {} KiB",
                    MODULE_BUDGET / 1024,
                    MODULE_BUDGET / 1024
                ),
            ));
        }
        Ok(())
    }
}

/// The `&'static` name of an entry point (the parser checked it exists).
fn entry_name(image: &Image, entry: &str) -> &'static str {
    image.params.class().entry(entry).map_or("?", |e| e.name)
}

/// Verifies program `i`; a rejection carries the verifier's report and,
/// with a line table, the source position.
fn verify(image: &Image, i: usize) -> Result<verifier::Verified, Refusal> {
    let p = &image.programs[i];
    let profile = lkm::profile_for(image, i)
        .map_err(|e| Refusal::new(Errno::EINVAL, format!("error: program `{}`: {e}", p.entry)))?;
    let program = verifier::decode(&p.code).map_err(|e| {
        let errno = match e.kind {
            verifier::DecodeErrorKind::OutOfMemory { .. } => Errno::ENOMEM,
            _ => Errno::EINVAL,
        };
        let help = e.help().map(|h| format!("\n  = help: {h}")).unwrap_or_default();
        Refusal::new(errno, format!("error: program `{}` does not decode: {e}{help}", p.entry))
    })?;
    let mut watch = KernelWatch::new(profile.limits.max_memory);
    verifier::verify_watched(&program, &profile, &mut watch).map_err(|report| {
        let errno = match report.kind {
            verifier::ErrorKind::OutOfMemory => Errno::ENOMEM,
            _ => Errno::EINVAL,
        };
        let mut text = format!("{report}");
        if let Some(lines) = &image.lines
            && let Some(at) = lines.lookup(i, report.pc)
        {
            text = format!("{text}\n  --> {}:{}:{} (program `{}`)", lines.source, at.line, at.col, p.entry);
        } else {
            text = format!("{text}\n  = note: in program `{}`", p.entry);
        }
        Refusal::new(errno, text)
    })
}

/// How many CPUs a per-CPU array map has values for: every CPU number
/// up to the highest online one (module code runs only on online CPUs).
fn map_cpus() -> usize {
    arch::percpu::online().map(|c| c.id() + 1).max().unwrap_or(1)
}

/// The image's maps, then its read-only data as a read-only map.
#[allow(clippy::vec_box)] // each map's address is built into the code: boxes never move
fn make_maps(image: &Image, budget: &mut Budget) -> Result<Vec<Box<ModMap>>, Refusal> {
    let mut maps = Vec::new();
    maps.try_reserve_exact(image.maps.len() + 1).map_err(|_| out_of_memory("the maps"))?;
    let cpus = map_cpus();
    for (i, m) in image.maps.iter().enumerate() {
        let copies = if m.kind == MapKind::PerCpuArray { cpus } else { 1 };
        let value_bytes = (m.value_size as usize).saturating_mul(copies);
        let bytes = (m.key_size as usize).saturating_add(value_bytes).saturating_mul(m.max_entries as usize);
        // The hash index costs a few words a slot on top.
        let index = if m.kind == MapKind::Hash { 16 * m.max_entries as usize } else { 0 };
        budget.take(bytes.saturating_add(index), "a map")?;
        let kind = match m.kind {
            MapKind::Array => vm::map::MapKind::Array,
            MapKind::Hash => vm::map::MapKind::Hash,
            MapKind::PerCpuArray => vm::map::MapKind::PerCpuArray,
        };
        let map = vm::map::Map::with_cpus(kind, m.key_size, m.value_size, m.max_entries, cpus).map_err(|e| match e {
            vm::map::MapError::OutOfMemory => out_of_memory(&format!("map {i} (`{}`)", m.name)),
            _ => Refusal::new(Errno::EINVAL, format!("error: map {i} (`{}`): {e}", m.name)),
        })?;
        maps.push(ModMap::new(map));
    }
    budget.take(image.rodata.len(), "the read-only data")?;
    let rodata: &[u8] = if image.rodata.is_empty() { &[0] } else { &image.rodata };
    let map = vm::map::Map::read_only_data(rodata).map_err(|e| match e {
        vm::map::MapError::OutOfMemory => out_of_memory("the read-only data"),
        _ => Refusal::new(Errno::EINVAL, format!("error: read-only data: {e}")),
    })?;
    maps.push(ModMap::new(map));
    Ok(maps)
}

/// The address behind a 64-bit immediate: a map reference is the map's
/// address; a map value is an array's (or the read-only data's) first
/// value plus the offset.
fn resolve(maps: &[Box<ModMap>], imm: &Imm64) -> Option<u64> {
    match *imm {
        Imm64::MapRef(n) | Imm64::MapByIdx(n) => maps.get(n as usize).map(|m| m.address()),
        Imm64::MapValue { map, offset } | Imm64::MapValueByIdx { map, offset } => {
            let m = maps.get(map as usize)?;
            m.with(|inner| inner.kind() == vm::map::MapKind::Array && (offset as usize) < inner.values().len())
                .then(|| m.values_address() + offset as u64)
        }
        _ => None,
    }
}

/// Compiles one verified program into its own code block.
fn compile(
    v: verifier::Verified,
    entry: &'static str,
    maps: &[Box<ModMap>],
    budget: &mut Budget,
    patch: Option<Patch>,
) -> Result<LoadedProgram, Refusal> {
    let bound = jit::code_size_bound(v.program().len(), v.functions().len());
    budget.take(bound.next_multiple_of(4096), "the native code")?;
    let mut block = CodeBlock::new(bound)
        .map_err(|e| Refusal::new(Errno::ENOMEM, format!("error: no room for native code: {e}")))?;
    let helper = |id: u32| helpers::address(id);
    let resolver = |imm: &Imm64| resolve(maps, imm);
    let mut opts = jit::JitOptions::new(block.addr());
    opts.helper_address = &helper;
    opts.resolve_imm64 = &resolver;
    opts.blinding = Some(arch::rdtsc());
    opts.fuel = Some(arch::jit::fuel());
    let out = jit::compile(&v, &opts)
        .map_err(|e| Refusal::new(Errno::EINVAL, format!("{e}\n  = note: in program `{entry}`")))?;
    let bytes = block.bytes_mut().ok_or_else(|| Refusal::new(Errno::EIO, "error: code block not writable"))?;
    if out.size() > bytes.len() {
        return Err(Refusal::new(Errno::EIO, "error: the native code exceeds its size bound"));
    }
    bytes[..out.size()].copy_from_slice(out.code());
    if let Some(patch) = patch {
        patch(&mut bytes[..out.size()], &out);
    }
    block.make_executable().map_err(|e| Refusal::new(Errno::ENOMEM, format!("error: cannot map the code: {e}")))?;
    let insns_processed = v.stats().insns_processed;
    Ok(LoadedProgram { entry, code: block, jit: out, program: v.program().clone(), insns_processed })
}
