//! The stats snapshot (SPEC section 3): plain data, serializable to JSON, nested by domain.
//! The field names are a contract that scripts read (`nokv stats --json | jq .flush.pending`):
//! fields may be added, never renamed.
//!
//! The engine publishes a snapshot to `WORKDIR/STATS` at close and about once a second while
//! open. The file is replaced atomically (temp file + rename) but not fsynced: it is a report,
//! not data, and a reader treats a missing or unparsable `STATS` as "no snapshot yet".
//! Counters are cumulative over the workdir's life: an opening engine starts its counters from
//! the previous snapshot.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::vfs::{self, Vfs};

/// Version of the snapshot's JSON shape.
pub const STATS_FORMAT_VERSION: u32 = 1;

/// Count, total, average, last and maximum of one kind of duration, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// How many durations were recorded.
    pub count: u64,
    /// Their sum.
    pub total_ms: f64,
    /// `total_ms / count` (0 when empty).
    pub avg_ms: f64,
    /// The most recent one.
    pub last_ms: f64,
    /// The largest one.
    pub max_ms: f64,
}

impl Timing {
    /// Adds one duration.
    pub fn record(&mut self, duration: Duration) {
        let ms = duration.as_secs_f64() * 1000.0;
        self.count += 1;
        self.total_ms += ms;
        self.avg_ms = self.total_ms / self.count as f64;
        self.last_ms = ms;
        if ms > self.max_ms {
            self.max_ms = ms;
        }
    }
}

/// The flush pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlushStats {
    /// Queued plus in progress.
    pub pending: u64,
    /// Waiting in the queue.
    pub queue: u64,
    /// Being built or installed now.
    pub active: u64,
    /// Flushes installed and released.
    pub completed: u64,
    /// Flushes that failed.
    pub failed: u64,
    /// The message of the last failure.
    pub last_error: Option<String>,
    /// Bytes of SST written by flushes.
    pub bytes_written: u64,
    /// Entries written by flushes.
    pub entries_written: u64,
    /// Times a writer waited because `max_immutables` memtables were waiting.
    pub stall_count: u64,
    /// Total time writers waited, in milliseconds.
    pub stall_ms: f64,
    /// Enqueue to dequeue.
    pub wait: Timing,
    /// Dequeue to installed in the manifest.
    pub build: Timing,
    /// Installed to memtable dropped and WAL reclaimed.
    pub release: Timing,
}

/// Memtables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemtableStats {
    /// Bytes in the active memtable.
    pub active_bytes: u64,
    /// Immutable memtables waiting for or in flush.
    pub immutables: u64,
    /// Bytes in them.
    pub immutable_bytes: u64,
}

/// The write-ahead log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WalStats {
    /// Segments on disk.
    pub segments: u64,
    /// Their total size.
    pub bytes: u64,
    /// The segment receiving writes.
    pub active_segment: u64,
    /// The oldest segment still needed (from the manifest).
    pub checkpoint: u64,
    /// Segments deleted after their memtable was flushed.
    pub segments_removed: u64,
    /// Torn tails cut off during recovery.
    pub torn_tails_truncated: u64,
}

/// One level of the tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LevelStats {
    /// 0 for L0.
    pub level: u32,
    /// Tables in the level.
    pub tables: u64,
    /// Their total size.
    pub bytes: u64,
    /// Their total entry count.
    pub entries: u64,
}

/// The tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LsmStats {
    /// Every level, L0 first.
    pub levels: Vec<LevelStats>,
    /// Tables over all levels.
    pub tables: u64,
    /// Bytes over all levels.
    pub bytes: u64,
}

/// Compaction (populated once compaction exists).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactionStats {
    /// Compactions completed.
    pub runs: u64,
    /// Bytes read by compactions.
    pub bytes_read: u64,
    /// Bytes written by compactions.
    pub bytes_written: u64,
    /// Duration of the last one.
    pub last_ms: f64,
    /// Longest one.
    pub max_ms: f64,
    /// Compactions waiting to run.
    pub pending: u64,
}

