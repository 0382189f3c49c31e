//! Regression tests for bugs found where two parts of the engine meet (issue 9), each at the
//! level where it was seen: the CLI for what a user ran, the library for what needs a fault
//! or a thread schedule. Each names the bug it pins.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use nokv::verify::{verify, VerifyOptions};
use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpKind, OpSelector};
use nokv::{Db, Options, ScanOptions};
use tempfile::TempDir;

mod common;
use common::GateVfs;

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

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn stdout(&self, args: &[&str]) -> String {
        let out = self.nokv(args).output().unwrap();
        assert!(
            out.status.success(),
            "nokv {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Bug 1: a sorted load whose ingest adds nothing (the first record is a delete) took a
/// sequence number without logging it, so the next WAL record started past the manifest and
/// every later open refused the workdir, while `verify` said OK.
#[test]
fn bug1_an_ingest_that_adds_nothing_leaves_an_openable_workdir() {
    let f = Fixture::new();
    let input = f.file(
        "a.jsonl",
        b"{\"key\":\"a\",\"op\":\"delete\"}\n{\"key\":\"b\",\"value\":\"1\"}\n",
    );
    f.nokv(&["load", "--format", "jsonl", "--sorted", "--no-flush"])
        .arg(&input)
        .assert()
        .code(0);
    // verify first: it must agree with open, whichever way open goes.
    f.nokv(&["verify"]).assert().code(0);
    assert_eq!(f.stdout(&["get", "b"]), "1\n");
}

/// Bug 1, library side: an `Ingest` dropped without `finish()` (what an I/O error in `add`
/// leads to) and one finished with no record must not consume a sequence number.
#[test]
fn bug1_an_abandoned_or_empty_ingest_consumes_no_sequence_number() {
    let vfs = MemVfs::new();
    let dir = Path::new("/db");
    let opts = Options {
        stats_interval: None,
        ..Options::default()
    };
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), dir, opts.clone()).unwrap();
    db.put(b"k0", b"v0").unwrap();
    {
        let mut ingest = db.ingest().unwrap();
        ingest.add(b"x1", b"never").unwrap();
        drop(ingest);
    }
    db.put(b"k1", b"v1").unwrap();
    db.ingest().unwrap().finish().unwrap();
    db.put(b"k2", b"v2").unwrap();
    // A kill -9 now: the WAL holds k1 and k2, the manifest the flush before the ingests.
    let crashed = vfs.process_crash_clone();
    drop(db);
    for vfs in [crashed, vfs] {
        let report = verify(&vfs, dir, &VerifyOptions::default()).unwrap();
        let db = Db::open_with_vfs(Arc::new(vfs.clone()), dir, opts.clone())
            .unwrap_or_else(|e| panic!("open refused (verify said ok={}): {e}", report.ok));
        assert_eq!(db.get(b"k2").unwrap(), Some(b"v2".to_vec()));
        assert_eq!(db.get(b"x1").unwrap(), None);
    }
}

fn ingest_m(db: &Db, value: &str) -> u32 {
    let mut ingest = db.ingest().unwrap();
    for i in 0..200 {
        ingest
            .add(format!("m{i:06}").as_bytes(), value.as_bytes())
            .unwrap();
    }
    ingest.finish().unwrap().level
}

/// Bug 2: an ingest committed while an L0->L1 compaction ran chose its level from the current
/// version alone; the compaction's output then spanned the gap the ingested table sat in,
/// leaving two overlapping L1 tables and reads of the older copy below. The compaction is
/// held (deterministically) at the creation of its output while the ingest commits.
#[test]
fn bug2_an_ingest_during_a_compaction_never_overlaps_its_outputs() {
    let vfs = GateVfs::new();
    let dir = Path::new("/db");
    let opts = Options {
        l0_compaction_trigger: 2,
        stats_interval: None,
        ..Options::default()
    };
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), dir, opts.clone()).unwrap();
    // Old copies of the m-keys in L6..L2.
    for round in 0..5 {
        assert_eq!(ingest_m(&db, &format!("old{round}")), 6 - round);
    }
    // Two L0 tables [a..] and [z]: neither overlaps the m-keys, their merge does.
    vfs.gate.arm("nokv-compact", ".sst");
    for i in 0..100 {
        db.put(format!("a{i:06}").as_bytes(), b"x").unwrap();
    }
    db.flush().unwrap();
    db.put(b"z", b"z").unwrap();
    db.flush().unwrap();
    vfs.gate.wait_held();
    let level = ingest_m(&db, "NEW");
    vfs.gate.release();
    // Let the compaction commit.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db.stats().compaction.runs == 0 && db.background_error().is_none() {
        assert!(std::time::Instant::now() < deadline, "compaction never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        db.background_error(),
        None,
        "the compaction's commit failed"
    );
    assert_eq!(db.version().check_invariants(), Vec::<String>::new());
    assert_eq!(level, 0, "the running compaction's outputs cover L1 there");
    assert_eq!(db.get(b"m000100").unwrap(), Some(b"NEW".to_vec()));
    let stale = db
        .scan(&ScanOptions::default())
        .unwrap()
        .map(|r| r.unwrap())
        .filter(|(k, v)| k.starts_with(b"m") && v != b"NEW")
        .count();
    assert_eq!(stale, 0);
    db.close().unwrap();
    assert!(verify(&vfs, dir, &VerifyOptions::default()).unwrap().ok);
}

