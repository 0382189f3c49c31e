//! Observability end to end, through the `nokv` binary: `stats --format prometheus` parsed
//! back and checked against `stats --json` (and through `promtool check metrics` when it is
//! installed), the `EVENTS` history against a workload's flush and compaction counts, and the
//! `stats --watch` dashboard in an 80x24 terminal (tmux, when installed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_nokv");

struct Fixture {
    tmp: TempDir,
    db: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("db");
        Fixture { tmp, db }
    }

    fn nokv(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("NOKV_WORKDIR")
            .arg("--workdir")
            .arg(&self.db)
            .args(args);
        cmd
    }

    fn stdout(&self, args: &[&str]) -> String {
        let out = self.nokv(args).output().unwrap();
        assert!(
            out.status.success(),
            "nokv {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Loads `records` unsorted keys through small memtables: many flushes, and (with L0's
    /// trigger of 4 tables) compactions.
    fn workload(&self, records: u64) {
        let mut tsv = String::new();
        for i in 0..records {
            // A fixed permutation of 0..records, so the keys arrive out of order.
            let k = (i * 7919) % records;
            tsv.push_str(&format!("key{k:08}\tvalue-{k}-{}\n", "x".repeat(40)));
        }
        let path = self.tmp.path().join("data.tsv");
        std::fs::write(&path, tsv).unwrap();
        self.nokv(&["--memtable-size", "64KiB", "load", path.to_str().unwrap()])
            .assert()
            .success();
    }

    fn stats_json(&self) -> Value {
        serde_json::from_str(&self.stdout(&["stats", "--json"])).unwrap()
    }
}

/// Samples of a text exposition: `name{labels}` -> value, plus each family's TYPE.
#[derive(Default)]
struct Exposition {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
}

/// A strict little parser of the text format: every line is a comment (`# HELP`, `# TYPE`) or
/// `name{labels} value`; anything else fails the test.
fn parse_exposition(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert!(
                ["gauge", "counter", "histogram"].contains(&kind),
                "type in {line}"
            );
            assert!(
                out.types.insert(name.into(), kind.into()).is_none(),
                "{line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect(line);
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        assert!(series.contains("{workdir=\""), "no workdir label: {line}");
        assert!(out.samples.insert(series.into(), value).is_none(), "{line}");
    }
    out
}

fn pointer_f64(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {path}"))
}

#[test]
fn prometheus_output_parses_back_and_matches_stats_json() {
    let f = Fixture::new();
    f.workload(20_000);
    let json = f.stats_json();
    let text = f.stdout(&["stats", "--format", "prometheus"]);
    let exposition = parse_exposition(&text);
    let workdir = std::fs::canonicalize(&f.db).unwrap();
    let label = format!("{{workdir=\"{}\"}}", workdir.display());
    let get = |name: &str| {
        *exposition
            .samples
            .get(&format!("{name}{label}"))
            .unwrap_or_else(|| panic!("no {name}{label} in\n{text}"))
    };

    assert!(pointer_f64(&json, "/flush/completed") >= 5.0, "{json}");
    assert!(pointer_f64(&json, "/compaction/runs") >= 1.0, "{json}");
    for (name, path, scale) in [
        ("nokv_flush_pending", "/flush/pending", 1.0),
        ("nokv_flush_queue", "/flush/queue", 1.0),
        ("nokv_flush_active", "/flush/active", 1.0),
        ("nokv_flush_completed_total", "/flush/completed", 1.0),
        ("nokv_flush_failed_total", "/flush/failed", 1.0),
        (
            "nokv_flush_written_bytes_total",
            "/flush/bytes_written",
            1.0,
        ),
        (
            "nokv_flush_written_entries_total",
            "/flush/entries_written",
            1.0,
        ),
        ("nokv_flush_stalls_total", "/flush/stall_count", 1.0),
        ("nokv_flush_stall_seconds_total", "/flush/stall_ms", 1e-3),
        ("nokv_memtable_active_bytes", "/memtable/active_bytes", 1.0),
        ("nokv_memtable_immutables", "/memtable/immutables", 1.0),
        (
            "nokv_memtable_immutable_bytes",
            "/memtable/immutable_bytes",
            1.0,
        ),
        ("nokv_wal_segments", "/wal/segments", 1.0),
        ("nokv_wal_bytes", "/wal/bytes", 1.0),
        ("nokv_wal_active_segment", "/wal/active_segment", 1.0),
        ("nokv_wal_checkpoint", "/wal/checkpoint", 1.0),
        (
            "nokv_wal_segments_removed_total",
            "/wal/segments_removed",
            1.0,
        ),
        (
            "nokv_wal_torn_tails_truncated_total",
            "/wal/torn_tails_truncated",
            1.0,
        ),
        ("nokv_lsm_tables", "/lsm/tables", 1.0),
        ("nokv_lsm_bytes", "/lsm/bytes", 1.0),
        ("nokv_compaction_runs_total", "/compaction/runs", 1.0),
        (
            "nokv_compaction_read_bytes_total",
            "/compaction/bytes_read",
            1.0,
        ),
        (
            "nokv_compaction_written_bytes_total",
            "/compaction/bytes_written",
            1.0,
        ),
        ("nokv_compaction_pending", "/compaction/pending", 1.0),
        ("nokv_manifest_bytes", "/manifest/bytes", 1.0),
        ("nokv_manifest_edits", "/manifest/edits", 1.0),
        (
            "nokv_manifest_next_file_number",
            "/manifest/next_file_number",
            1.0,
        ),
        (
            "nokv_manifest_last_sequence",
            "/manifest/last_sequence",
            1.0,
        ),
        ("nokv_session_pid", "/session/pid", 1.0),
        (
            "nokv_session_started_timestamp_seconds",
            "/session/started_at",
            1.0,
        ),
        (
            "nokv_session_updated_timestamp_seconds",
            "/session/updated_at",
            1.0,
        ),
    ] {
        let want = pointer_f64(&json, path) * scale;
        let got = get(name);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{name} = {got}, but stats --json {path} = {want}"
        );
    }
    assert_eq!(get("nokv_session_live"), 0.0);

    // Levels, with a level label, for every level.
    for level in json["lsm"]["levels"].as_array().unwrap() {
        let n = level["level"].as_u64().unwrap();
        for (family, field) in [
            ("nokv_lsm_level_tables", "tables"),
            ("nokv_lsm_level_bytes", "bytes"),
            ("nokv_lsm_level_entries", "entries"),
        ] {
            let key = format!(
                "{family}{{workdir=\"{}\",level=\"{n}\"}}",
                workdir.display()
            );
            assert_eq!(
                exposition.samples[&key],
                level[field].as_f64().unwrap(),
                "{key}"
            );
        }
    }

    // Histograms: cumulative buckets in seconds, matching the JSON histogram bucket by bucket.
    let bounds: Vec<f64> = nokv::stats::HISTOGRAM_BOUNDS_US
        .iter()
        .map(|&us| us as f64 / 1000.0)
        .collect();
    for (family, path) in [
        ("nokv_flush_wait_seconds", "/flush/wait"),
        ("nokv_flush_build_seconds", "/flush/build"),
        ("nokv_flush_release_seconds", "/flush/release"),
        ("nokv_flush_stall_duration_seconds", "/flush/stall"),
        ("nokv_compaction_duration_seconds", "/compaction/duration"),
    ] {
        assert_eq!(exposition.types[family], "histogram");
        let timing = json.pointer(path).unwrap();
        // Sparse in JSON: {"<upper bound ms>": count, ..., "+Inf": count}.
        let buckets = timing["buckets"].as_object().unwrap();
        let in_bucket = |bound: &str| buckets.get(bound).map_or(0.0, |c| c.as_f64().unwrap());
        let mut running = 0.0;
        for bound in &bounds {
            running += in_bucket(&format!("{bound}"));
            let le = format!("{}", (bound * 1000.0).round() / 1e6);
            let key = format!(
                "{family}_bucket{{workdir=\"{}\",le=\"{le}\"}}",
                workdir.display()
            );
            let got = exposition
                .samples
                .get(&key)
                .unwrap_or_else(|| panic!("no {key}"));
            assert_eq!(*got, running, "{key}");
        }
        running += in_bucket("+Inf");
        assert_eq!(running, pointer_f64(timing, "/count"), "{family}: {timing}");
        let count = pointer_f64(timing, "/count");
        let inf = format!(
            "{family}_bucket{{workdir=\"{}\",le=\"+Inf\"}}",
            workdir.display()
        );
        assert_eq!(exposition.samples[&inf], count, "{inf}");
        assert_eq!(get(&format!("{family}_count")), count);
        let sum = get(&format!("{family}_sum"));
        let total = pointer_f64(timing, "/total_ms") / 1000.0;
        assert!((sum - total).abs() <= 1e-9 * total.max(1.0), "{family}_sum");
    }
    assert!(pointer_f64(&json, "/flush/build/count") >= 5.0);
    let p99 = pointer_f64(&json, "/flush/build/p99_ms");
    let max = pointer_f64(&json, "/flush/build/max_ms");
    assert!(p99 > 0.0 && p99 <= max, "p99 {p99}, max {max}");
}

