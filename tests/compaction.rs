//! Compaction under concurrency and under crashes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpSelector};
use nokv::{Db, Options, ScanOptions};

fn key(i: usize) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

fn value(i: usize, version: usize) -> Vec<u8> {
    format!("{i:05}:{version:06}:{}", "z".repeat(i % 40)).into_bytes()
}

fn version_of(value: &[u8]) -> usize {
    std::str::from_utf8(&value[6..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX)
}

#[test]
fn writers_readers_flush_and_compaction_agree_with_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        memtable_size: 32 << 10,
        block_size: 1024,
        l0_compaction_trigger: 2,
        l0_slowdown_trigger: 4,
        l0_stop_trigger: 8,
        level1_target_bytes: 64 << 10,
        level_size_multiplier: 4,
        target_file_size: 16 << 10,
        stats_interval: Some(std::time::Duration::from_millis(50)),
        ..Options::default()
    };
    let db = Arc::new(Db::open(tmp.path(), opts.clone()).unwrap());
    const WRITERS: usize = 3;
    const KEYS_PER_WRITER: usize = 400;
    const ROUNDS: usize = 6;
    let stop = Arc::new(AtomicBool::new(false));

    let mut handles = Vec::new();
    for w in 0..WRITERS {
        let db = Arc::clone(&db);
        handles.push(std::thread::spawn(move || {
            let mut model = BTreeMap::new();
            for round in 0..ROUNDS {
                for j in 0..KEYS_PER_WRITER {
                    let i = w * KEYS_PER_WRITER + j;
                    if round == ROUNDS - 1 && j % 10 == 0 {
                        db.delete(&key(i)).unwrap();
                        model.remove(&key(i));
                    } else {
                        db.put(&key(i), &value(i, round)).unwrap();
                        model.insert(key(i), value(i, round));
                    }
                }
                if w == 0 && round == 2 {
                    let start = key(10);
                    let end = key(20);
                    db.delete_range(&start, &end).unwrap();
                    for i in 10..20 {
                        model.remove(&key(i));
                    }
                }
            }
            model
        }));
    }
    // Readers: a key's version never goes backwards.
    let mut readers = Vec::new();
    for r in 0..2 {
        let db = Arc::clone(&db);
        let stop = Arc::clone(&stop);
        readers.push(std::thread::spawn(move || {
            let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let i = (reads as usize * 7919 + r * 13) % (WRITERS * KEYS_PER_WRITER);
                if let Some(v) = db.get(&key(i)).unwrap() {
                    assert_eq!(
                        &v[..5],
                        format!("{i:05}").as_bytes(),
                        "a value of another key"
                    );
                    let version = version_of(&v);
                    let last = seen.entry(i).or_insert(0);
                    assert!(
                        version >= *last,
                        "key {i} went back from {last} to {version}"
                    );
                    *last = version;
                }
                if reads.is_multiple_of(500) {
                    let n = db
                        .scan(&ScanOptions {
                            limit: Some(200),
                            ..ScanOptions::default()
                        })
                        .unwrap()
                        .inspect(|r| assert!(r.is_ok()))
                        .count();
                    assert!(n <= 200);
                }
                reads += 1;
            }
            reads
        }));
    }
    let flusher = {
        let db = Arc::clone(&db);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut flushes = 0;
            while !stop.load(Ordering::Relaxed) {
                db.flush().unwrap();
                flushes += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            flushes
        })
    };

    let mut model = BTreeMap::new();
    for handle in handles {
        model.extend(handle.join().unwrap());
    }
    db.compact().unwrap();
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert!(flusher.join().unwrap() > 0);

    let all: BTreeMap<Vec<u8>, Vec<u8>> = db
        .scan(&ScanOptions::default())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(all.len(), model.len());
    assert!(all == model, "final contents differ from the model");
    let stats = db.stats();
    assert!(stats.compaction.runs >= 1, "{:?}", stats.compaction);
    assert!(db.version().check_invariants().is_empty());
    let db = Arc::try_unwrap(db).unwrap();
    db.close().unwrap();

    let report = nokv::verify::verify(
        &nokv::vfs::RealFs::new(),
        tmp.path(),
        &nokv::verify::VerifyOptions::default(),
    )
    .unwrap();
    assert!(report.ok, "{:?}", report.problems);
    let db = Db::open(tmp.path(), opts).unwrap();
    for (k, v) in model.iter().step_by(17) {
        assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
    }
    db.close().unwrap();
}

fn compaction_options() -> Options {
    Options {
        memtable_size: 4096,
        block_size: 512,
        background_flush: false,
        auto_compaction: false,
        stats_interval: None,
        target_file_size: 2048,
        ..Options::default()
    }
}