/// Runs `f` on its own thread; fails the test if it has not returned within `limit` (a
/// deadlock), leaving that thread behind.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} did not return within {limit:?}: a deadlock"))
}

/// Bug 3: `close()` held the writer lock while it joined the workers, and the stats
/// publisher took the writer lock for its snapshot: a publisher tick that queued behind a
/// long ingest (which holds the writer lock throughout) then waited forever, and `nokv load`
/// of a big sorted file never exited. Same mechanism, small: the publisher ticks every
/// millisecond, the ingest outlasts many ticks, then close.
#[test]
fn bug3_close_after_a_long_ingest_does_not_deadlock_with_the_stats_publisher() {
    for round in 0..5 {
        let vfs = MemVfs::new();
        let opts = Options {
            stats_interval: Some(Duration::from_millis(1)),
            ..Options::default()
        };
        let db = Db::open_with_vfs(Arc::new(vfs.clone()), Path::new("/db"), opts).unwrap();
        within(Duration::from_secs(10), "ingest + close", move || {
            let mut ingest = db.ingest().unwrap();
            for i in 0..20u32 {
                ingest.add(format!("k{i:06}").as_bytes(), b"v").unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            ingest.finish().unwrap();
            // At once, while the publisher's tick may still be queued behind the ingest.
            db.close()
        })
        .unwrap_or_else(|e| panic!("round {round}: close failed: {e}"));
        let vfs2 = vfs.clone();
        let db = Db::open_with_vfs(Arc::new(vfs2), Path::new("/db"), Options::default()).unwrap();
        assert_eq!(db.get(b"k000019").unwrap(), Some(b"v".to_vec()));
    }
}

/// Bug 3, the other half: a stats snapshot taken while an ingest holds the writer lock
/// returns at once.
#[test]
fn bug3_stats_during_an_ingest_do_not_wait_for_it() {
    let db = Arc::new(
        Db::open_with_vfs(
            Arc::new(MemVfs::new()),
            Path::new("/db"),
            Options {
                stats_interval: None,
                ..Options::default()
            },
        )
        .unwrap(),
    );
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let ingester = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            let mut ingest = db.ingest().unwrap();
            ingest.add(b"k", b"v").unwrap();
            started_tx.send(()).unwrap();
            let _ = done_rx.recv_timeout(Duration::from_secs(30));
            ingest.finish().unwrap();
        })
    };
    started_rx.recv().unwrap();
    let reader = Arc::clone(&db);
    let snapshot = within(Duration::from_secs(10), "stats()", move || reader.stats());
    assert!(snapshot.session.live);
    done_tx.send(()).unwrap();
    ingester.join().unwrap();
}

