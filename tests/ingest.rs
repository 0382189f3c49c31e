//! Sorted ingestion: tables written straight from a sorted stream and installed through the
//! manifest in one edit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpSelector};
use nokv::{Db, Error, Options, ScanOptions};

fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: usize, tag: &str) -> Vec<u8> {
    format!("{tag}-{i}-{}", "v".repeat(i % 30)).into_bytes()
}

fn options() -> Options {
    Options {
        memtable_size: 8192,
        block_size: 512,
        target_file_size: 4096,
        // Uncompressed, so the table sizes (and cuts) below do not depend on the codec.
        compression: nokv::Compression::None,
        background_flush: false,
        stats_interval: None,
        ..Options::default()
    }
}

fn open(vfs: &MemVfs) -> Db {
    Db::open_with_vfs(Arc::new(vfs.clone()), Path::new("/db"), options()).unwrap()
}

fn contents(db: &Db) -> BTreeMap<Vec<u8>, Vec<u8>> {
    db.scan(&ScanOptions::default())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn ingest_into_an_empty_database_lands_at_the_bottom_in_several_tables() {
    let vfs = MemVfs::new();
    let db = open(&vfs);
    let mut ingest = db.ingest().unwrap();
    for i in 0..500 {
        ingest.add(&key(i), &value(i, "a")).unwrap();
    }
    let summary = ingest.finish().unwrap();
    assert_eq!(summary.records, 500);
    assert!(summary.tables.len() > 3, "{} tables", summary.tables.len());
    assert_eq!(
        summary.level, 6,
        "nothing overlaps anywhere: the deepest level"
    );
    assert!(db.version().check_invariants().is_empty());
    assert_eq!(db.stats().wal.bytes, 20, "nothing went through the WAL");
    for i in (0..500).step_by(7) {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, "a")));
    }
    db.close().unwrap();
    let db = open(&vfs);
    assert_eq!(contents(&db).len(), 500);
    db.close().unwrap();
    let report = nokv::verify::verify(
        &vfs,
        Path::new("/db"),
        &nokv::verify::VerifyOptions::default(),
    )
    .unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

#[test]
fn ingested_values_are_newer_than_everything_before_and_older_than_everything_after() {
    let vfs = MemVfs::new();
    let db = open(&vfs);
    for i in 0..300 {
        db.put(&key(i), &value(i, "old")).unwrap();
    }
    db.flush().unwrap();
    for i in 0..300 {
        if i % 3 == 0 {
            db.put(&key(i), &value(i, "memtable")).unwrap();
        }
    }
    db.delete(&key(1)).unwrap();
    let mut ingest = db.ingest().unwrap();
    for i in (0..300).filter(|i| i % 2 == 0) {
        ingest.add(&key(i), &value(i, "ingested")).unwrap();
    }
    let summary = ingest.finish().unwrap();
    assert_eq!(summary.level, 0, "overlaps L0");
    db.put(&key(10), &value(10, "after")).unwrap();
    db.delete_range(&key(20), &key(30)).unwrap();
    let check = |db: &Db| {
        for i in 0..300 {
            let expected = if (20..30).contains(&i) {
                None
            } else if i == 10 {
                Some(value(i, "after"))
            } else if i % 2 == 0 {
                Some(value(i, "ingested"))
            } else if i == 1 {
                None
            } else if i % 3 == 0 {
                Some(value(i, "memtable"))
            } else {
                Some(value(i, "old"))
            };
            assert_eq!(db.get(&key(i)).unwrap(), expected, "key {i}");
        }
    };
    check(&db);
    db.compact().unwrap();
    check(&db);
    db.close().unwrap();
    let db = open(&vfs);
    check(&db);
    db.close().unwrap();
}

#[test]
fn out_of_order_keys_are_refused_and_the_prefix_can_still_be_installed() {
    let vfs = MemVfs::new();
    let db = open(&vfs);
    let mut ingest = db.ingest().unwrap();
    ingest.add(b"b", b"1").unwrap();
    let err = ingest.add(b"a", b"2").unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(ingest.add(b"b", b"dup").is_err());
    assert_eq!(ingest.last_key(), Some(&b"b"[..]));
    ingest.finish().unwrap();
    assert_eq!(db.get(b"b").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(b"a").unwrap(), None);
    db.close().unwrap();
}

#[test]
fn an_abandoned_ingest_leaves_nothing_behind() {
    let vfs = MemVfs::new();
    let db = open(&vfs);
    db.put(b"keep", b"me").unwrap();
    {
        let mut ingest = db.ingest().unwrap();
        for i in 0..400 {
            ingest.add(&key(i), &value(i, "x")).unwrap();
        }
    }
    assert_eq!(db.get(&key(3)).unwrap(), None);
    db.close().unwrap();
    let tables: Vec<_> = vfs
        .file_names()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".sst"))
        .collect();
    assert_eq!(tables.len(), 1, "only the flushed memtable: {tables:?}");
    let db = open(&vfs);
    assert_eq!(db.get(b"keep").unwrap(), Some(b"me".to_vec()));
    db.close().unwrap();
}

#[test]
fn a_crash_at_every_operation_of_an_ingest_shows_all_or_nothing() {
    let dir = Path::new("/db");
    let base = MemVfs::new();
    {
        let db = open(&base);
        for i in 0..100 {
            db.put(&key(i * 3), &value(i, "base")).unwrap();
        }
        db.close().unwrap();
    }
    let mut k = 0;
    loop {
        let mem = base.process_crash_clone();
        let fault = Arc::new(FaultVfs::new(Arc::new(mem.clone())));
        let db = Db::open_with_vfs(fault.clone(), dir, options()).unwrap();
        fault.add_rule(FaultRule::new(OpSelector::Mutating, k, FaultAction::Crash));
        let result = db.ingest().and_then(|mut ingest| {
            for i in 0..200 {
                ingest.add(&key(i * 3 + 1), &value(i, "ing"))?;
            }
            ingest.finish()
        });
        drop(db);
        if !fault.fired() {
            result.unwrap();
            assert!(k > 10, "only {k} crash points");
            break;
        }
        let survivor = mem.crash_clone();
        let report =
            nokv::verify::verify(&survivor, dir, &nokv::verify::VerifyOptions::default()).unwrap();
        assert!(
            report.ok,
            "crash at op {k}, before reopen: {:?}",
            report.problems
        );
        let db = Db::open_with_vfs(Arc::new(survivor.clone()), dir, options())
            .unwrap_or_else(|e| panic!("crash at op {k}: reopen failed: {e}"));
        let all = contents(&db);
        let ingested = all
            .keys()
            .filter(|key| key.ends_with(b"1") || key.ends_with(b"4") || key.ends_with(b"7"))
            .count();
        let base_keys = (0..100)
            .filter(|i| all.get(&key(i * 3)) == Some(&value(*i, "base")))
            .count();
        assert_eq!(base_keys, 100, "crash at op {k}: base data lost");
        let ingest_keys = (0..200)
            .filter(|i| all.contains_key(&key(i * 3 + 1)))
            .count();
        assert!(
            ingest_keys == 0 || ingest_keys == 200,
            "crash at op {k}: {ingest_keys} of 200 ingested records visible ({ingested})"
        );
        db.close().unwrap();
        let report =
            nokv::verify::verify(&survivor, dir, &nokv::verify::VerifyOptions::default()).unwrap();
        assert!(report.ok, "crash at op {k}: {:?}", report.problems);
        k += 1;
    }
}
