//! A torn unsynced tail opens (SPEC 2.3 items 2 and 5): the two shapes LazyFS produced, at
//! every offset of the last record, through the public API. A bad last record with no valid
//! record after it is dropped (the newest WAL segment truncated, the manifest's edit ignored),
//! counted in stats and returned for the caller's warning; a bad record with a valid record
//! after it still refuses the open.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nokv::{Db, Options, TornLog};

use nokv::verify::{verify, VerifyOptions};
use nokv::vfs::{MemVfs, PageWriteback};

fn options() -> Options {
    Options {
        memtable_size: 1 << 20,
        stats_interval: None,
        background_flush: false,
        auto_compaction: false,
        ..Options::default()
    }
}

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:03}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i}-{}", "v".repeat(40 + i * 7)).into_bytes()
}

fn wal_path(vfs: &MemVfs) -> PathBuf {
    let wals: Vec<_> = vfs
        .file_names()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    assert_eq!(wals.len(), 1, "{wals:?}");
    wals[0].clone()
}

fn manifest_path(vfs: &MemVfs) -> PathBuf {
    let name = nokv::manifest::read_current(vfs, &dir()).unwrap().unwrap();
    dir().join(name)
}

/// A closed workdir holding `records` puts in one WAL segment, and where each record of
/// the segment starts and ends.
fn wal_workdir(records: usize) -> (MemVfs, Vec<u64>) {
    let vfs = MemVfs::new();
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), options()).unwrap();
    let wal = wal_path(&vfs);
    let mut bounds = vec![vfs.read_file(&wal).unwrap().len() as u64];
    for i in 0..records {
        db.put(&key(i), &value(i)).unwrap();
        bounds.push(vfs.read_file(&wal).unwrap().len() as u64);
    }
    db.close().unwrap();
    (vfs, bounds)
}

/// A copy of `vfs` where `path` holds `bytes`.
fn with_file(vfs: &MemVfs, path: &Path, bytes: &[u8]) -> MemVfs {
    let copy = vfs.process_crash_clone();
    copy.write_file(path, bytes);
    copy
}

fn open(vfs: &MemVfs) -> nokv::Result<Db> {
    Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), options())
}

#[test]
fn last_wal_record_with_its_first_page_zeroed_opens_at_every_offset() {
    let (vfs, bounds) = wal_workdir(4);
    let wal = wal_path(&vfs);
    let full = vfs.read_file(&wal).unwrap();
    let (start, end) = (bounds[3] as usize, bounds[4] as usize);
    assert_eq!(end, full.len());
    // The writeback of the last record's first page was lost (zeros from the record's start
    // to a page boundary at `split`), its later page written.
    for split in start + 1..=end {
        let mut bytes = full.clone();
        bytes[start..split].fill(0);
        let survivor = with_file(&vfs, &wal, &bytes);
        let db = open(&survivor).unwrap_or_else(|e| panic!("split at {split}: {e}"));
        for i in 0..3 {
            assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "split at {split}");
        }
        assert_eq!(db.get(&key(3)).unwrap(), None, "split at {split}");
        let torn = db.torn_tails().to_vec();
        assert_eq!(torn.len(), 1, "split at {split}: {torn:?}");
        assert_eq!(torn[0].log, TornLog::Wal);
        assert_eq!(torn[0].offset, start as u64);
        assert_eq!(torn[0].bytes_dropped, (end - start) as u64);
        assert!(torn[0].file.ends_with(".wal"), "{}", torn[0].file);
        let warning = torn[0].to_string();
        assert!(
            warning.contains(&format!("{} bytes", end - start)) && warning.contains("truncated"),
            "{warning}"
        );
        assert_eq!(db.stats().wal.torn_tails_truncated, 1);
        // Appends continue after the truncated tail, and reopen cleanly.
        db.put(b"after", b"crash").unwrap();
        db.close().unwrap();
        let db = open(&survivor).unwrap();
        assert!(db.torn_tails().is_empty());
        assert_eq!(db.get(b"after").unwrap(), Some(b"crash".to_vec()));
        assert_eq!(db.get(&key(2)).unwrap(), Some(value(2)));
        assert_eq!(db.stats().wal.torn_tails_truncated, 1, "counted once");
        db.close().unwrap();
    }
}

