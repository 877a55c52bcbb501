//! `modc disasm --native`: the x86-64 code the kernel's JIT makes of each
//! program, interleaved with the bytecode and the source lines.
//!
//! Each program is verified with the kernel's profile ([`lkm::profile_for`])
//! and compiled by the `jit` crate the way `os/src/lkm/load.rs` does it,
//! with constant blinding unless asked not to. The kernel learns its
//! addresses only at load time, so the listing uses fixed, documented
//! stand-ins:
//!
//! | what | address |
//! |---|---|
//! | program `i`'s code | [`CODE_ADDRESS`] + `i` × [`PROGRAM_STRIDE`] |
//! | helper with id `n` | [`HELPER_BASE`] + `n` × [`HELPER_STRIDE`], shown as `helper.NAME` |
//! | map `n` (the read-only data is the map after the declared ones) | [`MAP_BASE`] + `n` × [`MAP_STRIDE`], shown as `map.NAME` |
//! | the values of map `n` | the map's address + [`MAP_VALUES`], shown as `map.NAME.values` |
//! | the fuel counter, the out-of-fuel target (docs/jit.md, "Fuel") | [`FUEL_COUNTER`], [`OUT_OF_FUEL`], shown as `fuel` and `out_of_fuel` |
//!
//! With blinding the kernel seeds each load from the time-stamp counter; the
//! listing uses [`BLIND_SEED`] so that it is the same on every run.

use std::fmt::Write;

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, SymbolResolver, SymbolResult};
use lkm::Image;
use verifier::{Imm64, Insn};

/// Where the first program's code is placed (the kernel's JIT region lies
/// in the top 2 GiB, next to kernel text).
pub const CODE_ADDRESS: u64 = 0xffff_ffff_c000_0000;
/// Distance between the code of consecutive programs.
pub const PROGRAM_STRIDE: u64 = 0x10_0000;
/// Where helper 0 is placed (within `call rel32` reach of the code).
pub const HELPER_BASE: u64 = 0xffff_ffff_8100_0000;
/// Distance between consecutive helpers.
pub const HELPER_STRIDE: u64 = 0x10;
/// Where map 0 is placed.
pub const MAP_BASE: u64 = 0xffff_8880_0000_0000;
/// Distance between consecutive maps.
pub const MAP_STRIDE: u64 = 0x100_0000;
/// Offset of a map's values from the map.
pub const MAP_VALUES: u64 = 0x1000;
/// Where the fuel counter is placed (a kernel static, next to kernel text).
pub const FUEL_COUNTER: u64 = 0xffff_ffff_8200_0000;
/// Where metered code goes when its fuel runs out (`jit_out_of_fuel`).
pub const OUT_OF_FUEL: u64 = 0xffff_ffff_8200_1000;
/// The blinding seed of the listing.
pub const BLIND_SEED: u64 = 0x5741_5244_454e_0001;

/// The native listing of every program of `image`; `source` is the text
/// the image's line table points into. A program the verifier or the JIT
/// refuses ends the listing with that error.
pub fn native_listing(image: &Image, source: Option<&str>, blind: bool) -> Result<String, String> {
    let lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    let map_names: Vec<String> =
        image.maps.iter().map(|m| m.name.clone()).chain(std::iter::once("rodata".to_string())).collect();
    let mut out = format!("; module {} ({}), native x86-64 code\n", image.name, image.params.class().name());
    if blind {
        out += &format!("; constant blinding on, seed {BLIND_SEED:#x} (the kernel uses a fresh seed per load)\n");
    } else {
        out += "; constant blinding off (--no-blind; the kernel always blinds)\n";
    }
    out += &format!(
        "; program i at {CODE_ADDRESS:#x} + i*{PROGRAM_STRIDE:#x}; helper n at {HELPER_BASE:#x} + n*{HELPER_STRIDE:#x}; map n at {MAP_BASE:#x} + n*{MAP_STRIDE:#x}\n"
    );
    for (pi, p) in image.programs.iter().enumerate() {
        let rejected = |what: String| format!("error: program `{}` {what}\n", p.entry);
        let program = verifier::decode(&p.code).map_err(|e| rejected(format!("does not decode: {e}")))?;
        let profile = lkm::profile_for(image, pi).map_err(|e| rejected(format!("has no profile: {e}")))?;
        let verified = verifier::verify(&program, &profile).map_err(|r| {
            rejected(format!("is rejected by the verifier: {r}\n  = help: `modc check` shows the rejection at the source"))
        })?;
        let code_address = CODE_ADDRESS + pi as u64 * PROGRAM_STRIDE;
        let helper = |id: u32| lkm::helpers::by_id(id).map(|_| helper_address(id));
        let resolver = |imm: &Imm64| imm64_address(imm, map_names.len());
        let mut opts = jit::JitOptions::new(code_address);
        opts.helper_address = &helper;
        opts.resolve_imm64 = &resolver;
        opts.blinding = blind.then_some(BLIND_SEED);
        opts.fuel = Some(jit::Fuel { counter: jit::FuelCounter::At(FUEL_COUNTER), exhausted: OUT_OF_FUEL, helper_weight: &lkm::helpers::weight });
        let jitted = jit::compile(&verified, &opts).map_err(|e| rejected(format!("is refused by the JIT: {e}")))?;
        out += &format!(
            "\n{}: {} slots -> {} bytes of x86 at {code_address:#x}\n",
            p.entry,
            program.len(),
            jitted.size()
        );
        let mut fmt = IntelFormatter::with_options(Some(Box::new(Symbols { map_names: map_names.clone() })), None);
        program_listing(&mut out, &mut fmt, image, pi, program.insns(), &jitted, &lines);
    }
    Ok(out)
}

