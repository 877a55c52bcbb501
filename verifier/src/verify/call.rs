//! Calls and returns: helper calls checked against their signatures, local
//! (bpf-to-bpf) calls with a new frame, and `exit` from a function or from
//! the program.

use alloc::format;

use super::explore::{Checker, Flow};
use super::mem::{break_spill, Access};
use super::step::MAX_OFF;
use crate::domain::Scalar;
use crate::insn::Reg;
use crate::profile::{ArgKind, HelperSig, MapKind, RetKind};
use crate::report::{ErrorKind, Report};
use crate::state::{byte_index, slot_index, Byte, Frame, Ptr, Region, Slot, State, Value};

const ARG_REGS: [Reg; 5] = [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5];

impl Checker<'_> {
    /// A helper call: checks every argument, clobbers r1..r5, sets r0.
    pub(super) fn call_helper(&mut self, pc: usize, st: &mut State, id: u32) -> Result<(), Report> {
        let Some(sig) = self.profile.helper(id) else {
            return Err(Report::new(ErrorKind::UnknownHelper, pc, format!("helper {id} is not available to this entry point"))
                .hint("see the entry point's list of helpers in the documentation of its class"));
        };
        // A number passed as more than a plain number (a length, a port, a
        // constant) decides what the helper may do.
        for (i, kind) in sig.args.iter().enumerate().take(5) {
            let r = ARG_REGS[i];
            if !matches!(kind, ArgKind::Scalar | ArgKind::UserAddr) && matches!(st.reg(r), Value::Scalar(_)) {
                self.decide(r);
            }
        }
        let mut map = None;
        let mut i = 0;
        while i < sig.args.len().min(5) {
            let r = ARG_REGS[i];
            match sig.args[i] {
                ArgKind::Scalar | ArgKind::UserAddr => {
                    self.scalar_arg(pc, st, sig, i)?;
                }
                ArgKind::Const => {
                    let s = self.scalar_arg(pc, st, sig, i)?;
                    if s.as_const().is_none() {
                        return Err(self.arg_fail(pc, st, sig, i, "must be a known constant"));
                    }
                }
                ArgKind::Port { width } => {
                    let s = self.scalar_arg(pc, st, sig, i)?;
                    match s.as_const() {
                        Some(port) if self.profile.port_allowed(port, width as u32) => {}
                        Some(port) => {
                            return Err(self
                                .fail(ErrorKind::Port, pc, st, &[r], format!("port {port:#x} ({width} bytes) is not declared by the module"))
                                .hint("declare the ports the driver uses in its image"));
                        }
                        None => {
                            return Err(self
                                .fail(ErrorKind::Port, pc, st, &[r], format!("the port passed to {} in {r} is not a known constant", sig.name))
                                .hint("pass the port number as a constant"));
                        }
                    }
                }
                ArgKind::MapRef => match self.read(pc, st, r)? {
                    Value::MapRef(m) if self.profile.map(m).is_some_and(|m| m.kind != MapKind::ReadOnly) => map = Some(m),
                    _ => {
                        return Err(self.arg_fail(pc, st, sig, i, "must be a map reference (`r = map[N] ll`) to an array or hash map"));
                    }
                },
                ArgKind::MapKey | ArgKind::MapValue => {
                    let Some(m) = map.and_then(|m| self.profile.map(m)).copied() else {
                        return Err(self.arg_fail(pc, st, sig, i, "follows no map argument (the helper's signature is malformed)"));
                    };
                    let len = if sig.args[i] == ArgKind::MapKey { m.key_size } else { m.value_size };
                    self.mem_arg(pc, st, sig, i, Scalar::constant(len as u64), Access::Read)?;
                }
                ArgKind::MemRead | ArgKind::MemWrite => {
                    let len = self.len_arg(pc, st, sig, i + 1)?;
                    let acc = if sig.args[i] == ArgKind::MemRead { Access::Read } else { Access::Write };
                    self.mem_arg(pc, st, sig, i, len, acc)?;
                    i += 1;
                }
                ArgKind::Len { .. } | ArgKind::ConstLen => {
                    return Err(self.arg_fail(pc, st, sig, i, "is a length that follows no memory argument (the helper's signature is malformed)"));
                }
            }
            i += 1;
        }
        for r in ARG_REGS {
            st.set(r, Value::Uninit);
        }
        let r0 = match sig.ret {
            RetKind::Void => Value::Uninit,
            RetKind::Scalar => Value::Scalar(Scalar::UNKNOWN),
            RetKind::Bounded { min, max } => Value::Scalar(Scalar::range(min, max)),
            RetKind::MapValueOrNull => {
                let Some(m) = map else {
                    return Err(Report::new(ErrorKind::HelperArgument, pc, format!("{} returns a map value but takes no map", sig.name)));
                };
                Value::Ptr(Ptr { region: Region::MapValue { map: m }, off: Scalar::constant(0), maybe_null: true, id: self.fresh_id() })
            }
            RetKind::MemOrNull { size, writable } => Value::Ptr(Ptr {
                region: Region::Mem { size, writable },
                off: Scalar::constant(0),
                maybe_null: true,
                id: self.fresh_id(),
            }),
        };
        st.set(Reg::R0, r0);
        Ok(())
    }

    fn arg_fail(&self, pc: usize, st: &State, sig: &HelperSig, i: usize, what: &str) -> Report {
        let r = ARG_REGS[i];
        self.fail(ErrorKind::HelperArgument, pc, st, &[r], format!("argument {} of {} ({r}) {what}", i + 1, sig.name))
    }

    /// An argument that must be a scalar: a pointer there would leave the program.
    fn scalar_arg(&self, pc: usize, st: &State, sig: &HelperSig, i: usize) -> Result<Scalar, Report> {
        let r = ARG_REGS[i];
        match self.read(pc, st, r)? {
            Value::Scalar(s) => Ok(s),
            _ => Err(self
                .fail(
                    ErrorKind::PointerLeak,
                    pc,
                    st,
                    &[r],
                    format!("argument {} of {} ({r}) must be a number; passing a pointer would leak its address", i + 1, sig.name),
                )),
        }
    }

    /// The length argument at index `i`, which the signature must declare.
    fn len_arg(&self, pc: usize, st: &State, sig: &HelperSig, i: usize) -> Result<Scalar, Report> {
        let kind = sig.args.get(i).copied();
        if !matches!(kind, Some(ArgKind::Len { .. } | ArgKind::ConstLen)) || i >= 5 {
            return Err(self.arg_fail(pc, st, sig, i - 1, "has no length argument after it (the helper's signature is malformed)"));
        }
        let r = ARG_REGS[i];
        let s = self.scalar_arg(pc, st, sig, i)?;
        match kind {
            Some(ArgKind::ConstLen) => match s.as_const() {
                Some(n) if n > 0 && n <= MAX_OFF as u64 => Ok(s),
                _ => Err(self.arg_fail(pc, st, sig, i, "must be a known constant length greater than 0")),
            },
            Some(ArgKind::Len { allow_zero }) => {
                if s.b.umax > MAX_OFF as u64 {
                    return Err(self
                        .fail(ErrorKind::HelperArgument, pc, st, &[r], format!("argument {} of {} ({r}), a length, has no upper bound", i + 1, sig.name))
                        .hint(format!("check {r} against the size of the buffer before the call (e.g. `if {r} > 64 goto out`)")));
                }
                if !allow_zero && s.b.umin == 0 {
                    return Err(self
                        .fail(ErrorKind::HelperArgument, pc, st, &[r], format!("argument {} of {} ({r}), a length, may be 0", i + 1, sig.name))
                        .hint(format!("check that {r} is not 0 before the call")));
                }
                Ok(s)
            }
            _ => Ok(s),
        }
    }

    /// A pointer argument to `len` bytes (the largest possible length is
    /// checked; for writes, the smallest is what counts as written).
    fn mem_arg(&mut self, pc: usize, st: &mut State, sig: &HelperSig, i: usize, len: Scalar, acc: Access) -> Result<(), Report> {
        let r = ARG_REGS[i];
        let p = match self.read(pc, st, r)? {
            Value::Ptr(p) if !p.maybe_null => p,
            Value::Ptr(_) => {
                return Err(self
                    .fail(ErrorKind::NullPointer, pc, st, &[r], format!("argument {} of {} ({r}) may be NULL", i + 1, sig.name))
                    .hint(format!("compare {r} with 0 before the call")));
            }
            _ => return Err(self.arg_fail(pc, st, sig, i, "must be a pointer to memory")),
        };
        let (min, max) = (len.b.umin, len.b.umax);
        if max == 0 {
            return Ok(());
        }
        let at = self.check_access(pc, st, r, &p, 0, max, acc)?;
        let Region::Stack { frame } = p.region else {
            return Ok(());
        };
        self.constant_stack_offset(pc, st, r, &at, "memory passed to a helper")?;
        let o = at.b.smin;
        let f = &st.frames[frame as usize];
        match acc {
            Access::Read => {
                for b in o..o + max as i64 {
                    let slot = f.slot(b).unwrap_or(&Slot::INVALID);
                    if slot.bytes[byte_index(b)] == Byte::Invalid {
                        return Err(self
                            .fail(
                                ErrorKind::UninitStack,
                                pc,
                                st,
                                &[r],
                                format!("{} reads stack byte fp{b} (through {r}), which was never written", sig.name),
                            )
                            .hint("initialise the whole buffer before passing it to the helper"));
                    }
                    if slot.holds_pointer() {
                        return Err(self.fail(
                            ErrorKind::PointerLeak,
                            pc,
                            st,
                            &[r],
                            format!("the memory {} reads holds a pointer spilled at fp{}", sig.name, -8 * (slot_index(b) as i64 + 1)),
                        ));
                    }
                }
            }
            Access::Write => {
                let f = self.stack_reaching(pc, st, frame, o)?;
                for b in o..o + max as i64 {
                    let slot = &mut f.stack[slot_index(b)];
                    break_spill(slot);
                    let byte = &mut slot.bytes[byte_index(b)];
                    // Written for sure up to the smallest length; beyond it
                    // a known zero may have been overwritten.
                    if b < o + min as i64 || *byte == Byte::Zero {
                        *byte = Byte::Misc;
                    }
                }
            }
        }
        Ok(())
    }

    /// A local call: a new frame sharing r1..r5.
    pub(super) fn call_local(&mut self, pc: usize, st: &mut State, target: usize) -> Result<Flow, Report> {
        let depth = st.frames.len() + 1;
        if depth > self.profile.limits.max_call_depth as usize {
            return Err(Report::new(
                ErrorKind::CallDepth,
                pc,
                format!("calls nest deeper than the limit of {} frames", self.profile.limits.max_call_depth),
            ));
        }
        let func = self.cfg.func_of[target] as usize;
        let mut frame = Frame::new((depth - 1) as u8, pc, func);
        for r in ARG_REGS {
            frame.regs[r.index()] = *st.reg(r);
        }
        if st.frames.try_reserve(1).is_err() {
            return Err(Report::out_of_memory(pc));
        }
        st.frames.push(frame);
        Ok(Flow::Next(target))
    }

    /// `exit`: returns to the caller (r0 as the callee left it, perhaps
    /// unset: only reading it is an error), or ends the program with r0 a
    /// scalar.
    pub(super) fn exit(&mut self, pc: usize, st: &mut State) -> Result<Flow, Report> {
        let r0 = *st.reg(Reg::R0);
        let n = st.frames.len();
        if n == 1 {
            if r0 == Value::Uninit {
                return Err(Report::new(ErrorKind::ReturnValue, pc, "r0 is not set at exit")
                    .hint("set r0 to the result (e.g. `r0 = 0`) on every path before `exit`"));
            }
            if r0.is_pointer() {
                return Err(self
                    .fail(ErrorKind::PointerLeak, pc, st, &[Reg::R0], "the program would return a pointer, leaking its address".into())
                    .hint("return a number (e.g. 0 or -errno)"));
            }
            return Ok(Flow::End);
        }
        let dying = (n - 1) as u8;
        if let Value::Ptr(Ptr { region: Region::Stack { frame }, .. }) = r0
            && frame == dying
        {
            return Err(self.fail(
                ErrorKind::ReturnValue,
                pc,
                st,
                &[Reg::R0],
                "the function returns a pointer to its own stack, which ends with it".into(),
            ));
        }
        let callsite = st.cur().callsite;
        st.frames.pop();
        // Nothing may keep pointing into the frame that just ended.
        for frame in &mut st.frames {
            for v in frame.regs.iter_mut() {
                if points_into(v, dying) {
                    *v = Value::Uninit;
                }
            }
            for slot in frame.stack.iter_mut() {
                if slot.is_spill() && points_into(&slot.spill, dying) {
                    *slot = Slot::INVALID;
                }
            }
        }
        for r in ARG_REGS {
            st.set(r, Value::Uninit);
        }
        st.set(Reg::R0, r0);
        Ok(Flow::Next(callsite + 1))
    }
}

fn points_into(v: &Value, frame: u8) -> bool {
    matches!(v, Value::Ptr(Ptr { region: Region::Stack { frame: f }, .. }) if *f >= frame)
}

