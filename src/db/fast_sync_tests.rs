//! Fast mode's fsync pass at the end of [`super::Db::flush`] covers a table whose flush has
//! not committed yet (another thread's write rotated the memtable after this flush waited).

use std::path::Path;
use std::sync::Arc;

use super::Db;
use crate::filenames;
use crate::flush;
use crate::memtable::Memtable;
use crate::options::Durability;
use crate::sst::TableOptions;
use crate::types::{SeqNo, ValueKind};
use crate::vfs::MemVfs;
use crate::Options;

#[test]
fn a_flush_in_flight_when_another_flush_syncs_keeps_its_table_listed_and_fsynced() {
    let mem = MemVfs::new();
    let dir = Path::new("/db");
    let opts = Options {
        durability: Durability::Fast,
        background_flush: false,
        auto_compaction: false,
        stats_interval: None,
        ..Options::default()
    };
    let db = Db::open_with_vfs(Arc::new(mem.clone()), dir, opts.clone()).unwrap();
    // A flush in flight: its table is built and open (listed as unsynced), its commit not
    // yet made, so the view does not hold it.
    let inner = &db.inner;
    let memtable = Memtable::new(inner.active_wal.lock().unwrap().0);
    memtable.insert(b"in-flight", SeqNo(1), ValueKind::Put, b"value");
    let number = inner.alloc_table_number();
    let meta = flush::write_table(
        inner.vfs.as_ref(),
        dir,
        number,
        Durability::Fast,
        &memtable,
        TableOptions::from(&opts),
    )
    .unwrap()
    .unwrap();
    let path = dir.join(filenames::table_name(number));
    inner.open_table(&path, meta.size, false).unwrap();
    assert!(!inner.read_view().tables.contains_key(&number));

    // Another thread's flush completes and runs the fsync pass.
    db.put(b"k", b"v").unwrap();
    db.flush().unwrap();

    let survivor = mem.crash_clone();
    assert_eq!(
        survivor.read_file(&path).map(|b| b.len() as u64),
        Some(meta.size),
        "the in-flight table's bytes survive a power loss"
    );
    drop(db);
}
