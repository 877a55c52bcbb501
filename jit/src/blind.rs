//! Constant blinding.
//!
//! A JIT that copies immediates from the program into executable memory lets
//! the program choose machine-code bytes: a jump into the middle of an
//! instruction would then run the attacker's bytes ("JIT spraying"). With
//! blinding on, every immediate `v` of the program is emitted as
//! `mov reg, v ^ k; xor reg, k` with a fresh random key `k`, so neither `v`
//! nor any chosen value appears in the code.
//!
//! Keys come from a xorshift64* generator seeded by the caller (the kernel
//! seeds it from its random source for each load). The generator restarts
//! at every emission pass, so all passes emit the same sizes.

/// The key generator.
pub struct Blinder {
    state: u64,
}

impl Blinder {
    pub fn new(seed: u64) -> Blinder {
        // splitmix64 turns any seed (even 0) into a well-mixed non-zero state.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Blinder { state: z | 1 }
    }

    /// The next 64-bit key; its low 32 bits are never zero, so a 32-bit
    /// blinded value always differs from the original.
    pub fn next_key(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        let k = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        if k as u32 == 0 { k | 1 } else { k }
    }
}
