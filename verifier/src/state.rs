//! The abstract state at one instruction: what every register and every
//! stack byte may hold, for each frame of the current call chain.
//!
//! * [`Value`]: uninitialised, a [`Scalar`], a [`Ptr`] into a [`Region`]
//!   (with its offset as a scalar, so variable offsets have bounds), or a
//!   map reference.
//! * A pointer that may be NULL (a map lookup's result) carries an `id`
//!   shared by all its copies, so a null check on one copy resolves all.
//! * Numbers copied whole (`r2 = r1`, a spill and its fill, within one
//!   frame) share a *link* (`Frame::links`, `Slot::link`): they hold the
//!   same number, so what a jump teaches about one ([`State::refine`])
//!   holds for all. Any other write to a register or slot ends its link,
//!   and a link no other copy shares is dropped before a state is stored
//!   ([`State::drop_single_links`]).
//! * The stack of a frame is a vector of 8-byte slots, grown as the program
//!   touches deeper bytes. Each byte is [`Byte::Invalid`] (never written),
//!   [`Byte::Misc`] (some data), [`Byte::Zero`] or [`Byte::Spill`] (part of
//!   a register stored whole at an aligned slot, kept in `Slot::spill` with
//!   its type and bounds).
//!
//! [`State::covers`] decides pruning (every behaviour of the new state is a
//! behaviour of an old, fully explored one) and [`State::same`] decides the
//! infinite-loop check; both rename maybe-NULL ids and links consistently
//! instead of asking for the same numbers.

use alloc::vec::Vec;
use core::fmt;

use crate::domain::Scalar;
use crate::insn::Reg;

mod ids;

use ids::{IdMap, Ids};

/// Where a pointer points.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Region {
    /// The context (R1 at entry).
    Ctx,
    /// The stack of frame number `frame` (0 = the entry function's).
    Stack { frame: u8 },
    /// A value of map `map` (or the read-only data, a map of kind ReadOnly).
    MapValue { map: u32 },
    /// `size` bytes of helper-owned memory.
    Mem { size: u32, writable: bool },
}

/// A pointer: a region and an offset from its start (for the stack, from
/// the frame pointer, so negative).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ptr {
    pub region: Region,
    pub off: Scalar,
    /// Whether the pointer may be NULL (not yet checked).
    pub maybe_null: bool,
    /// Identity shared by the copies of a maybe-NULL pointer (0 = none).
    pub id: u32,
}

/// What a register (or a spilled stack slot) may hold.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Value {
    /// Never written (or clobbered by a call).
    Uninit,
    /// A number.
    Scalar(Scalar),
    /// A pointer.
    Ptr(Ptr),
    /// A reference to map number `n`, usable only as a helper argument.
    MapRef(u32),
}

impl Value {
    /// A known constant.
    pub fn constant(v: u64) -> Value {
        Value::Scalar(Scalar::constant(v))
    }

    /// A pointer to `region` at constant offset `off`.
    pub fn ptr(region: Region, off: i64) -> Value {
        Value::Ptr(Ptr { region, off: Scalar::constant(off as u64), maybe_null: false, id: 0 })
    }

    /// Whether the value is (or may be) an address.
    pub fn is_pointer(&self) -> bool {
        matches!(self, Value::Ptr(_) | Value::MapRef(_))
    }

    /// Whether every concrete value of `new` is one of `self`'s, for
    /// pruning; `ids` maps maybe-NULL ids of `self` to those of `new`.
    fn covers(&self, new: &Value, ids: &mut Ids) -> bool {
        match (self, new) {
            (Value::Uninit, _) => true,
            (Value::Scalar(a), Value::Scalar(b)) => a.covers(b),
            (Value::Ptr(a), Value::Ptr(b)) => {
                a.region == b.region
                    && a.maybe_null == b.maybe_null
                    && a.off.covers(&b.off)
                    && (!a.maybe_null || ids.null.map(a.id, b.id))
            }
            (Value::MapRef(a), Value::MapRef(b)) => a == b,
            _ => false,
        }
    }
}

