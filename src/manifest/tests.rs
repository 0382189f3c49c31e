//! Tests of the manifest: edit encoding, pure version application, and the log on a real
//! filesystem under truncation at every offset and byte flips at every position.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::error::{Error, Result};
use crate::filenames::{manifest_name, CURRENT};
use crate::types::{FileNumber, SeqNo, TableMeta};
use crate::vfs::{FileLock, ReadableFile, RealFs, Vfs, WritableFile};

fn table(number: u64, smallest: &str, largest: &str) -> TableMeta {
    TableMeta {
        number: FileNumber(number),
        size: 1000 + number,
        entries: 10 * number,
        smallest: smallest.as_bytes().to_vec(),
        largest: largest.as_bytes().to_vec(),
        min_seq: SeqNo(number),
        max_seq: SeqNo(number + 100),
    }
}

fn add(level: u32, t: TableMeta) -> VersionEdit {
    VersionEdit {
        added: vec![(level, t)],
        ..VersionEdit::default()
    }
}

fn numbers(v: &Version, level: usize) -> Vec<u64> {
    v.levels[level].iter().map(|t| t.number.0).collect()
}

/// A small history: two flushes, a compaction into L1, a checkpoint move.
fn sample_edits() -> Vec<VersionEdit> {
    vec![
        VersionEdit {
            added: vec![(0, table(5, "a", "c"))],
            wal_checkpoint: Some(FileNumber(3)),
            next_file_number: Some(FileNumber(6)),
            last_sequence: Some(SeqNo(10)),
            ..VersionEdit::default()
        },
        VersionEdit {
            added: vec![(0, table(6, "b", "d"))],
            wal_checkpoint: Some(FileNumber(4)),
            next_file_number: Some(FileNumber(7)),
            last_sequence: Some(SeqNo(20)),
            ..VersionEdit::default()
        },
        VersionEdit {
            added: vec![(1, table(8, "c", "d")), (1, table(7, "a", "b"))],
            removed: vec![(0, FileNumber(5)), (0, FileNumber(6))],
            next_file_number: Some(FileNumber(9)),
            ..VersionEdit::default()
        },
        VersionEdit {
            wal_checkpoint: Some(FileNumber(8)),
            last_sequence: Some(SeqNo(30)),
            ..VersionEdit::default()
        },
    ]
}

/// The versions after 0, 1, ... edits.
fn prefixes(base: &Version, edits: &[VersionEdit]) -> Vec<Version> {
    let mut out = vec![base.clone()];
    for e in edits {
        let next = out.last().unwrap().apply(e).unwrap();
        out.push(next);
    }
    out
}

fn real() -> Arc<dyn Vfs> {
    Arc::new(RealFs::new())
}

/// A workdir with a manifest created from `Version::empty()` and `sample_edits()` appended.
fn sample_workdir() -> (tempfile::TempDir, PathBuf, Vec<Version>) {
    let dir = tempfile::tempdir().unwrap();
    let mut m =
        Manifest::create(real(), dir.path(), FileNumber(2), &Version::empty(), None).unwrap();
    for e in &sample_edits() {
        m.append(e).unwrap();
    }
    let path = dir.path().join(m.file_name());
    (dir, path, prefixes(&Version::empty(), &sample_edits()))
}

/// Offsets at which each record of the manifest ends (the header end first).
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = vec![HEADER_LEN];
    let mut pos = HEADER_LEN;
    while pos < bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += RECORD_HEADER_LEN + len;
        ends.push(pos);
    }
    assert_eq!(pos, bytes.len());
    ends
}

fn open_caught(dir: &Path) -> Result<(Manifest, Version)> {
    let dir = dir.to_path_buf();
    catch_unwind(AssertUnwindSafe(|| Manifest::open(real(), &dir))).expect("open panicked")
}

