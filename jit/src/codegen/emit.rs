//! Emitting one instruction: the dispatcher, the frame, control flow and
//! immediates.
//!
//! Frame of a BPF function (the stack grows down; see [`super::frame`]
//! for which registers a function saves):
//!
//! ```text
//!   return address            pushed by the caller's `call`
//!   saved rbp, rbx, r13, r14, r15   (those the function uses)
//!   <- rbp = BPF r10          top of the BPF stack
//!   BPF stack, stack_depth bytes rounded up to 16 (+8 to align calls)
//!   <- rsp                    16-byte aligned at every call
//! ```
//!
//! The prologue reserves the BPF stack with `sub rsp`, so nothing ever lives
//! below the stack pointer (an interrupt on the same stack would overwrite it).

use super::frame::Frame;
use super::hotpath::{path_of, Head};
use super::{Function, Jumps, Site};
use crate::blind::Blinder;
use crate::error::{JitError, MAX_CODE};
use crate::options::{CallMode, JitOptions};
use crate::regs::{x86, AUX, KEY, TMP};
use crate::x86::{AluKind, Asm, Cc, Mem, OpSize, R};
use alloc::vec::Vec;
use verifier::{AluOp, Cond, Imm64, Insn, Src, Width};
use vm::fuel::Plan;

/// State of one emission pass.
pub struct Emitter<'a> {
    pub(super) asm: Asm,
    pub(super) opts: &'a JitOptions<'a>,
    jumps: Jumps<'a>,
    functions: &'a [Function],
    frames: &'a [Frame],
    /// The program, for the bodies of inlined callees and copied paths.
    pub(super) insns: &'a [Insn],
    /// Which functions' calls are replaced by their code ([`super::inline`]).
    inlined: &'a [bool],
    /// The likely path each head's jump copies ([`super::hotpath`]).
    hot_paths: &'a [Head],
    /// The fuel charges, when the code is metered ([`super::fuel`]).
    plan: Option<&'a Plan>,
    /// The function being emitted (its frame decides the epilogue).
    current: usize,
    blinder: Option<Blinder>,
    /// The jumps whose size depends on their distance, in emission order.
    pub(super) sites: Vec<Site>,
    /// Which slots are jump targets (reached with other flags than the
    /// instruction before them left).
    targets: &'a [bool],
    /// The register (and width) whose value the flags describe after the
    /// instruction just emitted, if an ALU operation left them so.
    flags: Option<(R, Width)>,
    /// The current function's blinding key, held in `KEY` (r12), if it
    /// has one.
    key: Option<i32>,
    /// Bytes emitted and dropped before `asm` (a sizing pass keeps only
    /// the current instruction, so the buffer stays in the cache).
    base: usize,
}

/// The operand size of a BPF width.
pub fn size(width: Width) -> OpSize {
    match width {
        Width::W32 => OpSize::S32,
        Width::W64 => OpSize::S64,
    }
}

