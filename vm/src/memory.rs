//! The interpreter's memory: regions in a fake address space.
//!
//! A program can only reach memory the interpreter handed it: the context,
//! one stack per call frame, map values, read-only data and buffers a helper
//! provides. Each is a *region*, and a pointer to it is an address of the
//! form
//!
//! ```text
//!   63     56 55        44 43        32 31                 0
//!  +---------+------------+------------+--------------------+
//!  |  0x5a   | region id  | generation |  offset in region  |
//!  +---------+------------+------------+--------------------+
//! ```
//!
//! which is never a real (canonical) x86-64 address. Every access is looked
//! up by id, checked against the region's length (and, for maps, against the
//! bounds of one value) and against per-byte flags, then served from the
//! region's own bytes: no access ever touches memory outside the regions.
//! A stack region is reused by the next call at the same depth with a new
//! generation, so a pointer into a returned frame no longer resolves.
//!
//! Per-byte flags: [`READ`], [`WRITE`], [`INIT`] (written at least once; only
//! stack bytes start without it) and [`PTR`] (holds part of a pointer; only
//! stack bytes may, in checking mode).

use alloc::vec;
use alloc::vec::Vec;

use crate::map::Map;
use crate::violation::{LeakTarget, ViolationKind};

/// The byte may be read.
pub const READ: u8 = 1;
/// The byte may be written.
pub const WRITE: u8 = 2;
/// The byte holds a value written by the program or its environment.
pub const INIT: u8 = 4;
/// The byte holds part of a pointer.
pub const PTR: u8 = 8;

const TAG: u64 = 0x5a << 56;
const MAX_REGIONS: usize = 1 << 12;
const GEN_MASK: u16 = (1 << 12) - 1;

/// What a region is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RegionKind {
    /// The program's context (r1 at entry).
    Context,
    /// The stack frame of call depth `depth` (0 = the entry function).
    Stack { depth: usize },
    /// The values of map `index`.
    MapValues { index: usize },
    /// A handle standing for map `index` (what `lddw r1, map[N]` loads);
    /// it has no bytes.
    MapHandle { index: usize },
    /// Memory a helper or the caller provides.
    Buffer,
}

struct Region {
    kind: RegionKind,
    len: usize,
    /// Accesses must stay inside one element of this size (0: no elements).
    elem: usize,
    /// The bytes (empty for map values, which live in the map).
    bytes: Vec<u8>,
    /// Per-byte flags, or empty when `flags` applies to every byte.
    shadow: Vec<u8>,
    flags: u8,
    generation: u16,
    live: bool,
}

/// All regions, and the maps whose values some of them are.
pub struct Memory {
    regions: Vec<Region>,
    maps: Vec<Map>,
    /// Region ids of each map's values and handle.
    map_regions: Vec<(usize, usize)>,
    /// Region id of the stack at each depth.
    stacks: Vec<usize>,
    checking: bool,
    /// The CPU the run stands for: whose values of a per-CPU array map the
    /// map helpers reach.
    cpu: usize,
}

fn address(id: usize, generation: u16, offset: usize) -> u64 {
    TAG | (id as u64) << 44 | ((generation & GEN_MASK) as u64) << 32 | offset as u64
}

/// Splits an address into region id, generation and offset.
fn split(addr: u64) -> Option<(usize, u16, usize)> {
    if addr & (0xff << 56) != TAG {
        return None;
    }
    let id = ((addr >> 44) & 0xfff) as usize;
    let generation = ((addr >> 32) & 0xfff) as u16;
    Some((id, generation, (addr & 0xffff_ffff) as usize))
}

impl Memory {
    /// Empty memory. In checking mode, reads of uninitialised stack bytes and
    /// pointers stored outside the stack are violations.
    pub fn new(checking: bool) -> Memory {
        Memory {
            regions: Vec::new(),
            maps: Vec::new(),
            map_regions: Vec::new(),
            stacks: Vec::new(),
            checking,
            cpu: 0,
        }
    }

    /// The CPU the run stands for (0 unless [`Memory::set_cpu`] said).
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// Makes the run stand for CPU `cpu`: map helpers then reach that CPU's
    /// values of per-CPU array maps.
    pub fn set_cpu(&mut self, cpu: usize) {
        self.cpu = cpu;
    }