fn inspect_caught(dir: &Path) -> ManifestReport {
    let dir = dir.to_path_buf();
    catch_unwind(AssertUnwindSafe(|| inspect(&RealFs::new(), &dir)))
        .expect("inspect panicked")
        .expect("inspect failed with an I/O error")
}

// ---- edit encoding ----

fn arb_table() -> impl Strategy<Value = TableMeta> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..20),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(number, size, entries, smallest, largest, min, max)| TableMeta {
                number: FileNumber(number),
                size,
                entries,
                smallest,
                largest,
                min_seq: SeqNo(min),
                max_seq: SeqNo(max),
            },
        )
}

fn arb_edit() -> impl Strategy<Value = VersionEdit> {
    (
        proptest::collection::vec((any::<u32>(), arb_table()), 0..5),
        proptest::collection::vec((any::<u32>(), any::<u64>().prop_map(FileNumber)), 0..5),
        proptest::option::of(any::<u64>().prop_map(FileNumber)),
        proptest::option::of(any::<u64>().prop_map(FileNumber)),
        proptest::option::of(any::<u64>().prop_map(SeqNo)),
    )
        .prop_map(
            |(added, removed, wal_checkpoint, next_file_number, last_sequence)| VersionEdit {
                added,
                removed,
                wal_checkpoint,
                next_file_number,
                last_sequence,
            },
        )
}

proptest! {
    #[test]
    fn edit_round_trips(edit in arb_edit()) {
        let bytes = edit.encode();
        prop_assert!(!bytes.is_empty());
        prop_assert_eq!(VersionEdit::decode(&bytes), Ok(edit));
    }

    #[test]
    fn decode_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = VersionEdit::decode(&bytes);
    }

    #[test]
    fn every_strict_prefix_of_an_encoding_is_rejected(edit in arb_edit()) {
        let bytes = edit.encode();
        for cut in 0..bytes.len() {
            prop_assert!(VersionEdit::decode(&bytes[..cut]).is_err(), "cut {}", cut);
        }
    }
}

#[test]
fn decode_rejects_malformed_payloads() {
    let good = sample_edits()[0].encode();
    let mut trailing = good.clone();
    trailing.push(7);
    assert!(VersionEdit::decode(&trailing).is_err());
    assert!(VersionEdit::decode(&[9, 0]).is_err(), "unknown tag");
    assert!(
        VersionEdit::decode(&[4, 1, 4, 2, 0]).is_err(),
        "repeated counter"
    );
    // Level 2^32 does not fit in u32.
    assert!(VersionEdit::decode(&[2, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0]).is_err());
    assert!(VersionEdit::decode(&[]).is_err(), "no end tag");
    // A huge key length must be rejected without allocating.
    let huge = [1, 0, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0];
    assert!(VersionEdit::decode(&huge).is_err());
    assert_eq!(VersionEdit::decode(&[0]), Ok(VersionEdit::default()));
}

// ---- Version::apply ----

#[test]
fn apply_adds_and_removes() {
    let v = Version::empty().apply(&add(0, table(5, "a", "c"))).unwrap();
    assert!(v.contains(FileNumber(5)));
    assert_eq!(numbers(&v, 0), vec![5]);
    let removed = v
        .apply(&VersionEdit {
            removed: vec![(0, FileNumber(5))],
            ..VersionEdit::default()
        })
        .unwrap();
    assert!(!removed.contains(FileNumber(5)));
    assert!(removed.levels.iter().all(Vec::is_empty));
    assert_eq!(removed.levels.len(), NUM_LEVELS);
    // Pure: the input version is unchanged.
    assert!(v.contains(FileNumber(5)));
}

#[test]
fn apply_rejects_double_add_in_any_level() {
    let v = Version::empty().apply(&add(0, table(5, "a", "c"))).unwrap();
    assert!(v.apply(&add(0, table(5, "a", "c"))).is_err());
    let err = v.apply(&add(3, table(5, "x", "z"))).unwrap_err();
    assert!(err.contains("000005.sst"), "{err}");
    let twice = VersionEdit {
        added: vec![(1, table(9, "a", "b")), (2, table(9, "c", "d"))],
        ..VersionEdit::default()
    };
    assert!(Version::empty().apply(&twice).is_err());
}

