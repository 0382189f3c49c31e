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
use crate::types::{FileNumber, RangeTombstone, SeqNo, TableMeta, ValueKind, MAX_KEY_LEN};
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

/// Small uncompressed blocks: the byte-level tests below poke at known offsets.
fn small_opts() -> TableOptions {
    TableOptions {
        block_size: 128,
        bloom_bits_per_key: 10,
        compression: Compression::None,
        ..TableOptions::default()
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
        ..TableOptions::default()
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
    let partitions = table.properties().index_partitions;
    assert!(partitions > 1, "{partitions} index partitions");
    assert_eq!(
        check.blocks_checked,
        table.data_blocks() as u64 + partitions + 3
    );
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
    assert!(model.keys().all(|k| table.may_contain(k).unwrap()));
    let fp = (0..20_000u32)
        .filter(|i| table.may_contain(&(i * 2 + 1).to_be_bytes()).unwrap())
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
            ..TableOptions::default()
        },
    );
    let table = open(&path);
    assert!(table.may_contain(b"anything").unwrap());
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

/// Flips single bits (0x01 and 0x80) of every byte of the table at `path`: `check_table`
/// must report a problem and opening + iterating must fail with a corruption error, never a
/// panic.
fn assert_every_flip_detected(dir: &Path, path: &Path) {
    let good = std::fs::read(path).unwrap();
    let size = good.len() as u64;
    let flipped = dir.join("flipped.sst");
    for pos in 0..good.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            std::fs::write(&flipped, &bad).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let check = check_table(&RealFs, &flipped);
                // Open, a lookup (which loads the bloom filter on first use) and a full
                // iteration together read every byte.
                let read = Table::open(&RealFs, &flipped, Some(size)).and_then(|t| {
                    let t = Arc::new(t);
                    t.get(b"key0002")?;
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
fn every_single_byte_flip_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    // Four data blocks at least, and a tombstone.
    let model = even_model(40);
    let meta = write_table(&path, &model, small_opts());
    let table = open(&path);
    assert!(table.data_blocks() >= 3, "{} blocks", table.data_blocks());
    drop(table);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), meta.size);
    assert_every_flip_detected(dir.path(), &path);
}