/// The manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestStats {
    /// `MANIFEST-000004`
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Edits in it.
    pub edits: u64,
    /// The next file number to be handed out.
    pub next_file_number: u64,
    /// The last sequence number the manifest records.
    pub last_sequence: u64,
    /// Torn last records (unsynced edits) ignored during recovery, over the workdir's life.
    #[serde(default)]
    pub torn_tails_ignored: u64,
}

/// The process that published the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Its pid.
    pub pid: u32,
    /// When it opened the workdir (seconds since the Unix epoch).
    pub started_at: u64,
    /// When it published this snapshot (seconds since the Unix epoch).
    pub updated_at: u64,
    /// Whether a process holds the workdir now.
    pub live: bool,
}

/// Everything `nokv stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Shape version of this document.
    pub format_version: u32,
    /// Flush pipeline.
    pub flush: FlushStats,
    /// Memtables.
    pub memtable: MemtableStats,
    /// WAL.
    pub wal: WalStats,
    /// Tables per level.
    pub lsm: LsmStats,
    /// Compaction.
    pub compaction: CompactionStats,
    /// Manifest.
    pub manifest: ManifestStats,
    /// The publishing process.
    pub session: SessionStats,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads `WORKDIR/STATS`; `None` when it is absent or does not parse.
pub fn read_published(vfs: &dyn Vfs, dir: &Path) -> Option<StatsSnapshot> {
    let bytes = vfs::read_all(vfs, &dir.join(crate::filenames::STATS)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Replaces `WORKDIR/STATS` with `snapshot`: temp file + rename, no fsync (see module docs).
///
/// # Errors
/// I/O errors naming the file.
pub fn publish(vfs: &dyn Vfs, dir: &Path, snapshot: &StatsSnapshot) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(snapshot).unwrap_or_default();
    let path = dir.join(crate::filenames::STATS);
    let temp = dir.join(crate::filenames::temp_name(crate::filenames::STATS));
    let written = vfs.create_new(&temp).and_then(|f| f.append(&bytes));
    if let Err(err) = written.and_then(|()| vfs.rename(&temp, &path)) {
        let _ = vfs.remove_file(&temp);
        return Err(err);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_tracks_count_total_avg_last_max() {
        let mut t = Timing::default();
        t.record(Duration::from_millis(4));
        t.record(Duration::from_millis(10));
        t.record(Duration::from_millis(1));
        assert_eq!(t.count, 3);
        assert!((t.total_ms - 15.0).abs() < 1e-9);
        assert!((t.avg_ms - 5.0).abs() < 1e-9);
        assert!((t.last_ms - 1.0).abs() < 1e-9);
        assert!((t.max_ms - 10.0).abs() < 1e-9);
    }

    #[test]
    fn json_uses_the_contract_names() {
        let value = serde_json::to_value(StatsSnapshot::default()).unwrap();
        for path in [
            "/flush/pending",
            "/flush/queue",
            "/flush/active",
            "/flush/completed",
            "/flush/failed",
            "/flush/last_error",
            "/flush/bytes_written",
            "/flush/entries_written",
            "/flush/stall_count",
            "/flush/stall_ms",
            "/flush/wait/count",
            "/flush/build/avg_ms",
            "/flush/release/max_ms",
            "/flush/release/last_ms",
            "/flush/wait/total_ms",
            "/memtable/active_bytes",
            "/memtable/immutables",
            "/memtable/immutable_bytes",
            "/wal/segments",
            "/wal/bytes",
            "/wal/active_segment",
            "/wal/checkpoint",
            "/wal/segments_removed",
            "/wal/torn_tails_truncated",
            "/lsm/levels",
            "/lsm/tables",
            "/lsm/bytes",
            "/compaction/runs",
            "/compaction/pending",
            "/manifest/file",
            "/manifest/next_file_number",
            "/manifest/last_sequence",
            "/manifest/torn_tails_ignored",
            "/session/pid",
            "/session/live",
        ] {
            assert!(value.pointer(path).is_some(), "missing {path}");
        }
    }
}