#[test]
fn apply_rejects_missing_remove_and_bad_level() {
    let v = Version::empty().apply(&add(0, table(5, "a", "c"))).unwrap();
    let wrong_level = VersionEdit {
        removed: vec![(1, FileNumber(5))],
        ..VersionEdit::default()
    };
    assert!(v.apply(&wrong_level).is_err());
    let absent = VersionEdit {
        removed: vec![(0, FileNumber(6))],
        ..VersionEdit::default()
    };
    assert!(v.apply(&absent).is_err());
    assert!(Version::empty().apply(&add(7, table(1, "a", "b"))).is_err());
    assert!(Version::empty()
        .apply(&VersionEdit {
            removed: vec![(u32::MAX, FileNumber(1))],
            ..VersionEdit::default()
        })
        .is_err());
}

#[test]
fn apply_can_move_a_table_between_levels_in_one_edit() {
    let v = Version::empty().apply(&add(0, table(5, "a", "c"))).unwrap();
    let moved = v
        .apply(&VersionEdit {
            added: vec![(1, table(5, "a", "c"))],
            removed: vec![(0, FileNumber(5))],
            ..VersionEdit::default()
        })
        .unwrap();
    assert_eq!(numbers(&moved, 0), Vec::<u64>::new());
    assert_eq!(numbers(&moved, 1), vec![5]);
}

#[test]
fn l0_is_newest_first_and_l1_sorted_by_key() {
    let mut v = Version::empty();
    for n in [3, 9, 5] {
        v = v.apply(&add(0, table(n, "a", "z"))).unwrap();
    }
    assert_eq!(numbers(&v, 0), vec![9, 5, 3]);
    let batch = VersionEdit {
        added: vec![
            (1, table(20, "m", "n")),
            (1, table(21, "a", "b")),
            (1, table(22, "x", "y")),
        ],
        ..VersionEdit::default()
    };
    v = v.apply(&batch).unwrap();
    v = v.apply(&add(1, table(23, "c", "d"))).unwrap();
    assert_eq!(numbers(&v, 1), vec![21, 23, 20, 22]);
    assert!(
        v.check_invariants().is_empty(),
        "{:?}",
        v.check_invariants()
    );
    let all: Vec<(u32, u64)> = v.all_tables().map(|(l, t)| (l, t.number.0)).collect();
    assert_eq!(
        all,
        vec![(0, 9), (0, 5), (0, 3), (1, 21), (1, 23), (1, 20), (1, 22)]
    );
}

#[test]
fn counters_only_grow() {
    let up = VersionEdit {
        wal_checkpoint: Some(FileNumber(10)),
        next_file_number: Some(FileNumber(20)),
        last_sequence: Some(SeqNo(30)),
        ..VersionEdit::default()
    };
    let v = Version::empty().apply(&up).unwrap();
    let down = VersionEdit {
        wal_checkpoint: Some(FileNumber(1)),
        next_file_number: Some(FileNumber(2)),
        last_sequence: Some(SeqNo(3)),
        ..VersionEdit::default()
    };
    let v2 = v.apply(&down).unwrap();
    assert_eq!(v2.wal_checkpoint, FileNumber(10));
    assert_eq!(v2.next_file_number, FileNumber(20));
    assert_eq!(v2.last_sequence, SeqNo(30));
    let v3 = v2.apply(&VersionEdit::default()).unwrap();
    assert_eq!(v3, v2);
    let v4 = v3
        .apply(&VersionEdit {
            next_file_number: Some(FileNumber(21)),
            ..VersionEdit::default()
        })
        .unwrap();
    assert_eq!(v4.next_file_number, FileNumber(21));
}