/// What one stack byte holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Byte {
    /// Never written: reading it is an error.
    Invalid,
    /// Some data.
    Misc,
    /// Known zero.
    Zero,
    /// Part of a register spilled whole into its slot.
    Spill,
}

/// Eight stack bytes: `[fp - 8(i+1), fp - 8i)` for slot `i`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Slot {
    /// Bytes from the lowest address up.
    pub bytes: [Byte; 8],
    /// The spilled register when all bytes are [`Byte::Spill`].
    pub spill: Value,
    /// The link of a spilled number (0: none).
    pub link: u32,
}

impl Slot {
    /// A slot never written.
    pub const INVALID: Slot = Slot { bytes: [Byte::Invalid; 8], spill: Value::Uninit, link: 0 };

    /// A slot holding the whole register `v`, linked as `link`.
    pub fn spilled(v: Value, link: u32) -> Slot {
        Slot { bytes: [Byte::Spill; 8], spill: v, link }
    }

    /// A slot of the bytes `bytes`, no register spilled.
    pub fn data(bytes: [Byte; 8]) -> Slot {
        Slot { bytes, spill: Value::Uninit, link: 0 }
    }

    /// Whether the slot holds a whole spilled register.
    pub fn is_spill(&self) -> bool {
        self.bytes[0] == Byte::Spill
    }

    /// Whether the slot holds (part of) a spilled pointer.
    pub fn holds_pointer(&self) -> bool {
        self.is_spill() && self.spill.is_pointer()
    }

    /// Whether every concrete content of `new` is one of `self`'s; a
    /// spilled number not `exact` covers any spilled number, whatever its
    /// link, and a known zero byte not `exact` covers any data byte. Links
    /// are compared only where they may matter (`linked`).
    fn covers(&self, new: &Slot, exact: bool, linked: bool, ids: &mut Ids) -> bool {
        if self.is_spill() {
            let any_number = !exact && matches!((&self.spill, &new.spill), (Value::Scalar(_), Value::Scalar(_)));
            return new.is_spill()
                && (any_number
                    || (self.spill.covers(&new.spill, ids) && (!linked || ids.links.link_covers(self.link, new.link))));
        }
        let readable_as_data = !new.holds_pointer();
        self.bytes.iter().zip(&new.bytes).all(|(o, n)| match (o, n) {
            (Byte::Invalid, _) => true,
            (Byte::Misc, Byte::Misc | Byte::Zero) => true,
            (Byte::Misc, Byte::Spill) => readable_as_data,
            (Byte::Zero, Byte::Zero) => true,
            (Byte::Zero, Byte::Misc) => !exact,
            (Byte::Zero, Byte::Spill) => !exact && readable_as_data,
            _ => false,
        })
    }
}

/// The registers and stack of one function activation.
///
/// Not `Clone`: a copy allocates, so it is made only by
/// [`Frame::try_clone`], which reports running out of memory.
#[derive(PartialEq, Eq, Debug)]
pub struct Frame {
    pub regs: [Value; Reg::COUNT],
    /// The link of each register holding a number (0: none).
    pub links: [u32; Reg::COUNT],
    /// The registers whose values, as they are now, already decided
    /// something on this path (precision tracking: a decision on them
    /// needs no walk back, only a mark in the states stored since), and
    /// for each the number of states stored before that.
    pub precise: u16,
    pub precise_since: [u32; Reg::COUNT],
    /// Stack slots, slot `i` covering `fp - 8(i+1) .. fp - 8i`.
    pub stack: Vec<Slot>,
    /// Slot index of the call that created the frame (0 for the entry).
    pub callsite: usize,
    /// Index of the function the frame runs.
    pub func: usize,
}

impl Frame {
    /// A frame with every register uninitialised except r10.
    pub fn new(frame_no: u8, callsite: usize, func: usize) -> Frame {
        let mut regs = [Value::Uninit; Reg::COUNT];
        regs[10] = Value::ptr(Region::Stack { frame: frame_no }, 0);
        Frame { regs, links: [0; Reg::COUNT], precise: 0, precise_since: [0; Reg::COUNT], stack: Vec::new(), callsite, func }
    }

