//! The open-side corruption matrix: every kind of file of a workdir built through the engine
//! (CURRENT, MANIFEST, WAL, SST), damaged every way a disk or a crash can damage it (byte
//! flips, truncation, zero-filled tails, deletion, garbage appended), then opened.
//!
//! For every case:
//! - `Db::open_with_vfs` never panics; it either fails with an error naming the damaged file
//!   (with an offset for corruption) and leaves every byte of the workdir unchanged, or it
//!   opens and every read returns exactly what was acknowledged (or an error naming the
//!   damaged file: a data block is checked when it is read, not at open). A torn tail of the
//!   newest WAL segment opens to exactly the intact prefix of the acknowledged writes.
//! - `nokv::verify::verify` on the damaged workdir reports a problem naming the file.
//!
//! `cargo test --test corruption -- --nocapture` prints the case count.
//! `cargo test --test corruption -- --ignored` regenerates the fuzz seed corpora in
//! `fuzz/seeds/` from the same workdir.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nokv::verify::{verify, VerifyOptions};
use nokv::vfs::{MemVfs, Vfs};
use nokv::{Compression, Db, Options, ScanOptions};

const DIR: &str = "/db";

fn opts() -> Options {
    Options {
        // Small, but no automatic rotation: the test decides what is flushed and what stays
        // in the WAL.
        memtable_size: 64 << 10,
        block_size: 256,
        background_flush: false,
        auto_compaction: false,
        stats_interval: None,
        ..Options::default()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    DeleteRange(Vec<u8>, Vec<u8>),
}

type State = BTreeMap<Vec<u8>, Vec<u8>>;

fn apply(state: &mut State, op: &Op) {
    match op {
        Op::Put(k, v) => {
            state.insert(k.clone(), v.clone());
        }
        Op::Delete(k) => {
            state.remove(k);
        }
        Op::DeleteRange(s, e) => state.retain(|k, _| k < s || k >= e),
    }
}

/// A closed workdir and what it must read back.
struct Workdir {
    /// Every file (path -> bytes) except `LOCK`.
    files: BTreeMap<PathBuf, Vec<u8>>,
    /// The state in the tables (after the last flush).
    base: State,
    /// One op per record of the newest WAL segment, in order.
    wal_ops: Vec<Op>,
    /// Every key ever written.
    keys: BTreeSet<Vec<u8>>,
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:03}").into_bytes()
}

fn value(round: usize, i: usize) -> Vec<u8> {
    format!("value-{round}-{i}-{}", "x".repeat(i % 17)).into_bytes()
}

fn build() -> Workdir {
    let vfs = MemVfs::new();
    // Each table in its own codec: uncompressed, lz4, zstd (all prefix-compressed).
    let open = |compression| {
        let opts = Options {
            compression,
            ..opts()
        };
        Db::open_with_vfs(Arc::new(vfs.clone()), Path::new(DIR), opts).unwrap()
    };
    let db = open(Compression::None);
    let mut state = State::new();
    let mut keys = BTreeSet::new();
    let mut run = |db: &Db, op: Op, state: &mut State| {
        match &op {
            Op::Put(k, v) => db.put(k, v).unwrap(),
            Op::Delete(k) => db.delete(k).unwrap(),
            Op::DeleteRange(s, e) => db.delete_range(s, e).unwrap(),
        }
        if let Op::Put(k, _) | Op::Delete(k) = &op {
            keys.insert(k.clone());
        }
        apply(state, &op);
        op
    };
    // Three flushes: plain puts; overwrites and deletes; new keys and a range tombstone (so
    // the third table has a meta block).
    for i in 0..40 {
        run(&db, Op::Put(key(i), value(0, i)), &mut state);
    }
    db.flush().unwrap();
    db.close().unwrap();
    let db = open(Compression::Lz4);
    for i in (0..40).step_by(3) {
        run(&db, Op::Put(key(i), value(1, i)), &mut state);
    }
    for i in (1..40).step_by(7) {
        run(&db, Op::Delete(key(i)), &mut state);
    }
    db.flush().unwrap();
    db.close().unwrap();
    let db = open(Compression::Zstd);
    for i in 40..60 {
        run(&db, Op::Put(key(i), value(2, i)), &mut state);
    }
    run(&db, Op::DeleteRange(key(10), key(20)), &mut state);
    db.flush().unwrap();
    // Left in the WAL.
    let base = state.clone();
    let mut wal_ops = Vec::new();
    for i in (5..60).step_by(5) {
        wal_ops.push(run(&db, Op::Put(key(i), value(3, i)), &mut state));
    }
    wal_ops.push(run(&db, Op::Delete(key(7)), &mut state));
    wal_ops.push(run(&db, Op::DeleteRange(key(50), key(53)), &mut state));
    wal_ops.push(run(&db, Op::Put(key(60), value(3, 60)), &mut state));
    db.close().unwrap();
    let files = vfs
        .file_names()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "LOCK"))
        .map(|p| {
            let bytes = vfs.read_file(&p).unwrap();
            (p, bytes)
        })
        .collect();
    Workdir {
        files,
        base,
        wal_ops,
        keys,
    }
}

