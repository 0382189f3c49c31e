//! End-to-end tests of the `nokv` binary: every subcommand and every exit status. Each test
//! uses its own temporary workdir, passed with `--workdir`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_nokv");

/// A temporary directory with a workdir path inside it (not created).
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

    /// `nokv --workdir DB ARGS...` (no inherited NOKV_WORKDIR).
    fn nokv(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("NOKV_WORKDIR")
            .arg("--workdir")
            .arg(&self.db)
            .args(args);
        cmd
    }

    /// A file in the temporary directory.
    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn put(&self, key: &str, value: &str) {
        self.nokv(&["put", key, value]).assert().success();
    }

    /// The value of `key`, or `None` when `get` exits 4.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let out = self
            .nokv(&["get", "--raw", "--key-hex", &hex(key)])
            .output()
            .unwrap();
        match out.status.code() {
            Some(0) => Some(out.stdout),
            Some(4) => None,
            other => panic!(
                "get exited {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Loads `contents` as a file with `args`; returns (status, stdout, stderr).
    fn load(&self, name: &str, contents: &[u8], args: &[&str]) -> (i32, String, String) {
        let path = self.file(name, contents);
        let mut all = vec!["load"];
        all.extend_from_slice(args);
        let path_str = path.to_str().unwrap().to_string();
        all.push(&path_str);
        let out = self.nokv(&all).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

// ---------------------------------------------------------------------------------------
// put / get / delete

#[test]
fn put_then_get_prints_value_and_newline() {
    let f = Fixture::new();
    f.put("user:1", "alice");
    f.nokv(&["get", "user:1"])
        .assert()
        .success()
        .stdout("alice\n")
        .stderr("");
    f.nokv(&["get", "--raw", "user:1"])
        .assert()
        .success()
        .stdout("alice");
    f.nokv(&["get", "--hex", "user:1"])
        .assert()
        .success()
        .stdout("616c696365\n");
}

#[test]
fn get_json_uses_hex_fields_for_non_utf8() {
    let f = Fixture::new();
    f.nokv(&["put", "--hex", "6b00ff", "ff00"])
        .assert()
        .success();
    f.put("text", "caf\u{e9}\ttab");
    let out = f
        .nokv(&["get", "--json", "--key-hex", "6b00ff"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["key_hex"], "6b00ff");
    assert_eq!(v["value_hex"], "ff00");
    assert!(v.get("key").is_none() && v.get("value").is_none());
    let out = f
        .nokv(&["get", "--json", "text"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["key"], "text");
    assert_eq!(v["value"], "caf\u{e9}\ttab");
}

#[test]
fn get_absent_key_exits_4_with_message_on_stderr() {
    let f = Fixture::new();
    f.put("a", "1");
    f.nokv(&["get", "nope"])
        .assert()
        .code(4)
        .stdout("")
        .stderr(predicate::str::contains("not found"));
}

#[test]
fn put_takes_argument_bytes_and_hex() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    let key = std::ffi::OsStr::from_bytes(b"k\xff\x01");
    let mut cmd = Command::new(BIN);
    cmd.env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&f.db)
        .arg("put")
        .arg(key)
        .arg("-dash-value");
    cmd.assert().success().stdout("").stderr("");
    assert_eq!(f.get(b"k\xff\x01"), Some(b"-dash-value".to_vec()));
    f.nokv(&["put", "--hex", "00", "0a0d09"]).assert().success();
    assert_eq!(f.get(&[0]), Some(b"\n\r\t".to_vec()));
}

#[test]
fn bad_hex_and_empty_key_are_usage_errors() {
    let f = Fixture::new();
    f.nokv(&["put", "--hex", "zz", "00"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid hex"));
    f.nokv(&["put", "--hex", "0", "00"]).assert().code(2);
    f.nokv(&["put", "", "v"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty"));
    assert!(!f.db.exists(), "a usage error creates nothing");
}

#[test]
fn delete_removes_keys() {
    let f = Fixture::new();
    f.put("a", "1");
    f.put("b", "2");
    f.put("c", "3");
    f.nokv(&["delete", "a", "b"]).assert().success().stdout("");
    assert_eq!(f.get(b"a"), None);
    assert_eq!(f.get(b"b"), None);
    assert_eq!(f.get(b"c"), Some(b"3".to_vec()));
}

#[test]
fn delete_range_hides_the_range_and_compact_keeps_the_rest() {
    let f = Fixture::new();
    for k in ["a", "b", "ba", "c", "d"] {
        f.put(k, k);
    }
    f.nokv(&["flush"]).assert().success();
    f.nokv(&["delete-range", "b", "c"])
        .assert()
        .success()
        .stdout("");
    f.nokv(&["delete-range", "b", "a"]).assert().code(2);
    f.put("bb", "new");
    assert_eq!(f.get(b"a"), Some(b"a".to_vec()));
    assert_eq!(f.get(b"b"), None);
    assert_eq!(f.get(b"ba"), None);
    assert_eq!(
        f.get(b"bb"),
        Some(b"new".to_vec()),
        "a later write survives"
    );
    assert_eq!(f.get(b"c"), Some(b"c".to_vec()), "the end is exclusive");
    f.nokv(&["compact"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("compacted"));
    assert_eq!(f.get(b"b"), None);
    assert_eq!(f.get(b"bb"), Some(b"new".to_vec()));
    assert_eq!(f.get(b"d"), Some(b"d".to_vec()));
    f.nokv(&["verify"]).assert().code(0);
}

#[test]
fn global_options_work_after_the_subcommand_and_from_the_environment() {
    let f = Fixture::new();
    let mut cmd = Command::new(BIN);
    cmd.env_remove("NOKV_WORKDIR")
        .args(["put", "k", "v", "--durability", "fast", "--workdir"])
        .arg(&f.db)
        .args(["--memtable-size", "4MiB", "--sync"]);
    cmd.assert().success();
    let mut cmd = Command::new(BIN);
    cmd.env("NOKV_WORKDIR", &f.db).args(["get", "k"]);
    cmd.assert().success().stdout("v\n");
}

// ---------------------------------------------------------------------------------------
// read commands on a missing workdir

#[test]
fn read_commands_refuse_a_missing_workdir_without_creating_it() {
    let f = Fixture::new();
    for args in [
        &["get", "k"][..],
        &["scan"],
        &["export"],
        &["stats"],
        &["stats", "--json"],
        &["verify"],
        &["manifest"],
    ] {
        f.nokv(args)
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains("does not exist"));
        assert!(!f.db.exists(), "{args:?} created the workdir");
    }
}

#[test]
fn read_commands_refuse_an_empty_directory() {
    let f = Fixture::new();
    std::fs::create_dir(&f.db).unwrap();
    f.nokv(&["get", "k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no nokv database"));
    assert_eq!(std::fs::read_dir(&f.db).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------
// scan

fn scan_fixture() -> Fixture {
    let f = Fixture::new();
    let (code, _, err) = f.load(
        "in.tsv",
        b"b\t2\na\t1\nd\t4\nc\t3\npre:x\t5\npre:y\t6\n",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    f
}

fn scan(f: &Fixture, args: &[&str]) -> String {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    let out = f
        .nokv(&all)
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn scan_prints_ordered_lines_with_bounds() {
    let f = scan_fixture();
    assert_eq!(
        scan(&f, &[]),
        "a\t1\nb\t2\nc\t3\nd\t4\npre:x\t5\npre:y\t6\n"
    );
    assert_eq!(scan(&f, &["--start", "b", "--end", "d"]), "b\t2\nc\t3\n");
    assert_eq!(scan(&f, &["--prefix", "pre:"]), "pre:x\t5\npre:y\t6\n");
    assert_eq!(scan(&f, &["--limit", "2"]), "a\t1\nb\t2\n");
    assert_eq!(scan(&f, &["--limit", "0"]), "");
    assert_eq!(
        scan(&f, &["--reverse", "--limit", "2"]),
        "pre:y\t6\npre:x\t5\n"
    );
    assert_eq!(
        scan(&f, &["--hex", "--start", "63", "--end", "64"]),
        "c\t3\n"
    );
}

#[test]
fn scan_json_lines_parse() {
    let f = scan_fixture();
    let text = scan(&f, &["--json", "--prefix", "pre:"]);
    let lines: Vec<Value> = text.lines().map(|l| json(l.as_bytes())).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["key"], "pre:x");
    assert_eq!(lines[1]["value"], "6");
}

#[test]
fn scan_escapes_special_bytes() {
    let f = Fixture::new();
    f.nokv(&["put", "--hex", "6109620a", "0d5c00ff"])
        .assert()
        .success();
    assert_eq!(scan(&f, &[]), "a\\tb\\n\t\\r\\\\\\x00\\xff\n");
}

#[test]
fn scan_into_a_closed_pipe_exits_0_quietly() {
    let f = Fixture::new();
    let mut data = Vec::new();
    for i in 0..50_000 {
        writeln!(data, "key{i:08}\tvalue-{i:08}-padding-padding").unwrap();
    }
    let (code, _, err) = f.load("big.tsv", &data, &[]);
    assert_eq!(code, 0, "{err}");
    let mut child = std::process::Command::new(BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&f.db)
        .arg("scan")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, "key00000000\tvalue-00000000-padding-padding\n");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

// ---------------------------------------------------------------------------------------
// usage errors, help, version

#[test]
fn usage_errors_exit_2() {
    let f = Fixture::new();
    f.nokv(&["--memtable-size", "banana", "put", "k", "v"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("banana"));
    f.nokv(&["frobnicate"]).assert().code(2);
    f.nokv(&["scan", "--limit", "-1"]).assert().code(2);
    f.nokv(&["scan", "--limit", "x"]).assert().code(2);
    f.nokv(&["load", "--format", "xml"]).assert().code(2);
    f.nokv(&["get", "--raw", "--json", "k"]).assert().code(2);
    f.nokv(&["--durability", "maybe", "put", "k", "v"])
        .assert()
        .code(2);
    f.nokv(&["stats", "--watch", "0"]).assert().code(2);
    Command::new(BIN).assert().code(2);
    assert!(!f.db.exists());
}

#[test]
fn help_and_version_go_to_stdout_with_status_0() {
    Command::new(BIN)
        .arg("--help")
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::contains("Exit status:"))
        .stdout(predicate::str::contains("Examples:"));
    Command::new(BIN)
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("nokv "));
    for sub in [
        "put",
        "get",
        "delete",
        "delete-range",
        "scan",
        "load",
        "flush",
        "compact",
        "stats",
        "verify",
        "manifest",
        "export",
    ] {
        Command::new(BIN)
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains("--workdir"));
    }
}

// ---------------------------------------------------------------------------------------
// load

#[test]
fn load_from_a_file_prints_only_the_summary_on_stderr() {
    let f = Fixture::new();
    let (code, out, err) = f.load("in.tsv", b"k1\tv1\nk2\tv2\nk3\tv3\n", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    // Not a terminal: no progress output, just the one summary line.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err:?}");
    assert!(
        lines[0].starts_with("nokv: loaded 3 records (18 B) in ")
            && lines[0].ends_with(" records/s"),
        "{err:?}"
    );
    assert!(!err.contains('\r'));
    assert_eq!(f.get(b"k2"), Some(b"v2".to_vec()));
}

#[test]
fn load_quiet_prints_nothing() {
    let f = Fixture::new();
    let (code, out, err) = f.load("in.tsv", b"k\tv\n", &["--quiet"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

#[test]
fn load_from_stdin_and_dash() {
    let f = Fixture::new();
    f.nokv(&["load"])
        .write_stdin("a\t1\nb\t2\n")
        .assert()
        .success()
        .stdout("");
    f.nokv(&["load", "-"])
        .write_stdin("c\t3\n")
        .assert()
        .success();
    assert_eq!(scan(&f, &[]), "a\t1\nb\t2\nc\t3\n");
}

#[test]
fn load_json_summary() {
    let f = Fixture::new();
    let (code, out, err) = f.load("in.tsv", b"a\t1\nb\t2\n", &["--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    let v = json(out.as_bytes());
    assert_eq!(v["records"], 2);
    assert_eq!(v["bytes"], 8);
    assert_eq!(v["bad_records"], 0);
    assert!(v["elapsed_ms"].is_u64());
    assert!(v["records_per_sec"].is_u64());
    assert_eq!(v["complete"], true);
}

/// Loads `contents` (strict), expects exit 5 naming `in.<ext>:LINE` and `reason`, and checks
/// that the records before it were loaded and the one after was not.
fn expect_bad(
    format: &str,
    contents: &[u8],
    line: u32,
    reason: &str,
    before: &[&[u8]],
    after: &[u8],
) {
    let f = Fixture::new();
    let name = format!("in.{format}");
    let (code, _, err) = f.load(&name, contents, &["--format", format]);
    assert_eq!(code, 5, "{err}");
    let location = format!("{name}:{line}: ");
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.contains(&location) && first.contains(reason),
        "expected `{location}...{reason}`, got:\n{err}"
    );
    assert!(
        err.contains(&format!("loaded {} records", before.len())),
        "{err}"
    );
    for key in before {
        assert!(
            f.get(key).is_some(),
            "{} was not kept",
            String::from_utf8_lossy(key)
        );
    }
    assert_eq!(
        f.get(after),
        None,
        "the record after the bad one was loaded"
    );
}

#[test]
fn bad_tsv_input_stops_at_the_right_line_and_keeps_what_came_before() {
    let ok: &[&[u8]] = &[b"a", b"b"];
    expect_bad(
        "tsv",
        b"a\t1\nb\t2\nno tab here\nz\t9\n",
        3,
        "no tab",
        ok,
        b"z",
    );
    expect_bad(
        "tsv",
        b"a\t1\nb\t2\nk\\q\tv\nz\t9\n",
        3,
        "bad escape",
        ok,
        b"z",
    );
    expect_bad(
        "tsv",
        b"a\t1\nb\t2\nk\tv\\xZ1\nz\t9\n",
        3,
        "bad hex escape",
        ok,
        b"z",
    );
    expect_bad("tsv", b"a\t1\nb\t2\n\tv\nz\t9\n", 3, "empty key", ok, b"z");
    expect_bad(
        "tsv",
        b"a\t1\nb\t2\nk\tv\r\nz\t9\n",
        3,
        "carriage return",
        ok,
        b"z",
    );
    expect_bad("tsv", b"a\t1\nb\t2\n\nz\t9\n", 3, "empty line", ok, b"z");
    let mut long = b"a\t1\nb\t2\n".to_vec();
    long.extend(std::iter::repeat_n(b'k', 65_536));
    long.extend_from_slice(b"\tv\nz\t9\n");
    expect_bad("tsv", &long, 3, "longer than the limit of 65535", ok, b"z");
}

#[test]
fn a_maximal_key_is_fine() {
    let f = Fixture::new();
    let mut data = vec![b'k'; 65_535];
    data.extend_from_slice(b"\tv\n");
    let (code, _, err) = f.load("in.tsv", &data, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.get(&vec![b'k'; 65_535]), Some(b"v".to_vec()));
}

#[test]
fn bad_jsonl_input_stops_at_the_right_line() {
    let ok: &[&[u8]] = &[b"a", b"b"];
    expect_bad(
        "jsonl",
        b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n{\"key\":\"\xff\",\"value\":\"x\"}\n{\"key\":\"z\",\"value\":\"9\"}\n",
        3,
        "invalid UTF-8",
        ok,
        b"z",
    );
    expect_bad(
        "jsonl",
        b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n{\"key\":\"k\",\n{\"key\":\"z\",\"value\":\"9\"}\n",
        3,
        "invalid JSON",
        ok,
        b"z",
    );
    expect_bad(
        "jsonl",
        b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n{\"key_hex\":\"0g\",\"value\":\"x\"}\n{\"key\":\"z\",\"value\":\"9\"}\n",
        3,
        "key_hex",
        ok,
        b"z",
    );
    expect_bad(
        "jsonl",
        b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n{\"key\":\"\",\"value\":\"x\"}\n{\"key\":\"z\",\"value\":\"9\"}\n",
        3,
        "empty key",
        ok,
        b"z",
    );
}

#[test]
fn bad_csv_input_stops_at_the_right_line() {
    let ok: &[&[u8]] = &[b"a", b"b"];
    expect_bad(
        "csv",
        b"a,1\nb,2\nonly-one-field\nz,9\n",
        3,
        "one field",
        ok,
        b"z",
    );
    expect_bad(
        "csv",
        b"a,1\nb,2\nx,y,w\nz,9\n",
        3,
        "more than two fields",
        ok,
        b"z",
    );
    // A quoted field spanning lines counts its lines: the bad record starts on line 4.
    expect_bad(
        "csv",
        b"a,1\n\"b\",\"two\nlines\"\nc\"d,3\nz,9\n",
        4,
        "quote inside",
        &[b"a", b"b"],
        b"z",
    );
}

#[test]
fn csv_load_handles_quotes_commas_newlines_and_crlf() {
    let f = Fixture::new();
    let (code, _, err) = f.load(
        "in.csv",
        b"plain,value\r\n\"a,b\",\"say \"\"hi\"\"\r\nline2\"\r\nempty,\n",
        &["--format", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.get(b"plain"), Some(b"value".to_vec()));
    assert_eq!(f.get(b"a,b"), Some(b"say \"hi\"\r\nline2".to_vec()));
    assert_eq!(f.get(b"empty"), Some(Vec::new()));
}

#[test]
fn jsonl_load_supports_hex_fields_and_deletes() {
    let f = Fixture::new();
    f.put("gone", "x");
    let (code, _, err) = f.load(
        "in.jsonl",
        b"{\"key\":\"t\\u0000\\n\",\"value\":\"v\"}\n{\"key_hex\":\"ff01\",\"value_hex\":\"00fe\"}\n{\"key\":\"gone\",\"op\":\"delete\"}\n",
        &["--format", "jsonl"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.get(b"t\0\n"), Some(b"v".to_vec()));
    assert_eq!(f.get(&[0xff, 1]), Some(vec![0, 0xfe]));
    assert_eq!(f.get(b"gone"), None);
}

#[test]
fn load_missing_file_or_directory_exits_1_and_writes_nothing() {
    let f = Fixture::new();
    let good = f.file("good.tsv", b"a\t1\n");
    let missing = f.tmp.path().join("missing.tsv");
    f.nokv(&["load"])
        .arg(&good)
        .arg(&missing)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.tsv"));
    assert!(!f.db.exists(), "nothing was written");
    f.nokv(&["load"])
        .arg(f.tmp.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is a directory"));
    assert!(!f.db.exists());
}

#[test]
fn a_truncated_last_line_is_loaded_when_it_parses() {
    let f = Fixture::new();
    let (code, _, err) = f.load("in.tsv", b"a\t1\nb\t2", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.get(b"b"), Some(b"2".to_vec()));
    let f = Fixture::new();
    let (code, _, err) = f.load("in.tsv", b"a\t1\nb-no-tab", &[]);
    assert_eq!(code, 5);
    assert!(err.contains("in.tsv:2: "), "{err}");
    assert_eq!(f.get(b"a"), Some(b"1".to_vec()));
}

#[test]
fn a_value_larger_than_the_memtable_loads() {
    let f = Fixture::new();
    let big: Vec<u8> = (0..100 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let mut data = b"small\t1\nbig\t".to_vec();
    data.extend_from_slice(&big);
    data.extend_from_slice(b"\nafter\t2\n");
    let (code, _, err) = f.load("in.tsv", &data, &["--memtable-size", "64KiB"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.get(b"big"), Some(big));
    assert_eq!(f.get(b"after"), Some(b"2".to_vec()));
}

#[test]
fn skip_invalid_counts_and_names_bad_lines() {
    let f = Fixture::new();
    let (code, out, err) = f.load(
        "in.tsv",
        b"a\t1\nbad1\nb\t2\nbad2\\q\tv\nc\t3\n",
        &["--skip-invalid", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(out.as_bytes());
    assert_eq!(v["records"], 3);
    assert_eq!(v["bad_records"], 2);
    assert!(
        err.contains("in.tsv:2: ") && err.contains("in.tsv:4: "),
        "{err}"
    );
    assert_eq!(f.get(b"c"), Some(b"3".to_vec()));
}

#[test]
fn skip_invalid_names_only_the_first_ten() {
    let f = Fixture::new();
    let mut data = Vec::new();
    for i in 0..25 {
        writeln!(data, "bad{i}").unwrap();
        writeln!(data, "k{i}\tv").unwrap();
    }
    let (code, _, err) = f.load("in.tsv", &data, &["--skip-invalid"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("(skipped)").count(), 10, "{err}");
    assert!(err.contains("15 more"), "{err}");
    assert!(err.contains("loaded 25 records"), "{err}");
}

#[test]
fn max_errors_exceeded_exits_5() {
    let f = Fixture::new();
    let (code, _, err) = f.load(
        "in.tsv",
        b"a\t1\nbad1\nb\t2\nbad2\nc\t3\nbad3\nd\t4\n",
        &["--max-errors", "2"],
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("in.tsv:6: "), "{err}");
    assert!(err.contains("--max-errors"), "{err}");
    assert_eq!(f.get(b"c"), Some(b"3".to_vec()));
    assert_eq!(f.get(b"d"), None);
    let f = Fixture::new();
    let (code, _, err) = f.load("in.tsv", b"a\t1\nbad1\nb\t2\n", &["--max-errors", "1"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn strict_load_reports_partial_progress_as_json_too() {
    let f = Fixture::new();
    let (code, out, _) = f.load("in.tsv", b"a\t1\nb\t2\nbad\n", &["--json"]);
    assert_eq!(code, 5);
    let v = json(out.as_bytes());
    assert_eq!(v["records"], 2);
    assert_eq!(v["complete"], false);
    assert_eq!(v["stopped_at"]["line"], 3);
}

// ---------------------------------------------------------------------------------------
// export | load

/// Keys and values with every troublesome byte.
fn nasty_records() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (b"tab\tkey".to_vec(), b"tab\tvalue".to_vec()),
        (b"nl\nkey".to_vec(), b"nl\nvalue\n".to_vec()),
        (b"cr\rkey".to_vec(), b"\r\n".to_vec()),
        (b"nul\0key".to_vec(), b"\0\0".to_vec()),
        (b"back\\slash".to_vec(), b"\\x41\\".to_vec()),
        (vec![0xff, 0xfe, 0x80], vec![0xc3, 0x28, 0xa0]),
        (
            "utf8-\u{e9}".as_bytes().to_vec(),
            "\u{1f600}".as_bytes().to_vec(),
        ),
        (b"empty-value".to_vec(), Vec::new()),
        (b"quote\"comma,".to_vec(), b"{\"json\":1}".to_vec()),
    ]
}

fn export_roundtrip(format: &str) {
    let src = Fixture::new();
    for (k, v) in nasty_records() {
        src.nokv(&["put", "--hex", &hex(&k), &hex(&v)])
            .assert()
            .success();
    }
    let exported = src
        .nokv(&["export", "--format", format])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let dst = Fixture::new();
    dst.nokv(&["load", "--format", format])
        .write_stdin(exported.clone())
        .assert()
        .success();
    for (k, v) in nasty_records() {
        assert_eq!(dst.get(&k), Some(v), "key {k:?}");
    }
    let again = dst
        .nokv(&["export", "--format", format])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(again, exported);
}

#[test]
fn export_load_round_trips_every_byte_in_tsv() {
    export_roundtrip("tsv");
}

#[test]
fn export_load_round_trips_every_byte_in_jsonl() {
    export_roundtrip("jsonl");
}

#[test]
fn export_tsv_equals_scan() {
    let f = scan_fixture();
    let exported = f
        .nokv(&["export"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(exported).unwrap(), scan(&f, &[]));
}

// ---------------------------------------------------------------------------------------
// flush, manifest

#[test]
fn flush_prints_the_tables_built() {
    let f = Fixture::new();
    f.put("a", "1");
    f.put("z", "26");
    let out = f
        .nokv(&["flush"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let fields: Vec<&str> = text.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 5, "{text:?}");
    assert!(fields[0].ends_with(".sst"));
    assert_eq!(fields[1], "2");
    assert_eq!(&fields[3..], &["a", "z"]);
    // Nothing left: an empty list.
    let out = f
        .nokv(&["flush", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json(&out)["tables"].as_array().unwrap().len(), 0);
}

#[test]
fn flush_json_lists_tables() {
    let f = Fixture::new();
    f.put("a", "1");
    f.nokv(&["put", "--hex", "ff", "00"]).assert().success();
    let out = f
        .nokv(&["flush", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["entries"], 2);
    assert_eq!(tables[0]["smallest"], "a");
    assert_eq!(tables[0]["largest_hex"], "ff");
    assert!(tables[0]["size"].as_u64().unwrap() > 0);
}

#[test]
fn manifest_shows_levels_and_counters() {
    let f = Fixture::new();
    f.put("a", "1");
    f.put("b", "2");
    f.nokv(&["flush"]).assert().success();
    let out = f
        .nokv(&["manifest", "--json"])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert!(v["current"].as_str().unwrap().starts_with("MANIFEST-"));
    assert!(v["next_file_number"].as_u64().unwrap() > 1);
    assert!(v["last_sequence"].as_u64().unwrap() >= 2);
    assert!(v["wal_checkpoint"].is_u64());
    let l0 = v["levels"][0]["tables"].as_array().unwrap();
    assert_eq!(l0.len(), 1);
    assert_eq!(l0[0]["entries"], 2);
    assert_eq!(l0[0]["smallest"], "a");
    assert_eq!(l0[0]["largest"], "b");
    f.nokv(&["manifest"])
        .assert()
        .success()
        .stdout(predicate::str::contains("CURRENT"))
        .stdout(predicate::str::contains("L0: 1 table"));
}

// ---------------------------------------------------------------------------------------
// a process holding the workdir

/// A `nokv load` reading from a pipe kept open: it holds `LOCK` until dropped.
struct Holder {
    child: Child,
}

impl Holder {
    fn start(db: &Path) -> Holder {
        let mut child = std::process::Command::new(BIN)
            .env_remove("NOKV_WORKDIR")
            .arg("--workdir")
            .arg(db)
            .arg("load")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"held\t1\n")
            .unwrap();
        let lock = db.join("LOCK");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let held = File::open(&lock)
                .map(|file| {
                    matches!(
                        file.try_lock_shared(),
                        Err(std::fs::TryLockError::WouldBlock)
                    )
                })
                .unwrap_or(false);
            if held {
                break;
            }
            assert!(Instant::now() < deadline, "the holder never took LOCK");
            std::thread::sleep(Duration::from_millis(20));
        }
        Holder { child }
    }

    /// Closes the pipe and waits for the load to finish.
    fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success());
    }
}

#[test]
fn write_commands_fail_with_1_and_reads_work_while_another_process_holds_the_workdir() {
    let f = Fixture::new();
    f.put("a", "1");
    let holder = Holder::start(&f.db);
    f.nokv(&["put", "b", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("locked"));
    // The read commands take no LOCK (SPEC 2.3a) and work while the workdir is held.
    f.nokv(&["get", "a"]).assert().success().stdout("1\n");
    f.nokv(&["scan"]).assert().success().stdout("a\t1\n");
    f.nokv(&["export"]).assert().success().stdout("a\t1\n");
    f.nokv(&["manifest", "--json"]).assert().success();
    holder.finish();
    assert_eq!(f.get(b"held"), Some(b"1".to_vec()));
}

#[test]

fn stats_json_works_while_another_process_holds_the_workdir() {
    let f = Fixture::new();
    f.put("a", "1");
    f.nokv(&["flush"]).assert().success();
    let holder = Holder::start(&f.db);
    let out = f
        .nokv(&["stats", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    holder.finish();
    let v = json(&out);
    for path in [
        "/flush/pending",
        "/flush/queue",
        "/flush/active",
        "/flush/completed",
        "/flush/failed",
        "/flush/last_error",
        "/flush/wait/count",
        "/flush/build/avg_ms",
        "/flush/release/max_ms",
        "/memtable/active_bytes",
        "/wal/segments",
        "/wal/checkpoint",
        "/lsm/levels",
        "/lsm/tables",
        "/manifest/file",
        "/manifest/next_file_number",
        "/session/live",
    ] {
        assert!(v.pointer(path).is_some(), "missing {path}");
    }
    assert_eq!(v["session"]["live"], true);
    assert!(v["lsm"]["tables"].as_u64().unwrap() >= 1);
    assert!(v["flush"]["completed"].as_u64().unwrap() >= 1);
}

#[test]

fn stats_tables_show_every_section_and_create_nothing() {
    let f = Fixture::new();
    f.put("a", "1");
    f.nokv(&["flush"]).assert().success();
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = names(&f.db);
    let out = f
        .nokv(&["stats"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for section in [
        "Flush",
        "Flush timings",
        "WAL",
        "Memtable",
        "Levels",
        "Manifest",
        "Session",
    ] {
        assert!(text.contains(section), "missing {section}:\n{text}");
    }
    for column in [
        "pending",
        "queue",
        "active",
        "completed",
        "failed",
        "stalls",
        "last_error",
    ] {
        assert!(text.contains(column), "missing {column}:\n{text}");
    }
    assert_eq!(names(&f.db), before, "stats changed the workdir");
}

// ---------------------------------------------------------------------------------------
// verify

fn flushed_fixture() -> Fixture {
    let f = Fixture::new();
    let mut data = Vec::new();
    for i in 0..2000 {
        writeln!(data, "key{i:06}\tvalue{i:06}").unwrap();
    }
    let (code, _, err) = f.load("in.tsv", &data, &[]);
    assert_eq!(code, 0, "{err}");
    f
}

fn sst_files(db: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    files.sort();
    files
}

#[test]

fn verify_clean_workdir_exits_0() {
    let f = flushed_fixture();
    f.nokv(&["verify"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("OK: "));
    let out = f
        .nokv(&["verify", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert!(v["files_checked"].as_u64().unwrap() >= 1);
    assert!(v["problems"].as_array().unwrap().is_empty());
}

#[test]

fn verify_exits_3_naming_a_table_with_a_flipped_byte() {
    let f = flushed_fixture();
    let ssts = sst_files(&f.db);
    assert!(!ssts.is_empty());
    let path = &ssts[0];
    let mut bytes = std::fs::read(path).unwrap();
    bytes[100] ^= 0x01; // inside the first data block
    std::fs::write(path, &bytes).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    f.nokv(&["verify"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(name.as_str()));
    let out = f
        .nokv(&["verify", "--json"])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["ok"], false);
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["file"] == name.as_str()),
        "{problems:?}"
    );
}

#[test]

fn verify_refuses_a_live_workdir_unless_allowed() {
    let f = flushed_fixture();
    let holder = Holder::start(&f.db);
    f.nokv(&["verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--allow-live"));
    let out = f
        .nokv(&["verify", "--allow-live", "--json"])
        .output()
        .unwrap();
    holder.finish();
    assert!(matches!(out.status.code(), Some(0) | Some(3)));
    assert_eq!(json(&out.stdout)["live"], true);
}

fn stats_json(f: &Fixture) -> serde_json::Value {
    let out = f.nokv(&["stats", "--json"]).output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sorted_input_is_ingested_as_tables_without_the_wal() {
    let f = Fixture::new();
    let mut input = String::new();
    for i in 0..3000 {
        input.push_str(&format!("key{i:06}\tvalue-{i}\n"));
    }
    let file = f.file("sorted.tsv", input.as_bytes());
    let out = f
        .nokv(&["load", "--json", "--memtable-size", "64KiB"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["records"], 3000);
    assert_eq!(summary["ingested_records"], 3000);
    let stats = stats_json(&f);
    assert_eq!(
        stats["flush"]["completed"], 0,
        "nothing went through a memtable"
    );
    assert!(stats["lsm"]["tables"].as_u64().unwrap() >= 1);
    assert_eq!(f.get(b"key001234"), Some(b"value-1234".to_vec()));
    f.nokv(&["verify"]).assert().code(0);
}

#[test]
fn input_that_stops_being_sorted_falls_back_to_normal_writes() {
    let f = Fixture::new();
    let mut input = String::new();
    for i in 0..50_000 {
        input.push_str(&format!("key{i:06}\tfirst-{i}\n"));
    }
    // Out of order from here on, and overwriting ingested keys.
    for i in (0..100).rev() {
        input.push_str(&format!("key{i:06}\tsecond-{i}\n"));
    }
    let file = f.file("mostly-sorted.tsv", input.as_bytes());
    let out = f.nokv(&["load", "--json"]).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["records"], 50_100);
    let ingested = summary["ingested_records"].as_u64().unwrap();
    assert!((16_384..50_100).contains(&ingested), "{ingested}");
    assert_eq!(
        f.get(b"key000007"),
        Some(b"second-7".to_vec()),
        "later writes win"
    );
    assert_eq!(f.get(b"key000107"), Some(b"first-107".to_vec()));
    assert_eq!(f.get(b"key049999"), Some(b"first-49999".to_vec()));

    let g = Fixture::new();
    let file = g.file("mostly-sorted.tsv", input.as_bytes());
    let out = g
        .nokv(&["load", "--json", "--no-ingest"])
        .arg(&file)
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ingested_records"], 0);
    assert_eq!(g.get(b"key000007"), Some(b"second-7".to_vec()));
    let export_f = f.nokv(&["export"]).output().unwrap().stdout;
    let export_g = g.nokv(&["export"]).output().unwrap().stdout;
    assert!(export_f == export_g, "both paths give the same contents");
}

#[test]
fn a_sorted_load_stopped_by_bad_input_keeps_the_prefix() {
    let f = Fixture::new();
    let input = "a\t1\nb\t2\nc\t3\nno-tab-here\nd\t4\n";
    let file = f.file("bad.tsv", input.as_bytes());
    f.nokv(&["load", "--sorted"])
        .arg(&file)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("bad.tsv:4"));
    assert_eq!(f.get(b"c"), Some(b"3".to_vec()));
    assert_eq!(f.get(b"d"), None);
}

#[test]
fn checkpoint_makes_a_workdir_of_its_own_and_refuses_a_non_empty_destination() {
    let f = Fixture::new();
    f.put("a", "1");
    f.nokv(&["flush"]).assert().success();
    f.put("b", "2");
    let dest = f.tmp.path().join("copy");
    let out = f
        .nokv(&["checkpoint", dest.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["tables_linked"], 1, "{summary}");
    assert_eq!(summary["last_sequence"], 2, "{summary}");
    assert!(!dest.join("LOCK").exists());
    let copy = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("NOKV_WORKDIR")
            .arg("--workdir")
            .arg(&dest)
            .args(args);
        cmd
    };
    copy(&["scan"]).assert().success().stdout("a\t1\nb\t2\n");
    copy(&["verify"]).assert().success();

    // An existing, non-empty destination is refused and left as it was.
    f.put("c", "3");
    f.nokv(&["checkpoint", dest.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not empty"));
    copy(&["scan"]).assert().success().stdout("a\t1\nb\t2\n");
    // A missing source workdir is refused without creating anything.
    let nowhere = f.tmp.path().join("nowhere");
    let mut cmd = Command::new(BIN);
    cmd.env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&nowhere)
        .args(["checkpoint", f.tmp.path().join("c2").to_str().unwrap()])
        .assert()
        .code(1);
    assert!(!nowhere.exists() && !f.tmp.path().join("c2").exists());
}

#[test]
fn checkpoint_copies_tables_across_filesystems_and_links_them_on_the_same_one() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::new();
    f.put("a", "1");
    f.nokv(&["flush"]).assert().success();
    let table = std::fs::read_dir(&f.db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .unwrap();
    let same = f.tmp.path().join("same");
    f.nokv(&["checkpoint", same.to_str().unwrap()])
        .assert()
        .success();
    let linked = same.join(table.file_name().unwrap());
    assert_eq!(
        std::fs::metadata(&linked).unwrap().ino(),
        std::fs::metadata(&table).unwrap().ino()
    );
    assert_eq!(std::fs::metadata(&table).unwrap().nlink(), 2);

    let shm = Path::new("/dev/shm");
    let other_fs = shm.is_dir()
        && std::fs::metadata(shm).unwrap().dev() != std::fs::metadata(f.tmp.path()).unwrap().dev();
    if !other_fs {
        eprintln!("checkpoint across filesystems: SKIPPED (no /dev/shm on another filesystem)");
        return;
    }
    let other = tempfile::tempdir_in(shm).unwrap();
    let dest = other.path().join("copy");
    let out = f
        .nokv(&["checkpoint", dest.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["tables_linked"], 0, "{summary}");
    assert_eq!(summary["tables_copied"], 1, "{summary}");
    let mut scan = Command::new(BIN);
    scan.env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(&dest)
        .arg("scan")
        .assert()
        .success()
        .stdout("a\t1\n");
}

/// The codec of every table in the workdir.
fn table_codecs(db: &Path) -> Vec<nokv::Compression> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(db).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sst") {
            let table = nokv::sst::Table::open(&nokv::vfs::RealFs, &path, None).unwrap();
            out.push(table.properties().compression);
        }
    }
    out
}

#[test]
fn compression_flag_picks_the_codec_of_new_tables_and_compaction_rewrites_them() {
    let f = Fixture::new();
    let mut tsv = String::new();
    for i in 0..2000 {
        tsv.push_str(&format!(
            "usr/share/doc/pkg{:03}/file{i:05}\tname{}\n",
            i % 40,
            i % 9
        ));
    }
    let (code, _, err) = f.load("a.tsv", tsv.as_bytes(), &["--quiet"]);
    assert_eq!(code, 0, "{err}");
    f.nokv(&["flush"]).assert().success();
    assert_eq!(
        table_codecs(&f.db),
        vec![nokv::Compression::Lz4],
        "lz4 by default"
    );
    f.nokv(&["--compression", "zstd", "compact"])
        .assert()
        .success();
    assert_eq!(table_codecs(&f.db), vec![nokv::Compression::Zstd]);
    f.nokv(&["compact", "--compression", "none"])
        .assert()
        .success();
    assert_eq!(table_codecs(&f.db), vec![nokv::Compression::None]);
    assert_eq!(f.get(b"usr/share/doc/pkg007/file00047").unwrap(), b"name2");
    f.nokv(&["verify"]).assert().success();
    f.nokv(&["--compression", "snappy", "get", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("snappy"));
}
