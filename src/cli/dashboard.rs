//! `nokv stats --watch`: a dashboard that fits an 80x24 terminal. The flush backlog and its
//! latency come first, with sparklines of the queue depth and the flush build time over the
//! last minute; one line per other section below. The full tables follow on a terminal with
//! room for them (taller, or at least 160 columns wide: then beside the dashboard), or always
//! with `--all`.
//!
//! [`render`] is pure (a snapshot, the history, a size -> text), so tests render it at any
//! size; `cmd::stats` samples the workdir and redraws.

use std::collections::VecDeque;

use crate::stats::{StatsSnapshot, Timing};

use super::cmd::stats::{count, duration, render as render_tables};
use super::output::{human_bytes, utc_time};

/// How far back the sparklines reach, in seconds.
pub const WINDOW_SECS: f64 = 60.0;
/// The width the dashboard itself is laid out for.
const DASHBOARD_WIDTH: usize = 80;
/// At least this wide, the tables go beside the dashboard rather than below it.
const SIDE_BY_SIDE_WIDTH: usize = 2 * DASHBOARD_WIDTH;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Drawn where an interval saw no flush.
const NO_DATA: char = '·';

/// One sample of the watched workdir.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it was taken (seconds, any monotonic origin).
    pub at: f64,
    /// Flushes queued or in progress.
    pub pending: u64,
    /// Average build time of the flushes that finished since the previous sample.
    pub build_ms: Option<f64>,
}

/// The samples of the last minute, oldest first.
#[derive(Debug, Default)]
pub struct History {
    samples: VecDeque<Sample>,
    /// Build count and total of the previous snapshot, for per-interval averages.
    last_build: Option<(u64, f64)>,
}

impl History {
    /// Adds a sample from `snapshot` taken at `at`; forgets those older than the window.
    pub fn push(&mut self, at: f64, snapshot: &StatsSnapshot) {
        let build = &snapshot.flush.build;
        let build_ms = match self.last_build {
            Some((count, total)) if build.count > count => {
                Some((build.total_ms - total) / (build.count - count) as f64)
            }
            Some(_) => None,
            // The first sample: show the last flush's build time, if any.
            None => (build.count > 0).then_some(build.last_ms),
        };
        self.last_build = Some((build.count, build.total_ms));
        self.samples.push_back(Sample {
            at,
            pending: snapshot.flush.pending,
            build_ms,
        });
        while self
            .samples
            .front()
            .is_some_and(|s| s.at < at - WINDOW_SECS)
        {
            self.samples.pop_front();
        }
    }

    /// The samples kept, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter()
    }
}

