//! The generator of the Linux differential test: random programs that use
//! only what Warden and the Linux verifier share (stack, scalar ALU and
//! jumps of both widths, bounded loops, array-map lookups with null
//! checks, the time and random helpers, local calls), built from snippets
//! that each exercise one class of precision:
//!
//! | class | what the snippet does |
//! |---|---|
//! | `flags` | a chain of branches that each may bump a counter, then a jump or an access that reads it (path blow-up without precision tracking) |
//! | `linked` | one copy of a number checked, another used (directly, through a spill, or with a copy overwritten in between) |
//! | `const-stack` | a constant stored or spilled, then read back narrower |
//! | `var-stack` | a stack byte read or written at a bounded variable offset |
//! | `callee` | a local function that never sets `r0` |
//! | `loop` | a bounded loop that indexes the map value |
//! | `alu` | random ALU of both widths on an unknown number, then a check and an access |
//! | `stack` | stores and loads of every size at constant offsets |
//!
//! Constants sit near the edges (off by one a fifth of the time), so both
//! verifiers refuse a good share of the programs for real reasons.

use verifier::{AluOp, Cond, Imm64, Insn, Program, Reg, Size, Src, Width};

use crate::fuzz::generate::{add, addr, jmp, ld, mov, movr, st, Asm};
use crate::fuzz::Rng;

use super::{H_KTIME, H_LOOKUP, H_RANDOM, VALUE_SIZE};

/// The snippet classes, as the matrix names them.
pub const CLASSES: [&str; 8] = ["flags", "linked", "const-stack", "var-stack", "callee", "loop", "alu", "stack"];

/// A generated program and the classes of its snippets.
pub struct Generated {
    pub program: Program,
    pub classes: Vec<&'static str>,
}

struct Gen<'r> {
    rng: &'r mut Rng,
    a: Asm,
    /// Where early exits go (`r0 = 0; exit`).
    out: usize,
    /// Local functions to emit after the main one: (label, sets r0).
    subs: Vec<(usize, bool)>,
    /// Stack bytes (index 0 is fp-64) certainly written so far.
    init: [bool; 64],
}

/// A random program of the shared subset.
pub fn generate(rng: &mut Rng) -> Generated {
    let mut a = Asm::new();
    let out = a.label();
    let mut g = Gen { rng, a, out, subs: Vec::new(), init: [false; 64] };
    g.prologue();
    let mut classes = Vec::new();
    for _ in 0..1 + g.rng.below(4) {
        let class = g.rng.pick(&CLASSES);
        classes.push(class);
        g.snippet(class);
    }
    classes.sort_unstable();
    classes.dedup();
    g.a.push(mov(Reg::R0, 0));
    g.a.push(Insn::Exit);
    g.a.bind(g.out);
    g.a.push(mov(Reg::R0, 0));
    g.a.push(Insn::Exit);
    for (label, sets_r0) in std::mem::take(&mut g.subs) {
        g.a.bind(label);
        g.a.push(mov(Reg::R6, 1));
        if sets_r0 {
            g.a.push(mov(Reg::R0, 1));
        }
        g.a.push(Insn::Exit);
    }
    Generated { program: g.a.finish(), classes }
}

/// The flag program of the issue: `n` branches on bits of an unknown time
/// that each may bump a counter, then a jump on the counter.
pub fn flag_program(n: u32) -> Program {
    let mut a = Asm::new();
    a.push(Insn::Call { helper: H_KTIME });
    a.push(movr(Reg::R6, Reg::R0));
    a.push(mov(Reg::R7, 0));
    for bit in 0..n {
        let skip = a.label();
        // An immediate is a sign-extended 32-bit number: the high bits
        // are tested through a register.
        let test = if bit < 31 {
            Src::Imm(1 << bit)
        } else {
            a.push(Insn::LoadImm64 { dst: Reg::R1, imm: Imm64::Value(1 << (bit % 64)) });
            Src::Reg(Reg::R1)
        };
        a.jump(jmp(Width::W64, Cond::Set, Reg::R6, test), skip);
        a.push(add(Reg::R7, 1));
        a.bind(skip);
    }
    a.push(mov(Reg::R0, 0));
    let end = a.label();
    a.jump(jmp(Width::W64, Cond::Gt, Reg::R7, Src::Imm(n as i32)), end);
    a.push(mov(Reg::R0, 1));
    a.bind(end);
    a.push(Insn::Exit);
    a.finish()
}

