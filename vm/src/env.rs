//! A checking environment made from a verifier [`Profile`]: what the
//! soundness fuzzing runs accepted programs in.
//!
//! [`ProfileEnv::install`] gives the interpreter the context the profile
//! describes (each field's bytes readable and/or writable as declared, other
//! bytes not at all) in r1, and the profile's maps in order (`map[N]` is the
//! profile's map N; read-only data is zero-filled). As [`Helpers`], it
//! answers every helper the profile declares by its signature: each argument
//! is checked the way the signature says the verifier guarantees (memory to
//! read is readable, initialised and holds no pointer; memory to write is
//! writable; keys and values have the map's sizes; ports are declared),
//! memory to write is filled with pseudo-random bytes, and the result is a
//! pseudo-random value of the declared kind. A helper that writes memory
//! and returns a scalar fails one call in four, as the kernel's do
//! ([`fail_write`]: its buffers zeroed, `-EFAULT`). The three map helper shapes
//! (lookup `(map, key) -> value or NULL`, update `(map, key, value, flags)`,
//! delete `(map, key) -> scalar`) have real eBPF map semantics; a per-CPU
//! array has values for [`PROFILE_CPUS`] CPUs, and the run stands for one
//! of them, chosen by the seed.

use alloc::vec;
use alloc::vec::Vec;

use verifier::Reg;
use verifier::profile::{ArgKind, FieldKind, MapKind as ProfileMapKind, Profile, RetKind};

use crate::helpers::{
    Helpers, Value, fail_write, map_delete, map_lookup, map_update, unknown_helper,
};
use crate::interp::Vm;
use crate::map::{Map, MapKind};
use crate::memory::{Memory, READ, WRITE};
use crate::violation::ViolationKind;

/// CPUs a per-CPU array map of a profile has values for.
pub const PROFILE_CPUS: usize = 2;

/// Helper answers and run set-up for one profile.
pub struct ProfileEnv {
    profile: Profile,
    rng: u64,
    /// Memory returned by `MemOrNull` helpers, one buffer per helper id.
    buffers: Vec<(u32, u64)>,
}

fn bad(reason: alloc::string::String) -> ViolationKind {
    ViolationKind::Helper { id: 0, reason }
}

/// xorshift64: the pseudo-random numbers of helper results.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A pseudo-random value in `min ..= max` (`min` if the range is empty).
fn in_range(state: &mut u64, min: u64, max: u64) -> u64 {
    match max.checked_sub(min).map(|d| d.checked_add(1)) {
        None => min,
        Some(Some(span)) => min + next(state) % span,
        Some(None) => next(state),
    }
}

impl ProfileEnv {
    /// Sets up `vm` for a run under `profile` with context bytes `ctx`
    /// (padded with zeros or cut to the layout's size); `seed` drives
    /// helper results.
    pub fn install(
        vm: &mut Vm,
        profile: &Profile,
        mut ctx: Vec<u8>,
        seed: u64,
    ) -> Result<ProfileEnv, ViolationKind> {
        let size = profile.ctx.size as usize;
        ctx.resize(size, 0);
        let mut perms = vec![0u8; size];
        for f in &profile.ctx.fields {
            let (start, end) = (f.offset as usize, (f.end() as usize).min(size));
            for p in perms.iter_mut().take(end).skip(start) {
                *p |= if f.read { READ } else { 0 } | if f.write { WRITE } else { 0 };
            }
        }
        let mem = vm.memory_mut();
        let base = mem.add_context(ctx, &perms)?;
        for info in &profile.maps {
            let map = match info.kind {
                ProfileMapKind::Array => {
                    Map::new(MapKind::Array, 4, info.value_size, info.max_entries)
                }
                ProfileMapKind::PerCpuArray => Map::with_cpus(
                    MapKind::PerCpuArray,
                    4,
                    info.value_size,
                    info.max_entries,
                    PROFILE_CPUS,
                ),
                ProfileMapKind::Hash => Map::new(
                    MapKind::Hash,
                    info.key_size,
                    info.value_size,
                    info.max_entries,
                ),
                ProfileMapKind::ReadOnly => Map::read_only_data(&vec![0; info.value_size as usize]),
            };
            mem.add_map(
                map.map_err(|_| ViolationKind::Unsupported("a map of the profile cannot be made"))?,
            )?;
        }
        mem.set_cpu((seed % PROFILE_CPUS as u64) as usize);
        vm.set_reg(Reg::R1, Value::pointer(base));
        Ok(ProfileEnv {
            profile: profile.clone(),
            rng: seed | 1,
            buffers: Vec::new(),
        })
    }

    /// Context bytes for `profile` with pseudo-random contents, except that
    /// each length field holds a value within its buffer's capacity and each
    /// bounded field a value within its bounds, as the kernel guarantees.
    pub fn random_context(profile: &Profile, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        let mut ctx: Vec<u8> = (0..profile.ctx.size)
            .map(|_| next(&mut state) as u8)
            .collect();
        for f in &profile.ctx.fields {
            let value = match f.kind {
                FieldKind::Length { capacity, .. } => in_range(&mut state, 0, capacity as u64),
                FieldKind::Bounded { min, max } => in_range(&mut state, min, max),
                FieldKind::Value | FieldKind::Buffer => continue,
            };
            let (start, n) = (f.offset as usize, (f.size as usize).min(8));
            if let Some(bytes) = ctx.get_mut(start..start + n) {
                bytes.copy_from_slice(&value.to_le_bytes()[..n]);
            }
        }
        ctx
    }

