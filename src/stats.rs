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

/// Upper bounds (inclusive, in microseconds) of the latency histogram's buckets: 1, 1.5, 2, 3,
/// 5 and 7 times each power of ten from 10 us to 700 s, then 1000 s; one more bucket above the
/// last bound catches everything longer. Neighbouring bounds are at most 1.67 times apart, so a
/// quantile read from the histogram is within one bucket of the true value. `Timing::buckets`
/// and the Prometheus histograms (`nokv stats --format prometheus`) use exactly these bounds.
pub const HISTOGRAM_BOUNDS_US: [u64; 49] = [
    10,
    15,
    20,
    30,
    50,
    70,
    100,
    150,
    200,
    300,
    500,
    700,
    1_000,
    1_500,
    2_000,
    3_000,
    5_000,
    7_000,
    10_000,
    15_000,
    20_000,
    30_000,
    50_000,
    70_000,
    100_000,
    150_000,
    200_000,
    300_000,
    500_000,
    700_000,
    1_000_000,
    1_500_000,
    2_000_000,
    3_000_000,
    5_000_000,
    7_000_000,
    10_000_000,
    15_000_000,
    20_000_000,
    30_000_000,
    50_000_000,
    70_000_000,
    100_000_000,
    150_000_000,
    200_000_000,
    300_000_000,
    500_000_000,
    700_000_000,
    1_000_000_000,
];

/// Buckets of a [`Timing`]: one per bound of [`HISTOGRAM_BOUNDS_US`] plus the overflow bucket.
pub const HISTOGRAM_BUCKETS: usize = HISTOGRAM_BOUNDS_US.len() + 1;

/// The bucket a duration of `us` microseconds falls in.
fn bucket_of(us: f64) -> usize {
    HISTOGRAM_BOUNDS_US.partition_point(|&bound| (bound as f64) < us)
}

/// Rounds milliseconds to whole microseconds, so JSON carries no float noise.
fn round_us(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Count, total, average, last, minimum, maximum and quantiles of one kind of duration, in
/// milliseconds, with the histogram they are read from. Cumulative over the workdir's life
/// like the other counters (the histogram travels in `STATS`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// How many durations were recorded.
    pub count: u64,
    /// Their sum.
    #[serde(serialize_with = "micros")]
    pub total_ms: f64,
    /// `total_ms / count` (0 when empty).
    #[serde(serialize_with = "micros")]
    pub avg_ms: f64,
    /// The most recent one.
    #[serde(serialize_with = "micros")]
    pub last_ms: f64,
    /// The largest one.
    #[serde(serialize_with = "micros")]
    pub max_ms: f64,
    /// The smallest one (0 when empty).
    #[serde(serialize_with = "micros")]
    pub min_ms: f64,
    /// Median, read from the histogram (within one bucket of the true value).
    #[serde(serialize_with = "micros")]
    pub p50_ms: f64,
    /// 90th percentile, read from the histogram.
    #[serde(serialize_with = "micros")]
    pub p90_ms: f64,
    /// 99th percentile, read from the histogram.
    #[serde(serialize_with = "micros")]
    pub p99_ms: f64,
    /// How many durations fell in each bucket of [`HISTOGRAM_BOUNDS_US`] (not cumulative;
    /// the last entry counts those above the last bound). Empty until the first record. In
    /// JSON, only the buckets that hold something, keyed by their upper bound in
    /// milliseconds (`{"5": 3, "7": 1, "+Inf": 1}`: not cumulative either).
    #[serde(with = "sparse_buckets")]
    pub buckets: Vec<u64>,
}

/// Milliseconds rounded to whole microseconds in JSON (the figures are kept exact in memory).
fn micros<S: serde::Serializer>(ms: &f64, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_f64(round_us(*ms))
}

/// `Timing::buckets` as a map from upper bound (ms, or `+Inf`) to count, nonzero only.
mod sparse_buckets {
    use super::{bucket_of, HISTOGRAM_BOUNDS_US, HISTOGRAM_BUCKETS};
    use serde::{Deserialize, Deserializer, Serializer};

    pub const OVERFLOW: &str = "+Inf";

    pub fn serialize<S: Serializer>(buckets: &[u64], serializer: S) -> Result<S::Ok, S::Error> {
        // In bound order (a map type would sort the keys as text: "1", "10", "1.5").
        serializer.collect_map(
            buckets
                .iter()
                .enumerate()
                .filter(|(_, &count)| count > 0)
                .map(|(i, &count)| {
                    let key = HISTOGRAM_BOUNDS_US.get(i).map_or_else(
                        || OVERFLOW.to_string(),
                        |&us| format!("{}", us as f64 / 1000.0),
                    );
                    (key, count)
                }),
        )
    }

