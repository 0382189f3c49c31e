//! Engine behaviour through the public API: the flush path, its metrics, recovery, install
//! modes and failures. Crash loops live in `crash.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpKind, OpSelector, RealFs, Vfs};
use nokv::{Db, Durability, Error, Options};

fn small_options() -> Options {
    Options {
        memtable_size: 16 << 10,
        block_size: 1024,
        stats_interval: None,
        ..Options::default()
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: usize, round: usize) -> Vec<u8> {
    format!("value-{i}-{round}-{}", "x".repeat(i % 50)).into_bytes()
}

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

fn open_mem(vfs: &MemVfs, opts: Options) -> nokv::Result<Db> {
    Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), opts)
}

fn files_with_bytes(vfs: &MemVfs) -> Vec<(PathBuf, Vec<u8>)> {
    vfs.file_names()
        .into_iter()
        .filter(|p| !p.ends_with("LOCK"))
        .map(|p| {
            let bytes = vfs.read_file(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

fn table_paths(vfs: &MemVfs) -> Vec<PathBuf> {
    vfs.file_names()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect()
}

#[test]
fn flushes_count_each_stage_once_and_data_survives_reopen() {
    let vfs = MemVfs::new();
    let db = open_mem(&vfs, small_options()).unwrap();
    for round in 0..3 {
        for i in 0..200 {
            db.put(&key(i), &value(i, round)).unwrap();
        }
        let summary = db.flush().unwrap();
        assert_eq!(summary.tables.len(), 1, "round {round}");
        assert_eq!(summary.tables[0].entries, 200);
    }
    let stats = db.stats();
    let flush = &stats.flush;
    assert_eq!(flush.completed, 3);
    assert_eq!(flush.failed, 0);
    assert_eq!((flush.pending, flush.queue, flush.active), (0, 0, 0));
    assert_eq!(flush.wait.count, 3);
    assert_eq!(flush.build.count, 3);
    assert_eq!(flush.release.count, 3);
    assert!(flush.build.max_ms >= flush.build.last_ms);
    assert!(flush.build.total_ms >= flush.build.max_ms);
    assert_eq!(flush.entries_written, 600);
    assert!(flush.bytes_written > 0);
    assert_eq!(stats.lsm.levels[0].tables, 3);
    assert_eq!(stats.wal.segments, 1, "flushed segments are reclaimed");
    assert!(stats.wal.segments_removed >= 3);
    db.close().unwrap();

    let db = open_mem(&vfs, small_options()).unwrap();
    for i in 0..200 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 2)));
    }
    assert_eq!(db.stats().flush.completed, 3, "counters are cumulative");
    db.close().unwrap();
}

#[test]
fn wal_replay_restores_writes_after_a_crash_before_flush() {
    let vfs = MemVfs::new();
    let db = open_mem(&vfs, small_options()).unwrap();
    for i in 0..1000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.delete(&key(7)).unwrap();
    // kill -9: no close, every byte that reached the kernel survives.
    let crashed = vfs.process_crash_clone();
    std::mem::forget(db);
    let db = open_mem(&crashed, small_options()).unwrap();
    for i in 0..1000 {
        let expected = if i == 7 { None } else { Some(value(i, 0)) };
        assert_eq!(db.get(&key(i)).unwrap(), expected, "key {i}");
    }
    db.close().unwrap();
}

fn workdir_with_tables(vfs: &MemVfs) {
    let db = open_mem(vfs, small_options()).unwrap();
    for i in 0..300 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
}

#[test]
fn startup_fails_on_a_missing_table_naming_it_and_changes_nothing() {
    let vfs = MemVfs::new();
    workdir_with_tables(&vfs);
    let table = table_paths(&vfs).remove(0);
    vfs.remove_file(&table).unwrap();
    let before = files_with_bytes(&vfs);
    let err = open_mem(&vfs, small_options()).unwrap_err();
    assert!(matches!(err, Error::MissingFile { .. }), "{err}");
    let name = table.file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(files_with_bytes(&vfs), before);
}

