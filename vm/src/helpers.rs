//! Helper calls: the trait through which a program's environment answers
//! `call N`, the map helpers most environments share, and how a helper
//! that writes into a buffer fails ([`fail_write`]).

use alloc::format;
use alloc::string::String;
use alloc::vec;

use crate::memory::Memory;
use crate::violation::ViolationKind;

/// A register value: its bits, and whether it is (derived from) a pointer.
/// The interpreter tracks the second part to find pointer leaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Value {
    pub bits: u64,
    pub ptr: bool,
}

impl Value {
    /// A number.
    pub fn scalar(bits: u64) -> Value {
        Value { bits, ptr: false }
    }

    /// A pointer (an address [`Memory`] handed out).
    pub fn pointer(bits: u64) -> Value {
        Value { bits, ptr: true }
    }
}

/// The environment's helper functions.
pub trait Helpers {
    /// Runs helper `id` with arguments r1 to r5; returns r0. Memory the
    /// helper reads or writes goes through `mem`, which checks every access.
    fn call(&mut self, id: u32, args: [Value; 5], mem: &mut Memory)
    -> Result<Value, ViolationKind>;

    /// How many arguments helper `id` takes, if the environment knows: in
    /// checking mode, reading an unwritten one of them is a violation.
    fn arity(&self, _id: u32) -> Option<usize> {
        None
    }

    /// Whether helper `id` returns a value; if not, r0 counts as unwritten
    /// after the call in checking mode.
    fn returns_value(&self, _id: u32) -> bool {
        true
    }
}

/// An environment without helpers: every call is a violation.
pub struct NoHelpers;

impl Helpers for NoHelpers {
    fn call(&mut self, id: u32, _: [Value; 5], _: &mut Memory) -> Result<Value, ViolationKind> {
        Err(unknown_helper(id))
    }
}

/// The violation for a helper id the environment does not know.
pub fn unknown_helper(id: u32) -> ViolationKind {
    ViolationKind::Helper {
        id,
        reason: String::from("unknown helper"),
    }
}

/// A bad argument; the interpreter fills in the helper id.
fn bad(reason: String) -> ViolationKind {
    ViolationKind::Helper { id: 0, reason }
}

fn map_arg(mem: &Memory, v: Value) -> Result<usize, ViolationKind> {
    mem.map_of_handle(v.bits)
        .ok_or_else(|| bad(format!("argument {:#x} is not a map", v.bits)))
}

/// `map_lookup_elem(map, key)`: a pointer to the value (of a per-CPU
/// array, the value of the run's CPU, [`Memory::cpu`]), or 0.
pub fn map_lookup(mem: &mut Memory, map: Value, key: Value) -> Result<Value, ViolationKind> {
    let index = map_arg(mem, map)?;
    let mut k = vec![0u8; mem.maps()[index].key_size() as usize];
    mem.read(key.bits, &mut k)?;
    match mem.maps()[index].lookup_on(mem.cpu(), &k) {
        Some(slot) => Ok(Value::pointer(mem.map_value_addr(index, slot).unwrap_or(0))),
        None => Ok(Value::scalar(0)),
    }
}

/// `map_update_elem(map, key, value, flags)`: 0 or a negative errno (of a
/// per-CPU array, the run's CPU's value changes).
pub fn map_update(
    mem: &mut Memory,
    map: Value,
    key: Value,
    value: Value,
    flags: Value,
) -> Result<Value, ViolationKind> {
    let index = map_arg(mem, map)?;
    let m = &mem.maps()[index];
    let (mut k, mut v) = (
        vec![0u8; m.key_size() as usize],
        vec![0u8; m.value_size() as usize],
    );
    mem.read(key.bits, &mut k)?;
    mem.read(value.bits, &mut v)?;
    let cpu = mem.cpu();
    let m = mem
        .map_mut(index)
        .ok_or_else(|| bad(String::from("no such map")))?;
    Ok(Value::scalar(
        m.update_on(cpu, &k, &v, flags.bits)
            .map_or_else(|e| e.errno() as u64, |_| 0),
    ))
}

/// `map_delete_elem(map, key)`: 0 or a negative errno.
pub fn map_delete(mem: &mut Memory, map: Value, key: Value) -> Result<Value, ViolationKind> {
    let index = map_arg(mem, map)?;
    let mut k = vec![0u8; mem.maps()[index].key_size() as usize];
    mem.read(key.bits, &mut k)?;
    let m = mem
        .map_mut(index)
        .ok_or_else(|| bad(String::from("no such map")))?;
    Ok(Value::scalar(
        m.delete(&k).map_or_else(|e| e.errno() as u64, |_| 0),
    ))
}

/// Ends a failed call of a helper that writes `len` bytes at `addr`, as
/// the kernel's helpers fail: every byte of the buffer becomes zero
/// (initialised, no pointer) and the result is `-EFAULT`. The verifier
/// counts the buffer as written after the call whatever the result, so a
/// failure that left the old bytes would let a program read stack it never
/// wrote, or a spilled pointer as a number.
pub fn fail_write(mem: &mut Memory, addr: u64, len: usize) -> Result<Value, ViolationKind> {
    mem.write(addr, &vec![0; len])?;
    Ok(efault())
}

/// `-EFAULT`, the result of a helper call that failed on a bad address.
pub fn efault() -> Value {
    Value::scalar(abi::Errno::EFAULT.to_ret() as i64 as u64)
}
