//! Differential testing of the JIT against the reference interpreter on the
//! verifier fuzzer's programs ([`crate::fuzz`]).
//!
//! For one accepted program and one seed, [`Inputs::new`] makes a random
//! context (lengths within their buffers' capacity), maps with random
//! contents and read-only data, all from the fuzz profile. The program then
//! runs twice on copies of the same inputs:
//!
//! * in the checking interpreter ([`run_vm`]), whose memory is a fake
//!   address space and whose helpers are those of `vm`;
//! * natively through the JIT ([`run_jit`]), on real memory, with helpers
//!   written here as `extern "C"` functions over real maps.
//!
//! Helpers that return random values (`random_u32`, `inb`, `fill`, and
//! `alloc`, which hands out a fresh buffer of random bytes or NULL) draw from
//! a generator seeded identically in both runs, so equal programs see equal
//! inputs. [`Effects`] (r0, the final context bytes, every map's contents)
//! must be identical. The JIT runs only after the interpreter ran without a
//! violation, so a verifier bug shows up as a soundness failure, not as a
//! crash of the test.
//!
//! With a budget ([`Fuel`]), both runs are metered with the same plan
//! (`vm::fuel`, helper weights from [`weight`]): they must run out of fuel
//! together, with the same effects up to that point, or end with the same
//! fuel left.

use std::cell::RefCell;

use jit::host::CodeRegion;
use jit::{CallMode, JitOptions};
use verifier::{FieldKind, Imm64, MapKind as InfoKind, Profile, Program, Reg, RetKind, Verified};
use vm::memory::{READ, WRITE};
use vm::{Config, Helpers, Map, MapKind, Memory, Value, Violation, ViolationKind, Vm};

use crate::fuzz::Rng;

/// What a run leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effects {
    /// r0, or `None` when the run ran out of fuel.
    pub r0: Option<u64>,
    pub ctx: Vec<u8>,
    /// Each map: its number of elements and all its value bytes.
    pub maps: Vec<(usize, Vec<u8>)>,
    /// The fuel left at the end of a metered run that returned.
    pub fuel_left: Option<u64>,
}

/// A metered run's budget (`None`: unmetered).
pub type Fuel = Option<u64>;

/// The helper weights of metered runs: different for each helper id, so
/// that a mistaken weight shows.
pub fn weight(id: u32) -> u64 {
    1 + (id as u64 * 37) % 200
}

/// How to build one map of the inputs (each run gets fresh maps).
#[derive(Clone)]
enum MapInit {
    Array { value_size: u32, max_entries: u32, values: Vec<u8> },
    Hash { key_size: u32, value_size: u32, max_entries: u32, entries: Vec<(Vec<u8>, Vec<u8>)> },
    ReadOnly(Vec<u8>),
}

impl MapInit {
    fn build(&self) -> Map {
        match self {
            MapInit::Array { value_size, max_entries, values } => {
                let mut map = Map::new(MapKind::Array, 4, *value_size, *max_entries).expect("array map");
                map.values_mut().copy_from_slice(values);
                map
            }
            MapInit::Hash { key_size, value_size, max_entries, entries } => {
                let mut map = Map::new(MapKind::Hash, *key_size, *value_size, *max_entries).expect("hash map");
                for (k, v) in entries {
                    let _ = map.update(k, v, 0);
                }
                map
            }
            MapInit::ReadOnly(data) => Map::read_only_data(data).expect("read-only data"),
        }
    }
}

/// The inputs of one run.
pub struct Inputs {
    ctx: Vec<u8>,
    perms: Vec<u8>,
    maps: Vec<MapInit>,
    /// Seed of the helpers' random results.
    helper_seed: u64,
}