    fn add(
        &mut self,
        kind: RegionKind,
        bytes: Vec<u8>,
        len: usize,
        shadow: Vec<u8>,
        flags: u8,
    ) -> Result<u64, ViolationKind> {
        if self.regions.len() >= MAX_REGIONS || len > u32::MAX as usize {
            return Err(ViolationKind::Unsupported(
                "too many or too large memory regions",
            ));
        }
        let region = Region {
            kind,
            len,
            elem: 0,
            bytes,
            shadow,
            flags,
            generation: 0,
            live: true,
        };
        self.regions.push(region);
        Ok(address(self.regions.len() - 1, 0, 0))
    }

    /// Adds the context: its bytes and, per byte, [`READ`] and/or [`WRITE`].
    /// Returns the pointer to its first byte.
    pub fn add_context(&mut self, bytes: Vec<u8>, perms: &[u8]) -> Result<u64, ViolationKind> {
        let shadow = (0..bytes.len())
            .map(|i| perms.get(i).copied().unwrap_or(0) & (READ | WRITE) | INIT)
            .collect();
        let len = bytes.len();
        self.add(RegionKind::Context, bytes, len, shadow, 0)
    }

    /// Adds a buffer (e.g. memory a helper returns), readable and, if
    /// `writable`, writable. Returns the pointer to its first byte.
    pub fn add_buffer(&mut self, bytes: Vec<u8>, writable: bool) -> Result<u64, ViolationKind> {
        let flags = READ | INIT | if writable { WRITE } else { 0 };
        let len = bytes.len();
        self.add(RegionKind::Buffer, bytes, len, Vec::new(), flags)
    }

    /// Adds a map; `lddw rX, map[N]` refers to the N-th map added.
    pub fn add_map(&mut self, map: Map) -> Result<usize, ViolationKind> {
        let index = self.maps.len();
        let (len, elem) = (map.values().len(), map.value_size() as usize);
        let flags = READ | INIT | if map.is_read_only() { 0 } else { WRITE };
        let values = self.add(
            RegionKind::MapValues { index },
            Vec::new(),
            len,
            Vec::new(),
            flags,
        )?;
        let handle = self.add(
            RegionKind::MapHandle { index },
            Vec::new(),
            0,
            Vec::new(),
            0,
        )?;
        let id = |a: u64| split(a).map_or(0, |(id, _, _)| id);
        self.regions[id(values)].elem = elem;
        self.map_regions.push((id(values), id(handle)));
        self.maps.push(map);
        Ok(index)
    }

    pub fn maps(&self) -> &[Map] {
        &self.maps
    }

    pub fn map(&self, index: usize) -> Option<&Map> {
        self.maps.get(index)
    }

    pub fn map_mut(&mut self, index: usize) -> Option<&mut Map> {
        self.maps.get_mut(index)
    }

    /// The value `lddw rX, map[index]` loads: a handle for the map.
    pub fn map_handle(&self, index: usize) -> Option<u64> {
        self.map_regions.get(index).map(|&(_, h)| address(h, 0, 0))
    }

    /// The map a handle stands for.
    pub fn map_of_handle(&self, addr: u64) -> Option<usize> {
        match split(addr) {
            Some((id, 0, 0)) => match self.regions.get(id)?.kind {
                RegionKind::MapHandle { index } => Some(index),
                _ => None,
            },
            _ => None,
        }
    }

    /// The address of the value in `slot` of map `index`.
    pub fn map_value_addr(&self, index: usize, slot: u32) -> Option<u64> {
        let &(values, _) = self.map_regions.get(index)?;
        let offset = slot as usize * self.maps[index].value_size() as usize;
        Some(address(values, 0, offset))
    }

    /// The bytes of the region `addr` points into (map values excluded: see
    /// [`Memory::map`]).
    pub fn region_bytes(&self, addr: u64) -> Option<&[u8]> {
        let (id, _, _) = split(addr)?;
        self.regions.get(id).map(|r| r.bytes.as_slice())
    }

    /// Makes a fresh stack frame of `size` bytes for call depth `depth`;
    /// returns its frame pointer (one past its last byte).
    pub(crate) fn push_stack(&mut self, depth: usize, size: usize) -> Result<u64, ViolationKind> {
        let checking = self.checking;
        let fresh = if checking {
            READ | WRITE
        } else {
            READ | WRITE | INIT
        };
        if let Some(&id) = self.stacks.get(depth) {
            let r = &mut self.regions[id];
            r.generation = r.generation.wrapping_add(1) & GEN_MASK;
            r.live = true;
            r.len = size;
            r.bytes.clear();
            r.bytes.resize(size, 0);
            r.shadow.clear();
            r.shadow.resize(size, fresh);
            return Ok(address(id, r.generation, size));
        }
        let top = self.add(
            RegionKind::Stack { depth },
            vec![0; size],
            size,
            vec![fresh; size],
            0,
        )?;
        self.stacks.push(self.regions.len() - 1);
        Ok(top + size as u64)
    }

