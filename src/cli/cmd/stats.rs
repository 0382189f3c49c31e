//! `nokv stats`: the stats snapshot (SPEC 3), read-only through `inspect::offline_stats`: it
//! never opens the database, never takes `LOCK`, never creates anything.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::stats::{StatsSnapshot, Timing};
use crate::vfs::RealFs;

use super::require_workdir;
use crate::cli::args::{GlobalArgs, StatsArgs, StatsFormat};
use crate::cli::output::{self, human_bytes, utc_time, Stdout};
use crate::cli::{dashboard, prometheus, terminal, CliError};

/// Runs `stats`.
///
/// # Errors
/// A missing workdir or database; I/O errors; stdout errors.
pub fn run(global: &GlobalArgs, args: &StatsArgs) -> Result<(), CliError> {
    let dir = &global.workdir;
    let format = args.format();
    let Some(interval) = args.watch else {
        require_workdir(dir)?;
        let snapshot = crate::inspect::offline_stats(&RealFs::new(), dir)?;
        return match format {
            StatsFormat::Json => output::print(json_text(&snapshot, true)),
            StatsFormat::Table => output::print(render(&snapshot, 80)),
            StatsFormat::Prometheus => {
                output::print(prometheus::render(&snapshot, &workdir_label(dir)))
            }
        };
    };
    if format == StatsFormat::Prometheus {
        return Err(CliError::Usage(
            "--watch cannot be combined with --format prometheus (run it from cron or a \
             timer instead)"
                .into(),
        ));
    }
    let clear = std::io::stdout().is_terminal() && format == StatsFormat::Table;
    let mut out = Stdout::new();
    let mut history = dashboard::History::default();
    let started = Instant::now();
    let footer = format!(
        "every {interval}s; Ctrl-C to stop{}",
        if args.all {
            ""
        } else {
            "; --all for every table"
        }
    );
    loop {
        require_workdir(dir)?;
        let snapshot = crate::inspect::offline_stats(&RealFs::new(), dir)?;
        if format == StatsFormat::Json {
            // One compact document per line, so the stream is JSON lines.
            out.write(json_text(&snapshot, false).as_bytes())?;
        } else {
            history.push(started.elapsed().as_secs_f64(), &snapshot);
            let (width, height) = terminal::size().unwrap_or((80, 24));
            let screen = dashboard::render(
                &snapshot,
                &history,
                &dir.display().to_string(),
                width,
                height,
                args.all,
                &footer,
            );
            if clear {
                // Home, draw, clear what the previous frame left below: no flicker.
                out.write(b"\x1b[H")?;
                out.write(screen.replace('\n', "\x1b[K\n").as_bytes())?;
                out.write(b"\x1b[J")?;
            } else {
                out.write(screen.as_bytes())?;
                out.write(b"\n")?;
            }
        }
        out.flush()?;
        std::thread::sleep(Duration::from_secs_f64(interval));
    }
}

