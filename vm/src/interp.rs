//! The interpreter: runs a [`Program`] one instruction at a time.
//!
//! Registers hold [`Value`]s (bits plus a pointer mark). Memory is reached
//! only through [`Memory`], which checks every access. Each local call gets
//! its own stack frame; r6 to r9 and r10 are saved across it.
//!
//! In checking mode ([`Config::checking`]) the interpreter also reports
//! what the verifier promises cannot happen: reading a register or stack
//! byte never written, dereferencing a number, storing a pointer outside
//! the stack, returning a pointer in r0. In plain mode registers start at
//! zero and those checks are off; bounds and permissions are always checked.
//!
//! With [`Vm::meter`], a run also spends fuel as the JIT's code does (the
//! charges of a [`Plan`]) and stops with [`ViolationKind::OutOfFuel`] where
//! the JIT's code would stop.

use alloc::vec::Vec;

use verifier::{AluOp, AtomicOp, Imm64, Insn, Program, Reg, Size, Src, Width};

use crate::alu::{alu32, alu64, cond32, cond64, endian};
use crate::fuel::Plan;
use crate::helpers::{Helpers, Value};
use crate::memory::Memory;
use crate::violation::{LeakTarget, Violation, ViolationKind};

/// Settings of a run.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Report uninitialised reads, pointer leaks and non-pointer accesses.
    pub checking: bool,
    /// Most instructions one run may execute.
    pub max_steps: u64,
    /// Most frames (the entry function counts as one).
    pub max_call_depth: usize,
    /// Bytes of stack per frame, for functions without a size of their
    /// own ([`Vm::set_frame_size`]).
    pub stack_size: usize,
    /// Most bytes of stack all frames of a call chain may have together.
    pub max_total_stack: usize,
}

impl Config {
    /// Checking mode with the verifier's default limits.
    pub fn checking() -> Config {
        Config {
            checking: true,
            max_steps: 1_000_000,
            max_call_depth: 8,
            stack_size: 512,
            max_total_stack: 512 * 8,
        }
    }

    /// Plain mode: registers start at zero, only bounds and permissions are checked.
    pub fn plain() -> Config {
        Config {
            checking: false,
            ..Config::checking()
        }
    }
}

/// The result of a run that ended with `exit`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Outcome {
    /// r0 at exit.
    pub r0: u64,
    /// Instructions executed.
    pub steps: u64,
}

/// What a caller's frame keeps while a local call runs.
struct Frame {
    return_pc: usize,
    /// Stack bytes of the callee's frame.
    size: usize,
    saved: [(Value, bool); 5], // r6..r9 and r10, with their initialised flags
}

/// An interpreter for one program and its memory.
pub struct Vm<'p> {
    program: &'p Program,
    config: Config,
    mem: Memory,
    regs: [Value; Reg::COUNT],
    init: [bool; Reg::COUNT],
    /// Stack bytes of the functions starting at these slots.
    frame_sizes: Vec<(usize, usize)>,
    /// Stack bytes of all frames of the current call chain.
    stack_total: usize,
    /// The charges of a metered run and the fuel left.
    fuel: Option<(Plan, u64)>,
}

/// Where control goes after an instruction.
enum Flow {
    Next,
    Jump(i64),
    Exit,
}