    /// A copy, or `None` when memory is short.
    pub fn try_clone(&self) -> Option<Frame> {
        let mut stack = Vec::new();
        stack.try_reserve_exact(self.stack.len()).ok()?;
        stack.extend_from_slice(&self.stack);
        Some(Frame {
            regs: self.regs,
            links: self.links,
            precise: self.precise,
            precise_since: self.precise_since,
            stack,
            callsite: self.callsite,
            func: self.func,
        })
    }

    /// The slot holding byte `fp + off` (off in -512..0), if allocated.
    pub fn slot(&self, off: i64) -> Option<&Slot> {
        self.stack.get(slot_index(off))
    }

    /// Covers `self`'s registers in `live` and its stack over `new`'s. A
    /// live register or spilled number not in `exact` need only be a
    /// number in both, whatever its link (as Linux's `check_ids`, links
    /// are compared only where values are, and here only where they may
    /// still matter: `links`).
    fn covers(&self, new: &Frame, live: u16, exact: Exact, links: Exact, ids: &mut Ids) -> bool {
        if self.callsite != new.callsite {
            return false;
        }
        for r in 0..Reg::COUNT {
            if live & (1 << r) == 0 {
                continue;
            }
            let any_number = exact.regs & (1 << r) == 0
                && matches!((&self.regs[r], &new.regs[r]), (Value::Scalar(_), Value::Scalar(_)));
            if any_number {
                continue;
            }
            let linked = links.regs & (1 << r) != 0;
            if !self.regs[r].covers(&new.regs[r], ids) || (linked && !ids.links.link_covers(self.links[r], new.links[r])) {
                return false;
            }
        }
        let n = self.stack.len().max(new.stack.len());
        let has = |set: u64, i: usize| set.checked_shr(i as u32).is_none_or(|m| m & 1 != 0);
        (0..n).all(|i| {
            let o = self.stack.get(i).unwrap_or(&Slot::INVALID);
            let s = new.stack.get(i).unwrap_or(&Slot::INVALID);
            o.covers(s, has(exact.slots, i), has(links.slots, i), ids)
        })
    }

    fn same(&self, new: &Frame, live: u16, links: &mut IdMap) -> bool {
        let regs_same = (0..Reg::COUNT).all(|r| {
            live & (1 << r) == 0 || (self.regs[r] == new.regs[r] && links.link_same(self.links[r], new.links[r]))
        });
        let n = self.stack.len().max(new.stack.len());
        regs_same
            && self.callsite == new.callsite
            && (0..n).all(|i| {
                let (o, s) = (self.stack.get(i).unwrap_or(&Slot::INVALID), new.stack.get(i).unwrap_or(&Slot::INVALID));
                o.bytes == s.bytes && o.spill == s.spill && links.link_same(o.link, s.link)
            })
    }
}

/// One step of the fingerprint hash (the multiply-rotate scheme of rustc's
/// FxHasher).
fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

impl Value {
    /// One word that equal values share, for fingerprints.
    fn summary(&self) -> u64 {
        match self {
            Value::Uninit => 0,
            Value::Scalar(s) => s.summary(),
            Value::Ptr(p) => {
                let region = match p.region {
                    Region::Ctx => 1,
                    Region::Stack { frame } => 2 | (frame as u64) << 8,
                    Region::MapValue { map } => 3 | (map as u64) << 8,
                    Region::Mem { size, writable } => 4 | (writable as u64) << 3 | (size as u64) << 8,
                };
                p.off.summary() ^ region.rotate_left(32) ^ ((p.id as u64) << 1 | p.maybe_null as u64).rotate_left(20)
            }
            Value::MapRef(m) => !(*m as u64),
        }
    }
}

impl Slot {
    /// One word that equal slots share, for fingerprints.
    fn summary(&self) -> u64 {
        u64::from_le_bytes(self.bytes.map(|b| b as u8)) ^ self.spill.summary().rotate_left(1)
    }
}