#[test]
fn every_single_byte_flip_is_detected_with_range_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    // Points and range tombstones.
    let path = dir.path().join("mixed.sst");
    write_with_ranges(&path, &even_model(30), &sample_ranges(), small_opts());
    let table = open(&path);
    assert!(table.data_blocks() >= 3, "{} blocks", table.data_blocks());
    assert_eq!(table.range_tombstones().len(), 3);
    drop(table);
    assert_every_flip_detected(dir.path(), &path);

    // Range tombstones only: no data blocks.
    let path = dir.path().join("ranges.sst");
    write_with_ranges(&path, &Model::new(), &sample_ranges(), small_opts());
    let table = open(&path);
    assert_eq!(table.data_blocks(), 0);
    drop(table);
    assert_every_flip_detected(dir.path(), &path);
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
    bytes[f + 64..f + 68].copy_from_slice(&3u32.to_le_bytes());
    let mut crc = Vec::new();
    put_u32(&mut crc, crc32(&bytes[f..f + 72]));
    bytes[f + 72..f + 76].copy_from_slice(&crc);
    std::fs::write(&path, &bytes).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedFormat {
                found: 3,
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

#[test]
fn a_table_of_small_entries_is_cut_when_its_build_memory_reaches_an_eighth_of_the_target() {
    // 4-byte keys with empty values take a few bytes each on disk but 8 bytes of bloom hash
    // in memory until `finish`: the cut must come from the memory bound, long before the
    // table is `target` bytes big.
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("t.sst");
    let mut w = TableWriter::new(RealFs.create_new(&path).unwrap(), TableOptions::default());
    let target = 1u64 << 20;
    let mut entries = 0u32;
    while !w.reached(target) {
        w.add(&entries.to_be_bytes(), SeqNo(1), ValueKind::Put, b"")
            .unwrap();
        entries += 1;
        assert!(entries <= 1 << 20, "never reached the target");
    }
    assert!(
        w.estimated_size() < target / 2,
        "cut by size ({} bytes), not by memory",
        w.estimated_size()
    );
    assert!(
        (16_000..=16_384).contains(&entries),
        "{entries} entries: 8 bytes of hash each reach target / 8 at 16,384"
    );
    let (meta, _) = w.finish().unwrap();
    assert_eq!(meta.entries, u64::from(entries));
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

    // Make the second key of the first block repeat the first ("key0002" stores only its
    // last byte after sharing 6) and fix the block's CRC.
    let mut bytes = good.clone();
    let entry_len = 3 + 7 + 1 + 1 + 7; // 3 varints, "key0000", seq 100, put, "value-0"
    assert_eq!(&bytes[3..10], b"key0000");
    assert_eq!(&bytes[entry_len..entry_len + 4], &[6, 1, 9, b'2']);
    bytes[entry_len + 3] = b'0';
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

fn rt(start: &[u8], end: &[u8], seq: u64) -> RangeTombstone {
    RangeTombstone {
        start: start.to_vec(),
        end: end.to_vec(),
        seq: SeqNo(seq),
    }
}

/// Three tombstones, given out of order: `[key0010, key0020)@500`, `[key0005, key0007)@3`,
/// `[key0010, key0050)@600`.
fn sample_ranges() -> Vec<RangeTombstone> {
    vec![
        rt(b"key0010", b"key0020", 500),
        rt(b"key0005", b"key0007", 3),
        rt(b"key0010", b"key0050", 600),
    ]
}

/// Writes the points of `model` and `ranges`, interleaving the tombstones with the points.
fn write_with_ranges(
    path: &Path,
    model: &Model,
    ranges: &[RangeTombstone],
    opts: TableOptions,
) -> TableMeta {
    let mut w = TableWriter::new(RealFs.create_new(path).unwrap(), opts);
    let mut pending = ranges.iter();
    for (i, (k, (seq, kind, v))) in model.iter().enumerate() {
        if i % 5 == 2 {
            if let Some(t) = pending.next() {
                w.add_range_tombstone(t).unwrap();
            }
        }
        w.add(k, SeqNo(*seq), *kind, v).unwrap();
    }
    for t in pending {
        w.add_range_tombstone(t).unwrap();
    }
    let (meta, _file) = w.finish().unwrap();
    meta
}

/// The footer's meta handle `(offset, size)`.
fn meta_handle(bytes: &[u8]) -> (usize, usize) {
    let f = bytes.len() - FOOTER_LEN as usize;
    let field = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    (field(f + 48), field(f + 56))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// This exact table, written by the writer as it was before range tombstones existed
/// (block size 32, 10 bloom bits per key).
const GOLDEN_V1: &str = "\
    056170706c650101037265640662616e616e61020200000000000c000000020000000105663a0d0663686572\
    72790301046461726b0664616d736f6e070104706c756d000000000e0000000200000001a4ad27ec214f5494\
    11d88331070262e7d082020662616e616e6100270664616d736f6e272d039116a4a401000000040101070205\
    6170706c650664616d736f6e04bd663fb054000000000000000e000000000000006200000000000000180000\
    00000000007a000000000000001b000000000000000000000000000000000000000000000001000000000000\
    0019e287f18b6e6f6b76535354";

#[test]
fn version_1_table_bytes_still_read_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let bytes = unhex(GOLDEN_V1);
    std::fs::write(&path, &bytes).unwrap();
    let table = open(&path);
    assert_eq!(table.properties().format_version, 1);
    assert_eq!(table.properties().compression, Compression::None);
    assert_eq!(meta_handle(&bytes), (0, 0), "no meta block");
    assert!(table.range_tombstones().is_empty());
    assert_eq!(
        table.get(b"cherry").unwrap(),
        Some((SeqNo(3), ValueKind::Put, b"dark".to_vec()))
    );
    assert_eq!(
        table.get(b"banana").unwrap(),
        Some((SeqNo(2), ValueKind::Delete, Vec::new()))
    );
    assert_eq!(table.get(b"blueberry").unwrap(), None);
    let keys: Vec<Vec<u8>> = collect(table.iter()).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, [&b"apple"[..], b"banana", b"cherry", b"damson"]);
    let check = check_table(&RealFs, &path).unwrap();
    assert!(check.is_ok(), "{:?}", check.problems);
    assert_eq!(check.blocks_checked, table.data_blocks() as u64 + 3);
    // Every byte flip of a version-1 table is still found.
    drop(table);
    assert_every_flip_detected(dir.path(), &path);
}

#[test]
fn range_tombstones_round_trip_with_points() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000011.sst");
    let model = even_model(200);
    let mut ranges = sample_ranges();
    ranges.push(rt(b"key0005", b"key0007", 3)); // exact duplicate: stored once
    ranges.push(rt(b"key0010", b"key0020", 700)); // same start, newer
    let meta = write_with_ranges(&path, &model, &ranges, small_opts());
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(meta.size, size);
    assert_eq!(meta.entries, 200, "point entries only");

    let table = Arc::new(Table::open(&RealFs, &path, Some(size)).unwrap());
    let expected = vec![
        rt(b"key0005", b"key0007", 3),
        rt(b"key0010", b"key0020", 700),
        rt(b"key0010", b"key0050", 600),
        rt(b"key0010", b"key0020", 500),
    ];
    assert_eq!(table.range_tombstones(), expected.as_slice());
    assert_eq!(table.properties().range_tombstones, 4);
    assert_eq!(table.properties().entries, 200);
    assert_eq!(
        TableMeta {
            number: FileNumber(0),
            ..table.meta()
        },
        meta
    );
    // Points only through get and iter: the tombstones are not applied.
    for (k, (seq, kind, v)) in &model {
        assert_eq!(table.get(k).unwrap(), Some((SeqNo(*seq), *kind, v.clone())));
    }
    assert_eq!(table.get(b"key0011").unwrap(), None);
    assert_eq!(collect(table.iter()), as_entries(&model));

    let check = check_table(&RealFs, &path).unwrap();
    assert!(check.is_ok(), "{:?}", check.problems);
    assert_eq!(check.range_tombstones, 4);
    assert_eq!(check.bytes_checked, size);
    assert_eq!(
        check.blocks_checked,
        table.data_blocks() as u64 + table.properties().index_partitions + 4
    );
    let (meta_off, meta_size) = meta_handle(&std::fs::read(&path).unwrap());
    assert!(meta_off > 0 && meta_off + meta_size + FOOTER_LEN as usize == size as usize);
}