    /// Ends the stack frame of depth `depth`: pointers into it stop resolving.
    pub(crate) fn pop_stack(&mut self, depth: usize) {
        if let Some(&id) = self.stacks.get(depth) {
            self.regions[id].live = false;
        }
    }

    /// Finds the region and offset of an access of `size` bytes.
    fn locate(&self, addr: u64, size: usize) -> Result<(usize, usize), ViolationKind> {
        let (id, generation, off) = split(addr).ok_or(ViolationKind::OutOfRegion)?;
        let r = self
            .regions
            .get(id)
            .filter(|r| r.live && r.generation == generation);
        let r = r.ok_or(ViolationKind::OutOfRegion)?;
        let end = off
            .checked_add(size)
            .filter(|&e| e <= r.len)
            .ok_or(ViolationKind::OutOfRegion)?;
        if r.elem != 0 && size > 0 && off / r.elem != (end - 1) / r.elem {
            return Err(ViolationKind::OutOfRegion);
        }
        Ok((id, off))
    }

    fn flags(&self, id: usize, i: usize) -> u8 {
        let r = &self.regions[id];
        if r.shadow.is_empty() {
            r.flags
        } else {
            r.shadow[i]
        }
    }

    fn bytes(&self, id: usize) -> &[u8] {
        match self.regions[id].kind {
            RegionKind::MapValues { index } => self.maps[index].values(),
            _ => &self.regions[id].bytes,
        }
    }

    fn bytes_mut(&mut self, id: usize) -> &mut [u8] {
        match self.regions[id].kind {
            RegionKind::MapValues { index } => self.maps[index].values_mut(),
            _ => &mut self.regions[id].bytes,
        }
    }

    /// Checks that `len` bytes at `addr` may be read; returns where they are
    /// and whether any of them holds part of a pointer.
    fn check_read(&self, addr: u64, len: usize) -> Result<(usize, usize, bool), ViolationKind> {
        let (id, off) = self.locate(addr, len)?;
        let mut ptr = false;
        for i in off..off + len {
            let f = self.flags(id, i);
            if f & READ == 0 {
                return Err(ViolationKind::NoReadPermission);
            }
            if self.checking && f & INIT == 0 {
                return Err(ViolationKind::UninitStack);
            }
            ptr |= f & PTR != 0;
        }
        Ok((id, off, ptr))
    }

    /// Checks that `len` bytes at `addr` may be written with a value that is
    /// (`ptr`) or is not a pointer.
    fn check_write(
        &self,
        addr: u64,
        len: usize,
        ptr: bool,
    ) -> Result<(usize, usize), ViolationKind> {
        let (id, off) = self.locate(addr, len)?;
        for i in off..off + len {
            if self.flags(id, i) & WRITE == 0 {
                return Err(ViolationKind::NoWritePermission);
            }
        }
        let is_stack = matches!(self.regions[id].kind, RegionKind::Stack { .. });
        if self.checking && ptr && !is_stack {
            return Err(ViolationKind::PointerLeak(LeakTarget::Memory));
        }
        Ok((id, off))
    }

    /// Loads a little-endian value of `size` bytes (1, 2, 4 or 8); returns it
    /// zero-extended and whether it holds (part of) a pointer.
    pub(crate) fn load(&self, addr: u64, size: usize) -> Result<(u64, bool), ViolationKind> {
        let (id, off, ptr) = self.check_read(addr, size)?;
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(&self.bytes(id)[off..off + size]);
        Ok((u64::from_le_bytes(b), ptr))
    }

    /// Stores the low `size` bytes of `value`, little-endian.
    pub(crate) fn store(
        &mut self,
        addr: u64,
        size: usize,
        value: u64,
        ptr: bool,
    ) -> Result<(), ViolationKind> {
        let (id, off) = self.check_write(addr, size, ptr)?;
        self.bytes_mut(id)[off..off + size].copy_from_slice(&value.to_le_bytes()[..size]);
        self.mark(id, off, size, ptr);
        Ok(())
    }

    /// Marks bytes written: initialised, and holding a pointer or not.
    fn mark(&mut self, id: usize, off: usize, len: usize, ptr: bool) {
        let shadow = &mut self.regions[id].shadow;
        if !shadow.is_empty() {
            for s in &mut shadow[off..off + len] {
                *s = (*s | INIT) & !PTR | if ptr { PTR } else { 0 };
            }
        }
    }