fn helper_address(id: u32) -> u64 {
    HELPER_BASE + id as u64 * HELPER_STRIDE
}

/// The stand-in address behind a 64-bit immediate, as the kernel's
/// `resolve` would give the real one.
fn imm64_address(imm: &Imm64, maps: usize) -> Option<u64> {
    let map = |n: u32| ((n as usize) < maps).then(|| MAP_BASE + n as u64 * MAP_STRIDE);
    match *imm {
        Imm64::MapRef(n) | Imm64::MapByIdx(n) => map(n),
        Imm64::MapValue { map: n, offset } | Imm64::MapValueByIdx { map: n, offset } => {
            map(n).map(|a| a + MAP_VALUES + offset as u64)
        }
        _ => None,
    }
}

/// One program: source lines, then each bytecode instruction, then its x86.
fn program_listing(
    out: &mut String,
    fmt: &mut IntelFormatter,
    image: &Image,
    pi: usize,
    insns: &[Insn],
    jitted: &jit::JitOutput,
    lines: &[&str],
) {
    let offsets = jitted.insn_offsets();
    let function_at = |pc: usize| jitted.function_starts().iter().position(|&s| s == pc);
    // The code of slot `pc` ends where the next slot's code (or the next
    // function's prologue) starts.
    let end_of = |pc: usize| match function_at(pc + 1) {
        Some(f) => jitted.entries()[f] as usize,
        None => offsets.get(pc + 1).map_or(jitted.size(), |&o| o as usize),
    };
    let mut last_line = 0;
    for (pc, insn) in insns.iter().enumerate().take(offsets.len()) {
        if let Some(f) = function_at(pc) {
            let entry = jitted.entries()[f] as usize;
            let _ = writeln!(out, "<function {f}> at {:#x}", jitted.code_address() + entry as u64);
            disassemble(out, fmt, jitted, entry, offsets[pc] as usize);
        }
        if matches!(insn, Insn::Imm64Tail) {
            continue;
        }
        if let Some(e) = image.lines.as_ref().and_then(|t| t.lookup(pi, pc))
            && e.line != last_line
        {
            last_line = e.line;
            if let Some(text) = e.line.checked_sub(1).and_then(|l| lines.get(l as usize)) {
                let _ = writeln!(out, "  ; {}:{}: {}", e.line, e.col, text.trim());
            }
        }
        let text = match insn {
            Insn::Call { helper } => match lkm::helpers::by_id(*helper) {
                Some(h) => format!("{:<24}; {}", verifier::disasm(insn), h.name),
                None => verifier::disasm(insn),
            },
            _ => verifier::disasm(insn),
        };
        let _ = writeln!(out, "  {pc:>4}: {text}");
        disassemble(out, fmt, jitted, offsets[pc] as usize, end_of(pc));
    }
}

/// Appends the x86 instructions in `code[from..to]`, one a line.
fn disassemble(out: &mut String, fmt: &mut IntelFormatter, jitted: &jit::JitOutput, from: usize, to: usize) {
    let Some(bytes) = jitted.code().get(from..to) else { return };
    let mut decoder = Decoder::with_ip(64, bytes, jitted.code_address() + from as u64, DecoderOptions::NONE);
    let mut at = 0;
    let mut asm = String::new();
    while decoder.can_decode() {
        let insn = decoder.decode();
        asm.clear();
        fmt.format(&insn, &mut asm);
        let raw: String = bytes.get(at..at + insn.len()).unwrap_or_default().iter().map(|b| format!("{b:02x} ")).collect();
        let _ = writeln!(out, "        {:04x}  {raw:<30}{asm}", from + at);
        at += insn.len();
    }
}

/// Names the stand-in addresses of helpers and maps in the x86 text.
struct Symbols {
    map_names: Vec<String>,
}

impl SymbolResolver for Symbols {
    fn symbol(&mut self, _: &Instruction, _: u32, _: Option<u32>, address: u64, _: u32) -> Option<SymbolResult<'_>> {
        match address {
            FUEL_COUNTER => return Some(SymbolResult::with_str(address, "fuel")),
            OUT_OF_FUEL => return Some(SymbolResult::with_str(address, "out_of_fuel")),
            _ => {}
        }
        if (HELPER_BASE..HELPER_BASE + 0x1_0000).contains(&address) && (address - HELPER_BASE).is_multiple_of(HELPER_STRIDE) {
            let h = lkm::helpers::by_id(((address - HELPER_BASE) / HELPER_STRIDE) as u32)?;
            return Some(SymbolResult::with_string(address, format!("helper.{}", h.name)));
        }
        let n = address.checked_sub(MAP_BASE)? / MAP_STRIDE;
        let name = self.map_names.get(n as usize)?;
        let base = MAP_BASE + n * MAP_STRIDE;
        if address - base >= MAP_VALUES {
            Some(SymbolResult::with_string(base + MAP_VALUES, format!("map.{name}.values")))
        } else {
            Some(SymbolResult::with_string(base, format!("map.{name}")))
        }
    }
}
