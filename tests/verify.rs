//! `verify` and the offline `stats` on workdirs built by the engine in a `MemVfs`: a clean
//! workdir, every single-byte flip of every data file, crafted damage (truncation, missing,
//! orphan and temp files, torn tails, obsolete segments, overlapping levels), a live
//! workdir, and the flush backlog after a crash.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nokv::filenames::{self, FileKind};
use nokv::inspect::offline_stats;
use nokv::manifest::{self, Manifest, VersionEdit};
use nokv::verify::{verify, Problem, Severity, VerifyOptions, VerifyReport};
use nokv::vfs::{MemVfs, Vfs};
use nokv::{Compression, Db, Error, FileNumber, Options, SeqNo, TableMeta};

const DIR: &str = "/db";

fn dir() -> &'static Path {
    Path::new(DIR)
}

fn options() -> Options {
    Options {
        memtable_size: 16 << 10,
        block_size: 512,
        stats_interval: None,
        background_flush: false,
        max_immutables: 16,
        ..Options::default()
    }
}

fn open(mem: &MemVfs, opts: Options) -> Db {
    Db::open_with_vfs(Arc::new(mem.clone()), dir(), opts).unwrap()
}

fn put_range(db: &Db, from: usize, to: usize) {
    for i in from..to {
        let key = format!("key{i:05}");
        let value = format!("value-{i}-{}", "x".repeat(i % 23));
        db.put(key.as_bytes(), value.as_bytes()).unwrap();
    }
}

/// One flushed table of several data blocks, a few more writes left in the WAL, closed.
fn build() -> MemVfs {
    build_with(options())
}

fn build_with(opts: Options) -> MemVfs {
    let mem = MemVfs::new();
    let db = open(&mem, opts);
    put_range(&db, 0, 80);
    let summary = db.flush().unwrap();
    assert_eq!(summary.tables.len(), 1);
    put_range(&db, 80, 90);
    db.close().unwrap();
    mem
}

fn snapshot(mem: &MemVfs) -> BTreeMap<PathBuf, Vec<u8>> {
    mem.file_names()
        .into_iter()
        .map(|p| {
            let bytes = mem.read_file(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

fn run(mem: &MemVfs) -> VerifyReport {
    verify(mem, dir(), &VerifyOptions::default()).unwrap()
}

fn kinds(report: &VerifyReport) -> Vec<(String, String)> {
    report
        .problems
        .iter()
        .map(|p| (p.kind.clone(), p.file.clone()))
        .collect()
}

fn find<'a>(report: &'a VerifyReport, kind: &str, file: &str) -> &'a Problem {
    report
        .problems
        .iter()
        .find(|p| p.kind == kind && p.file == file)
        .unwrap_or_else(|| panic!("no {kind} for {file} in {:#?}", report.problems))
}

/// Relative names of the files of one kind.
fn named(mem: &MemVfs, pick: impl Fn(FileKind) -> bool) -> Vec<String> {
    mem.file_names()
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(DIR).ok()?.to_string_lossy().into_owned();
            let name = p.file_name()?.to_string_lossy().into_owned();
            filenames::parse(&name).filter(|k| pick(*k)).map(|_| rel)
        })
        .collect()
}

fn the_table(mem: &MemVfs) -> String {
    let tables = named(mem, |k| matches!(k, FileKind::Table(_)));
    assert_eq!(tables.len(), 1, "{tables:?}");
    tables[0].clone()
}

fn the_wal(mem: &MemVfs) -> String {
    let segments = named(mem, |k| matches!(k, FileKind::Wal(_)));
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments[0].clone()
}

fn the_manifest(mem: &MemVfs) -> String {
    manifest::read_current(mem, dir()).unwrap().unwrap()
}

fn path(rel: &str) -> PathBuf {
    dir().join(rel)
}

