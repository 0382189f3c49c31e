//! The memtable against a `BTreeMap` model, and edge cases of the arena.

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;

use super::skiplist::INLINE_MAX;
use super::*;

type Model = BTreeMap<Vec<u8>, MemValue>;

/// The model's insert: the newest sequence number wins; an equal one replaces.
fn model_insert(model: &mut Model, key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) {
    if let Some(old) = model.get(key) {
        if old.seq > seq {
            return;
        }
    }
    model.insert(
        key.to_vec(),
        MemValue {
            seq,
            kind,
            value: value.to_vec(),
        },
    );
}

fn contents(mem: &Memtable) -> Vec<(Vec<u8>, MemValue)> {
    let mut out = Vec::new();
    mem.for_each(|k, v| {
        out.push((k.to_vec(), v.clone()));
        Ok::<_, ()>(())
    })
    .unwrap();
    out
}

fn model_bytes(model: &Model) -> u64 {
    model
        .iter()
        .map(|(k, v)| k.len() as u64 + v.value.len() as u64 + ENTRY_OVERHEAD)
        .sum()
}

fn check_against_model(mem: &Memtable, model: &Model, probes: &[Vec<u8>]) {
    let expected: Vec<(Vec<u8>, MemValue)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(contents(mem), expected);
    assert_eq!(mem.len(), model.len());
    assert_eq!(mem.approximate_bytes(), model_bytes(model));
    for key in model.keys() {
        assert_eq!(mem.get(key), model.get(key).cloned(), "get {key:?}");
    }
    // Pages from the probes and from a sample of the keys (whole-table pages only when
    // the table is small, to keep the check linear).
    let step = (model.len() / 64).max(1);
    let unbounded = if model.len() <= 1000 { usize::MAX } else { 100 };
    for probe in probes.iter().chain(model.keys().step_by(step)) {
        assert_eq!(mem.get(probe), model.get(probe).cloned(), "get {probe:?}");
        for limit in [0, 1, 3, unbounded] {
            for bound in [
                Bound::Included(&probe[..]),
                Bound::Excluded(&probe[..]),
                Bound::Unbounded,
            ] {
                let want: Vec<(Vec<u8>, MemValue)> = model
                    .range::<[u8], _>((bound, Bound::Unbounded))
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(mem.page(bound, limit), want, "page {bound:?} {limit}");
            }
        }
    }
}

/// Short keys over a small alphabet (so they collide and share prefixes), values of assorted
/// lengths including empty.
fn op_strategy() -> impl Strategy<Value = (Vec<u8>, u64, bool, Vec<u8>)> {
    (
        prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', b'b', 0xff]), 0..10),
        0u64..64,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_a_btreemap(
        ops in prop::collection::vec(op_strategy(), 0..200),
        probes in prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', b'b', 0xff]), 0..10),
            0..8,
        ),
    ) {
        let mem = Memtable::new(FileNumber(1));
        let mut model = Model::new();
        let mut log = Vec::new();
        for (key, seq, delete, value) in &ops {
            let (kind, value) = if *delete {
                (ValueKind::Delete, &[][..])
            } else {
                (ValueKind::Put, &value[..])
            };
            mem.insert(key, SeqNo(*seq), kind, value);
            model_insert(&mut model, key, SeqNo(*seq), kind, value);
            log.push((key.clone(), MemValue { seq: SeqNo(*seq), kind, value: value.to_vec() }));
        }
        check_against_model(&mem, &model, &probes);
        let max = ops.iter().map(|o| o.1).max().unwrap_or(0);
        prop_assert_eq!(mem.max_seq(), SeqNo(max));

        // The bulk path agrees with one-by-one inserts, out-of-order seqs included.
        let rebuilt = Memtable::from_log(FileNumber(1), log);
        check_against_model(&rebuilt, &model, &probes);
        prop_assert_eq!(rebuilt.max_seq(), SeqNo(max));
    }

    #[test]
    fn batches_match_a_btreemap(
        batches in prop::collection::vec(prop::collection::vec(op_strategy(), 1..20), 0..20),
    ) {
        let mem = Memtable::new(FileNumber(1));
        let mut model = Model::new();
        let mut seq = 1u64;
        for batch in &batches {
            let ops: Vec<(ValueKind, &[u8], &[u8])> = batch
                .iter()
                .map(|(k, _, delete, v)| {
                    if *delete {
                        (ValueKind::Delete, &k[..], &[][..])
                    } else {
                        (ValueKind::Put, &k[..], &v[..])
                    }
                })
                .collect();
            mem.insert_batch(SeqNo(seq), ops.iter().copied());
            for (kind, key, value) in ops {
                model_insert(&mut model, key, SeqNo(seq), kind, value);
                seq += 1;
            }
        }
        check_against_model(&mem, &model, &[]);
    }
}