#[test]
fn a_bad_wal_record_with_a_valid_record_after_it_refuses_the_open_at_every_offset() {
    let (vfs, bounds) = wal_workdir(4);
    let wal = wal_path(&vfs);
    let full = vfs.read_file(&wal).unwrap();
    let (start, end) = (bounds[2] as usize, bounds[3] as usize);
    // Part of the record zeroed, the rest of it still there, and no sector boundary in the
    // zeros: not what lost writeback leaves (that test follows).
    assert!(
        end < nokv::wal::WRITEBACK_SECTOR,
        "the record lies in the first sector"
    );
    for split in start + 1..end {
        let mut bytes = full.clone();
        bytes[start..split].fill(0);
        let survivor = with_file(&vfs, &wal, &bytes);
        let err = open(&survivor)
            .map(|_| ())
            .expect_err(&format!("split at {split} opened"));
        assert!(err.is_corruption(), "split at {split}: {err}");
        assert!(err.to_string().contains(&start.to_string()), "{err}");
        assert_eq!(
            survivor.read_file(&wal).unwrap(),
            bytes,
            "open changed the WAL"
        );
    }
}

#[test]
fn a_whole_unsynced_append_lost_with_a_later_one_written_opens_before_it() {
    // LazyFS's torn-seq over records appended one by one: the later append reached the disk,
    // the earlier one did not (zeros exactly where it was). Neither was synced, so open cuts
    // at the lost one.
    let (vfs, bounds) = wal_workdir(4);
    let wal = wal_path(&vfs);
    let mut bytes = vfs.read_file(&wal).unwrap();
    let (start, end) = (bounds[2] as usize, bounds[3] as usize);
    bytes[start..end].fill(0);
    let survivor = with_file(&vfs, &wal, &bytes);
    let db = open(&survivor).unwrap();
    assert_eq!(db.get(&key(1)).unwrap(), Some(value(1)));
    assert_eq!(db.get(&key(2)).unwrap(), None);
    assert_eq!(
        db.get(&key(3)).unwrap(),
        None,
        "cut at the hole, not after it"
    );
    let torn = db.torn_tails().to_vec();
    assert_eq!(torn.len(), 1, "{torn:?}");
    assert_eq!(torn[0].offset, start as u64);
    assert!(torn[0].to_string().contains("writeback"), "{}", torn[0]);
    db.close().unwrap();
}

