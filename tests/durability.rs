//! Fast mode keeps the promise of SPEC 2.2: no fsync during the run, but the tables it wrote
//! and the workdir are fsynced when a flush completes and at close, so a power loss after a
//! clean close (a command that exited 0) loses nothing.

use std::path::PathBuf;
use std::sync::Arc;

use nokv::vfs::{FaultVfs, MemVfs, OpKind};
use nokv::{Db, Durability, Options};

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

fn fast() -> Options {
    Options {
        memtable_size: 16 << 10,
        block_size: 1024,
        stats_interval: None,
        durability: Durability::Fast,
        ..Options::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: u32) -> Vec<u8> {
    format!("value {i} {}", "v".repeat(60)).into_bytes()
}

fn assert_all(db: &Db, n: u32) {
    for i in 0..n {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "key {i}");
    }
    assert_eq!(db.scan(&Default::default()).unwrap().count(), n as usize);
}

#[test]
fn a_fast_mode_workdir_survives_power_loss_after_a_clean_close() {
    let mem = MemVfs::new();
    let fault = FaultVfs::new(Arc::new(mem.clone()));
    let db = Db::open_with_vfs(Arc::new(fault.clone()), &dir(), fast()).unwrap();
    let n = 3000;
    for i in 0..n {
        db.put(&key(i), &value(i)).unwrap();
    }
    // Many flushes and at least one compaction ran, none of them fsynced a table.
    let stats = db.stats();
    assert!(stats.flush.completed >= 8, "{}", stats.flush.completed);
    let table_syncs_during_the_run = fault
        .ops()
        .iter()
        .filter(|op| op.kind == OpKind::Sync && op.path.extension().is_some_and(|e| e == "sst"))
        .count();
    assert_eq!(
        table_syncs_during_the_run, 0,
        "fast mode fsynced a table mid-run"
    );
    db.close().unwrap();

    let after_power_loss = mem.crash_clone();
    let db = Db::open_with_vfs(Arc::new(after_power_loss), &dir(), fast()).unwrap();
    assert_all(&db, n);
    db.close().unwrap();
}

#[test]
fn a_fast_mode_flush_is_durable_when_it_returns() {
    let mem = MemVfs::new();
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), fast()).unwrap();
    let n = 1500;
    for i in 0..n {
        db.put(&key(i), &value(i)).unwrap();
    }
    db.flush().unwrap();
    // Power lost with the writer still open: what flush() installed is on disk.
    let after_power_loss = mem.crash_clone();
    drop(db);
    let db = Db::open_with_vfs(Arc::new(after_power_loss), &dir(), fast()).unwrap();
    assert_all(&db, n);
}

/// Puts keys `from..` one at a time until a memtable rotates, then waits until that flush is
/// installed. Returns the first key not written.
fn put_until_one_flush(db: &Db, from: u32) -> u32 {
    let before = db.stats().flush.completed;
    let mut i = from;
    loop {
        db.put(&key(i), &value(i)).unwrap();
        i += 1;
        let flush = db.stats().flush;
        if flush.pending > 0 || flush.completed > before {
            break;
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while db.stats().flush.completed == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the flush never completed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    i
}

// Found by scripts/lazyfs-power-loss.sh: a fast run's flush wrote the records an earlier
// session had made durable (its WAL, replayed at open) into an unsynced table, then deleted
// that WAL segment; a power loss then lost records of a command that had exited 0.
#[test]
fn a_fast_mode_flush_of_replayed_records_is_durable_before_their_wal_is_deleted() {
    let mem = MemVfs::new();
    let options = Options {
        auto_compaction: false,
        ..fast()
    };
    let acknowledged = 40;
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), options.clone()).unwrap();
    for i in 0..acknowledged {
        db.put(&key(i), &value(i)).unwrap();
    }
    db.close().unwrap(); // a command that exited 0: its records are in the synced WAL

    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), options.clone()).unwrap();
    put_until_one_flush(&db, acknowledged);
    // Power lost mid-run: the run's own writes may be lost, the earlier session's may not.
    assert_power_loss_keeps(&mem, db, options, acknowledged);
}

// Found by scripts/lazyfs-power-loss.sh: a fast run's compaction merged tables that were
// already durable (an earlier command's, or a returned Db::flush's) into unsynced outputs and
// deleted them; a power loss then lost those records for good (salvage recovered none).
#[test]
fn a_fast_mode_compaction_of_durable_tables_is_durable_before_they_are_deleted() {
    let mem = MemVfs::new();
    let options = Options {
        auto_compaction: false,
        ..fast()
    };
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), options.clone()).unwrap();
    let n = 1500;
    for i in 0..n {
        db.put(&key(i), &value(i)).unwrap();
    }
    db.flush().unwrap(); // durable when it returns
    let summary = db.compact().unwrap();
    assert!(summary.inputs >= 2, "{summary:?}");
    let after_power_loss = mem.crash_clone();
    drop(db);
    let db = Db::open_with_vfs(Arc::new(after_power_loss), &dir(), options)
        .expect("the workdir opens after the power loss");
    assert_all(&db, n);
}

// The compaction is the background one a fast run triggers: its inputs mix an earlier
// session's durable L0 tables with this run's unsynced ones, and any durable input is enough
// to need the outputs on disk first.
#[test]
fn a_fast_mode_compaction_mixing_durable_and_unsynced_inputs_is_durable_first() {
    let mem = MemVfs::new();
    let earlier = Options {
        auto_compaction: false,
        ..fast()
    };
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), earlier).unwrap();
    let acknowledged = 600;
    for i in 0..acknowledged {
        db.put(&key(i), &value(i)).unwrap();
    }
    db.flush().unwrap();
    let durable_l0 = db.version().levels[0].len();
    assert!(durable_l0 >= 2, "{durable_l0}");
    db.close().unwrap();

    let options = Options {
        l0_compaction_trigger: durable_l0 + 2,
        ..fast()
    };
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), options.clone()).unwrap();
    let runs = db.stats().compaction.runs;
    let next = put_until_one_flush(&db, acknowledged);
    put_until_one_flush(&db, next);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while db.stats().compaction.runs == runs {
        assert!(std::time::Instant::now() < deadline, "no compaction ran");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        db.version().levels[0].is_empty(),
        "every L0 table was an input"
    );
    assert_power_loss_keeps(&mem, db, options, acknowledged);
}

/// Loses power now (the run in `db` cut off), reopens, and checks that the first
/// `acknowledged` keys, which an earlier session made durable, are all there.
fn assert_power_loss_keeps(mem: &MemVfs, db: Db, options: Options, acknowledged: u32) {
    let after_power_loss = mem.crash_clone();
    drop(db);
    let db = Db::open_with_vfs(Arc::new(after_power_loss), &dir(), options)
        .expect("the workdir opens after the power loss");
    for i in 0..acknowledged {
        assert_eq!(
            db.get(&key(i)).unwrap(),
            Some(value(i)),
            "acknowledged key {i}"
        );
    }
}
