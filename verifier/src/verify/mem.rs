//! Memory: loads, stores and atomics, and the bounds and permission checks
//! shared with helper arguments.
//!
//! Each region has its own rules:
//! * context: the accessed bytes lie within one field that has the needed
//!   permission; variable offsets only inside a buffer field;
//! * stack: constant offsets within the frame; reads only of written bytes;
//!   an 8-byte aligned store of a register *spills* it (keeping its type
//!   and bounds) and an 8-byte aligned load *fills* it back; pointers are
//!   only spilled whole, and a spilled pointer is never read in part;
//! * map values, read-only data and helper memory: the whole access within
//!   the value (constant or bounded variable offset); stores only where
//!   writable; never a pointer stored.

use alloc::format;

use super::explore::Checker;
use super::precision::{Note, SLOTS, StackAccess};
use crate::domain::Scalar;
use crate::insn::{AtomicOp, Reg, Size, Src, Width};
use crate::profile::FieldKind;
use crate::report::{ErrorKind, Report};
use crate::state::{byte_index, slot_index, Byte, Frame, Ptr, Region, Slot, State, Value};

/// Whether memory is read or written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Access {
    Read,
    Write,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

impl Checker<'_> {
    /// The pointer in `r`, which must be a non-NULL pointer.
    pub(super) fn pointer(&self, pc: usize, st: &State, r: Reg) -> Result<Ptr, Report> {
        match self.read(pc, st, r)? {
            Value::Ptr(p) if !p.maybe_null => Ok(p),
            Value::Ptr(_) => Err(self
                .fail(ErrorKind::NullPointer, pc, st, &[r], format!("{r} may be NULL here"))
                .hint(format!("compare {r} with 0 (e.g. `if {r} == 0 goto out`) before using it"))),
            Value::MapRef(_) => Err(self
                .fail(ErrorKind::NotAPointer, pc, st, &[r], format!("{r} is a map reference, which cannot be dereferenced"))
                .hint("pass the map reference to map_lookup to get a pointer to a value")),
            _ => Err(self.fail(
                ErrorKind::NotAPointer,
                pc,
                st,
                &[r],
                format!("{r} holds a number, not a pointer; memory is reached only through pointers the verifier knows"),
            )),
        }
    }

    /// Checks that bytes `p + off .. p + off + size` may be accessed (for
    /// every possible offset of `p`), and returns the offset range.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_access(
        &mut self,
        pc: usize,
        st: &State,
        r: Reg,
        p: &Ptr,
        off: i64,
        size: u64,
        acc: Access,
    ) -> Result<Scalar, Report> {
        let at = p.off.alu(Width::W64, crate::insn::AluOp::Add, &Scalar::constant(off as u64));
        let (lo, hi) = (at.b.smin, at.b.smax);
        let fail = |kind, reason: alloc::string::String| self.fail(kind, pc, st, &[r], reason);
        match p.region {
            Region::Ctx => {
                let ctx = &self.profile.ctx;
                let Some((_, field)) = (lo >= 0).then(|| ctx.field_at(lo as u64)).flatten() else {
                    return Err(fail(
                        ErrorKind::ContextAccess,
                        format!("no field of the context at offset {lo} ({} bytes in all)", ctx.size),
                    )
                    .hint("access the context only through the fields of the entry point's context structure"));
                };
                if lo != hi && field.kind != FieldKind::Buffer {
                    return Err(fail(
                        ErrorKind::VariableOffset,
                        format!("variable offset [{lo}, {hi}] into context field `{}`", field.name),
                    )
                    .hint("only buffer fields may be indexed with a variable"));
                }
                if hi as u64 + size > field.end() {
                    let what = if lo == hi {
                        format!("{size} bytes at offset {lo}")
                    } else {
                        format!("{size} bytes at offsets [{lo}, {hi}]")
                    };
                    return Err(fail(
                        if lo == hi { ErrorKind::ContextAccess } else { ErrorKind::OutOfBounds },
                        format!("{what} leave context field `{}` (offset {}, {} bytes)", field.name, field.offset, field.size),
                    )
                    .hint("bound the index by the buffer's capacity before the access"));
                }
                let allowed = match acc {
                    Access::Read => field.read,
                    Access::Write => field.write,
                };
                if !allowed {
                    return Err(fail(
                        ErrorKind::ContextAccess,
                        format!("context field `{}` may not be {}", field.name, if acc == Access::Read { "read" } else { "written" }),
                    ));
                }
            }
            Region::Stack { frame } => {
                let max = self.profile.limits.max_stack as i64;
                if lo < -max || hi.saturating_add(size as i64) > 0 {
                    let what = if lo == hi { format!("fp{lo:+}") } else { format!("fp{lo:+} to fp{hi:+} (a variable offset)") };
                    return Err(fail(
                        ErrorKind::OutOfBounds,
                        format!("{} of {size} bytes at {what} is outside the stack frame (fp-{max} to fp)", acc.verb()),
                    )
                    .hint("bound the index so that every byte it can reach lies in the frame"));
                }
                self.touch_stack(st, frame, lo);
            }
            Region::MapValue { map } => {
                let m = self.profile.map(map).copied().unwrap_or(crate::profile::MapInfo::read_only(0));
                check_range(lo, hi, size, m.value_size as u64)
                    .map_err(|why| fail(ErrorKind::OutOfBounds, format!("{why} of a map value of {} bytes", m.value_size))
                        .hint("check the index against the value size before the access"))?;
                if acc == Access::Write && !m.writable() {
                    return Err(fail(ErrorKind::ReadOnly, "read-only data cannot be written".into()));
                }
            }
            Region::Mem { size: len, writable } => {
                check_range(lo, hi, size, len as u64)
                    .map_err(|why| fail(ErrorKind::OutOfBounds, format!("{why} of helper memory of {len} bytes")))?;
                if acc == Access::Write && !writable {
                    return Err(fail(ErrorKind::ReadOnly, "this helper memory is read-only".into()));
                }
            }
        }
        Ok(at)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn load(&mut self, pc: usize, st: &mut State, size: Size, signed: bool, dst: Reg, src: Reg, off: i16) -> Result<(), Report> {
        let p = self.pointer(pc, st, src)?;
        let n = size.bytes();
        let at = self.check_access(pc, st, src, &p, off as i64, n as u64, Access::Read)?;
        let bits = n * 8;
        let unknown = if signed { Scalar::unknown_signed_bits(bits) } else { Scalar::unknown_bits(bits) };
        let v = match p.region {
            Region::Ctx => {
                let o = at.b.smin as u64;
                match self.profile.ctx.field_at(o) {
                    Some((_, f)) if f.offset as u64 == o && f.size == n => match f.kind {
                        FieldKind::Length { capacity, .. } => Value::Scalar(extend(Scalar::range(0, capacity as u64), bits, signed)),
                        FieldKind::Bounded { min, max } => Value::Scalar(extend(Scalar::range(min, max), bits, signed)),
                        _ => Value::Scalar(unknown),
                    },
                    _ => Value::Scalar(unknown),
                }
            }
            Region::Stack { frame } => {
                self.note_stack(frame, at.b.smin, at.b.smax, n);
                let v = self.stack_read(pc, st, src, frame, &at, n, signed)?;
                // A fill is a copy of the spilled number: it shares its link.
                let fill = at.b.smin == at.b.smax && whole_slot(st, frame, at.b.smin, n);
                let link = st.cur().slot(at.b.smin).filter(|_| fill).map_or(0, |s| s.link);
                self.write(pc, st, dst, v)?;
                st.set_linked(dst, v, link);
                return Ok(());
            }
            _ => Value::Scalar(unknown),
        };
        self.write(pc, st, dst, v)
    }

    /// Reads `n` stack bytes of `frame` at `fp + o`, for every `o` the
    /// offset `at` allows: every byte it may reach must be written, never
    /// part of a spilled pointer. A whole aligned slot gives its spilled
    /// register back; bytes all known (zeros, bytes of spilled constants)
    /// give their constant, at a variable offset only when all are zero.
    #[allow(clippy::too_many_arguments)]
    fn stack_read(&self, pc: usize, st: &State, r: Reg, frame: u8, at: &Scalar, n: u32, signed: bool) -> Result<Value, Report> {
        let f = &st.frames[frame as usize];
        let (lo, hi) = (at.b.smin, at.b.smax);
        if lo == hi
            && n == 8
            && lo % 8 == 0
            && let Some(slot) = f.slot(lo).filter(|s| s.is_spill())
        {
            return Ok(slot.spill);
        }
        let reach = |b: i64| if lo == hi { format!("stack byte fp{b}") } else { format!("stack byte fp{b}, which the variable offset fp{lo:+} to fp{hi:+} may reach") };
        // The bytes' value when every one is known, little-endian.
        let mut known = Some(0u64);
        for b in lo..hi + n as i64 {
            let slot = f.slot(b).unwrap_or(&Slot::INVALID);
            let byte = match (slot.bytes[byte_index(b)], slot.spill) {
                (Byte::Zero, _) => Some(0),
                (Byte::Spill, Value::Scalar(s)) => s.as_const().map(|c| (c >> (8 * byte_index(b))) & 0xff),
                _ => None,
            };
            known = match (known, byte) {
                (Some(k), Some(v)) if lo == hi => Some(k | v << (8 * (b - lo))),
                (Some(0), Some(0)) => Some(0),
                _ => None,
            };
            match slot.bytes[byte_index(b)] {
                Byte::Invalid => {
                    let hint = if lo == hi {
                        "write the stack slot on every path before reading it"
                    } else {
                        "write every byte the index can reach (e.g. zero the whole array) before reading it"
                    };
                    return Err(self.fail(ErrorKind::UninitStack, pc, st, &[r], format!("read of {} that was never written", reach(b))).hint(hint));
                }
                Byte::Spill if slot.holds_pointer() => {
                    let at = -8 * (slot_index(b) as i64 + 1);
                    return Err(self
                        .fail(ErrorKind::SpilledPointer, pc, st, &[r], format!("read of {}, part of a pointer spilled at fp{at}", reach(b)))
                        .hint("load spilled pointers back whole, with an 8-byte load at the same offset"));
                }
                _ => {}
            }
        }
        let bits = n * 8;
        Ok(Value::Scalar(if let Some(k) = known {
            let shift = 64 - bits;
            Scalar::constant(if signed { (((k << shift) as i64) >> shift) as u64 } else { k })
        } else if signed {
            Scalar::unknown_signed_bits(bits)
        } else {
            Scalar::unknown_bits(bits)
        }))
    }

    pub(super) fn store(&mut self, pc: usize, st: &mut State, size: Size, dst: Reg, off: i16, src: Src) -> Result<(), Report> {
        let p = self.pointer(pc, st, dst)?;
        let v = match src {
            Src::Imm(i) => Value::constant(i as i64 as u64),
            Src::Reg(r) => self.read(pc, st, r)?,
        };
        let n = size.bytes();
        let at = self.check_access(pc, st, dst, &p, off as i64, n as u64, Access::Write)?;
        let src_regs: &[Reg] = match &src {
            Src::Reg(r) => core::slice::from_ref(r),
            Src::Imm(_) => &[],
        };
        if v.is_pointer() {
            let Region::Stack { frame } = p.region else {
                return Err(self
                    .fail(
                        ErrorKind::PointerLeak,
                        pc,
                        st,
                        src_regs,
                        format!("storing a pointer into {} would let it leave the program", region_name(p.region)),
                    )
                    .hint("store offsets or indices (numbers), not pointers"));
            };
            if n != 8 || at.b.smin % 8 != 0 || at.b.smin != at.b.smax {
                return Err(self
                    .fail(
                        ErrorKind::SpilledPointer,
                        pc,
                        st,
                        src_regs,
                        "a pointer may only be stored whole (8 bytes) at a constant, 8-byte aligned stack offset".into(),
                    )
                    .hint("spill pointers with `*(u64 *)(r10 - 8*k) = rN`"));
            }
            self.note_stack(frame, at.b.smin, at.b.smax, n);
            self.stack_write(pc, st, frame, at.b.smin, n, v, 0)?;
            return Ok(());
        }
        if let Region::Stack { frame } = p.region {
            self.note_stack(frame, at.b.smin, at.b.smax, n);
            if at.b.smin == at.b.smax {
                // A whole spill of a number is a copy: it shares its link.
                let link = match src {
                    Src::Reg(r) if whole_slot(st, frame, at.b.smin, n) => st.link_of(r, || self.fresh_id()),
                    _ => 0,
                };
                self.stack_write(pc, st, frame, at.b.smin, n, v, link)?;
            } else {
                self.stack_write_var(pc, st, frame, &at, n, v)?;
            }
        }
        Ok(())
    }

    /// Writes `n` bytes holding the number `v` at a variable offset `at` of
    /// `frame`. Only the bytes every offset writes become data; the others
    /// it may reach keep what they were as far as that stays true: a
    /// never-written byte stays unreadable, a known zero stays zero only if
    /// `v` is 0, a spill becomes bytes.
    fn stack_write_var(&self, pc: usize, st: &mut State, frame: u8, at: &Scalar, n: u32, v: Value) -> Result<(), Report> {
        let (lo, hi) = (at.b.smin, at.b.smax);
        let zero = matches!(v, Value::Scalar(s) if s.as_const() == Some(0));
        let written = if zero { Byte::Zero } else { Byte::Misc };
        let f = self.stack_reaching(pc, st, frame, lo)?;
        for b in lo..hi + n as i64 {
            let slot = &mut f.stack[slot_index(b)];
            break_spill(slot);
            let byte = &mut slot.bytes[byte_index(b)];
            let certain = b >= hi && b < lo + n as i64;
            if certain || (*byte == Byte::Zero && !zero) {
                *byte = written;
            }
        }
        Ok(())
    }

    /// Records, for precision tracking, that the instruction accesses `n`
    /// bytes at `fp + o` of `frame`, for some `o` in `lo..=hi`.
    #[inline]
    fn note_stack(&mut self, frame: u8, lo: i64, hi: i64, n: u32) {
        self.note = Some(Note::Stack(StackAccess {
            frame,
            lo: slot_index(hi + n as i64 - 1).min(SLOTS) as u8,
            hi: slot_index(lo).min(SLOTS) as u8,
            whole: lo == hi && n == 8 && lo % 8 == 0,
        }));
    }

    /// Refuses a variable offset `at` into the stack where `what` needs a
    /// constant one.
    pub(super) fn constant_stack_offset(&self, pc: usize, st: &State, r: Reg, at: &Scalar, what: &str) -> Result<(), Report> {
        if at.b.smin == at.b.smax {
            return Ok(());
        }
        Err(self
            .fail(ErrorKind::VariableOffset, pc, st, &[r], format!("{what} at a variable offset fp{:+} to fp{:+} of the stack", at.b.smin, at.b.smax))
            .hint(format!("use a constant offset from r10 for {what}")))
    }

    /// `frame` of `st`, its tracked stack grown (with never-written slots)
    /// to hold the byte at `fp + o` and every byte above it.
    pub(super) fn stack_reaching<'s>(&self, pc: usize, st: &'s mut State, frame: u8, o: i64) -> Result<&'s mut Frame, Report> {
        let f = &mut st.frames[frame as usize];
        let need = slot_index(o) + 1;
        if f.stack.len() < need {
            if f.stack.try_reserve(need - f.stack.len()).is_err() {
                return Err(Report::out_of_memory(pc));
            }
            f.stack.resize(need, Slot::INVALID);
        }
        Ok(f)
    }

    /// Writes `n` bytes holding `v` at `fp + o` of `frame`; a whole slot
    /// spilled keeps `link`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn stack_write(&self, pc: usize, st: &mut State, frame: u8, o: i64, n: u32, v: Value, link: u32) -> Result<(), Report> {
        let f = self.stack_reaching(pc, st, frame, o)?;
        if n == 8 && o % 8 == 0 {
            f.stack[slot_index(o)] = Slot::spilled(v, link);
            return Ok(());
        }
        let constant = match v {
            Value::Scalar(s) => s.as_const(),
            _ => None,
        };
        for b in o..o + n as i64 {
            let slot = &mut f.stack[slot_index(b)];
            break_spill(slot);
            slot.bytes[byte_index(b)] = data_byte(constant.map(|c| c >> (8 * (b - o))));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn atomic(
        &mut self,
        pc: usize,
        st: &mut State,
        size: Size,
        op: AtomicOp,
        fetch: bool,
        dst: Reg,
        src: Reg,
        off: i16,
    ) -> Result<(), Report> {
        let p = self.pointer(pc, st, dst)?;
        let v = self.read(pc, st, src)?;
        if v.is_pointer() {
            return Err(self.fail(
                ErrorKind::PointerLeak,
                pc,
                st,
                &[src],
                "an atomic operation with a pointer operand would let the address leave the program".into(),
            ));
        }
        if op == AtomicOp::CmpXchg {
            match self.read(pc, st, Reg::R0)? {
                Value::Scalar(_) => {}
                _ => {
                    return Err(self.fail(ErrorKind::PointerLeak, pc, st, &[Reg::R0], "cmpxchg compares r0, which holds a pointer".into()));
                }
            }
        }
        if p.region == Region::Ctx {
            return Err(self.fail(ErrorKind::ContextAccess, pc, st, &[dst], "atomic operations on the context are not allowed".into()));
        }
        let n = size.bytes();
        let at = self.check_access(pc, st, dst, &p, off as i64, n as u64, Access::Write)?;
        if let Region::Stack { frame } = p.region {
            self.constant_stack_offset(pc, st, dst, &at, "an atomic operation")?;
            self.note_stack(frame, at.b.smin, at.b.smin, n);
            // The old value must be readable data (not a spilled pointer);
            // afterwards it is unknown.
            if self.stack_read(pc, st, dst, frame, &at, n, false)?.is_pointer() {
                return Err(self
                    .fail(ErrorKind::SpilledPointer, pc, st, &[dst], "an atomic operation on a spilled pointer would corrupt it".into())
                    .hint("use atomic operations only on numbers"));
            }
            self.stack_write(pc, st, frame, at.b.smin, n, Value::Scalar(Scalar::UNKNOWN), 0)?;
            if n == 8 && at.b.smin % 8 == 0 {
                st.frames[frame as usize].stack[slot_index(at.b.smin)] = Slot::data([Byte::Misc; 8]);
            }
        }
        // A walk back over the operation marks the stack with its source
        // register: the register's precision mark no longer stands for it.
        st.cur_mut().precise &= !(1 << src.index());
        let old = Value::Scalar(Scalar::unknown_bits(n * 8));
        match op {
            AtomicOp::CmpXchg => st.set(Reg::R0, old),
            AtomicOp::Xchg => self.write(pc, st, src, old)?,
            _ if fetch => self.write(pc, st, src, old)?,
            _ => {}
        }
        Ok(())
    }
}

