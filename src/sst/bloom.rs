//! The bloom filter: a 64-bit key hash of our own (wyhash-style multiply-fold mixing, stable
//! across platforms and releases since it is part of the on-disk format), and a plain bit
//! array probed `k` times by double hashing.

use super::format::Fault;

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;

#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn read8(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// The 64-bit hash of a key used by the filter. Part of the on-disk format: never change it
/// without a new format version.
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h = K0 ^ mum(key.len() as u64 ^ K1, K2);
    let mut chunks = key.chunks_exact(16);
    for c in &mut chunks {
        h = mum(read8(c) ^ K1, read8(&c[8..]) ^ h);
    }
    let mut rest = chunks.remainder();
    if rest.len() >= 8 {
        h = mum(read8(rest) ^ K1, h ^ K2);
        rest = &rest[8..];
    }
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    h = mum(u64::from_le_bytes(tail) ^ K2, h ^ K0);
    mum(h ^ K1, h.rotate_left(29) ^ K2)
}

/// Number of probes for `bits_per_key` (about ln 2 * bits per key).
fn probes(bits_per_key: u32) -> u8 {
    ((bits_per_key as f64 * 0.69).round() as u32).clamp(1, 30) as u8
}

#[inline]
fn positions(hash: u64, k: u8, bits: u64, mut f: impl FnMut(u64) -> bool) -> bool {
    let mut h = hash;
    let delta = hash.rotate_right(32) | 1;
    for _ in 0..k {
        // Multiply-shift range reduction: uses the well-mixed high bits, no division.
        let pos = ((u128::from(h) * u128::from(bits)) >> 64) as u64;
        if !f(pos) {
            return false;
        }
        h = h.wrapping_add(delta);
    }
    true
}

/// Builds the filter block payload (`bits | k`) for the given key hashes.
pub fn build_filter(hashes: &[u64], bits_per_key: u32, out: &mut Vec<u8>) {
    if bits_per_key == 0 || hashes.is_empty() {
        out.push(0);
        return;
    }
    let nbits = (hashes.len() as u64 * u64::from(bits_per_key)).max(64);
    let nbytes = nbits.div_ceil(8) as usize;
    let nbits = nbytes as u64 * 8;
    let k = probes(bits_per_key);
    let start = out.len();
    out.resize(start + nbytes, 0);
    let bits = &mut out[start..];
    for &h in hashes {
        positions(h, k, nbits, |pos| {
            bits[(pos / 8) as usize] |= 1 << (pos % 8);
            true
        });
    }
    out.push(k);
}

/// A loaded bloom filter.
#[derive(Debug, Clone)]
pub struct BloomFilter {
    bits: Vec<u8>,
    k: u8,
}

impl BloomFilter {
    /// Parses a filter block payload found at `offset`.
    pub fn decode(payload: &[u8], offset: u64) -> Result<BloomFilter, Fault> {
        let Some((&k, bits)) = payload.split_last() else {
            return Err(Fault::new(offset, "bad_block", "filter block is empty"));
        };
        if k > 30 || (k == 0) != bits.is_empty() {
            return Err(Fault::new(
                offset,
                "bad_block",
                format!("filter block: {k} probes over {} bytes of bits", bits.len()),
            ));
        }
        Ok(BloomFilter {
            bits: bits.to_vec(),
            k,
        })
    }

    /// False only when the key with this hash is certainly absent.
    pub fn may_contain(&self, hash: u64) -> bool {
        if self.k == 0 || self.bits.is_empty() {
            return true;
        }
        let nbits = self.bits.len() as u64 * 8;
        positions(hash, self.k, nbits, |pos| {
            self.bits
                .get((pos / 8) as usize)
                .is_some_and(|b| b & (1 << (pos % 8)) != 0)
        })
    }
}
