//! The manifest: `CURRENT` plus `MANIFEST-N`, an append-only log of checksummed
//! [`VersionEdit`]s whose replay gives the live [`Version`] (tables per level, WAL checkpoint,
//! file-number counter, last sequence number).
//!
//! ```text
//! CURRENT (replaced only via write_atomic: CURRENT.tmp.* + fsync + rename + dir fsync)
//! +-----------------+-----+----------+----+
//! | MANIFEST-000004 | ' ' | 1a2b3c4d | \n |   crc32 of the name, 8 lowercase hex digits
//! +-----------------+-----+----------+----+
//!
//! MANIFEST-000004
//! +------------------+-------------+-------------+
//! | magic "NOKVMANI" | version u32 | crc32 u32   |  header, 16 bytes; crc over magic+version
//! |     8 bytes      |   LE (= 1)  | LE          |
//! +------------------+-------------+-------------+
//! | len u32 LE | crc32 u32 LE of payload | payload (len bytes) |  record 0: snapshot edit
//! +------------+-------------------------+---------------------+
//! | len u32 LE | crc32 u32 LE of payload | payload (len bytes) |  record 1 ...
//! +------------+-------------------------+---------------------+
//! |  ...                                                       |
//!
//! payload = one VersionEdit, tagged fields closed by an end tag (see `edit`):
//!   [1 level number size entries smallest largest min_seq max_seq]*   added tables
//!   [2 level number]*                                                 removed tables
//!   [3 wal_checkpoint]? [4 next_file_number]? [5 last_sequence]?      counters
//!   0                                                                 end
//! ```
//!
//! Reading the log tells a torn tail from corruption (the rule of RocksDB's point-in-time
//! recovery: a bad last record after which no valid record follows is an unsynced write):
//! - torn (ignored, and truncated away by [`Manifest::open`]): fewer than 8 bytes of record
//!   header left, a payload that runs past the end of the file, a tail of only zero bytes, or
//!   a zero length or checksum mismatch with no complete checksummed record anywhere after it
//!   (writeback may tear or reorder an unsynced append: its header zeroed, its payload
//!   written);
//! - corruption (the open fails, naming the file and the record's offset): a zero length or a
//!   checksum mismatch with a valid record after it, a length running past the end when the
//!   bytes present do checksum (the length field is damaged, not the write), an undecodable
//!   payload, or an edit that does not apply to the version before it.
//!
//! A rewrite ([`Manifest::create`] with `old`) writes a snapshot to a new manifest, fsyncs
//! it, switches `CURRENT` atomically, and only then deletes the old manifest, so a crash at
//! any point leaves a workdir that opens with the same contents.

mod current;
mod edit;
mod history;
mod log;
mod version;

#[cfg(test)]
mod tests;

pub use current::read_current;
pub use edit::VersionEdit;
pub use history::{TableHistory, Unreferenced};
pub use log::{
    inspect, Manifest, ManifestProblem, ManifestReport, FORMAT_VERSION, HEADER_LEN, MAGIC,
    RECORD_HEADER_LEN,
};
pub use version::Version;

/// Number of LSM levels, L0 to L6.
pub const NUM_LEVELS: usize = 7;
