//! SST (sorted string table): the immutable, sorted, checksummed file a memtable is flushed to.
//!
//! # On-disk format (version 2; version 1 is still read)
//!
//! All integers are little-endian. `varint` is LEB128 (see [`crate::codec`]).
//!
//! ```text
//! offset 0
//! +--------------------------------------+
//! | data block 0 .. data block N-1       |  data region: blocks in key order, contiguous;
//! |                                      |  empty (N = 0) for range tombstones only
//! +--------------------------------------+
//! | index partition 0 .. P-1             |  (v2) one entry per data block, cut at about
//! |                                      |  block_size; contiguous
//! +--------------------------------------+
//! | filter block  (bloom)                |
//! +--------------------------------------+
//! | index block                          |  v2: the top-level index (one entry per
//! |                                      |  partition); v1: the whole index
//! +--------------------------------------+
//! | properties block                     |
//! +--------------------------------------+
//! | [meta block] (range tombstones)      |  only when the table has range tombstones;
//! |                                      |  otherwise absent and its handle is (0, 0)
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
//! +------------------------+---------+-------------------------------------------+
//! | stored payload (n B)   | type u8 | crc32 u32 of stored payload and type byte |
//! +------------------------+---------+-------------------------------------------+
//! type, low nibble: 1 data, 2 filter, 3 index, 4 properties, 5 meta (range tombstones)
//! type, high nibble: codec, 0 none, 1 lz4, 2 zstd (v2; always 0 in v1)
//! ```
//!
//! A compressed block stores `varint raw_len | compressed bytes`; see `sst/compress.rs` for the
//! rules (checksum over the stored bytes, size limit before allocating, 1/8 saving or raw).
//! Data blocks, index partitions and the top-level index may be compressed; filter,
//! properties and meta blocks never are. A block *handle* is `(offset u64, size u64)` where
//! `size` includes the 5-byte trailer.
//!
//! ## Data block payload (v2)
//!
//! Prefix-compressed entries with a restart point every `restart_interval` entries (see
//! `sst/block.rs`): `varint shared | varint unshared | varint rest_len | key suffix | rest` with
//! `rest = varint seq | kind u8 (1 put, 2 delete) | value`, then the restart array
//! (`u32` offsets) and its count (`u32`). A lookup binary-searches the restart keys and
//! scans at most one interval.
//!
//! ## Index partition and top-level index payloads (v2)
//!
//! The same prefix-compressed layout. A partition entry is the last key of a data block with
//! `rest = varint offset | varint size`; the blocks of a partition are contiguous. A top-level
//! entry is the last key of a partition's last block with `rest = varint offset | varint size
//! | varint first_block | varint first_data_offset` (the partition's first data block, by
//! number in the table and by file offset), so open checks the whole layout from the top
//! level alone, and a partition read later is checked against the span its entry promised.
//! Open reads and checks the footer, the properties, the top-level index and the meta block;
//! a partition is read and checksummed the first time a lookup needs it, then kept.
//!
//! ## Properties (v2 additions)
//!
//! After the version-1 fields: `codec u8 | varint index_partitions`.
//!
//! # Version 1 (read only)
//!
//! ## Data block payload (v1)
//!
//! ```text
//! +---------+---------+-----+-----------+-------------+-----+---------------+----------+
//! | entry 0 | entry 1 | ... | entry n-1 | offset0 u32 | ... | offset n-1 u32| n u32    |
//! +---------+---------+-----+-----------+-------------+-----+---------------+----------+
//! entry = varint key_len | key | varint seq | kind u8 (1 put, 2 delete) | varint value_len | value
//! ```
//!
//! Kind 3 ([`ValueKind::RangeDelete`]) is never stored in a data block (range tombstones live
//! in the meta block); a data block entry with kind 3 is corruption.
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
//! One entry per data block, in order; the blocks are contiguous from offset 0. `count` is 0
//! exactly when the data region is empty (a table of range tombstones only).
//!
//! ## Filter block payload
//!
//! ```text
//! | bit array (m bytes) | k u8 |
//! ```
//!
//! A bloom filter over the 64-bit [`key_hash`] of every key, `k` probes by double hashing.
//! `m = 0` or `k = 0` (bits per key 0, or no point keys) means "no filter": every key may be
//! present. Range tombstones are not in the filter.
//!
//! ## Properties block payload
//!
//! ```text
//! format_version u32 | varint entries | varint tombstones | varint min_seq | varint max_seq |
//! varint data_blocks | varint len + smallest key | varint len + largest key
//! ```
//!
//! `entries` and `tombstones` count point entries (puts and deletes) and point deletes only;
//! `data_blocks` is 0 exactly when `entries` is 0, which needs a meta block. The key and
//! sequence ranges cover the point entries *and* the range tombstones: `smallest` =
//! min(first point key, min tombstone start), `largest` = max(last point key, max tombstone
//! end). A tombstone's end is exclusive, so with tombstones `[smallest, largest]` is a
//! conservative bound (`largest` itself may hold no data). The layout is unchanged from the
//! first version-1 tables: the number of range tombstones is not stored here but taken from
//! the meta block ([`TableProperties::range_tombstones`]).
//!
//! ## Meta block payload (range tombstones)
//!
//! ```text
//! varint count | count x ( varint start_len | start | varint end_len | end | varint seq )
//! ```
//!
//! Written only when the table has range tombstones (`count >= 1`). Each tombstone deletes
//! `[start, end)` for writes older than `seq`; `start < end`, both 1..=`MAX_KEY_LEN` bytes.
//! Sorted strictly by start ascending, then seq descending, then end ascending (exact
//! duplicates are written once). The reader decodes and checks it when opening the table
//! ([`Table::range_tombstones`]); [`Table::get`] and [`TableIter`] return point entries only,
//! applying tombstones is the engine's job.
//!
//! ## Footer (84 bytes)
//!
//! ```text
//!  0  filter handle      offset u64, size u64
//! 16  index handle       offset u64, size u64
//! 32  properties handle  offset u64, size u64
//! 48  meta handle        offset u64, size u64   (range tombstones; 0,0 = absent)
//! 64  format version u32 (2; 1 for version-1 tables)
//! 68  flags u32          (reserved, must be 0)
//! 72  crc32 u32          of footer bytes [0, 72)
//! 76  magic 8 bytes      8B 'n' 'o' 'k' 'v' 'S' 'S' 'T'
//! ```
//!
//! (Version 1:) a table without range tombstones is byte-for-byte what the writer produced before range
//! tombstones existed (no meta block, zero meta handle), so format version 1 covers both.
//!
//! Tables are never empty: [`TableWriter::finish`] refuses a table with neither point
//! entries nor range tombstones ([`crate::Error::InvalidArgument`]), and the reader treats a
//! zero-entry table without a meta block as corrupt. A table of range tombstones only has
//! no data blocks, an index with no entries and an empty bloom filter.