fn ends_with_edit(mem: &MemVfs, edit: &VersionEdit) {
    let vfs: Arc<dyn Vfs> = Arc::new(mem.clone());
    let (mut manifest, _) = Manifest::open(vfs, dir()).unwrap();
    manifest.append(edit).unwrap();
}

#[test]
fn clean_workdir_verifies_ok() {
    let mem = build();
    let before = snapshot(&mem);
    let report = run(&mem);
    assert!(report.ok, "{:#?}", report.problems);
    assert!(report.problems.is_empty());
    assert_eq!(
        report.checks,
        vec!["manifest", "files", "tables", "levels", "wal"]
    );
    assert!(!report.live);
    // CURRENT, the manifest, the table, the WAL segment.
    assert_eq!(report.files_checked, 4);
    let data_bytes: u64 = before
        .iter()
        .filter(|(p, _)| {
            let name = p.file_name().unwrap().to_string_lossy();
            !matches!(
                filenames::parse(&name),
                Some(FileKind::Lock | FileKind::Stats | FileKind::Events) | None
            )
        })
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert_eq!(report.bytes_checked, data_bytes);
    assert_eq!(snapshot(&mem), before, "verify changed the workdir");
}

#[test]
fn every_byte_flip_is_found_and_nothing_changes() {
    // Uncompressed, lz4- and zstd-compressed tables (all prefix-compressed).
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        every_byte_flip_is_found_with(compression);
    }
}

fn every_byte_flip_is_found_with(compression: Compression) {
    let mem = build_with(Options {
        compression,
        block_size: 256,
        ..options()
    });
    let table = the_table(&mem);
    let opened = nokv::sst::Table::open(&mem, &path(&table), None).unwrap();
    // At least three data blocks, in the codec asked for.
    assert!(opened.data_blocks() >= 3, "{} blocks", opened.data_blocks());
    assert_eq!(opened.properties().compression, compression);
    drop(opened);
    let targets = [
        "CURRENT".to_string(),
        the_manifest(&mem),
        table,
        the_wal(&mem),
    ];
    let before = snapshot(&mem);
    let mut flips = 0;
    for target in &targets {
        let file = path(target);
        let original = mem.read_file(&file).unwrap();
        assert!(!original.is_empty());
        for i in 0..original.len() {
            let mut damaged = original.clone();
            damaged[i] ^= 0x01;
            flips += 1;
            mem.write_file(&file, &damaged);
            let expected = {
                let mut s = before.clone();
                s.insert(file.clone(), damaged.clone());
                s
            };
            let result = catch_unwind(AssertUnwindSafe(|| run(&mem)));
            let report =
                result.unwrap_or_else(|_| panic!("verify panicked on {target} byte {i} flipped"));
            assert!(
                report.problems.iter().any(|p| &p.file == target),
                "flip of {target} byte {i} not found: {:#?}",
                report.problems
            );
            // A flip in the last record of a log is indistinguishable from an unsynced append
            // torn by a crash: a leftover (open drops it). Anything else is damage.
            assert!(
                !report.ok
                    || report
                        .problems
                        .iter()
                        .all(|p| p.kind == "torn_tail" && p.severity == Severity::Leftover),
                "flip of {target} byte {i} is not damage: {:#?}",
                report.problems
            );
            assert!(
                snapshot(&mem) == expected,
                "verify changed files ({target} byte {i})"
            );
        }
        mem.write_file(&file, &original);
    }
    let total: usize = targets.iter().map(|t| before[&path(t)].len()).sum();
    assert_eq!(flips, total);
    assert!(flips > 2000, "{compression}: {flips} flips");
    assert!(run(&mem).ok);
}

#[test]
fn truncated_table_is_found() {
    let mem = build();
    let table = the_table(&mem);
    let bytes = mem.read_file(path(&table)).unwrap();
    mem.write_file(path(&table), &bytes[..bytes.len() - 100]);
    let report = run(&mem);
    let p = find(&report, "size_mismatch", &table);
    assert_eq!(p.level, Some(0));
    assert_eq!(p.expected, Some(bytes.len().to_string()));
    assert_eq!(p.actual, Some((bytes.len() - 100).to_string()));
    // The table's own check finds the damage too.
    assert!(report.problems.len() >= 2, "{:#?}", report.problems);
}