/// Bug 4: group commit retried a failed WAL fsync (fsyncgate): writer A's fsync failed, then
/// writer C, whose record was already in the file, fsynced again, succeeded, and was
/// acknowledged while the engine was poisoned. Several threads write with `sync_writes`; one
/// WAL fsync fails. Afterwards the segment is never fsynced again, and every write that
/// started after the failure was refused.
#[test]
fn bug4_a_failed_wal_fsync_is_never_retried_and_nothing_after_it_is_acknowledged() {
    for (round, nth) in [3u64, 10, 25, 40].into_iter().enumerate() {
        let slow = GateVfs {
            sync_delay: Duration::from_millis(1),
            ..GateVfs::new()
        };
        let vfs = FaultVfs::new(Arc::new(slow));
        let opts = Options {
            sync_writes: true,
            stats_interval: None,
            memtable_size: 16 << 10,
            ..Options::default()
        };
        let db =
            Arc::new(Db::open_with_vfs(Arc::new(vfs.clone()), Path::new("/db"), opts).unwrap());
        vfs.clear_ops();
        vfs.add_rule(
            FaultRule::new(
                OpSelector::Kind(OpKind::Sync),
                nth,
                FaultAction::FailOnce(5),
            )
            .on_path(".wal"),
        );
        let failed_at = Arc::new(Mutex::new(None::<std::time::Instant>));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let db = Arc::clone(&db);
                let failed_at = Arc::clone(&failed_at);
                std::thread::spawn(move || {
                    let mut late_acks = 0;
                    for i in 0..60 {
                        let started = std::time::Instant::now();
                        let result = db.put(format!("t{t}-{i:03}").as_bytes(), &[b'v'; 300]);
                        let mut failed = failed_at.lock().unwrap();
                        match result {
                            Ok(()) => {
                                if failed.is_some_and(|at| at < started) {
                                    late_acks += 1;
                                }
                            }
                            Err(_) => {
                                failed.get_or_insert(std::time::Instant::now());
                            }
                        }
                    }
                    late_acks
                })
            })
            .collect();
        let late: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(vfs.fired(), "round {round}: the fault never fired");
        assert_eq!(
            late, 0,
            "round {round}: writes acknowledged after the failure"
        );
        let ops = vfs.ops();
        let (index, failed) = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.kind == OpKind::Sync && op.path.to_string_lossy().contains(".wal"))
            .nth(nth as usize)
            .unwrap();
        let after = ops[index + 1..]
            .iter()
            .filter(|op| op.kind == OpKind::Sync && op.path == failed.path)
            .count();
        assert_eq!(
            after,
            0,
            "round {round}: {} fsynced again",
            failed.path.display()
        );
        assert!(db.background_error().unwrap().contains("fsync"));
        assert!(db.put(b"later", b"x").is_err());
    }
}

/// Bug 5: with `background_flush: false`, `flush()`'s inline drain and another thread's could
/// run two flushes at once; the newer memtable committed first, its checkpoint skipped the
/// older one, and the older one's WAL segment was deleted before its table was in the
/// manifest (acknowledged writes lost at a crash). The older flush is held at the creation of
/// its table while another thread flushes; then a kill -9.
#[test]
fn bug5_inline_flushes_commit_in_order_and_never_reclaim_an_uninstalled_segment() {
    let vfs = GateVfs::new();
    let dir = Path::new("/db");
    let opts = Options {
        background_flush: false,
        auto_compaction: false,
        memtable_size: 4 << 10,
        max_immutables: 4,
        stats_interval: None,
        ..Options::default()
    };
    let db = Arc::new(Db::open_with_vfs(Arc::new(vfs.clone()), dir, opts.clone()).unwrap());
    let key = |i: usize| format!("key{i:05}").into_bytes();
    // Two rotations: memtables A and B wait in the queue (room for four).
    let mut written = 0;
    while db.stats().memtable.immutables < 2 {
        db.put(&key(written), &[b'v'; 200]).unwrap();
        written += 1;
    }
    vfs.gate.arm("older-flush", ".sst");
    let older = {
        let db = Arc::clone(&db);
        std::thread::Builder::new()
            .name("older-flush".into())
            .spawn(move || db.flush().map(|_| ()))
            .unwrap()
    };
    vfs.gate.wait_held();
    let newer = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || db.flush().map(|_| ()))
    };
    // Give the second flush every chance to overtake the held one.
    std::thread::sleep(Duration::from_millis(300));
    let crashed = vfs.inner.process_crash_clone();
    vfs.gate.release();
    older.join().unwrap().unwrap();
    newer.join().unwrap().unwrap();
    let reopened =
        Db::open_with_vfs(Arc::new(crashed.clone()), dir, opts).expect("the crashed workdir opens");
    let missing: Vec<usize> = (0..written)
        .filter(|&i| reopened.get(&key(i)).unwrap().is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {written} acknowledged keys lost: {missing:?}",
        missing.len()
    );
    drop(reopened);
    let report = verify(&crashed, dir, &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

/// A file number used only by a temporary that a crash left (and open removes) is never
/// handed out again.
#[test]
fn file_numbers_of_removed_temporaries_are_not_handed_out_again() {
    let vfs = MemVfs::new();
    let dir = Path::new("/db");
    let opts = Options {
        stats_interval: None,
        ..Options::default()
    };
    drop(Db::open_with_vfs(Arc::new(vfs.clone()), dir, opts.clone()).unwrap());
    vfs.write_file(dir.join("000050.sst.tmp.1.2"), b"partial table");
    vfs.write_file(dir.join("wal/000060.wal.tmp.1.2"), b"partial segment");
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), dir, opts).unwrap();
    assert!(!vfs
        .file_names()
        .iter()
        .any(|p| p.to_string_lossy().contains(".tmp.")));
    db.put(b"k", b"v").unwrap();
    let table = db.flush().unwrap().tables[0].number;
    assert!(table.0 > 60, "handed out {table} again");
}