#[test]
fn snapshot_edit_recreates_the_version() {
    let v = prefixes(&Version::empty(), &sample_edits()).pop().unwrap();
    let mut more = v.apply(&add(0, table(11, "k", "l"))).unwrap();
    more = more.apply(&add(0, table(10, "k", "m"))).unwrap();
    assert_eq!(Version::empty().apply(&more.snapshot_edit()).unwrap(), more);
}

#[test]
fn check_invariants_finds_overlap_in_l1() {
    let mut v = Version::empty();
    v = v.apply(&add(1, table(1, "a", "f"))).unwrap();
    v = v.apply(&add(1, table(2, "g", "k"))).unwrap();
    assert!(v.check_invariants().is_empty());
    // Overlapping key ranges: apply accepts them, check_invariants reports them.
    v = v.apply(&add(1, table(3, "e", "h"))).unwrap();
    let problems = v.check_invariants();
    assert!(
        problems.iter().any(|p| p.contains("overlaps")
            && p.contains("000001.sst")
            && p.contains("000003.sst")),
        "{problems:?}"
    );
    // Touching keys overlap too.
    let touching = Version::empty()
        .apply(&VersionEdit {
            added: vec![(2, table(1, "a", "c")), (2, table(2, "c", "d"))],
            ..VersionEdit::default()
        })
        .unwrap();
    assert_eq!(touching.check_invariants().len(), 1);
    // L0 may overlap freely.
    let l0 = Version::empty()
        .apply(&VersionEdit {
            added: vec![(0, table(1, "a", "z")), (0, table(2, "a", "z"))],
            ..VersionEdit::default()
        })
        .unwrap();
    assert!(l0.check_invariants().is_empty());
}

#[test]
fn check_invariants_finds_hand_built_damage() {
    let mut v = Version::empty();
    v.levels[1].push(Arc::new(table(4, "m", "n")));
    v.levels[1].push(Arc::new(table(5, "a", "b")));
    v.levels[2].push(Arc::new(table(4, "x", "y")));
    v.levels[3].push(Arc::new(table(6, "z", "a")));
    let problems = v.check_invariants();
    assert!(
        problems.iter().any(|p| p.contains("not sorted")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("L1 and in L2")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("above largest")),
        "{problems:?}"
    );
}

// ---- the log on disk ----

#[test]
fn create_append_reopen_yields_the_same_version() {
    let (dir, path, versions) = sample_workdir();
    let expected = versions.last().unwrap();
    let current = std::fs::read_to_string(dir.path().join(CURRENT)).unwrap();
    let name = manifest_name(FileNumber(2));
    assert_eq!(
        current,
        format!("{name} {:08x}\n", crate::codec::crc32(name.as_bytes()))
    );
    assert_eq!(
        read_current(&RealFs::new(), dir.path()).unwrap(),
        Some(name.clone())
    );

    let (mut m, v) = Manifest::open(real(), dir.path()).unwrap();
    assert_eq!(&v, expected);
    assert_eq!(m.file_name(), name);
    assert_eq!(m.number(), FileNumber(2));
    assert_eq!(m.edits(), 5);
    assert_eq!(m.size(), std::fs::metadata(&path).unwrap().len());

    let extra = add(0, table(12, "q", "r"));
    m.append(&extra).unwrap();
    assert_eq!(m.edits(), 6);
    assert_eq!(m.size(), std::fs::metadata(&path).unwrap().len());
    drop(m);
    let (m, v) = Manifest::open(real(), dir.path()).unwrap();
    assert_eq!(v, expected.apply(&extra).unwrap());
    assert_eq!(m.edits(), 6);

    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records, 6);
    assert_eq!(report.version, Some(v));
    assert_eq!(report.current, Some(name));
    assert_eq!(report.file_size, m.size());
    assert_eq!(report.torn_tail, None);
}

