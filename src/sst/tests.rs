//! Tests of the SST module: round trips, lookups, seeks, the bloom filter, and damage
//! (truncation, size mismatch, every single-byte flip) that must be reported, never panic.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bloom::{build_filter, key_hash, BloomFilter};
use super::*;
use crate::codec::{crc32, put_u32};
use crate::error::Error;
use crate::types::{FileNumber, SeqNo, TableMeta, ValueKind};
use crate::vfs::{RealFs, Vfs};

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

type Model = BTreeMap<Vec<u8>, (u64, ValueKind, Vec<u8>)>;

fn write_table(path: &Path, model: &Model, opts: TableOptions) -> TableMeta {
    let file = RealFs.create_new(path).unwrap();
    let mut w = TableWriter::new(file, opts);
    for (k, (seq, kind, v)) in model {
        w.add(k, SeqNo(*seq), *kind, v).unwrap();
    }
    let (meta, _file) = w.finish().unwrap();
    meta
}

fn small_opts() -> TableOptions {
    TableOptions {
        block_size: 256,
        bloom_bits_per_key: 10,
    }
}

/// Keys "key0000", "key0002", ... (even numbers only), so odd numbers are absent.
fn even_model(n: u64) -> Model {
    (0..n)
        .map(|i| {
            let kind = if i % 7 == 3 {
                ValueKind::Delete
            } else {
                ValueKind::Put
            };
            let value = if kind == ValueKind::Delete {
                Vec::new()
            } else {
                format!("value-{i}").into_bytes()
            };
            (
                format!("key{:04}", 2 * i).into_bytes(),
                (100 + i, kind, value),
            )
        })
        .collect()
}

fn open(path: &Path) -> Arc<Table> {
    Arc::new(Table::open(&RealFs, path, None).unwrap())
}

fn collect(iter: TableIter) -> Vec<Entry> {
    iter.map(|e| e.unwrap()).collect()
}

fn as_entries(model: &Model) -> Vec<Entry> {
    model
        .iter()
        .map(|(k, (s, kind, v))| Entry {
            key: k.clone(),
            seq: SeqNo(*s),
            kind: *kind,
            value: v.clone(),
        })
        .collect()
}

#[test]
fn table_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();
    assert_send_sync::<TableIter>();
}

#[test]
fn many_random_entries_round_trip_via_get_and_iter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000042.sst");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut model = Model::new();
    while model.len() < 5000 {
        let klen = rng.below(24) as usize;
        let key = rng.bytes(klen);
        let vlen = match rng.below(100) {
            0..=9 => 0,
            10 => 64 << 10,
            _ => rng.below(300) as usize,
        };
        let kind = if rng.below(10) == 0 {
            ValueKind::Delete
        } else {
            ValueKind::Put
        };
        let value = rng.bytes(vlen);
        model.insert(key, (rng.next() >> 1, kind, value));
    }
    let opts = TableOptions {
        block_size: 4096,
        bloom_bits_per_key: 10,
    };
    let meta = write_table(&path, &model, opts);
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(meta.size, size);
    assert_eq!(meta.number, FileNumber(0));
    assert_eq!(meta.entries, model.len() as u64);
    assert_eq!(&meta.smallest, model.keys().next().unwrap());
    assert_eq!(&meta.largest, model.keys().last().unwrap());
    let min_seq = model.values().map(|v| v.0).min().unwrap();
    let max_seq = model.values().map(|v| v.0).max().unwrap();
    assert_eq!(
        (meta.min_seq, meta.max_seq),
        (SeqNo(min_seq), SeqNo(max_seq))
    );

    let table = Arc::new(Table::open(&RealFs, &path, Some(size)).unwrap());
    let opened = table.meta();
    assert_eq!(opened.number, FileNumber(42), "number parsed from the name");
    assert_eq!(
        TableMeta {
            number: FileNumber(0),
            ..opened
        },
        meta
    );
    assert!(table.data_blocks() > 10);
    assert_eq!(
        table.properties().tombstones,
        model.values().filter(|v| v.1 == ValueKind::Delete).count() as u64
    );
    for (k, (seq, kind, v)) in &model {
        assert_eq!(
            table.get(k).unwrap(),
            Some((SeqNo(*seq), *kind, v.clone())),
            "key {k:?}"
        );
    }
    assert_eq!(collect(table.iter()), as_entries(&model));

    let check = check_table(&RealFs, &path).unwrap();
    assert!(check.is_ok(), "{:?}", check.problems);
    assert_eq!(check.bytes_checked, size);
    assert_eq!(check.blocks_checked, table.data_blocks() as u64 + 3);
    assert_eq!(check.meta.unwrap().number, FileNumber(42));
}