impl Inputs {
    /// Random inputs for `profile` (the fuzz profile's shapes).
    pub fn new(profile: &Profile, rng: &mut Rng) -> Inputs {
        let size = profile.ctx.size as usize;
        let mut ctx: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        let mut perms = vec![0u8; size];
        for f in &profile.ctx.fields {
            let range = f.offset as usize..(f.end() as usize).min(size);
            let p = if f.read { READ } else { 0 } | if f.write { WRITE } else { 0 };
            perms[range.clone()].iter_mut().for_each(|b| *b = p);
            if let FieldKind::Length { capacity, .. } = f.kind {
                // The kernel's promise: a length is within its buffer.
                let v = rng.below(capacity as u64 + 1).to_le_bytes();
                let n = range.len().min(8);
                ctx[range.start..range.start + n].copy_from_slice(&v[..n]);
            } else if rng.chance(30) {
                // Small values reach the interesting branches more often.
                let v = rng.below(40).to_le_bytes();
                let n = range.len().min(8);
                ctx[range.start..range.start + n].copy_from_slice(&v[..n]);
            }
        }
        let maps = profile
            .maps
            .iter()
            .map(|m| match m.kind {
                // Runs stand for CPU 0 on both sides: a per-CPU array is
                // then an array of CPU 0's values.
                InfoKind::Array | InfoKind::PerCpuArray => {
                    let values = (0..m.value_size * m.max_entries).map(|_| rng.next() as u8).collect();
                    MapInit::Array { value_size: m.value_size, max_entries: m.max_entries, values }
                }
                InfoKind::Hash => {
                    let entries = (0..rng.below(m.max_entries as u64 + 1) as u32)
                        .map(|k| {
                            let key = k.to_le_bytes()[..m.key_size.min(4) as usize].to_vec();
                            (key, (0..m.value_size).map(|_| rng.next() as u8).collect())
                        })
                        .collect();
                    MapInit::Hash { key_size: m.key_size, value_size: m.value_size, max_entries: m.max_entries, entries }
                }
                InfoKind::ReadOnly => MapInit::ReadOnly((0..m.value_size).map(|_| rng.next() as u8).collect()),
            })
            .collect();
        Inputs { ctx, perms, maps, helper_seed: rng.next() }
    }
}

fn effects_of(r0: Option<u64>, ctx: &[u8], maps: &[Map], fuel_left: Option<u64>) -> Effects {
    Effects { r0, ctx: ctx.to_vec(), maps: maps.iter().map(|m| (m.len(), m.values().to_vec())).collect(), fuel_left }
}

// ---- the helpers, by name -----------------------------------------------------------

/// The helpers both runs implement, named as in the fuzz profile.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Helper {
    Lookup,
    Update,
    Delete,
    Emit,
    Fill,
    Random,
    Inb,
    /// A fresh writable buffer of this many random bytes, or NULL.
    Alloc(u32),
}

fn helper_of(profile: &Profile, id: u32) -> Option<Helper> {
    let sig = profile.helper(id)?;
    if let RetKind::MemOrNull { size, .. } = sig.ret {
        return (sig.name == "alloc").then_some(Helper::Alloc(size));
    }
    helper_named(&sig.name)
}

fn helper_named(name: &str) -> Option<Helper> {
    Some(match name {
        "map_lookup" => Helper::Lookup,
        "map_update" => Helper::Update,
        "map_delete" => Helper::Delete,
        "emit" => Helper::Emit,
        "fill" => Helper::Fill,
        "random_u32" => Helper::Random,
        "inb" => Helper::Inb,
        _ => return None,
    })
}

/// A helper the program calls that this module does not implement (the
/// fuzz profile may grow faster than this file).
pub fn unmodelled_helper(program: &Program, profile: &Profile) -> Option<u32> {
    program.insns().iter().find_map(|insn| match insn {
        verifier::Insn::Call { helper } if helper_of(profile, *helper).is_none() => Some(*helper),
        _ => None,
    })
}

/// The interpreter's environment.
struct VmEnv<'p> {
    profile: &'p Profile,
    rng: Rng,
}

impl Helpers for VmEnv<'_> {
    fn call(&mut self, id: u32, a: [Value; 5], mem: &mut Memory) -> Result<Value, ViolationKind> {
        match helper_of(self.profile, id) {
            Some(Helper::Lookup) => vm::helpers::map_lookup(mem, a[0], a[1]),
            Some(Helper::Update) => vm::helpers::map_update(mem, a[0], a[1], a[2], a[3]),
            Some(Helper::Delete) => vm::helpers::map_delete(mem, a[0], a[1]),
            Some(Helper::Emit) => {
                let mut buf = vec![0u8; a[1].bits.min(1 << 20) as usize];
                mem.read(a[0].bits, &mut buf)?;
                Ok(Value::scalar(buf.len() as u64))
            }
            Some(Helper::Fill) => {
                let data: Vec<u8> = (0..a[1].bits.min(1 << 20)).map(|_| self.rng.next() as u8).collect();
                mem.write(a[0].bits, &data)?;
                Ok(Value::scalar(0))
            }
            Some(Helper::Random) => Ok(Value::scalar(self.rng.next() & 0xffff_ffff)),
            Some(Helper::Inb) => Ok(Value::scalar(self.rng.next() & 0xff)),
            Some(Helper::Alloc(size)) => {
                if self.rng.chance(20) {
                    return Ok(Value::scalar(0));
                }
                let bytes = (0..size).map(|_| self.rng.next() as u8).collect();
                Ok(Value::pointer(mem.add_buffer(bytes, true)?))
            }
            None => Err(vm::helpers::unknown_helper(id)),
        }
    }
}