/// The index of the slot holding byte `fp + off` (off in -512..0).
pub fn slot_index(off: i64) -> usize {
    ((-off - 1) / 8) as usize
}

/// The position of byte `fp + off` within its slot.
pub fn byte_index(off: i64) -> usize {
    (off + 8 * (slot_index(off) as i64 + 1)) as usize
}

/// Which numbers of one frame pruning compares exactly: the registers and
/// the stack slots (bit `i` for slot `i`) whose values may decide a check.
/// The others need only be numbers in both states. Packed (10 bytes, not
/// 16): every stored state keeps one per frame of its marks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C, packed(2))]
pub struct Exact {
    pub regs: u16,
    pub slots: u64,
}

impl Exact {
    /// Everything compared exactly.
    pub const ALL: Exact = Exact { regs: u16::MAX, slots: u64::MAX };
}

impl core::ops::BitOr for Exact {
    type Output = Exact;

    fn bitor(self, other: Exact) -> Exact {
        Exact { regs: self.regs | other.regs, slots: self.slots | other.slots }
    }
}

/// The abstract state: the frames of the current call chain.
///
/// Not `Clone`: the analysis copies states at every fork and prune point,
/// and a copy that cannot be allocated must refuse the program, not stop
/// the kernel, so copies are made by [`State::try_clone`].
#[derive(PartialEq, Eq, Debug)]
pub struct State {
    /// Frame 0 is the entry function's; the last is the running one.
    pub frames: Vec<Frame>,
}

impl State {
    /// A copy, or `None` when memory is short.
    pub fn try_clone(&self) -> Option<State> {
        let mut frames = Vec::new();
        frames.try_reserve_exact(self.frames.len()).ok()?;
        for f in &self.frames {
            frames.push(f.try_clone()?);
        }
        Some(State { frames })
    }

    /// The running frame.
    pub fn cur(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }

    /// The running frame, mutably.
    pub fn cur_mut(&mut self) -> &mut Frame {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }

    /// Register `r` of the running frame.
    pub fn reg(&self, r: Reg) -> &Value {
        &self.cur().regs[r.index()]
    }

    /// Sets register `r` of the running frame, ending its link and its
    /// precision mark.
    #[inline]
    pub fn set(&mut self, r: Reg, v: Value) {
        let f = self.cur_mut();
        f.regs[r.index()] = v;
        f.links[r.index()] = 0;
        f.precise &= !(1 << r.index());
    }

    /// Sets register `r` of the running frame to a value computed from its
    /// own alone (`r op= imm`), ending its link; its precision mark stays
    /// (walking back over the operation keeps a mark on `r`).
    #[inline]
    pub fn update(&mut self, r: Reg, v: Value) {
        let f = self.cur_mut();
        f.regs[r.index()] = v;
        f.links[r.index()] = 0;
    }

    /// About how many bytes the state occupies (for the memory limit).
    pub fn bytes(&self) -> usize {
        let slots: usize = self.frames.iter().map(|f| f.stack.len()).sum();
        core::mem::size_of::<State>()
            + self.frames.len() * core::mem::size_of::<Frame>()
            + slots * core::mem::size_of::<Slot>()
    }

    /// Whether every behaviour of `new` is one of `self`'s. `live[i]` is the
    /// set of registers of frame `i` that may still be read, `exact[i]` the
    /// numbers compared exactly and `links[i]` those whose links may still
    /// matter (one entry per frame; with fewer, nothing is covered).
    pub fn covers(&self, new: &State, live: &[u16], exact: &[Exact], links: &[Exact]) -> bool {
        let mut ids = Ids::default();
        self.frames.len() == new.frames.len()
            && live.len() == new.frames.len()
            && exact.len() == new.frames.len()
            && links.len() == new.frames.len()
            && self
                .frames
                .iter()
                .zip(&new.frames)
                .zip(live.iter().zip(exact).zip(links))
                .all(|((o, n), ((&l, &e), &k))| o.covers(n, l, e, k, &mut ids))
    }