#[test]
fn missing_orphan_and_temp_files_are_found() {
    let mem = build();
    let table = the_table(&mem);
    let bytes = mem.read_file(path(&table)).unwrap();
    mem.remove_file(&path(&table)).unwrap();
    mem.write_file(path("000777.sst"), &bytes);
    mem.write_file(path("000778.sst.tmp.42.123"), b"partial");
    mem.write_file(path("wal/000779.wal.tmp.42.123"), b"partial");
    mem.write_file(path("notes.txt"), b"not ours");
    let report = run(&mem);
    assert_eq!(find(&report, "missing", &table).level, Some(0));
    find(&report, "orphan", "000777.sst");
    find(&report, "temp_file", "000778.sst.tmp.42.123");
    find(&report, "temp_file", "wal/000779.wal.tmp.42.123");
    assert_eq!(report.problems.len(), 4, "{:#?}", report.problems);
}

#[test]
fn superseded_manifest_is_an_orphan() {
    let mem = build();
    let current = the_manifest(&mem);
    let bytes = mem.read_file(path(&current)).unwrap();
    mem.write_file(path("MANIFEST-000000"), &bytes);
    let report = run(&mem);
    assert_eq!(
        kinds(&report),
        vec![("orphan".to_string(), "MANIFEST-000000".to_string())]
    );
}

#[test]
fn zero_filled_wal_tail_is_a_torn_tail() {
    let mem = build();
    let wal = the_wal(&mem);
    let mut bytes = mem.read_file(path(&wal)).unwrap();
    let end = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 300]);
    mem.write_file(path(&wal), &bytes);
    let report = run(&mem);
    let p = find(&report, "torn_tail", &wal);
    assert_eq!(p.offset, Some(end));
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
}

#[test]
fn damaged_length_in_the_middle_of_a_segment_is_corruption_not_a_torn_tail() {
    let mem = build();
    let wal = the_wal(&mem);
    let mut bytes = mem.read_file(path(&wal)).unwrap();
    // The first record's length field: make it run past the end of the segment.
    let header = nokv::wal::HEADER_LEN as usize;
    bytes[header + 3] ^= 0x40;
    mem.write_file(path(&wal), &bytes);
    let report = run(&mem);
    let p = find(&report, "wal_corrupt", &wal);
    assert_eq!(p.offset, Some(header as u64));
}