/// Runs `program` in the checking interpreter, metered with `fuel`.
pub fn run_vm(program: &Program, profile: &Profile, inputs: &Inputs, fuel: Fuel) -> Result<Effects, Violation> {
    let mut machine = Vm::new(program, Config::checking());
    if let Some(budget) = fuel {
        machine.meter(vm::fuel::Plan::new(program.insns(), &weight), budget);
    }
    let mem = machine.memory_mut();
    let ctx = mem.add_context(inputs.ctx.clone(), &inputs.perms).map_err(|k| Violation::new(k, 0))?;
    for m in &inputs.maps {
        mem.add_map(m.build()).map_err(|k| Violation::new(k, 0))?;
    }
    machine.set_reg(Reg::R1, Value::pointer(ctx));
    let mut env = VmEnv { profile, rng: Rng::new(inputs.helper_seed) };
    let r0 = match machine.run(&mut env) {
        Ok(out) => Some(out.r0),
        Err(v) if v.kind == ViolationKind::OutOfFuel => None,
        Err(v) => return Err(v),
    };
    let fuel_left = machine.fuel_left().filter(|_| r0.is_some());
    let mem = machine.memory();
    let ctx_bytes = mem.region_bytes(ctx).unwrap_or_default();
    Ok(effects_of(r0, ctx_bytes, mem.maps(), fuel_left))
}

// ---- the JIT's environment: real memory ------------------------------------------------

/// Map handles given to the program (never dereferenced: only helpers
/// take them, and they decode the index).
const HANDLE_BASE: u64 = 0x7ead_0000_0000_0000;

struct JitEnv {
    maps: Vec<Map>,
    rng: Rng,
    /// Buffers handed out by `alloc` during the run.
    buffers: Vec<Box<[u8]>>,
    /// The size `alloc` hands out.
    alloc_size: u32,
}

thread_local! {
    static ENV: RefCell<Option<JitEnv>> = const { RefCell::new(None) };
}

fn with_env<T>(f: impl FnOnce(&mut JitEnv) -> T) -> T {
    ENV.with(|e| f(e.borrow_mut().as_mut().expect("a JIT run is in progress")))
}

/// Reads `len` bytes at a pointer the verifier checked.
fn bytes_at(ptr: u64, len: usize) -> Vec<u8> {
    // SAFETY: the helper signature (a key, a value or a readable buffer of
    // `len` bytes) was checked by the verifier, and the interpreter ran the
    // same program on the same inputs without a violation.
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }.to_vec()
}

extern "C" fn jit_lookup(handle: u64, key: u64) -> u64 {
    with_env(|env| {
        let Some(map) = env.maps.get_mut(handle.wrapping_sub(HANDLE_BASE) as usize) else { return 0 };
        let key = bytes_at(key, map.key_size() as usize);
        match map.lookup(&key) {
            Some(slot) => map.value_mut(slot).as_mut_ptr() as u64,
            None => 0,
        }
    })
}

extern "C" fn jit_update(handle: u64, key: u64, value: u64, flags: u64) -> u64 {
    with_env(|env| {
        let Some(map) = env.maps.get_mut(handle.wrapping_sub(HANDLE_BASE) as usize) else { return -22i64 as u64 };
        let (key, value) = (bytes_at(key, map.key_size() as usize), bytes_at(value, map.value_size() as usize));
        map.update(&key, &value, flags).map_or_else(|e| e.errno() as u64, |_| 0)
    })
}

extern "C" fn jit_delete(handle: u64, key: u64) -> u64 {
    with_env(|env| {
        let Some(map) = env.maps.get_mut(handle.wrapping_sub(HANDLE_BASE) as usize) else { return -22i64 as u64 };
        let key = bytes_at(key, map.key_size() as usize);
        map.delete(&key).map_or_else(|e| e.errno() as u64, |_| 0)
    })
}

extern "C" fn jit_emit(ptr: u64, len: u64) -> u64 {
    bytes_at(ptr, len.min(1 << 20) as usize).len() as u64
}

extern "C" fn jit_fill(ptr: u64, len: u64) -> u64 {
    with_env(|env| {
        let data: Vec<u8> = (0..len.min(1 << 20)).map(|_| env.rng.next() as u8).collect();
        // SAFETY: a writable buffer of `len` bytes, checked as in `bytes_at`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr as *mut u8, data.len()) };
        0
    })
}