#[test]
fn absent_keys_before_between_and_after_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let model = even_model(500);
    write_table(&path, &model, small_opts());
    let table = open(&path);
    assert_eq!(table.meta().number, FileNumber(0));
    assert!(table.data_blocks() >= 3);
    assert_eq!(table.get(b"").unwrap(), None);
    assert_eq!(table.get(b"a").unwrap(), None);
    assert_eq!(table.get(b"key").unwrap(), None);
    for i in 0..500u64 {
        let odd = format!("key{:04}", 2 * i + 1);
        assert_eq!(table.get(odd.as_bytes()).unwrap(), None, "{odd}");
        let prefix = format!("key{:04}\0", 2 * i);
        assert_eq!(table.get(prefix.as_bytes()).unwrap(), None, "{prefix}");
    }
    assert_eq!(table.get(b"key9999").unwrap(), None);
    assert_eq!(table.get(b"zzz").unwrap(), None);
    assert_eq!(table.get(&[0xff; 10]).unwrap(), None);
}

#[test]
fn seek_positions_at_the_first_key_at_or_after_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let model = even_model(300);
    write_table(&path, &model, small_opts());
    let table = open(&path);
    let all = as_entries(&model);

    let mut it = table.iter();
    // Before the first key.
    it.seek(b"").unwrap();
    assert_eq!(collect(it), all);

    for i in [0usize, 1, 17, 150, 298, 299] {
        // Exact key.
        let mut it = table.iter();
        it.seek(&all[i].key).unwrap();
        assert_eq!(collect(it), all[i..].to_vec(), "exact {i}");
        // Between keys: the odd number lands on the next even one.
        let mut it = table.iter();
        it.seek(format!("key{:04}", 2 * i + 1).as_bytes()).unwrap();
        assert_eq!(collect(it), all[i + 1..].to_vec(), "between {i}");
    }
    // After the last key.
    let mut it = table.iter();
    it.seek(b"key9999").unwrap();
    assert!(it.next().is_none());
    // Seek again on the same iterator, backwards, after it was exhausted.
    it.seek(b"key0100").unwrap();
    assert_eq!(it.next().unwrap().unwrap().key, b"key0100".to_vec());
    it.seek_to_first();
    assert_eq!(collect(it).len(), all.len());
}

#[test]
fn tombstones_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut model = Model::new();
    model.insert(b"a".to_vec(), (5, ValueKind::Delete, Vec::new()));
    model.insert(b"b".to_vec(), (6, ValueKind::Put, b"live".to_vec()));
    model.insert(b"c".to_vec(), (7, ValueKind::Delete, Vec::new()));
    let meta = write_table(&path, &model, TableOptions::default());
    assert_eq!(meta.entries, 3);
    let table = open(&path);
    assert_eq!(table.properties().tombstones, 2);
    assert_eq!(
        table.get(b"a").unwrap(),
        Some((SeqNo(5), ValueKind::Delete, Vec::new()))
    );
    assert_eq!(
        table.get(b"b").unwrap(),
        Some((SeqNo(6), ValueKind::Put, b"live".to_vec()))
    );
    let kinds: Vec<ValueKind> = collect(table.iter()).iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![ValueKind::Delete, ValueKind::Put, ValueKind::Delete]
    );
}

#[test]
fn bloom_filter_has_no_false_negatives_and_few_false_positives() {
    let n = 100_000u64;
    let hashes: Vec<u64> = (0..n)
        .map(|i| key_hash(format!("user{i:012}").as_bytes()))
        .collect();
    let mut payload = Vec::new();
    build_filter(&hashes, 10, &mut payload);
    let filter = BloomFilter::decode(&payload, 0).unwrap();
    for &h in &hashes {
        assert!(filter.may_contain(h));
    }
    let trials = 200_000u64;
    let fp = (0..trials)
        .filter(|i| filter.may_contain(key_hash(format!("absent{i:012}").as_bytes())))
        .count();
    let rate = fp as f64 / trials as f64;
    assert!(rate < 0.02, "false positive rate {rate}");

    // The same through a table, with short binary keys.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let model: Model = (0..20_000u32)
        .map(|i| ((i * 2).to_be_bytes().to_vec(), (1, ValueKind::Put, vec![])))
        .collect();
    write_table(&path, &model, TableOptions::default());
    let table = open(&path);
    assert!(model.keys().all(|k| table.may_contain(k)));
    let fp = (0..20_000u32)
        .filter(|i| table.may_contain(&(i * 2 + 1).to_be_bytes()))
        .count();
    assert!(fp < 400, "{fp} false positives of 20000");

    // Zero bits per key: no filter, every key "may" be present, lookups still work.
    let path = dir.path().join("nofilter.sst");
    write_table(
        &path,
        &model,
        TableOptions {
            block_size: 4096,
            bloom_bits_per_key: 0,
        },
    );
    let table = open(&path);
    assert!(table.may_contain(b"anything"));
    assert_eq!(
        table.get(&8u32.to_be_bytes()).unwrap(),
        Some((SeqNo(1), ValueKind::Put, vec![]))
    );
    assert_eq!(table.get(&9u32.to_be_bytes()).unwrap(), None);
    assert!(check_table(&RealFs, &path).unwrap().is_ok());
}