    /// Checks that a helper may read `len` bytes at `addr`: readable,
    /// initialised and (checking mode) holding no pointer.
    pub fn check_helper_read(&self, addr: u64, len: usize) -> Result<(), ViolationKind> {
        let (_, _, ptr) = self.check_read(addr, len)?;
        if self.checking && ptr {
            return Err(ViolationKind::PointerLeak(LeakTarget::HelperArgument));
        }
        Ok(())
    }

    /// Checks that a helper may write `len` bytes at `addr`.
    pub fn check_helper_write(&self, addr: u64, len: usize) -> Result<(), ViolationKind> {
        self.check_write(addr, len, false).map(|_| ())
    }

    /// Reads `buf.len()` bytes at `addr` for a helper. The bytes must be
    /// readable and initialised, and (checking mode) hold no pointer.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ViolationKind> {
        self.check_helper_read(addr, buf.len())?;
        let (id, off) = self.locate(addr, buf.len())?;
        buf.copy_from_slice(&self.bytes(id)[off..off + buf.len()]);
        Ok(())
    }

    /// Writes bytes at `addr` for a helper; they become initialised data.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), ViolationKind> {
        let (id, off) = self.check_write(addr, data.len(), false)?;
        self.bytes_mut(id)[off..off + data.len()].copy_from_slice(data);
        self.mark(id, off, data.len(), false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::MapKind;

    #[test]
    fn accesses_stay_inside_regions() {
        let mut m = Memory::new(true);
        let ctx = m
            .add_context(vec![1, 2, 3, 4], &[READ, READ, READ | WRITE, 0])
            .unwrap();
        assert_eq!(m.load(ctx, 2), Ok((0x0201, false)));
        assert_eq!(m.load(ctx + 2, 2), Err(ViolationKind::NoReadPermission));
        assert_eq!(m.load(ctx + 3, 2), Err(ViolationKind::OutOfRegion));
        assert_eq!(
            m.load(ctx.wrapping_sub(1), 1),
            Err(ViolationKind::OutOfRegion)
        );
        assert_eq!(m.store(ctx + 2, 1, 9, false), Ok(()));
        assert_eq!(
            m.store(ctx + 1, 1, 9, false),
            Err(ViolationKind::NoWritePermission)
        );
        assert_eq!(
            m.store(ctx + 2, 1, 9, true),
            Err(ViolationKind::PointerLeak(LeakTarget::Memory))
        );
        assert_eq!(m.load(0x1000, 1), Err(ViolationKind::OutOfRegion));
    }

    #[test]
    fn stack_tracks_initialisation_and_frames() {
        let mut m = Memory::new(true);
        let fp = m.push_stack(0, 512).unwrap();
        assert_eq!(m.load(fp - 8, 8), Err(ViolationKind::UninitStack));
        m.store(fp - 8, 4, 7, true).unwrap();
        assert_eq!(m.load(fp - 8, 4), Ok((7, true)));
        assert_eq!(m.load(fp - 8, 8), Err(ViolationKind::UninitStack));
        let callee = m.push_stack(1, 512).unwrap();
        m.pop_stack(1);
        assert_eq!(m.load(callee - 8, 1), Err(ViolationKind::OutOfRegion));
        let again = m.push_stack(1, 512).unwrap();
        assert_ne!(again, callee);
        assert_eq!(m.load(callee - 8, 1), Err(ViolationKind::OutOfRegion));
    }

    #[test]
    fn map_values_are_bounded_per_value() {
        let mut m = Memory::new(true);
        let i = m
            .add_map(Map::new(MapKind::Array, 4, 8, 2).unwrap())
            .unwrap();
        let v1 = m.map_value_addr(i, 1).unwrap();
        m.store(v1, 8, 0x55, false).unwrap();
        assert_eq!(m.map(i).unwrap().value(1)[0], 0x55);
        assert_eq!(m.load(v1 - 4, 8), Err(ViolationKind::OutOfRegion));
        assert_eq!(m.map_of_handle(m.map_handle(i).unwrap()), Some(i));
        assert_eq!(
            m.load(m.map_handle(i).unwrap(), 1),
            Err(ViolationKind::OutOfRegion)
        );
        let ro = m.add_map(Map::read_only_data(b"abc").unwrap()).unwrap();
        let r = m.map_value_addr(ro, 0).unwrap();
        assert_eq!(
            m.store(r, 1, 0, false),
            Err(ViolationKind::NoWritePermission)
        );
    }
}