#[test]
fn startup_fails_on_a_corrupt_table_naming_it_and_changes_nothing() {
    let vfs = MemVfs::new();
    workdir_with_tables(&vfs);
    let table = table_paths(&vfs).remove(0);
    let mut bytes = vfs.read_file(&table).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    vfs.write_file(&table, &bytes);
    let before = files_with_bytes(&vfs);
    let err = open_mem(&vfs, small_options()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let name = table.file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(files_with_bytes(&vfs), before);
}

#[test]
fn strict_flush_orders_its_operations() {
    let mem = MemVfs::new();
    let fault = Arc::new(FaultVfs::new(Arc::new(mem)));
    let db = Db::open_with_vfs(fault.clone(), &dir(), small_options()).unwrap();
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    fault.clear_ops();
    db.flush().unwrap();
    // The flush proper starts at the temp file's creation.
    let ops: Vec<(OpKind, String)> = fault
        .ops()
        .into_iter()
        .filter(|op| op.kind.is_mutating())
        .map(|op| (op.kind, op.path.to_string_lossy().into_owned()))
        .skip_while(|(kind, path)| !(*kind == OpKind::Create && path.contains(".sst.tmp.")))
        .collect();
    let mut steps: Vec<&str> = Vec::new();
    for (kind, path) in &ops {
        let step = match kind {
            OpKind::Write if path.contains(".sst.tmp.") => "write temp",
            OpKind::Sync if path.contains(".sst.tmp.") => "fsync temp",
            OpKind::RenameNoReplace => "rename-no-replace",
            OpKind::SyncDir if path == "/db" => "fsync workdir",
            OpKind::Write if path.contains("MANIFEST") => "manifest append",
            OpKind::Sync if path.contains("MANIFEST") => "fsync manifest",
            OpKind::Remove if path.ends_with(".wal") => "WAL delete",
            _ => continue,
        };
        if steps.last() != Some(&step) {
            steps.push(step);
        }
    }
    assert_eq!(
        steps,
        [
            "write temp",
            "fsync temp",
            "rename-no-replace",
            "fsync workdir",
            "manifest append",
            "fsync manifest",
            "WAL delete"
        ],
        "{ops:?}"
    );
    db.close().unwrap();
}

#[test]
fn fast_flush_refuses_to_overwrite_an_existing_table() {
    let vfs = MemVfs::new();
    let opts = Options {
        durability: Durability::Fast,
        ..small_options()
    };
    let db = open_mem(&vfs, opts.clone()).unwrap();
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    // The flush takes a WAL number for the rotation, then the next one for its table.
    let next = db.stats().manifest.next_file_number;
    let squatter = dir().join(format!("{:06}.sst", next + 1));
    vfs.write_file(&squatter, b"not ours");
    let err = db.flush().unwrap_err();
    assert!(matches!(err, Error::Background { .. }), "{err}");
    assert_eq!(vfs.read_file(&squatter).unwrap(), b"not ours");
    assert!(db.put(b"after", b"failure").is_err());
    assert_eq!(db.stats().flush.failed, 1);
    assert!(db.stats().flush.last_error.unwrap().contains("create"));
    drop(db);
    vfs.remove_file(&squatter).unwrap();
    let db = open_mem(&vfs, opts).unwrap();
    for i in 0..100 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    db.close().unwrap();
}

#[test]
fn unsupported_rename_no_replace_is_a_distinct_error_and_loses_nothing() {
    let mem = MemVfs::new();
    let fault = Arc::new(FaultVfs::new(Arc::new(mem.clone())));
    fault.add_rule(FaultRule::new(
        OpSelector::Kind(OpKind::RenameNoReplace),
        0,
        FaultAction::FailAlways(22),
    ));
    let db = Db::open_with_vfs(fault.clone(), &dir(), small_options()).unwrap();
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let err = db.flush().unwrap_err();
    let cause = db.background_error().unwrap();
    assert!(
        cause.contains("without replace is not supported"),
        "{cause}"
    );
    assert!(err.to_string().contains("without replace"), "{err}");
    assert!(db.put(b"k", b"v").is_err());
    drop(db);
    assert!(
        !mem.file_names()
            .iter()
            .any(|p| p.to_string_lossy().contains(".tmp.")),
        "the temporary is removed"
    );
    let db = open_mem(&mem, small_options()).unwrap();
    for i in 0..100 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    db.close().unwrap();
}

#[test]
fn real_filesystem_flush_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), small_options()).unwrap();
    for i in 0..2000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    let db = Db::open(tmp.path(), small_options()).unwrap();
    for i in (0..2000).step_by(37) {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    assert!(
        db.stats().flush.completed > 1,
        "rotations made several flushes"
    );
    db.close().unwrap();
}

