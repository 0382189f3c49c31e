//! Model test: random sequences of writes, reads, flushes, compactions, reopens and crashes,
//! checked step by step against a `BTreeMap`. Shrunk failures are kept as named regression
//! tests at the bottom.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use nokv::vfs::MemVfs;
use nokv::{Db, Options, ScanOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u16),
    Delete(u8),
    DeleteRange(u8, u8),
    Get(u8),
    Scan {
        start: Option<u8>,
        end: Option<u8>,
        reverse: bool,
        limit: Option<usize>,
    },
    Flush,
    Compact,
    Reopen,
    Crash,
}

fn key(k: u8) -> Vec<u8> {
    format!("key{k:03}").into_bytes()
}

fn value(k: u8, v: u16) -> Vec<u8> {
    // Values of varied length so memtables rotate and tables get several blocks.
    format!("v{v}-{}", "x".repeat(usize::from(v % 97)))
        .into_bytes()
        .into_iter()
        .chain(std::iter::once(k))
        .collect()
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0u8..40, any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
        6 => (0u8..40).prop_map(Op::Delete),
        3 => (0u8..40, 0u8..40).prop_map(|(a, b)| Op::DeleteRange(a.min(b), a.max(b))),
        10 => (0u8..40).prop_map(Op::Get),
        4 => (
            proptest::option::of(0u8..40),
            proptest::option::of(0u8..40),
            any::<bool>(),
            proptest::option::of(0usize..10)
        )
            .prop_map(|(start, end, reverse, limit)| Op::Scan { start, end, reverse, limit }),
        3 => Just(Op::Flush),
        2 => Just(Op::Compact),
        2 => Just(Op::Reopen),
        2 => Just(Op::Crash),
    ]
}

fn options() -> Options {
    Options {
        memtable_size: 4096,
        block_size: 256,
        max_immutables: 2,
        background_flush: false,
        stats_interval: None,
        l0_compaction_trigger: 2,
        l0_slowdown_trigger: 4,
        l0_stop_trigger: 6,
        level1_target_bytes: 1024,
        level_size_multiplier: 2,
        target_file_size: 512,
        manifest_rewrite_threshold: 2 << 10,
        ..Options::default()
    }
}

fn run(ops: &[Op]) {
    let dir = Path::new("/db");
    let mut vfs = MemVfs::new();
    let mut db = Some(Db::open_with_vfs(Arc::new(vfs.clone()), dir, options()).unwrap());
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        let handle = db.as_ref().unwrap();
        match op {
            Op::Put(k, v) => {
                handle.put(&key(*k), &value(*k, *v)).unwrap();
                model.insert(key(*k), value(*k, *v));
            }
            Op::Delete(k) => {
                handle.delete(&key(*k)).unwrap();
                model.remove(&key(*k));
            }
            Op::DeleteRange(a, b) => {
                if a == b {
                    assert!(handle.delete_range(&key(*a), &key(*b)).is_err());
                    continue;
                }
                handle.delete_range(&key(*a), &key(*b)).unwrap();
                let doomed: Vec<Vec<u8>> = model
                    .range(key(*a)..key(*b))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in doomed {
                    model.remove(&k);
                }
            }
            Op::Get(k) => {
                assert_eq!(
                    handle.get(&key(*k)).unwrap(),
                    model.get(&key(*k)).cloned(),
                    "step {step}: get {k}"
                );
            }
            Op::Scan {
                start,
                end,
                reverse,
                limit,
            } => {
                let options = ScanOptions {
                    start: start.map(key),
                    end: end.map(key),
                    reverse: *reverse,
                    limit: *limit,
                    prefix: None,
                };
                let got: Vec<(Vec<u8>, Vec<u8>)> = handle
                    .scan(&options)
                    .unwrap()
                    .collect::<nokv::Result<_>>()
                    .unwrap();
                let lo = start.map(key).unwrap_or_default();
                let mut expected: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range(lo..)
                    .filter(|(k, _)| end.map(key).is_none_or(|e| **k < e))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if *reverse {
                    expected.reverse();
                }
                expected.truncate(limit.unwrap_or(usize::MAX));
                assert_eq!(got, expected, "step {step}: {op:?}");
            }
            Op::Flush => {
                handle.flush().unwrap();
            }
            Op::Compact => {
                handle.compact().unwrap();
                let version = handle.version();
                assert!(version.check_invariants().is_empty(), "step {step}");
            }
            Op::Reopen => {
                db.take().unwrap().close().unwrap();
                db = Some(Db::open_with_vfs(Arc::new(vfs.clone()), dir, options()).unwrap());
            }
            Op::Crash => {
                // kill -9: every acknowledged write is in the kernel and must survive.
                let survivor = vfs.process_crash_clone();
                std::mem::forget(db.take());
                vfs = survivor;
                db = Some(Db::open_with_vfs(Arc::new(vfs.clone()), dir, options()).unwrap());
            }
        }
    }
    let handle = db.take().unwrap();
    let all: Vec<(Vec<u8>, Vec<u8>)> = handle
        .scan(&ScanOptions::default())
        .unwrap()
        .collect::<nokv::Result<_>>()
        .unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    assert_eq!(all, expected, "final state");
    assert!(handle.version().check_invariants().is_empty());
    handle.close().unwrap();
    let report = nokv::verify::verify(&vfs, dir, &nokv::verify::VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_a_btreemap(ops in proptest::collection::vec(op_strategy(), 1..160)) {
        run(&ops);
    }
}

#[test]
fn range_delete_hides_older_data_but_not_newer_writes() {
    run(&[
        Op::Put(1, 1),
        Op::Put(5, 1),
        Op::Flush,
        Op::DeleteRange(0, 10),
        Op::Put(5, 2),
        Op::Get(1),
        Op::Get(5),
        Op::Flush,
        Op::Get(1),
        Op::Compact,
        Op::Get(1),
        Op::Get(5),
        Op::Reopen,
        Op::Get(1),
        Op::Get(5),
    ]);
}

#[test]
fn range_delete_survives_a_crash_and_compaction_into_a_deeper_level() {
    let mut ops = Vec::new();
    for round in 0..6u16 {
        for k in 0..40u8 {
            ops.push(Op::Put(k, round * 100 + u16::from(k)));
        }
        ops.push(Op::Flush);
    }
    ops.push(Op::Compact);
    ops.push(Op::DeleteRange(10, 20));
    ops.push(Op::Crash);
    ops.push(Op::Flush);
    ops.push(Op::Compact);
    ops.push(Op::Scan {
        start: None,
        end: None,
        reverse: true,
        limit: None,
    });
    run(&ops);
}