mod block;
mod bloom;
mod cache;
mod check;
mod compress;
mod format;
mod reader;
mod salvage;
mod writer;

#[cfg(test)]
mod tests;

pub use block::EntryRef;
pub use bloom::key_hash;
pub use cache::BlockCache;
pub use check::{check_table, data_blocks, DataBlockReport, TableCheck, TableProblem};
pub use compress::{Compression, MAX_RAW_BLOCK};
pub use format::{FOOTER_LEN, FORMAT_VERSION, MAGIC, OLDEST_FORMAT_VERSION};
pub use reader::{Table, TableIter, TableProperties, TableRevIter};
pub use salvage::{salvage_table, LostBlock, TableSalvage};
pub use writer::TableWriter;

use crate::options::Options;
use crate::types::{SeqNo, ValueKind};

/// How a table is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Target payload size of a data block (and of an index partition) in bytes, before
    /// compression; a block is cut once it reaches this.
    pub block_size: usize,
    /// Bloom filter bits per key; 0 writes an empty filter (every lookup reads a block).
    pub bloom_bits_per_key: u32,
    /// Codec for data and index blocks.
    pub compression: Compression,
    /// zstd level (used only with [`Compression::Zstd`]).
    pub zstd_level: i32,
    /// A full key (restart point) every this many entries in data and index blocks.
    pub restart_interval: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 16 << 10,
            bloom_bits_per_key: 10,
            compression: Compression::default(),
            zstd_level: 3,
            restart_interval: 16,
        }
    }
}

impl From<&Options> for TableOptions {
    fn from(opts: &Options) -> Self {
        TableOptions {
            block_size: opts.block_size,
            bloom_bits_per_key: opts.bloom_bits_per_key,
            compression: opts.compression,
            zstd_level: opts.zstd_level,
            restart_interval: opts.block_restart_interval,
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