    /// Accepts any bounds: a count whose bound is not one of ours goes to the bucket that
    /// holds that bound, so a snapshot from another bucket layout still adds up. A dense list
    /// of our layout is read too; anything else is no histogram (never a failed snapshot).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let mut buckets = vec![0; HISTOGRAM_BUCKETS];
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (key, count) in map {
                    let Some(count) = count.as_u64() else {
                        continue;
                    };
                    let index = if key == OVERFLOW {
                        HISTOGRAM_BUCKETS - 1
                    } else {
                        match key.parse::<f64>() {
                            Ok(ms) if ms.is_finite() && ms >= 0.0 => bucket_of(ms * 1000.0),
                            _ => continue,
                        }
                    };
                    buckets[index] += count;
                }
            }
            serde_json::Value::Array(list) if list.len() == HISTOGRAM_BUCKETS => {
                for (slot, count) in buckets.iter_mut().zip(list) {
                    *slot = count.as_u64().unwrap_or(0);
                }
            }
            _ => return Ok(Vec::new()),
        }
        Ok(buckets)
    }
}

impl Timing {
    /// Adds one duration.
    pub fn record(&mut self, duration: Duration) {
        let ms = duration.as_secs_f64() * 1000.0;
        if self.buckets.len() != HISTOGRAM_BUCKETS {
            // Absent (a snapshot from before histograms) or another layout: start afresh.
            self.buckets = vec![0; HISTOGRAM_BUCKETS];
        }
        self.buckets[bucket_of(ms * 1000.0)] += 1;
        self.min_ms = if self.count == 0 {
            ms
        } else {
            self.min_ms.min(ms)
        };
        self.count += 1;
        self.total_ms += ms;
        self.avg_ms = self.total_ms / self.count as f64;
        self.last_ms = ms;
        if ms > self.max_ms {
            self.max_ms = ms;
        }
        // Rounded to microseconds, without leaving the recorded range.
        let read = |t: &Timing, q| round_us(t.quantile(q)).clamp(t.min_ms, t.max_ms);
        self.p50_ms = read(self, 0.50);
        self.p90_ms = read(self, 0.90);
        self.p99_ms = read(self, 0.99);
    }

    /// The `q` quantile (0 < q <= 1) in milliseconds, read from the histogram: the bucket
    /// holding the ceil(q * n)-th smallest duration, interpolated linearly inside it and
    /// clamped to the recorded minimum and maximum. 0 when nothing was recorded.
    pub fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut below = 0u64;
        for (i, &count) in self.buckets.iter().enumerate() {
            if count == 0 || below + count < rank {
                below += count;
                continue;
            }
            let lower = if i == 0 {
                0.0
            } else {
                HISTOGRAM_BOUNDS_US[i - 1] as f64 / 1000.0
            };
            let upper = HISTOGRAM_BOUNDS_US
                .get(i)
                .map_or(self.max_ms, |&bound| bound as f64 / 1000.0);
            let within = (rank - below) as f64 / count as f64;
            let estimate = lower + (upper - lower) * within;
            return estimate.clamp(self.min_ms.min(self.max_ms), self.max_ms);
        }
        self.max_ms
    }

    /// Cumulative counts per bound of [`HISTOGRAM_BOUNDS_US`], then the total (the `+Inf`
    /// bucket): the shape of a Prometheus histogram.
    pub fn cumulative_buckets(&self) -> Vec<u64> {
        let mut running = 0;
        (0..HISTOGRAM_BUCKETS)
            .map(|i| {
                running += self.buckets.get(i).copied().unwrap_or(0);
                running
            })
            .collect()
    }
}

/// The flush pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
    #[serde(serialize_with = "micros")]
    pub stall_ms: f64,
    /// Each stall's duration (its count and total match `stall_count` and `stall_ms` for
    /// stalls recorded since histograms exist).
    pub stall: Timing,
    /// Enqueue to dequeue.
    pub wait: Timing,
    /// Dequeue to installed in the manifest.
    pub build: Timing,
    /// Installed to memtable dropped and WAL reclaimed.
    pub release: Timing,
}

/// Memtables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
#[serde(default)]
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
#[serde(default)]
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
#[serde(default)]
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
#[serde(default)]
pub struct CompactionStats {
    /// Compactions completed.
    pub runs: u64,
    /// Bytes read by compactions.
    pub bytes_read: u64,
    /// Bytes written by compactions.
    pub bytes_written: u64,
    /// Duration of the last one.
    #[serde(serialize_with = "micros")]
    pub last_ms: f64,
    /// Longest one.
    #[serde(serialize_with = "micros")]
    pub max_ms: f64,
    /// Median duration (from `duration`'s histogram).
    #[serde(serialize_with = "micros")]
    pub p50_ms: f64,
    /// 90th percentile duration.
    #[serde(serialize_with = "micros")]
    pub p90_ms: f64,
    /// 99th percentile duration.
    #[serde(serialize_with = "micros")]
    pub p99_ms: f64,
    /// Compactions waiting to run.
    pub pending: u64,
    /// Every compaction's duration.
    pub duration: Timing,
}

