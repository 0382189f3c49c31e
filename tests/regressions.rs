//! Regression tests for bugs found where two parts of the engine meet (issue 9), each at the
//! level where it was seen: the CLI for what a user ran, the library for what needs a fault
//! or a thread schedule. Each names the bug it pins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use nokv::verify::{verify, VerifyOptions};
use nokv::vfs::MemVfs;
use nokv::{Db, Options};
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