impl<'a> Emitter<'a> {
    pub fn new(opts: &'a JitOptions<'a>, jumps: Jumps<'a>, program: &super::Program<'a>, capacity: usize) -> Emitter<'a> {
        Emitter {
            asm: Asm::with_capacity(capacity),
            opts,
            jumps,
            functions: program.functions,
            frames: program.frames,
            insns: program.insns,
            inlined: program.inlined,
            hot_paths: program.hot_paths,
            plan: program.plan,
            current: 0,
            blinder: opts.blinding.map(Blinder::new),
            sites: Vec::new(),
            targets: program.targets,
            flags: None,
            key: None,
            base: 0,
        }
    }

    /// The current offset; an error once the code outgrows the limit.
    pub fn offset(&self) -> Result<u32, JitError> {
        let len = self.base + self.asm.len();
        if len > MAX_CODE {
            return Err(JitError::CodeTooLarge { size: len });
        }
        Ok(len as u32)
    }

    /// In the sizing pass, drops the bytes emitted so far (only their
    /// count matters); in the other passes, does nothing.
    pub fn settle(&mut self) {
        if let Jumps::AllLongUnknown = self.jumps {
            self.base += self.asm.len();
            self.asm.clear();
        }
    }

    pub fn finish(self) -> (Vec<u8>, Vec<Site>) {
        (self.asm.into_bytes(), self.sites)
    }

    /// The fuel charges, when the code is metered.
    pub(super) fn plan(&self) -> Option<&'a Plan> {
        self.plan
    }

    pub fn insn(&mut self, pc: usize, insn: &Insn) -> Result<(), JitError> {
        self.meter_at(pc)?;
        // Which register the flags describe: a conditional jump uses what
        // the instruction before left; everything else starts afresh.
        if !matches!(insn, Insn::Jump { .. }) {
            self.flags = None;
        }
        match *insn {
            Insn::Alu { width, op, dst, src } => {
                // A blinded add or sub of an immediate may be one `lea`,
                // unless the next instruction tests dst against 0 and
                // needs the flags of `add`/`sub` (`lea` sets none).
                let next = self.insns.get(pc + 1);
                let tested = matches!(next, Some(Insn::Jump { cond: Cond::Eq | Cond::Ne, dst: d, src: Src::Imm(0), .. }) if *d == dst);
                if !tested && self.add_with_key(width, op, dst, src) {
                    return Ok(());
                }
                self.alu(pc, width, op, dst, src)?;
                let mask = if width == Width::W64 { 63 } else { 31 };
                let shifted = matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh)
                    && matches!(src, Src::Imm(k) if k as u32 & mask != 0);
                if shifted || matches!(op, AluOp::Add | AluOp::Sub | AluOp::And | AluOp::Or | AluOp::Xor) {
                    // The last x86 instruction of these sets ZF from dst
                    // (a shift only when its count is not 0).
                    self.flags = Some((x86(dst), width));
                }
                Ok(())
            }
            Insn::Neg { width, dst } => {
                self.asm.neg(size(width), x86(dst));
                Ok(())
            }
            Insn::Endian { kind, bits, dst } => self.endian(pc, kind, bits, dst),
            Insn::LoadImm64 { dst, imm } => self.load_imm64(pc, x86(dst), imm),
            Insn::Imm64Tail => Ok(()),
            Insn::Load { size, signed, dst, src, off } => self.load(size, signed, dst, src, off),
            Insn::Store { size, dst, off, src } => self.store(size, dst, off, src),
            Insn::Atomic { size, op, fetch, dst, src, off } => self.atomic(pc, size, op, fetch, dst, src, off),
            Insn::Ja { .. } => {
                match path_of(self.hot_paths, pc) {
                    Some(path) => self.hot_path(pc, None, path),
                    None => self.jump(pc, None, insn),
                }
            }
            Insn::Jump { .. } => {
                if self.target_is_next(pc, insn) {
                    // Comparisons have no effect besides the jump.
                    self.flags = None;
                    return Ok(());
                }
                let cc = self.condition_of(pc, insn).ok_or(JitError::BadTarget { pc })?;
                match path_of(self.hot_paths, pc) {
                    Some(path) => self.hot_path(pc, Some(cc), path),
                    None => self.jump(pc, Some(cc), insn),
                }
            }
            Insn::Call { helper } => self.call_helper(pc, helper),
            Insn::CallLocal { .. } => self.call_local(pc, insn),
            Insn::Exit => {
                self.epilogue();
                Ok(())
            }
        }
    }

    /// Sets the flags for the conditional jump `insn` at `pc` and returns
    /// the x86 condition to jump on; `None` if `insn` is no conditional jump.
    pub(super) fn condition_of(&mut self, pc: usize, insn: &Insn) -> Option<Cc> {
        let flags = self.flags.take().filter(|_| self.targets.get(pc) != Some(&true));
        let Insn::Jump { width, cond, dst, src, .. } = *insn else { return None };
        // `dst == 0` right after an ALU operation on dst: its flags already
        // say (a 32-bit result is also the zero-extended 64-bit value).
        let zf_valid = matches!(flags, Some((r, w)) if r == x86(dst) && (w == width || w == Width::W32));
        if !(zf_valid && matches!(cond, Cond::Eq | Cond::Ne) && src == Src::Imm(0)) {
            self.compare(width, cond, x86(dst), src);
        }
        Some(cc(cond))
    }

    /// Forgets which register the flags describe (code after this may be
    /// reached from elsewhere).
    pub(super) fn clear_flags(&mut self) {
        self.flags = None;
    }

    // ---- the frame ----------------------------------------------------------

    /// Pads with `int3` up to where the next function may start.
    pub fn align_function(&mut self) -> Result<(), JitError> {
        let at = self.offset()?;
        for _ in at..super::align_function(at) {
            self.asm.int3();
        }
        Ok(())
    }

    /// The prologue of function `f`.
    pub fn prologue(&mut self, f: usize) {
        self.current = f;
        self.flags = None;
        let Some(frame) = self.frames.get(f) else { return };
        for &r in &frame.saved {
            self.asm.push(r);
        }
        if frame.sets_rbp {
            self.asm.mov_rr(OpSize::S64, R::Rbp, R::Rsp);
        }
        if frame.reserve > 0 {
            self.asm.alu_ri(AluKind::Sub, OpSize::S64, R::Rsp, frame.reserve as i32);
        }
        self.key = None;
        if frame.saved.contains(&KEY)
            && let Some(b) = self.blinder.as_mut()
        {
            // A random key of 20 to 30 bits, either sign: never 0, and
            // `imm - key` fits in 32 bits for most immediates.
            let bits = b.next_key();
            let magnitude = ((bits >> 1) as u32 & ((1 << 30) - 1)) | (1 << 20);
            let key = if bits & 1 == 0 { magnitude as i32 } else { -(magnitude as i32) };
            self.asm.mov_r64_simm(KEY, key);
            self.key = Some(key);
        }
    }

    /// Emitted inline at every `exit`: free the frame, restore, return r0.
    fn epilogue(&mut self) {
        let Some(frame) = self.frames.get(self.current) else { return };
        if frame.reserve > 0 {
            self.asm.alu_ri(AluKind::Add, OpSize::S64, R::Rsp, frame.reserve as i32);
        }
        for &r in frame.saved.iter().rev() {
            self.asm.pop(r);
        }
        self.asm.ret();
    }

    // ---- jumps and calls ---------------------------------------------------

    fn target_is_next(&self, pc: usize, insn: &Insn) -> bool {
        insn.target(pc) == Some(pc as i64 + 1)
    }

    /// The distance from the end of `pc`'s code to the start of `target`'s,
    /// in the layout this pass sizes jumps by.
    fn distance(&self, pc: usize, target_offset: impl Fn(&super::Layout) -> Option<u32>) -> Option<i64> {
        let layout = match self.jumps {
            Jumps::AllLongUnknown => return None,
            Jumps::AllLong(l) | Jumps::Decided { layout: l, .. } => l,
        };
        let to = target_offset(layout)?;
        let from = *layout.end.get(pc)?;
        Some(to as i64 - from as i64)
    }

    /// A conditional (`cc`) or unconditional jump to the target of `insn`.
    fn jump(&mut self, pc: usize, cc: Option<Cc>, insn: &Insn) -> Result<(), JitError> {
        if self.target_is_next(pc, insn) {
            return Ok(());
        }
        let target = insn.target(pc).and_then(|t| usize::try_from(t).ok()).ok_or(JitError::BadTarget { pc })?;
        let dist = self.distance(pc, |l| l.start.get(target).copied());
        let short = match (self.jumps, dist) {
            (Jumps::Decided { short, .. }, Some(d)) if short.get(pc) == Some(&true) => i8::try_from(d).ok(),
            _ => None,
        };
        if let Jumps::AllLongUnknown = self.jumps {
            self.sites.push(Site { pc, target, conditional: cc.is_some() });
        }
        let rel = match dist {
            Some(d) => i32::try_from(d).map_err(|_| JitError::CodeTooLarge { size: self.base + self.asm.len() })?,
            None => 0,
        };
        match (cc, short) {
            (Some(cc), Some(r)) => self.asm.jcc8(cc, r),
            (Some(cc), None) => self.asm.jcc32(cc, rel),
            (None, Some(r)) => self.asm.jmp8(r),
            (None, None) => self.asm.jmp32(rel),
        }
        Ok(())
    }

    /// A `jcc rel32` (or `jmp rel32` without `cc`) from the middle of
    /// slot `pc`'s code to the code of `slot` in place. Always long, so
    /// that the code around it never changes size with distances.
    pub(super) fn jump_to_slot(&mut self, pc: usize, cc: Option<Cc>, slot: usize) -> Result<(), JitError> {
        let len = if cc.is_some() { 6 } else { 5 };
        let rel = match self.jumps {
            Jumps::AllLongUnknown => 0,
            Jumps::AllLong(l) | Jumps::Decided { layout: l, .. } => {
                let to = *l.start.get(slot).ok_or(JitError::BadTarget { pc })? as i64;
                let from = self.offset()? as i64 + len;
                i32::try_from(to - from).map_err(|_| JitError::CodeTooLarge { size: self.base + self.asm.len() })?
            }
        };
        match cc {
            Some(cc) => self.asm.jcc32(cc, rel),
            None => self.asm.jmp32(rel),
        }
        Ok(())
    }

    fn call_local(&mut self, pc: usize, insn: &Insn) -> Result<(), JitError> {
        let target = insn.target(pc).and_then(|t| usize::try_from(t).ok()).ok_or(JitError::BadTarget { pc })?;
        let func = self.functions.binary_search_by_key(&target, |f| f.start).map_err(|_| JitError::BadTarget { pc })?;
        if self.inlined.get(func) == Some(&true)
            && let Some(f) = self.functions.get(func)
        {
            // The callee's body without its final `exit`, which would only
            // return to the next instruction.
            let insns = self.insns;
            for callee_pc in f.start..f.end.saturating_sub(1) {
                self.insn(callee_pc, insns.get(callee_pc).ok_or(JitError::BadTarget { pc })?)?;
            }
            return Ok(());
        }
        let dist = self.distance(pc, |l| l.entry.get(func).copied()).unwrap_or(0);
        let rel = i32::try_from(dist).map_err(|_| JitError::CodeTooLarge { size: self.base + self.asm.len() })?;
        self.asm.call32(rel);
        Ok(())
    }

    fn call_helper(&mut self, pc: usize, helper: u32) -> Result<(), JitError> {
        let address = (self.opts.helper_address)(helper).ok_or(JitError::UnknownHelper { pc, helper })?;
        match self.opts.call_mode {
            CallMode::Near => {
                let after = self.opts.code_address as i128 + (self.base + self.asm.len()) as i128 + 5;
                let rel = i32::try_from(address as i128 - after)
                    .map_err(|_| JitError::HelperOutOfReach { pc, helper, address })?;
                self.asm.call32(rel);
            }
            CallMode::HostFar => {
                self.asm.mov_r64_imm64(TMP, address);
                self.asm.call_reg(TMP);
            }
        }
        Ok(())
    }

    /// Sets the flags for `dst COND src`.
    fn compare(&mut self, width: Width, cond: Cond, dst: R, src: Src) {
        let sz = size(width);
        let src = match src {
            Src::Reg(s) => x86(s),
            Src::Imm(0) if cond != Cond::Set => {
                // `test r, r` sets the flags exactly as `cmp r, 0` does.
                self.asm.test_rr(sz, dst, dst);
                return;
            }
            Src::Imm(k) if self.blinder.is_none() => {
                if cond == Cond::Set {
                    self.asm.test_ri(sz, dst, k);
                } else {
                    self.asm.alu_ri(AluKind::Cmp, sz, dst, k);
                }
                return;
            }
            Src::Imm(k) => {
                self.imm_to_reg(AUX, k as i64 as u64);
                AUX
            }
        };
        if cond == Cond::Set {
            self.asm.test_rr(sz, dst, src);
        } else {
            self.asm.alu_rr(AluKind::Cmp, sz, dst, src);
        }
    }

    // ---- immediates --------------------------------------------------------

    /// Whether immediates must be blinded.
    pub fn blinding(&self) -> bool {
        self.blinder.is_some()
    }

    /// The current function's blinding key (held in `KEY`), if it has one.
    pub fn key(&self) -> Option<i32> {
        self.key
    }

    /// Puts the 64-bit `value` (a program immediate) into `r`, blinded if
    /// blinding is on.
    pub fn imm_to_reg(&mut self, r: R, value: u64) {
        let Some(b) = self.blinder.as_mut() else {
            self.asm.load_imm(r, value);
            return;
        };
        // With the function's key in KEY, one `lea` makes the value:
        // KEY + (value - key), a displacement as random as the key.
        if let Some(key) = self.key {
            if let Some(disp) = (value as i64).checked_sub(key as i64).and_then(|d| i32::try_from(d).ok())
                && i32::try_from(value as i64).is_ok()
            {
                self.asm.lea(OpSize::S64, r, Mem::new(KEY, disp));
                return;
            }
            if let Ok(v) = u32::try_from(value) {
                // A 32-bit lea keeps the low half and zero-extends.
                self.asm.lea(OpSize::S32, r, Mem::new(KEY, v.wrapping_sub(key as u32) as i32));
                return;
            }
        }
        let key = b.next_key();
        let k32 = key as u32 as i32;
        if let Ok(v) = i32::try_from(value as i64) {
            // sign_extend(v ^ k) ^ sign_extend(k) == sign_extend(v)
            self.asm.mov_r64_simm(r, v ^ k32);
            self.asm.alu_ri(AluKind::Xor, OpSize::S64, r, k32);
        } else if let Ok(v) = u32::try_from(value) {
            self.asm.mov_r32_imm(r, v ^ k32 as u32);
            self.asm.alu_ri(AluKind::Xor, OpSize::S32, r, k32);
        } else {
            let other = if r == TMP { AUX } else { TMP };
            self.asm.mov_r64_imm64(r, value ^ key);
            self.asm.mov_r64_imm64(other, key);
            self.asm.alu_rr(AluKind::Xor, OpSize::S64, r, other);
        }
    }

    /// A random number below `n` (n > 0) from the blinding generator.
    pub fn random_below(&mut self, n: u32) -> u32 {
        let key = self.blinder.as_mut().map_or(0, |b| b.next_key());
        (key % n as u64) as u32
    }

    fn load_imm64(&mut self, pc: usize, dst: R, imm: Imm64) -> Result<(), JitError> {
        match imm {
            Imm64::Value(v) => self.imm_to_reg(dst, v),
            other => {
                // Addresses come from the kernel, not the program: no blinding.
                let address = (self.opts.resolve_imm64)(&other).ok_or(JitError::UnresolvedImm64 { pc })?;
                self.asm.load_imm(dst, address);
            }
        }
        Ok(())
    }
}

/// The x86 condition for a BPF condition (after `cmp dst, src`, or after
/// `test dst, src` for [`Cond::Set`]).
fn cc(cond: Cond) -> Cc {
    match cond {
        Cond::Eq => Cc::E,
        Cond::Ne | Cond::Set => Cc::Ne,
        Cond::Gt => Cc::A,
        Cond::Ge => Cc::Ae,
        Cond::Lt => Cc::B,
        Cond::Le => Cc::Be,
        Cond::SGt => Cc::G,
        Cond::SGe => Cc::Ge,
        Cond::SLt => Cc::L,
        Cond::SLe => Cc::Le,
    }
}