#[test]
fn missing_current_and_missing_manifest_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    match Manifest::open(real(), dir.path()) {
        Err(Error::NotADatabase { path, .. }) => assert_eq!(path, dir.path()),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    assert_eq!(read_current(&RealFs::new(), dir.path()).unwrap(), None);
    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert_eq!(report.problems[0].kind, "current_missing");
    assert!(report.version.is_none());

    let (dir, path, _) = sample_workdir();
    std::fs::remove_file(&path).unwrap();
    match Manifest::open(real(), dir.path()) {
        Err(Error::MissingFile { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected MissingFile, got {other:?}"),
    }
    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, "manifest_missing");
    assert_eq!(report.current, Some(manifest_name(FileNumber(2))));
}

#[test]
fn newer_format_version_is_unsupported() {
    let (dir, path, _) = sample_workdir();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crate::codec::crc32(&bytes[..12]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    match Manifest::open(real(), dir.path()) {
        Err(Error::UnsupportedFormat {
            found, supported, ..
        }) => assert_eq!((found, supported), (2, FORMAT_VERSION)),
        other => panic!("expected UnsupportedFormat, got {other:?}"),
    }
    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert_eq!(report.problems[0].kind, "bad_header");
}

#[test]
fn truncation_at_every_offset_yields_a_prefix_or_a_clean_error() {
    let (dir, path, versions) = sample_workdir();
    let full = std::fs::read(&path).unwrap();
    let ends = record_ends(&full);
    assert_eq!(ends.len(), versions.len() + 1, "header + snapshot + edits");
    for cut in 0..=full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let result = open_caught(dir.path());
        if cut < HEADER_LEN {
            let err = result.expect_err("a cut header must fail");
            assert!(err.is_corruption(), "cut {cut}: {err}");
            continue;
        }
        let (m, v) = result.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        // Records wholly inside the cut survive; a partial one never does.
        let complete = ends.iter().filter(|&&e| e <= cut).count() - 1;
        let boundary = ends[complete];
        assert_eq!(m.edits(), complete as u64, "cut {cut}");
        if complete == 0 {
            assert_eq!(v, Version::empty(), "cut {cut}");
        } else {
            assert_eq!(v, versions[complete - 1], "cut {cut}");
        }
        // The torn tail was truncated away.
        assert_eq!(m.size(), boundary as u64, "cut {cut}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), boundary as u64);
    }
}

#[test]
fn append_after_a_torn_tail_open_reopens_cleanly() {
    let (dir, path, versions) = sample_workdir();
    let full = std::fs::read(&path).unwrap();
    let ends = record_ends(&full);
    // Cut the last record in half.
    let cut = (ends[ends.len() - 2] + ends[ends.len() - 1]) / 2;
    std::fs::write(&path, &full[..cut]).unwrap();
    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert_eq!(report.torn_tail, Some(ends[ends.len() - 2] as u64));
    assert_eq!(report.problems[0].kind, "torn_tail");
    assert_eq!(
        std::fs::read(&path).unwrap().len(),
        cut,
        "inspect never truncates"
    );

    let (mut m, v) = Manifest::open(real(), dir.path()).unwrap();
    let before = &versions[versions.len() - 2];
    assert_eq!(&v, before);
    let extra = add(2, table(40, "a", "b"));
    m.append(&extra).unwrap();
    drop(m);
    let (m, v) = Manifest::open(real(), dir.path()).unwrap();
    assert_eq!(v, before.apply(&extra).unwrap());
    assert_eq!(m.edits(), (versions.len() - 1 + 1) as u64);
    assert!(inspect(&RealFs::new(), dir.path())
        .unwrap()
        .problems
        .is_empty());
}

#[test]
fn zero_filled_tail_is_torn() {
    let (dir, path, versions) = sample_workdir();
    let full = std::fs::read(&path).unwrap();
    for zeros in [1usize, 7, 8, 100] {
        let mut bytes = full.clone();
        bytes.resize(full.len() + zeros, 0);
        std::fs::write(&path, &bytes).unwrap();
        let report = inspect(&RealFs::new(), dir.path()).unwrap();
        assert_eq!(report.torn_tail, Some(full.len() as u64));
        let (m, v) = Manifest::open(real(), dir.path()).unwrap();
        assert_eq!(&v, versions.last().unwrap());
        assert_eq!(m.size(), full.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), full);
    }
}

#[test]
fn every_byte_flip_in_the_manifest_is_reported_and_before_the_last_record_fails_open() {
    let (dir, path, versions) = sample_workdir();
    let full = std::fs::read(&path).unwrap();
    let ends = record_ends(&full);
    let last_record = ends[ends.len() - 2];
    for i in 0..full.len() {
        for mask in [0x01u8, 0x20, 0x80, 0xff] {
            let mut bytes = full.clone();
            bytes[i] ^= mask;
            std::fs::write(&path, &bytes).unwrap();
            let report = inspect_caught(dir.path());
            assert!(
                !report.problems.is_empty(),
                "flip {mask:#x} at {i} not reported"
            );
            assert_eq!(
                std::fs::read(&path).unwrap(),
                bytes,
                "inspect changed the file"
            );
            let torn = report.problems.iter().any(|p| p.kind == "torn_tail");
            // A damaged last record looks exactly like an unsynced append torn by writeback
            // (no valid record follows it): a torn tail, ignored. Anywhere before it, the
            // records after it show it is corruption.
            if i < last_record || !torn {
                assert!(!torn, "flip {mask:#x} at {i} taken for a torn tail");
                let err = open_caught(dir.path())
                    .map(|_| ())
                    .expect_err(&format!("flip {mask:#x} at {i} opened"));
                assert!(err.is_corruption(), "flip {mask:#x} at {i}: {err}");
                if i >= HEADER_LEN {
                    match err {
                        Error::Corruption { path: p, .. } => assert_eq!(p, path),
                        other => panic!("flip {mask:#x} at {i}: {other}"),
                    }
                }
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    bytes,
                    "failed open changed the file"
                );
            } else {
                assert_eq!(report.torn_tail, Some(last_record as u64));
                let (m, v) = Manifest::open_keeping_tail(real(), dir.path()).unwrap();
                assert_eq!(&v, &versions[versions.len() - 2], "flip {mask:#x} at {i}");
                let tail = m.dropped_tail().expect("torn tail recorded");
                assert_eq!(tail.offset, last_record as u64);
                assert_eq!(tail.bytes_dropped, (full.len() - last_record) as u64);
            }
        }
    }
}

