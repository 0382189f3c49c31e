//! `nokv stats --format prometheus`: the stats snapshot (SPEC 3) in the Prometheus text
//! exposition format (version 0.0.4), ready for node_exporter's textfile collector:
//!
//! ```text
//! # HELP nokv_flush_completed_total Flushes installed and released.
//! # TYPE nokv_flush_completed_total counter
//! nokv_flush_completed_total{workdir="/var/lib/kv"} 42
//! # HELP nokv_flush_build_seconds Flush build time: dequeue to installed in the manifest.
//! # TYPE nokv_flush_build_seconds histogram
//! nokv_flush_build_seconds_bucket{workdir="/var/lib/kv",le="0.00001"} 0
//! ...
//! nokv_flush_build_seconds_bucket{workdir="/var/lib/kv",le="+Inf"} 42
//! nokv_flush_build_seconds_sum{workdir="/var/lib/kv"} 3.25
//! nokv_flush_build_seconds_count{workdir="/var/lib/kv"} 42
//! ```
//!
//! Names are `nokv_<section>_<name>` in base units (`_seconds`, `_bytes`); counters end in
//! `_total`. Every family carries the `workdir` label. [`METRICS`] is the one catalogue: it
//! gives the `# HELP` lines, the man page's list (`nokv stats --help`), and a test keeps the
//! README's table in step with it. The histograms use the buckets of
//! [`crate::stats::HISTOGRAM_BOUNDS_US`], the same ones the JSON quantiles are read from.

use std::fmt::Write as _;

use crate::stats::{StatsSnapshot, Timing, HISTOGRAM_BOUNDS_US};

/// What a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Goes up and down.
    Gauge,
    /// Only goes up (cumulative over the workdir's life).
    Counter,
    /// Durations in buckets, with their sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: name, kind, unit and meaning.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// `nokv_<section>_<name>`.
    pub name: &'static str,
    /// Gauge, counter or histogram.
    pub kind: Kind,
    /// `seconds`, `bytes`, or what is counted.
    pub unit: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
}

const fn m(name: &'static str, kind: Kind, unit: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind,
        unit,
        help,
    }
}

use Kind::{Counter, Gauge, Histogram};

