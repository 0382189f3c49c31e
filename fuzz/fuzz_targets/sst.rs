//! Bytes as a table in a MemVfs -> `Table::open`, a full iteration, point gets, and
//! `check_table`. No panic; a table that `check_table` passes opens, iterates exactly its
//! entries in order, and `get` agrees with the iteration.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use nokv::sst::{check_table, Table};
use nokv::vfs::MemVfs;

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = nokv_fuzz::split_mode(data);
    let mut bytes = rest.to_vec();
    if mode & 1 != 0 {
        nokv_fuzz::fix_sst(&mut bytes);
    }
    let vfs = MemVfs::new();
    let path = Path::new("000005.sst");
    vfs.write_file(path, &bytes);

    let check = check_table(&vfs, path).expect("check_table only fails to open the file");
    let opened = Table::open(&vfs, path, None);
    if check.is_ok() {
        assert!(
            opened.is_ok(),
            "check_table passes a table open rejects: {:?}",
            opened.err()
        );
    }
    let Ok(table) = opened else {
        return;
    };
    let table = Arc::new(table);
    let _ = table.range_tombstones();
    let mut entries = Vec::new();
    let mut failed = false;
    for entry in table.iter() {
        match entry {
            Ok(e) => entries.push(e),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    // Point lookups: every key iterated (bounded), plus probes around them.
    for e in entries.iter().take(64) {
        let got = table.get(&e.key);
        if check.is_ok() {
            let (seq, kind, value) = got.expect("get on a sound table").expect("key present");
            assert_eq!((seq, kind, &value), (e.seq, e.kind, &e.value));
        }
        let mut above = e.key.clone();
        above.push(0);
        let _ = table.get(&above);
    }
    let _ = table.get(b"");
    let _ = table.get(b"\xff\xff\xff\xff");
    let mut it = table.iter();
    if let Some(e) = entries.get(entries.len() / 2) {
        let _ = it.seek(&e.key);
        let _ = it.next();
    }
    if check.is_ok() {
        assert!(!failed);
        assert_eq!(entries.len() as u64, table.properties().entries);
        assert!(entries.windows(2).all(|w| w[0].key < w[1].key));
    }
});