/// The file's kind, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Current,
    Manifest,
    Wal,
    Sst,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    if name == "CURRENT" {
        Some(Kind::Current)
    } else if name.starts_with("MANIFEST-") {
        Some(Kind::Manifest)
    } else if name.ends_with(".wal") {
        Some(Kind::Wal)
    } else if name.ends_with(".sst") {
        Some(Kind::Sst)
    } else {
        None
    }
}

/// End offsets of the records of a WAL segment (header first).
fn wal_record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = vec![20];
    let mut pos = 20;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
        assert!(pos <= bytes.len());
        ends.push(pos);
    }
    assert_eq!(pos, bytes.len());
    ends
}

/// Named regions of a table (from its footer and index), for sampling flips.
fn sst_regions(bytes: &[u8]) -> Vec<(&'static str, usize, usize)> {
    let footer = bytes.len() - 84;
    let h = |i: usize| {
        let at = footer + 16 * i;
        (
            u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize,
            u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize,
        )
    };
    let mut regions = Vec::new();
    for (i, name) in ["filter", "index", "properties", "meta"].iter().enumerate() {
        let (off, size) = h(i);
        if size > 0 {
            regions.push((*name, off, size));
        }
    }
    let data_end = regions.iter().map(|r| r.1).min().unwrap();
    // Data blocks: sample three whole blocks' worth of positions across the region.
    regions.push(("data", 0, data_end));
    regions.push(("footer", footer, 84));
    regions
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(usize),
    Truncate(usize),
    ZeroFrom(usize),
    Append(Vec<u8>),
    Delete,
}

impl Damage {
    fn apply(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut b = bytes.to_vec();
        match self {
            Damage::Flip(at) => b[*at] ^= 0x41,
            Damage::Truncate(len) => b.truncate(*len),
            Damage::ZeroFrom(at) => b[*at..].fill(0),
            Damage::Append(garbage) => b.extend_from_slice(garbage),
            Damage::Delete => return None,
        }
        Some(b)
    }

    /// The first byte offset the damage changes (the file length for an append).
    fn first_offset(&self, original: &[u8]) -> usize {
        match self {
            Damage::ZeroFrom(at) => (*at..original.len())
                .find(|&i| original[i] != 0)
                .unwrap_or(original.len()),
            Damage::Flip(at) | Damage::Truncate(at) => *at,
            Damage::Append(_) => original.len(),
            Damage::Delete => 0,
        }
    }

    /// Whether a crash during an append could have left this at the end of a segment.
    fn is_tail(&self) -> bool {
        matches!(
            self,
            Damage::Truncate(_) | Damage::ZeroFrom(_) | Damage::Append(_)
        )
    }
}

/// A small deterministic generator (xorshift) for garbage and sampling.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn damages(kind: Kind, bytes: &[u8], rng: &mut Rng) -> Vec<(String, Damage)> {
    let len = bytes.len();
    let mut out: Vec<(String, Damage)> = Vec::new();
    // Flips: every byte of small files; sampled positions per region of tables.
    if kind == Kind::Sst {
        for (name, off, size) in sst_regions(bytes) {
            let mut at: BTreeSet<usize> = [off, off + size / 2, off + size - 1].into();
            // The block trailers (type byte and CRC) of the meta blocks.
            if name != "data" && name != "footer" {
                at.extend([off + size - 5, off + size - 4]);
            }
            let samples = if name == "footer" { size } else { 8 };
            for _ in 0..samples {
                at.insert(off + (rng.next() as usize) % size);
            }
            if name == "footer" {
                at.extend(off..off + size);
            }
            for a in at {
                out.push((format!("flip {name} byte {a}"), Damage::Flip(a)));
            }
        }
    } else {
        for a in 0..len {
            out.push((format!("flip byte {a}"), Damage::Flip(a)));
        }
    }
    // Truncations and zero-filled tails.
    let mut cuts: BTreeSet<usize> = [0, 1, len / 3, len / 2, len - 1].into();
    if len > 8 {
        cuts.insert(len - 8);
    }
    match kind {
        Kind::Wal => {
            // At and around every record boundary.
            for end in wal_record_ends(bytes) {
                cuts.extend([end.saturating_sub(1), end, end + 1, end + 5].map(|c| c.min(len)));
            }
        }
        Kind::Manifest => cuts.extend([8, 16, 20, 24]),
        Kind::Sst => cuts.extend([len - 84, len - 83, len - 4]),
        Kind::Current => {}
    }
    for &c in cuts.iter().filter(|&&c| c < len) {
        out.push((format!("truncate to {c}"), Damage::Truncate(c)));
        out.push((format!("zero from {c}"), Damage::ZeroFrom(c)));
    }
    // Garbage appended.
    for n in [1usize, 7, 64] {
        out.push((
            format!("append {n} garbage bytes"),
            Damage::Append(rng.bytes(n)),
        ));
    }
    out.push(("append 16 zero bytes".into(), Damage::Append(vec![0; 16])));
    out.push(("append a newline".into(), Damage::Append(b"\n".to_vec())));
    out.push(("delete".into(), Damage::Delete));
    out
}