/// Every family `--format prometheus` prints, in order.
pub const METRICS: &[Metric] = &[
    m(
        "nokv_flush_pending",
        Gauge,
        "memtables",
        "Flushes queued or in progress.",
    ),
    m(
        "nokv_flush_queue",
        Gauge,
        "memtables",
        "Flushes waiting in the queue.",
    ),
    m(
        "nokv_flush_active",
        Gauge,
        "memtables",
        "Flushes being built or installed now.",
    ),
    m(
        "nokv_flush_completed_total",
        Counter,
        "flushes",
        "Flushes installed and released.",
    ),
    m(
        "nokv_flush_failed_total",
        Counter,
        "flushes",
        "Flushes that failed.",
    ),
    m(
        "nokv_flush_written_bytes_total",
        Counter,
        "bytes",
        "Bytes of table written by flushes.",
    ),
    m(
        "nokv_flush_written_entries_total",
        Counter,
        "entries",
        "Entries written by flushes.",
    ),
    m(
        "nokv_flush_stalls_total",
        Counter,
        "stalls",
        "Times a writer waited for a flush or for compaction (write stalls).",
    ),
    m(
        "nokv_flush_stall_seconds_total",
        Counter,
        "seconds",
        "Time writers spent stalled.",
    ),
    m(
        "nokv_flush_wait_seconds",
        Histogram,
        "seconds",
        "Flush wait time: enqueued to dequeued by a flush worker.",
    ),
    m(
        "nokv_flush_build_seconds",
        Histogram,
        "seconds",
        "Flush build time: dequeued to the table installed in the manifest.",
    ),
    m(
        "nokv_flush_release_seconds",
        Histogram,
        "seconds",
        "Flush release time: installed to the memtable dropped and its WAL reclaimed.",
    ),
    m(
        "nokv_flush_stall_duration_seconds",
        Histogram,
        "seconds",
        "Duration of each write stall.",
    ),
    m(
        "nokv_memtable_active_bytes",
        Gauge,
        "bytes",
        "Bytes in the active memtable.",
    ),
    m(
        "nokv_memtable_immutables",
        Gauge,
        "memtables",
        "Immutable memtables waiting for or in flush.",
    ),
    m(
        "nokv_memtable_immutable_bytes",
        Gauge,
        "bytes",
        "Bytes in the immutable memtables.",
    ),
    m(
        "nokv_wal_segments",
        Gauge,
        "segments",
        "WAL segments on disk.",
    ),
    m(
        "nokv_wal_bytes",
        Gauge,
        "bytes",
        "Size of the WAL segments on disk.",
    ),
    m(
        "nokv_wal_active_segment",
        Gauge,
        "file number",
        "The WAL segment receiving writes.",
    ),
    m(
        "nokv_wal_checkpoint",
        Gauge,
        "file number",
        "The oldest WAL segment still needed.",
    ),
    m(
        "nokv_wal_segments_removed_total",
        Counter,
        "segments",
        "WAL segments deleted after their memtable was flushed.",
    ),
    m(
        "nokv_wal_torn_tails_truncated_total",
        Counter,
        "tails",
        "Torn WAL tails cut off during recovery.",
    ),
    m(
        "nokv_lsm_tables",
        Gauge,
        "tables",
        "Tables over all levels.",
    ),
    m(
        "nokv_lsm_bytes",
        Gauge,
        "bytes",
        "Size of the tables over all levels.",
    ),
    m(
        "nokv_lsm_level_tables",
        Gauge,
        "tables",
        "Tables in the level (label level).",
    ),
    m(
        "nokv_lsm_level_bytes",
        Gauge,
        "bytes",
        "Size of the tables in the level (label level).",
    ),
    m(
        "nokv_lsm_level_entries",
        Gauge,
        "entries",
        "Entries in the level's tables (label level).",
    ),
    m(
        "nokv_compaction_runs_total",
        Counter,
        "compactions",
        "Compactions completed.",
    ),
    m(
        "nokv_compaction_read_bytes_total",
        Counter,
        "bytes",
        "Bytes read by compactions.",
    ),
    m(
        "nokv_compaction_written_bytes_total",
        Counter,
        "bytes",
        "Bytes written by compactions.",
    ),
    m(
        "nokv_compaction_pending",
        Gauge,
        "compactions",
        "Compactions waiting to run.",
    ),
    m(
        "nokv_compaction_duration_seconds",
        Histogram,
        "seconds",
        "Duration of each compaction.",
    ),
    m(
        "nokv_manifest_bytes",
        Gauge,
        "bytes",
        "Size of the live manifest.",
    ),
    m(
        "nokv_manifest_edits",
        Gauge,
        "edits",
        "Edits in the live manifest (a rewrite starts it afresh).",
    ),
    m(
        "nokv_manifest_next_file_number",
        Gauge,
        "file number",
        "The next file number to be handed out.",
    ),
    m(
        "nokv_manifest_last_sequence",
        Gauge,
        "sequence number",
        "The last sequence number the manifest records.",
    ),
    m(
        "nokv_session_live",
        Gauge,
        "boolean",
        "1 when a process holds the workdir now.",
    ),
    m(
        "nokv_session_pid",
        Gauge,
        "pid",
        "The process holding the workdir, or the last one that published stats.",
    ),
    m(
        "nokv_session_started_timestamp_seconds",
        Gauge,
        "seconds",
        "When that process opened the workdir (Unix time).",
    ),
    m(
        "nokv_session_updated_timestamp_seconds",
        Gauge,
        "seconds",
        "When the stats were last published (Unix time).",
    ),
];

/// The catalogue as text for `nokv stats --help` and the man page.
pub fn metrics_help() -> String {
    let mut text = String::from(
        "Examples:
  nokv stats
  nokv stats --json | jq .flush.build.p99_ms
  nokv stats --format prometheus > /var/lib/node_exporter/nokv.prom
  nokv stats --watch                    # dashboard, refreshed every 2 seconds until Ctrl-C
  nokv stats --watch 0.5 --all

JSON (--json): the nested snapshot; every timing object (flush.wait, flush.build,
flush.release, flush.stall, compaction.duration) has count, total_ms, avg_ms, last_ms, min_ms,
max_ms, p50_ms, p90_ms, p99_ms and buckets (the count in each nonempty bucket, keyed by its
upper bound in ms, \"+Inf\" above the last; not cumulative). Quantiles are read from that histogram (bounds 1, 1.5, 2, 3, 5
and 7 times each power of ten from 10 us to 1000 s), so each is within one bucket of the
true value; counters are cumulative over the workdir's life.

Prometheus (--format prometheus): every family has the label workdir=\"<absolute path>\";
histograms have le buckets in seconds plus _sum and _count.
",
    );
    for metric in METRICS {
        let _ = writeln!(
            text,
            "  {} ({}, {})\n      {}",
            metric.name,
            metric.kind.as_str(),
            metric.unit,
            metric.help
        );
    }
    text
}

