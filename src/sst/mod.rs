//! SST (sorted string table): the immutable, sorted, checksummed file a memtable is flushed to.
//!
//! # On-disk format (version 1)
//!
//! All integers are little-endian. `varint` is LEB128 (see [`crate::codec`]).
//!
//! ```text
//! offset 0
//! +--------------------------------------+
//! | data block 0                         |  \
//! +--------------------------------------+   |
//! | data block 1                         |   |  data region: blocks in key order,
//! +--------------------------------------+   |  contiguous, each listed in the index
//! | ...                                  |   |
//! +--------------------------------------+   |
//! | data block N-1                       |  /
//! +--------------------------------------+
//! | filter block  (bloom)                |
//! +--------------------------------------+
//! | index block                          |
//! +--------------------------------------+
//! | properties block                     |
//! +--------------------------------------+
//! | [meta block] (reserved: range        |  absent in this writer; its handle is zero
//! |  tombstones; written later)          |
//! +--------------------------------------+
//! | footer (84 bytes, fixed)             |
//! +--------------------------------------+ file size
//! ```
//!
//! The blocks and the footer tile the file exactly: no gap, no overlap, so every byte of the
//! file is covered by exactly one CRC32 (or by the footer's magic).
//!
//! ## Block (every block, whatever its kind)
//!
//! ```text
//! +-----------------+---------+------------------------------------+
//! | payload (n B)   | type u8 | crc32 u32 of payload and type byte |
//! +-----------------+---------+------------------------------------+
//! type: 1 data, 2 filter, 3 index, 4 properties, 5 meta (range tombstones, reserved)
//! ```
//!
//! A block *handle* is `(offset u64, size u64)` where `size` includes the 5-byte trailer.
//!
//! ## Data block payload
//!
//! ```text
//! +---------+---------+-----+-----------+-------------+-----+---------------+----------+
//! | entry 0 | entry 1 | ... | entry n-1 | offset0 u32 | ... | offset n-1 u32| n u32    |
//! +---------+---------+-----+-----------+-------------+-----+---------------+----------+
//! entry = varint key_len | key | varint seq | kind u8 (1 put, 2 delete) | varint value_len | value
//! ```
//!
//! `offset i` is where entry `i` starts inside the payload (offset 0 is 0, strictly
//! increasing); entry `i` ends exactly where entry `i+1` (or the offset array) starts. The
//! array lets a point lookup binary-search the block. Keys are strictly increasing within a
//! block and across the whole table (one entry per user key). A block is cut once its
//! payload reaches `block_size`.
//!
//! ## Index block payload
//!
//! ```text
//! varint count | count x ( varint key_len | last key of the block | varint offset | varint size )
//! ```
//!
//! One entry per data block, in order; the blocks are contiguous from offset 0.
//!
//! ## Filter block payload
//!
//! ```text
//! | bit array (m bytes) | k u8 |
//! ```
//!
//! A bloom filter over the 64-bit [`key_hash`] of every key, `k` probes by double hashing.
//! `m = 0` or `k = 0` (bits per key 0) means "no filter": every key may be present.
//!
//! ## Properties block payload
//!
//! ```text
//! format_version u32 | varint entries | varint tombstones | varint min_seq | varint max_seq |
//! varint data_blocks | varint len + smallest key | varint len + largest key
//! ```
//!
//! ## Footer (84 bytes)
//!
//! ```text
//!  0  filter handle      offset u64, size u64
//! 16  index handle       offset u64, size u64
//! 32  properties handle  offset u64, size u64
//! 48  meta handle        offset u64, size u64   (reserved for range tombstones; 0,0 = absent)
//! 64  format version u32 (1)
//! 68  flags u32          (reserved, must be 0)
//! 72  crc32 u32          of footer bytes [0, 72)
//! 76  magic 8 bytes      8B 'n' 'o' 'k' 'v' 'S' 'S' 'T'
//! ```
//!
//! Tables are never empty: [`TableWriter::finish`] refuses a table with no entries
//! ([`crate::Error::InvalidArgument`]) and the reader treats a zero-entry table as corrupt.

mod block;
mod bloom;
mod check;
mod format;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use bloom::key_hash;
pub use check::{check_table, TableCheck, TableProblem};
pub use format::{FOOTER_LEN, FORMAT_VERSION, MAGIC};
pub use reader::{Table, TableIter, TableProperties};
pub use writer::TableWriter;

use crate::options::Options;
use crate::types::{SeqNo, ValueKind};

/// How a table is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Target payload size of a data block in bytes; a block is cut once it reaches this.
    pub block_size: usize,
    /// Bloom filter bits per key; 0 writes an empty filter (every lookup reads a block).
    pub bloom_bits_per_key: u32,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 16 << 10,
            bloom_bits_per_key: 10,
        }
    }
}

impl From<&Options> for TableOptions {
    fn from(opts: &Options) -> Self {
        TableOptions {
            block_size: opts.block_size,
            bloom_bits_per_key: opts.bloom_bits_per_key,
        }
    }
}

/// One entry of a table, as returned by [`TableIter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The user key.
    pub key: Vec<u8>,
    /// The write's sequence number.
    pub seq: SeqNo,
    /// Put or tombstone.
    pub kind: ValueKind,
    /// The value (empty for a tombstone).
    pub value: Vec<u8>,
}