/// `values` as a sparkline of at most `width` characters (the newest at the right end;
/// when there are more values than columns, each column shows the largest of its share).
/// `None` draws [`NO_DATA`]. The scale runs from 0 to the largest value.
pub fn sparkline(values: &[Option<f64>], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let columns: Vec<Option<f64>> = if values.len() <= width {
        values.to_vec()
    } else {
        (0..width)
            .map(|c| {
                let from = c * values.len() / width;
                let to = ((c + 1) * values.len() / width).max(from + 1);
                values[from..to].iter().flatten().copied().reduce(f64::max)
            })
            .collect()
    };
    let peak = columns.iter().flatten().copied().fold(0.0, f64::max);
    columns
        .iter()
        .map(|v| match v {
            None => NO_DATA,
            Some(_) if peak <= 0.0 => BARS[0],
            Some(v) => {
                let level = (v / peak * (BARS.len() - 1) as f64).round() as usize;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// Cuts `line` to `width` characters.
fn fit(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        line.to_string()
    } else {
        let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn latency_row(name: &str, t: &Timing) -> String {
    format!(
        " {name:<11}{:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        count(t.count),
        duration(t.avg_ms),
        duration(t.p50_ms),
        duration(t.p90_ms),
        duration(t.p99_ms),
        duration(t.max_ms)
    )
}

/// The 80-column dashboard lines (without the footer).
fn dashboard(s: &StatsSnapshot, history: &History, workdir: &str) -> Vec<String> {
    let f = &s.flush;
    let mut lines = Vec::new();
    let who = if s.session.live {
        format!("live, pid {}", s.session.pid)
    } else {
        "not open".into()
    };
    lines.push(format!(
        "nokv {workdir}  {who}  {}",
        utc_time(s.session.updated_at)
    ));
    lines.push(String::new());
    lines.push(format!(
        "Flush backlog  pending {}  queue {}  active {}  immutables {} ({})",
        f.pending,
        f.queue,
        f.active,
        s.memtable.immutables,
        human_bytes(s.memtable.immutable_bytes)
    ));
    // Sparklines: label (7) + line + summary.
    const SPARK_WIDTH: usize = 40;
    let samples: Vec<&Sample> = history.samples().collect();
    let queue: Vec<Option<f64>> = samples.iter().map(|s| Some(s.pending as f64)).collect();
    let peak_queue = samples.iter().map(|s| s.pending).max().unwrap_or(0);
    lines.push(format!(
        "queue  {:<SPARK_WIDTH$}  now {}, peak {}",
        sparkline(&queue, SPARK_WIDTH),
        f.pending,
        peak_queue
    ));
    let build: Vec<Option<f64>> = samples.iter().map(|s| s.build_ms).collect();
    let peak_build = build.iter().flatten().copied().fold(0.0, f64::max);
    lines.push(format!(
        "build  {:<SPARK_WIDTH$}  last {}, peak avg {}",
        sparkline(&build, SPARK_WIDTH),
        duration(f.build.last_ms),
        duration(peak_build)
    ));
    lines.push(format!("       last minute ({} samples)", samples.len()));
    lines.push(format!(
        "{:<12}{:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "Latency", "count", "avg", "p50", "p90", "p99", "max"
    ));
    lines.push(latency_row("wait", &f.wait));
    lines.push(latency_row("build", &f.build));
    lines.push(latency_row("release", &f.release));
    lines.push(latency_row("stall", &f.stall));
    lines.push(latency_row("compaction", &s.compaction.duration));
    lines.push(String::new());
    lines.push(format!(
        "Flushed     {} ({} failed), {}, {} entries; stalls {} ({})",
        count(f.completed),
        count(f.failed),
        human_bytes(f.bytes_written),
        count(f.entries_written),
        count(f.stall_count),
        duration(f.stall_ms)
    ));
    lines.push(format!(
        "Memtable    active {}, {} immutable ({})",
        human_bytes(s.memtable.active_bytes),
        s.memtable.immutables,
        human_bytes(s.memtable.immutable_bytes)
    ));
    let w = &s.wal;
    lines.push(format!(
        "WAL         {} segments, {}; active {}, checkpoint {}",
        count(w.segments),
        human_bytes(w.bytes),
        w.active_segment,
        w.checkpoint
    ));
    let levels: Vec<String> = s
        .lsm
        .levels
        .iter()
        .filter(|l| l.tables > 0)
        .map(|l| {
            format!(
                "L{} {} ({})",
                l.level,
                count(l.tables),
                human_bytes(l.bytes)
            )
        })
        .collect();
    lines.push(format!(
        "Levels      {}",
        if levels.is_empty() {
            "no tables".to_string()
        } else {
            levels.join("  ")
        }
    ));
    let c = &s.compaction;
    lines.push(format!(
        "Compaction  {} runs, {} pending; read {}, written {}",
        count(c.runs),
        count(c.pending),
        human_bytes(c.bytes_read),
        human_bytes(c.bytes_written)
    ));
    lines.push(format!(
        "last_error  {}",
        f.last_error.as_deref().unwrap_or("-")
    ));
    lines
}

/// The whole screen for a `width` x `height` terminal: at most `width` columns on every
/// line and, unless `all`, at most `height` lines. `footer` is the last line.
pub fn render(
    snapshot: &StatsSnapshot,
    history: &History,
    workdir: &str,
    width: usize,
    height: usize,
    all: bool,
    footer: &str,
) -> String {
    let width = width.max(20);
    let left: Vec<String> = dashboard(snapshot, history, workdir)
        .iter()
        .map(|l| fit(l, width.min(DASHBOARD_WIDTH)))
        .collect();
    let tables: Vec<String> = render_tables(snapshot, DASHBOARD_WIDTH)
        .lines()
        .map(str::to_string)
        .collect();
    // Room for the dashboard, the tables and the footer, one line apart.
    let rows = height.saturating_sub(1);
    let mut lines: Vec<String> = Vec::new();
    if all {
        lines.extend(left);
        lines.push(String::new());
        lines.extend(tables.iter().map(|l| fit(l, width)));
    } else if width >= SIDE_BY_SIDE_WIDTH {
        let tall = left.len().max(tables.len()).min(rows);
        for i in 0..tall {
            let l = left.get(i).map_or("", String::as_str);
            let r = tables.get(i).map_or("", String::as_str);
            let pad = DASHBOARD_WIDTH - l.chars().count().min(DASHBOARD_WIDTH);
            let line = format!("{l}{}  {r}", " ".repeat(pad));
            lines.push(fit(line.trim_end(), width));
        }
    } else {
        let with_tables = left.len() + 1 + tables.len() <= rows;
        lines.extend(left.into_iter().take(rows));
        if with_tables {
            lines.push(String::new());
            lines.extend(tables.iter().map(|l| fit(l, width)));
        }
    }
    lines.push(fit(footer, width));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::LevelStats;
    use std::time::Duration;

    fn busy() -> StatsSnapshot {
        let mut s = StatsSnapshot::new();
        s.flush.pending = 3;
        s.flush.queue = 2;
        s.flush.active = 1;
        s.flush.completed = 123_456_789;
        s.memtable.immutables = 3;
        s.memtable.immutable_bytes = 192 << 20;
        for ms in [5, 7, 9, 120] {
            s.flush.build.record(Duration::from_millis(ms));
            s.flush.wait.record(Duration::from_millis(ms / 2));
        }
        s.flush.last_error = Some(format!(
            "flush of the memtable logged in WAL segment 000012.wal failed: {}",
            "No space left on device ".repeat(4)
        ));
        s.lsm.levels = (0..7)
            .map(|level| LevelStats {
                level,
                tables: 1234,
                bytes: 1023 << 30,
                entries: 1,
            })
            .collect();
        s.session.live = true;
        s.session.pid = 4242;
        s.session.updated_at = 1_700_000_000;
        s
    }

    fn history(s: &StatsSnapshot, samples: usize) -> History {
        let mut h = History::default();
        let mut s = s.clone();
        for i in 0..samples {
            s.flush.pending = (i % 5) as u64;
            if i % 3 == 0 {
                s.flush.build.record(Duration::from_millis(10 + i as u64));
            }
            h.push(i as f64 * 0.5, &s);
        }
        h
    }

    fn check_fits(text: &str, width: usize, height: usize) {
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= height, "{} lines:\n{text}", lines.len());
        for line in &lines {
            assert!(
                line.chars().count() <= width,
                "{} wide: {line}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn the_dashboard_fits_80x24_with_backlog_and_latency_first() {
        let s = busy();
        let h = history(&s, 200);
        let workdir = format!("/var/lib/{}", "deep/".repeat(20));
        let text = render(&s, &h, &workdir, 80, 24, false, "every 2s; Ctrl-C to stop");
        check_fits(&text, 80, 24);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].starts_with("Flush backlog  pending 3  queue 2  active 1"),
            "{text}"
        );
        assert!(lines[3].starts_with("queue  "), "{text}");
        assert!(lines[4].starts_with("build  "), "{text}");
        let latency = lines.iter().position(|l| l.starts_with("Latency")).unwrap();
        assert!(latency < 8, "{text}");
        assert!(lines[latency + 2].contains("build"), "{text}");
        assert!(lines[latency + 2].contains("120 ms"), "max build: {text}");
        let bars = |line: &str| line.chars().filter(|c| BARS.contains(c)).count();
        assert!(bars(lines[3]) >= 36, "queue sparkline: {text}");
        assert!(bars(lines[4]) >= 36, "build: {text}");
        // A short history: one column per sample, and intervals without a flush show.
        let short = render(&s, &history(&s, 12), "/db", 80, 24, false, "f");
        let build = short.lines().nth(4).unwrap();
        let columns: Vec<char> = build.chars().skip(7).take(12).collect();
        for (i, c) in columns.iter().enumerate() {
            assert_eq!(i % 3 != 0, *c == NO_DATA, "column {i} of {build}");
        }
        assert_eq!(lines.last().copied(), Some("every 2s; Ctrl-C to stop"));
        // Tables do not fit in 24 rows: not shown.
        assert!(!text.contains("Manifest\n"), "{text}");
    }

    #[test]
    fn larger_terminals_and_all_show_the_tables() {
        let s = busy();
        let h = history(&s, 20);
        let tall = render(&s, &h, "/db", 80, 100, false, "footer");
        check_fits(&tall, 80, 100);
        assert!(
            tall.contains("Manifest\n") && tall.contains("Session"),
            "{tall}"
        );
        let wide = render(&s, &h, "/db", 170, 40, false, "footer");
        check_fits(&wide, 170, 40);
        assert!(wide.lines().nth(2).unwrap().contains("Flush backlog"));
        assert!(
            wide.lines().any(|l| l.len() > 100 && l.contains("pending")),
            "{wide}"
        );
        let all = render(&s, &h, "/db", 80, 24, true, "footer");
        assert!(all.contains("Session"), "{all}");
        assert!(all.lines().all(|l| l.chars().count() <= 80));
    }

    #[test]
    fn tiny_terminals_get_a_cut_dashboard_never_a_wider_one() {
        let s = busy();
        let h = history(&s, 10);
        let text = render(&s, &h, "/db", 40, 10, false, "footer");
        check_fits(&text, 40, 10);
        assert!(text.starts_with("nokv /db"));
    }

    #[test]
    fn sparklines_scale_to_their_peak_and_keep_the_newest_at_the_right() {
        let values: Vec<Option<f64>> = [0.0, 1.0, 2.0, 4.0, 8.0].map(Some).to_vec();
        assert_eq!(sparkline(&values, 10), "▁▂▃▅█");
        assert_eq!(sparkline(&[None, Some(3.0), None], 10), "·█·");
        assert_eq!(sparkline(&[Some(0.0); 3], 10), "▁▁▁");
        // More values than columns: each column takes the largest of its share.
        let many: Vec<Option<f64>> = (0..100).map(|i| Some(f64::from(i))).collect();
        let line = sparkline(&many, 10);
        assert_eq!(line.chars().count(), 10);
        assert!(line.ends_with('█'));
        let levels: Vec<usize> = line
            .chars()
            .map(|c| BARS.iter().position(|&b| b == c).unwrap())
            .collect();
        assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{line}");
        assert!(levels[0] <= 1, "{line}");
    }

    #[test]
    fn history_keeps_a_minute_and_averages_builds_per_interval() {
        let mut s = StatsSnapshot::new();
        let mut h = History::default();
        h.push(0.0, &s);
        s.flush.build.record(Duration::from_millis(10));
        s.flush.build.record(Duration::from_millis(30));
        h.push(1.0, &s);
        h.push(2.0, &s);
        let builds: Vec<Option<f64>> = h.samples().map(|x| x.build_ms).collect();
        assert_eq!(builds, [None, Some(20.0), None]);
        h.push(100.0, &s);
        assert_eq!(h.samples().count(), 1, "older than a minute is forgotten");
    }
}