extern "C" fn jit_random() -> u64 {
    with_env(|env| env.rng.next() & 0xffff_ffff)
}

extern "C" fn jit_inb(_port: u64) -> u64 {
    with_env(|env| env.rng.next() & 0xff)
}

extern "C" fn jit_alloc() -> u64 {
    with_env(|env| {
        if env.rng.chance(20) {
            return 0;
        }
        let mut buffer: Box<[u8]> = (0..env.alloc_size).map(|_| env.rng.next() as u8).collect();
        let address = buffer.as_mut_ptr() as u64;
        env.buffers.push(buffer);
        address
    })
}

fn jit_helper_address(profile: &Profile, id: u32) -> Option<u64> {
    Some(match helper_of(profile, id)? {
        Helper::Lookup => jit_lookup as *const () as u64,
        Helper::Update => jit_update as *const () as u64,
        Helper::Delete => jit_delete as *const () as u64,
        Helper::Emit => jit_emit as *const () as u64,
        Helper::Fill => jit_fill as *const () as u64,
        Helper::Random => jit_random as *const () as u64,
        Helper::Inb => jit_inb as *const () as u64,
        Helper::Alloc(_) => jit_alloc as *const () as u64,
    })
}

/// Compiles `verified` and runs it natively on a copy of `inputs`, metered
/// with `fuel`.
pub fn run_jit(verified: &Verified, profile: &Profile, inputs: &Inputs, blinding: Option<u64>, fuel: Fuel) -> Result<Effects, String> {
    let mut ctx = inputs.ctx.clone();
    let alloc_size = (0..64).find_map(|id| match helper_of(profile, id) {
        Some(Helper::Alloc(size)) => Some(size),
        _ => None,
    });
    let env = JitEnv {
        maps: inputs.maps.iter().map(MapInit::build).collect(),
        rng: Rng::new(inputs.helper_seed),
        buffers: Vec::new(),
        alloc_size: alloc_size.unwrap_or(0),
    };
    ENV.with(|e| *e.borrow_mut() = Some(env));
    // Map values and read-only data live in the thread's maps, which do not
    // move until the run ends.
    let value_base: Vec<u64> = with_env(|env| env.maps.iter_mut().map(|m| m.values_mut().as_mut_ptr() as u64).collect());
    let resolve = |imm: &Imm64| -> Option<u64> {
        match *imm {
            Imm64::MapRef(i) | Imm64::MapByIdx(i) => Some(HANDLE_BASE + i as u64),
            Imm64::MapValue { map, offset } | Imm64::MapValueByIdx { map, offset } => {
                value_base.get(map as usize).map(|b| b + offset as u64)
            }
            _ => None,
        }
    };
    let helpers = |id: u32| jit_helper_address(profile, id);
    let near = jit_lookup as *const () as u64;
    let program = verified.program();
    let bound = jit::code_size_bound(program.len(), verified.functions().len());
    let region = CodeRegion::map_near(bound, near).map_err(|e| format!("error: mmap: {e}"))?;
    let mut opts = JitOptions::new(region.address());
    opts.helper_address = &helpers;
    opts.resolve_imm64 = &resolve;
    opts.blinding = blinding;
    let metered = jit::host::fuel(&weight);
    let reach = region.within_rel32(near) && (fuel.is_none() || region.within_rel32(jit::host::fuel_counter()));
    opts.call_mode = if reach { CallMode::Near } else { CallMode::HostFar };
    opts.fuel = fuel.map(|_| metered);
    let out = jit::compile(verified, &opts).map_err(|e| e.to_string())?;
    let code = region.seal(out.code()).map_err(|e| format!("error: mprotect: {e}"))?;
    // SAFETY: verified for this context layout; the helpers honour their
    // signatures; and the interpreter ran the program on these inputs
    // without a violation before (see the module comment). Metered code
    // was compiled with the options of `jit::host::fuel`.
    let (r0, fuel_left) = match fuel {
        None => (Some(unsafe { code.call(out.entries()[0], ctx.as_mut_ptr()) }), None),
        Some(budget) => match unsafe { code.call_metered(out.entries()[0], ctx.as_mut_ptr() as u64, 0, budget) } {
            Ok((r0, left)) => (Some(r0), Some(left)),
            Err(jit::host::OutOfFuel) => (None, None),
        },
    };
    let env = ENV.with(|e| e.borrow_mut().take()).expect("the run's environment");
    Ok(effects_of(r0, &ctx, &env.maps, fuel_left))
}
