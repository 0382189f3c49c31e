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