#[test]
fn promtool_accepts_the_exposition() {
    let Ok(status) = StdCommand::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    else {
        eprintln!(
            "observability promtool_accepts_the_exposition: SKIPPED (promtool not installed)"
        );
        return;
    };
    assert!(status.success());
    let f = Fixture::new();
    f.workload(5_000);
    let text = f.stdout(&["stats", "--format", "prometheus"]);
    let mut child = StdCommand::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    // promtool prints lint findings (on stdout or stderr, by version) and exits non-zero
    // for problems; a clean exposition gives neither.
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "promtool check metrics: {findings}"
    );
}

#[test]
fn stats_format_flags() {
    let f = Fixture::new();
    f.workload(200);
    let short: Value = serde_json::from_str(&f.stdout(&["stats", "--json"])).unwrap();
    let long: Value = serde_json::from_str(&f.stdout(&["stats", "--format", "json"])).unwrap();
    assert_eq!(short["flush"], long["flush"]);
    f.nokv(&["stats", "--json", "--format", "table"])
        .assert()
        .code(2);
    f.nokv(&["stats", "--format", "yaml"]).assert().code(2);
    f.nokv(&["stats", "--watch", "1", "--format", "prometheus"])
        .assert()
        .code(2);
    let table = f.stdout(&["stats", "--format", "table"]);
    assert!(
        table.contains("Flush timings") && table.contains("p99"),
        "{table}"
    );
    // A missing workdir is refused and nothing is created.
    let missing = f.tmp.path().join("nope");
    Command::new(BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&missing)
        .args(["stats", "--format", "prometheus"])
        .assert()
        .code(1);
    assert!(!missing.exists());
}

