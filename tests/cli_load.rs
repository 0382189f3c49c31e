//! `nokv load` end to end: the traps a new user falls into (a byte-order mark, a header row,
//! a file whose every record is bad, JSON that is not an object, a mistyped workdir), input
//! formats and their options, and a slow producer.

mod support;

use support::Fixture;

const BOM: &[u8] = b"\xef\xbb\xbf";

fn with_bom(body: &[u8]) -> Vec<u8> {
    [BOM, body].concat()
}

// ---------------------------------------------------------------------------------------
// 1. A UTF-8 byte-order mark is read as nothing, in every format

#[test]
fn a_leading_byte_order_mark_is_not_part_of_the_first_key() {
    for (format, body) in [
        ("tsv", &b"k\tv\nk2\tv2\n"[..]),
        ("csv", b"k,v\r\nk2,v2\r\n"),
        (
            "jsonl",
            b"{\"key\":\"k\",\"value\":\"v\"}\n{\"key\":\"k2\",\"value\":\"v2\"}\n",
        ),
    ] {
        let f = Fixture::new();
        let out = f.load("in", &with_bom(body), &["--format", format]);
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert_eq!(f.get(b"k").as_deref(), Some(&b"v"[..]), "{format}");
        assert_eq!(f.scan(), "k\tv\nk2\tv2\n", "{format}");
    }
    // Only at the start of an input: a mark later in the file is data (here, a key).
    let f = Fixture::new();
    let out = f.load("in", &[&b"a\t1\n"[..], BOM, b"b\t2\n"].concat(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.get(&[BOM, b"b"].concat()).as_deref(), Some(&b"2"[..]));
}

#[test]
fn a_key_starting_with_a_byte_order_mark_survives_export_and_load() {
    let f = Fixture::new();
    let key = [BOM, b"k"].concat();
    f.nokv(&["put", "--hex", &support::hex(&key), "76"])
        .assert()
        .success();
    for format in ["tsv", "jsonl", "csv"] {
        let dump = f.run(&["export", "--format", format], b"");
        assert_eq!(dump.code, 0, "{}", dump.stderr);
        let g = Fixture::new();
        let out = g.run(&["load", "--format", format, "-"], &dump.stdout);
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert_eq!(g.get(&key).as_deref(), Some(&b"v"[..]), "{format}");
    }
}

// ---------------------------------------------------------------------------------------
// 2. CSV header rows

#[test]
fn header_skips_the_first_record_of_every_input() {
    let f = Fixture::new();
    let a = f.file("a.csv", b"key,value\na,1\n");
    let b = f.file("b.csv", b"name,age\nb,2\n");
    let out = f.run(
        &[
            "load",
            "--format",
            "csv",
            "--header",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.scan(), "a\t1\nb\t2\n");
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    // A header whose quoted field spans lines is one record, skipped whole.
    let g = Fixture::new();
    let out = g.load(
        "c.csv",
        b"\"long\nheader\",v\nk,v\n",
        &["--format", "csv", "--header"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(g.scan(), "k\tv\n");
}

#[test]
fn a_key_value_first_record_without_header_loads_with_a_warning() {
    for first in ["key,value", "KEY,Value", "\"key\",\"value\""] {
        let f = Fixture::new();
        let out = f.load(
            "in.csv",
            format!("{first}\r\nk,v\r\n").as_bytes(),
            &["--format", "csv"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr.contains("warning") && out.stderr.contains("--header"),
            "{first}: {}",
            out.stderr
        );
        // Loaded as data, as asked.
        assert_eq!(f.scan().lines().count(), 2);
    }
    // The warning is in the JSON summary too; not for other first records.
    let f = Fixture::new();
    let out = f.load("in.csv", b"key,value\n", &["--format", "csv", "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["warnings"].as_array().unwrap().len(),
        1,
        "{summary}"
    );
    let out = f.load("in2.csv", b"keys,values\n", &["--format", "csv"]);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// 3. --skip-invalid when every record is bad

#[test]
fn skip_invalid_with_every_record_bad_exits_5() {
    let f = Fixture::new();
    f.put("keep", "1");
    let out = f.load("bad.tsv", b"no tab\nnone here\n", &["--skip-invalid"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains("every record was bad") && out.stderr.contains("2 bad records"),
        "{}",
        out.stderr
    );
    assert_eq!(f.scan(), "keep\t1\n");
    // One good record is a success with a count of the bad ones.
    let out = f.load("some.tsv", b"no tab\nk\tv\n", &["--skip-invalid"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("1 bad records skipped"),
        "{}",
        out.stderr
    );
    // An empty input is not bad input.
    let out = f.load("empty.tsv", b"", &["--skip-invalid"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// 4. A JSON line is an object; null is not "absent"

#[test]
fn json_lines_that_are_not_objects_or_hold_null_are_bad_input() {
    let f = Fixture::new();
    f.put("a", "1");
    for (line, needle) in [
        (
            &br#"["a",null,null,null,"delete"]"#[..],
            "expected a JSON object",
        ),
        (br#"["k",null,"v"]"#, "found an array"),
        (b"null", "found null"),
        (br#"{"key":"k","value":null,"value_hex":"76"}"#, "null"),
        (br#"{"key":"a","op":"delete","value":null}"#, "null"),
    ] {
        let out = f.load("in.jsonl", &[line, b"\n"].concat(), &["--format", "jsonl"]);
        assert_eq!(out.code, 5, "{}", String::from_utf8_lossy(line));
        assert!(
            out.stderr.contains(":1:") && out.stderr.contains(needle),
            "{}: {}",
            String::from_utf8_lossy(line),
            out.stderr
        );
    }
    // Nothing was deleted and nothing stored.
    assert_eq!(f.scan(), "a\t1\n");
}

// ---------------------------------------------------------------------------------------
// 5. Only put and load create a workdir; a refused open leaves nothing behind

#[test]
fn commands_other_than_put_and_load_refuse_a_missing_workdir() {
    let f = Fixture::new();
    for args in [
        &["flush"][..],
        &["compact"],
        &["delete", "k"],
        &["delete-range", "a", "b"],
    ] {
        let out = f.run(args, b"");
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stderr
                .contains(&format!("no database at {}", f.db.display())),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!f.db.exists(), "{args:?} created the workdir");
    }
    // An empty directory is refused the same way, and left empty.
    std::fs::create_dir(&f.db).unwrap();
    for args in [&["flush"][..], &["delete", "k"]] {
        let out = f.run(args, b"");
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stderr.contains("no database at"), "{}", out.stderr);
    }
    assert_eq!(std::fs::read_dir(&f.db).unwrap().count(), 0);
    // put creates it.
    f.put("k", "v");
    assert_eq!(f.get(b"k").as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_refused_open_of_a_directory_that_is_not_a_database_leaves_no_lock() {
    let f = Fixture::new();
    std::fs::create_dir(&f.db).unwrap();
    std::fs::write(f.db.join("notes.txt"), b"mine").unwrap();
    for args in [&["put", "k", "v"][..], &["load", "-"]] {
        let out = f.run(args, b"k\tv\n");
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("notes.txt"), "{}", out.stderr);
        let names: Vec<_> = std::fs::read_dir(&f.db)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["notes.txt"], "{args:?}");
    }
}

#[test]
fn a_load_that_fails_at_its_first_record_creates_no_workdir() {
    let f = Fixture::new();
    let out = f.load("bad.tsv", b"no tab here\nk\tv\n", &[]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains(":1:"), "{}", out.stderr);
    assert!(!f.db.exists(), "a failed load created the workdir");
    let out = f.load("bad.tsv", b"no tab here\n", &["--skip-invalid"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(!f.db.exists());
    // A good first record creates it, and a later bad one keeps what came before.
    let out = f.load("half.tsv", b"k\tv\nno tab\n", &[]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(f.get(b"k").as_deref(), Some(&b"v"[..]));
    // An empty input still creates an (empty) database, as a successful load.
    let g = Fixture::new();
    let out = g.load("empty.tsv", b"", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(g.scan(), "");
}

// ---------------------------------------------------------------------------------------
// 6. A stray CSV quote is rejected in linear time

#[test]
fn a_stray_csv_quote_over_many_lines_is_rejected_with_its_line() {
    // Rescanning the open record from its start after every line made this quadratic
    // (minutes for this file in a debug build); carried quote state reads it once.
    let mut input = b"a,1\nb,\"stray\n".to_vec();
    for i in 0..200_000 {
        input.extend_from_slice(format!("k{i},v{i}\n").as_bytes());
    }
    let f = Fixture::new();
    let out = f.load("stray.csv", &input, &["--format", "csv"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("stray.csv:2: unterminated quoted field"),
        "{}",
        out.stderr
    );
    assert_eq!(f.scan(), "a\t1\n");
}

// ---------------------------------------------------------------------------------------
// --linger: a slow producer's records become durable within a bounded delay

/// Whether any WAL segment of `db` holds `needle` (a key written by the batch encoding).
fn wal_holds(db: &std::path::Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(db.join("wal")) else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read(entry.path())
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

/// Polls `ready` every 20 ms until it holds or `timeout` passes (a generous bound, not a
/// measurement of speed).
fn eventually(timeout: std::time::Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if ready() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ready()
}

#[test]
fn a_slow_producers_records_survive_kill_9_while_the_pipe_stays_open() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let f = Fixture::new();
    let mut loader = Command::new(support::BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&f.db)
        .args(["load", "--linger", "50ms", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut feed = loader.stdin.take().unwrap();
    // Two records, then a pause with the pipe open (as `tail -f` does): far fewer than a
    // batch, so without --linger they would wait in memory until EOF.
    feed.write_all(b"slow-key-1\tv1\nslow-key-2\tv2\n").unwrap();
    feed.flush().unwrap();
    assert!(
        eventually(Duration::from_secs(20), || wal_holds(&f.db, b"slow-key-2")),
        "the records fed never reached the WAL while the producer paused"
    );
    // More input later on the same pipe: written too, in its own partial batch.
    feed.write_all(b"slow-key-3\tv3\n").unwrap();
    feed.flush().unwrap();
    assert!(eventually(Duration::from_secs(20), || wal_holds(
        &f.db,
        b"slow-key-3"
    )));
    // kill -9 with the pipe still open: what reached the WAL is durable.
    loader.kill().unwrap();
    loader.wait().unwrap();
    drop(feed);
    for (key, value) in [
        ("slow-key-1", "v1"),
        ("slow-key-2", "v2"),
        ("slow-key-3", "v3"),
    ] {
        assert_eq!(
            f.get(key.as_bytes()).as_deref(),
            Some(value.as_bytes()),
            "{key}"
        );
    }
}

#[test]
fn linger_takes_a_duration() {
    let f = Fixture::new();
    let out = f.run(&["load", "--linger", "banana", "-"], b"");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a duration"), "{}", out.stderr);
    let out = f.run(&["load", "--linger", "0", "-"], b"k\tv\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.get(b"k").as_deref(), Some(&b"v"[..]));
}

// ---------------------------------------------------------------------------------------
// 7. Formats: inferred from the extension, a mismatch hint, --delimiter, PostgreSQL escapes

#[test]
fn the_format_is_inferred_from_the_extension() {
    let f = Fixture::new();
    let csv = f.file("a.CSV", b"\"a,1\",x\n");
    let jsonl = f.file("b.jsonl", br#"{"key":"b","value":"y"}"#);
    let ndjson = f.file("c.ndjson", br#"{"key":"c","value":"z"}"#);
    let txt = f.file("d.txt", b"d\tw\n");
    let out = f.run(
        &[
            "load",
            csv.to_str().unwrap(),
            jsonl.to_str().unwrap(),
            ndjson.to_str().unwrap(),
            txt.to_str().unwrap(),
            "-",
        ],
        b"e\tv\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.scan(), "a,1\tx\nb\ty\nc\tz\nd\tw\ne\tv\n");
    // --format wins over the extension.
    let g = Fixture::new();
    let out = g.load("tabs.csv", b"k\tv\n", &["--format", "tsv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(g.scan(), "k\tv\n");
}

#[test]
fn a_tsv_parse_failure_on_a_csv_or_json_file_hints_at_the_format() {
    let f = Fixture::new();
    let out = f.load("data.csv", b"k,v\n", &["--format", "tsv"]);
    assert_eq!(out.code, 5);
    assert!(out.stderr.contains("try --format csv"), "{}", out.stderr);
    let out = f.load("dump.json", br#"{"key":"k","value":"v"}"#, &[]);
    assert_eq!(out.code, 5);
    assert!(out.stderr.contains("try --format jsonl"), "{}", out.stderr);
    let out = f.load("data.tsv", b"k,v\n", &[]);
    assert_eq!(out.code, 5);
    assert!(!out.stderr.contains("try --format"), "{}", out.stderr);
}

#[test]
fn csv_takes_another_delimiter() {
    for (delimiter, body) in [
        (";", &b"a;1\n\"b;c\";\"x;y\"\n"[..]),
        ("|", b"a|1\n\"b;c\"|x;y\n"),
        ("tab", b"a\t1\n\"b;c\"\tx;y\n"),
    ] {
        let f = Fixture::new();
        let out = f.load("in.csv", body, &["--delimiter", delimiter]);
        assert_eq!(out.code, 0, "{delimiter}: {}", out.stderr);
        assert_eq!(f.scan(), "a\t1\nb;c\tx;y\n", "{delimiter}");
    }
    let f = Fixture::new();
    // With ; a comma is data, and a third field is still bad input.
    let out = f.load("in.csv", b"a,b;c,d\n", &["--delimiter", ";"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.scan(), "a,b\tc,d\n");
    let out = f.load("bad.csv", b"a;b;c\n", &["--delimiter", ";"]);
    assert_eq!(out.code, 5);
    for bad in ["ab", "\"", "é"] {
        let out = f.run(&["load", "--delimiter", bad, "-"], b"");
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
    }
}

#[test]
fn tsv_reads_postgres_copy_escapes_and_shows_a_bad_escape_once() {
    let f = Fixture::new();
    let out = f.load("copy.tsv", b"k\\b\tv\\f\\v\\t\n", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.get(b"k\x08").as_deref(), Some(&b"v\x0c\x0b\t"[..]));
    let out = f.load("bad.tsv", b"k\tv\\xG0\n", &[]);
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("bad hex escape `\\xG0`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("\\\\x"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// 12. Progress and Ctrl-C

#[test]
fn ctrl_c_stops_a_load_and_says_how_many_records_are_durable() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let f = Fixture::new();
    let mut loader = Command::new(support::BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&f.db)
        .args(["load", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut feed = loader.stdin.take().unwrap();
    feed.write_all(b"int-key-1\tv1\nint-key-2\tv2\n").unwrap();
    feed.flush().unwrap();
    assert!(eventually(Duration::from_secs(20), || wal_holds(
        &f.db,
        b"int-key-2"
    )));
    // SIGINT with the pipe still open, as Ctrl-C in a terminal.
    let status = Command::new("kill")
        .args(["-INT", &loader.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = loader.wait_with_output().unwrap();
    drop(feed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: 2 records loaded") && stderr.contains("durable"),
        "{stderr}"
    );
    assert_eq!(f.get(b"int-key-1").as_deref(), Some(&b"v1"[..]));
    assert_eq!(f.get(b"int-key-2").as_deref(), Some(&b"v2"[..]));
}

#[test]
fn the_progress_bar_shows_elapsed_time_and_the_current_file_on_a_terminal() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("tmux is not installed; skipping the pseudo-terminal test");
        return;
    }
    let f = Fixture::new();
    let first = f.file("first.tsv", b"a\t1\n");
    let socket = format!("nokv-test-{}-progress", std::process::id());
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    };
    // The second input, stdin, is a producer that pauses 3 seconds: the bar stays up.
    let script = format!(
        "(sleep 3; printf 'b\\t2\\n') | env -u NOKV_WORKDIR {} --workdir {} load {} -; \
         echo __done__; sleep 60",
        support::BIN,
        f.db.display(),
        first.display(),
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "p",
        "-x",
        "100",
        "-y",
        "20",
        &script,
    ]);
    assert!(started.status.success(), "{started:?}");
    // The loader now waits on its second input: its bar is up.
    let start = std::time::Instant::now();
    let screen = loop {
        let shot = tmux(&["capture-pane", "-p", "-J", "-t", "p"]);
        let text = String::from_utf8_lossy(&shot.stdout).into_owned();
        if text.contains("<stdin>") && text.contains("00:00:0") || start.elapsed().as_secs() > 20 {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let start = std::time::Instant::now();
    let end = loop {
        let shot = tmux(&["capture-pane", "-p", "-J", "-t", "p"]);
        let text = String::from_utf8_lossy(&shot.stdout).into_owned();
        if text.contains("__done__") || start.elapsed().as_secs() > 20 {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    tmux(&["kill-server"]);
    assert!(
        screen.contains("<stdin>") && screen.contains("00:00:0"),
        "no bar with the file and the elapsed time:\n{screen}"
    );
    assert!(end.contains("loaded 2 records"), "{end}");
    assert_eq!(f.scan(), "a\t1\nb\t2\n");
}
