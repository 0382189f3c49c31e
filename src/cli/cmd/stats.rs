//! `nokv stats`: the stats snapshot (SPEC 3), read-only through `inspect::offline_stats`: it
//! never opens the database, never takes `LOCK`, never creates anything.

use std::io::IsTerminal;
use std::time::Duration;

use crate::stats::{StatsSnapshot, Timing};
use crate::vfs::RealFs;

use super::require_workdir;
use crate::cli::args::{GlobalArgs, StatsArgs};
use crate::cli::output::{self, human_bytes, utc_time, Stdout};
use crate::cli::CliError;

/// Runs `stats`.
///
/// # Errors
/// A missing workdir or database; I/O errors; stdout errors.
pub fn run(global: &GlobalArgs, args: &StatsArgs) -> Result<(), CliError> {
    let dir = &global.workdir;
    let Some(interval) = args.watch else {
        require_workdir(dir)?;
        let snapshot = crate::inspect::offline_stats(&RealFs::new(), dir)?;
        return if args.json {
            output::print_json(&to_json(&snapshot))
        } else {
            output::print(render(&snapshot))
        };
    };
    let clear = std::io::stdout().is_terminal() && !args.json;
    let mut out = Stdout::new();
    loop {
        require_workdir(dir)?;
        let snapshot = crate::inspect::offline_stats(&RealFs::new(), dir)?;
        if args.json {
            // One compact document per line, so the stream is JSON lines.
            let mut line = serde_json::to_string(&to_json(&snapshot)).unwrap_or_default();
            line.push('\n');
            out.write(line.as_bytes())?;
        } else {
            if clear {
                out.write(b"\x1b[H\x1b[2J")?;
            }
            out.write(render(&snapshot).as_bytes())?;
            out.write(
                format!("\n{} every {interval}s; Ctrl-C to stop\n", dir.display()).as_bytes(),
            )?;
        }
        out.flush()?;
        std::thread::sleep(Duration::from_secs_f64(interval));
    }
}

fn to_json(snapshot: &StatsSnapshot) -> serde_json::Value {
    serde_json::to_value(snapshot).unwrap_or(serde_json::Value::Null)
}

fn ms(value: f64) -> String {
    format!("{value:.1}")
}

fn timing_row(name: &str, t: &Timing) -> Vec<String> {
    vec![
        name.to_string(),
        t.count.to_string(),
        ms(t.avg_ms),
        ms(t.last_ms),
        ms(t.max_ms),
        ms(t.total_ms),
    ]
}

/// The snapshot as tables.
fn render(s: &StatsSnapshot) -> String {
    let mut text = String::new();
    let mut section = |title: &str, table: comfy_table::Table| {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(title);
        text.push('\n');
        text.push_str(&table.to_string());
        text.push('\n');
    };

    let f = &s.flush;
    let mut flush = output::table(&[
        "pending",
        "queue",
        "active",
        "completed",
        "failed",
        "stalls",
        "stall ms",
        "written",
        "entries",
        "last_error",
    ]);
    flush.add_row(vec![
        f.pending.to_string(),
        f.queue.to_string(),
        f.active.to_string(),
        f.completed.to_string(),
        f.failed.to_string(),
        f.stall_count.to_string(),
        ms(f.stall_ms),
        human_bytes(f.bytes_written),
        f.entries_written.to_string(),
        f.last_error.clone().unwrap_or_else(|| "-".into()),
    ]);
    section("Flush", flush);

    let mut timings = output::table(&["phase", "count", "avg ms", "last ms", "max ms", "total ms"]);
    timings.add_row(timing_row("wait", &f.wait));
    timings.add_row(timing_row("build", &f.build));
    timings.add_row(timing_row("release", &f.release));
    section("Flush timings", timings);

    let w = &s.wal;
    let mut wal = output::table(&[
        "segments",
        "bytes",
        "active segment",
        "checkpoint",
        "removed",
        "torn tails truncated",
    ]);
    wal.add_row(vec![
        w.segments.to_string(),
        human_bytes(w.bytes),
        w.active_segment.to_string(),
        w.checkpoint.to_string(),
        w.segments_removed.to_string(),
        w.torn_tails_truncated.to_string(),
    ]);
    section("WAL", wal);

    let m = &s.memtable;
    let mut memtable = output::table(&["active", "immutables", "immutable bytes"]);
    memtable.add_row(vec![
        human_bytes(m.active_bytes),
        m.immutables.to_string(),
        human_bytes(m.immutable_bytes),
    ]);
    section("Memtable", memtable);

    let mut levels = output::table(&["level", "tables", "bytes", "entries"]);
    for l in s.lsm.levels.iter().filter(|l| l.tables > 0) {
        levels.add_row(vec![
            format!("L{}", l.level),
            l.tables.to_string(),
            human_bytes(l.bytes),
            l.entries.to_string(),
        ]);
    }
    let entries: u64 = s.lsm.levels.iter().map(|l| l.entries).sum();
    levels.add_row(vec![
        "total".to_string(),
        s.lsm.tables.to_string(),
        human_bytes(s.lsm.bytes),
        entries.to_string(),
    ]);
    section("Levels", levels);

    let c = &s.compaction;
    let mut compaction =
        output::table(&["runs", "pending", "read", "written", "last ms", "max ms"]);
    compaction.add_row(vec![
        c.runs.to_string(),
        c.pending.to_string(),
        human_bytes(c.bytes_read),
        human_bytes(c.bytes_written),
        ms(c.last_ms),
        ms(c.max_ms),
    ]);
    section("Compaction", compaction);

    let mf = &s.manifest;
    let mut manifest = output::table(&[
        "file",
        "bytes",
        "edits",
        "next file number",
        "last sequence",
    ]);
    manifest.add_row(vec![
        if mf.file.is_empty() {
            "-".into()
        } else {
            mf.file.clone()
        },
        human_bytes(mf.bytes),
        mf.edits.to_string(),
        mf.next_file_number.to_string(),
        mf.last_sequence.to_string(),
    ]);
    section("Manifest", manifest);

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
    section("Session", session);
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
        let text = render(&s);
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
            "No space left",
            "wait",
            "build",
            "release",
            "avg ms",
            "max ms",
            "L0",
            "2023-11-14 22:13:20 UTC",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
        // Empty levels are not listed.
        assert!(!text.contains("L1"), "{text}");
    }

    #[test]
    fn json_keeps_the_contract_names() {
        let v = to_json(&StatsSnapshot::default());
        assert!(v.pointer("/flush/pending").is_some());
        assert!(v.pointer("/flush/release/max_ms").is_some());
        assert!(v.pointer("/session/live").is_some());
    }
}