    /// Checks each argument against its kind.
    fn check_args(
        &mut self,
        args: &[ArgKind],
        values: [Value; 5],
        mem: &mut Memory,
    ) -> Result<(), ViolationKind> {
        let mut map: Option<usize> = None;
        for (i, kind) in args.iter().enumerate().take(5) {
            let v = values[i];
            let len = values.get(i + 1).map_or(0, |l| l.bits);
            let len = usize::try_from(len).map_err(|_| ViolationKind::OutOfRegion)?;
            let map_sizes = |map: Option<usize>| {
                let m = map.and_then(|m| mem.map(m)).ok_or_else(|| {
                    bad(alloc::format!("argument {} needs a map before it", i + 1))
                })?;
                Ok::<_, ViolationKind>((m.key_size() as usize, m.value_size() as usize))
            };
            match *kind {
                ArgKind::MapRef => {
                    let m = mem.map_of_handle(v.bits);
                    map =
                        Some(m.ok_or_else(|| {
                            bad(alloc::format!("argument {} is not a map", i + 1))
                        })?);
                }
                ArgKind::MapKey => mem.check_helper_read(v.bits, map_sizes(map)?.0)?,
                ArgKind::MapValue => mem.check_helper_read(v.bits, map_sizes(map)?.1)?,
                ArgKind::MemRead => mem.check_helper_read(v.bits, len)?,
                ArgKind::MemWrite => {
                    mem.check_helper_write(v.bits, len)?;
                    let bytes: Vec<u8> = (0..len).map(|_| next(&mut self.rng) as u8).collect();
                    mem.write(v.bits, &bytes)?;
                }
                ArgKind::Len { allow_zero: false } | ArgKind::ConstLen if v.bits == 0 => {
                    return Err(bad(alloc::format!("argument {} is a zero length", i + 1)));
                }
                ArgKind::Port { width } if !self.profile.port_allowed(v.bits, width as u32) => {
                    return Err(bad(alloc::format!("port {:#x} is not declared", v.bits)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A pseudo-random result of kind `ret`.
    fn result(
        &mut self,
        id: u32,
        ret: RetKind,
        args: [Value; 5],
        mem: &mut Memory,
    ) -> Result<Value, ViolationKind> {
        let r = next(&mut self.rng);
        Ok(match ret {
            RetKind::Void => Value::scalar(0),
            RetKind::Scalar => Value::scalar(r),
            RetKind::Bounded { min, max } => Value::scalar(in_range(&mut self.rng, min, max)),
            RetKind::MapValueOrNull => {
                let map = mem
                    .map_of_handle(args[0].bits)
                    .and_then(|m| Some((m, mem.map(m)?.max_entries())));
                match map {
                    Some((m, n)) if r & 1 == 1 => {
                        Value::pointer(mem.map_value_addr(m, (r >> 1) as u32 % n).unwrap_or(0))
                    }
                    _ => Value::scalar(0),
                }
            }
            RetKind::MemOrNull { size, writable } => {
                if r % 4 == 0 {
                    return Ok(Value::scalar(0));
                }
                let found = self
                    .buffers
                    .iter()
                    .find(|&&(h, _)| h == id)
                    .map(|&(_, a)| a);
                let addr = match found {
                    Some(a) => a,
                    None => {
                        let bytes: Vec<u8> = (0..size).map(|_| next(&mut self.rng) as u8).collect();
                        let a = mem.add_buffer(bytes, writable)?;
                        self.buffers.push((id, a));
                        a
                    }
                };
                Value::pointer(addr)
            }
        })
    }
}

impl Helpers for ProfileEnv {
    fn arity(&self, id: u32) -> Option<usize> {
        self.profile.helper(id).map(|sig| sig.args.len())
    }

    fn returns_value(&self, id: u32) -> bool {
        self.profile
            .helper(id)
            .is_none_or(|sig| sig.ret != RetKind::Void)
    }

    fn call(
        &mut self,
        id: u32,
        args: [Value; 5],
        mem: &mut Memory,
    ) -> Result<Value, ViolationKind> {
        let sig = self
            .profile
            .helper(id)
            .cloned()
            .ok_or_else(|| unknown_helper(id))?;
        self.check_args(&sig.args, args, mem)?;
        let writes = sig.args.iter().position(|a| *a == ArgKind::MemWrite);
        if let Some(i) = writes.filter(|_| sig.ret == RetKind::Scalar)
            && next(&mut self.rng).is_multiple_of(4)
        {
            let len = args.get(i + 1).map_or(0, |l| l.bits as usize);
            return fail_write(mem, args[i].bits, len);
        }
        use ArgKind::{MapKey, MapRef, MapValue};
        match (sig.args.as_slice(), sig.ret) {
            ([MapRef, MapKey], RetKind::MapValueOrNull) => map_lookup(mem, args[0], args[1]),
            ([MapRef, MapKey, MapValue, _], RetKind::Scalar) => {
                map_update(mem, args[0], args[1], args[2], args[3])
            }
            ([MapRef, MapKey], RetKind::Scalar) => map_delete(mem, args[0], args[1]),
            (_, ret) => self.result(id, ret, args, mem),
        }
    }
}