#[test]
fn large_and_empty_values() {
    let mem = Memtable::new(FileNumber(1));
    let mut model = Model::new();
    let huge = vec![7u8; 5 << 20];
    let just_inline = vec![1u8; INLINE_MAX];
    let just_big = vec![2u8; INLINE_MAX + 1];
    let mut seq = 0;
    let mut put = |mem: &Memtable, model: &mut Model, key: &[u8], kind, value: &[u8]| {
        seq += 1;
        mem.insert(key, SeqNo(seq), kind, value);
        model_insert(model, key, SeqNo(seq), kind, value);
    };
    put(&mem, &mut model, b"huge", ValueKind::Put, &huge);
    put(&mem, &mut model, b"empty", ValueKind::Put, b"");
    put(&mem, &mut model, b"", ValueKind::Put, b"empty key");
    put(&mem, &mut model, b"inline", ValueKind::Put, &just_inline);
    put(&mem, &mut model, b"big", ValueKind::Put, &just_big);
    // Enough small entries to fill several chunks around the big ones.
    for i in 0..60_000u32 {
        let key = format!("k{:08}", i * 7919 % 60_000);
        put(
            &mem,
            &mut model,
            key.as_bytes(),
            ValueKind::Put,
            &[i as u8; 100],
        );
    }
    check_against_model(&mem, &model, &[b"a".to_vec(), b"zzz".to_vec()]);
    // Every transition between inline, out-of-line and empty values, on one key each.
    let sizes = [
        0,
        5,
        3,
        INLINE_MAX,
        INLINE_MAX + 1,
        5 << 20,
        10,
        0,
        INLINE_MAX + 1,
        0,
        2,
    ];
    for (round, &size) in sizes.iter().enumerate() {
        let value = vec![round as u8; size];
        for key in [&b"huge"[..], b"empty", b"", b"inline", b"big", b"k00000003"] {
            put(&mem, &mut model, key, ValueKind::Put, &value);
        }
        put(&mem, &mut model, b"empty", ValueKind::Delete, b"");
        check_against_model(&mem, &model, &[]);
    }
    let log: Vec<(Vec<u8>, MemValue)> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let rebuilt = Memtable::from_log(FileNumber(1), log);
    check_against_model(&rebuilt, &model, &[]);
}

#[test]
fn huge_keys_get_chunks_of_their_own() {
    let mem = Memtable::new(FileNumber(1));
    let mut model = Model::new();
    let keys = [
        vec![b'a'; 5 << 20],
        vec![b'b'; 9 << 20],
        b"c".to_vec(),
        vec![b'a'; (5 << 20) + 1],
    ];
    for (i, key) in keys.iter().enumerate() {
        let value = vec![i as u8; 10 + i * 50_000];
        mem.insert(key, SeqNo(i as u64 + 1), ValueKind::Put, &value);
        model_insert(&mut model, key, SeqNo(i as u64 + 1), ValueKind::Put, &value);
    }
    mem.insert(&keys[0], SeqNo(10), ValueKind::Put, &[9; 200_000]);
    model_insert(
        &mut model,
        &keys[0],
        SeqNo(10),
        ValueKind::Put,
        &[9; 200_000],
    );
    check_against_model(&mem, &model, &[b"b".to_vec()]);
}

#[test]
fn many_overwrites_of_one_key() {
    let mem = Memtable::new(FileNumber(1));
    let mut last = Vec::new();
    for i in 0..200_000u64 {
        // Growing, shrinking and occasionally large values; some writes arrive late.
        let len = match i % 7 {
            0 => 0,
            1 => 300,
            2 => 1,
            6 if i % 1000 == 6 => INLINE_MAX + 10,
            _ => (i % 50) as usize,
        };
        let value = vec![(i % 251) as u8; len];
        mem.insert(b"key", SeqNo(i + 1), ValueKind::Put, &value);
        mem.insert(b"key", SeqNo(i), ValueKind::Put, b"late");
        last = value;
    }
    assert_eq!(mem.len(), 1);
    let got = mem.get(b"key").unwrap();
    assert_eq!(got.seq, SeqNo(200_000));
    assert_eq!(got.value, last);
    assert_eq!(
        mem.approximate_bytes(),
        3 + last.len() as u64 + ENTRY_OVERHEAD
    );
    assert_eq!(mem.page(Bound::Unbounded, 10).len(), 1);
    assert_eq!(mem.max_seq(), SeqNo(200_000));
}

#[test]
fn equal_seq_replaces_and_from_log_keeps_the_newest_seq() {
    let mem = Memtable::new(FileNumber(1));
    mem.insert(b"k", SeqNo(5), ValueKind::Put, b"first");
    mem.insert(b"k", SeqNo(5), ValueKind::Put, b"second");
    assert_eq!(mem.get(b"k").unwrap().value, b"second");
    let entry = |seq, value: &[u8]| {
        (
            b"k".to_vec(),
            MemValue {
                seq: SeqNo(seq),
                kind: ValueKind::Put,
                value: value.to_vec(),
            },
        )
    };
    let rebuilt = Memtable::from_log(
        FileNumber(1),
        vec![entry(7, b"newest"), entry(3, b"old"), entry(7, b"later")],
    );
    assert_eq!(rebuilt.get(b"k").unwrap().value, b"later");
    assert_eq!(rebuilt.len(), 1);
}

#[test]
fn readers_run_alongside_a_writer() {
    let mem = std::sync::Arc::new(Memtable::new(FileNumber(1)));
    let writer = {
        let mem = mem.clone();
        std::thread::spawn(move || {
            for i in 0..20_000u64 {
                let key = format!("{:08}", i * 7919 % 20_000);
                mem.insert(key.as_bytes(), SeqNo(i + 1), ValueKind::Put, key.as_bytes());
            }
        })
    };
    for _ in 0..50 {
        let page = mem.page(Bound::Unbounded, 1000);
        assert!(page.windows(2).all(|w| w[0].0 < w[1].0));
        for (key, value) in &page {
            assert_eq!(&value.value, key);
        }
    }
    writer.join().unwrap();
    assert_eq!(mem.len(), 20_000);
}