/// Escapes a label value: backslash, double quote and line feed.
fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// A sample value: integers as integers, other numbers in their shortest exact form.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

struct Exposition {
    text: String,
    workdir: String,
}

impl Exposition {
    fn header(&mut self, name: &str) {
        let metric = METRICS.iter().find(|m| m.name == name);
        debug_assert!(metric.is_some(), "{name} is not in METRICS");
        if let Some(metric) = metric {
            let _ = writeln!(self.text, "# HELP {name} {}", metric.help);
            let _ = writeln!(self.text, "# TYPE {name} {}", metric.kind.as_str());
        }
    }

    fn sample(&mut self, name: &str, extra: &str, value: f64) {
        let _ = writeln!(
            self.text,
            "{name}{{workdir=\"{}\"{extra}}} {}",
            self.workdir,
            number(value)
        );
    }

    fn single(&mut self, name: &str, value: f64) {
        self.header(name);
        self.sample(name, "", value);
    }

    fn count(&mut self, name: &str, value: u64) {
        self.single(name, value as f64);
    }

    fn histogram(&mut self, name: &str, timing: &Timing) {
        self.header(name);
        let cumulative = timing.cumulative_buckets();
        for (bound, count) in HISTOGRAM_BOUNDS_US.iter().zip(&cumulative) {
            let le = number(*bound as f64 / 1e6);
            self.sample(
                &format!("{name}_bucket"),
                &format!(",le=\"{le}\""),
                *count as f64,
            );
        }
        // The buckets count what the histogram holds; `count` may also include durations
        // recorded before histograms existed, which no bucket can place. Sum and count
        // follow the buckets so the family stays consistent.
        let total = cumulative.last().copied().unwrap_or(0);
        self.sample(&format!("{name}_bucket"), ",le=\"+Inf\"", total as f64);
        let sum = if total == timing.count {
            timing.total_ms / 1000.0
        } else {
            timing.avg_ms * total as f64 / 1000.0
        };
        self.sample(&format!("{name}_sum"), "", sum);
        self.sample(&format!("{name}_count"), "", total as f64);
    }
}

