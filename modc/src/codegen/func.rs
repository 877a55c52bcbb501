//! The per-function state of code generation: emitted slots and their
//! spans, labels, the homes of locals (a callee-saved register or a stack
//! slot), temporaries in R0-R5 and their spilling around calls.

use super::FnCode;
use crate::diag::{Diag, Span};
use crate::tir::*;
use verifier::{AluOp, Imm64, Insn, Reg, Size, Src, Width};

/// Most bytes of stack one frame may use.
pub const STACK_LIMIT: u32 = 512;

/// Where a local lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    Reg(Reg),
    /// At `r10 + offset` (negative).
    Stack(i16),
    Unset,
}

/// A label: a slot not yet known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Why code generation stopped (reported as a diagnostic).
pub struct GenError(pub Box<Diag>);

pub type GResult<T> = Result<T, GenError>;

pub struct FnGen<'a> {
    pub tir: &'a Tir,
    pub f: &'a TFn,
    pub insns: Vec<Insn>,
    pub spans: Vec<Span>,
    /// The span recorded for slots emitted now.
    pub cur: Span,
    /// Whether the next slot can be reached (unreachable code is not emitted).
    pub reachable: bool,
    labels: Vec<Option<usize>>,
    referenced: Vec<bool>,
    fixups: Vec<(usize, Label)>,
    pub calls: Vec<(usize, usize)>,
    pub loops: Vec<(usize, usize, Span)>,
    /// Homes of the function's locals, then of hidden loop locals.
    pub homes: Vec<Home>,
    /// Registers chosen for locals (by the pre-pass), by local id.
    pub reg_choice: Vec<Option<Reg>>,
    /// Which of R0..R5 hold a live temporary.
    temps: [bool; 6],
    pub frame: u32,
    max_frame: u32,
    /// (continue label, break label) of the enclosing loops.
    pub loop_labels: Vec<(Label, Label)>,
    /// The slot count when a label was last placed: instructions before it
    /// may be reached from elsewhere, so they are never rewritten.
    pub last_bind: usize,
    /// Next hidden local to hand out (loop ends and counters).
    pub next_hidden: usize,
    /// A register the next temporary should preferably be.
    pub hint: Option<Reg>,
    /// The map number of the read-only data.
    pub rodata_map: u32,
}

/// Compiles one function.
pub(crate) fn compile_fn(tir: &Tir, f: &TFn, rodata_map: u32) -> Result<FnCode, Box<Diag>> {
    let (choice, hidden) = super::stmt::choose_registers(f);
    let mut g = FnGen {
        tir,
        f,
        insns: Vec::new(),
        spans: Vec::new(),
        cur: f.span,
        reachable: true,
        labels: Vec::new(),
        referenced: Vec::new(),
        fixups: Vec::new(),
        calls: Vec::new(),
        loops: Vec::new(),
        homes: vec![Home::Unset; f.locals.len() + hidden],
        reg_choice: choice,
        temps: [false; 6],
        frame: 0,
        max_frame: 0,
        loop_labels: Vec::new(),
        next_hidden: f.locals.len(),
        last_bind: 0,
        hint: None,
        rodata_map,
    };
    g.body().map_err(|GenError(d)| d)?;
    if g.max_frame > STACK_LIMIT {
        return Err(Box::new(Diag::error(
            format!("function `{}` needs {} bytes of stack, more than {STACK_LIMIT}", f.name, g.max_frame),
            f.span,
            "too much stack",
        )
        .note("local arrays, structs and spilled values live on the stack")
        .help("make arrays smaller, or keep large data in a map")));
    }
    for (slot, label) in std::mem::take(&mut g.fixups) {
        let target = g.labels[label.0].unwrap_or(slot + 1) as i64;
        let off = target - slot as i64 - 1;
        g.insns[slot] = match g.insns[slot] {
            Insn::Ja { .. } => Insn::Ja { off: off as i32, long: false },
            Insn::Jump { width, cond, dst, src, .. } => {
                let Ok(off) = i16::try_from(off) else {
                    return Err(Box::new(Diag::error("function too large", f.span, "a jump spans more than 32767 instructions")
                        .help("split the function into smaller ones")));
                };
                Insn::Jump { width, cond, dst, src, off }
            }
            other => other,
        };
    }
    Ok(FnCode { insns: g.insns, spans: g.spans, calls: g.calls, loops: g.loops, frame: g.max_frame })
}