#[test]
fn unsynced_records_with_one_page_lost_by_writeback_open_at_the_last_synced_write() {
    // Ten synced records, then forty unsynced ones (no `sync_writes`) in the page cache. The
    // power loss writes back every unsynced page but one, which is lost or zeroed: a hole
    // with valid records after it. Nothing after the hole was synced, so open cuts the tail
    // at the first record the hole damaged; it must not refuse.
    let vfs = MemVfs::new();
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), options()).unwrap();
    for i in 0..10 {
        db.put(&key(i), &value(i)).unwrap();
    }
    db.close().unwrap();
    let db = Db::open_with_vfs(
        Arc::new(vfs.clone()),
        &dir(),
        Options {
            sync_writes: false,
            ..options()
        },
    )
    .unwrap();
    for i in 10..50 {
        db.put(&key(i), &value(i)).unwrap();
    }
    let wal = wal_path(&vfs);
    let mut cases = 0;
    // Cases with valid records after the hole (the others damage only the last record).
    let mut holes = 0;
    for page_size in [nokv::wal::WRITEBACK_SECTOR, 4096] {
        let (_, pages) = vfs
            .unsynced_pages(page_size)
            .into_iter()
            .find(|(path, _)| *path == wal)
            .unwrap();
        assert!(pages >= 2, "{pages} unsynced pages of {page_size} bytes");
        for hole in 0..pages - 1 {
            for fate in [PageWriteback::Lost, PageWriteback::Zeroed] {
                cases += 1;
                let case = format!("page {hole} of {pages} ({page_size} bytes) {fate:?}");
                let survivor = vfs.torn_crash_clone(page_size, |path, page| {
                    if path == wal && page == hole {
                        fate
                    } else {
                        PageWriteback::Written
                    }
                });
                let report = verify(&survivor, &dir(), &VerifyOptions::default()).unwrap();
                assert!(
                    report.ok,
                    "{case}: verify found damage: {:?}",
                    report.problems
                );
                let db = open(&survivor).unwrap_or_else(|e| panic!("{case}: {e}"));
                let present: Vec<bool> = (0..50)
                    .map(|i| db.get(&key(i)).unwrap() == Some(value(i)))
                    .collect();
                assert!(
                    present[..10].iter().all(|&p| p),
                    "{case}: a synced write lost"
                );
                let kept = present.iter().take_while(|&&p| p).count();
                assert!(
                    present[kept..].iter().all(|&p| !p),
                    "{case}: not a prefix: {present:?}"
                );
                assert!(kept < 50, "{case}: the lost page lost nothing");
                let torn = db.torn_tails().to_vec();
                assert_eq!(torn.len(), 1, "{case}: {torn:?}");
                if torn[0]
                    .to_string()
                    .contains("lost or reordered by writeback")
                {
                    holes += 1;
                }
                db.close().unwrap();
            }
        }
    }
    assert!(
        holes * 2 > cases,
        "{holes} holes with records after them in {cases} cases"
    );
    drop(db);
}

/// A workdir crashed right after its last manifest edit (a flush) was appended: the WAL
/// still holds every record, the manifest's last record is the flush edit. Returns the
/// survivor and where that record starts and ends.
fn manifest_workdir() -> (MemVfs, PathBuf, usize, usize) {
    let vfs = MemVfs::new();
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), options()).unwrap();
    for i in 0..5 {
        db.put(&key(i), &value(i)).unwrap();
    }
    let before_flush = vfs.process_crash_clone();
    let manifest = manifest_path(&vfs);
    let start = vfs.read_file(&manifest).unwrap().len();
    db.flush().unwrap();
    assert_eq!(manifest_path(&vfs), manifest, "no manifest rewrite");
    let after = vfs.read_file(&manifest).unwrap();
    db.close().unwrap();
    let survivor = with_file(&before_flush, &manifest, &after);
    (survivor, manifest, start, after.len())
}

#[test]
fn last_manifest_edit_with_its_header_zeroed_opens_at_every_offset() {
    let (vfs, manifest, start, end) = manifest_workdir();
    let full = vfs.read_file(&manifest).unwrap();
    // The edit's first bytes (its header, at split = start + 8) lost, the rest written; and
    // every other split of the record.
    for split in start + 1..=end {
        let mut bytes = full.clone();
        bytes[start..split].fill(0);
        let survivor = with_file(&vfs, &manifest, &bytes);
        let db = open(&survivor).unwrap_or_else(|e| panic!("split at {split}: {e}"));
        for i in 0..5 {
            assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "split at {split}");
        }
        assert!(
            db.version().all_tables().next().is_none(),
            "the edit was ignored"
        );
        let torn = db.torn_tails().to_vec();
        assert_eq!(torn.len(), 1, "split at {split}: {torn:?}");
        assert_eq!(torn[0].log, TornLog::Manifest);
        assert_eq!(torn[0].offset, start as u64);
        assert_eq!(torn[0].bytes_dropped, (end - start) as u64);
        assert!(torn[0].to_string().contains("ignored"), "{}", torn[0]);
        assert_eq!(db.stats().manifest.torn_tails_ignored, 1);
        // The next edit follows the last good record.
        db.flush().unwrap();
        db.close().unwrap();
        let db = open(&survivor).unwrap();
        assert!(db.torn_tails().is_empty());
        assert_eq!(db.version().all_tables().count(), 1);
        assert_eq!(db.get(&key(4)).unwrap(), Some(value(4)));
        db.close().unwrap();
    }
}

