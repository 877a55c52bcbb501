//! The program generator of the soundness fuzzing: a random program built
//! from snippets that each exercise one rule (see the parent module).

use verifier::{AluOp, AtomicOp, Cond, Imm64, Insn, Program, Reg, Size, Src, Width};

use super::*;

mod join;
mod links;
mod var_stack;

/// Builds a program with forward labels.
pub(crate) struct Asm {
    insns: Vec<Insn>,
    /// (slot of a jump, label) to patch.
    fixups: Vec<(usize, usize)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    pub(crate) fn new() -> Asm {
        Asm { insns: Vec::new(), fixups: Vec::new(), labels: Vec::new() }
    }

    pub(crate) fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    pub(crate) fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.insns.len());
    }

    pub(crate) fn push(&mut self, i: Insn) {
        self.insns.push(i);
        if let Insn::LoadImm64 { .. } = i {
            self.insns.push(Insn::Imm64Tail);
        }
    }

    pub(crate) fn jump(&mut self, i: Insn, l: usize) {
        self.fixups.push((self.insns.len(), l));
        self.insns.push(i);
    }

    pub(crate) fn finish(mut self) -> Program {
        for (pc, l) in self.fixups {
            let t = self.labels[l].unwrap_or(pc + 1) as i64;
            let off = t - pc as i64 - 1;
            self.insns[pc] = match self.insns[pc] {
                Insn::Jump { width, cond, dst, src, .. } => Insn::Jump { width, cond, dst, src, off: off as i16 },
                Insn::Ja { long, .. } => Insn::Ja { off: off as i32, long },
                Insn::CallLocal { .. } => Insn::CallLocal { off: off as i32 },
                other => other,
            };
        }
        Program::from_insns(self.insns)
    }
}

pub(crate) fn mov(dst: Reg, imm: i32) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) }
}

pub(crate) fn movr(dst: Reg, src: Reg) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Reg(src) }
}

pub(crate) fn add(dst: Reg, imm: i32) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Add, dst, src: Src::Imm(imm) }
}

pub(crate) fn addr(dst: Reg, src: Reg) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Add, dst, src: Src::Reg(src) }
}

pub(crate) fn ld(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load { size, signed: false, dst, src, off }
}

pub(crate) fn st(size: Size, dst: Reg, off: i16, src: Src) -> Insn {
    Insn::Store { size, dst, off, src }
}

pub(crate) fn jmp(width: Width, cond: Cond, dst: Reg, src: Src) -> Insn {
    Insn::Jump { width, cond, dst, src, off: 0 }
}

const SIZES: [Size; 4] = [Size::B, Size::H, Size::W, Size::DW];
const CONDS: [Cond; 11] =
    [Cond::Eq, Cond::Ne, Cond::Gt, Cond::Ge, Cond::Lt, Cond::Le, Cond::Set, Cond::SGt, Cond::SGe, Cond::SLt, Cond::SLe];
const OPS: [AluOp; 15] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::SDiv,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::SMod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::MovSx(8),
    AluOp::Arsh,
];
/// Scratch registers snippets compute in (r6 keeps the context).
const SCRATCH: [Reg; 4] = [Reg::R0, Reg::R7, Reg::R8, Reg::R9];

/// A program generator: one random program per call of [`generate`].
struct Gen<'r> {
    rng: &'r mut Rng,
    a: Asm,
    depth: u32,
}