#[test]
fn recovery_refuses_a_damaged_length_instead_of_truncating_the_records_after_it() {
    let mem = build();
    let wal = the_wal(&mem);
    let mut bytes = mem.read_file(path(&wal)).unwrap();
    bytes[nokv::wal::HEADER_LEN as usize + 3] ^= 0x40;
    mem.write_file(path(&wal), &bytes);
    let err = Db::open_with_vfs(Arc::new(mem.clone()), dir(), options()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert_eq!(mem.read_file(path(&wal)).unwrap(), bytes, "segment was cut");
}

#[test]
fn garbage_after_the_manifest_is_found() {
    let mem = build();
    let current = the_manifest(&mem);
    let mut bytes = mem.read_file(path(&current)).unwrap();
    let end = bytes.len() as u64;
    bytes.extend_from_slice(b"this is not a manifest record at all");
    mem.write_file(path(&current), &bytes);
    let report = run(&mem);
    let p = report
        .problems
        .iter()
        .find(|p| p.file == current)
        .unwrap_or_else(|| panic!("{:#?}", report.problems));
    assert_eq!(p.offset, Some(end));
}

#[test]
fn obsolete_wal_segment_is_found() {
    let mem = build();
    let version = manifest::inspect(&mem, dir()).unwrap().version.unwrap();
    let below = FileNumber(version.wal_checkpoint.0 - 1);
    let name = format!("wal/{}", filenames::wal_name(below));
    mem.write_file(path(&name), &nokv::wal::encode_header(below));
    let report = run(&mem);
    assert_eq!(
        kinds(&report),
        vec![("obsolete_wal".to_string(), name.clone())]
    );
}

#[test]
fn overlapping_l1_tables_break_the_level_invariants() {
    let mem = build();
    let version = manifest::inspect(&mem, dir()).unwrap().version.unwrap();
    let n = version.next_file_number.0;
    let table = |number: u64, smallest: &str, largest: &str| TableMeta {
        number: FileNumber(number),
        size: 1000,
        entries: 10,
        smallest: smallest.as_bytes().to_vec(),
        largest: largest.as_bytes().to_vec(),
        min_seq: SeqNo(1),
        max_seq: SeqNo(10),
    };
    ends_with_edit(
        &mem,
        &VersionEdit {
            added: vec![(1, table(n, "a", "m")), (1, table(n + 1, "k", "z"))],
            next_file_number: Some(FileNumber(n + 2)),
            ..VersionEdit::default()
        },
    );
    let current = the_manifest(&mem);
    let report = run(&mem);
    let p = find(&report, "level_invariant", &current);
    assert_eq!(p.level, Some(1));
    assert!(p.detail.contains("overlaps"), "{}", p.detail);
    assert_eq!(
        find(&report, "missing", &filenames::table_name(FileNumber(n))).level,
        Some(1)
    );
}

#[test]
fn manifest_disagreeing_with_the_table_is_found() {
    let mem = build();
    let version = manifest::inspect(&mem, dir()).unwrap().version.unwrap();
    let meta = TableMeta::clone(&version.levels[0][0]);
    let mut wrong = meta.clone();
    wrong.entries += 1;
    wrong.largest = b"zzz".to_vec();
    ends_with_edit(
        &mem,
        &VersionEdit {
            removed: vec![(0, meta.number)],
            added: vec![(0, wrong.clone())],
            ..VersionEdit::default()
        },
    );
    let report = run(&mem);
    let name = filenames::table_name(meta.number);
    let mismatches: Vec<&Problem> = report
        .problems
        .iter()
        .filter(|p| p.kind == "manifest_mismatch")
        .collect();
    assert_eq!(mismatches.len(), 2, "{:#?}", report.problems);
    assert!(mismatches
        .iter()
        .all(|p| p.file == name && p.level == Some(0)));
    assert_eq!(mismatches[0].expected, Some(wrong.entries.to_string()));
    assert_eq!(mismatches[0].actual, Some(meta.entries.to_string()));
}

#[test]
fn wal_records_at_or_below_the_manifest_sequence_are_found() {
    let mem = build();
    ends_with_edit(
        &mem,
        &VersionEdit {
            last_sequence: Some(SeqNo(1_000_000)),
            ..VersionEdit::default()
        },
    );
    let report = run(&mem);
    assert_eq!(
        kinds(&report),
        vec![("wal_sequence".to_string(), the_wal(&mem))]
    );
}

#[test]
fn without_current_the_tables_and_wal_are_still_checked() {
    let mem = build();
    mem.remove_file(&path("CURRENT")).unwrap();
    let table = the_table(&mem);
    let mut bytes = mem.read_file(path(&table)).unwrap();
    bytes[10] ^= 0xff;
    mem.write_file(path(&table), &bytes);
    let report = run(&mem);
    assert_eq!(report.checks, vec!["manifest", "tables", "wal"]);
    find(&report, "current_missing", "CURRENT");
    find(&report, "checksum_mismatch", &table);
}

#[test]
fn live_workdir_is_refused_unless_allowed() {
    let mem = build();
    let db = open(&mem, options());
    let err = verify(&mem, dir(), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Locked { path, .. } if path == dir()),
        "{err}"
    );
    let report = verify(&mem, dir(), &VerifyOptions { allow_live: true }).unwrap();
    assert!(report.live);
    assert!(report.ok, "{:#?}", report.problems);
    db.close().unwrap();
    assert!(!run(&mem).live);
}