    /// Whether `new` is exactly `self` (over live registers).
    pub fn same(&self, new: &State, live: &[u16]) -> bool {
        let mut links = IdMap::default();
        self.frames.len() == new.frames.len()
            && live.len() == new.frames.len()
            && self.frames.iter().zip(&new.frames).zip(live).all(|((o, n), &l)| o.same(n, l, &mut links))
    }

    /// A hash of what [`State::same`] compares: equal states (over live
    /// registers) have equal fingerprints, so most differing states are
    /// told apart without a full comparison.
    pub fn fingerprint(&self, live: &[u16]) -> u64 {
        let mut h = self.frames.len() as u64;
        for (frame, &l) in self.frames.iter().zip(live) {
            h = mix(h, frame.callsite as u64);
            for (r, v) in frame.regs.iter().enumerate() {
                if l & (1 << r) != 0 {
                    h = mix(h, v.summary());
                }
            }
            // Trailing never-written slots do not count (see `Frame::same`).
            let used = frame.stack.iter().rposition(|s| *s != Slot::INVALID).map_or(0, |i| i + 1);
            for slot in &frame.stack[..used] {
                h = mix(h, slot.summary());
            }
        }
        h
    }

    /// Applies `f` to every register and spilled slot of every frame.
    pub fn for_each_value(&mut self, mut f: impl FnMut(&mut Value)) {
        for frame in &mut self.frames {
            frame.regs.iter_mut().for_each(&mut f);
            for slot in &mut frame.stack {
                if slot.is_spill() {
                    f(&mut slot.spill);
                }
            }
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Ctx => write!(f, "ctx"),
            Region::Stack { frame } => write!(f, "fp{frame}"),
            Region::MapValue { map } => write!(f, "map_value(m{map})"),
            Region::Mem { size, writable: true } => write!(f, "mem({size})"),
            Region::Mem { size, writable: false } => write!(f, "rdonly_mem({size})"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Uninit => write!(f, "uninit"),
            Value::Scalar(s) => write!(f, "{s}"),
            Value::MapRef(m) => write!(f, "map_ref(m{m})"),
            Value::Ptr(p) => {
                if p.maybe_null {
                    match p.region {
                        Region::MapValue { map } => write!(f, "map_value_or_null(m{map}, id={})", p.id)?,
                        Region::Mem { size, .. } => write!(f, "mem_or_null({size}, id={})", p.id)?,
                        r => write!(f, "{r}_or_null(id={})", p.id)?,
                    }
                } else {
                    write!(f, "{}", p.region)?;
                }
                match p.off.as_const() {
                    Some(o) if (o as i64) < 0 => write!(f, " - {}", (o as i64).unsigned_abs()),
                    Some(o) => write!(f, " + {o}"),
                    None => write!(f, " + {}", p.off),
                }
            }
        }
    }
}

impl fmt::Display for State {
    /// The live registers and written stack slots of the running frame, as
    /// the verbose log prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frame = self.cur();
        let mut sep = "";
        if self.frames.len() > 1 {
            write!(f, "frame{}: ", self.frames.len() - 1)?;
        }
        for (i, v) in frame.regs.iter().enumerate() {
            if *v != Value::Uninit {
                write!(f, "{sep}r{i}={v}")?;
                sep = " ";
            }
        }
        for (i, slot) in frame.stack.iter().enumerate() {
            let off = -8 * (i as i64 + 1);
            if slot.is_spill() {
                write!(f, "{sep}fp{off}={}", slot.spill)?;
            } else if slot.bytes.iter().any(|b| *b != Byte::Invalid) {
                let marks: alloc::string::String = slot
                    .bytes
                    .iter()
                    .map(|b| match b {
                        Byte::Invalid => '?',
                        Byte::Misc => 'm',
                        Byte::Zero => '0',
                        Byte::Spill => 's',
                    })
                    .collect();
                write!(f, "{sep}fp{off}={marks}")?;
            } else {
                continue;
            }
            sep = " ";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
