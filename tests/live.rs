//! Reads beside a live writer in another process (SPEC 2.3a): a `nokv load -` fed through a
//! pipe that stays open, flushing and compacting as it goes, while `get`, `scan`, `export` and
//! `checkpoint` run. Each must exit 0 and show a prefix of what was fed: the loader writes its batches in
//! order, so a consistent read holds exactly the first N records fed, for some N that never
//! shrinks from one read to the next.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_nokv");

/// Records fed at most (about 10 MB), so the reads stay quick on a slow machine.
const MAX_FED: u64 = 100_000;

fn key(i: u64) -> String {
    // A bijection on u32, so keys are unique and arrive out of order (no sorted ingestion).
    format!("k{:08x}", (i as u32).wrapping_mul(2_654_435_761))
}

fn value(i: u64) -> String {
    format!("v{i}-{}", "x".repeat(90))
}

fn nokv(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_remove("NOKV_WORKDIR")
        .arg("--workdir")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A `nokv load -` on `db`, fed by a thread until [`Loader::finish`].
struct Loader {
    child: std::process::Child,
    fed: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Loader {
    fn start(db: &Path) -> Loader {
        let mut child = Command::new(BIN)
            .env_remove("NOKV_WORKDIR")
            .args([
                "--workdir",
                db.to_str().unwrap(),
                "--memtable-size",
                "64KiB",
            ])
            .args(["load", "-", "--no-ingest", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let fed = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (feeding, stopping) = (Arc::clone(&fed), Arc::clone(&stop));
        let feeder = std::thread::spawn(move || {
            let mut i = 0u64;
            while !stopping.load(Ordering::SeqCst) {
                if i >= MAX_FED {
                    // Enough to flush and compact many times; keep the pipe open.
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                let mut chunk = String::new();
                let mut records = Vec::new();
                for _ in 0..200 {
                    let (k, v) = (key(i), value(i));
                    chunk.push_str(&format!("{k}\t{v}\n"));
                    records.push((k, v));
                    i += 1;
                }
                // Recorded before it is written: a reader may see it as soon as it is sent.
                feeding.lock().unwrap().extend(records);
                stdin.write_all(chunk.as_bytes()).unwrap();
                stdin.flush().unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            // Dropping stdin ends the load.
        });
        Loader {
            child,
            fed,
            stop,
            feeder: Some(feeder),
        }
    }

    fn fed(&self) -> Vec<(String, String)> {
        self.fed.lock().unwrap().clone()
    }

    fn finish(mut self) -> Vec<(String, String)> {
        self.stop.store(true, Ordering::SeqCst);
        self.feeder.take().unwrap().join().unwrap();
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        assert!(
            status.success(),
            "load exited {:?}: {stderr}",
            status.code()
        );
        self.fed()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.child.kill();
    }
}

/// Checks that `seen` holds exactly the first `seen.len()` records of `fed`, with their
/// values, and returns that length.
fn assert_prefix(what: &str, seen: &HashMap<String, String>, fed: &[(String, String)]) -> usize {
    let n = seen.len();
    assert!(
        n <= fed.len(),
        "{what}: {n} records seen, {} fed",
        fed.len()
    );
    for (i, (k, v)) in fed[..n].iter().enumerate() {
        match seen.get(k) {
            Some(got) => assert_eq!(got, v, "{what}: value of record {i} ({k})"),
            None => panic!("{what}: {n} records seen, but record {i} ({k}) is missing"),
        }
    }
    n
}

fn parse_tsv(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once('\t').expect("key<TAB>value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn parse_jsonl(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            (
                record["key"].as_str().unwrap().to_string(),
                record["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn workdir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    (tmp, db)
}

/// Waits until `get` finds the first record the loader was fed.
fn wait_for_first_record(db: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = nokv(db, &["get", &key(0)]);
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the loader's first batch never became visible: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn get_scan_export_and_checkpoint_read_a_growing_prefix_beside_a_live_load() {
    let (_tmp, db) = workdir();
    let loader = Loader::start(&db);
    wait_for_first_record(&db);
    let mut last = 0;
    let mut grew = false;
    let mut checkpoints = Vec::new();
    for round in 0..6 {
        let scan = ok(&nokv(&db, &["scan"]), "scan");
        let n = assert_prefix(&format!("scan {round}"), &parse_tsv(&scan), &loader.fed());
        assert!(
            n >= last,
            "scan {round}: {n} records, an earlier read saw {last}"
        );
        grew |= n > last;
        last = n;

        let export = ok(&nokv(&db, &["export", "--format", "jsonl"]), "export");
        let n = assert_prefix(
            &format!("export {round}"),
            &parse_jsonl(&export),
            &loader.fed(),
        );
        assert!(
            n >= last,
            "export {round}: {n} records, an earlier read saw {last}"
        );
        last = n;

        // Every record an earlier read saw is there for `get`, with its value.
        for i in [0, last as u64 / 2, last as u64 - 1] {
            let got = ok(&nokv(&db, &["get", &key(i)]), "get");
            assert_eq!(got, format!("{}\n", value(i)), "get of record {i}");
        }
        let absent = nokv(&db, &["get", "never-fed"]);
        assert_eq!(absent.status.code(), Some(4));

        if round % 2 == 1 {
            let dest = db.with_file_name(format!("checkpoint-{round}"));
            ok(
                &nokv(&db, &["checkpoint", dest.to_str().unwrap()]),
                "checkpoint",
            );
            let copy = parse_tsv(&ok(&nokv(&dest, &["scan"]), "scan of the checkpoint"));
            let n = assert_prefix(&format!("checkpoint {round}"), &copy, &loader.fed());
            assert!(
                n >= last,
                "checkpoint {round}: {n} records, an earlier read saw {last}"
            );
            last = n;
            checkpoints.push((dest, copy));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let fed = loader.finish();
    for (dest, copy) in &checkpoints {
        // The load went on after the checkpoint: none of it shows in the copy.
        assert_eq!(&parse_tsv(&ok(&nokv(dest, &["scan"]), "scan")), copy);
        ok(&nokv(dest, &["verify"]), "verify of the checkpoint");
        // The copy is a workdir of its own: its writes and compactions leave the source alone.
        ok(
            &nokv(dest, &["put", &key(0), "copy only"]),
            "put into the checkpoint",
        );
        ok(&nokv(dest, &["compact"]), "compact the checkpoint");
        assert_eq!(ok(&nokv(dest, &["get", &key(0)]), "get"), "copy only\n");
    }
    assert!(grew, "the reads never saw the load progress");
    assert!(last <= fed.len());
    let scan = ok(&nokv(&db, &["scan"]), "scan after the load");
    let all = parse_tsv(&scan);
    assert_eq!(assert_prefix("after the load", &all, &fed), fed.len());
    let stats: Value =
        serde_json::from_str(&ok(&nokv(&db, &["stats", "--json"]), "stats")).unwrap();
    eprintln!(
        "live load: {} records fed, reads saw up to {last}; {} flushes, {} compactions",
        fed.len(),
        stats["flush"]["completed"],
        stats["compaction"]["runs"]
    );
    assert!(
        stats["flush"]["completed"].as_u64().unwrap() >= 2,
        "{stats}"
    );
}
