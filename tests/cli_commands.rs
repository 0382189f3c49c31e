//! The commands a new user reaches for beyond put/get/load: `put --value-file`, multi-key
//! `get`, `scan --count/--keys-only`, `export` ranges and CSV, `--version`, and tables that
//! fit an 80-column terminal.

mod support;

use support::Fixture;

// ---------------------------------------------------------------------------------------
// 8. put --value-file, get K1 K2 ..., scan --count / --keys-only, export ranges and csv

#[test]
fn put_value_file_is_binary_safe_and_takes_a_large_value() {
    let f = Fixture::new();
    let big: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i * 31 % 251) as u8).collect();
    let path = f.file("big.bin", &big);
    let out = f.run(
        &["put", "blob", "--value-file", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.get(b"blob"), Some(big));
    // `-` is stdin, byte for byte (NUL, CR, no trailing newline added or removed).
    let out = f.run(&["put", "k", "--value-file", "-"], b"a\0b\r\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.get(b"k").as_deref(), Some(&b"a\0b\r\n"[..]));
    // Exactly one of VALUE and --value-file.
    assert_eq!(f.run(&["put", "k"], b"").code, 2);
    assert_eq!(f.run(&["put", "k", "v", "--value-file", "-"], b"").code, 2);
    // A missing file: exit 1, nothing written.
    let out = f.run(&["put", "gone", "--value-file", "/nonexistent/x"], b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("/nonexistent/x"), "{}", out.stderr);
    assert_eq!(f.get(b"gone"), None);
}

#[test]
fn get_several_keys_prints_lines_in_order_and_exits_4_if_any_is_missing() {
    let f = Fixture::new();
    f.put("a", "1");
    f.put("b", "two\tparts");
    let out = f.run(&["get", "b", "a"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout_text(), "b\ttwo\\tparts\na\t1\n");
    let out = f.run(&["get", "a", "zz", "b"], b"");
    assert_eq!(out.code, 4);
    assert_eq!(out.stdout_text(), "a\t1\nb\ttwo\\tparts\n");
    assert!(out.stderr.contains("key not found: zz"), "{}", out.stderr);
    let out = f.run(&["get", "--json", "a", "b"], b"");
    let lines: Vec<serde_json::Value> = out
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["key"], "a");
    assert_eq!(lines[1]["value"], "two\tparts");
    // One key prints the value as before; --raw needs exactly one key.
    assert_eq!(f.run(&["get", "b"], b"").stdout_text(), "two\tparts\n");
    assert_eq!(f.run(&["get", "--raw", "a", "b"], b"").code, 2);
}

#[test]
fn scan_count_and_keys_only() {
    let f = Fixture::new();
    let out = f.run(&["load", "-"], b"a\t1\nb\t2\nb\\tc\t3\nc\t4\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let count = |args: &[&str]| f.run(args, b"").stdout_text();
    assert_eq!(count(&["scan", "--count"]), "4\n");
    assert_eq!(count(&["scan", "--count", "--prefix", "b"]), "2\n");
    assert_eq!(count(&["scan", "--count", "--json"]), "{\"count\":4}\n");
    assert_eq!(count(&["scan", "--keys-only"]), "a\nb\nb\\tc\nc\n");
    assert_eq!(
        count(&["scan", "--keys-only", "--reverse", "--limit", "2"]),
        "c\nb\\tc\n"
    );
    assert_eq!(
        count(&["scan", "--keys-only", "--json", "--start", "c"]),
        "{\"key\":\"c\"}\n"
    );
    assert_eq!(f.run(&["scan", "--count", "--keys-only"], b"").code, 2);
}

#[test]
fn export_takes_a_range_and_writes_csv_that_loads_back() {
    let f = Fixture::new();
    let out = f.run(
        &["load", "--format", "jsonl", "-"],
        br#"{"key":"user:1","value":"a,b"}
{"key":"user:2","value":"say \"hi\"\r\nbye"}
{"key_hex":"7573657233ff","value_hex":"00"}
{"key":"zeta","value":"z"}
"#,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let export = |args: &[&str]| {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        let out = f.run(&all, b"");
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    assert_eq!(
        export(&["--prefix", "user:"]),
        b"user:1\ta,b\nuser:2\tsay \"hi\"\\r\\nbye\n"
    );
    assert_eq!(
        export(&["--start", "user:1", "--end", "user:2"]),
        b"user:1\ta,b\n"
    );
    assert_eq!(
        export(&["--hex", "--start", "7a"]),
        b"zeta\tz\n",
        "hex bounds"
    );
    let csv = export(&["--format", "csv"]);
    assert_eq!(
        csv,
        b"user3\xff,\0\nuser:1,\"a,b\"\nuser:2,\"say \"\"hi\"\"\r\nbye\"\nzeta,z\n"
    );
    // Read back losslessly by load --format csv.
    let g = Fixture::new();
    let out = g.run(&["load", "--format", "csv", "-"], &csv);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        g.run(&["export"], b"").stdout,
        f.run(&["export"], b"").stdout
    );
}

// ---------------------------------------------------------------------------------------
// 9. Tables fit the terminal

/// A workdir with long keys in two tables, one table damaged, an orphan and a temp file:
/// `verify` has a table of problems with long details, `manifest` a table of long keys.
fn damaged_workdir() -> Fixture {
    let f = Fixture::new();
    let long = "k".repeat(70);
    let mut input = String::new();
    for i in 0..50 {
        input.push_str(&format!("{long}-{i:03}\t{}\n", "v".repeat(40)));
    }
    assert_eq!(
        f.run(&["load", "--no-ingest", "-"], input.as_bytes()).code,
        0
    );
    f.put(
        "another-rather-long-key-to-make-a-second-table-0000000000000",
        "x",
    );
    assert_eq!(f.run(&["flush"], b"").code, 0);
    let mut tables: Vec<_> = std::fs::read_dir(&f.db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    tables.sort();
    let mut bytes = std::fs::read(&tables[0]).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&tables[0], bytes).unwrap();
    std::fs::write(f.db.join("000777.sst"), b"an orphan").unwrap();
    std::fs::write(f.db.join("000778.sst.tmp.1.2"), b"a temp file").unwrap();
    f
}

fn widest(text: &str) -> (usize, String) {
    text.lines()
        .map(|l| (l.chars().count(), l.to_string()))
        .max()
        .unwrap_or_default()
}

#[test]
fn verify_manifest_and_load_fit_80_columns() {
    let f = damaged_workdir();
    for args in [&["verify"][..], &["manifest"]] {
        // Wide without a width (a pipe gets whole lines)...
        let out = f.run(args, b"");
        let (wide, _) = widest(&out.stdout_text());
        assert!(
            wide > 80,
            "{args:?} is only {wide} wide: the test shows nothing"
        );
        // ...and at most 80 columns with one.
        let out = f.nokv(args).env("COLUMNS", "80").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (wide, line) = widest(&text);
        assert!(
            wide <= 80,
            "{args:?}: a line of {wide} columns:\n{line}\n\n{text}"
        );
        assert!(
            text.contains("000777.sst") || args == ["manifest"],
            "{text}"
        );
    }
}

#[test]
fn verify_fits_an_80_column_pseudo_terminal() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("tmux is not installed; the COLUMNS test covers the layout");
        return;
    }
    let f = damaged_workdir();
    for command in ["verify", "manifest"] {
        // A server of its own per command: a server whose last session ended may still be
        // shutting down when the next session starts.
        let socket = format!("nokv-test-{}-{command}", std::process::id());
        let tmux = |args: &[&str]| {
            std::process::Command::new("tmux")
                .args(["-L", &socket, "-f", "/dev/null"])
                .args(args)
                .env_remove("TMUX")
                .output()
                .unwrap()
        };
        let script = format!(
            "env -u COLUMNS -u NOKV_WORKDIR {} --workdir {} {command}; echo __done__; sleep 60",
            support::BIN,
            f.db.display()
        );
        let started = tmux(&[
            "new-session",
            "-d",
            "-s",
            command,
            "-x",
            "80",
            "-y",
            "200",
            &script,
        ]);
        assert!(started.status.success(), "{started:?}");
        let start = std::time::Instant::now();
        let screen = loop {
            // -J joins lines the terminal wrapped, so a line wider than 80 shows as one.
            let shot = tmux(&["capture-pane", "-p", "-J", "-t", command]);
            let text = String::from_utf8_lossy(&shot.stdout).into_owned();
            if text.contains("__done__") || start.elapsed().as_secs() > 30 {
                break text;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        tmux(&["kill-server"]);
        assert!(
            screen.contains("__done__"),
            "{command} did not finish:\n{screen}"
        );
        let (wide, line) = widest(&screen);
        assert!(
            wide <= 80,
            "{command}: a line of {wide} columns:\n{line}\n\n{screen}"
        );
        // On a terminal: UTF-8 borders for the manifest's tables; verify's problems, too wide
        // for a table at 80 columns, as field: value blocks.
        let drawn = if command == "manifest" {
            screen.contains('─')
        } else {
            screen.contains("kind:") && screen.contains("000777.sst")
        };
        assert!(drawn, "{command} not laid out as expected:\n{screen}");
    }
}

// ---------------------------------------------------------------------------------------
// 10. JSON that scripts can rely on

#[test]
fn manifest_json_has_both_the_text_and_the_hex_of_every_key() {
    let f = Fixture::new();
    f.put("a\tb", "1");
    f.nokv(&["put", "--hex", "ff00", "00"]).assert().success();
    assert_eq!(f.run(&["flush"], b"").code, 0);
    let out = f.run(&["manifest", "--json"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = &v["levels"][0]["tables"][0];
    assert_eq!(table["smallest"], "a\\tb", "{table}");
    assert_eq!(table["smallest_hex"], "610962", "{table}");
    assert_eq!(table["largest"], "\\xff\\x00", "{table}");
    assert_eq!(table["largest_hex"], "ff00", "{table}");
}

#[test]
fn json_times_are_rounded_to_microseconds() {
    let f = Fixture::new();
    let mut input = String::new();
    for i in 0..3000 {
        input.push_str(&format!("key{i:05}\t{}\n", "v".repeat(50)));
    }
    let out = f.run(
        &["--memtable-size", "64KiB", "load", "--no-ingest", "-"],
        input.as_bytes(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = f.run(&["stats", "--json"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["flush"]["build"]["count"].as_u64().unwrap() > 0, "{text}");
    let mut checked = 0;
    for line in text.lines() {
        let line = line.trim().trim_end_matches(',');
        let Some((key, number)) = line.split_once(": ") else {
            continue;
        };
        if key.trim_matches('"').ends_with("_ms") {
            let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 3, "{line}");
            checked += 1;
        }
    }
    assert!(checked > 10, "{text}");
}

// ---------------------------------------------------------------------------------------
// 11. --version

#[test]
fn version_names_the_formats_and_long_version_the_build() {
    let f = Fixture::new();
    let short = f.run(&["-V"], b"");
    assert_eq!(short.code, 0, "{}", short.stderr);
    let text = short.stdout_text();
    assert!(text.starts_with("nokv 0."), "{text}");
    for needle in ["table ", "WAL ", "manifest ", "STATS "] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(text.lines().count(), 1, "{text}");
    let long = f.run(&["--version"], b"").stdout_text();
    let commit = long
        .lines()
        .find_map(|l| l.strip_prefix("commit:"))
        .unwrap_or_else(|| panic!("{long}"))
        .trim()
        .to_string();
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{long}"
    );
    let profile = long
        .lines()
        .find_map(|l| l.strip_prefix("profile:"))
        .unwrap_or_default();
    assert!(["debug", "release"].contains(&profile.trim()), "{long}");
    assert!(long.contains("formats: table v"), "{long}");
}

#[test]
fn a_writers_first_stats_snapshot_has_its_own_started_at() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let f = Fixture::new();
    f.put("old", "session");
    // The next session starts in a later second than the one that published STATS last.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut loader = Command::new(support::BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&f.db)
        .args(["load", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut feed = loader.stdin.take().unwrap();
    feed.write_all(b"k\tv\n").unwrap();
    // The first snapshot that shows the loader live must be the loader's own.
    let start = std::time::Instant::now();
    let session = loop {
        let out = f.run(&["stats", "--json"], b"");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v["session"]["live"] == true || start.elapsed().as_secs() > 20 {
            break v["session"].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    drop(feed);
    assert!(loader.wait().unwrap().success());
    assert_eq!(session["live"], true, "{session}");
    assert!(
        session["started_at"].as_u64().unwrap() >= now,
        "the live session shows an older started_at: {session} (now {now})"
    );
}