/// The workdir as the `workdir` label: absolute, so every scrape of one workdir carries the
/// same label wherever the command ran from.
fn workdir_label(dir: &std::path::Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// The snapshot as JSON and a newline, straight from the struct (a `serde_json::Value` would
/// sort the histogram's keys as text).
fn json_text(snapshot: &StatsSnapshot, pretty: bool) -> String {
    let mut text = if pretty {
        serde_json::to_string_pretty(snapshot)
    } else {
        serde_json::to_string(snapshot)
    }
    .unwrap_or_else(|_| "null".into());
    text.push('\n');
    text
}

/// A duration given in milliseconds, in at most 8 characters and a unit that suits it.
pub(crate) fn duration(ms: f64) -> String {
    let secs = ms / 1000.0;
    if ms == 0.0 {
        "0".into()
    } else if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if secs < 10.0 {
        format!("{secs:.2} s")
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 600.0 {
        format!("{:.1} min", secs / 60.0)
    } else if secs < 3600.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// A count, exact below ten million, else in at most 7 characters (`12.3 M`, `4.56 G`).
pub(crate) fn count(n: u64) -> String {
    if n < 10_000_000 {
        return n.to_string();
    }
    let mut value = n as f64;
    let mut unit = ' ';
    for next in ['k', 'M', 'G', 'T', 'P', 'E'] {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

fn timing_row(name: &str, t: &Timing) -> Vec<String> {
    vec![
        name.to_string(),
        count(t.count),
        duration(t.avg_ms),
        duration(t.p50_ms),
        duration(t.p90_ms),
        duration(t.p99_ms),
        duration(t.max_ms),
    ]
}

/// `text` cut into lines of at most `width` characters (at spaces where possible).
fn wrap(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !line.is_empty() && !fits {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            let tail: String = line.chars().skip(width).collect();
            out.push_str(&head);
            out.push('\n');
            line = tail;
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The snapshot as tables, each at most 80 columns wide (and `width`, for the free text).
pub(crate) fn render(s: &StatsSnapshot, width: usize) -> String {
    let mut text = String::new();
    let mut section = |title: &str, table: comfy_table::Table, notes: &str| {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(title);
        text.push('\n');
        text.push_str(&table.to_string());
        text.push('\n');
        text.push_str(notes);
    };

    let f = &s.flush;
    let mut flush = output::table(&[
        "pending",
        "queue",
        "active",
        "completed",
        "failed",
        "written",
        "entries",
    ]);
    flush.add_row(vec![
        f.pending.to_string(),
        f.queue.to_string(),
        f.active.to_string(),
        count(f.completed),
        count(f.failed),
        human_bytes(f.bytes_written),
        count(f.entries_written),
    ]);
    let notes = format!(
        "stalls: {} ({} in total)\n{}",
        count(f.stall_count),
        duration(f.stall_ms),
        wrap(
            &format!("last_error: {}", f.last_error.as_deref().unwrap_or("-")),
            width
        )
    );
    section("Flush", flush, &notes);

    let mut timings = output::table(&["phase", "count", "avg", "p50", "p90", "p99", "max"]);
    timings.add_row(timing_row("wait", &f.wait));
    timings.add_row(timing_row("build", &f.build));
    timings.add_row(timing_row("release", &f.release));
    timings.add_row(timing_row("stall", &f.stall));
    timings.add_row(timing_row("compaction", &s.compaction.duration));
    section("Flush timings", timings, "");

    let w = &s.wal;
    let mut wal = output::table(&[
        "segments",
        "size",
        "active",
        "checkpoint",
        "removed",
        "torn tails",
    ]);
    wal.add_row(vec![
        count(w.segments),
        human_bytes(w.bytes),
        w.active_segment.to_string(),
        w.checkpoint.to_string(),
        count(w.segments_removed),
        count(w.torn_tails_truncated),
    ]);
    section("WAL", wal, "");

    let m = &s.memtable;
    let mut memtable = output::table(&["active", "immutables", "immutable size"]);
    memtable.add_row(vec![
        human_bytes(m.active_bytes),
        count(m.immutables),
        human_bytes(m.immutable_bytes),
    ]);
    section("Memtable", memtable, "");

    let mut levels = output::table(&["level", "tables", "size", "entries"]);
    for l in s.lsm.levels.iter().filter(|l| l.tables > 0) {
        levels.add_row(vec![
            format!("L{}", l.level),
            count(l.tables),
            human_bytes(l.bytes),
            count(l.entries),
        ]);
    }
    let entries: u64 = s.lsm.levels.iter().map(|l| l.entries).sum();
    levels.add_row(vec![
        "total".to_string(),
        count(s.lsm.tables),
        human_bytes(s.lsm.bytes),
        count(entries),
    ]);
    section("Levels", levels, "");

    let c = &s.compaction;
    let mut compaction = output::table(&["runs", "pending", "read", "written", "last", "max"]);
    compaction.add_row(vec![
        count(c.runs),
        count(c.pending),
        human_bytes(c.bytes_read),
        human_bytes(c.bytes_written),
        duration(c.last_ms),
        duration(c.max_ms),
    ]);
    section("Compaction", compaction, "");

    let mf = &s.manifest;
    let mut manifest = output::table(&["file", "size", "edits", "next file", "last sequence"]);
    manifest.add_row(vec![
        if mf.file.is_empty() {
            "-".into()
        } else {
            mf.file.clone()
        },
        human_bytes(mf.bytes),
        count(mf.edits),
        mf.next_file_number.to_string(),
        mf.last_sequence.to_string(),
    ]);
    section("Manifest", manifest, "");

    let se = &s.session;
    let mut session = output::table(&["pid", "live", "started", "updated"]);
    session.add_row(vec![
        if se.pid == 0 {
            "-".into()
        } else {
            se.pid.to_string()
        },
        if se.live { "yes".into() } else { "no".into() },
        utc_time(se.started_at),
        utc_time(se.updated_at),
    ]);
    section("Session", session, "");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::LevelStats;

    #[test]
    fn tables_show_every_section_and_the_flush_fields() {
        let mut s = StatsSnapshot::default();
        s.flush.pending = 3;
        s.flush.last_error = Some("fsync 000012.sst: No space left on device".into());
        s.flush.build.record(Duration::from_millis(12));
        s.lsm.levels = vec![
            LevelStats {
                level: 0,
                tables: 2,
                bytes: 4096,
                entries: 10,
            },
            LevelStats::default(),
        ];
        s.lsm.tables = 2;
        s.session.live = true;
        s.session.updated_at = 1_700_000_000;
        let text = render(&s, 80);
        for needle in [
            "Flush",
            "Flush timings",
            "WAL",
            "Memtable",
            "Levels",
            "Compaction",
            "Manifest",
            "Session",
            "pending",
            "queue",
            "active",
            "completed",
            "failed",
            "stalls",
            "last_error",
            "p50",
            "p99",
            "No space left",
            "wait",
            "build",
            "release",
            "avg",
            "max",
            "12.0 ms",
            "L0",
            "2023-11-14 22:13:20 UTC",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
        // Empty levels are not listed.
        assert!(!text.contains("L1"), "{text}");
    }

    /// The widest values each column can plausibly hold.
    fn crowded() -> StatsSnapshot {
        let mut s = StatsSnapshot::new();
        let big = 999_999_999_999;
        s.flush.pending = 9999;
        s.flush.queue = 9999;
        s.flush.active = 9999;
        s.flush.completed = big;
        s.flush.failed = big;
        s.flush.bytes_written = 1023 * (1 << 50);
        s.flush.entries_written = big;
        s.flush.stall_count = big;
        s.flush.stall_ms = 1e12;
        s.flush.last_error = Some(format!(
            "flush of the memtable logged in WAL segment 000012.wal failed: fsync {}: No space left on device",
            "/very/long/path/".repeat(8)
        ));
        for t in [
            &mut s.flush.wait,
            &mut s.flush.build,
            &mut s.flush.release,
            &mut s.flush.stall,
            &mut s.compaction.duration,
        ] {
            t.record(Duration::from_micros(1500));
            t.record(Duration::from_secs(7 * 24 * 3600));
            t.count = big;
        }
        s.wal.segments = big;
        s.wal.bytes = 1023 * (1 << 40);
        s.wal.active_segment = big;
        s.wal.checkpoint = big;
        s.wal.segments_removed = big;
        s.wal.torn_tails_truncated = big;
        s.memtable.active_bytes = 1023 * (1 << 30);
        s.memtable.immutables = big;
        s.memtable.immutable_bytes = 1023 * (1 << 30);
        s.lsm.levels = (0..7)
            .map(|level| LevelStats {
                level,
                tables: big,
                bytes: 1023 * (1 << 50),
                entries: big,
            })
            .collect();
        s.lsm.tables = big;
        s.lsm.bytes = 1023 * (1 << 50);
        s.compaction.runs = big;
        s.compaction.pending = big;
        s.compaction.bytes_read = 1023 * (1 << 50);
        s.compaction.bytes_written = 1023 * (1 << 50);
        s.compaction.last_ms = 1e9;
        s.compaction.max_ms = 1e9;
        s.manifest.file = "MANIFEST-999999999999".into();
        s.manifest.bytes = 1023 * (1 << 30);
        s.manifest.edits = big;
        s.manifest.next_file_number = big;
        s.manifest.last_sequence = big;
        s.session.pid = u32::MAX;
        s.session.started_at = 4_102_444_800;
        s.session.updated_at = 4_102_444_800;
        s
    }

    #[test]
    fn tables_fit_80_columns_even_with_the_widest_values() {
        let text = render(&crowded(), 80);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} wide: {line}\n{text}",
                line.chars().count()
            );
        }
        assert!(text.contains("No space left on device"), "{text}");
    }

    #[test]
    fn durations_are_short_and_carry_their_unit() {
        for (ms, want) in [
            (0.0, "0"),
            (0.25, "250 µs"),
            (1.5, "1.50 ms"),
            (12.34, "12.3 ms"),
            (250.0, "250 ms"),
            (1500.0, "1.50 s"),
            (42_000.0, "42.0 s"),
            (90_000.0, "1.5 min"),
            (1_800_000.0, "30 min"),
            (7_200_000.0, "2.0 h"),
        ] {
            assert_eq!(duration(ms), want);
            assert!(duration(ms).chars().count() <= 8);
        }
        for (n, want) in [
            (0, "0"),
            (9_999_999, "9999999"),
            (12_345_678, "12.3 M"),
            (4_560_000_000, "4.56 G"),
            (u64::MAX, "18.4 E"),
        ] {
            assert_eq!(count(n), want);
        }
    }

    #[test]
    fn json_keeps_the_contract_names() {
        let v: serde_json::Value =
            serde_json::from_str(&json_text(&StatsSnapshot::default(), true)).unwrap();
        assert!(v.pointer("/flush/pending").is_some());
        assert!(v.pointer("/flush/release/max_ms").is_some());
        assert!(v.pointer("/session/live").is_some());
    }
}