fn alu(width: Width, op: AluOp, dst: Reg, imm: i32) -> Insn {
    Insn::Alu { width, op, dst, src: Src::Imm(imm) }
}

impl Gen<'_> {
    /// `r6` = time, `r7` = random, some stack zeroed, `r8` = the map value
    /// of a constant key (null-checked).
    fn prologue(&mut self) {
        self.a.push(Insn::Call { helper: H_KTIME });
        self.a.push(movr(Reg::R6, Reg::R0));
        self.a.push(Insn::Call { helper: H_RANDOM });
        self.a.push(movr(Reg::R7, Reg::R0));
        if self.rng.chance(70) {
            for slot in 0..7 {
                if self.rng.chance(70) {
                    self.store_imm(Size::DW, 8 * slot, 0);
                }
            }
        }
        let key = if self.rng.chance(90) { self.rng.below(4) as i32 } else { 4 };
        self.a.push(st(Size::W, Reg::R10, -4, Src::Imm(key)));
        self.a.push(movr(Reg::R2, Reg::R10));
        self.a.push(add(Reg::R2, -4));
        self.a.push(Insn::LoadImm64 { dst: Reg::R1, imm: Imm64::MapRef(0) });
        self.a.push(Insn::Call { helper: H_LOOKUP });
        let out = self.out;
        self.a.jump(jmp(Width::W64, Cond::Eq, Reg::R0, Src::Imm(0)), out);
        self.a.push(movr(Reg::R8, Reg::R0));
    }

    /// A bound near `edge`: off by one either way a fifth of the time.
    fn near(&mut self, edge: i64) -> i64 {
        match self.rng.below(10) {
            0 => edge + 1,
            1 => edge - 1,
            _ => edge,
        }
    }

    /// One of the two unknown numbers.
    fn unknown(&mut self) -> Reg {
        if self.rng.chance(50) { Reg::R6 } else { Reg::R7 }
    }

    /// `r0 = *(u8 *)(r8 + idx)`: reads the map value at a number.
    fn index_value(&mut self, idx: Reg) {
        self.a.push(movr(Reg::R2, Reg::R8));
        self.a.push(addr(Reg::R2, idx));
        let size = if self.rng.chance(80) { Size::B } else { Size::H };
        if self.rng.chance(70) {
            self.a.push(ld(size, Reg::R0, Reg::R2, 0));
        } else {
            self.a.push(st(size, Reg::R2, 0, Src::Imm(7)));
        }
    }

    /// Stores an immediate at fp-64+`at` and records the bytes written.
    fn store_imm(&mut self, size: Size, at: i16, imm: i32) {
        self.a.push(st(size, Reg::R10, at - 64, Src::Imm(imm)));
        self.mark(at, size.bytes() as i16);
    }

    fn mark(&mut self, at: i16, len: i16) {
        for b in at..at + len {
            self.init[b as usize] = true;
        }
    }

    fn snippet(&mut self, class: &str) {
        match class {
            "flags" => self.flags(),
            "linked" => self.linked(),
            "const-stack" => self.const_stack(),
            "var-stack" => self.var_stack(),
            "callee" => self.callee(),
            "loop" => self.bounded_loop(),
            "alu" => self.alu(),
            _ => self.stack(),
        }
    }

    fn flags(&mut self) {
        let n = if self.rng.chance(5) { 15 + self.rng.below(6) } else { 1 + self.rng.below(12) } as i32;
        let bits = self.unknown();
        let counting = self.rng.chance(70);
        self.a.push(mov(Reg::R9, 0));
        for bit in 0..n {
            let skip = self.a.label();
            let test = if self.rng.chance(80) {
                jmp(Width::W64, Cond::Set, bits, Src::Imm(1 << bit))
            } else {
                let c = self.rng.below(1000) as i32;
                jmp(self.width(), self.rng.pick(&[Cond::Gt, Cond::Lt, Cond::Eq]), bits, Src::Imm(c))
            };
            self.a.jump(test, skip);
            if counting {
                self.a.push(add(Reg::R9, 1));
            } else {
                self.a.push(alu(Width::W64, AluOp::Or, Reg::R9, 1 << (bit % 4)));
            }
            self.a.bind(skip);
        }
        if self.rng.chance(50) {
            let limit = self.near(n as i64) as i32;
            let out = self.out;
            self.a.jump(jmp(Width::W64, Cond::Gt, Reg::R9, Src::Imm(limit)), out);
        } else {
            if !counting || n > VALUE_SIZE as i32 - 1 {
                let mask = self.near(VALUE_SIZE - 1) as i32;
                self.a.push(alu(Width::W64, AluOp::And, Reg::R9, mask));
            }
            self.index_value(Reg::R9);
        }
    }

    fn linked(&mut self) {
        let x = self.unknown();
        let limit = self.near(VALUE_SIZE - 1) as i32;
        let skip = self.a.label();
        let check = |g: &mut Gen, r: Reg| {
            let cond = if g.rng.chance(90) { Cond::Gt } else { Cond::SGt };
            g.a.jump(jmp(Width::W64, cond, r, Src::Imm(limit)), skip);
        };
        match self.rng.below(4) {
            0 => {
                // Check the copy, use the original.
                self.a.push(movr(Reg::R1, x));
                check(self, Reg::R1);
                self.index_value(x);
            }
            1 => {
                // Check the original, use the copy.
                self.a.push(movr(Reg::R1, x));
                check(self, x);
                self.a.push(movr(Reg::R3, Reg::R1));
                self.index_value(Reg::R3);
            }
            2 => {
                // Through a spill: spill, check, fill, use.
                let at = 8 * self.rng.below(7) as i16;
                self.a.push(st(Size::DW, Reg::R10, at - 64, Src::Reg(x)));
                self.mark(at, 8);
                check(self, x);
                self.a.push(ld(Size::DW, Reg::R3, Reg::R10, at - 64));
                self.index_value(Reg::R3);
            }
            _ => {
                // A copy overwritten between the check and the use.
                self.a.push(movr(Reg::R1, x));
                check(self, Reg::R1);
                self.a.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R1, src: Src::Reg(Reg::R1) });
                self.index_value(Reg::R1);
            }
        }
        self.a.bind(skip);
    }

    fn const_stack(&mut self) {
        let at = 8 * self.rng.below(7) as i16;
        let bytes: [u8; 4] = core::array::from_fn(|_| if self.rng.chance(80) { self.rng.below(16) as u8 } else { self.rng.next() as u8 });
        let imm = i32::from_le_bytes(bytes);
        if self.rng.chance(50) {
            self.store_imm(Size::DW, at, imm);
        } else {
            self.a.push(mov(Reg::R3, imm));
            self.a.push(st(Size::DW, Reg::R10, at - 64, Src::Reg(Reg::R3)));
            self.mark(at, 8);
        }
        let size = self.rng.pick(&[Size::B, Size::B, Size::H, Size::W]);
        let within = 8 - size.bytes() as i16;
        let off = self.rng.below(within as u64 + 1) as i16;
        self.a.push(ld(size, Reg::R4, Reg::R10, at + off - 64));
        self.index_value(Reg::R4);
    }

    fn var_stack(&mut self) {
        let span = self.rng.pick(&[8i16, 16, 32]);
        let base = 8 * self.rng.below((64 - span as u64) / 8 + 1) as i16;
        let write = self.rng.chance(40);
        if !write && self.rng.chance(90) {
            for slot in (base..base + span).step_by(8) {
                if !self.init[slot as usize] || self.rng.chance(30) {
                    self.store_imm(Size::DW, slot, 0);
                }
            }
        }
        let x = self.unknown();
        self.a.push(movr(Reg::R1, x));
        let mask = self.near(span as i64 - 1) as i32;
        let width = self.width();
        self.a.push(alu(width, AluOp::And, Reg::R1, mask));
        self.a.push(movr(Reg::R2, Reg::R10));
        self.a.push(add(Reg::R2, (base - 64) as i32));
        self.a.push(addr(Reg::R2, Reg::R1));
        if write {
            self.a.push(st(Size::B, Reg::R2, 0, Src::Imm(1)));
        } else {
            self.a.push(ld(Size::B, Reg::R3, Reg::R2, 0));
            if self.rng.chance(50) {
                self.a.push(alu(Width::W64, AluOp::And, Reg::R3, VALUE_SIZE as i32 - 1));
                self.index_value(Reg::R3);
            }
        }
    }

    fn callee(&mut self) {
        let label = self.a.label();
        let sets_r0 = self.rng.chance(30);
        self.subs.push((label, sets_r0));
        self.a.jump(Insn::CallLocal { off: 0 }, label);
        if self.rng.chance(20) {
            self.a.push(movr(Reg::R9, Reg::R0));
        }
    }

    fn bounded_loop(&mut self) {
        let rounds = 1 + self.rng.below(40) as i32;
        self.a.push(mov(Reg::R9, 0));
        let top = self.a.label();
        self.a.bind(top);
        self.a.push(movr(Reg::R1, Reg::R9));
        let mask = self.near(VALUE_SIZE - 1) as i32;
        self.a.push(alu(Width::W64, AluOp::And, Reg::R1, mask));
        self.index_value(Reg::R1);
        self.a.push(add(Reg::R9, 1));
        let cond = if self.rng.chance(80) { Cond::Lt } else { Cond::Ne };
        let width = self.width();
        self.a.jump(jmp(width, cond, Reg::R9, Src::Imm(rounds)), top);
    }

    fn width(&mut self) -> Width {
        if self.rng.chance(30) { Width::W32 } else { Width::W64 }
    }

    fn alu(&mut self) {
        let x = self.unknown();
        self.a.push(movr(Reg::R1, x));
        for _ in 0..1 + self.rng.below(3) {
            let op = self.rng.pick(&[AluOp::And, AluOp::Rsh, AluOp::Mod, AluOp::Add, AluOp::Sub, AluOp::Xor, AluOp::Or, AluOp::Lsh, AluOp::Mul, AluOp::Arsh]);
            let imm = match op {
                AluOp::Rsh | AluOp::Lsh | AluOp::Arsh => 1 + self.rng.below(40) as i32,
                AluOp::And | AluOp::Mod => 1 + self.rng.below(64) as i32,
                _ => self.rng.below(64) as i32 - 16,
            };
            let width = self.width();
            let imm = if width == Width::W32 && matches!(op, AluOp::Rsh | AluOp::Lsh | AluOp::Arsh) { imm % 32 } else { imm };
            self.a.push(alu(width, op, Reg::R1, imm));
        }
        let skip = self.a.label();
        if self.rng.chance(70) {
            let limit = self.near(VALUE_SIZE - 1) as i32;
            let cond = self.rng.pick(&[Cond::Gt, Cond::Ge, Cond::SGt]);
            let width = self.width();
            self.a.jump(jmp(width, cond, Reg::R1, Src::Imm(limit)), skip);
            if self.rng.chance(30) {
                let low = self.rng.pick(&[Cond::SLt, Cond::Lt]);
                self.a.jump(jmp(Width::W64, low, Reg::R1, Src::Imm(0)), skip);
            }
        }
        self.index_value(Reg::R1);
        self.a.bind(skip);
    }

    fn stack(&mut self) {
        for _ in 0..1 + self.rng.below(4) {
            let size = self.rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
            let n = size.bytes() as i16;
            let at = n * self.rng.below(64 / n as u64) as i16;
            if self.rng.chance(50) {
                let v = self.rng.below(300) as i32;
                self.store_imm(size, at, v);
            } else {
                let x = self.unknown();
                self.a.push(st(size, Reg::R10, at - 64, Src::Reg(x)));
                self.mark(at, n);
            }
        }
        for _ in 0..1 + self.rng.below(3) {
            let size = self.rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
            let n = size.bytes() as i16;
            let written: Vec<i16> = (0..64 / n).map(|k| k * n).filter(|&at| (at..at + n).all(|b| self.init[b as usize])).collect();
            let at = if !written.is_empty() && self.rng.chance(95) { self.rng.pick(&written) } else { n * self.rng.below(64 / n as u64) as i16 };
            self.a.push(ld(size, Reg::R3, Reg::R10, at - 64));
        }
    }
}