#[test]
fn every_byte_flip_in_current_fails_open_and_is_reported() {
    let (dir, _, _) = sample_workdir();
    let current = dir.path().join(CURRENT);
    let full = std::fs::read(&current).unwrap();
    for i in 0..full.len() {
        for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
            let mut bytes = full.clone();
            bytes[i] ^= mask;
            std::fs::write(&current, &bytes).unwrap();
            let report = inspect_caught(dir.path());
            assert_eq!(report.problems.len(), 1, "flip {mask:#x} at {i}");
            assert_eq!(report.problems[0].kind, "current_corrupt");
            assert!(report.version.is_none());
            assert_eq!(std::fs::read(&current).unwrap(), bytes);
            let err = open_caught(dir.path())
                .map(|_| ())
                .expect_err(&format!("flip {mask:#x} at {i} opened"));
            assert!(err.is_corruption(), "flip {mask:#x} at {i}: {err}");
            assert!(
                read_current(&RealFs::new(), dir.path()).is_err(),
                "flip {mask:#x} at {i}"
            );
        }
    }
    // Truncated CURRENT is damaged too.
    for cut in 0..full.len() {
        std::fs::write(&current, &full[..cut]).unwrap();
        assert!(open_caught(dir.path()).is_err(), "cut {cut}");
    }
}

