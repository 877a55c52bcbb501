//! Maps: array, per-CPU array and hash tables of fixed-size values, shared
//! by the kernel and the host tools.
//!
//! Every value slot is allocated when the map is created and never moves:
//! a pointer to a value (what `map_lookup_elem` returns) stays valid for the
//! map's whole life, and no operation allocates after creation. A hash map
//! keeps its keys in preallocated slots too; a [`hashbrown::HashTable`] of
//! slot numbers indexes them.
//!
//! Semantics follow eBPF: `update` takes the flags `ANY` (create or replace),
//! `NOEXIST` (create only) and `EXIST` (replace only); an array has every
//! index from 0 to `max_entries - 1` and cannot delete; errors map to the
//! errno values Linux returns ([`MapError::errno`]).
//!
//! A per-CPU array holds `max_entries` values for each of `cpus` CPUs, CPU
//! by CPU: CPU `c`'s value of index `i` is slot `c * max_entries + i`. Its
//! lookups and updates name the CPU ([`Map::lookup_on`], [`Map::update_on`]);
//! module code gets the values of the CPU it runs on, so no two CPUs ever
//! share one (neighbouring CPUs' values may still share a cache line).

use alloc::vec::Vec;
use core::fmt;
use core::hash::Hasher;

use hashbrown::HashTable;

/// `update` flag: create the element or replace it.
pub const BPF_ANY: u64 = 0;
/// `update` flag: create the element only if it does not exist.
pub const BPF_NOEXIST: u64 = 1;
/// `update` flag: replace the element only if it exists.
pub const BPF_EXIST: u64 = 2;

/// The kinds of map.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapKind {
    /// Keys are `u32` indices `0..max_entries`; every element always exists.
    Array,
    /// Keys are byte strings of `key_size`; elements are created and deleted.
    Hash,
    /// An array for each CPU: keys are `u32` indices `0..max_entries`.
    PerCpuArray,
}

/// Why a map operation failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapError {
    /// No element with this key (`ENOENT`).
    NotFound,
    /// The element exists and `NOEXIST` was given (`EEXIST`).
    Exists,
    /// The hash map is full (`E2BIG`).
    Full,
    /// Unknown flags, a key of the wrong size, or delete on an array (`EINVAL`).
    Invalid,
    /// Sizes of zero or too large a map (`EINVAL` when creating).
    BadShape,
    /// The map is read-only (`EPERM`).
    ReadOnly,
    /// No memory for the map when creating it (`ENOMEM`).
    OutOfMemory,
}

impl MapError {
    /// The negative errno Linux returns for this error.
    pub fn errno(self) -> i64 {
        match self {
            MapError::NotFound => -2,
            MapError::Exists => -17,
            MapError::Full => -7,
            MapError::Invalid | MapError::BadShape => -22,
            MapError::ReadOnly => -1,
            MapError::OutOfMemory => -12,
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapError::NotFound => "no such element",
            MapError::Exists => "element already exists",
            MapError::Full => "map is full",
            MapError::Invalid => "invalid key size, flags or operation",
            MapError::BadShape => "invalid map sizes",
            MapError::ReadOnly => "map is read-only",
            MapError::OutOfMemory => "no memory for the map",
        })
    }
}

/// Largest total size of a map's values, keys included (64 MiB).
pub const MAX_MAP_BYTES: usize = 64 << 20;

/// A map with preallocated, never-moving value slots.
pub struct Map {
    kind: MapKind,
    key_size: usize,
    value_size: usize,
    max_entries: usize,
    /// CPUs with their own values (1 unless a per-CPU array).
    cpus: usize,
    read_only: bool,
    /// `cpus * max_entries * value_size` bytes: slot `i` is `values[i*vs..(i+1)*vs]`.
    values: Vec<u8>,
    /// Hash maps: `max_entries * key_size` bytes of keys, like `values`.
    keys: Vec<u8>,
    /// Hash maps: slot numbers of the present elements, indexed by key hash.
    index: HashTable<u32>,
    /// Hash maps: slots not in use.
    free: Vec<u32>,
}

/// `n` zero bytes, or [`MapError::OutOfMemory`].
fn zeroed(n: usize) -> Result<Vec<u8>, MapError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| MapError::OutOfMemory)?;
    v.resize(n, 0);
    Ok(v)
}