/// `snapshot` in the text exposition format, every sample labelled `workdir`.
pub fn render(snapshot: &StatsSnapshot, workdir: &str) -> String {
    let mut out = Exposition {
        text: String::new(),
        workdir: label_value(workdir),
    };
    let f = &snapshot.flush;
    out.count("nokv_flush_pending", f.pending);
    out.count("nokv_flush_queue", f.queue);
    out.count("nokv_flush_active", f.active);
    out.count("nokv_flush_completed_total", f.completed);
    out.count("nokv_flush_failed_total", f.failed);
    out.count("nokv_flush_written_bytes_total", f.bytes_written);
    out.count("nokv_flush_written_entries_total", f.entries_written);
    out.count("nokv_flush_stalls_total", f.stall_count);
    out.single("nokv_flush_stall_seconds_total", f.stall_ms / 1000.0);
    out.histogram("nokv_flush_wait_seconds", &f.wait);
    out.histogram("nokv_flush_build_seconds", &f.build);
    out.histogram("nokv_flush_release_seconds", &f.release);
    out.histogram("nokv_flush_stall_duration_seconds", &f.stall);

    let mt = &snapshot.memtable;
    out.count("nokv_memtable_active_bytes", mt.active_bytes);
    out.count("nokv_memtable_immutables", mt.immutables);
    out.count("nokv_memtable_immutable_bytes", mt.immutable_bytes);

    let w = &snapshot.wal;
    out.count("nokv_wal_segments", w.segments);
    out.count("nokv_wal_bytes", w.bytes);
    out.count("nokv_wal_active_segment", w.active_segment);
    out.count("nokv_wal_checkpoint", w.checkpoint);
    out.count("nokv_wal_segments_removed_total", w.segments_removed);
    out.count(
        "nokv_wal_torn_tails_truncated_total",
        w.torn_tails_truncated,
    );

    let lsm = &snapshot.lsm;
    out.count("nokv_lsm_tables", lsm.tables);
    out.count("nokv_lsm_bytes", lsm.bytes);
    type LevelField = fn(&crate::stats::LevelStats) -> u64;
    let per_level: [(&str, LevelField); 3] = [
        ("nokv_lsm_level_tables", |l| l.tables),
        ("nokv_lsm_level_bytes", |l| l.bytes),
        ("nokv_lsm_level_entries", |l| l.entries),
    ];
    for (name, field) in per_level {
        out.header(name);
        for level in &lsm.levels {
            let label = format!(",level=\"{}\"", level.level);
            out.sample(name, &label, field(level) as f64);
        }
    }

    let c = &snapshot.compaction;
    out.count("nokv_compaction_runs_total", c.runs);
    out.count("nokv_compaction_read_bytes_total", c.bytes_read);
    out.count("nokv_compaction_written_bytes_total", c.bytes_written);
    out.count("nokv_compaction_pending", c.pending);
    out.histogram("nokv_compaction_duration_seconds", &c.duration);

    let mf = &snapshot.manifest;
    out.count("nokv_manifest_bytes", mf.bytes);
    out.count("nokv_manifest_edits", mf.edits);
    out.count("nokv_manifest_next_file_number", mf.next_file_number);
    out.count("nokv_manifest_last_sequence", mf.last_sequence);

    let s = &snapshot.session;
    out.count("nokv_session_live", u64::from(s.live));
    out.count("nokv_session_pid", u64::from(s.pid));
    out.count("nokv_session_started_timestamp_seconds", s.started_at);
    out.count("nokv_session_updated_timestamp_seconds", s.updated_at);
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::time::Duration;

    fn families(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn every_catalogued_family_is_printed_once_in_catalogue_order() {
        let text = render(&StatsSnapshot::new(), "/tmp/db");
        let printed = families(&text);
        let catalogue: Vec<String> = METRICS.iter().map(|m| m.name.to_string()).collect();
        assert_eq!(printed, catalogue);
        let unique: BTreeSet<&String> = printed.iter().collect();
        assert_eq!(unique.len(), printed.len());
    }

    #[test]
    fn names_follow_the_conventions() {
        for metric in METRICS {
            let name = metric.name;
            assert!(name.starts_with("nokv_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert_eq!(
                name.ends_with("_total"),
                metric.kind == Kind::Counter,
                "{name}: counters and only counters end in _total"
            );
            if metric.unit == "seconds" && metric.kind != Kind::Gauge {
                assert!(name.contains("_seconds"), "{name}");
            }
            if metric.unit == "bytes" {
                assert!(name.contains("_bytes"), "{name}");
            }
            assert!(!name.contains("_ms"), "{name}: base units only");
        }
    }

    #[test]
    fn histograms_are_cumulative_in_seconds_and_agree_with_the_timing() {
        let mut s = StatsSnapshot::new();
        for ms in [1, 2, 2, 40, 900] {
            s.flush.build.record(Duration::from_millis(ms));
        }
        let text = render(&s, "/tmp/db");
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.starts_with(needle))
                .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string()
        };
        let b = "nokv_flush_build_seconds_bucket{workdir=\"/tmp/db\",le=";
        assert_eq!(line(&format!("{b}\"0.001\"}}")), "1");
        assert_eq!(line(&format!("{b}\"0.002\"}}")), "3");
        assert_eq!(line(&format!("{b}\"0.05\"}}")), "4");
        assert_eq!(line(&format!("{b}\"1\"}}")), "5");
        assert_eq!(line(&format!("{b}\"+Inf\"}}")), "5");
        assert_eq!(line("nokv_flush_build_seconds_count"), "5");
        assert_eq!(line("nokv_flush_build_seconds_sum"), "0.945");
        assert_eq!(line(&format!("{b}\"0.00001\"}}")), "0");
    }

    #[test]
    fn the_workdir_label_is_escaped() {
        let text = render(&StatsSnapshot::new(), "/tmp/a \"b\"\\c\nd");
        assert!(
            text.contains("nokv_flush_pending{workdir=\"/tmp/a \\\"b\\\"\\\\c\\nd\"} 0"),
            "{text}"
        );
    }
}