/// Builds a workdir with several L0 tables holding overwrites, deletes and a range delete.
fn build(vfs: &MemVfs) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let db = Db::open_with_vfs(
        Arc::new(vfs.clone()),
        Path::new("/db"),
        compaction_options(),
    )
    .unwrap();
    let mut model = BTreeMap::new();
    for round in 0..4 {
        for i in 0..120 {
            db.put(&key(i), &value(i, round)).unwrap();
            model.insert(key(i), value(i, round));
        }
        db.flush().unwrap();
    }
    for i in (0..120).step_by(9) {
        db.delete(&key(i)).unwrap();
        model.remove(&key(i));
    }
    db.delete_range(&key(40), &key(60)).unwrap();
    for i in 40..60 {
        model.remove(&key(i));
    }
    db.flush().unwrap();
    db.close().unwrap();
    model
}

fn check(db: &Db, model: &BTreeMap<Vec<u8>, Vec<u8>>, k: u64) {
    let all: BTreeMap<Vec<u8>, Vec<u8>> = db
        .scan(&ScanOptions::default())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        &all == model,
        "crash at op {k}: {} keys, expected {}",
        all.len(),
        model.len()
    );
    for i in (0..120).step_by(7) {
        assert_eq!(
            db.get(&key(i)).unwrap(),
            model.get(&key(i)).cloned(),
            "crash at op {k}, key {i}"
        );
    }
}

#[test]
fn a_crash_at_every_operation_of_a_compaction_loses_and_resurrects_nothing() {
    let base = MemVfs::new();
    let model = build(&base);
    let dir = Path::new("/db");
    let mut k = 0u64;
    loop {
        let mem = base.process_crash_clone();
        let fault = Arc::new(FaultVfs::new(Arc::new(mem.clone())));
        let db = Db::open_with_vfs(fault.clone(), dir, compaction_options()).unwrap();
        fault.add_rule(FaultRule::new(OpSelector::Mutating, k, FaultAction::Crash));
        let result = db.compact();
        drop(db);
        if !fault.fired() {
            result.unwrap();
            assert!(k > 10, "only {k} crash points");
            break;
        }
        for survivor in [mem.crash_clone(), mem.process_crash_clone()] {
            // Before the reopen: what the crash left is leftovers (an unpublished output, an
            // input whose deletion was cut short), never damage.
            let report =
                nokv::verify::verify(&survivor, dir, &nokv::verify::VerifyOptions::default())
                    .unwrap();
            assert!(
                report.ok,
                "crash at op {k}, before reopen: {:?}",
                report.problems
            );
            let db = Db::open_with_vfs(Arc::new(survivor.clone()), dir, compaction_options())
                .unwrap_or_else(|e| panic!("crash at op {k}: reopen failed: {e}"));
            check(&db, &model, k);
            // And the interrupted compaction can be redone.
            db.compact().unwrap();
            check(&db, &model, k);
            db.close().unwrap();
            let report =
                nokv::verify::verify(&survivor, dir, &nokv::verify::VerifyOptions::default())
                    .unwrap();
            assert!(report.ok, "crash at op {k}: {:?}", report.problems);
        }
        k += 1;
    }
}

/// A compaction's inputs are deleted from disk as soon as no reader holds them, not at the
/// next commit or close (the commit's own view of the old tables once kept them alive).
#[test]
fn compacted_inputs_leave_the_disk_when_no_reader_holds_them() {
    let vfs = nokv::vfs::MemVfs::new();
    let dir = std::path::Path::new("/db");
    // Inline flushes and no background compaction: no other thread may hold a view of the
    // old tables when the compaction commits (a flush worker finishing its release briefly
    // does, and then the inputs go at the next commit or close, as they should).
    let opts = nokv::Options {
        stats_interval: None,
        auto_compaction: false,
        background_flush: false,
        ..nokv::Options::default()
    };
    let db = nokv::Db::open_with_vfs(std::sync::Arc::new(vfs.clone()), dir, opts).unwrap();
    for round in 0..3u32 {
        for i in 0..100u32 {
            db.put(
                format!("k{i:04}").as_bytes(),
                format!("v{round}").as_bytes(),
            )
            .unwrap();
        }
        db.flush().unwrap();
    }
    let tables = |vfs: &nokv::vfs::MemVfs| {
        vfs.file_names()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sst"))
            .count()
    };
    assert_eq!(tables(&vfs), 3);
    db.compact().unwrap();
    assert_eq!(tables(&vfs), 1, "inputs still on disk after the compaction");
    assert_eq!(db.get(b"k0042").unwrap(), Some(b"v2".to_vec()));
    db.close().unwrap();
}