#[test]
fn tombstones_only_table_has_no_data_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut w = TableWriter::new(RealFs.create_new(&path).unwrap(), small_opts());
    w.add_range_tombstone(&rt(b"m", b"p", 9)).unwrap();
    w.add_range_tombstone(&rt(b"c", b"f", 4)).unwrap();
    let (meta, _) = w.finish().unwrap();
    assert_eq!(meta.entries, 0);
    assert_eq!(
        (meta.smallest.as_slice(), meta.largest.as_slice()),
        (&b"c"[..], &b"p"[..])
    );
    assert_eq!((meta.min_seq, meta.max_seq), (SeqNo(4), SeqNo(9)));

    let table = open(&path);
    assert_eq!(
        TableMeta {
            number: FileNumber(0),
            ..table.meta()
        },
        meta
    );
    assert_eq!(table.data_blocks(), 0);
    assert_eq!(table.properties().data_blocks, 0);
    assert_eq!(table.properties().tombstones, 0);
    assert_eq!(
        table.range_tombstones(),
        &[rt(b"c", b"f", 4), rt(b"m", b"p", 9)][..]
    );
    assert!(
        table.may_contain(b"d").unwrap(),
        "empty filter: every key may be present"
    );
    for key in [&b""[..], b"a", b"c", b"d", b"n", b"p", b"z"] {
        assert_eq!(table.get(key).unwrap(), None);
    }
    assert!(collect(table.iter()).is_empty());
    let mut it = table.iter();
    it.seek(b"d").unwrap();
    assert!(it.next().is_none());
    it.seek_to_first();
    assert!(it.next().is_none());

    let check = check_table(&RealFs, &path).unwrap();
    assert!(check.is_ok(), "{:?}", check.problems);
    assert_eq!(check.range_tombstones, 2);
    assert_eq!(check.blocks_checked, 4, "filter, index, properties, meta");
    assert_eq!(check.bytes_checked, meta.size);
    assert_eq!(check.meta.unwrap().entries, 0);
}