#[test]
fn fsync_failure_during_flush_poisons_writes_and_reopen_recovers() {
    let mem = MemVfs::new();
    let fault = Arc::new(FaultVfs::new(Arc::new(mem.clone())));
    fault.add_rule(
        FaultRule::new(OpSelector::Kind(OpKind::Sync), 0, FaultAction::FailOnce(5))
            .on_path(".sst.tmp."),
    );
    let opts = Options {
        sync_writes: true,
        ..small_options()
    };
    let db = Db::open_with_vfs(fault.clone(), &dir(), opts.clone()).unwrap();
    for i in 0..150 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    assert!(db.flush().is_err());
    let err = db.put(b"late", b"write").unwrap_err();
    assert!(matches!(err, Error::Background { .. }), "{err}");
    assert!(err.to_string().contains("fsync"), "{err}");
    let stats = db.stats();
    assert_eq!(stats.flush.failed, 1);
    assert_eq!(stats.lsm.tables, 0);
    drop(db);
    // Power loss on top: every acknowledged (synced) write must still come back.
    let db = open_mem(&mem.crash_clone(), opts).unwrap();
    for i in 0..150 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)), "key {i}");
    }
    assert_eq!(db.get(b"late").unwrap(), None);
    db.close().unwrap();
}

fn wal_segments(vfs: &MemVfs) -> Vec<PathBuf> {
    vfs.file_names()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect()
}

#[test]
fn torn_wal_tail_at_every_offset_keeps_every_whole_record() {
    let vfs = MemVfs::new();
    let db = open_mem(&vfs, small_options()).unwrap();
    for i in 0..5 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let segment = wal_segments(&vfs).remove(0);
    let before_last = vfs.read_file(&segment).unwrap().len();
    db.put(&key(5), &value(5, 0)).unwrap();
    db.close().unwrap();
    let full = vfs.read_file(&segment).unwrap();
    for cut in before_last..full.len() {
        let copy = vfs.process_crash_clone();
        copy.write_file(&segment, &full[..cut]);
        let db = open_mem(&copy, small_options()).unwrap();
        for i in 0..5 {
            assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)), "cut {cut}");
        }
        assert_eq!(db.get(&key(5)).unwrap(), None, "cut {cut}");
        let torn = db.stats().wal.torn_tails_truncated;
        assert!(torn >= 1 || cut == before_last, "cut {cut}");
        db.put(b"after", b"reopen").unwrap();
        db.close().unwrap();
        let db = open_mem(&copy, small_options()).unwrap();
        assert_eq!(db.get(b"after").unwrap(), Some(b"reopen".to_vec()));
        db.close().unwrap();
    }
}