#[test]
fn expected_size_mismatch_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000007.sst");
    let meta = write_table(&path, &even_model(50), small_opts());
    Table::open(&RealFs, &path, Some(meta.size)).unwrap();
    let err = Table::open(&RealFs, &path, Some(meta.size + 1)).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("000007.sst"), "{text}");
    assert!(
        text.contains(&format!("expected {}", meta.size + 1)),
        "{text}"
    );
    assert!(text.contains(&format!("found {}", meta.size)), "{text}");
}

#[test]
fn truncated_tables_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let meta = write_table(&path, &even_model(200), small_opts());
    let bytes = std::fs::read(&path).unwrap();
    let size = meta.size as usize;
    for len in [
        0,
        1,
        8,
        83,
        84,
        85,
        size / 2,
        size - 85,
        size - 84,
        size - 9,
        size - 1,
    ] {
        let cut = dir.path().join(format!("cut{len}.sst"));
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let open = Table::open(&RealFs, &cut, None);
            let check = check_table(&RealFs, &cut).unwrap();
            (open.map(|_| ()), check)
        }));
        let (open, check) = result.unwrap_or_else(|_| panic!("panicked at length {len}"));
        let err = open.expect_err("truncated table opened");
        assert!(err.is_corruption(), "length {len}: {err}");
        assert!(!check.problems.is_empty(), "length {len}");
    }
}

#[test]
fn every_single_byte_flip_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    // Four data blocks at least, and a tombstone.
    let model = even_model(40);
    let meta = write_table(&path, &model, small_opts());
    let table = open(&path);
    assert!(table.data_blocks() >= 3, "{} blocks", table.data_blocks());
    drop(table);
    let good = std::fs::read(&path).unwrap();
    assert_eq!(good.len() as u64, meta.size);
    let flipped = dir.path().join("flipped.sst");
    for pos in 0..good.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            std::fs::write(&flipped, &bad).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let check = check_table(&RealFs, &flipped);
                let read = Table::open(&RealFs, &flipped, Some(meta.size)).and_then(|t| {
                    let t = Arc::new(t);
                    t.iter().collect::<Result<Vec<_>, _>>()
                });
                (check, read)
            }));
            let (check, read) =
                outcome.unwrap_or_else(|_| panic!("panicked with byte {pos} ^ {mask:#x}"));
            let check = check.unwrap();
            assert!(
                !check.problems.is_empty(),
                "check_table missed byte {pos} ^ {mask:#x}"
            );
            let err = read.expect_err("damaged table read without error");
            assert!(err.is_corruption(), "byte {pos}: {err}");
        }
    }
}

#[test]
fn corruption_errors_name_the_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000009.sst");
    write_table(&path, &even_model(40), small_opts());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 0x10; // inside the first data block
    std::fs::write(&path, &bytes).unwrap();
    let table = open(&path);
    let err = table.get(b"key0000").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("000009.sst at offset 0"), "{text}");
    assert!(
        text.contains("block checksum mismatch (expected 0x"),
        "{text}"
    );
    let check = check_table(&RealFs, &path).unwrap();
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
    assert_eq!(check.problems[0].kind, "checksum_mismatch");
    assert_eq!(check.problems[0].offset, 0);
    assert!(check.problems[0].expected.is_some() && check.problems[0].actual.is_some());
}

#[test]
fn newer_format_version_is_unsupported_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    write_table(&path, &even_model(10), small_opts());
    let mut bytes = std::fs::read(&path).unwrap();
    let f = bytes.len() - FOOTER_LEN as usize;
    bytes[f + 64..f + 68].copy_from_slice(&2u32.to_le_bytes());
    let mut crc = Vec::new();
    put_u32(&mut crc, crc32(&bytes[f..f + 72]));
    bytes[f + 72..f + 76].copy_from_slice(&crc);
    std::fs::write(&path, &bytes).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedFormat {
                found: 2,
                supported: FORMAT_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let check = check_table(&RealFs, &path).unwrap();
    assert_eq!(check.problems[0].kind, "unsupported_version");
}

#[test]
fn wrong_magic_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    std::fs::write(&path, vec![0u8; 200]).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(err.to_string().contains("magic"), "{err}");
    let check = check_table(&RealFs, &path).unwrap();
    assert_eq!(check.problems.len(), 1);
    assert_eq!(check.problems[0].kind, "bad_magic");
    assert_eq!(check.problems[0].offset, 200 - 8);
}