#[test]
fn key_and_seq_bounds_include_range_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    model.insert(b"c".to_vec(), (10, ValueKind::Put, b"1".to_vec()));
    model.insert(b"e".to_vec(), (20, ValueKind::Delete, Vec::new()));

    // Tombstones reaching outside the points, on both ends, and in seq.
    let path = dir.path().join("wide.sst");
    let ranges = [rt(b"d", b"z", 30), rt(b"a", b"b", 5)];
    let meta = write_with_ranges(&path, &model, &ranges, small_opts());
    assert_eq!(meta.smallest, b"a".to_vec());
    assert_eq!(
        meta.largest,
        b"z".to_vec(),
        "exclusive end kept: conservative"
    );
    assert_eq!((meta.min_seq, meta.max_seq), (SeqNo(5), SeqNo(30)));
    assert_eq!(meta.entries, 2);
    let table = open(&path);
    assert_eq!(table.meta().smallest, b"a".to_vec());
    assert_eq!(table.meta().largest, b"z".to_vec());
    assert_eq!(table.get(b"c").unwrap().unwrap().0, SeqNo(10));
    assert_eq!(table.get(b"y").unwrap(), None);
    let check = check_table(&RealFs, &path).unwrap();
    assert!(check.is_ok(), "{:?}", check.problems);
    let m = check.meta.unwrap();
    assert_eq!((m.smallest, m.largest), (b"a".to_vec(), b"z".to_vec()));
    assert_eq!((m.min_seq, m.max_seq), (SeqNo(5), SeqNo(30)));

    // Tombstones inside the points' range and seqs: the bounds are the points'.
    let path = dir.path().join("inside.sst");
    let meta = write_with_ranges(&path, &model, &[rt(b"c", b"d", 15)], small_opts());
    assert_eq!(
        (meta.smallest.as_slice(), meta.largest.as_slice()),
        (&b"c"[..], &b"e"[..])
    );
    assert_eq!((meta.min_seq, meta.max_seq), (SeqNo(10), SeqNo(20)));
    assert!(check_table(&RealFs, &path).unwrap().is_ok());
}

