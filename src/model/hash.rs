//! A fast hasher for the keys the decoder counts and looks up by (field numbers, node
//! ids, type URLs). It is seeded once per process from the standard library's random
//! keys, so an input cannot be crafted to make its keys collide, yet hashing a key is one
//! multiply (a word at a time for bytes) instead of SipHash's rounds.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// Builds [`KeyHasher`]s with the process's random seed.
#[derive(Debug, Clone, Copy)]
pub struct RandomKeys {
    seed: (u64, u64),
}

impl Default for RandomKeys {
    fn default() -> Self {
        static SEED: OnceLock<(u64, u64)> = OnceLock::new();
        let seed = *SEED.get_or_init(|| {
            let random = std::collections::hash_map::RandomState::new();
            // An odd multiplier keeps the multiply a bijection.
            (random.hash_one(0x9e37_79b9_u64), random.hash_one(0x7f4a_7c15_u64) | 1)
        });
        RandomKeys { seed }
    }
}

impl BuildHasher for RandomKeys {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher { state: self.seed.0, multiplier: self.seed.1 }
    }
}

/// Multiply-and-fold hashing of integer keys (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct KeyHasher {
    state: u64,
    multiplier: u64,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes at a time (a type URL is hashed per Any, a unit name per unit). The
        // bytes past the last whole word are read with loads that overlap the bytes before
        // them, never copied into a word of their own: that copy, a store the next load
        // waited on, took half of hashing a short name. A slice's length is hashed before
        // it, so the overlap is the same for every slice of one length, and two slices of
        // one length that differ do so in a byte some word holds.
        let len = bytes.len();
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.write_u64(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        let last = match words.remainder().len() {
            0 => return,
            _ if len >= 8 => word_at(bytes, len - 8),
            4.. => u64::from(half_at(bytes, 0)) | u64::from(half_at(bytes, len - 4)) << 32,
            _ => u64::from(bytes[0]) | u64::from(bytes[len / 2]) << 8 | u64::from(bytes[len - 1]) << 16,
        };
        self.write_u64(last);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.state = (self.state ^ n).wrapping_mul(self.multiplier).rotate_left(29);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's 64-bit finalizer: every input bit reaches every output bit, so keys
        // that differ only in high bits (multiples of a power of two) spread under every
        // seed; a single multiply-and-fold left some seeds filling few buckets.
        let mut h = self.state ^ self.multiplier;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The eight bytes of `bytes` from `at`, as a little-endian word.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// The four bytes of `bytes` from `at`, as a little-endian word.
fn half_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// A map keyed by small integers or byte strings (unit names), hashed with [`RandomKeys`].
pub type KeyMap<K, V> = std::collections::HashMap<K, V, RandomKeys>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_buckets() {
        // Keys a fixed hash would pile into one bucket: multiples of a power of two, under
        // many seeds (random keys fill about 2,590 of 4,096 buckets).
        let keys: Vec<u64> = (0..4096).map(|i| i << 20).collect();
        let seeds = std::collections::hash_map::RandomState::new();
        for s in 0..2000u64 {
            let hasher = RandomKeys { seed: (seeds.hash_one(s), seeds.hash_one(!s) | 1) };
            let buckets: std::collections::HashSet<u64> = keys.iter().map(|&k| hasher.hash_one(k) & 0xfff).collect();
            assert!(buckets.len() > 2000, "only {} of 4096 buckets used with seed {:?}", buckets.len(), hasher.seed);
        }
        let mut map: KeyMap<u32, u32> = KeyMap::default();
        map.insert(7, 1);
        assert_eq!(map.get(&7), Some(&1));
    }

    #[test]
    fn every_byte_of_a_slice_of_any_length_is_hashed() {
        // The bytes past the last whole word are read with overlapping loads: a byte none of
        // them read would hash a slice alike with that byte changed.
        let keys = RandomKeys::default();
        let bytes: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..=bytes.len() {
            let slice = &bytes[..len];
            let hash = keys.hash_one(slice);
            for at in 0..len {
                let mut changed = slice.to_vec();
                changed[at] ^= 0x80;
                assert_ne!(keys.hash_one(&changed[..]), hash, "byte {at} of {len}");
            }
            if let Some(shorter) = len.checked_sub(1) {
                assert_ne!(keys.hash_one(&bytes[..shorter]), hash, "{len} bytes and one fewer");
            }
        }
    }
}