/// Found by `tests/blackbox.rs` after the bug 1 fix: an ingest whose manifest fsync failed
/// was abandoned, and abandoning deleted its tables although the edit naming them was
/// already in the manifest, so the next open refused the workdir (a missing table). Once the
/// edit may be logged, the tables stay.
#[test]
fn an_ingest_whose_manifest_fsync_fails_keeps_its_tables() {
    let mem = MemVfs::new();
    let dir = Path::new("/db");
    let opts = Options {
        stats_interval: None,
        ..Options::default()
    };
    let fault = FaultVfs::new(Arc::new(mem.clone()));
    let db = Db::open_with_vfs(Arc::new(fault.clone()), dir, opts.clone()).unwrap();
    db.put(b"before", b"1").unwrap();
    let mut ingest = db.ingest().unwrap();
    ingest.add(b"k1", b"v1").unwrap();
    ingest.add(b"k2", b"v2").unwrap();
    fault.add_rule(
        FaultRule::new(OpSelector::Kind(OpKind::Sync), 0, FaultAction::FailOnce(5))
            .on_path("MANIFEST"),
    );
    assert!(ingest.finish().is_err());
    assert!(fault.fired());
    assert!(db.put(b"after", b"x").is_err(), "the engine is poisoned");
    drop(db);
    // The record reached the kernel (the fsync failed without effect): it names the tables,
    // which must still be there.
    let report = verify(&mem, dir, &VerifyOptions::default()).unwrap();
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, opts)
        .unwrap_or_else(|e| panic!("open refused: {e}; verify: {:?}", report.problems));
    assert_eq!(db.get(b"k2").unwrap(), Some(b"v2".to_vec()));
    assert_eq!(db.get(b"before").unwrap(), Some(b"1".to_vec()));
}

/// Found at merge time (a note from the verify work): with the WAL checkpoint segment deleted,
/// `verify` reported the segment missing while a read-write open (`nokv flush`) succeeded,
/// created a fresh segment and silently dropped the acknowledged writes the segment held;
/// `get` read nothing of them either. Open now refuses, as verify does, and changes nothing.
#[test]
fn a_missing_checkpoint_segment_refuses_the_open_as_verify_reports_it() {
    let f = Fixture::new();
    let mut tsv = String::new();
    // Descending, so the load goes through the WAL (sorted input is ingested as a table).
    for i in (0..300).rev() {
        tsv.push_str(&format!("k{i:04}\t{}\n", "x".repeat(300)));
    }
    let input = f.file("in.tsv", tsv.as_bytes());
    f.nokv(&["--memtable-size", "16KiB", "load", "--no-flush"])
        .arg(&input)
        .assert()
        .code(0);
    // The tail of the load is only in the WAL.
    assert!(f.stdout(&["get", "k0000"]).starts_with("xxx"));
    let wal_dir = f.db.join("wal");
    let segments: Vec<PathBuf> = std::fs::read_dir(&wal_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    std::fs::remove_file(&segments[0]).unwrap();
    let listing = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "LOCK")
            .collect();
        names.sort();
        names
    };
    let before = (listing(&f.db), listing(&wal_dir));
    f.nokv(&["verify"]).assert().code(3);
    let segment = segments[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for args in [&["flush"][..], &["get", "k0000"], &["put", "a", "1"]] {
        let out = f.nokv(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "nokv {args:?} must refuse");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&segment) && stderr.contains("checkpoint"),
            "{stderr}"
        );
    }
    assert_eq!(
        (listing(&f.db), listing(&wal_dir)),
        before,
        "the workdir changed"
    );
}