#[test]
fn bad_range_tombstones_and_kinds_are_rejected_by_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut w = TableWriter::new(RealFs.create_new(&path).unwrap(), small_opts());
    let long = vec![b'k'; MAX_KEY_LEN + 1];
    for bad in [
        rt(b"b", b"b", 1),
        rt(b"c", b"b", 1),
        rt(b"", b"b", 1),
        rt(&long, &long, 1),
        rt(b"a", &long, 1),
    ] {
        assert!(
            matches!(w.add_range_tombstone(&bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    let max = vec![b'k'; MAX_KEY_LEN];
    w.add_range_tombstone(&rt(b"k", &max, 1)).unwrap();
    assert!(matches!(
        w.add(b"a", SeqNo(2), ValueKind::RangeDelete, b"b"),
        Err(Error::InvalidArgument(_))
    ));
    let (meta, _) = w.finish().unwrap();
    assert_eq!(meta.entries, 0);
    assert_eq!(open(&path).range_tombstones(), &[rt(b"k", &max, 1)][..]);
}

#[test]
fn meta_block_corruption_fails_open_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good_path = dir.path().join("good.sst");
    write_with_ranges(&good_path, &even_model(20), &sample_ranges(), small_opts());
    let good = std::fs::read(&good_path).unwrap();
    let (meta_off, meta_size) = meta_handle(&good);
    let meta_end = meta_off + meta_size;

    // A flipped byte: checksum mismatch at the meta block's offset.
    let mut bytes = good.clone();
    bytes[meta_off + 2] ^= 0x04;
    let path = dir.path().join("000013.sst");
    std::fs::write(&path, &bytes).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("000013.sst at offset {meta_off}")),
        "{text}"
    );
    assert!(text.contains("meta block checksum mismatch"), "{text}");
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec!["checksum_mismatch"], "{:?}", check.problems);
    assert_eq!(check.problems[0].offset, meta_off as u64);

    // Payload: count 3, then [key0005, key0007)@3 first. Make it [key0007, key0007): start
    // not below end, with a valid CRC.
    let mut bytes = good.clone();
    assert_eq!(bytes[meta_off], 3);
    assert_eq!(&bytes[meta_off + 2..meta_off + 9], b"key0005");
    bytes[meta_off + 8] = b'7';
    reseal(&mut bytes, meta_off, meta_end);
    let path = dir.path().join("000014.sst");
    std::fs::write(&path, &bytes).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("000014.sst at offset"), "{text}");
    assert!(text.contains("not below its end"), "{text}");
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec!["bad_block"], "{:?}", check.problems);

    // [key0005, key0007) -> [key0015, key0017): valid on its own, but now out of order.
    let mut bytes = good.clone();
    bytes[meta_off + 7] = b'1';
    bytes[meta_off + 8 + 7] = b'1';
    assert_eq!(&bytes[meta_off + 2..meta_off + 9], b"key0015");
    assert_eq!(&bytes[meta_off + 10..meta_off + 17], b"key0017");
    reseal(&mut bytes, meta_off, meta_end);
    let path = dir.path().join("order.sst");
    std::fs::write(&path, &bytes).unwrap();
    assert!(Table::open(&RealFs, &path, None)
        .unwrap_err()
        .is_corruption());
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec!["key_order"], "{:?}", check.problems);

    // Points end at key0038, the widest tombstone at key0050 (the table's largest key).
    // Moving that end to key0060 leaves the tombstone outside the properties' key range.
    let mut bytes = good.clone();
    let at = meta_off
        + bytes[meta_off..meta_end]
            .windows(7)
            .position(|w| w == b"key0050")
            .unwrap();
    bytes[at + 5] = b'6';
    reseal(&mut bytes, meta_off, meta_end);
    let path = dir.path().join("range.sst");
    std::fs::write(&path, &bytes).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| *k == "key_range_mismatch"),
        "{:?}",
        check.problems
    );

    // A tombstone seq outside the properties' seq range (points 100..=119, tombstones 3..=600).
    let mut bytes = good.clone();
    let seq_at = meta_off + 1 + 8 + 8; // after count, start and end of the first tombstone
    assert_eq!(bytes[seq_at], 3);
    bytes[seq_at] = 2;
    reseal(&mut bytes, meta_off, meta_end);
    let path = dir.path().join("seq.sst");
    std::fs::write(&path, &bytes).unwrap();
    assert!(Table::open(&RealFs, &path, None)
        .unwrap_err()
        .is_corruption());
    let check = check_table(&RealFs, &path).unwrap();
    let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
    assert!(
        kinds.contains(&"seq_range_mismatch"),
        "{:?}",
        check.problems
    );
}

#[test]
fn zero_entry_table_without_meta_block_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    write_with_ranges(&path, &Model::new(), &sample_ranges(), small_opts());
    let mut bytes = std::fs::read(&path).unwrap();
    // Drop the meta handle from the footer (fixing the footer's CRC).
    let f = bytes.len() - FOOTER_LEN as usize;
    bytes[f + 48..f + 64].fill(0);
    let crc = crc32(&bytes[f..f + 72]);
    bytes[f + 72..f + 76].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = Table::open(&RealFs, &path, None).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("never empty"), "{err}");
    assert!(!check_table(&RealFs, &path).unwrap().is_ok());
}