/// Appends a raw record with a valid checksum.
fn append_raw_record(path: &Path, payload: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crate::codec::crc32(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_edit_that_does_not_apply_is_corruption_at_its_offset() {
    let (dir, path, versions) = sample_workdir();
    let offset = std::fs::metadata(&path).unwrap().len();
    // File 7 is already in L1.
    append_raw_record(&path, &add(0, table(7, "a", "b")).encode());
    append_raw_record(&path, &add(0, table(50, "a", "b")).encode());
    match Manifest::open(real(), dir.path()) {
        Err(Error::Corruption {
            path: p,
            offset: o,
            reason,
        }) => {
            assert_eq!((p, o), (path.clone(), offset));
            assert!(reason.contains("does not apply"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].kind, "bad_edit");
    assert_eq!(report.problems[0].offset, Some(offset));
    assert_eq!(report.version.as_ref(), versions.last());
    assert_eq!(report.records, 7);
}

#[test]
fn an_undecodable_payload_is_corruption() {
    let (dir, path, _) = sample_workdir();
    let offset = std::fs::metadata(&path).unwrap().len();
    append_raw_record(&path, &[42, 0]);
    match Manifest::open(real(), dir.path()) {
        Err(Error::Corruption { offset: o, .. }) => assert_eq!(o, offset),
        other => panic!("expected corruption, got {other:?}"),
    }
    let report = inspect(&RealFs::new(), dir.path()).unwrap();
    assert_eq!(report.problems[0].kind, "bad_record");
}

#[test]
fn rewrite_keeps_the_version_and_removes_the_old_manifest() {
    let (dir, old_path, versions) = sample_workdir();
    let (m, v) = Manifest::open(real(), dir.path()).unwrap();
    let next = v.next_file_number;
    drop(m);
    let mut m = Manifest::create(real(), dir.path(), next, &v, Some(&old_path)).unwrap();
    assert!(!old_path.exists());
    assert_eq!(m.edits(), 1);
    assert_eq!(m.number(), next);
    assert_eq!(
        read_current(&RealFs::new(), dir.path()).unwrap(),
        Some(manifest_name(next))
    );
    let extra = add(0, table(60, "a", "b"));
    m.append(&extra).unwrap();
    drop(m);
    let (m, reopened) = Manifest::open(real(), dir.path()).unwrap();
    assert_eq!(&reopened, &versions.last().unwrap().apply(&extra).unwrap());
    assert_eq!(m.file_name(), manifest_name(next));
    // No temporaries left behind; a bare file name for `old` works too.
    let again = Manifest::create(
        real(),
        dir.path(),
        FileNumber(next.0 + 1),
        &reopened,
        Some(Path::new(&m.file_name())),
    )
    .unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, vec![CURRENT.to_string(), again.file_name()]);
}

#[test]
fn create_refuses_an_existing_manifest_number() {
    let (dir, path, _) = sample_workdir();
    let before = std::fs::read(&path).unwrap();
    assert!(Manifest::create(real(), dir.path(), FileNumber(2), &Version::empty(), None).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

// ---- a failing append poisons the manifest ----

/// RealFs, except that every append or sync fails while `fail` is set.
#[derive(Debug)]
struct FailingFs {
    fail: Arc<AtomicBool>,
}

struct FailingFile {
    inner: Box<dyn WritableFile>,
    fail: Arc<AtomicBool>,
}

fn injected(path: &Path) -> Error {
    Error::io("write", path)(std::io::Error::from_raw_os_error(28))
}

impl WritableFile for FailingFile {
    fn append(&self, data: &[u8]) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            // A short write: half the bytes land.
            self.inner.append(&data[..data.len() / 2])?;
            return Err(injected(self.inner.path()));
        }
        self.inner.append(data)
    }
    fn sync(&self) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(injected(self.inner.path()));
        }
        self.inner.sync()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

impl Vfs for FailingFs {
    fn create_new(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        Ok(Box::new(FailingFile {
            inner: RealFs.create_new(path)?,
            fail: self.fail.clone(),
        }))
    }
    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        Ok(Box::new(FailingFile {
            inner: RealFs.open_append(path)?,
            fail: self.fail.clone(),
        }))
    }
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        RealFs.open_read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        RealFs.rename(from, to)
    }
    fn rename_no_replace(&self, from: &Path, to: &Path) -> Result<()> {
        RealFs.rename_no_replace(from, to)
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        RealFs.remove_file(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        RealFs.truncate(path, len)
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        RealFs.sync_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        RealFs.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        RealFs.list_dir(path)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        RealFs.exists(path)
    }
    fn file_size(&self, path: &Path) -> Result<u64> {
        RealFs.file_size(path)
    }
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        RealFs.lock(path)
    }
    fn lock_holder(&self, path: &Path) -> Result<Option<Option<u32>>> {
        RealFs.lock_holder(path)
    }
}

#[test]
fn a_failed_append_poisons_the_manifest_and_reopen_recovers() {
    let (dir, _, versions) = sample_workdir();
    let fail = Arc::new(AtomicBool::new(false));
    let vfs: Arc<dyn Vfs> = Arc::new(FailingFs { fail: fail.clone() });
    let (mut m, _) = Manifest::open(vfs, dir.path()).unwrap();
    fail.store(true, Ordering::SeqCst);
    assert!(m.append(&add(0, table(70, "a", "b"))).is_err());
    fail.store(false, Ordering::SeqCst);
    match m.append(&add(0, table(71, "a", "b"))) {
        Err(Error::Background { cause }) => assert!(cause.contains("write"), "{cause}"),
        other => panic!("expected a poisoned manifest, got {other:?}"),
    }
    drop(m);
    // The half-written record is a torn tail: reopen drops it and appends work again.
    let (mut m, v) = Manifest::open(real(), dir.path()).unwrap();
    assert_eq!(&v, versions.last().unwrap());
    m.append(&add(0, table(72, "a", "b"))).unwrap();
    drop(m);
    let (_, v) = Manifest::open(real(), dir.path()).unwrap();
    assert!(v.contains(FileNumber(72)) && !v.contains(FileNumber(70)));
}

#[test]
fn a_failed_create_leaves_no_new_manifest_and_current_unchanged() {
    let (dir, old_path, _) = sample_workdir();
    let current_before = std::fs::read(dir.path().join(CURRENT)).unwrap();
    let fail = Arc::new(AtomicBool::new(true));
    let vfs: Arc<dyn Vfs> = Arc::new(FailingFs { fail });
    assert!(Manifest::create(
        vfs,
        dir.path(),
        FileNumber(30),
        &Version::empty(),
        Some(&old_path)
    )
    .is_err());
    assert!(!dir.path().join(manifest_name(FileNumber(30))).exists());
    assert!(old_path.exists());
    assert_eq!(
        std::fs::read(dir.path().join(CURRENT)).unwrap(),
        current_before
    );
}

#[test]
fn apply_checked_refuses_an_edit_that_makes_a_level_overlap() {
    let v = Version::empty().apply(&add(1, table(1, "a", "f"))).unwrap();
    let err = v.apply_checked(&add(1, table(2, "f", "k"))).unwrap_err();
    assert!(
        err.contains("000002.sst") && err.contains("000001.sst"),
        "{err}"
    );
    // Another level, L0, or a move that removes the other table first: accepted.
    assert!(v.apply_checked(&add(2, table(2, "a", "k"))).is_ok());
    assert!(v.apply_checked(&add(0, table(2, "a", "k"))).is_ok());
    let moved = VersionEdit {
        added: vec![(1, table(2, "a", "k"))],
        removed: vec![(1, FileNumber(1))],
        ..VersionEdit::default()
    };
    assert!(v.apply_checked(&moved).is_ok());
}