#[test]
fn torn_manifest_tail_is_ignored() {
    let vfs = MemVfs::new();
    workdir_with_tables(&vfs);
    let manifest = vfs
        .file_names()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("MANIFEST-"))
        .unwrap();
    let mut bytes = vfs.read_file(&manifest).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
    vfs.write_file(&manifest, &bytes);
    let db = open_mem(&vfs, small_options()).unwrap();
    for i in 0..300 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    db.put(&key(1), b"new").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let db = open_mem(&vfs, small_options()).unwrap();
    assert_eq!(db.get(&key(1)).unwrap(), Some(b"new".to_vec()));
    db.close().unwrap();
}

#[test]
fn crash_between_table_install_and_manifest_append_then_flush_again() {
    let mem = MemVfs::new();
    let fault = Arc::new(FaultVfs::new(Arc::new(mem.clone())));
    let db = Db::open_with_vfs(fault.clone(), &dir(), small_options()).unwrap();
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    fault.add_rule(
        FaultRule::new(OpSelector::Kind(OpKind::Write), 0, FaultAction::Crash).on_path("MANIFEST"),
    );
    assert!(db.flush().is_err());
    let crashed = mem.crash_clone();
    std::mem::forget(db);
    assert_eq!(
        table_paths(&crashed).len(),
        1,
        "the installed table is left over: {:?} {:?}",
        fault
            .ops()
            .iter()
            .filter(|o| o.kind.is_mutating())
            .collect::<Vec<_>>(),
        crashed.file_names()
    );
    let leftover = table_paths(&crashed).remove(0);

    let db = open_mem(&crashed, small_options()).unwrap();
    assert!(crashed.read_file(&leftover).is_none(), "orphan removed");
    for i in 0..100 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    // Recovery queued the replayed memtable; this flush (or the worker) installs it.
    db.flush().unwrap();
    let version = db.version();
    assert_eq!(version.levels[0].len(), 1);
    let installed = dir().join(format!("{}.sst", version.levels[0][0].number));
    assert_ne!(installed, leftover, "file numbers are never reused");
    assert!(crashed.read_file(&installed).is_some());
    db.close().unwrap();
}

#[test]
fn a_thousand_one_shot_puts_leave_one_segment_and_no_table() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        stats_interval: None,
        ..Options::default()
    };
    for i in 0..1000 {
        let db = Db::open(tmp.path(), opts.clone()).unwrap();
        db.put(&key(i), &value(i, 0)).unwrap();
        db.close().unwrap();
    }
    let fs = RealFs::new();
    let wal: Vec<String> = fs.list_dir(&tmp.path().join("wal")).unwrap();
    assert_eq!(wal.len(), 1, "{wal:?}");
    let tables = fs
        .list_dir(tmp.path())
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".sst"))
        .count();
    assert_eq!(tables, 0);
    let db = Db::open(tmp.path(), opts).unwrap();
    assert_eq!(db.get(&key(999)).unwrap(), Some(value(999, 0)));
    assert_eq!(db.get(&key(0)).unwrap(), Some(value(0, 0)));
    db.close().unwrap();
}

#[test]
fn writers_stall_when_immutables_are_at_the_maximum() {
    let vfs = MemVfs::new();
    let opts = Options {
        max_immutables: 1,
        background_flush: false,
        ..small_options()
    };
    let db = open_mem(&vfs, opts).unwrap();
    for i in 0..2000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let stats = db.stats();
    assert!(stats.flush.stall_count >= 1, "{:?}", stats.flush);
    assert!(stats.memtable.immutables <= 1);
    assert!(stats.flush.completed >= 1);
    for i in (0..2000).step_by(13) {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    db.close().unwrap();
}

#[test]
fn a_directory_with_files_but_no_current_is_refused() {
    let vfs = MemVfs::new();
    workdir_with_tables(&vfs);
    vfs.remove_file(&dir().join("CURRENT")).unwrap();
    let err = open_mem(&vfs, small_options()).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
    let err = Db::open(tmp.path(), small_options()).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
    assert!(!tmp.path().join("CURRENT").exists());
}

#[test]
fn a_second_open_is_refused_with_the_lock_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), small_options()).unwrap();
    let err = Db::open(tmp.path(), small_options()).unwrap_err();
    match &err {
        Error::Locked { path, .. } => assert_eq!(path, tmp.path()),
        other => panic!("expected Locked, got {other}"),
    }
    db.close().unwrap();
    Db::open(tmp.path(), small_options())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn stats_are_published_at_close() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), small_options()).unwrap();
    db.put(b"a", b"1").unwrap();
    db.close().unwrap();
    let published = nokv::stats::read_published(&RealFs::new(), tmp.path()).unwrap();
    assert!(!published.session.live);
    assert_eq!(published.manifest.last_sequence, 0, "nothing flushed yet");
    assert!(published.wal.bytes > 0);
    let _: &Path = tmp.path();
}