#[test]
fn range_delete_kind_in_a_data_block_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000015.sst");
    let good_path = dir.path().join("good.sst");
    write_table(&good_path, &even_model(40), small_opts());
    let mut bytes = std::fs::read(&good_path).unwrap();
    let end = first_block_end(&bytes);
    // First entry: varint 0 | varint 7 | varint 9 | "key0000" | varint 100 | kind 1 (put) | ...
    assert_eq!(&bytes[3..10], b"key0000");
    assert_eq!(bytes[11], ValueKind::Put.tag());
    bytes[11] = ValueKind::RangeDelete.tag();
    reseal(&mut bytes, 0, end);
    std::fs::write(&path, &bytes).unwrap();

    let table = open(&path); // open does not read the data blocks
    let err = table.get(b"key0000").unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("000015.sst at offset 11"), "{text}");
    assert!(text.contains("unknown value kind 3"), "{text}");
    let first = table.iter().next().unwrap();
    assert!(first.unwrap_err().is_corruption());
    let check = check_table(&RealFs, &path).unwrap();
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
    assert_eq!(check.problems[0].kind, "bad_block");
    assert_eq!(check.problems[0].offset, 11);
}

#[test]
fn the_block_cache_serves_repeated_lookups_and_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000001.sst");
    let model = even_model(2000);
    write_table(&path, &model, small_opts());
    let capacity = 4 * small_opts().block_size as u64 * 16;
    let cache = Arc::new(BlockCache::new(capacity));
    let table = Table::open_cached(&RealFs::new(), &path, None, Some(Arc::clone(&cache))).unwrap();
    let keys: Vec<&Vec<u8>> = model.keys().collect();
    let hot = keys[10];
    assert_eq!(
        table.get(hot).unwrap().map(|e| e.2),
        model.get(hot).map(|v| v.2.clone())
    );
    let (hits, misses) = cache.hits_and_misses();
    assert_eq!((hits, misses), (0, 1));
    assert_eq!(
        table.get(hot).unwrap().map(|e| e.2),
        model.get(hot).map(|v| v.2.clone())
    );
    assert_eq!(cache.hits_and_misses().0, 1, "the second lookup is a hit");
    for key in &keys {
        assert_eq!(
            table.get(key).unwrap().map(|e| e.2),
            model.get(*key).map(|v| v.2.clone())
        );
        assert!(cache.bytes() <= capacity, "{} > {capacity}", cache.bytes());
    }
    // Scans read through the cache but do not fill it.
    let before = cache.bytes();
    let table2 = Arc::new(
        Table::open_cached(&RealFs::new(), &path, None, Some(Arc::clone(&cache))).unwrap(),
    );
    assert_eq!(collect(table2.iter()).len(), model.len());
    assert_eq!(cache.bytes(), before);
}

/// Path-like keys sharing long prefixes, with compressible values.
fn path_model(n: u64) -> Model {
    (0..n)
        .map(|i| {
            let key = format!(
                "root{}/usr/share/doc/package-{:03}/examples/file-{i:05}.txt",
                i % 3,
                i / 7
            );
            let value = format!("name-{:03}-name-{:03}", i % 50, i % 50);
            (
                key.into_bytes(),
                (1000 + i, ValueKind::Put, value.into_bytes()),
            )
        })
        .collect()
}

fn codec_opts(compression: Compression) -> TableOptions {
    TableOptions {
        block_size: 256,
        compression,
        ..TableOptions::default()
    }
}

#[test]
fn every_single_byte_flip_is_detected_in_compressed_tables() {
    let dir = tempfile::tempdir().unwrap();
    let model = path_model(60);
    let raw_path = dir.path().join("none.sst");
    let raw_size = write_table(&raw_path, &model, codec_opts(Compression::None)).size;
    for codec in [Compression::Lz4, Compression::Zstd] {
        let path = dir.path().join(format!("{codec}.sst"));
        let meta = write_table(&path, &model, codec_opts(codec));
        assert!(
            meta.size < raw_size * 3 / 4,
            "{codec}: {} bytes vs {raw_size} uncompressed",
            meta.size
        );
        let table = open(&path);
        assert_eq!(table.properties().compression, codec);
        assert!(table.data_blocks() >= 4, "{} blocks", table.data_blocks());
        assert!(table.properties().index_partitions >= 2);
        assert_eq!(collect(table.iter()), as_entries(&model));
        drop(table);
        assert_every_flip_detected(dir.path(), &path);
    }
}