fn events_json(f: &Fixture, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["events", "--json"];
    args.extend_from_slice(extra);
    f.stdout(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn events_match_the_workloads_flush_and_compaction_counts() {
    let f = Fixture::new();
    f.workload(20_000);
    f.workload(5_000);
    let stats = f.stats_json();
    let events = events_json(&f, &[]);
    let flushes = of_kind(&events, "flush");
    let compactions = of_kind(&events, "compaction");
    let completed = stats["flush"]["completed"].as_u64().unwrap();
    assert!(completed >= 10, "{stats}");
    assert_eq!(flushes.len() as u64, completed, "one flush event per flush");
    assert_eq!(
        compactions.len() as u64,
        stats["compaction"]["runs"].as_u64().unwrap(),
        "one compaction event per compaction"
    );
    let sum = |list: &[&Value], field: &str| -> u64 {
        list.iter().map(|e| e[field].as_u64().unwrap()).sum()
    };
    assert_eq!(
        sum(&flushes, "entries"),
        stats["flush"]["entries_written"].as_u64().unwrap()
    );
    assert_eq!(
        sum(&flushes, "bytes_out"),
        stats["flush"]["bytes_written"].as_u64().unwrap()
    );
    assert_eq!(
        sum(&compactions, "bytes_in"),
        stats["compaction"]["bytes_read"].as_u64().unwrap()
    );
    assert_eq!(
        sum(&compactions, "bytes_out"),
        stats["compaction"]["bytes_written"].as_u64().unwrap()
    );
    // Coalesced stalls still add up to the stall counter.
    assert_eq!(
        sum(&of_kind(&events, "stall"), "count"),
        stats["flush"]["stall_count"].as_u64().unwrap()
    );
    for c in &compactions {
        assert!(!c["tables_in"].as_array().unwrap().is_empty(), "{c}");
        assert!(!c["tables_out"].as_array().unwrap().is_empty(), "{c}");
        assert!(
            c["level_in"].as_u64().unwrap() < c["level_out"].as_u64().unwrap(),
            "{c}"
        );
    }
    for e in &flushes {
        assert_eq!(e["level_out"], 0);
        assert!(e["error"].is_null());
        assert!(e["duration_ms"].as_f64().unwrap() > 0.0);
    }
    // In time order (each batch is sorted; across batches, an event stamped just before a
    // batch was written may follow it by a hair).
    let times: Vec<f64> = events.iter().map(|e| e["unix"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1] + 0.05), "{times:?}");

    // Filters.
    let only = events_json(&f, &["--kind", "compaction"]);
    assert_eq!(only.len(), compactions.len());
    let both = events_json(&f, &["--kind", "compaction,flush"]);
    assert_eq!(both.len(), compactions.len() + flushes.len());
    assert_eq!(events_json(&f, &["--since", "1h"]).len(), events.len());
    assert!(events_json(&f, &["--since", "2999-01-01"]).is_empty());
    let middle = times[times.len() / 2];
    let later = events_json(&f, &["--since", &format!("{middle}")]);
    assert_eq!(later.len(), times.iter().filter(|&&t| t >= middle).count());
    f.nokv(&["events", "--kind", "flushes"]).assert().code(2);
    f.nokv(&["events", "--since", "yesterday"]).assert().code(2);

    // The table has one row per event below its header.
    let table = f.stdout(&["events"]);
    assert_eq!(table.lines().count(), events.len() + 1, "{table}");
    assert!(table.lines().next().unwrap().starts_with("TIME (UTC)"));
}

#[test]
fn a_sorted_load_records_one_ingest_event() {
    let f = Fixture::new();
    let tsv: String = (0..1000).map(|i| format!("k{i:05}\tv\n")).collect();
    let path = f.tmp.path().join("sorted.tsv");
    std::fs::write(&path, tsv).unwrap();
    f.nokv(&["load", "--sorted", path.to_str().unwrap()])
        .assert()
        .success();
    let events = events_json(&f, &[]);
    let ingests = of_kind(&events, "ingest");
    assert_eq!(ingests.len(), 1, "{events:?}");
    assert_eq!(ingests[0]["entries"], 1000);
    assert_eq!(ingests[0]["tables_out"].as_array().unwrap().len(), 1);
}

#[test]
fn a_torn_wal_tail_is_recorded_as_an_event() {
    let f = Fixture::new();
    f.nokv(&["put", "a", "1"]).assert().success();
    let wal = std::fs::read_dir(f.db.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend_from_slice(&[0x55; 7]);
    std::fs::write(&wal, bytes).unwrap();
    f.nokv(&["put", "b", "2"]).assert().success();
    let torn = of_kind(&events_json(&f, &[]), "torn_tail")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(torn.len(), 1, "{torn:?}");
    assert_eq!(torn[0]["count"], 1);
    assert_eq!(f.stats_json()["wal"]["torn_tails_truncated"], 1);
}

#[test]
fn events_needs_a_database_and_creates_nothing() {
    let f = Fixture::new();
    f.nokv(&["events"]).assert().code(1);
    assert!(!f.db.exists());
    f.nokv(&["put", "a", "1"]).assert().success();
    let before: Vec<_> = std::fs::read_dir(&f.db).unwrap().count().to_string().into();
    f.nokv(&["events"]).assert().success();
    let after: Vec<_> = std::fs::read_dir(&f.db).unwrap().count().to_string().into();
    assert_eq!(before, after);
}

#[test]
fn events_follow_prints_a_live_writers_events() {
    use std::io::BufRead;
    let f = Fixture::new();
    f.nokv(&["put", "seed", "1"]).assert().success();
    let mut follower = StdCommand::new(BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&f.db)
        .args(["events", "--follow", "--json", "--kind", "flush"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Let the follower take its position before the writer starts.
    std::thread::sleep(std::time::Duration::from_millis(300));
    f.workload(10_000);
    let completed = f.stats_json()["flush"]["completed"].as_u64().unwrap();
    let mut seen = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen < completed && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            let event: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(event["kind"], "flush", "{line}");
            seen += 1;
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(completed >= 5);
    // The seed put left no flush (its memtable was never rotated before the follower
    // started... or was flushed at close, before it): every flush of the load is seen.
    assert!(seen >= completed - 1, "saw {seen} of {completed} flushes");
}

#[test]
fn a_failed_flush_and_the_background_error_are_recorded() {
    use nokv::events::{read_all, EventKind};
    use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpKind, OpSelector, Vfs};
    use std::sync::Arc;

    let mem = Arc::new(MemVfs::new());
    let dir = std::path::Path::new("/db");
    mem.create_dir_all(dir).unwrap();
    let fault = Arc::new(FaultVfs::new(mem.clone()));
    let options = nokv::Options {
        memtable_size: 4096,
        background_flush: false,
        stats_interval: None,
        ..nokv::Options::default()
    };
    let db = nokv::Db::open_with_vfs(fault.clone(), dir, options).unwrap();
    fault.add_rule(
        FaultRule::new(
            OpSelector::Kind(OpKind::Sync),
            0,
            FaultAction::FailAlways(5),
        )
        .on_path(".sst"),
    );
    for i in 0..50 {
        if db.put(format!("k{i}").as_bytes(), &[b'v'; 200]).is_err() {
            break;
        }
    }
    assert!(db.flush().is_err());
    assert!(db.close().is_err());
    let (events, bad) = read_all(mem.as_ref(), dir);
    assert_eq!(bad, 0);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Flush && e.error.is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert!(failed[0]
        .error
        .as_deref()
        .unwrap()
        .contains("flush of the memtable"));
    let errors: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Error)
        .collect();
    assert_eq!(errors.len(), 1, "the first failure only: {events:?}");
    assert_eq!(errors[0].error, failed[0].error);
}

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` when tmux is not installed.
    fn start(tag: &str) -> Option<Tmux> {
        let available = StdCommand::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        available.then(|| Tmux {
            socket: format!("nokv-test-{tag}-{}", std::process::id()),
        })
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        StdCommand::new("tmux")
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color")
            .args(["-u", "-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `command` in a detached `cols` x `rows` session.
    fn run(&self, cols: u32, rows: u32, command: &str) {
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            "-s",
            "nokv",
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The screen, with wrapped lines joined back (so a line wider than the pane shows).
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-t", "nokv"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Waits until `screen()` contains `needle` (or 10 s pass); returns the last screen.
fn wait_for(tmux: &Tmux, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let screen = tmux.screen();
        if screen.contains(needle) || std::time::Instant::now() > deadline {
            return screen;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_watch_dashboard_fits_an_80x24_terminal() {
    let Some(tmux) = Tmux::start("watch") else {
        eprintln!("observability the_watch_dashboard_fits_an_80x24_terminal: SKIPPED (no tmux)");
        return;
    };
    let f = Fixture::new();
    f.workload(5_000);
    let command = format!(
        "{} --workdir {} stats --watch 0.2",
        shell_quote(BIN),
        shell_quote(f.db.to_str().unwrap())
    );
    tmux.run(80, 24, &command);
    // Let a few frames draw, so the sparklines have samples.
    wait_for(&tmux, "Ctrl-C");
    std::thread::sleep(std::time::Duration::from_millis(800));
    let screen = tmux.screen();
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines.len() <= 24, "{} lines:\n{screen}", lines.len());
    for line in &lines {
        assert!(
            line.chars().count() <= 80,
            "wider than 80: {line}\n{screen}"
        );
    }
    let first_section = lines.iter().position(|l| l.starts_with("Flush backlog"));
    assert_eq!(first_section, Some(2), "{screen}");
    assert!(
        lines[3].starts_with("queue  ▁"),
        "queue sparkline: {screen}"
    );
    assert!(lines[4].starts_with("build  "), "{screen}");
    assert!(screen.contains("Latency"), "{screen}");
    assert!(screen.contains("every 0.2s; Ctrl-C to stop"), "{screen}");
}

#[test]
fn stats_tables_fit_an_80_column_terminal() {
    let Some(tmux) = Tmux::start("tables") else {
        eprintln!("observability stats_tables_fit_an_80_column_terminal: SKIPPED (no tmux)");
        return;
    };
    let f = Fixture::new();
    f.workload(5_000);
    let command = format!(
        "{} --workdir {} stats; echo END-OF-STATS; sleep 30",
        shell_quote(BIN),
        shell_quote(f.db.to_str().unwrap())
    );
    tmux.run(80, 200, &command);
    let screen = wait_for(&tmux, "END-OF-STATS");
    assert!(screen.contains("END-OF-STATS"), "{screen}");
    assert!(screen.contains("Session"), "{screen}");
    for line in screen.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80: {line}\n{screen}"
        );
    }
}

#[test]
fn the_readme_documents_every_metric() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for metric in nokv::cli::prometheus::METRICS {
        let row = format!("| `{}` |", metric.name);
        assert!(
            readme.contains(&row),
            "README.md has no table row for {} ({})",
            metric.name,
            metric.help
        );
    }
    let help = nokv::cli::prometheus::metrics_help();
    for metric in nokv::cli::prometheus::METRICS {
        assert!(help.contains(metric.name), "{}", metric.name);
    }
}