/// A random plausible program.
pub fn generate(rng: &mut Rng) -> Program {
    let mut g = Gen { rng, a: Asm::new(), depth: 0 };
    g.a.push(movr(Reg::R6, Reg::R1));
    if g.rng.chance(70) {
        // Most programs start by clearing some stack.
        for k in 1..=g.rng.below(6) as i16 {
            g.a.push(st(Size::DW, Reg::R10, -8 * k, Src::Imm(0)));
        }
    }
    for r in SCRATCH {
        if g.rng.chance(90) {
            let v = g.small();
            g.a.push(mov(r, v));
        }
    }
    let n = 1 + g.rng.below(6);
    for _ in 0..n {
        g.snippet();
    }
    // One program in five calls a local function with the context and a
    // pointer to its own stack.
    let func = g.rng.chance(20).then(|| g.a.label());
    if let Some(f) = func {
        if g.rng.chance(80) {
            g.a.push(st(Size::DW, Reg::R10, -8, Src::Imm(0)));
        }
        g.a.push(movr(Reg::R1, Reg::R6));
        g.a.push(movr(Reg::R2, Reg::R10));
        g.a.push(add(Reg::R2, -8));
        g.a.jump(Insn::CallLocal { off: 0 }, f);
        if g.rng.chance(50) {
            g.a.push(ld(Size::DW, Reg::R7, Reg::R10, -8));
        }
    }
    g.epilogue();
    if let Some(f) = func {
        g.a.bind(f);
        g.a.push(movr(Reg::R6, Reg::R1));
        match g.rng.below(4) {
            0 => g.a.push(st(Size::DW, Reg::R2, 0, Src::Imm(5))),
            1 => g.a.push(ld(Size::DW, Reg::R7, Reg::R2, 0)),
            2 => g.a.push(st(Size::DW, Reg::R2, 0, Src::Reg(Reg::R10))),
            _ => {}
        }
        // One function in five need not set r0 (its caller may read it).
        let leaves_r0 = g.rng.chance(20);
        for r in SCRATCH {
            if g.rng.chance(90) && !(leaves_r0 && r == Reg::R0) {
                let v = g.small();
                g.a.push(mov(r, v));
            }
        }
        for _ in 0..1 + g.rng.below(3) {
            g.snippet();
        }
        if leaves_r0 {
            g.a.push(Insn::Exit);
        } else {
            g.epilogue();
        }
    }
    g.a.finish()
}

