//! Small shared vocabulary: sequence numbers, file numbers, value kinds.

use std::fmt;

/// A write's sequence number: one counter over the workdir's life, persisted through the WAL
/// and the manifest. A newer write of a key always has a larger sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeqNo(pub u64);

/// The number that names a WAL segment, an SST or a manifest. One counter, persisted in the
/// manifest, that only grows: a number is never reused, even after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileNumber(pub u64);

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for FileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// What a stored entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// The key holds the value.
    Put = 1,
    /// The key was deleted (a tombstone).
    Delete = 2,
    /// Every key in `[key, value)` was deleted (a range tombstone). Lives in write batches, the
    /// WAL and memtables' tombstone lists; SST data blocks never hold it (tables keep range
    /// tombstones in their own block).
    RangeDelete = 3,
}

impl ValueKind {
    /// The on-disk tag.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// Decodes an on-disk tag; `None` for an unknown tag.
    pub fn from_tag(tag: u8) -> Option<ValueKind> {
        match tag {
            1 => Some(ValueKind::Put),
            2 => Some(ValueKind::Delete),
            3 => Some(ValueKind::RangeDelete),
            _ => None,
        }
    }
}

/// Longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 65_535;
/// Longest value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 64 << 20;

/// What the manifest records about one table, and what the SST writer reports when it
/// finishes one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableMeta {
    /// The table's file number (`000012.sst`).
    pub number: FileNumber,
    /// File size in bytes.
    pub size: u64,
    /// Number of entries (puts and tombstones).
    pub entries: u64,
    /// Smallest key in the table.
    pub smallest: Vec<u8>,
    /// Largest key in the table.
    pub largest: Vec<u8>,
    /// Smallest sequence number in the table.
    pub min_seq: SeqNo,
    /// Largest sequence number in the table.
    pub max_seq: SeqNo,
}

/// A range tombstone: every key in `[start, end)` written before `seq` is deleted. It hides
/// older data only, never a write with a larger sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RangeTombstone {
    /// First deleted key (inclusive).
    pub start: Vec<u8>,
    /// First key not deleted (exclusive); always greater than `start`.
    pub end: Vec<u8>,
    /// The delete's sequence number.
    pub seq: SeqNo,
}

impl RangeTombstone {
    /// Whether this tombstone hides `key` written at `seq`.
    pub fn covers(&self, key: &[u8], seq: SeqNo) -> bool {
        self.seq > seq && self.start.as_slice() <= key && key < self.end.as_slice()
    }
}

/// Which log a torn tail was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TornLog {
    /// The newest WAL segment: recovery truncated it.
    Wal,
    /// The live manifest: recovery ignored the record (and cut it before the next append).
    Manifest,
}

/// A torn tail that an open dropped: a bad last record with no valid record after it, what a
/// crash leaves of an unsynced append (cut short, or torn and reordered by writeback). The
/// engine never prints; it keeps these for the caller (the CLI warns on stderr) and for
/// stats and events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TornTail {
    /// The log it was found in.
    pub log: TornLog,
    /// The file, relative to the workdir (`wal/000011.wal`, `MANIFEST-000004`).
    pub file: String,
    /// Where the torn record starts.
    pub offset: u64,
    /// Bytes dropped: from `offset` to the end of the file.
    pub bytes_dropped: u64,
    /// What was found there.
    pub reason: String,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.log {
            TornLog::Wal => "truncated",
            TornLog::Manifest => "ignored",
        };
        write!(
            f,
            "torn tail in {} at offset {} {action}: {} byte{} of an unsynced write dropped ({})",
            self.file,
            self.offset,
            self.bytes_dropped,
            if self.bytes_dropped == 1 { "" } else { "s" },
            self.reason
        )
    }
}