/// Whether `n` bytes at `fp + o` of `frame` are a whole aligned slot of the
/// running frame that links can name (copies are linked only within one
/// frame, and in the slots precision tracking names; `links.rs` assumes
/// no other, and must change with this).
fn whole_slot(st: &State, frame: u8, o: i64, n: u32) -> bool {
    n == 8 && o % 8 == 0 && frame as usize + 1 == st.frames.len() && slot_index(o) < 64
}

/// Turns a slot holding a whole spilled register into bytes: data if it
/// was a scalar (known zeros where it was a constant), unreadable if it was
/// a pointer (so no byte of an address can be read back).
pub(super) fn break_spill(slot: &mut Slot) {
    if slot.is_spill() {
        let bytes = match slot.spill {
            Value::Scalar(s) => core::array::from_fn(|i| data_byte(s.as_const().map(|c| c >> (8 * i)))),
            _ => [Byte::Invalid; 8],
        };
        *slot = Slot::data(bytes);
    }
}

/// A stack byte written with data: known zero when the low byte of
/// `value`, if known, is zero.
fn data_byte(value: Option<u64>) -> Byte {
    if value.is_some_and(|v| v & 0xff == 0) { Byte::Zero } else { Byte::Misc }
}

/// Checks offsets `lo ..= hi` with `size` bytes against a region of `len`.
fn check_range(lo: i64, hi: i64, size: u64, len: u64) -> Result<(), alloc::string::String> {
    if lo < 0 {
        return Err(format!("offset {lo} is before the start"));
    }
    if hi as u64 + size > len {
        return Err(if lo == hi {
            format!("{size} bytes at offset {hi} run past the end")
        } else {
            format!("{size} bytes at offsets up to {hi} run past the end")
        });
    }
    Ok(())
}

/// A loaded value of `bits` bits, sign-extended for a signed load.
fn extend(s: Scalar, bits: u32, signed: bool) -> Scalar {
    if signed { s.sign_extend(bits) } else { s }
}

pub(super) fn region_name(r: Region) -> &'static str {
    match r {
        Region::Ctx => "the context",
        Region::Stack { .. } => "the stack",
        Region::MapValue { .. } => "a map value",
        Region::Mem { .. } => "helper memory",
    }
}