#[test]
fn a_zeroed_manifest_edit_with_a_valid_edit_after_it_refuses_the_open() {
    let (vfs, manifest, start, end) = manifest_workdir();
    let mut full = vfs.read_file(&manifest).unwrap();
    // Append a copy of the last edit's record after it: a valid record follows.
    let copy = full[start..end].to_vec();
    full.extend_from_slice(&copy);
    for split in [start + 1, start + 4, start + 8, end] {
        let mut bytes = full.clone();
        bytes[start..split].fill(0);
        let survivor = with_file(&vfs, &manifest, &bytes);
        let err = open(&survivor)
            .map(|_| ())
            .expect_err(&format!("split at {split} opened"));
        assert!(err.is_corruption(), "split at {split}: {err}");
    }
}

#[test]
fn the_cli_names_a_dropped_torn_tail_on_stderr() {
    let work = tempfile::tempdir().unwrap();
    let nokv = || {
        let mut cmd = assert_cmd::Command::cargo_bin("nokv").unwrap();
        cmd.arg("--workdir").arg(work.path());
        cmd
    };
    nokv().args(["put", "a", "1"]).assert().success();
    let wal_dir = work.path().join("wal");
    let segment = std::fs::read_dir(&wal_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wal"))
        .unwrap();
    let before = std::fs::metadata(&segment).unwrap().len() as usize;
    nokv().args(["put", "b", "2"]).assert().success();
    let mut bytes = std::fs::read(&segment).unwrap();
    let dropped = bytes.len() - before;
    bytes[before..before + 8].fill(0);
    std::fs::write(&segment, &bytes).unwrap();
    // A read-write open drops the tail and says so (`get` is a read-only open: it stops at
    // the last complete record, as beside a live writer, and changes nothing).
    let out = nokv().args(["flush"]).assert().success();
    let out = out.get_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: torn tail in wal/")
            && stderr.contains(&format!("offset {before}"))
            && stderr.contains(&format!("{dropped} bytes")),
        "{stderr}"
    );
    nokv().args(["get", "a"]).assert().success().stdout("1\n");
    nokv().args(["get", "b"]).assert().code(4);
}

#[test]
fn the_cli_opens_a_workdir_whose_unsynced_appends_writeback_reordered() {
    // Three `nokv put`s, then the middle record's bytes zeroed with the last one intact: what
    // LazyFS's torn-seq left of appends that were never fsynced. verify calls it a leftover,
    // a read-write open cuts it with a warning naming lost writeback, and the first put stays.
    let work = tempfile::tempdir().unwrap();
    let nokv = || {
        let mut cmd = assert_cmd::Command::cargo_bin("nokv").unwrap();
        cmd.arg("--workdir").arg(work.path());
        cmd
    };
    nokv().args(["put", "a", "1"]).assert().success();
    let segment = std::fs::read_dir(work.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wal"))
        .unwrap();
    let first_end = std::fs::metadata(&segment).unwrap().len() as usize;
    nokv().args(["put", "b", "2"]).assert().success();
    let second_end = std::fs::metadata(&segment).unwrap().len() as usize;
    nokv().args(["put", "c", "3"]).assert().success();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[first_end..second_end].fill(0);
    std::fs::write(&segment, &bytes).unwrap();

    let verified = nokv().arg("verify").assert().success();
    let stdout = String::from_utf8_lossy(&verified.get_output().stdout).into_owned();
    assert!(stdout.contains("leftover torn_tail"), "{stdout}");
    let flushed = nokv().arg("flush").assert().success();
    let stderr = String::from_utf8_lossy(&flushed.get_output().stderr).into_owned();
    assert!(
        stderr.contains("torn tail in wal/")
            && stderr.contains(&format!("offset {first_end}"))
            && stderr.contains("writeback"),
        "{stderr}"
    );
    nokv().args(["get", "a"]).assert().success().stdout("1\n");
    nokv().args(["get", "b"]).assert().code(4);
    nokv().args(["get", "c"]).assert().code(4);
    nokv().arg("verify").assert().success();
}
