//! The instruction set of RFC 9669 as Rust types.
//!
//! A program is a sequence of 64-bit *slots*. Every instruction fills one
//! slot except the 64-bit immediate load, which fills two; its second slot
//! decodes to [`Insn::Imm64Tail`] so that slot indices, jump offsets and
//! error reports all count the way the RFC (and the Linux verifier log) do.
//! Control never reaches a tail slot: the instruction after an
//! [`Insn::LoadImm64`] at index `i` is at `i + 2` (see [`Insn::slots`]).
//!
//! Decoding ([`crate::decode()`]) turns raw slots into these types and rejects
//! every encoding the RFC does not define; encoding turns them back into
//! exactly the same bits.

use core::fmt;

/// One raw 8-byte instruction slot, fields as the RFC lays them out.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RawInsn {
    /// The opcode byte: class in the low 3 bits.
    pub code: u8,
    /// Destination register (low nibble of the register byte).
    pub dst: u8,
    /// Source register (high nibble of the register byte).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl RawInsn {
    /// Reads one slot from its 8 little-endian bytes.
    pub fn from_bytes(b: [u8; 8]) -> RawInsn {
        RawInsn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// The slot as 8 little-endian bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.src << 4) | (self.dst & 0x0f),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// The slot as one little-endian 64-bit word (the conformance `-- raw` form).
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// Reads one slot from a little-endian 64-bit word.
    pub fn from_u64(w: u64) -> RawInsn {
        RawInsn::from_bytes(w.to_le_bytes())
    }
}

/// A register, `r0` to `r10`. `r10` is the read-only frame pointer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Reg(u8);

impl Reg {
    /// Return value, and the result of helper calls.
    pub const R0: Reg = Reg(0);
    /// First argument; the context pointer at program entry.
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R7: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    /// The frame pointer: the top of the current function's stack frame.
    pub const R10: Reg = Reg(10);
    /// Number of registers.
    pub const COUNT: usize = 11;

    /// The register numbered `n`, if there is one.
    pub fn new(n: u8) -> Option<Reg> {
        (n <= 10).then_some(Reg(n))
    }

    /// The register's number, 0 to 10.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The register's number as the encoding stores it.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operand width of an ALU or jump instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Width {
    /// 32-bit: operates on the low halves; ALU results zero-extend.
    W32,
    /// 64-bit.
    W64,
}

/// The second operand: a register or the sign-extended 32-bit immediate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Src {
    Reg(Reg),
    Imm(i32),
}

/// Binary ALU operations (RFC 9669 section 4.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    /// Unsigned division; division by zero gives 0.
    Div,
    /// Signed division (offset 1); division by zero gives 0.
    SDiv,
    Or,
    And,
    Lsh,
    /// Logical right shift.
    Rsh,
    /// Unsigned modulo; modulo by zero leaves dst unchanged.
    Mod,
    /// Signed modulo (offset 1).
    SMod,
    Xor,
    Mov,
    /// Sign-extending move from the low 8, 16 or 32 bits of src (offset 8/16/32).
    MovSx(u8),
    /// Arithmetic right shift.
    Arsh,
}

/// Byte-order operations (RFC 9669 section 4.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Endian {
    /// Convert to little-endian (`le16/le32/le64`): a truncation on x86-64.
    ToLe,
    /// Convert to big-endian (`be16/be32/be64`): a byte swap on x86-64.
    ToBe,
    /// Unconditional byte swap (`bswap16/32/64`, ALU64 class).
    Swap,
}

/// Size of a memory access.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    /// The access size in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }
}

/// Conditions of conditional jumps (RFC 9669 section 4.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Cond {
    Eq,
    /// Unsigned `>`.
    Gt,
    /// Unsigned `>=`.
    Ge,
    /// `dst & src != 0`.
    Set,
    Ne,
    /// Signed `>`.
    SGt,
    /// Signed `>=`.
    SGe,
    /// Unsigned `<`.
    Lt,
    /// Unsigned `<=`.
    Le,
    /// Signed `<`.
    SLt,
    /// Signed `<=`.
    SLe,
}

/// Atomic read-modify-write operations (RFC 9669 section 5.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AtomicOp {
    Add,
    Or,
    And,
    Xor,
    /// Exchange (always fetches).
    Xchg,
    /// Compare with r0 and exchange (always fetches into r0).
    CmpXchg,
}

/// What a 64-bit immediate load means (the `src` field of `lddw`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Imm64 {
    /// `src = 0`: the immediate itself.
    Value(u64),
    /// `src = 1`, `map_by_fd(imm)`: a reference to map number `imm` of the program.
    MapRef(u32),
    /// `src = 2`, `map_val(map_by_fd(imm)) + next_imm`: the address of byte
    /// `offset` of the value of map `map` (used for read-only data).
    MapValue { map: u32, offset: u32 },
    /// `src = 3`, `var_addr(imm)`: the address of variable `imm`.
    VarAddr(u32),
    /// `src = 4`, `code_addr(imm)`: the address of instruction `imm`.
    CodeAddr(u32),
    /// `src = 5`, `map_by_idx(imm)`.
    MapByIdx(u32),
    /// `src = 6`, `map_val(map_by_idx(imm)) + next_imm`.
    MapValueByIdx { map: u32, offset: u32 },
}

/// One decoded instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Insn {
    /// `dst = dst OP src` (or `dst = src` for moves), on 32 or 64 bits.
    Alu { width: Width, op: AluOp, dst: Reg, src: Src },
    /// `dst = -dst`.
    Neg { width: Width, dst: Reg },
    /// Byte-order conversion of the low `bits` (16, 32 or 64) of dst.
    Endian { kind: Endian, bits: u8, dst: Reg },
    /// 64-bit immediate load: two slots.
    LoadImm64 { dst: Reg, imm: Imm64 },
    /// The second slot of a [`Insn::LoadImm64`]; never executed.
    Imm64Tail,
    /// `dst = *(size *)(src + off)`, zero- or sign-extended.
    Load { size: Size, signed: bool, dst: Reg, src: Reg, off: i16 },
    /// `*(size *)(dst + off) = src` (a register for STX, an immediate for ST).
    Store { size: Size, dst: Reg, off: i16, src: Src },
    /// Atomic operation on `*(size *)(dst + off)` with src; size is W or DW.
    Atomic { size: Size, op: AtomicOp, fetch: bool, dst: Reg, src: Reg, off: i16 },
    /// Unconditional jump by `off` slots: `ja` (JMP class, 16-bit offset in
    /// the offset field) or, when `long` is set, `gotol` (JMP32 class, 32-bit
    /// offset in the immediate). `long` only records the encoding.
    Ja { off: i32, long: bool },
    /// Conditional jump by `off` slots when `dst COND src` holds.
    Jump { width: Width, cond: Cond, dst: Reg, src: Src, off: i16 },
    /// Call of helper function `id`.
    Call { helper: u32 },
    /// Local (bpf-to-bpf) call of the function starting `off + 1` slots on.
    CallLocal { off: i32 },
    /// Return from the current function (or the program) with r0.
    Exit,
}

impl Insn {
    /// How many slots the instruction fills.
    pub fn slots(&self) -> usize {
        match self {
            Insn::LoadImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// Slot index of the jump or call target of the instruction at `pc`, if
    /// it has one. The result may be out of range; the verifier checks it.
    pub fn target(&self, pc: usize) -> Option<i64> {
        let off = match *self {
            Insn::Ja { off, .. } => off as i64,
            Insn::Jump { off, .. } => off as i64,
            Insn::CallLocal { off } => off as i64,
            _ => return None,
        };
        Some(pc as i64 + 1 + off)
    }
}
