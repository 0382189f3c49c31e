//! `salvage` over a corruption matrix: byte flips across every table and every WAL record
//! of a workdir. For each, the salvaged copy must hold exactly the records outside what the
//! report names as lost (the key range of each lost block, the WAL bytes dropped), the
//! report's entry counts must match, and the damaged workdir must be left byte for byte as it
//! was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use nokv::salvage::{salvage, SalvageReport};
use nokv::vfs::MemVfs;
use nokv::{Db, Options};

const SRC: &str = "/src";

fn options() -> Options {
    Options {
        block_size: 512,
        stats_interval: None,
        background_flush: false,
        auto_compaction: false,
        ..Options::default()
    }
}

fn key(prefix: char, i: usize) -> Vec<u8> {
    format!("{prefix}{i:04}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i}-{}", "v".repeat(i % 31)).into_bytes()
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Two tables (keys `a*` and `b*`) and a WAL of single-put records (keys `c*`), with each
/// WAL record's byte range.
struct Workdir {
    mem: MemVfs,
    model: Model,
    tables: Vec<(PathBuf, Vec<Vec<u8>>)>,
    wal: PathBuf,
    records: Vec<(u64, u64, Vec<u8>)>,
}

fn build() -> Workdir {
    let mem = MemVfs::new();
    let dir = Path::new(SRC);
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, options()).unwrap();
    let mut model = Model::new();
    let mut tables = Vec::new();
    for prefix in ['a', 'b'] {
        let keys: Vec<Vec<u8>> = (0..120).map(|i| key(prefix, i)).collect();
        for (i, k) in keys.iter().enumerate() {
            db.put(k, &value(i)).unwrap();
            model.insert(k.clone(), value(i));
        }
        let table = db.flush().unwrap().tables[0].clone();
        tables.push((dir.join(nokv::filenames::table_name(table.number)), keys));
    }
    let wal = mem
        .file_names()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "wal"))
        .unwrap();
    let mut records = Vec::new();
    for i in 0..30 {
        let start = mem.read_file(&wal).unwrap().len() as u64;
        db.put(&key('c', i), &value(i)).unwrap();
        let end = mem.read_file(&wal).unwrap().len() as u64;
        records.push((start, end, key('c', i)));
        model.insert(key('c', i), value(i));
    }
    db.close().unwrap();
    Workdir {
        mem,
        model,
        tables,
        wal,
        records,
    }
}

fn contents(mem: &MemVfs, dir: &Path) -> Model {
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, options()).unwrap();
    let out = db
        .scan(&nokv::ScanOptions::default())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    db.close().unwrap();
    out
}

