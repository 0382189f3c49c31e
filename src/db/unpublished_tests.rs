//! The persisted file-number counter stays below every table still in flight, so that a
//! crash leftover is never mistaken for the trace of a lost edit (`manifest::TableHistory`).

use std::path::Path;
use std::sync::Arc;

use super::Db;
use crate::filenames;
use crate::manifest::{self, Unreferenced};
use crate::verify::{verify, VerifyOptions};
use crate::vfs::{MemVfs, Vfs};
use crate::Options;

fn options() -> Options {
    Options {
        background_flush: false,
        auto_compaction: false,
        stats_interval: None,
        ..Options::default()
    }
}

#[test]
fn an_edit_logged_while_another_table_is_in_flight_persists_a_counter_below_it() {
    let mem = MemVfs::new();
    let dir = Path::new("/db");
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, options()).unwrap();
    // A compaction (say) has taken a number for its output and is still writing it.
    let in_flight = db.inner.alloc_table_number();
    mem.write_file(
        dir.join(filenames::table_name(in_flight)),
        b"half-written output",
    );
    // Meanwhile a flush publishes a table with a larger number.
    db.put(b"k", b"v").unwrap();
    let flushed = db.flush().unwrap();
    assert!(flushed.tables[0].number > in_flight);
    let crashed = mem.process_crash_clone();
    drop(db);

    let report = manifest::inspect(&crashed, dir).unwrap();
    let version = report.version.unwrap();
    assert!(
        version.next_file_number <= in_flight,
        "persisted {} covers the in-flight {in_flight}",
        version.next_file_number
    );
    assert_eq!(
        report.history.classify(in_flight, &version),
        Unreferenced::NeverPublished
    );
    let verified = verify(&crashed, dir, &VerifyOptions::default()).unwrap();
    assert!(verified.ok, "{:?}", verified.problems);
    assert_eq!(verified.leftovers, 1);
    let db = Db::open_with_vfs(Arc::new(crashed.clone()), dir, options()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
    db.close().unwrap();
    assert!(!crashed
        .exists(&dir.join(filenames::table_name(in_flight)))
        .unwrap());
}

#[test]
fn a_table_below_the_counter_that_no_edit_mentions_is_damage_and_open_refuses() {
    let mem = MemVfs::new();
    let dir = Path::new("/db");
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, options()).unwrap();
    db.put(b"a", b"1").unwrap();
    db.flush().unwrap();
    // A number the counter has passed, settled without any edit mentioning it (what a lost
    // edit leaves: its table on disk, the manifest silent about it).
    let lost = db.inner.alloc_table_number();
    db.inner.settle_table_numbers([lost]);
    db.put(b"b", b"2").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let table = dir.join(filenames::table_name(lost));
    mem.write_file(&table, b"a table whose edit was lost");

    let report = verify(&mem, dir, &VerifyOptions::default()).unwrap();
    assert!(!report.ok);
    let problem = report
        .problems
        .iter()
        .find(|p| p.kind == "unaccounted_table")
        .unwrap_or_else(|| panic!("{:?}", report.problems));
    assert_eq!(problem.file, filenames::table_name(lost));
    let before = mem.file_names();
    let err = Db::open_with_vfs(Arc::new(mem.clone()), dir, options())
        .map(|_| ())
        .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(
        err.to_string().contains(&filenames::table_name(lost)),
        "{err}"
    );
    assert_eq!(mem.file_names(), before, "the failed open removed nothing");
}