#[test]
fn prefix_compression_round_trips_at_every_restart_interval() {
    let dir = tempfile::tempdir().unwrap();
    let model = path_model(500);
    let mut sizes = Vec::new();
    for restart_interval in [1, 2, 3, 16, 1000] {
        let path = dir.path().join(format!("r{restart_interval}.sst"));
        let opts = TableOptions {
            block_size: 1024,
            compression: Compression::None,
            restart_interval,
            ..TableOptions::default()
        };
        sizes.push(write_table(&path, &model, opts).size);
        let table = open(&path);
        for (k, (seq, kind, v)) in &model {
            assert_eq!(table.get(k).unwrap(), Some((SeqNo(*seq), *kind, v.clone())));
            let mut absent = k.clone();
            absent.push(b'!');
            assert_eq!(table.get(&absent).unwrap(), None);
            absent.truncate(k.len() - 1);
            assert_eq!(
                table.get(&absent).unwrap(),
                None,
                "interval {restart_interval}"
            );
        }
        assert_eq!(collect(table.iter()), as_entries(&model));
        let mut reversed = as_entries(&model);
        reversed.reverse();
        let rev: Vec<Entry> = table.iter_rev(None).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(rev, reversed);
        // Seek to every 37th key and to just below it.
        for (k, _) in model.iter().step_by(37) {
            let mut it = table.iter();
            let below = &k[..k.len() - 1];
            it.seek(below).unwrap();
            let expected: Vec<&Vec<u8>> = model
                .range(below.to_vec()..)
                .map(|(k, _)| k)
                .take(3)
                .collect();
            let got: Vec<Vec<u8>> = it.take(3).map(|e| e.unwrap().key).collect();
            assert_eq!(got.iter().collect::<Vec<_>>(), expected);
        }
        let check = check_table(&RealFs, &path).unwrap();
        assert!(check.is_ok(), "{:?}", check.problems);
    }
    // Shared prefixes shrink the table: interval 16 well below interval 1 (full keys).
    assert!(sizes[3] * 10 < sizes[0] * 7, "{sizes:?}");
}

#[test]
fn incompressible_blocks_are_stored_raw() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let model: Model = (0..200u64)
        .map(|i| {
            (
                format!("k{i:05}").into_bytes(),
                (i, ValueKind::Put, rng.bytes(100)),
            )
        })
        .collect();
    let none = write_table(
        &dir.path().join("a.sst"),
        &model,
        codec_opts(Compression::None),
    );
    for codec in [Compression::Lz4, Compression::Zstd] {
        let path = dir.path().join(format!("{codec}.sst"));
        let meta = write_table(&path, &model, codec_opts(codec));
        // Random values do not shrink by 1/8: every data block is stored raw, byte for byte
        // what the uncompressed writer produced (the index blocks may still shrink).
        let raw = std::fs::read(dir.path().join("a.sst")).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let first = first_block_end(&raw);
        assert_eq!(bytes[..first], raw[..first], "{codec}");
        assert!(meta.size <= none.size, "{codec}");
        assert_eq!(collect(open(&path).iter()), as_entries(&model));
    }
}

#[test]
fn a_compressed_block_that_does_not_decompress_is_corruption_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let model = path_model(60);
    for codec in [Compression::Lz4, Compression::Zstd] {
        let good_path = dir.path().join("good.sst");
        let _ = std::fs::remove_file(&good_path);
        write_table(&good_path, &model, codec_opts(codec));
        let mut bytes = std::fs::read(&good_path).unwrap();
        let end = first_block_end(&bytes);
        assert_eq!(
            bytes[end - 5] >> 4,
            codec.tag(),
            "first block is compressed"
        );
        // Damage the compressed body, then make the checksum agree.
        for b in &mut bytes[3..end - 5] {
            *b = !*b;
        }
        reseal(&mut bytes, 0, end);
        let path = dir.path().join("000021.sst");
        std::fs::write(&path, &bytes).unwrap();
        let table = open(&path);
        let first_key = model.keys().next().unwrap();
        let err = table.get(first_key).unwrap_err();
        let text = err.to_string();
        assert!(err.is_corruption(), "{text}");
        assert!(text.contains("000021.sst at offset 0"), "{text}");
        assert!(text.contains("decompress"), "{text}");
        assert!(collect_result(table.iter()).is_err());
        let check = check_table(&RealFs, &path).unwrap();
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert_eq!(check.problems[0].offset, 0);
    }
}

