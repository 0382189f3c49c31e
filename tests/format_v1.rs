//! Format compatibility: a workdir written by the version-1 table writer
//! (`tests/fixtures/v1-workdir`, see its README) opens, reads, verifies, and compacts into
//! version-2 tables in the current codec, with the same contents.

use std::collections::BTreeMap;
use std::path::Path;

use nokv::sst::{Compression, Table, FORMAT_VERSION};
use nokv::verify::{verify, VerifyOptions};
use nokv::vfs::RealFs;
use nokv::{Db, Options, ScanOptions};

fn key(i: usize) -> String {
    format!("usr/share/doc/pkg{:03}/file{:04}.txt", i % 37, i)
}

/// What the fixture's generator wrote, replayed on a map.
fn expected() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut m = BTreeMap::new();
    for i in 0..600 {
        m.insert(key(i).into_bytes(), format!("v1-{i}").into_bytes());
    }
    for i in (0..600).step_by(3) {
        m.insert(key(i).into_bytes(), format!("v2-{i}").into_bytes());
    }
    for i in (0..600).filter(|i| i % 5 == 1) {
        m.remove(key(i).as_bytes());
    }
    m.retain(|k, _| {
        !(k.as_slice() >= b"usr/share/doc/pkg010/".as_slice()
            && k.as_slice() < b"usr/share/doc/pkg012/".as_slice())
    });
    for i in 0..5 {
        m.insert(
            format!("wal/key{i}").into_bytes(),
            format!("w{i}").into_bytes(),
        );
    }
    m
}

fn copy_fixture(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-workdir");
    std::fs::create_dir_all(to.join("wal")).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "README.md" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            for inner in std::fs::read_dir(entry.path()).unwrap() {
                let inner = inner.unwrap();
                std::fs::copy(inner.path(), to.join(&name).join(inner.file_name())).unwrap();
            }
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn table_versions(dir: &Path) -> Vec<(u32, Compression)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sst") {
            let t = Table::open(&RealFs, &path, None).unwrap();
            out.push((t.properties().format_version, t.properties().compression));
        }
    }
    out.sort_by_key(|v| (v.0, v.1.tag()));
    out
}

fn contents(db: &Db) -> BTreeMap<Vec<u8>, Vec<u8>> {
    db.scan(&ScanOptions::default())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn a_version_1_workdir_opens_reads_verifies_and_compacts_into_version_2() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    assert_eq!(
        table_versions(dir.path()),
        vec![(1, Compression::None), (1, Compression::None)]
    );
    let report = verify(&RealFs, dir.path(), &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.problems);

    let want = expected();
    let opts = Options {
        background_flush: false,
        auto_compaction: false,
        stats_interval: None,
        compression: Compression::Zstd,
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    for (k, v) in want.iter().step_by(7) {
        assert_eq!(
            db.get(k).unwrap().as_ref(),
            Some(v),
            "{}",
            String::from_utf8_lossy(k)
        );
    }
    assert_eq!(db.get(key(1).as_bytes()).unwrap(), None, "point delete");
    assert_eq!(db.get(key(10).as_bytes()).unwrap(), None, "range delete");
    assert_eq!(contents(&db), want);

    // Compaction rewrites everything in version 2, in the configured codec.
    db.flush().unwrap();
    db.compact().unwrap();
    assert_eq!(contents(&db), want);
    db.close().unwrap();
    let versions = table_versions(dir.path());
    assert!(!versions.is_empty());
    assert!(
        versions
            .iter()
            .all(|v| *v == (FORMAT_VERSION, Compression::Zstd)),
        "{versions:?}"
    );
    let report = verify(&RealFs, dir.path(), &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(contents(&db), want);
    db.close().unwrap();
}