#[test]
fn missing_workdir_is_an_error() {
    let mem = MemVfs::new();
    let err = verify(&mem, Path::new("/nope"), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err}"
    );
    assert!(mem.file_names().is_empty());
}

/// Writes that rotated several memtables, none flushed, then `kill -9`.
fn crashed_with_backlog() -> MemVfs {
    let mem = MemVfs::new();
    let opts = Options {
        memtable_size: 4096,
        ..options()
    };
    let db = open(&mem, opts);
    put_range(&db, 0, 30);
    db.flush().unwrap();
    put_range(&db, 30, 200);
    let crashed = mem.process_crash_clone();
    drop(db);
    crashed
}

#[test]
fn offline_stats_reports_the_backlog_after_a_crash() {
    let mem = crashed_with_backlog();
    let before = snapshot(&mem);
    let snap = offline_stats(&mem, dir()).unwrap();
    assert_eq!(snapshot(&mem), before, "offline_stats changed the workdir");

    let report = manifest::inspect(&mem, dir()).unwrap();
    let version = report.version.unwrap();
    assert_eq!(snap.lsm, nokv::db::lsm_stats(&version));
    assert_eq!(snap.lsm.tables, 1);
    assert_eq!(snap.manifest.file, report.current.unwrap());
    assert_eq!(snap.manifest.edits, report.records);
    assert_eq!(snap.manifest.bytes, report.file_size);
    assert_eq!(snap.manifest.next_file_number, version.next_file_number.0);
    assert_eq!(snap.manifest.last_sequence, version.last_sequence.0);

    let segments = named(&mem, |k| matches!(k, FileKind::Wal(_)));
    assert!(segments.len() > 2, "{segments:?}");
    assert_eq!(snap.wal.segments, segments.len() as u64);
    assert_eq!(snap.wal.checkpoint, version.wal_checkpoint.0);
    assert!(snap.flush.pending > 0);
    assert_eq!(snap.flush.pending, segments.len() as u64 - 1);
    assert_eq!(snap.flush.queue, snap.flush.pending);
    assert_eq!(snap.memtable.immutables, snap.flush.pending);
    assert!(snap.memtable.immutable_bytes > 0);
    assert!(!snap.session.live);
    // A backlog is not damage.
    let report = run(&mem);
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.files_checked, 3 + segments.len() as u64);

    // Recovery agrees: it resubmits exactly that many memtables.
    let db = open(&mem, options());
    assert_eq!(db.stats().memtable.immutables, snap.memtable.immutables);
    db.close().unwrap();
    let after = offline_stats(&mem, dir()).unwrap();
    assert_eq!(after.flush.pending, 0);
    assert_eq!(after.wal.segments, 1);
    assert!(after.lsm.tables > 1);
    assert!(after.flush.completed > 0, "published counters are kept");
    let report = run(&mem);
    assert!(report.ok, "{:#?}", report.problems);
}

#[test]
fn offline_stats_of_a_live_workdir_says_so() {
    let mem = build();
    let db = open(&mem, options());
    put_range(&db, 100, 110);
    let snap = offline_stats(&mem, dir()).unwrap();
    assert!(snap.session.live);
    assert_eq!(snap.session.pid, std::process::id());
    assert_eq!(snap.lsm.tables, 1);
    assert_eq!(snap.wal.segments, 1);
    db.close().unwrap();
    let snap = offline_stats(&mem, dir()).unwrap();
    assert!(!snap.session.live);
    assert_eq!(snap.flush.pending, 0);
}