impl CompactionStats {
    /// Counts one finished compaction.
    pub fn record(&mut self, elapsed: Duration, bytes_read: u64, bytes_written: u64) {
        self.runs += 1;
        self.bytes_read += bytes_read;
        self.bytes_written += bytes_written;
        self.duration.record(elapsed);
        self.last_ms = self.duration.last_ms;
        self.max_ms = self.max_ms.max(self.duration.last_ms);
        self.p50_ms = self.duration.p50_ms;
        self.p90_ms = self.duration.p90_ms;
        self.p99_ms = self.duration.p99_ms;
    }
}

/// The manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
#[serde(default)]
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
#[serde(default)]
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

impl StatsSnapshot {
    /// An empty snapshot of the current format.
    pub fn new() -> Self {
        StatsSnapshot {
            format_version: STATS_FORMAT_VERSION,
            ..StatsSnapshot::default()
        }
    }
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

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quantiles_of_uniform_durations_are_exact() {
        let mut t = Timing::default();
        // Recorded out of order: quantiles do not depend on the order.
        for n in (1..=1000).rev() {
            t.record(ms(n));
        }
        assert_eq!(t.count, 1000);
        for (got, want) in [(t.p50_ms, 500.0), (t.p90_ms, 900.0), (t.p99_ms, 990.0)] {
            assert!((got - want).abs() <= 1.0, "got {got}, want {want}");
        }
        assert!((t.min_ms - 1.0).abs() < 1e-9);
        assert!((t.max_ms - 1000.0).abs() < 1e-9);
        assert!((t.quantile(1.0) - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn quantiles_stay_within_one_bucket_of_the_true_value() {
        // A long tail: 900 fast flushes, 90 slow ones, 10 very slow ones.
        let mut durations: Vec<u64> = (0..900).map(|i| 2 + i % 5).collect();
        durations.extend((0..90).map(|i| 40 + i));
        durations.extend((0..10).map(|i| 3000 + 100 * i));
        let mut t = Timing::default();
        for &d in &durations {
            t.record(ms(d));
        }
        durations.sort_unstable();
        for (q, got) in [(0.5, t.p50_ms), (0.9, t.p90_ms), (0.99, t.p99_ms)] {
            let rank = (q * durations.len() as f64).ceil() as usize;
            let truth = durations[rank - 1] as f64;
            let bucket = bucket_of(truth * 1000.0);
            let lower = if bucket == 0 {
                0.0
            } else {
                HISTOGRAM_BOUNDS_US[bucket - 1] as f64 / 1000.0
            };
            let upper = HISTOGRAM_BOUNDS_US[bucket] as f64 / 1000.0;
            assert!(
                lower <= got && got <= upper,
                "p{}: {got} outside ({lower}, {upper}] holding the true {truth}",
                q * 100.0
            );
        }
        // The tail shows: p99 is among the slow ones, not the fast majority.
        assert!(t.p99_ms >= 100.0, "{}", t.p99_ms);
        assert!(t.p50_ms <= 7.0, "{}", t.p50_ms);
    }

    #[test]
    fn identical_durations_give_that_duration_at_every_quantile() {
        let mut t = Timing::default();
        for _ in 0..10 {
            t.record(ms(7));
        }
        assert_eq!((t.p50_ms, t.p90_ms, t.p99_ms), (7.0, 7.0, 7.0));
        let mut one = Timing::default();
        one.record(Duration::from_micros(3));
        assert_eq!((one.p50_ms, one.p99_ms, one.min_ms), (0.003, 0.003, 0.003));
    }

    #[test]
    fn durations_beyond_the_last_bound_land_in_the_overflow_bucket() {
        let mut t = Timing::default();
        t.record(Duration::from_secs(2000));
        t.record(Duration::from_secs(1000));
        assert_eq!(t.buckets[HISTOGRAM_BUCKETS - 1], 1);
        assert_eq!(t.buckets[HISTOGRAM_BUCKETS - 2], 1);
        assert_eq!(t.p99_ms, 2_000_000.0);
        let cumulative = t.cumulative_buckets();
        assert_eq!(cumulative.len(), HISTOGRAM_BUCKETS);
        assert_eq!(cumulative[HISTOGRAM_BUCKETS - 2], 1);
        assert_eq!(*cumulative.last().unwrap(), 2);
    }

    #[test]
    fn bucket_bounds_are_inclusive_and_increasing() {
        assert!(HISTOGRAM_BOUNDS_US.windows(2).all(|w| w[0] < w[1]));
        assert!(HISTOGRAM_BOUNDS_US
            .windows(2)
            .all(|w| w[1] as f64 / w[0] as f64 <= 1.67));
        assert_eq!(bucket_of(10.0), 0);
        assert_eq!(bucket_of(10.5), 1);
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(1e12), HISTOGRAM_BUCKETS - 1);
    }

    #[test]
    fn the_histogram_survives_a_json_round_trip_and_keeps_counting() {
        let mut s = StatsSnapshot::new();
        for n in 1..=100 {
            s.flush.build.record(ms(n));
        }
        let text = serde_json::to_string(&s).unwrap();
        let mut back: StatsSnapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back.flush.build.buckets, s.flush.build.buckets);
        assert_eq!(back.flush.build.p99_ms, s.flush.build.p99_ms);
        assert!(
            text.contains(r#""buckets":{"1":1,"2":1,"3":1,"5":2,"7":2,"10":3,"#),
            "{text}"
        );
        back.flush.build.record(ms(100_000));
        assert_eq!(back.flush.build.count, 101);
        assert_eq!(back.flush.build.buckets.iter().sum::<u64>(), 101);
        assert_eq!(back.flush.build.p50_ms, 51.0);
    }

    #[test]
    fn json_times_are_rounded_to_microseconds_and_buckets_sparse() {
        let mut t = Timing::default();
        t.record(Duration::from_nanos(34_533_999));
        t.record(Duration::from_secs(5000));
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["last_ms"], 5_000_000.0);
        assert_eq!(v["min_ms"], 34.534);
        assert_eq!(v["total_ms"], 5_000_034.534);
        assert_eq!(v["buckets"], serde_json::json!({"50": 1, "+Inf": 1}));
        // A count under a bound this layout lacks lands in the bucket holding that bound.
        let other: Timing =
            serde_json::from_str(r#"{"count":3,"buckets":{"0.004":1,"4":1,"+Inf":1}}"#).unwrap();
        assert_eq!(other.buckets[0], 1);
        assert_eq!(other.buckets[bucket_of(4000.0)], 1);
        assert_eq!(other.buckets[HISTOGRAM_BUCKETS - 1], 1);
        // Whatever else is there, the rest of the snapshot still parses.
        for odd in [r#""x""#, "[1,2]", "null", r#"{"a":"b"}"#] {
            let t: Timing =
                serde_json::from_str(&format!(r#"{{"count":3,"buckets":{odd}}}"#)).unwrap();
            assert_eq!(t.count, 3, "{odd}");
        }
        let dense = format!("[{}1]", "0,".repeat(HISTOGRAM_BUCKETS - 1));
        let t: Timing = serde_json::from_str(&format!(r#"{{"buckets":{dense}}}"#)).unwrap();
        assert_eq!(t.buckets[HISTOGRAM_BUCKETS - 1], 1);
    }

    #[test]
    fn a_snapshot_without_the_new_fields_still_parses() {
        // What an older nokv published: no histograms, no stall timing, no quantiles.
        let old = r#"{"format_version":1,"flush":{"completed":7,"stall_count":2,"stall_ms":3.5,
            "wait":{"count":7,"total_ms":1.0,"avg_ms":0.1,"last_ms":0.1,"max_ms":0.2}},
            "compaction":{"runs":3,"last_ms":9.0,"max_ms":12.0}}"#;
        let mut s: StatsSnapshot = serde_json::from_str(old).unwrap();
        assert_eq!((s.flush.completed, s.compaction.runs), (7, 3));
        s.flush.wait.record(ms(4));
        assert_eq!(s.flush.wait.count, 8);
        assert_eq!(
            s.flush.wait.p50_ms, 4.0,
            "quantiles restart with the histogram"
        );
        s.compaction.record(ms(20), 10, 5);
        assert_eq!((s.compaction.runs, s.compaction.max_ms), (4, 20.0));
        assert_eq!(s.compaction.p99_ms, 20.0);
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
            "/flush/wait/p50_ms",
            "/flush/build/p90_ms",
            "/flush/release/p99_ms",
            "/flush/stall/p99_ms",
            "/flush/stall/max_ms",
            "/compaction/p50_ms",
            "/compaction/p90_ms",
            "/compaction/p99_ms",
            "/compaction/max_ms",
            "/compaction/duration/buckets",
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