/// FNV-1a: a small deterministic hash of key bytes.
fn hash_key(key: &[u8]) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(key);
    h.finish()
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Map {
    /// Creates a map (a per-CPU array with values for one CPU); all memory
    /// it will ever use is allocated here, fallibly
    /// ([`MapError::OutOfMemory`]). An array's key size must be 4.
    pub fn new(
        kind: MapKind,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
    ) -> Result<Map, MapError> {
        Map::with_cpus(kind, key_size, value_size, max_entries, 1)
    }

    /// Creates a map whose per-CPU values (if it is a per-CPU array) are
    /// for CPUs `0..cpus`; other kinds ignore `cpus`.
    pub fn with_cpus(
        kind: MapKind,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        cpus: usize,
    ) -> Result<Map, MapError> {
        let (ks, vs, n) = (key_size as usize, value_size as usize, max_entries as usize);
        let cpus = if kind == MapKind::PerCpuArray { cpus } else { 1 };
        let value_bytes = vs.checked_mul(n).and_then(|b| b.checked_mul(cpus)).ok_or(MapError::BadShape)?;
        let bytes = ks.checked_mul(n).and_then(|k| k.checked_add(value_bytes)).ok_or(MapError::BadShape)?;
        if vs == 0
            || n == 0
            || ks == 0
            || cpus == 0
            || bytes > MAX_MAP_BYTES
            || (kind != MapKind::Hash && ks != 4)
        {
            return Err(MapError::BadShape);
        }
        let mut map = Map {
            kind,
            key_size: ks,
            value_size: vs,
            max_entries: n,
            cpus,
            read_only: false,
            values: zeroed(value_bytes)?,
            keys: Vec::new(),
            index: HashTable::new(),
            free: Vec::new(),
        };
        if kind == MapKind::Hash {
            map.keys = zeroed(ks * n)?;
            // The table is empty: the hasher (of a slot's key) is never called.
            let keys = &map.keys;
            map.index
                .try_reserve(n, |&slot| hash_key(&keys[slot as usize * ks..][..ks]))
                .map_err(|_| MapError::OutOfMemory)?;
            map.free.try_reserve_exact(n).map_err(|_| MapError::OutOfMemory)?;
            map.free.extend((0..max_entries).rev());
        }
        Ok(map)
    }

    /// A read-only array of one element holding `data` (read-only data of a
    /// program, reached with `lddw rX, map_value[N] + off`).
    pub fn read_only_data(data: &[u8]) -> Result<Map, MapError> {
        let mut map = Map::new(MapKind::Array, 4, data.len() as u32, 1)?;
        map.values.copy_from_slice(data);
        map.read_only = true;
        Ok(map)
    }

    pub fn kind(&self) -> MapKind {
        self.kind
    }
    pub fn key_size(&self) -> u32 {
        self.key_size as u32
    }
    pub fn value_size(&self) -> u32 {
        self.value_size as u32
    }
    pub fn max_entries(&self) -> u32 {
        self.max_entries as u32
    }
    /// CPUs with their own values: 1 unless a per-CPU array.
    pub fn cpus(&self) -> usize {
        self.cpus
    }
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Number of elements present.
    pub fn len(&self) -> usize {
        match self.kind {
            MapKind::Array | MapKind::PerCpuArray => self.max_entries,
            MapKind::Hash => self.index.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot holding the element with this key, if it exists (CPU 0's
    /// of a per-CPU array).
    pub fn lookup(&self, key: &[u8]) -> Option<u32> {
        self.lookup_on(0, key)
    }

    /// The slot holding the element with this key; of a per-CPU array, CPU
    /// `cpu`'s (none for a CPU the map has no values for).
    pub fn lookup_on(&self, cpu: usize, key: &[u8]) -> Option<u32> {
        if key.len() != self.key_size {
            return None;
        }
        match self.kind {
            MapKind::Array => {
                let i = u32::from_le_bytes([key[0], key[1], key[2], key[3]]);
                ((i as usize) < self.max_entries).then_some(i)
            }
            MapKind::PerCpuArray => {
                let i = u32::from_le_bytes([key[0], key[1], key[2], key[3]]) as usize;
                if i >= self.max_entries || cpu >= self.cpus {
                    return None;
                }
                u32::try_from(cpu * self.max_entries + i).ok()
            }
            MapKind::Hash => self
                .index
                .find(hash_key(key), |&s| self.key_of(s) == key)
                .copied(),
        }
    }

    /// Creates or replaces an element (flags `BPF_ANY`, `BPF_NOEXIST`,
    /// `BPF_EXIST`); returns its slot. Of a per-CPU array, CPU 0's.
    pub fn update(&mut self, key: &[u8], value: &[u8], flags: u64) -> Result<u32, MapError> {
        self.update_on(0, key, value, flags)
    }

    /// As [`Map::update`]; of a per-CPU array, CPU `cpu`'s value.
    pub fn update_on(&mut self, cpu: usize, key: &[u8], value: &[u8], flags: u64) -> Result<u32, MapError> {
        if key.len() != self.key_size || value.len() != self.value_size || flags > BPF_EXIST {
            return Err(MapError::Invalid);
        }
        if self.read_only {
            return Err(MapError::ReadOnly);
        }
        let slot = match (self.lookup_on(cpu, key), self.kind) {
            (Some(_), _) if flags == BPF_NOEXIST => return Err(MapError::Exists),
            (Some(slot), _) => slot,
            (None, MapKind::Array | MapKind::PerCpuArray) => return Err(MapError::Invalid),
            (None, MapKind::Hash) if flags == BPF_EXIST => return Err(MapError::NotFound),
            (None, MapKind::Hash) => {
                let slot = self.free.pop().ok_or(MapError::Full)?;
                let ks = self.key_size;
                self.keys[slot as usize * ks..(slot as usize + 1) * ks].copy_from_slice(key);
                let keys = &self.keys;
                let hash_of = |s: &u32| hash_key(&keys[*s as usize * ks..(*s as usize + 1) * ks]);
                self.index.insert_unique(hash_key(key), slot, hash_of);
                slot
            }
        };
        self.value_mut(slot).copy_from_slice(value);
        Ok(slot)
    }

    /// Deletes an element (hash maps only).
    pub fn delete(&mut self, key: &[u8]) -> Result<(), MapError> {
        if key.len() != self.key_size || self.kind != MapKind::Hash {
            return Err(MapError::Invalid);
        }
        if self.read_only {
            return Err(MapError::ReadOnly);
        }
        let hash = hash_key(key);
        let (keys, ks) = (&self.keys, self.key_size);
        let entry = self
            .index
            .find_entry(hash, |&s| {
                &keys[s as usize * ks..(s as usize + 1) * ks] == key
            })
            .map_err(|_| MapError::NotFound)?;
        let (slot, _) = entry.remove();
        self.free.push(slot);
        Ok(())
    }

    /// The key stored in a hash map slot.
    fn key_of(&self, slot: u32) -> &[u8] {
        let ks = self.key_size;
        &self.keys[slot as usize * ks..(slot as usize + 1) * ks]
    }

    /// The value in `slot`.
    pub fn value(&self, slot: u32) -> &[u8] {
        let vs = self.value_size;
        &self.values[slot as usize * vs..(slot as usize + 1) * vs]
    }

    /// The value in `slot`, writable.
    pub fn value_mut(&mut self, slot: u32) -> &mut [u8] {
        let vs = self.value_size;
        &mut self.values[slot as usize * vs..(slot as usize + 1) * vs]
    }

    /// All value slots, back to back.
    pub fn values(&self) -> &[u8] {
        &self.values
    }

    /// All value slots, writable. The buffer never moves or changes size, so
    /// its address may be handed to compiled code for the map's life.
    pub fn values_mut(&mut self) -> &mut [u8] {
        &mut self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_semantics() {
        let mut m = Map::new(MapKind::Array, 4, 8, 4).unwrap();
        assert_eq!(m.lookup(&3u32.to_le_bytes()), Some(3));
        assert_eq!(m.lookup(&4u32.to_le_bytes()), None);
        assert_eq!(m.update(&1u32.to_le_bytes(), &[7; 8], BPF_ANY), Ok(1));
        assert_eq!(m.value(1), &[7; 8]);
        assert_eq!(
            m.update(&1u32.to_le_bytes(), &[7; 8], BPF_NOEXIST),
            Err(MapError::Exists)
        );
        assert_eq!(
            m.update(&9u32.to_le_bytes(), &[7; 8], BPF_ANY),
            Err(MapError::Invalid)
        );
        assert_eq!(m.delete(&1u32.to_le_bytes()), Err(MapError::Invalid));
        assert_eq!(
            m.update(&1u32.to_le_bytes(), &[7; 8], 3),
            Err(MapError::Invalid)
        );
    }

    #[test]
    fn per_cpu_array_gives_each_cpu_its_own_values() {
        let mut m = Map::with_cpus(MapKind::PerCpuArray, 4, 8, 3, 4).unwrap();
        assert_eq!((m.cpus(), m.len(), m.values().len()), (4, 3, 4 * 3 * 8));
        let key = 2u32.to_le_bytes();
        let slots: Vec<u32> = (0..4).map(|c| m.lookup_on(c, &key).unwrap()).collect();
        assert_eq!(slots, [2, 5, 8, 11]);
        assert_eq!(m.lookup(&key), Some(2));
        assert_eq!(m.lookup_on(4, &key), None);
        assert_eq!(m.lookup_on(0, &3u32.to_le_bytes()), None);
        assert_eq!(m.update_on(1, &key, &[7; 8], BPF_ANY), Ok(5));
        assert_eq!(m.update_on(1, &key, &[7; 8], BPF_NOEXIST), Err(MapError::Exists));
        assert_eq!(m.update_on(4, &key, &[7; 8], BPF_ANY), Err(MapError::Invalid));
        for c in [0, 2, 3] {
            assert_eq!(m.value(m.lookup_on(c, &key).unwrap()), &[0; 8], "cpu {c}");
        }
        assert_eq!(m.value(5), &[7; 8]);
        assert_eq!(m.delete(&key), Err(MapError::Invalid));
        assert_eq!(Map::with_cpus(MapKind::PerCpuArray, 4, 8, 1, 0).err(), Some(MapError::BadShape));
        assert_eq!(Map::with_cpus(MapKind::PerCpuArray, 8, 8, 1, 2).err(), Some(MapError::BadShape));
        assert_eq!(
            Map::with_cpus(MapKind::PerCpuArray, 4, 1 << 16, 1 << 10, 1 << 20).err(),
            Some(MapError::BadShape)
        );
        assert_eq!(Map::with_cpus(MapKind::Array, 4, 8, 2, 4).unwrap().cpus(), 1);
    }

    #[test]
    fn hash_semantics_and_stable_slots() {
        let mut m = Map::new(MapKind::Hash, 2, 4, 2).unwrap();
        let base = m.values().as_ptr();
        assert_eq!(m.lookup(b"ab"), None);
        assert_eq!(m.update(b"ab", &[1; 4], BPF_EXIST), Err(MapError::NotFound));
        let a = m.update(b"ab", &[1; 4], BPF_NOEXIST).unwrap();
        let b = m.update(b"cd", &[2; 4], BPF_ANY).unwrap();
        assert_ne!(a, b);
        assert_eq!(m.update(b"ef", &[3; 4], BPF_ANY), Err(MapError::Full));
        assert_eq!(m.update(b"ab", &[9; 4], BPF_EXIST), Ok(a));
        assert_eq!(m.value(m.lookup(b"ab").unwrap()), &[9; 4]);
        assert_eq!(m.delete(b"ab"), Ok(()));
        assert_eq!(m.delete(b"ab"), Err(MapError::NotFound));
        assert_eq!(m.lookup(b"ab"), None);
        assert_eq!(m.lookup(b"cd"), Some(b));
        assert_eq!(m.update(b"ef", &[3; 4], BPF_ANY), Ok(a));
        assert_eq!(m.len(), 2);
        assert_eq!(m.values().as_ptr(), base);
        assert_eq!(m.lookup(b"abc"), None);
    }

    #[test]
    fn shapes_and_read_only() {
        assert_eq!(
            Map::new(MapKind::Array, 8, 4, 1).err(),
            Some(MapError::BadShape)
        );
        assert_eq!(
            Map::new(MapKind::Hash, 4, 0, 1).err(),
            Some(MapError::BadShape)
        );
        assert_eq!(
            Map::new(MapKind::Hash, 4, 4, u32::MAX).err(),
            Some(MapError::BadShape)
        );
        let mut r = Map::read_only_data(b"hello").unwrap();
        assert_eq!(r.value(0), b"hello");
        assert_eq!(
            r.update(&0u32.to_le_bytes(), b"world", BPF_ANY),
            Err(MapError::ReadOnly)
        );
    }
}