#[test]
fn a_read_only_open_beside_a_live_writer_sees_its_writes_and_changes_nothing() {
    let vfs = MemVfs::new();
    let db = open_mem(&vfs, small_options()).unwrap();
    for i in 0..300u32 {
        db.put(format!("k{i:04}").as_bytes(), b"flushed").unwrap();
    }
    db.flush().unwrap();
    db.put(b"k0001", b"in the wal").unwrap();
    db.delete(b"k0002").unwrap();
    // The writer still holds LOCK and its WAL segment is open for appends.
    let before = files_with_bytes(&vfs);
    let reader =
        nokv::ReadOnlyDb::open_with_vfs(Arc::new(vfs.clone()), &dir(), small_options()).unwrap();
    assert_eq!(reader.get(b"k0000").unwrap(), Some(b"flushed".to_vec()));
    assert_eq!(reader.get(b"k0001").unwrap(), Some(b"in the wal".to_vec()));
    assert_eq!(reader.get(b"k0002").unwrap(), None);
    assert_eq!(reader.scan(&Default::default()).unwrap().count(), 299);
    assert_eq!(reader.attempts(), 1);
    assert_eq!(files_with_bytes(&vfs), before, "the reader changed a file");
    // Later writes are not seen: the reader holds what it read at open.
    db.put(b"k0003", b"later").unwrap();
    assert_eq!(reader.get(b"k0003").unwrap(), Some(b"flushed".to_vec()));
    db.close().unwrap();
}

#[test]
fn scans_stream_in_both_directions_with_bounds_and_prefixes() {
    let vfs = MemVfs::new();
    let db = open_mem(&vfs, small_options()).unwrap();
    let mut all: Vec<Vec<u8>> = Vec::new();
    for p in [&b"a"[..], b"ab", b"b", b"\xff", b"\xff\xff"] {
        for i in 0..150u32 {
            let mut k = p.to_vec();
            k.extend_from_slice(format!("{i:04}").as_bytes());
            db.put(&k, &k).unwrap();
            all.push(k);
        }
        db.flush().unwrap();
    }
    // Newer versions in the memtable, some deletes in between.
    for k in all.iter().step_by(7) {
        db.put(k, b"new").unwrap();
    }
    for k in all.iter().step_by(11) {
        db.delete(k).unwrap();
    }
    all.sort();
    let expected_keys = |opts: &nokv::ScanOptions| -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = db
            .scan(&nokv::ScanOptions {
                reverse: false,
                limit: None,
                ..opts.clone()
            })
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        if opts.reverse {
            keys.reverse();
        }
        keys.truncate(opts.limit.unwrap_or(usize::MAX));
        keys
    };
    for prefix in [
        None,
        Some(b"a".to_vec()),
        Some(b"\xff".to_vec()),
        Some(b"ab0".to_vec()),
    ] {
        for (start, end) in [
            (None, None),
            (Some(b"ab0050".to_vec()), None),
            (None, Some(b"b0100".to_vec())),
            (Some(b"a0010".to_vec()), Some(b"\xff0003".to_vec())),
        ] {
            for limit in [None, Some(1), Some(37)] {
                let opts = nokv::ScanOptions {
                    start: start.clone(),
                    end: end.clone(),
                    prefix: prefix.clone(),
                    limit,
                    reverse: true,
                };
                let got: Vec<Vec<u8>> = db.scan(&opts).unwrap().map(|r| r.unwrap().0).collect();
                assert_eq!(got, expected_keys(&opts), "{opts:?}");
                // The forward scan agrees with a filter over every key.
                let forward: Vec<Vec<u8>> = db
                    .scan(&nokv::ScanOptions {
                        reverse: false,
                        ..opts.clone()
                    })
                    .unwrap()
                    .map(|r| r.unwrap().0)
                    .collect();
                let by_hand: Vec<Vec<u8>> = all
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| {
                        db.get(k).unwrap().is_some()
                            && start.as_ref().is_none_or(|s| *k >= s)
                            && end.as_ref().is_none_or(|e| *k < e)
                            && prefix.as_ref().is_none_or(|p| k.starts_with(p))
                    })
                    .map(|(_, k)| k.clone())
                    .take(limit.unwrap_or(usize::MAX))
                    .collect();
                assert_eq!(forward, by_hand, "{opts:?}");
            }
        }
    }
    db.close().unwrap();
}

