//! Soundness fuzzing of the verifier: random but plausible programs, each
//! accepted one run by the checking interpreter of `vm` on random inputs.
//!
//! * [`Rng`]: a seeded generator (on `fastrand`), so a failing
//!   program is reproduced from its seed.
//! * [`profile`]: the profile every generated program is verified against
//!   (a 64-byte context with value, length and buffer fields, an array map,
//!   a hash map, read-only data, eight helpers, two ports).
//! * [`generate`]: a program built from snippets that exercise one rule
//!   each: context fields and buffers behind bounds checks, map lookups with
//!   and without null checks, stack stores, spills and partial overwrites,
//!   helper calls with stack buffers, bounded (and unbounded) loops, random
//!   branches and ALU operations, 32-bit arithmetic and comparisons, joins
//!   whose paths bound an index differently in one view of its bounds.
//!   Constants sit near the edges (off by one either way), so about as many
//!   programs are rejected as accepted.
//! * [`run_inputs`]: runs a program in the checking interpreter with a
//!   random context, random map contents and random helper results that
//!   respect the profile's promises (a length field is within its buffer's
//!   capacity, a `bounded` result within its bounds); the `fill` helper
//!   fails one call in four, zeroing its buffer as the kernel's helpers do
//!   ([`run_inputs_with`] plants the failure that leaves the buffer as it
//!   was, to show the campaign finds it).

use verifier::{ArgKind, CtxField, CtxLayout, HelperSig, Limits, MapInfo, PortRange, Profile, Program, Reg, RetKind};
#[cfg(test)]
use verifier::Insn;
use vm::memory::{READ, WRITE};
use vm::{Config, Helpers, Map, MapKind, Memory, Value, Violation, ViolationKind, Vm};

pub(crate) mod generate;

pub use generate::generate;

/// A deterministic random number generator (`fastrand`, seeded).
#[derive(Clone)]
pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n)
    }

    /// True with probability `p` percent.
    pub fn chance(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.0.usize(..xs.len())]
    }
}

// The fuzz context: offsets of its fields.
pub(crate) const CTX_SIZE: u32 = 64;
pub(crate) const F_VALUE: i16 = 0; // u64, read-only
pub(crate) const F_RW: i16 = 8; // u32, read-write
pub(crate) const F_LEN: i16 = 12; // u32, length of `data`
pub(crate) const F_DATA: i16 = 16; // 32-byte buffer, read-write
pub(crate) const DATA_CAP: i64 = 32;
pub(crate) const F_TAIL: i16 = 48; // u64, read-write; 56..64 is padding

// Helper ids of the fuzz profile.
pub(crate) const H_LOOKUP: u32 = 1;
pub(crate) const H_UPDATE: u32 = 2;
pub(crate) const H_DELETE: u32 = 3;
pub(crate) const H_EMIT: u32 = 4;
pub(crate) const H_FILL: u32 = 5;
pub(crate) const H_RANDOM: u32 = 6;
pub(crate) const H_INB: u32 = 7;
pub(crate) const H_ALLOC: u32 = 8;
pub(crate) const ALLOC_SIZE: i64 = 24;

pub(crate) const ARRAY_VALUE: i64 = 16;
pub(crate) const HASH_VALUE: i64 = 8;
pub(crate) const RODATA: i64 = 8;