fn damaged_vfs(w: &Workdir, target: &Path, damaged: Option<&[u8]>) -> MemVfs {
    let vfs = MemVfs::new();
    vfs.create_dir_all(&Path::new(DIR).join("wal")).unwrap();
    for (path, bytes) in &w.files {
        if path == target {
            if let Some(d) = damaged {
                vfs.write_file(path, d);
            }
        } else {
            vfs.write_file(path, bytes);
        }
    }
    vfs
}

fn snapshot(vfs: &MemVfs) -> BTreeMap<PathBuf, Vec<u8>> {
    vfs.file_names()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "LOCK"))
        .map(|p| {
            let b = vfs.read_file(&p).unwrap();
            (p, b)
        })
        .collect()
}

/// Reads every key and a full scan; compares with `expected`. `Err` describes a wrong answer
/// (or an error that does not name `file`, or any error when `exact`).
fn check_reads(
    db: &Db,
    w: &Workdir,
    expected: &State,
    file: &str,
    exact: bool,
) -> Result<(), String> {
    let acceptable = |e: &nokv::Error| !exact && e.to_string().contains(file);
    for k in &w.keys {
        match db.get(k) {
            Ok(got) => {
                if got.as_ref() != expected.get(k) {
                    return Err(format!(
                        "silent wrong answer: get({}) = {:?}, expected {:?}",
                        String::from_utf8_lossy(k),
                        got.map(|v| String::from_utf8_lossy(&v).into_owned()),
                        expected
                            .get(k)
                            .map(|v| String::from_utf8_lossy(v).into_owned())
                    ));
                }
            }
            Err(e) if acceptable(&e) => {}
            Err(e) => return Err(format!("get({}) failed: {e}", String::from_utf8_lossy(k))),
        }
    }
    let scanned: Result<State, nokv::Error> =
        db.scan(&ScanOptions::default()).and_then(|s| s.collect());
    match scanned {
        Ok(all) => {
            if &all != expected {
                return Err(format!(
                    "silent wrong answer: scan returned {} keys, expected {}",
                    all.len(),
                    expected.len()
                ));
            }
        }
        Err(e) if acceptable(&e) => {}
        Err(e) => return Err(format!("scan failed: {e}")),
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    cases: usize,
    open_failed: usize,
    opened_prefix: usize,
    opened_read_errors: usize,
    failures: Vec<String>,
}

fn run_case(w: &Workdir, target: &Path, kind: Kind, what: &str, damage: &Damage, t: &mut Tally) {
    let original = &w.files[target];
    let damaged = damage.apply(original);
    if damaged.as_deref() == Some(original.as_slice()) {
        return; // zeroing bytes that are already zero
    }
    t.cases += 1;
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    let case = format!("{name}: {what}");
    let mut fail = |msg: String| t.failures.push(format!("{case}: {msg}"));

    // verify finds it (on the damaged workdir, before open may repair a torn tail), as damage
    // or, for what a crash leaves (a torn tail), as a leftover; whether it found damage is
    // checked against open's verdict below.
    let vfs = damaged_vfs(w, target, damaged.as_deref());
    let mut verify_damage: Option<bool> = None;
    match catch_unwind(AssertUnwindSafe(|| {
        verify(&vfs, Path::new(DIR), &VerifyOptions::default())
    })) {
        Err(_) => fail("verify panicked".into()),
        Ok(Err(e)) => fail(format!("verify could not run: {e}")),
        Ok(Ok(report)) => {
            verify_damage = Some(has_damage(&report));
            // A log cut exactly at a record boundary is a valid, shorter log: nothing in the
            // file itself shows it. For the newest WAL segment that is what a crash leaves
            // (open returns the intact prefix); for the manifest, verify still fails the
            // workdir (the tables of the lost edits are orphans) and open refuses it (a gap
            // in the sequence numbers).
            let boundary_cut = matches!(damage, Damage::Truncate(_))
                && damaged.as_deref().is_some_and(|d| match kind {
                    Kind::Wal => d.len() >= 20 && wal_record_ends(original).contains(&d.len()),
                    Kind::Manifest => true,
                    _ => false,
                });
            let named = report.problems.iter().any(|p| p.file.contains(&name));
            let found = match (boundary_cut, kind) {
                (true, Kind::Wal) => true,
                (true, _) => !report.ok,
                (false, _) => named,
            };
            if !found {
                fail(format!(
                    "verify missed it: ok={} problems={:?}",
                    report.ok,
                    report
                        .problems
                        .iter()
                        .map(|p| format!("{} {} {}", p.kind, p.file, p.detail))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }

    let before = snapshot(&vfs);
    let opened = catch_unwind(AssertUnwindSafe(|| {
        Db::open_with_vfs(Arc::new(vfs.clone()), Path::new(DIR), opts())
    }));
    let outcome = match opened {
        Err(_) => {
            fail("open panicked".into());
            return;
        }
        Ok(o) => o,
    };
    // What a successful open must read back.
    let wal_prefix = (kind == Kind::Wal).then(|| {
        let intact = wal_record_ends(original)
            .iter()
            .skip(1)
            .filter(|&&end| end <= damage.first_offset(original))
            .count();
        let mut state = w.base.clone();
        for op in &w.wal_ops[..intact] {
            apply(&mut state, op);
        }
        state
    });
    // verify agrees with open: a workdir that open refuses is never one where verify finds
    // nothing but what recovery repairs (and one where verify finds nothing at all opens).
    if verify_damage == Some(false) && outcome.is_err() {
        fail(format!(
            "verify found no damage, yet open refused: {}",
            outcome
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default()
        ));
    }
    match outcome {
        Err(e) => {
            t.open_failed += 1;
            let text = e.to_string();
            if !text.contains(&name) {
                fail(format!("open error does not name the file: {text}"));
            }
            if !matches!(damage, Damage::Delete)
                && !e.is_corruption()
                && !matches!(e, nokv::Error::NotADatabase { .. })
            {
                fail(format!("open error is not reported as corruption: {text}"));
            }
            if matches!(e, nokv::Error::Corruption { .. }) && !text.contains("offset") {
                fail(format!("corruption error without an offset: {text}"));
            }
            if kind == Kind::Wal && damage.is_tail() {
                fail(format!("a torn WAL tail failed the open: {text}"));
            }
            if snapshot(&vfs) != before {
                fail("a failed open changed the workdir".into());
            }
        }
        Ok(db) => {
            let result = match &wal_prefix {
                Some(prefix) => {
                    t.opened_prefix += 1;
                    check_reads(&db, w, prefix, &name, true)
                }
                None => {
                    t.opened_read_errors += 1;
                    let mut full = w.base.clone();
                    for op in &w.wal_ops {
                        apply(&mut full, op);
                    }
                    // Only a table's data block is checked on read rather than at open.
                    check_reads(&db, w, &full, &name, kind != Kind::Sst)
                }
            };
            if let Err(msg) = result {
                fail(format!("opened, then {msg}"));
            }
            if kind == Kind::Current {
                fail("opened despite a damaged CURRENT".into());
            }
            drop(db);
        }
    }
}

/// Damage, as verify's severities give it: what makes open refuse (or data unreadable), as
/// opposed to leftovers that recovery removes.
fn has_damage(report: &nokv::verify::VerifyReport) -> bool {
    !report.ok
}

/// verify <=> open over sequence continuity: a workdir with several unflushed WAL segments
/// (a kill -9 before their flushes), with each segment deleted in turn. Deleting an older
/// one leaves a gap in the sequence numbers, which open refuses; verify must then report
/// damage. Deleting the newest leaves a shorter, valid history, which both accept.
#[test]
fn verify_agrees_with_open_on_wal_sequence_gaps() {
    let vfs = MemVfs::new();
    let dir = Path::new(DIR);
    let small = Options {
        memtable_size: 4 << 10,
        max_immutables: 8,
        ..opts()
    };
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), dir, small.clone()).unwrap();
    for i in 0..200 {
        db.put(&key(i), &value(0, i)).unwrap();
    }
    let crashed = vfs.process_crash_clone();
    drop(db);
    let segments: Vec<PathBuf> = crashed
        .file_names()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    assert!(segments.len() >= 3, "several segments: {segments:?}");
    let mut refused = 0;
    for (i, gone) in segments.iter().enumerate() {
        let damaged = MemVfs::new();
        damaged.create_dir_all(&dir.join("wal")).unwrap();
        for path in snapshot(&crashed).keys() {
            if path != gone {
                damaged.write_file(path, &crashed.read_file(path).unwrap());
            }
        }
        let report = verify(&damaged, dir, &VerifyOptions::default()).unwrap();
        let opened = Db::open_with_vfs(Arc::new(damaged.clone()), dir, small.clone());
        let newest = i + 1 == segments.len();
        assert_eq!(
            opened.is_ok(),
            !has_damage(&report),
            "{} deleted: open {:?}, verify {:?}",
            gone.display(),
            opened.as_ref().err().map(ToString::to_string),
            report.problems
        );
        assert_eq!(opened.is_ok(), newest, "{}", gone.display());
        refused += usize::from(opened.is_err());
    }
    assert!(refused >= 2);
}

#[test]
fn open_side_corruption_matrix() {
    let w = build();
    let mut kinds_seen = BTreeSet::new();
    let mut t = Tally::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (path, bytes) in &w.files {
        let Some(kind) = kind_of(path) else {
            continue;
        };
        kinds_seen.insert(format!("{kind:?}"));
        for (what, damage) in damages(kind, bytes, &mut rng) {
            run_case(&w, path, kind, &what, &damage, &mut t);
        }
    }
    assert_eq!(
        kinds_seen.len(),
        4,
        "the workdir has every kind of file: {kinds_seen:?}"
    );
    println!(
        "corruption matrix: {} cases over {} files ({} open refused, {} opened to the WAL's intact \
         prefix, {} opened with all the data: a data block damage found on read, or a torn manifest tail)",
        t.cases,
        w.files.len(),
        t.open_failed,
        t.opened_prefix,
        t.opened_read_errors
    );
    if !t.failures.is_empty() {
        for f in &t.failures {
            eprintln!("FAIL {f}");
        }
        panic!(
            "{} of {} cases failed:\n{}",
            t.failures.len(),
            t.cases,
            t.failures
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Regenerates `fuzz/seeds/<target>/` from the workdir above (small files, committed).
#[test]
#[ignore = "writes fuzz/seeds; run by hand"]
fn generate_fuzz_seeds() {
    let w = build();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let write = |target: &str, name: &str, mode: u8, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let mut data = vec![mode];
        data.extend_from_slice(bytes);
        std::fs::write(dir.join(name), data).unwrap();
    };
    for (path, bytes) in &w.files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match kind_of(path) {
            // Mode 1: the target re-checksums the input before decoding it.
            Some(Kind::Wal) => {
                write("wal_segment", &name, 1, bytes);
                write("wal_segment", &format!("{name}.raw"), 0, bytes);
            }
            Some(Kind::Manifest) => {
                write("manifest", &name, 1, bytes);
                // The first record's payload alone, for the edit decoder.
                let len = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
                write(
                    "manifest",
                    &format!("{name}.edit0"),
                    0,
                    &bytes[24..24 + len],
                );
            }
            Some(Kind::Sst) => write("sst", &name, 1, bytes),
            _ => {}
        }
    }
    let lines: [(&str, &[u8]); 6] = [
        ("tsv", b"key\tvalue\na\\tb\tc\\x00\\\\\n\xff\t\n"),
        ("tsv-bad", b"\n\tv\nk\tv\tw\nk\\q\tv\r\n"),
        ("csv", b"k,v\r\n\"a,b\",\"say \"\"hi\"\"\nthere\"\nk,\n"),
        ("csv-bad", b"a,b,c\n\"ab,c\na\"b,c\n"),
        (
            "jsonl",
            b"{\"key\":\"k\",\"value\":\"v\"}\n{\"key_hex\":\"00ff\",\"value_hex\":\"\",\"op\":\"put\"}\n{\"key\":\"a\\tb\\u0000\",\"op\":\"delete\"}\n",
        ),
        ("jsonl-bad", b"{\"key\":\"k\"}\n[1,2]\n{\"key\":\"k\",\"val\":\"v\"}\n"),
    ];
    for (name, bytes) in lines {
        write("load_parsers", name, 3, bytes);
    }
}