#[test]
fn offline_stats_errors_without_a_workdir_and_creates_nothing() {
    let mem = MemVfs::new();
    let err = offline_stats(&mem, Path::new("/nope")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, path, .. }
            if source.kind() == std::io::ErrorKind::NotFound && path == Path::new("/nope")),
        "{err}"
    );
    mem.create_dir_all(Path::new("/empty")).unwrap();
    let err = offline_stats(&mem, Path::new("/empty")).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
    assert!(mem.file_names().is_empty());
    assert!(!mem.exists(Path::new("/nope")).unwrap());
}

#[test]
fn every_workdir_left_by_recovery_verifies_ok() {
    let mem = MemVfs::new();
    let opts = Options {
        memtable_size: 4096,
        manifest_rewrite_threshold: 600,
        ..options()
    };
    let db = open(&mem, opts.clone());
    for round in 0..20 {
        put_range(&db, round * 12, round * 12 + 12);
        if round % 4 == 3 {
            db.flush().unwrap();
        }
        for crashed in [mem.crash_clone(), mem.process_crash_clone()] {
            // Whatever verify says of the crashed workdir, it must not panic or change it.
            let before = snapshot(&crashed);
            let _ = run(&crashed);
            assert_eq!(snapshot(&crashed), before);
            let reopened = open(&crashed, opts.clone());
            reopened.flush().unwrap();
            reopened.close().unwrap();
            let report = run(&crashed);
            assert!(report.ok, "round {round}: {:#?}", report.problems);
        }
    }
    db.close().unwrap();
    assert!(run(&mem).ok);
}

/// What a crash leaves (a temporary, a segment below the checkpoint, a table no edit published,
/// an input a compaction retired, before and after a manifest rewrite) is a leftover: verify
/// reports it with severity `leftover`, stays ok, and open succeeds and removes it.
#[test]
fn crash_leftovers_are_leftovers_and_open_agrees() {
    for rewrite in [false, true] {
        let mem = MemVfs::new();
        let opts = Options {
            auto_compaction: false,
            // A tiny threshold makes the compaction's edit trigger a rewrite.
            manifest_rewrite_threshold: if rewrite { 1 } else { 1 << 20 },
            ..options()
        };
        let db = open(&mem, opts.clone());
        put_range(&db, 0, 40);
        let first = db.flush().unwrap().tables[0].clone();
        put_range(&db, 40, 80);
        db.flush().unwrap();
        let first_path = dir().join(filenames::table_name(first.number));
        let retired_bytes = mem.read_file(&first_path).unwrap();
        db.compact().unwrap();
        let next = db.version().next_file_number;
        db.close().unwrap();
        assert!(
            mem.read_file(&first_path).is_none(),
            "compaction deleted its input"
        );
        // The crash leftovers.
        mem.write_file(&first_path, &retired_bytes);
        let unpublished = filenames::table_name(FileNumber(next.0 + 5));
        mem.write_file(dir().join(&unpublished), b"an interrupted flush");
        mem.write_file(dir().join("000099.sst.tmp.1.2"), b"an interrupted install");
        mem.write_file(dir().join("wal/000001.wal"), b"below the checkpoint");

        let report = run(&mem);
        assert!(report.ok, "rewrite {rewrite}: {:#?}", report.problems);
        assert_eq!(report.damage, 0);
        assert_eq!(
            report.leftovers, 4,
            "rewrite {rewrite}: {:#?}",
            report.problems
        );
        assert!(report
            .problems
            .iter()
            .all(|p| p.severity == Severity::Leftover));
        let files: Vec<&str> = report.problems.iter().map(|p| p.file.as_str()).collect();
        for want in [
            filenames::table_name(first.number).as_str(),
            unpublished.as_str(),
            "000099.sst.tmp.1.2",
            "wal/000001.wal",
        ] {
            assert!(
                files.contains(&want),
                "rewrite {rewrite}: {want} in {files:?}"
            );
        }
        let db = open(&mem, opts);
        assert!(db.get(b"key00007").unwrap().is_some());
        db.close().unwrap();
        let report = run(&mem);
        assert!(report.problems.is_empty(), "{:#?}", report.problems);
    }
}
