//! Crash at every k-th filesystem operation of a workload with several flushes, then reopen
//! what survives and check the promises: the open succeeds, every acknowledged write is there,
//! and no value that was never written appears. Power loss is modelled three ways: only
//! synced bytes survive, everything in the kernel survives (`kill -9`), or writeback reached
//! some of the unsynced pages, torn and reordered ([`MemVfs::torn_crash_clone`], LazyFS's
//! torn-seq and torn-op faults).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use nokv::verify::{verify, VerifyOptions};
use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpSelector, PageWriteback, Vfs};
use nokv::{Db, Durability, Options};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Survives {
    /// Power loss: only fsynced bytes and synced directory entries survive.
    PowerLoss,
    /// `kill -9`: everything that reached the kernel survives.
    ProcessCrash,
    /// Power loss after writeback reached some unsynced pages, torn and out of order: each
    /// crash point is reopened under several fates of those pages.
    TornWriteback,
}

/// Small pages, so that one WAL record or manifest edit spans several of them.
const PAGE: usize = 64;

/// A deterministic pseudo-random fate for page `page` of `path` in variant `variant`.
fn scrambled_fate(k: u64, variant: u64, path: &Path, page: usize) -> PageWriteback {
    let mut h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ variant.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    for b in path.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3);
    }
    h ^= (page as u64).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 29;
    match h.wrapping_mul(0x94D0_49BB_1331_11EB) >> 62 {
        0 => PageWriteback::Lost,
        1 => PageWriteback::Zeroed,
        _ => PageWriteback::Written,
    }
}

/// What may be on disk after a power loss at crash point `k` with torn writeback: every page
/// written, lost or zeroed; each file's first unsynced page lost and the later ones written
/// (the shape LazyFS showed refusing to open); and scrambled subsets.
fn torn_survivors(mem: &MemVfs, k: u64) -> Vec<MemVfs> {
    let mut survivors = vec![
        mem.torn_crash_clone(PAGE, |_, _| PageWriteback::Written),
        mem.torn_crash_clone(PAGE, |_, _| PageWriteback::Lost),
        mem.torn_crash_clone(PAGE, |_, _| PageWriteback::Zeroed),
        mem.torn_crash_clone(PAGE, |_, page| {
            if page == 0 {
                PageWriteback::Lost
            } else {
                PageWriteback::Written
            }
        }),
    ];
    for variant in 0..6 {
        survivors
            .push(mem.torn_crash_clone(PAGE, |path, page| scrambled_fate(k, variant, path, page)));
    }
    survivors
}

fn options(durability: Durability, sync_writes: bool) -> Options {
    Options {
        memtable_size: 4096,
        block_size: 512,
        durability,
        sync_writes,
        max_immutables: 2,
        background_flush: false,
        stats_interval: None,
        manifest_rewrite_threshold: 600,
        ..Options::default()
    }
}

/// What the workload knows about each key: the last acknowledged value (`None` = deleted or
/// never written) and the write in flight when the crash came, which may or may not survive.
#[derive(Default)]
struct Model {
    acked: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    in_flight: Option<(Vec<u8>, Option<Vec<u8>>)>,
}

const KEYS: usize = 40;
const OPS: usize = 160;

fn run_workload(db: &Db, model: &mut Model) -> bool {
    for op in 0..OPS {
        let key = format!("key{:03}", (op * 7) % KEYS).into_bytes();
        let value = if op % 9 == 8 {
            None
        } else {
            Some(format!("v{op}-{}", "p".repeat(op % 60)).into_bytes())
        };
        model.in_flight = Some((key.clone(), value.clone()));
        let result = match &value {
            Some(v) => db.put(&key, v),
            None => db.delete(&key),
        };
        if result.is_err() {
            return false;
        }
        model.in_flight = None;
        model.acked.insert(key, value);
        if op % 50 == 49 && db.flush().is_err() {
            return false;
        }
    }
    true
}