/// The profile every generated program is verified against.
pub fn profile() -> Profile {
    let ctx = CtxLayout::new(CTX_SIZE)
        .with_field(CtxField::value("value", F_VALUE as u32, 8))
        .with_field(CtxField::value("rw", F_RW as u32, 4).writable())
        .with_field(CtxField::length("len", F_LEN as u32, 4, 3, DATA_CAP as u32))
        .with_field(CtxField::buffer("data", F_DATA as u32, DATA_CAP as u32).writable())
        .with_field(CtxField::value("tail", F_TAIL as u32, 8).writable());
    Profile::new()
        .with_ctx(ctx)
        .with_map(MapInfo::array(ARRAY_VALUE as u32, 4))
        .with_map(MapInfo::hash(4, HASH_VALUE as u32, 8))
        .with_map(MapInfo::read_only(RODATA as u32))
        .with_helper(HelperSig::new(H_LOOKUP, "map_lookup", &[ArgKind::MapRef, ArgKind::MapKey], RetKind::MapValueOrNull))
        .with_helper(HelperSig::new(
            H_UPDATE,
            "map_update",
            &[ArgKind::MapRef, ArgKind::MapKey, ArgKind::MapValue, ArgKind::Scalar],
            RetKind::Scalar,
        ))
        .with_helper(HelperSig::new(H_DELETE, "map_delete", &[ArgKind::MapRef, ArgKind::MapKey], RetKind::Scalar))
        .with_helper(HelperSig::new(H_EMIT, "emit", &[ArgKind::MemRead, ArgKind::Len { allow_zero: true }], RetKind::Scalar))
        .with_helper(HelperSig::new(H_FILL, "fill", &[ArgKind::MemWrite, ArgKind::Len { allow_zero: false }], RetKind::Scalar))
        .with_helper(HelperSig::new(H_RANDOM, "random_u32", &[], RetKind::Bounded { min: 0, max: 0xffff_ffff }))
        .with_helper(HelperSig::new(H_INB, "inb", &[ArgKind::Port { width: 1 }], RetKind::Bounded { min: 0, max: 0xff }))
        .with_helper(HelperSig::new(H_ALLOC, "alloc", &[], RetKind::MemOrNull { size: ALLOC_SIZE as u32, writable: true }))
        .with_ports(PortRange { start: 0x70, count: 2 })
        // Generated programs are small: a low limit keeps the campaign fast
        // (loops that never end are rejected as too complex sooner).
        .with_limits(Limits { max_insns_processed: 20_000, ..Limits::DEFAULT })
}

/// What the `fill` helper leaves in its buffer when it fails.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FailedFill {
    /// Zeros, as every kernel helper that writes a buffer does.
    Zeroes,
    /// The bytes the buffer held before: the unsound failure (stack the
    /// program never wrote, or a spilled pointer, read as data).
    LeavesBuffer,
}

/// The environment of a run: maps in memory, and the helpers.
struct Env<'r> {
    rng: &'r mut Rng,
    failed_fill: FailedFill,
}

fn leak_check(args: &[Value], scalars: &[usize]) -> Result<(), ViolationKind> {
    for &i in scalars {
        if args[i].ptr {
            return Err(ViolationKind::PointerLeak(vm::LeakTarget::HelperArgument));
        }
    }
    Ok(())
}

impl Helpers for Env<'_> {
    fn call(&mut self, id: u32, a: [Value; 5], mem: &mut Memory) -> Result<Value, ViolationKind> {
        match id {
            H_LOOKUP => vm::helpers::map_lookup(mem, a[0], a[1]),
            H_UPDATE => {
                leak_check(&a, &[3])?;
                vm::helpers::map_update(mem, a[0], a[1], a[2], a[3])
            }
            H_DELETE => vm::helpers::map_delete(mem, a[0], a[1]),
            H_EMIT => {
                leak_check(&a, &[1])?;
                let mut buf = vec![0u8; a[1].bits.min(1 << 20) as usize];
                mem.read(a[0].bits, &mut buf)?;
                Ok(Value::scalar(buf.len() as u64))
            }
            H_FILL => {
                leak_check(&a, &[1])?;
                let len = a[1].bits.min(1 << 20) as usize;
                if self.rng.chance(25) {
                    return match self.failed_fill {
                        FailedFill::Zeroes => vm::helpers::fail_write(mem, a[0].bits, len),
                        FailedFill::LeavesBuffer => {
                            mem.check_helper_write(a[0].bits, len)?;
                            Ok(vm::helpers::efault())
                        }
                    };
                }
                let data: Vec<u8> = (0..len).map(|_| self.rng.next() as u8).collect();
                mem.write(a[0].bits, &data)?;
                Ok(Value::scalar(0))
            }
            H_RANDOM => Ok(Value::scalar(self.rng.next() & 0xffff_ffff)),
            H_ALLOC => {
                if self.rng.chance(20) {
                    return Ok(Value::scalar(0));
                }
                let bytes = (0..ALLOC_SIZE).map(|_| self.rng.next() as u8).collect();
                Ok(Value::pointer(mem.add_buffer(bytes, true)?))
            }
            H_INB => {
                leak_check(&a, &[0])?;
                if !(0x70..0x72).contains(&a[0].bits) {
                    return Err(ViolationKind::Helper { id, reason: format!("port {:#x} not declared", a[0].bits) });
                }
                Ok(Value::scalar(self.rng.next() & 0xff))
            }
            _ => Err(vm::helpers::unknown_helper(id)),
        }
    }
}