impl<'p> Vm<'p> {
    pub fn new(program: &'p Program, config: Config) -> Vm<'p> {
        Vm {
            program,
            config,
            mem: Memory::new(config.checking),
            regs: [Value::default(); Reg::COUNT],
            init: [!config.checking; Reg::COUNT],
            frame_sizes: Vec::new(),
            stack_total: 0,
            fuel: None,
        }
    }

    /// Meters the next run: it starts with `budget` units of fuel and pays
    /// the charges of `plan` (made for this program), stopping with
    /// [`ViolationKind::OutOfFuel`] at the first charge it cannot pay.
    pub fn meter(&mut self, plan: Plan, budget: u64) {
        self.fuel = Some((plan, budget));
    }

    /// The fuel left, for a metered run.
    pub fn fuel_left(&self) -> Option<u64> {
        self.fuel.as_ref().map(|f| f.1)
    }

    /// Pays `charge` from the fuel left (nothing when not metered).
    fn pay(&mut self, charge: impl Fn(&Plan) -> u64, pc: usize) -> Result<(), Violation> {
        if let Some((plan, left)) = self.fuel.as_mut() {
            *left = left.checked_sub(charge(plan)).ok_or(Violation::new(ViolationKind::OutOfFuel, pc))?;
        }
        Ok(())
    }

    /// Gives the function starting at slot `start` a frame of `bytes` bytes
    /// (e.g. the stack depth the verifier computed), instead of
    /// [`Config::stack_size`]. Accesses below it are out of bounds.
    pub fn set_frame_size(&mut self, start: usize, bytes: usize) {
        self.frame_sizes.retain(|&(s, _)| s != start);
        self.frame_sizes.push((start, bytes));
    }

    fn frame_size(&self, start: usize) -> usize {
        let size = self.frame_sizes.iter().find(|&&(s, _)| s == start);
        size.map_or(self.config.stack_size, |&(_, b)| b)
    }

    pub fn memory(&self) -> &Memory {
        &self.mem
    }

    /// The memory, to add the context, maps and buffers before a run.
    pub fn memory_mut(&mut self) -> &mut Memory {
        &mut self.mem
    }

    /// Sets a register before the run (r1 = context pointer, for example).
    pub fn set_reg(&mut self, r: Reg, v: Value) {
        self.regs[r.index()] = v;
        self.init[r.index()] = true;
    }

    /// Runs the program from slot 0 until the entry function exits.
    pub fn run(&mut self, helpers: &mut dyn Helpers) -> Result<Outcome, Violation> {
        self.stack_total = self.frame_size(0);
        if self.stack_total > self.config.max_total_stack {
            return Err(Violation::new(ViolationKind::StackLimit, 0));
        }
        let fp = self
            .mem
            .push_stack(0, self.stack_total)
            .map_err(|k| Violation::new(k, 0))?;
        self.set_reg(Reg::R10, Value::pointer(fp));
        self.pay(Plan::entry, 0)?;
        let mut frames: Vec<Frame> = Vec::new();
        let (mut pc, mut steps) = (0usize, 0u64);
        loop {
            steps += 1;
            if steps > self.config.max_steps {
                return Err(Violation::new(ViolationKind::StepLimit, pc));
            }
            self.pay(|plan| plan.at(pc), pc)?;
            let insn = match self.program.get(pc) {
                Some(Insn::Imm64Tail) | None => {
                    return Err(Violation::new(ViolationKind::BadPc, pc));
                }
                Some(insn) => *insn,
            };
            let flow = self
                .step(&insn, pc, &mut frames, helpers)
                .map_err(|mut v| {
                    v.pc = pc;
                    if let ViolationKind::Helper { id, .. } = &mut v.kind {
                        if let Insn::Call { helper } = insn {
                            *id = helper;
                        }
                    }
                    v
                })?;
            pc = match flow {
                Flow::Next => pc + insn.slots(),
                Flow::Jump(off) => {
                    let t = pc as i64 + 1 + off;
                    if t < 0 {
                        return Err(Violation::new(ViolationKind::BadPc, pc));
                    }
                    t as usize
                }
                Flow::Exit => match frames.pop() {
                    None => {
                        return Ok(Outcome {
                            r0: self.regs[0].bits,
                            steps,
                        });
                    }
                    Some(frame) => self.ret(frame, frames.len() + 1),
                },
            };
        }
    }

    fn get(&self, r: Reg) -> Result<Value, Violation> {
        if !self.init[r.index()] {
            return Err(Violation::new(ViolationKind::UninitRegister(r), 0));
        }
        Ok(self.regs[r.index()])
    }

    fn set(&mut self, r: Reg, v: Value) -> Result<(), Violation> {
        if r == Reg::R10 {
            return Err(Violation::new(ViolationKind::FramePointerWrite, 0));
        }
        self.set_reg(r, v);
        Ok(())
    }

    /// A memory address `base + off`; the base must be a pointer in checking mode.
    fn address(&self, base: Reg, off: i16) -> Result<u64, Violation> {
        let b = self.get(base)?;
        if self.config.checking && !b.ptr {
            return Err(Violation::new(ViolationKind::NotAPointer, 0));
        }
        Ok(b.bits.wrapping_add(off as i64 as u64))
    }

    /// Executes one instruction.
    fn step(
        &mut self,
        insn: &Insn,
        pc: usize,
        frames: &mut Vec<Frame>,
        helpers: &mut dyn Helpers,
    ) -> Result<Flow, Violation> {
        let mem_err = |addr: u64, size: u32| move |k| Violation::at(k, 0, addr, size);
        match *insn {
            // RFC 9669 section 4.1: arithmetic. 32-bit results are zero-extended.
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let s = match src {
                    Src::Reg(r) => self.get(r)?,
                    Src::Imm(i) if width == Width::W64 => Value::scalar(i as i64 as u64),
                    Src::Imm(i) => Value::scalar(i as u32 as u64),
                };
                let moves = matches!(op, AluOp::Mov | AluOp::MovSx(_));
                let d = if moves {
                    Value::default()
                } else {
                    self.get(dst)?
                };
                let bits = match width {
                    Width::W64 => alu64(op, d.bits, s.bits),
                    Width::W32 => alu32(op, d.bits as u32, s.bits as u32) as u64,
                };
                // A result derived from a pointer stays marked as one, except
                // the difference of two pointers (a plain number).
                let ptr = match op {
                    AluOp::Sub if width == Width::W64 && d.ptr && s.ptr => false,
                    _ => d.ptr || s.ptr,
                };
                self.set(dst, Value { bits, ptr })?;
                Ok(Flow::Next)
            }
            Insn::Neg { width, dst } => {
                let d = self.get(dst)?;
                let bits = match width {
                    Width::W64 => d.bits.wrapping_neg(),
                    Width::W32 => (d.bits as u32).wrapping_neg() as u64,
                };
                self.set(dst, Value { bits, ..d })?;
                Ok(Flow::Next)
            }
            // RFC 9669 section 4.2: byte swaps.
            Insn::Endian { kind, bits, dst } => {
                let d = self.get(dst)?;
                self.set(
                    dst,
                    Value {
                        bits: endian(kind, bits, d.bits),
                        ..d
                    },
                )?;
                Ok(Flow::Next)
            }
            // RFC 9669 section 5.4: 64-bit immediates, including map references.
            Insn::LoadImm64 { dst, imm } => {
                let v = match imm {
                    Imm64::Value(v) => Value::scalar(v),
                    Imm64::MapRef(m) | Imm64::MapByIdx(m) => {
                        let h = self.mem.map_handle(m as usize);
                        Value::pointer(h.ok_or(Violation::new(
                            ViolationKind::Unsupported("reference to a map that does not exist"),
                            0,
                        ))?)
                    }
                    Imm64::MapValue { map, offset } | Imm64::MapValueByIdx { map, offset } => {
                        let a = self.mem.map_value_addr(map as usize, 0);
                        let a = a.ok_or(Violation::new(
                            ViolationKind::Unsupported("reference to a map that does not exist"),
                            0,
                        ))?;
                        Value::pointer(a.wrapping_add(offset as u64))
                    }
                    Imm64::VarAddr(_) => {
                        return Err(Violation::new(
                            ViolationKind::Unsupported("lddw of a variable address"),
                            0,
                        ));
                    }
                    Imm64::CodeAddr(_) => {
                        return Err(Violation::new(
                            ViolationKind::Unsupported("lddw of a code address"),
                            0,
                        ));
                    }
                };
                self.set(dst, v)?;
                Ok(Flow::Next)
            }
            // RFC 9669 sections 5.1 and 5.2: loads, zero- or sign-extending.
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let addr = self.address(src, off)?;
                let n = size.bytes();
                let (v, ptr) = self.mem.load(addr, n as usize).map_err(mem_err(addr, n))?;
                let bits = match (signed, size) {
                    (true, Size::B) => v as u8 as i8 as i64 as u64,
                    (true, Size::H) => v as u16 as i16 as i64 as u64,
                    (true, Size::W) => v as u32 as i32 as i64 as u64,
                    _ => v,
                };
                self.set(dst, Value { bits, ptr })?;
                Ok(Flow::Next)
            }
            // RFC 9669 section 5.1: stores of a register or an immediate.
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let addr = self.address(dst, off)?;
                let v = match src {
                    Src::Reg(r) => self.get(r)?,
                    Src::Imm(i) => Value::scalar(i as i64 as u64),
                };
                let n = size.bytes();
                self.mem
                    .store(addr, n as usize, v.bits, v.ptr)
                    .map_err(mem_err(addr, n))?;
                Ok(Flow::Next)
            }
            // RFC 9669 section 5.3: atomic read-modify-write.
            Insn::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let addr = self.address(dst, off)?;
                let s = self.get(src)?;
                let n = size.bytes();
                let (old, old_ptr) = self.mem.load(addr, n as usize).map_err(mem_err(addr, n))?;
                let mask = if size == Size::W {
                    0xffff_ffff
                } else {
                    u64::MAX
                };
                let (new, new_ptr) = match op {
                    AtomicOp::Add => (old.wrapping_add(s.bits), old_ptr || s.ptr),
                    AtomicOp::Or => (old | s.bits, old_ptr || s.ptr),
                    AtomicOp::And => (old & s.bits, old_ptr || s.ptr),
                    AtomicOp::Xor => (old ^ s.bits, old_ptr || s.ptr),
                    AtomicOp::Xchg => (s.bits, s.ptr),
                    AtomicOp::CmpXchg => {
                        let r0 = self.get(Reg::R0)?;
                        if old == r0.bits & mask {
                            (s.bits, s.ptr)
                        } else {
                            (old, old_ptr)
                        }
                    }
                };
                self.mem
                    .store(addr, n as usize, new & mask, new_ptr)
                    .map_err(mem_err(addr, n))?;
                let old = Value {
                    bits: old,
                    ptr: old_ptr,
                };
                match op {
                    AtomicOp::CmpXchg => self.set(Reg::R0, old)?,
                    _ if fetch || op == AtomicOp::Xchg => self.set(src, old)?,
                    _ => {}
                }
                Ok(Flow::Next)
            }
            // RFC 9669 section 4.3: jumps.
            Insn::Ja { off, .. } => Ok(Flow::Jump(off as i64)),
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let d = self.get(dst)?;
                let s = match src {
                    Src::Reg(r) => self.get(r)?.bits,
                    Src::Imm(i) => i as i64 as u64,
                };
                let taken = match width {
                    Width::W64 => cond64(cond, d.bits, s),
                    Width::W32 => cond32(cond, d.bits as u32, s as u32),
                };
                Ok(if taken {
                    Flow::Jump(off as i64)
                } else {
                    Flow::Next
                })
            }
            // RFC 9669 section 4.3.1: helper calls. r1-r5 are clobbered.
            Insn::Call { helper } => {
                let arity = helpers.arity(helper).unwrap_or(0);
                for r in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5]
                    .into_iter()
                    .take(arity)
                {
                    self.get(r)?;
                }
                let a = |r: usize| self.regs[r];
                let args = [a(1), a(2), a(3), a(4), a(5)];
                let r0 = helpers
                    .call(helper, args, &mut self.mem)
                    .map_err(|k| Violation::new(k, 0))?;
                self.set_reg(Reg::R0, r0);
                if self.config.checking && !helpers.returns_value(helper) {
                    self.init[0] = false;
                }
                self.clobber_args();
                Ok(Flow::Next)
            }
            // RFC 9669 section 4.3.2: local calls, each with its own frame.
            Insn::CallLocal { off } => {
                let depth = frames.len() + 1;
                if depth >= self.config.max_call_depth {
                    return Err(Violation::new(ViolationKind::CallDepth, 0));
                }
                let size = self.frame_size((pc as i64 + 1 + off as i64).max(0) as usize);
                if self.stack_total + size > self.config.max_total_stack {
                    return Err(Violation::new(ViolationKind::StackLimit, 0));
                }
                self.stack_total += size;
                let keep = |r: usize| (self.regs[r], self.init[r]);
                let saved = [keep(6), keep(7), keep(8), keep(9), keep(10)];
                frames.push(Frame {
                    return_pc: pc + 1,
                    size,
                    saved,
                });
                let fp = self
                    .mem
                    .push_stack(depth, size)
                    .map_err(|k| Violation::new(k, 0))?;
                self.set_reg(Reg::R10, Value::pointer(fp));
                if self.config.checking {
                    for r in [0, 6, 7, 8, 9] {
                        self.init[r] = false;
                    }
                }
                Ok(Flow::Jump(off as i64))
            }
            // A local function may leave r0 unset (only reading it is a
            // violation); the program must return a number.
            Insn::Exit if !frames.is_empty() => Ok(Flow::Exit),
            Insn::Exit => {
                let r0 = self.get(Reg::R0)?;
                if self.config.checking && r0.ptr {
                    return Err(Violation::new(
                        ViolationKind::PointerLeak(LeakTarget::Return),
                        0,
                    ));
                }
                Ok(Flow::Exit)
            }
            Insn::Imm64Tail => Err(Violation::new(ViolationKind::BadPc, 0)),
        }
    }

    /// Returns from a local call at `depth` to the caller's frame.
    fn ret(&mut self, frame: Frame, depth: usize) -> usize {
        self.mem.pop_stack(depth);
        self.stack_total -= frame.size;
        for (i, (v, init)) in frame.saved.into_iter().enumerate() {
            self.regs[6 + i] = v;
            self.init[6 + i] = init;
        }
        self.clobber_args();
        frame.return_pc
    }

    /// After a call, r1 to r5 hold nothing the program may rely on.
    fn clobber_args(&mut self) {
        if self.config.checking {
            for r in 1..=5 {
                self.init[r] = false;
            }
        }
    }
}