fn collect_result(iter: TableIter) -> crate::error::Result<Vec<Entry>> {
    iter.collect()
}

#[test]
fn decompressed_size_is_checked_against_the_limit_before_allocating() {
    use super::compress::open_block;
    use super::format::BLOCK_DATA;
    for codec in [Compression::Lz4, Compression::Zstd] {
        let mut block = Vec::new();
        crate::codec::put_varint(&mut block, MAX_RAW_BLOCK as u64 + 1);
        block.extend_from_slice(&[0u8; 16]);
        block.push(BLOCK_DATA | (codec.tag() << 4));
        let crc = crc32(&block);
        put_u32(&mut block, crc);
        let fault = open_block(block, 4096, BLOCK_DATA).unwrap_err();
        assert_eq!(fault.offset, 4096);
        assert!(fault.detail.contains("limit"), "{}", fault.detail);
    }
    // An unknown codec nibble is corruption too.
    let mut block = b"payload".to_vec();
    block.push(BLOCK_DATA | (7 << 4));
    let crc = crc32(&block);
    put_u32(&mut block, crc);
    let fault = open_block(block, 0, BLOCK_DATA).unwrap_err();
    assert!(fault.detail.contains("unknown codec 7"), "{}", fault.detail);
}

#[test]
fn data_blocks_walk_reports_each_block_and_survives_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let model = path_model(200);
    let path = dir.path().join("000030.sst");
    write_table(&path, &model, codec_opts(Compression::Lz4));
    let blocks: Vec<DataBlockReport> = data_blocks(&RealFs, &path).unwrap().collect();
    let table = open(&path);
    assert_eq!(blocks.len(), table.data_blocks());
    let all: Vec<Entry> = blocks
        .iter()
        .flat_map(|b| b.entries.clone().unwrap())
        .collect();
    assert_eq!(all, as_entries(&model));
    assert!(blocks[0].after_key.is_none());
    for w in blocks.windows(2) {
        assert_eq!(w[1].after_key.as_deref(), Some(w[0].last_key.as_slice()));
        assert_eq!(w[0].offset + w[0].size, w[1].offset);
    }
    // Damage the second block: the walk still returns every other block intact.
    let mut bytes = std::fs::read(&path).unwrap();
    let victim = &blocks[1];
    bytes[victim.offset as usize + 2] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let damaged: Vec<DataBlockReport> = data_blocks(&RealFs, &path).unwrap().collect();
    assert_eq!(damaged.len(), blocks.len());
    for (i, (b, d)) in blocks.iter().zip(&damaged).enumerate() {
        assert_eq!(
            (b.offset, b.size, &b.last_key),
            (d.offset, d.size, &d.last_key)
        );
        if i == 1 {
            let problem = d.entries.as_ref().unwrap_err();
            assert_eq!(problem.kind, "checksum_mismatch");
            assert_eq!(problem.offset, victim.offset);
        } else {
            assert_eq!(d.entries.as_ref().unwrap(), b.entries.as_ref().unwrap());
        }
    }
}

#[test]
fn data_blocks_walk_reads_version_1_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    std::fs::write(&path, unhex(GOLDEN_V1)).unwrap();
    let blocks: Vec<DataBlockReport> = data_blocks(&RealFs, &path).unwrap().collect();
    assert_eq!(blocks.len(), 2);
    let keys: Vec<Vec<u8>> = blocks
        .iter()
        .flat_map(|b| b.entries.clone().unwrap())
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, [&b"apple"[..], b"banana", b"cherry", b"damson"]);
}