fn check(db: &Db, model: &Model, k: u64) {
    for i in 0..KEYS {
        let key = format!("key{i:03}").into_bytes();
        let got = db.get(&key).unwrap();
        let acked = model.acked.get(&key).cloned().flatten();
        let in_flight = model
            .in_flight
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone());
        let ok = got == acked || in_flight.as_ref().is_some_and(|v| *v == got);
        assert!(
            ok,
            "crash at op {k}: key {} is {:?}, acknowledged {:?}",
            String::from_utf8_lossy(&key),
            got.as_deref().map(String::from_utf8_lossy),
            acked.as_deref().map(String::from_utf8_lossy),
        );
    }
}

fn crash_at_every_op(opts: Options, survives: Survives) -> u64 {
    let dir = Path::new("/db");
    let mut k = 0u64;
    loop {
        let mem = MemVfs::new();
        let fault = Arc::new(FaultVfs::new(Arc::new(mem.clone())));
        fault.add_rule(FaultRule::new(
            OpSelector::Mutating,
            k,
            FaultAction::CrashTornWrite,
        ));
        let mut model = Model::default();
        let db = match Db::open_with_vfs(fault.clone(), dir, opts.clone()) {
            Ok(db) => Some(db),
            Err(_) => {
                assert!(fault.fired(), "open failed without a fault");
                None
            }
        };
        let completed = db.as_ref().is_some_and(|db| run_workload(db, &mut model));
        if let Some(db) = db {
            if completed {
                let _ = db.close();
            } else {
                drop(db);
            }
        }
        if !fault.fired() {
            assert!(completed, "the workload failed without a fault");
            return k;
        }
        let survivors = match survives {
            Survives::PowerLoss => vec![mem.crash_clone()],
            Survives::ProcessCrash => vec![mem.process_crash_clone()],
            Survives::TornWriteback => torn_survivors(&mem, k),
        };
        for (variant, survivor) in survivors.into_iter().enumerate() {
            // What a crash leaves is leftovers, never damage: verify agrees with the open.
            // (Before CURRENT first exists there is no database to verify yet.)
            if survivor.exists(&dir.join("CURRENT")).unwrap() {
                let report = verify(&survivor, dir, &VerifyOptions::default()).unwrap();
                assert!(
                    report.ok,
                    "crash at op {k} (variant {variant}): verify found damage: {:#?}",
                    report.problems
                );
            }
            let db = Db::open_with_vfs(Arc::new(survivor.clone()), dir, opts.clone())
                .unwrap_or_else(|err| {
                    panic!("crash at op {k} (variant {variant}): reopen failed: {err}")
                });
            check(&db, &model, k);
            db.close().unwrap();
            // Reopening twice gives the same answer.
            let db = Db::open_with_vfs(Arc::new(survivor), dir, opts.clone()).unwrap();
            check(&db, &model, k);
            db.close().unwrap();
        }
        k += 1;
    }
}

#[test]
fn strict_synced_writes_survive_power_loss_at_every_operation() {
    let points = crash_at_every_op(options(Durability::Strict, true), Survives::PowerLoss);
    eprintln!("power loss: {points} crash points");
    assert!(points > 100, "only {points} crash points covered");
}

#[test]
fn acknowledged_writes_survive_kill_at_every_operation_in_fast_mode() {
    let points = crash_at_every_op(options(Durability::Fast, false), Survives::ProcessCrash);
    assert!(points > 50, "only {points} crash points covered");
}

#[test]
fn acknowledged_writes_survive_kill_at_every_operation_in_strict_mode() {
    let points = crash_at_every_op(options(Durability::Strict, false), Survives::ProcessCrash);
    assert!(points > 50, "only {points} crash points covered");
}

#[test]
fn strict_synced_writes_survive_torn_and_reordered_writeback_at_every_operation() {
    let points = crash_at_every_op(options(Durability::Strict, true), Survives::TornWriteback);
    assert!(points > 100, "only {points} crash points covered");
}