#[test]
fn memtable_rotates_when_its_memory_would_exceed_memtable_size() {
    // 16-byte keys with 1-byte values cost about 20 bytes each in the WAL but 43 in the
    // memtable: rotating on the WAL's size alone would let the memtable grow to twice
    // `memtable_size`.
    let vfs = MemVfs::new();
    let opts = small_options();
    let limit = opts.memtable_size;
    let db = open_mem(&vfs, opts).unwrap();
    let mut rotated = false;
    for b in 0..40 {
        let mut batch = nokv::WriteBatch::new();
        for i in 0..100 {
            batch
                .put(format!("k{:015}", b * 100 + i).as_bytes(), b"v")
                .unwrap();
        }
        db.write(&mut batch).unwrap();
        let stats = db.stats();
        assert!(
            stats.memtable.active_bytes <= limit,
            "batch {b}: the active memtable holds {} bytes, over memtable_size {limit}",
            stats.memtable.active_bytes
        );
        rotated |= stats.memtable.immutables > 0 || stats.flush.completed > 0;
    }
    assert!(rotated, "4000 entries never rotated a 16 KiB memtable");
    drop(db);
    let db = open_mem(&vfs, small_options()).unwrap();
    for n in [0, 1999, 3999] {
        let key = format!("k{n:015}");
        assert_eq!(db.get(key.as_bytes()).unwrap().as_deref(), Some(&b"v"[..]));
    }
}

#[test]
fn compaction_cuts_outputs_of_small_entries_by_their_build_memory() {
    // 20,000 entries of a few bytes each are about 150 KiB of table, under one 1 MiB
    // target, but 160 KiB of bloom hashes while the output is built: the memory bound
    // (target / 8 = 128 KiB, 16,384 hashes) cuts the output in two.
    let vfs = MemVfs::new();
    let opts = Options {
        memtable_size: 256 << 10,
        target_file_size: 1 << 20,
        stats_interval: None,
        ..Options::default()
    };
    let db = open_mem(&vfs, opts.clone()).unwrap();
    for b in 0..20 {
        let mut batch = nokv::WriteBatch::new();
        for i in 0..1000u32 {
            batch.put(&(b * 1000 + i).to_be_bytes(), b"").unwrap();
        }
        db.write(&mut batch).unwrap();
    }
    db.compact().unwrap();
    let tables = table_paths(&vfs).len();
    assert_eq!(
        tables, 2,
        "one output per 16,384 entries expected, got {tables} tables"
    );
    for n in [0u32, 16_383, 16_384, 19_999] {
        assert_eq!(db.get(&n.to_be_bytes()).unwrap().as_deref(), Some(&b""[..]));
    }
}