impl<'a> FnGen<'a> {
    /// Appends an instruction (nothing when the point is unreachable).
    pub fn emit(&mut self, insn: Insn) {
        if !self.reachable {
            return;
        }
        let slots = insn.slots();
        self.insns.push(insn);
        self.spans.push(self.cur);
        if slots == 2 {
            self.insns.push(Insn::Imm64Tail);
            self.spans.push(self.cur);
        }
        if matches!(insn, Insn::Exit | Insn::Ja { .. }) {
            self.reachable = false;
        }
    }

    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        self.referenced.push(false);
        Label(self.labels.len() - 1)
    }

    /// Places a label at the next slot.
    pub fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.insns.len());
        self.last_bind = self.insns.len();
        if self.referenced[l.0] {
            self.reachable = true;
        }
    }

    /// Makes the last instruction, which computed `from`, write `to`
    /// instead (saving a move), when that is safe: it only writes `from`
    /// without reading it, and no label lies between it and here.
    pub fn retarget_last(&mut self, from: Reg, to: Reg) -> bool {
        if !self.reachable || self.insns.len() <= self.last_bind {
            return false;
        }
        let Some(last) = self.insns.last_mut() else { return false };
        let new = match *last {
            Insn::Load { size, signed, dst, src, off } if dst == from && src != from => {
                Insn::Load { size, signed, dst: to, src, off }
            }
            Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src } if dst == from && src != Src::Reg(from) => {
                Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: to, src }
            }
            _ => return false,
        };
        *last = new;
        true
    }

    /// `goto l`.
    pub fn jump(&mut self, l: Label) {
        if !self.reachable {
            return;
        }
        self.referenced[l.0] = true;
        self.fixups.push((self.insns.len(), l));
        self.emit(Insn::Ja { off: 0, long: false });
    }

    /// `if dst COND src goto l`.
    pub fn jump_if(&mut self, cond: verifier::Cond, dst: Reg, src: Src, l: Label) {
        if !self.reachable {
            return;
        }
        self.referenced[l.0] = true;
        self.fixups.push((self.insns.len(), l));
        self.emit(Insn::Jump { width: Width::W64, cond, dst, src, off: 0 });
    }

    /// A local call of function `callee` (patched when the program is laid out).
    pub fn call_local(&mut self, callee: usize) {
        if self.reachable {
            self.calls.push((self.insns.len(), callee));
        }
        self.emit(Insn::CallLocal { off: 0 });
    }

    pub fn alu(&mut self, width: Width, op: AluOp, dst: Reg, src: Src) {
        self.emit(Insn::Alu { width, op, dst, src });
    }

    pub fn mov(&mut self, dst: Reg, src: Reg) {
        if dst != src {
            self.alu(Width::W64, AluOp::Mov, dst, Src::Reg(src));
        }
    }

    /// `dst = v` with the shortest encoding.
    pub fn load_const(&mut self, dst: Reg, v: u64) {
        if let Ok(i) = i32::try_from(v as i64) {
            self.alu(Width::W64, AluOp::Mov, dst, Src::Imm(i));
        } else if v <= u32::MAX as u64 {
            self.alu(Width::W32, AluOp::Mov, dst, Src::Imm(v as u32 as i32));
        } else {
            self.emit(Insn::LoadImm64 { dst, imm: Imm64::Value(v) });
        }
    }

    pub fn load(&mut self, size: Size, dst: Reg, src: Reg, off: i16) {
        self.emit(Insn::Load { size, signed: false, dst, src, off });
    }

    pub fn store(&mut self, size: Size, dst: Reg, off: i16, src: Src) {
        self.emit(Insn::Store { size, dst, off, src });
    }

    /// `base + delta` as an instruction offset, or an error when the
    /// aggregate is too large to reach with 16-bit offsets.
    pub fn off(&self, base: i16, delta: u32) -> GResult<i16> {
        i16::try_from(base as i64 + delta as i64).map_err(|_| {
            GenError(Box::new(
                Diag::error("value too large to copy at once", self.cur, "more than 32 KiB away from its base")
                    .help("copy smaller parts, e.g. one field or element at a time"),
            ))
        })
    }

    // ----- stack -----

    /// Reserves `size` bytes aligned to `align`; returns the offset from r10.
    pub fn alloc_stack(&mut self, size: u32, align: u32) -> i16 {
        let align = align.clamp(1, 8);
        self.frame = (self.frame + size).div_ceil(align) * align;
        self.max_frame = self.max_frame.max(self.frame);
        -(self.frame.min(i16::MAX as u32) as i32) as i16
    }

    // ----- temporaries -----

    /// A free register among R0..R5, preferring `prefer`.
    pub fn alloc_temp_prefer(&mut self, prefer: Option<Reg>) -> GResult<Reg> {
        if let Some(p) = prefer
            && p.index() <= 5 && !self.temps[p.index()] {
                self.temps[p.index()] = true;
                return Ok(p);
            }
        for i in [0usize, 1, 2, 3, 4, 5] {
            if !self.temps[i] {
                self.temps[i] = true;
                return Ok(Reg::new(i as u8).unwrap_or(Reg::R0));
            }
        }
        Err(GenError(Box::new(Diag::error("expression too complex", self.cur, "needs more than six registers at once")
                .help("split it into smaller parts with `let`"),
        )))
    }

    /// A free temporary; the first one after [`FnGen::hint`] was set
    /// prefers the hinted register (an argument's, saving a move).
    pub fn alloc_temp(&mut self) -> GResult<Reg> {
        let prefer = self.hint.take();
        self.alloc_temp_prefer(prefer)
    }

    pub fn free_temp(&mut self, r: Reg) {
        if r.index() <= 5 {
            self.temps[r.index()] = false;
        }
    }

    pub fn is_temp(&self, r: Reg) -> bool {
        r.index() <= 5 && self.temps[r.index()]
    }

    /// Stores every live temporary to the stack; returns where.
    fn spill_live(&mut self) -> Vec<(Reg, i16)> {
        let mut saved = Vec::new();
        for i in 0..6 {
            let r = Reg::new(i as u8).unwrap_or(Reg::R0);
            if self.temps[i] {
                let slot = self.alloc_stack(8, 8);
                self.store(Size::DW, Reg::R10, slot, Src::Reg(r));
                saved.push((r, slot));
            }
        }
        saved
    }

    /// Before a call's arguments are computed: every live temporary goes
    /// to the stack (the call clobbers R0..R5), and its register is free
    /// for the arguments meanwhile.
    pub fn save_live(&mut self) -> Vec<(Reg, i16)> {
        let saved = self.spill_live();
        for &(r, _) in &saved {
            self.free_temp(r);
        }
        saved
    }

    /// After a call: frees the argument temporaries, takes the result out
    /// of R0 (into another register if R0 is to be restored), restores the
    /// saved temporaries, and returns the register holding the result.
    pub fn finish_call(&mut self, args: &[Reg], saved: &[(Reg, i16)]) -> GResult<Reg> {
        for &r in args {
            self.free_temp(r);
        }
        let is_saved = |r: Reg| saved.iter().any(|(s, _)| *s == r);
        let result = if !is_saved(Reg::R0) && !self.temps[0] {
            Reg::R0
        } else {
            let pick = (1..6).map(|i| Reg::new(i).unwrap_or(Reg::R0)).find(|&r| !self.temps[r.index()] && !is_saved(r));
            let r = pick.ok_or_else(|| {
                GenError(Box::new(Diag::error("expression too complex", self.cur, "too many values live across a call")
                    .help("split it into smaller parts with `let`")))
            })?;
            self.mov(r, Reg::R0);
            r
        };
        self.temps[result.index()] = true;
        for &(r, slot) in saved {
            self.temps[r.index()] = true;
            self.load(Size::DW, r, Reg::R10, slot);
        }
        Ok(result)
    }

    /// Moves values into argument registers R1.. in parallel: `moves[i]`
    /// goes to R(i+1). Sources may be any register.
    pub fn parallel_move(&mut self, moves: &[Reg]) {
        #[derive(Clone, Copy, PartialEq)]
        enum From {
            R(Reg),
            Slot(i16),
        }
        let mut pending: Vec<(Reg, From)> = moves
            .iter()
            .enumerate()
            .map(|(i, &s)| (Reg::new(i as u8 + 1).unwrap_or(Reg::R1), From::R(s)))
            .filter(|(d, s)| From::R(*d) != *s)
            .collect();
        while !pending.is_empty() {
            let ready = pending.iter().position(|(d, _)| !pending.iter().any(|(_, s)| *s == From::R(*d)));
            match ready {
                Some(i) => {
                    let (d, s) = pending.remove(i);
                    match s {
                        From::R(s) => self.mov(d, s),
                        From::Slot(off) => self.load(Size::DW, d, Reg::R10, off),
                    }
                }
                None => {
                    // A cycle: put one destination's current value aside.
                    let d = pending[0].0;
                    let busy = |r: Reg| pending.iter().any(|(a, b)| *a == r || *b == From::R(r));
                    let aside = match (0..6).map(|i| Reg::new(i).unwrap_or(Reg::R0)).find(|&r| !busy(r)) {
                        Some(t) => {
                            self.mov(t, d);
                            From::R(t)
                        }
                        None => {
                            let slot = self.alloc_stack(8, 8);
                            self.store(Size::DW, Reg::R10, slot, Src::Reg(d));
                            From::Slot(slot)
                        }
                    };
                    for p in pending.iter_mut() {
                        if p.1 == From::R(d) {
                            p.1 = aside;
                        }
                    }
                }
            }
        }
    }

    // ----- homes -----

    /// Gives a local its home: the pre-chosen register or a stack slot.
    pub fn place_local(&mut self, id: LocalId, size: u32, align: u32, scalar: bool) -> Home {
        let home = match self.reg_choice.get(id).copied().flatten() {
            Some(r) if scalar => Home::Reg(r),
            _ => Home::Stack(self.alloc_stack(size.max(1), if scalar { 8 } else { align })),
        };
        if let Some(h) = self.homes.get_mut(id) {
            *h = home;
        }
        home
    }

    /// The next hidden local (a loop's end value or counter), placed.
    pub fn hidden_local(&mut self) -> (LocalId, Home) {
        let id = self.next_hidden;
        self.next_hidden += 1;
        if id >= self.homes.len() {
            self.homes.push(Home::Unset);
            self.reg_choice.push(None);
        }
        let home = self.place_local(id, 8, 8, true);
        (id, home)
    }

    /// Reads a scalar local into a register: its own (no copy) or a temporary.
    pub fn local_reg(&mut self, id: LocalId) -> GResult<(Reg, bool)> {
        match self.homes.get(id).copied().unwrap_or(Home::Unset) {
            Home::Reg(r) => Ok((r, false)),
            Home::Stack(off) => {
                let t = self.alloc_temp()?;
                self.load(Size::DW, t, Reg::R10, off);
                Ok((t, true))
            }
            Home::Unset => Err(GenError(Box::new(Diag::error("internal compiler error: a local has no home", self.cur, "here")
                .note("this is a bug in modc; please report it with the source")))),
        }
    }

    /// Writes a register to a scalar local.
    pub fn set_local(&mut self, id: LocalId, src: Reg) {
        match self.homes.get(id).copied().unwrap_or(Home::Unset) {
            Home::Reg(r) => {
                if !(self.is_temp(src) && self.retarget_last(src, r)) {
                    self.mov(r, src);
                }
            }
            Home::Stack(off) => self.store(Size::DW, Reg::R10, off, Src::Reg(src)),
            Home::Unset => {}
        }
    }
}