impl Gen<'_> {
    /// Sets r0 (usually to a number) and exits.
    fn epilogue(&mut self) {
        if self.rng.chance(90) {
            let r = self.scratch();
            if r != Reg::R0 {
                self.a.push(movr(Reg::R0, r));
            }
        } else {
            let r = self.rng.pick(&[Reg::R6, Reg::R10, Reg::R1]);
            self.a.push(movr(Reg::R0, r));
        }
        self.a.push(Insn::Exit);
    }

    /// A small constant, often at an edge.
    fn small(&mut self) -> i32 {
        match self.rng.below(6) {
            0 => 0,
            1 => -1,
            2 => self.rng.below(40) as i32,
            3 => self.rng.pick(&[i32::MIN, i32::MAX, 0x7fff_fff0, -0x10]),
            4 => self.rng.below(70) as i32 - 5,
            _ => self.rng.next() as i32,
        }
    }

    /// A constant at `edge`, or (one time in four) off by at most `spread`
    /// either way.
    fn near(&mut self, edge: i64, spread: i64) -> i64 {
        if self.rng.chance(75) {
            return edge;
        }
        edge + self.rng.below(2 * spread as u64 + 1) as i64 - spread
    }

    fn scratch(&mut self) -> Reg {
        self.rng.pick(&SCRATCH)
    }

    fn snippet(&mut self) {
        self.depth += 1;
        match self.rng.below(16) {
            0 | 1 => self.alu(),
            2 => self.ctx_field(),
            3 | 4 => self.ctx_buffer(),
            5 | 6 => self.map_value(),
            7 => self.stack(),
            8 => self.spill(),
            9 => self.helper_buffer(),
            10 if self.depth < 3 => self.loop_(),
            11 if self.depth < 3 => self.branch(),
            12 if self.rng.chance(30) => self.helper_memory(),
            12 => self.misc_helper(),
            13 => self.rodata(),
            14 => self.join(),
            _ => self.random_insn(),
        }
        self.depth -= 1;
    }

    fn alu(&mut self) {
        let width = if self.rng.chance(30) { Width::W32 } else { Width::W64 };
        let mut op = self.rng.pick(&OPS);
        if let AluOp::MovSx(_) = op {
            op = AluOp::MovSx(self.rng.pick(&[8, 16, 32]));
            if width == Width::W32 && op == AluOp::MovSx(32) {
                op = AluOp::MovSx(16);
            }
        }
        let dst = self.scratch();
        let src = if self.rng.chance(50) { Src::Imm(self.small()) } else { Src::Reg(self.scratch()) };
        self.a.push(Insn::Alu { width, op, dst, src });
    }

    fn ctx_field(&mut self) {
        let dst = self.scratch();
        let (off, size) = self.rng.pick(&[
            (F_VALUE, Size::DW),
            (F_RW, Size::W),
            (F_LEN, Size::W),
            (F_TAIL, Size::DW),
            (F_VALUE + 4, Size::W),
            (F_RW, Size::DW),
            (56, Size::DW),
            (F_LEN, Size::H),
        ]);
        if self.rng.chance(75) {
            let signed = self.rng.chance(10);
            self.a.push(Insn::Load { size, signed, dst, src: Reg::R6, off });
        } else {
            let src = if self.rng.chance(80) { Src::Reg(dst) } else { Src::Reg(Reg::R6) };
            self.a.push(st(size, Reg::R6, off, src));
        }
    }

    /// `data[i]` with `i` from the length field or a scalar, behind a check.
    fn ctx_buffer(&mut self) {
        if self.rng.chance(30) {
            return self.links();
        }
        let i = self.scratch();
        let skip = self.a.label();
        match self.rng.below(3) {
            0 => self.a.push(ld(Size::W, i, Reg::R6, F_LEN)),
            1 => self.a.push(ld(Size::B, i, Reg::R6, F_VALUE)),
            _ => {}
        }
        let size = self.rng.pick(&SIZES);
        let bound = self.near(DATA_CAP - size.bytes() as i64, 2);
        self.bounds_check(i, bound, skip);
        self.a.push(movr(Reg::R2, Reg::R6));
        self.a.push(addr(Reg::R2, i));
        let off = F_DATA + self.near(0, 1) as i16;
        let dst = self.scratch();
        if self.rng.chance(70) {
            self.a.push(ld(size, dst, Reg::R2, off));
        } else {
            self.a.push(st(size, Reg::R2, off, Src::Imm(7)));
        }
        self.a.bind(skip);
    }

    /// `if i > bound goto skip` in one of several equivalent spellings (and
    /// some that are not quite equivalent).
    fn bounds_check(&mut self, i: Reg, bound: i64, skip: usize) {
        let b = bound as i32;
        match self.rng.below(10) {
            // The check on a copy (linked, or not quite).
            7 | 8 => {
                let copy = if i == Reg::R3 { Reg::R4 } else { Reg::R3 };
                self.a.push(movr(copy, i));
                match self.rng.below(4) {
                    0 => self.a.push(add(copy, 1)),
                    1 => self.a.push(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst: copy, src: Src::Reg(i) }),
                    _ => {}
                }
                self.a.jump(jmp(Width::W64, Cond::Gt, copy, Src::Imm(b)), skip);
            }
            // The check on a value spilled and filled back.
            9 => {
                let copy = if i == Reg::R3 { Reg::R4 } else { Reg::R3 };
                self.a.push(st(Size::DW, Reg::R10, -48, Src::Reg(i)));
                if self.rng.chance(20) {
                    self.a.push(st(Size::B, Reg::R10, -48, Src::Imm(0)));
                }
                self.a.push(ld(Size::DW, copy, Reg::R10, -48));
                self.a.jump(jmp(Width::W64, Cond::Gt, copy, Src::Imm(b)), skip);
                if self.rng.chance(50) {
                    self.a.push(ld(Size::DW, i, Reg::R10, -48));
                }
            }
            0 => self.a.jump(jmp(Width::W64, Cond::Gt, i, Src::Imm(b)), skip),
            1 => self.a.jump(jmp(Width::W64, Cond::Ge, i, Src::Imm(b + 1)), skip),
            2 => self.a.jump(jmp(Width::W32, Cond::Gt, i, Src::Imm(b)), skip),
            3 => {
                self.a.jump(jmp(Width::W64, Cond::SGt, i, Src::Imm(b)), skip);
                if self.rng.chance(70) {
                    self.a.jump(jmp(Width::W64, Cond::SLt, i, Src::Imm(0)), skip);
                }
            }
            4 => {
                let ok = self.a.label();
                self.a.jump(jmp(Width::W64, Cond::Le, i, Src::Imm(b)), ok);
                self.a.jump(Insn::Ja { off: 0, long: false }, skip);
                self.a.bind(ok);
            }
            5 => self.a.push(Insn::Alu { width: Width::W64, op: AluOp::And, dst: i, src: Src::Imm(self.rng.pick(&[7, 15, 31, 63])) }),
            _ => {
                self.a.push(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst: i, src: Src::Reg(i) });
                self.a.jump(jmp(Width::W32, Cond::Gt, i, Src::Imm(b)), skip);
            }
        }
    }

    /// A map lookup and an access to the value.
    fn map_value(&mut self) {
        let (map, value) = if self.rng.chance(60) { (0, ARRAY_VALUE) } else { (1, HASH_VALUE) };
        let skip = self.a.label();
        let key = self.small() & 7;
        self.a.push(st(Size::W, Reg::R10, -4, Src::Imm(key)));
        self.a.push(Insn::LoadImm64 { dst: Reg::R1, imm: Imm64::MapRef(map) });
        self.a.push(movr(Reg::R2, Reg::R10));
        self.a.push(add(Reg::R2, -4));
        if self.rng.chance(15) {
            // Update first, so hash lookups sometimes find something.
            self.a.push(st(Size::DW, Reg::R10, -16, Src::Imm(1)));
            self.a.push(st(Size::DW, Reg::R10, -24, Src::Imm(2)));
            self.a.push(movr(Reg::R3, Reg::R10));
            self.a.push(add(Reg::R3, -24));
            self.a.push(mov(Reg::R4, 0));
            self.a.push(Insn::Call { helper: H_UPDATE });
            self.a.push(Insn::LoadImm64 { dst: Reg::R1, imm: Imm64::MapRef(map) });
            self.a.push(movr(Reg::R2, Reg::R10));
            self.a.push(add(Reg::R2, -4));
        }
        self.a.push(Insn::Call { helper: H_LOOKUP });
        let p = if self.rng.chance(30) {
            self.a.push(movr(Reg::R7, Reg::R0));
            Reg::R7
        } else {
            Reg::R0
        };
        if self.rng.chance(90) {
            let checked = if self.rng.chance(80) { p } else { Reg::R0 };
            self.a.jump(jmp(Width::W64, Cond::Eq, checked, Src::Imm(0)), skip);
        }
        let size = self.rng.pick(&SIZES);
        let dst = if p == Reg::R7 { Reg::R8 } else { Reg::R9 };
        let indexed = self.rng.chance(50);
        if indexed {
            let i = Reg::R3;
            self.a.push(ld(Size::W, i, Reg::R6, F_RW));
            let bound = self.near(value - size.bytes() as i64, 1);
            self.bounds_check(i, bound, skip);
            self.a.push(addr(p, i));
        }
        let last = self.near(value - size.bytes() as i64, 1).clamp(-1, value) as i16;
        let off = if indexed { self.near(0, 1) as i16 } else if self.rng.chance(50) { 0 } else { last };
        match self.rng.below(4) {
            0 => self.a.push(st(size, p, off, Src::Imm(3))),
            1 => self.a.push(st(Size::DW, p, 0, Src::Reg(Reg::R6))),
            2 if size == Size::W || size == Size::DW => self.a.push(Insn::Atomic {
                size,
                op: self.rng.pick(&[AtomicOp::Add, AtomicOp::Xchg, AtomicOp::Or]),
                fetch: true,
                dst: p,
                src: Reg::R6,
                off: 0,
            }),
            _ => self.a.push(ld(size, dst, p, off)),
        }
        if p == Reg::R7 {
            self.a.push(mov(Reg::R7, 0));
        }
        self.a.bind(skip);
        // r0 may still be the (checked) pointer; make it a number again.
        if self.rng.chance(85) {
            self.a.push(mov(Reg::R0, 0));
        }
    }

    /// Stack stores and loads of mixed sizes.
    fn stack(&mut self) {
        if self.rng.chance(30) {
            return self.var_stack();
        }
        let size = self.rng.pick(&SIZES);
        let off = -(self.rng.below(40) as i16) - size.bytes() as i16 + if self.rng.chance(5) { 1 } else { 0 };
        if self.rng.chance(60) {
            let src = if self.rng.chance(50) { Src::Imm(self.small()) } else { Src::Reg(self.scratch()) };
            self.a.push(st(size, Reg::R10, off, src));
        }
        if self.rng.chance(15) {
            // An atomic on the slot (which may hold a spilled pointer).
            let size = if self.rng.chance(50) { Size::W } else { Size::DW };
            let aoff = if self.rng.chance(70) { off & !7 } else { off };
            let src = self.rng.pick(&[Reg::R7, Reg::R8, Reg::R6]);
            let op = self.rng.pick(&[AtomicOp::Add, AtomicOp::Xor, AtomicOp::Xchg, AtomicOp::CmpXchg]);
            self.a.push(Insn::Atomic { size, op, fetch: self.rng.chance(50), dst: Reg::R10, src, off: aoff });
        }
        let dst = self.scratch();
        let lsize = self.rng.pick(&SIZES);
        let loff = if self.rng.chance(70) { off } else { -(self.rng.below(40) as i16) - lsize.bytes() as i16 };
        self.a.push(Insn::Load { size: lsize, signed: self.rng.chance(10), dst, src: Reg::R10, off: loff });
    }

    /// Spill a pointer, maybe overwrite part of it, fill it back and use it.
    fn spill(&mut self) {
        let slot = -8 * (1 + self.rng.below(4) as i16);
        let off = slot + if self.rng.chance(10) { 4 } else { 0 };
        self.a.push(st(Size::DW, Reg::R10, off, Src::Reg(Reg::R6)));
        if self.rng.chance(25) {
            let o = slot + self.rng.below(8) as i16;
            self.a.push(st(Size::B, Reg::R10, o, Src::Imm(1)));
        }
        if self.rng.chance(10) {
            // An atomic on the spilled pointer, then the slot read as data.
            let op = self.rng.pick(&[AtomicOp::Add, AtomicOp::Or, AtomicOp::Xchg]);
            self.a.push(Insn::Atomic { size: Size::DW, op, fetch: false, dst: Reg::R10, src: Reg::R8, off: slot });
            self.a.push(ld(Size::DW, Reg::R0, Reg::R10, slot));
            return;
        }
        let dst = Reg::R1;
        let size = if self.rng.chance(85) { Size::DW } else { Size::W };
        let loff = slot + if self.rng.chance(10) { 4 } else { 0 };
        self.a.push(ld(size, dst, Reg::R10, loff));
        let fld = self.rng.pick(&[F_VALUE, F_TAIL, F_RW]);
        let s = if fld == F_RW { Size::W } else { Size::DW };
        let r = self.scratch();
        self.a.push(ld(s, r, dst, fld));
    }

    /// A helper reading or writing a stack buffer.
    fn helper_buffer(&mut self) {
        let len_max = 8 * (1 + self.rng.below(4) as i64);
        let base = -(len_max as i16);
        if self.rng.chance(80) {
            let fill = self.near(len_max / 8, 1).max(0);
            for k in 0..fill {
                self.a.push(st(Size::DW, Reg::R10, base + 8 * k as i16, Src::Imm(k as i32)));
            }
        }
        let skip = self.a.label();
        self.a.push(movr(Reg::R1, Reg::R10));
        self.a.push(add(Reg::R1, base as i32));
        if self.rng.chance(50) {
            let len = self.near(len_max, 1) as i32;
            self.a.push(mov(Reg::R2, len));
        } else {
            self.a.push(ld(Size::W, Reg::R2, Reg::R6, F_LEN));
            let bound = self.near(len_max, 1);
            self.bounds_check(Reg::R2, bound, skip);
        }
        let h = if self.rng.chance(50) { H_EMIT } else { H_FILL };
        self.a.push(Insn::Call { helper: h });
        if h == H_FILL && self.rng.chance(50) {
            let r = self.scratch();
            self.a.push(ld(Size::DW, r, Reg::R10, base));
        }
        self.a.bind(skip);
    }

    /// A counted loop, sometimes with a wrong bound or direction.
    fn loop_(&mut self) {
        let c = Reg::R9;
        let head = self.a.label();
        let n = self.rng.below(12) as i32;
        self.a.push(mov(c, if self.rng.chance(90) { 0 } else { n + 1 }));
        self.a.bind(head);
        let body = 1 + self.rng.below(2);
        for _ in 0..body {
            match self.rng.below(3) {
                0 => self.alu(),
                1 => self.stack(),
                _ => {
                    // data[c] inside the loop.
                    let skip = self.a.label();
                    let bound = self.near(DATA_CAP, 1) as i32;
                    self.a.jump(jmp(Width::W64, Cond::Ge, c, Src::Imm(bound)), skip);
                    self.a.push(movr(Reg::R2, Reg::R6));
                    self.a.push(addr(Reg::R2, c));
                    self.a.push(ld(Size::B, Reg::R8, Reg::R2, F_DATA));
                    self.a.bind(skip);
                }
            }
        }
        let width = if self.rng.chance(20) { Width::W32 } else { Width::W64 };
        let step = if self.rng.chance(90) { 1 } else { self.rng.pick(&[0, -1, 2]) };
        self.a.push(Insn::Alu { width, op: AluOp::Add, dst: c, src: Src::Imm(step) });
        let cond = self.rng.pick(&[Cond::Lt, Cond::Lt, Cond::Ne, Cond::SLt, Cond::Le]);
        self.a.jump(jmp(width, cond, c, Src::Imm(n)), head);
    }

    fn branch(&mut self) {
        let skip = self.a.label();
        let width = if self.rng.chance(30) { Width::W32 } else { Width::W64 };
        let dst = self.scratch();
        let src = if self.rng.chance(60) { Src::Imm(self.small()) } else { Src::Reg(self.scratch()) };
        self.a.jump(jmp(width, self.rng.pick(&CONDS), dst, src), skip);
        self.snippet();
        if self.rng.chance(50) {
            self.snippet();
        }
        self.a.bind(skip);
    }

    fn misc_helper(&mut self) {
        match self.rng.below(3) {
            0 => {
                self.a.push(Insn::Call { helper: H_RANDOM });
                let r = self.scratch();
                if r != Reg::R0 {
                    self.a.push(movr(r, Reg::R0));
                }
            }
            1 => {
                let port = self.rng.pick(&[0x70, 0x71, 0x72, 0x6f]);
                self.a.push(mov(Reg::R1, port));
                self.a.push(Insn::Call { helper: H_INB });
            }
            _ => {
                let key = self.small() & 7;
                self.a.push(st(Size::W, Reg::R10, -4, Src::Imm(key)));
                self.a.push(Insn::LoadImm64 { dst: Reg::R1, imm: Imm64::MapRef(self.rng.below(2) as u32) });
                self.a.push(movr(Reg::R2, Reg::R10));
                self.a.push(add(Reg::R2, -4));
                self.a.push(Insn::Call { helper: H_DELETE });
            }
        }
    }

    /// Helper memory: maybe NULL, then accessed near its end.
    fn helper_memory(&mut self) {
        let skip = self.a.label();
        self.a.push(Insn::Call { helper: H_ALLOC });
        if self.rng.chance(90) {
            self.a.jump(jmp(Width::W64, Cond::Eq, Reg::R0, Src::Imm(0)), skip);
        }
        let size = self.rng.pick(&SIZES);
        let off = self.near(ALLOC_SIZE - size.bytes() as i64, 1) as i16;
        let off = if self.rng.chance(50) { 0 } else { off };
        if self.rng.chance(50) {
            self.a.push(ld(size, Reg::R9, Reg::R0, off));
        } else {
            self.a.push(st(size, Reg::R0, off, Src::Reg(self.rng.pick(&[Reg::R7, Reg::R6]))));
        }
        self.a.bind(skip);
        self.a.push(mov(Reg::R0, 0));
    }

    fn rodata(&mut self) {
        let off = self.rng.below(RODATA as u64) as u32;
        self.a.push(Insn::LoadImm64 { dst: Reg::R2, imm: Imm64::MapValue { map: 2, offset: off } });
        let size = self.rng.pick(&SIZES);
        let o = self.near(0, 2) as i16;
        if self.rng.chance(85) {
            let r = self.scratch();
            self.a.push(ld(size, r, Reg::R2, o));
        } else {
            self.a.push(st(size, Reg::R2, o, Src::Imm(0)));
        }
    }

    /// Any ALU or jump-free instruction on random registers.
    fn random_insn(&mut self) {
        let reg = |g: &mut Gen| Reg::new(g.rng.below(11) as u8).unwrap_or(Reg::R0);
        let insn = match self.rng.below(5) {
            0 => Insn::Neg { width: Width::W64, dst: self.scratch() },
            1 => Insn::Endian { kind: self.rng.pick(&[verifier::Endian::ToLe, verifier::Endian::ToBe]), bits: self.rng.pick(&[16, 32, 64]), dst: self.scratch() },
            2 => {
                let (d, s) = (reg(self), reg(self));
                Insn::Alu { width: Width::W64, op: self.rng.pick(&OPS[..12]), dst: d, src: Src::Reg(s) }
            }
            3 => Insn::Load { size: self.rng.pick(&SIZES), signed: false, dst: self.scratch(), src: reg(self), off: self.near(0, 16) as i16 },
            _ => Insn::Store { size: self.rng.pick(&SIZES), dst: reg(self), off: self.near(-8, 8) as i16, src: Src::Reg(reg(self)) },
        };
        self.a.push(insn);
    }
}