/// Runs `program` in the checking interpreter on `runs` random inputs;
/// returns the first violation.
pub fn run_inputs(program: &Program, rng: &mut Rng, runs: usize) -> Result<(), Violation> {
    run_inputs_with(program, rng, runs, FailedFill::Zeroes)
}

/// [`run_inputs`] with the `fill` helper failing as `failed_fill` says.
pub fn run_inputs_with(program: &Program, rng: &mut Rng, runs: usize, failed_fill: FailedFill) -> Result<(), Violation> {
    for _ in 0..runs {
        let mut vm = Vm::new(program, Config::checking());
        let mem = vm.memory_mut();
        let mut ctx: Vec<u8> = (0..CTX_SIZE).map(|_| rng.next() as u8).collect();
        // The kernel's promise: the length is within the buffer's capacity.
        let len = rng.below(DATA_CAP as u64 + 1) as u32;
        ctx[F_LEN as usize..F_LEN as usize + 4].copy_from_slice(&len.to_le_bytes());
        if rng.chance(30) {
            // Small values reach the interesting branches more often.
            let v = rng.below(40);
            ctx[..8].copy_from_slice(&v.to_le_bytes());
            ctx[8..12].copy_from_slice(&(rng.below(24) as u32).to_le_bytes());
        }
        let mut perms = vec![0u8; CTX_SIZE as usize];
        for (range, p) in [(0..8, READ), (8..12, READ | WRITE), (12..16, READ), (16..48, READ | WRITE), (48..56, READ | WRITE)] {
            perms[range].iter_mut().for_each(|b| *b = p);
        }
        let ctx_addr = mem.add_context(ctx, &perms).expect("context fits");
        let mut array = Map::new(MapKind::Array, 4, ARRAY_VALUE as u32, 4).expect("array map");
        array.values_mut().iter_mut().for_each(|b| *b = rng.next() as u8);
        mem.add_map(array).expect("array map fits");
        let mut hash = Map::new(MapKind::Hash, 4, HASH_VALUE as u32, 8).expect("hash map");
        for k in 0..rng.below(5) as u32 {
            let _ = hash.update(&k.to_le_bytes(), &rng.next().to_le_bytes(), 0);
        }
        mem.add_map(hash).expect("hash map fits");
        let ro: Vec<u8> = (0..RODATA).map(|_| rng.next() as u8).collect();
        mem.add_map(Map::read_only_data(&ro).expect("rodata")).expect("rodata fits");
        vm.set_reg(Reg::R1, Value::pointer(ctx_addr));
        let mut env = Env { rng, failed_fill };
        vm.run(&mut env)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_programs_are_well_formed() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let p = generate(&mut rng);
            assert!(p.check_slots().is_ok());
            assert!(p.insns().contains(&Insn::Exit));
        }
    }
}