#[test]
fn empty_table_is_refused_by_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let w = TableWriter::new(RealFs.create_new(&path).unwrap(), small_opts());
    assert!(matches!(w.finish(), Err(Error::InvalidArgument(_))));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "nothing written"
    );
}

#[test]
fn keys_out_of_order_or_repeated_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut w = TableWriter::new(RealFs.create_new(&path).unwrap(), small_opts());
    w.add(b"b", SeqNo(1), ValueKind::Put, b"1").unwrap();
    assert!(matches!(
        w.add(b"a", SeqNo(2), ValueKind::Put, b"2"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        w.add(b"b", SeqNo(3), ValueKind::Put, b"3"),
        Err(Error::InvalidArgument(_))
    ));
    w.add(b"c", SeqNo(4), ValueKind::Put, b"4").unwrap();
    let (meta, _) = w.finish().unwrap();
    assert_eq!(meta.entries, 2);
    let table = open(&path);
    let keys: Vec<Vec<u8>> = collect(table.iter()).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn empty_key_and_single_entry_tables_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut model = Model::new();
    model.insert(Vec::new(), (9, ValueKind::Put, b"empty key".to_vec()));
    write_table(&path, &model, small_opts());
    let table = open(&path);
    assert_eq!(
        table.get(b"").unwrap(),
        Some((SeqNo(9), ValueKind::Put, b"empty key".to_vec()))
    );
    assert_eq!(table.get(b"\0").unwrap(), None);
    assert_eq!(collect(table.iter()), as_entries(&model));
    assert!(check_table(&RealFs, &path).unwrap().is_ok());
}

#[test]
fn estimated_size_tracks_the_written_size() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("t.sst");
    let mut w = TableWriter::new(RealFs.create_new(&path).unwrap(), TableOptions::default());
    let value = vec![7u8; 100];
    for i in 0..50_000u32 {
        w.add(
            &i.to_be_bytes(),
            SeqNo(u64::from(i)),
            ValueKind::Put,
            &value,
        )
        .unwrap();
    }
    let estimate = w.estimated_size();
    let (meta, _) = w.finish().unwrap();
    let ratio = estimate as f64 / meta.size as f64;
    assert!(
        (0.9..1.1).contains(&ratio),
        "estimate {estimate} vs {}",
        meta.size
    );
}

/// Recomputes the CRC of the block occupying `bytes[start..end]`.
fn reseal(bytes: &mut [u8], start: usize, end: usize) {
    let crc = crc32(&bytes[start..end - 4]);
    bytes[end - 4..end].copy_from_slice(&crc.to_le_bytes());
}

/// End of the first data block: the first prefix whose last 4 bytes are its CRC.
fn first_block_end(bytes: &[u8]) -> usize {
    (9..bytes.len())
        .find(|&end| crc32(&bytes[..end - 4]).to_le_bytes() == bytes[end - 4..end])
        .unwrap()
}

#[test]
fn check_finds_checksum_valid_but_inconsistent_tables() {
    let dir = tempfile::tempdir().unwrap();
    let good_path = dir.path().join("good.sst");
    write_table(&good_path, &even_model(40), small_opts());
    let good = std::fs::read(&good_path).unwrap();
    let f = good.len() - FOOTER_LEN as usize;
    let field = |at: usize| u64::from_le_bytes(good[at..at + 8].try_into().unwrap()) as usize;

    // Properties claim 41 entries: open accepts it (it does not scan data), check does not.
    let mut bytes = good.clone();
    let (props_off, props_size) = (field(f + 32), field(f + 40));
    assert_eq!(bytes[props_off + 4], 40);
    bytes[props_off + 4] = 41;
    reseal(&mut bytes, props_off, props_off + props_size);
    let path = dir.path().join("count.sst");
    std::fs::write(&path, &bytes).unwrap();
    Table::open(&RealFs, &path, None).unwrap();
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec!["count_mismatch"], "{:?}", check.problems);
    assert_eq!(check.problems[0].expected.as_deref(), Some("41"));
    assert_eq!(check.problems[0].actual.as_deref(), Some("40"));

    // Swap the first two (same-sized) entries of the first block and fix its CRC.
    let mut bytes = good.clone();
    let entry_len = 1 + 7 + 1 + 1 + 1 + 7; // "key0000", seq 100, put, "value-0"
    assert_eq!(&bytes[1..8], b"key0000");
    assert_eq!(&bytes[entry_len + 1..entry_len + 8], b"key0002");
    let (a, b) = bytes[..2 * entry_len].split_at_mut(entry_len);
    a.swap_with_slice(b);
    let end = first_block_end(&good);
    reseal(&mut bytes, 0, end);
    let path = dir.path().join("order.sst");
    std::fs::write(&path, &bytes).unwrap();
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&"key_order"), "{:?}", check.problems);
    assert!(
        !kinds.contains(&"checksum_mismatch"),
        "{:?}",
        check.problems
    );
}