fn snapshot(mem: &MemVfs, under: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    mem.file_names()
        .into_iter()
        .filter(|p| p.starts_with(under))
        .map(|p| {
            let bytes = mem.read_file(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Salvages `mem`'s source into a fresh destination, checking that the source is unchanged.
fn run(mem: &MemVfs, dest: &str) -> (SalvageReport, Model) {
    let before = snapshot(mem, SRC);
    let report = salvage(Arc::new(mem.clone()), Path::new(SRC), Path::new(dest)).unwrap();
    assert_eq!(snapshot(mem, SRC), before, "salvage changed the source");
    let copied = contents(mem, Path::new(dest));
    assert_eq!(copied.len() as u64, report.keys_written);
    (report, copied)
}

fn without(model: &Model, gone: impl Fn(&[u8]) -> bool) -> Model {
    model
        .iter()
        .filter(|(k, _)| !gone(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn an_intact_workdir_is_copied_whole_and_nothing_is_lost() {
    let w = build();
    let (report, copied) = run(&w.mem, "/dest");
    assert!(!report.anything_lost, "{report:#?}");
    assert!(report.lost.is_empty());
    assert_eq!(copied, w.model);
    assert_eq!(report.versions_read, w.model.len() as u64);
}

#[test]
fn each_flipped_table_byte_loses_exactly_the_records_of_its_block() {
    let w = build();
    let mut cases = 0;
    let mut blocks_seen = std::collections::BTreeSet::new();
    for (table, keys) in &w.tables {
        let original = w.mem.read_file(table).unwrap();
        for at in (0..original.len()).step_by(37) {
            let mut damaged = original.clone();
            damaged[at] ^= 0x10;
            let mem = w.mem.process_crash_clone();
            mem.write_file(table, &damaged);
            let (report, copied) = run(&mem, "/dest");
            cases += 1;
            let name = table.file_name().unwrap().to_string_lossy().into_owned();
            match report.lost.as_slice() {
                // Filter or properties: every record still read.
                [] => {
                    assert_eq!(copied, w.model, "{name} byte {at}");
                    assert!(!report.anything_lost);
                }
                // A data block (the flipped byte inside it), or an index partition (the
                // flipped byte past the data it described, which is what is lost).
                [lost] if lost.what == "block" || lost.what == "index_partition" => {
                    let (offset, size) = (lost.offset.unwrap(), lost.size.unwrap());
                    if lost.what == "block" {
                        assert!(
                            offset <= at as u64 && (at as u64) < offset + size,
                            "{name} byte {at} reported in block {offset}+{size}"
                        );
                    } else {
                        assert!(
                            offset + size <= at as u64,
                            "{name} byte {at} reported as the partition of {offset}+{size}"
                        );
                    }
                    blocks_seen.insert((name.clone(), offset));
                    assert_eq!(lost.table, name);
                    let after = lost.after_key.clone().map(String::into_bytes);
                    let last = lost.largest.clone().unwrap().into_bytes();
                    let in_block = |k: &[u8]| {
                        keys.iter().any(|t| t.as_slice() == k)
                            && after.as_ref().is_none_or(|a| k > a.as_slice())
                            && k <= last.as_slice()
                    };
                    let expected = without(&w.model, in_block);
                    assert_eq!(copied, expected, "{name} byte {at}");
                    let lost_entries = (w.model.len() - expected.len()) as u64;
                    assert!(lost_entries > 0);
                    assert_eq!(lost.entries, Some(lost_entries), "{name} byte {at}");
                    assert_eq!(lost.suspect_keys, 0, "no older versions exist");
                    assert!(report.anything_lost);
                }
                // The index or the footer: the whole table.
                [lost] if lost.what == "table" => {
                    let expected = without(&w.model, |k| keys.iter().any(|t| t.as_slice() == k));
                    assert_eq!(copied, expected, "{name} byte {at}");
                    assert_eq!(lost.entries, Some(keys.len() as u64));
                    assert!(report.anything_lost);
                }
                other => panic!("{name} byte {at}: {other:#?}"),
            }
        }
    }
    assert!(cases > 100, "{cases} cases");
    assert!(
        blocks_seen.len() >= 6,
        "flips reached only {} data blocks",
        blocks_seen.len()
    );
}

#[test]
fn each_flipped_wal_byte_drops_exactly_the_records_it_damaged() {
    let w = build();
    let original = w.mem.read_file(&w.wal).unwrap();
    let last_start = w.records.last().unwrap().0;
    for at in 0..original.len() {
        let mut damaged = original.clone();
        damaged[at] ^= 0x04;
        let mem = w.mem.process_crash_clone();
        mem.write_file(&w.wal, &damaged);
        let (report, copied) = run(&mem, "/dest");
        let segment = &report.segments[0];
        let dropped: Vec<(u64, u64)> = segment
            .dropped
            .iter()
            .map(|d| (d.offset, d.offset + d.bytes))
            .collect();
        assert!(!dropped.is_empty(), "flip at {at} went unnoticed");
        // A record is gone exactly when its bytes overlap a dropped range.
        let gone = |k: &[u8]| {
            w.records.iter().any(|(start, end, rk)| {
                rk.as_slice() == k && dropped.iter().any(|&(a, b)| a < *end && *start < b)
            })
        };
        assert_eq!(copied, without(&w.model, gone), "flip at {at}: {dropped:?}");
        let in_record = w
            .records
            .iter()
            .any(|(s, e, _)| *s <= at as u64 && (at as u64) < *e);
        assert_eq!(
            copied.len(),
            w.model.len() - usize::from(in_record),
            "flip at {at}: one record lost at most"
        );
        // The last record damaged looks like an unsynced append torn by a crash: what open
        // drops too, not a loss; anything before it is.
        let torn = at as u64 >= last_start;
        assert_eq!(report.anything_lost, !torn, "flip at {at}: {report:#?}");
    }
}

#[test]
fn a_lost_block_names_older_copied_versions_as_suspect() {
    let mem = MemVfs::new();
    let dir = Path::new(SRC);
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, options()).unwrap();
    for i in 0..60 {
        db.put(&key('k', i), b"old").unwrap();
    }
    db.flush().unwrap();
    for i in 0..60 {
        if i % 2 == 0 {
            db.put(&key('k', i), b"new").unwrap();
        } else {
            db.delete(&key('k', i)).unwrap();
        }
    }
    let newer = db.flush().unwrap().tables[0].clone();
    db.close().unwrap();
    let path = dir.join(nokv::filenames::table_name(newer.number));
    let mut bytes = mem.read_file(&path).unwrap();
    bytes[10] ^= 0x01; // the first data block
    mem.write_file(&path, &bytes);
    let (report, copied) = run(&mem, "/dest");
    assert!(report.anything_lost);
    let lost = &report.lost[0];
    assert_eq!(lost.what, "block");
    assert_eq!(lost.after_key, None);
    let last = lost.largest.clone().unwrap().into_bytes();
    // Inside the lost block's range the older table's versions come back, and each is named.
    let resurrected: Vec<&Vec<u8>> = copied
        .iter()
        .filter(|(k, v)| k.as_slice() <= last.as_slice() && v.as_slice() == b"old")
        .map(|(k, _)| k)
        .collect();
    assert!(!resurrected.is_empty());
    assert_eq!(lost.suspect_keys, resurrected.len() as u64);
    assert_eq!(
        lost.suspect_sample,
        resurrected
            .iter()
            .take(nokv::salvage::SUSPECT_SAMPLE)
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
    );
    // Outside it, the newer table wins: puts are new, deletes stay deleted.
    for i in 0..60 {
        let k = key('k', i);
        if k.as_slice() > last.as_slice() {
            let expected = (i % 2 == 0).then(|| b"new".to_vec());
            assert_eq!(copied.get(&k).cloned(), expected, "{}", i);
        }
    }
}

#[test]
fn a_damaged_manifest_reads_every_table_and_counts_as_a_loss() {
    let w = build();
    let manifest = w
        .mem
        .file_names()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("MANIFEST-"))
        .unwrap();
    let mut bytes = w.mem.read_file(&manifest).unwrap();
    bytes[20] ^= 0x01; // inside the first record, with records after it
    w.mem.write_file(&manifest, &bytes);
    let (report, copied) = run(&w.mem, "/dest");
    assert!(!report.manifest_usable);
    assert!(report.anything_lost);
    assert!(!report.manifest_problems.is_empty());
    assert_eq!(copied, w.model);
}

#[test]
fn the_cli_exits_0_when_nothing_was_lost_and_3_when_something_was() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let nokv = || {
        let mut cmd = Command::cargo_bin("nokv").unwrap();
        cmd.arg("--workdir").arg(&src);
        cmd
    };
    for i in 0..200 {
        nokv()
            .args(["put", &format!("key{i:04}"), &"x".repeat(100)])
            .assert()
            .success();
        if i == 99 {
            nokv().arg("flush").assert().success();
        }
    }
    nokv().arg("flush").assert().success();
    let out = nokv()
        .arg("salvage")
        .arg(work.path().join("ok"))
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).starts_with("OK: 200 keys"));
    // DEST must be fresh.
    let out = nokv()
        .arg("salvage")
        .arg(work.path().join("ok"))
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("not empty"));

    let table = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&table, &bytes).unwrap();
    let out = nokv()
        .args(["salvage", "--json"])
        .arg(work.path().join("rescued"))
        .assert()
        .code(3);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["anything_lost"], true);
    let lost = &json["lost"][0];
    assert_eq!(lost["what"], "block");
    assert_eq!(lost["offset"], 0);
    let entries = lost["entries"].as_u64().unwrap();
    assert!(entries > 0);
    assert_eq!(json["keys_written"].as_u64().unwrap(), 200 - entries);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("salvage lost records"), "{stderr}");
    // The copy is a workdir of its own.
    let mut scan = Command::cargo_bin("nokv").unwrap();
    let out = scan
        .arg("--workdir")
        .arg(work.path().join("rescued"))
        .arg("scan")
        .assert()
        .success();
    let lines = out
        .get_output()
        .stdout
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    assert_eq!(lines as u64, 200 - entries);
}
