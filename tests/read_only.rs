//! Read-only opens and checkpoints beside a live writer (SPEC 2.3a, 4): nothing on disk
//! changes, a table compacted away or a WAL segment reclaimed between the reader's steps sends
//! it back to `CURRENT` for a fresh start (a bounded number of times), and a checkpoint is a
//! workdir of its own that shares no change with its source.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use nokv::vfs::{FaultVfs, FileLock, MemVfs, ReadableFile, Vfs, WritableFile};
use nokv::{Db, Error, Options, ReadOnlyDb};

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

fn options() -> Options {
    Options {
        memtable_size: 16 << 10,
        block_size: 1024,
        stats_interval: None,
        background_flush: false,
        auto_compaction: false,
        ..Options::default()
    }
}

type Hook = Box<dyn FnMut(&Path) + Send>;

/// A [`MemVfs`] whose `open_read` of a table (or `list_dir` of `wal/`) first runs a hook: the
/// moment between the reader's manifest read and its table open (or WAL listing), where a
/// writer in another process may compact or flush.
#[derive(Clone)]
struct HookVfs {
    inner: MemVfs,
    on_table_open: Arc<Mutex<Option<Hook>>>,
    on_wal_list: Arc<Mutex<Option<Hook>>>,
    on_link: Arc<Mutex<Option<Hook>>>,
    on_manifest_open: Arc<Mutex<Option<Hook>>>,
    /// Runs between a WAL segment's open (its size taken) and its first read.
    on_wal_read: Arc<Mutex<Option<Hook>>>,
    /// While set, removing a WAL segment fails (the writer tolerates it: recovery removes
    /// segments below the checkpoint), so a reclaimed segment's name stays a while.
    keep_wal_segments: Arc<AtomicBool>,
}

impl std::fmt::Debug for HookVfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookVfs")
    }
}

impl HookVfs {
    fn new(inner: MemVfs) -> HookVfs {
        HookVfs {
            inner,
            on_table_open: Arc::new(Mutex::new(None)),
            on_wal_list: Arc::new(Mutex::new(None)),
            on_link: Arc::new(Mutex::new(None)),
            on_manifest_open: Arc::new(Mutex::new(None)),
            on_wal_read: Arc::new(Mutex::new(None)),
            keep_wal_segments: Arc::new(AtomicBool::new(false)),
        }
    }

    fn run(hook: &Mutex<Option<Hook>>, path: &Path) {
        if let Some(hook) = hook.lock().unwrap().as_mut() {
            hook(path);
        }
    }
}

impl Vfs for HookVfs {
    fn create_new(&self, path: &Path) -> nokv::Result<Box<dyn WritableFile>> {
        self.inner.create_new(path)
    }
    fn open_append(&self, path: &Path) -> nokv::Result<Box<dyn WritableFile>> {
        self.inner.open_append(path)
    }
    fn open_read(&self, path: &Path) -> nokv::Result<Arc<dyn ReadableFile>> {
        if path.extension().is_some_and(|e| e == "sst") {
            Self::run(&self.on_table_open, path);
        }
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("MANIFEST-"))
        {
            Self::run(&self.on_manifest_open, path);
        }
        let file = self.inner.open_read(path)?;
        if path.extension().is_some_and(|e| e == "wal") {
            return Ok(Arc::new(HookedRead {
                inner: file,
                size: std::sync::OnceLock::new(),
                hook: Arc::clone(&self.on_wal_read),
            }));
        }
        Ok(file)
    }
    fn rename(&self, from: &Path, to: &Path) -> nokv::Result<()> {
        self.inner.rename(from, to)
    }
    fn rename_no_replace(&self, from: &Path, to: &Path) -> nokv::Result<()> {
        self.inner.rename_no_replace(from, to)
    }
    fn remove_file(&self, path: &Path) -> nokv::Result<()> {
        if self.keep_wal_segments.load(Ordering::SeqCst)
            && path.extension().is_some_and(|e| e == "wal")
        {
            return Err(Error::io("remove", path)(std::io::Error::other(
                "refused by the test",
            )));
        }
        self.inner.remove_file(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> nokv::Result<()> {
        self.inner.truncate(path, len)
    }
    fn sync_dir(&self, path: &Path) -> nokv::Result<()> {
        self.inner.sync_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> nokv::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> nokv::Result<Vec<String>> {
        if path.ends_with("wal") {
            Self::run(&self.on_wal_list, path);
        }
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> nokv::Result<bool> {
        self.inner.exists(path)
    }
    fn file_size(&self, path: &Path) -> nokv::Result<u64> {
        self.inner.file_size(path)
    }
    fn lock(&self, path: &Path) -> nokv::Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
    fn lock_holder(&self, path: &Path) -> nokv::Result<Option<Option<u32>>> {
        self.inner.lock_holder(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> nokv::Result<()> {
        Self::run(&self.on_link, from);
        self.inner.hard_link(from, to)
    }
}

/// A file that runs a hook before its first read, with its size fixed when first asked (as
/// a real file's is at open).
struct HookedRead {
    inner: Arc<dyn ReadableFile>,
    size: std::sync::OnceLock<u64>,
    hook: Arc<Mutex<Option<Hook>>>,
}

impl ReadableFile for HookedRead {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> nokv::Result<()> {
        HookVfs::run(&self.hook, self.inner.path());
        self.inner.read_exact_at(offset, buf)
    }
    fn size(&self) -> u64 {
        *self.size.get_or_init(|| self.inner.size())
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

/// The newest WAL segment of the workdir in `vfs`.
fn newest_wal(vfs: &MemVfs) -> PathBuf {
    vfs.file_names()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .max()
        .unwrap()
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn value(i: u32, round: u32) -> Vec<u8> {
    format!("value {i} of round {round} {}", "x".repeat(40)).into_bytes()
}

/// A writer on `vfs` holding two L0 tables and some WAL data.
fn writer(vfs: &MemVfs) -> Db {
    let db = Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), options()).unwrap();
    write_round(&db, 0);
    db
}

fn write_round(db: &Db, round: u32) {
    for i in 0..200 {
        db.put(&key(i), &value(i, round)).unwrap();
    }
    db.flush().unwrap();
    for i in 0..200 {
        db.put(&key(i + 200), &value(i + 200, round)).unwrap();
    }
}

fn reader(vfs: &HookVfs) -> nokv::Result<ReadOnlyDb> {
    ReadOnlyDb::open_with_vfs(Arc::new(vfs.clone()), &dir(), options())
}

fn assert_round(reader: &ReadOnlyDb, round: u32) {
    let all: Vec<(Vec<u8>, Vec<u8>)> = reader
        .scan(&Default::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..400).map(|i| (key(i), value(i, round))).collect();
    assert_eq!(all, expected);
}

#[test]
fn a_table_compacted_away_before_the_reader_opens_it_sends_it_back_to_current() {
    let mem = MemVfs::new();
    let db = Arc::new(writer(&mem));
    let vfs = HookVfs::new(mem.clone());
    let compactor = Arc::clone(&db);
    let mut fired = false;
    *vfs.on_table_open.lock().unwrap() = Some(Box::new(move |_: &Path| {
        if !fired {
            fired = true;
            assert!(compactor.compact().unwrap().inputs >= 2);
        }
    }));
    let reader = reader(&vfs).unwrap();
    assert_eq!(reader.attempts(), 2, "one fresh start after the compaction");
    assert_round(&reader, 0);
    assert!(
        reader.version().levels[0].is_empty(),
        "the compacted version"
    );
}

#[test]
fn a_flush_between_the_manifest_read_and_the_wal_listing_is_not_missed() {
    // The writer's data is all in the active WAL segment. If the reader read the manifest,
    // then the writer flushed (checkpoint moved, segment deleted, a new empty one opened),
    // then the reader listed wal/, the reader would see neither the table nor the records.
    let mem = MemVfs::new();
    let db = Arc::new(Db::open_with_vfs(Arc::new(mem.clone()), &dir(), options()).unwrap());
    for i in 0..50 {
        db.put(&key(i), &value(i, 7)).unwrap();
    }
    let vfs = HookVfs::new(mem.clone());
    let flusher = Arc::clone(&db);
    let mut fired = false;
    *vfs.on_wal_list.lock().unwrap() = Some(Box::new(move |_: &Path| {
        if !fired {
            fired = true;
            assert_eq!(flusher.flush().unwrap().tables.len(), 1);
        }
    }));
    let reader = reader(&vfs).unwrap();
    assert_eq!(reader.attempts(), 2);
    for i in 0..50 {
        assert_eq!(reader.get(&key(i)).unwrap(), Some(value(i, 7)), "key {i}");
    }
}

#[test]
fn a_segment_a_flush_covered_is_not_replayed_over_the_tables_that_came_after_it() {
    // The reader reads the manifest (checkpoint: the segment holding round 1). Then the writer
    // flushes it (the checkpoint moves on; the segment's name stays, its removal failing)
    // and ingests round 2 over the same keys. The listing still shows the old segment; were
    // it replayed beside the new version, its round-1 records would sit in a memtable,
    // which reads before every table, and hide the ingested round 2.
    let mem = MemVfs::new();
    let vfs = HookVfs::new(mem.clone());
    let db = Arc::new(Db::open_with_vfs(Arc::new(vfs.clone()), &dir(), options()).unwrap());
    for i in 0..50 {
        db.put(&key(i), &value(i, 1)).unwrap();
    }
    let writer = Arc::clone(&db);
    let keep = Arc::clone(&vfs.keep_wal_segments);
    let mut fired = false;
    *vfs.on_wal_list.lock().unwrap() = Some(Box::new(move |_: &Path| {
        if fired {
            return;
        }
        fired = true;
        keep.store(true, Ordering::SeqCst);
        assert_eq!(writer.flush().unwrap().tables.len(), 1);
        let mut ingest = writer.ingest().unwrap();
        for i in 0..50 {
            ingest.add(&key(i), &value(i, 2)).unwrap();
        }
        ingest.finish().unwrap();
    }));
    let wal_dir = dir().join("wal");
    let reader = reader(&vfs).unwrap();
    assert_eq!(
        mem.list_dir(&wal_dir).unwrap().len(),
        2,
        "the flushed segment is still there beside the new one"
    );
    assert_eq!(reader.attempts(), 2, "the moved checkpoint sent it back");
    for i in 0..50 {
        assert_eq!(reader.get(&key(i)).unwrap(), Some(value(i, 2)), "key {i}");
    }
    vfs.keep_wal_segments.store(false, Ordering::SeqCst);
}

#[test]
fn a_torn_tail_cut_by_a_recovering_writer_while_the_reader_reads_the_segment_is_not_an_error() {
    // A crash left a torn record at the end of the newest segment. The reader takes the
    // segment's size; then a writer opens the workdir (recovery cuts the torn tail) before
    // the reader reads the bytes: the file is now shorter than the size the reader took.
    let mem = MemVfs::new();
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), options()).unwrap();
    for i in 0..50 {
        db.put(&key(i), &value(i, 3)).unwrap();
    }
    let crashed = mem.process_crash_clone();
    drop(db);
    let segment = newest_wal(&crashed);
    let mut bytes = crashed.read_file(&segment).unwrap();
    let intact = bytes.len();
    // A record header announcing 200 bytes, and only 10 of them.
    bytes.extend_from_slice(&200u32.to_le_bytes());
    bytes.extend_from_slice(&[0xab; 14]);
    crashed.write_file(&segment, &bytes);

    let vfs = HookVfs::new(crashed.clone());
    let recovered: Arc<Mutex<Option<Db>>> = Arc::default();
    let slot = Arc::clone(&recovered);
    let disk = crashed.clone();
    *vfs.on_wal_read.lock().unwrap() = Some(Box::new(move |_: &Path| {
        let mut slot = slot.lock().unwrap();
        if slot.is_none() {
            *slot = Some(Db::open_with_vfs(Arc::new(disk.clone()), &dir(), options()).unwrap());
        }
    }));
    let reader = reader(&vfs).unwrap();
    assert!(
        recovered.lock().unwrap().is_some(),
        "the writer recovered mid-read"
    );
    assert_eq!(
        crashed.read_file(&segment).map(|b| b.len()),
        Some(intact),
        "recovery cut the torn tail"
    );
    for i in 0..50 {
        assert_eq!(reader.get(&key(i)).unwrap(), Some(value(i, 3)), "key {i}");
    }
}

#[test]
fn a_manifest_rewritten_between_current_and_its_read_sends_the_reader_back_to_current() {
    let mem = MemVfs::new();
    let opts = Options {
        manifest_rewrite_threshold: 64,
        ..options()
    };
    let db = Arc::new(Db::open_with_vfs(Arc::new(mem.clone()), &dir(), opts).unwrap());
    write_round(&db, 0);
    let vfs = HookVfs::new(mem.clone());
    let rewriter = Arc::clone(&db);
    let mut fired = false;
    *vfs.on_manifest_open.lock().unwrap() = Some(Box::new(move |_: &Path| {
        if !fired {
            fired = true;
            write_round(&rewriter, 1);
        }
    }));
    let before = mem
        .file_names()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("MANIFEST-"))
        .unwrap();
    let reader = reader(&vfs).unwrap();
    assert!(
        !mem.file_names().contains(&before),
        "the writer did not rewrite its manifest: {:?} {:?}",
        before,
        mem.file_names()
    );
    assert_eq!(reader.attempts(), 2);
    assert_round(&reader, 1);
}

#[test]
fn a_writer_that_keeps_compacting_under_every_attempt_gets_a_clear_error() {
    let mem = MemVfs::new();
    let db = Arc::new(writer(&mem));
    let vfs = HookVfs::new(mem.clone());
    let busy = Arc::clone(&db);
    let mut round = 0;
    *vfs.on_table_open.lock().unwrap() = Some(Box::new(move |_: &Path| {
        round += 1;
        write_round(&busy, round);
        busy.compact().unwrap();
    }));
    let err = reader(&vfs).unwrap_err();
    match &err {
        Error::WorkdirChanging { attempts, last, .. } => {
            assert_eq!(*attempts, nokv::db::READ_ONLY_ATTEMPTS);
            // A table compacted away, or a WAL segment the flush reclaimed.
            assert!(
                last.contains("No such file") || last.contains("missing file"),
                "{last}"
            );
        }
        other => panic!("expected WorkdirChanging, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("/db") && text.contains("kept changing"),
        "{text}"
    );
}

#[test]
fn a_table_missing_while_the_manifest_stays_put_is_damage_not_a_race() {
    let mem = MemVfs::new();
    let db = writer(&mem);
    db.close().unwrap();
    let table = mem
        .file_names()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .unwrap();
    mem.remove_file(&table).unwrap();
    let err = reader(&HookVfs::new(mem)).unwrap_err();
    match &err {
        Error::MissingFile { path, .. } => assert_eq!(path, &table),
        other => panic!("expected MissingFile, got {other}"),
    }
}

#[test]
fn a_read_only_open_performs_no_mutating_operation_and_stops_at_the_last_complete_record() {
    let mem = MemVfs::new();
    let db = writer(&mem);
    db.close().unwrap();
    // A torn tail in the newest segment, as a live writer mid-append (or a crash) leaves.
    let wal = newest_wal(&mem);
    let mut bytes = mem.read_file(&wal).unwrap();
    let whole = bytes.len();
    bytes.extend_from_slice(&[0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    mem.write_file(&wal, &bytes);
    let fault = FaultVfs::new(Arc::new(mem.clone()));
    let reader = ReadOnlyDb::open_with_vfs(Arc::new(fault.clone()), &dir(), options()).unwrap();
    assert_round(
        &ReadOnlyDb::open_with_vfs(Arc::new(mem.clone()), &dir(), options()).unwrap(),
        0,
    );
    assert_eq!(reader.get(&key(399)).unwrap(), Some(value(399, 0)));
    let mutating: Vec<_> = fault
        .ops()
        .into_iter()
        .filter(|op| op.kind.is_mutating() || op.kind == nokv::vfs::OpKind::Lock)
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    assert_eq!(
        mem.read_file(&wal).unwrap().len(),
        whole + 10,
        "the tail was not cut"
    );
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

fn copy_dir() -> PathBuf {
    PathBuf::from("/copy")
}

fn everything(scan: nokv::Scan) -> Vec<(Vec<u8>, Vec<u8>)> {
    scan.map(Result::unwrap).collect()
}

fn open_copy(vfs: &MemVfs) -> Db {
    Db::open_with_vfs(Arc::new(vfs.clone()), &copy_dir(), options()).unwrap()
}

#[test]
fn a_checkpoint_beside_a_live_writer_opens_with_what_the_writer_had_and_nothing_after() {
    let mem = MemVfs::new();
    let db = writer(&mem);
    db.delete(&key(3)).unwrap();
    db.delete_range(&key(10), &key(20)).unwrap();
    let expected = everything(db.scan(&Default::default()).unwrap());
    let summary =
        nokv::db::checkpoint_with_vfs(Arc::new(mem.clone()), &dir(), &copy_dir()).unwrap();
    let tables = db.version().all_tables().count() as u64;
    assert!(tables >= 1);
    assert_eq!(summary.tables_linked, tables, "{summary:?}");
    assert_eq!(summary.tables_copied, 0);
    assert!(summary.wal_segments >= 1);
    assert_eq!(summary.last_sequence, nokv::SeqNo(402));
    assert!(!mem.file_names().contains(&copy_dir().join("LOCK")));

    // Later writes to the source do not show in the copy...
    db.put(&key(0), b"source only").unwrap();
    write_round(&db, 1);
    db.compact().unwrap();
    let copy = open_copy(&mem);
    assert_eq!(
        everything(copy.scan(&Default::default()).unwrap()),
        expected
    );
    // ... and the copy's writes and compactions (which delete its linked tables) leave the
    // source alone.
    copy.put(&key(1), b"copy only").unwrap();
    copy.compact().unwrap();
    assert_eq!(copy.get(&key(1)).unwrap(), Some(b"copy only".to_vec()));
    assert_eq!(copy.get(&key(0)).unwrap(), Some(value(0, 0)));
    copy.close().unwrap();
    assert_eq!(db.get(&key(1)).unwrap(), Some(value(1, 1)));
    assert_eq!(db.get(&key(0)).unwrap(), Some(value(0, 1)));
    db.close().unwrap();
    let copy = open_copy(&mem);
    assert_eq!(copy.get(&key(0)).unwrap(), Some(value(0, 0)));
    assert_eq!(copy.get(&key(3)).unwrap(), None);
    copy.close().unwrap();
}

#[test]
fn a_checkpoint_survives_power_loss_once_it_returns_even_from_a_fast_mode_source() {
    let mem = MemVfs::new();
    let fast = Options {
        durability: nokv::Durability::Fast,
        ..options()
    };
    let db = Db::open_with_vfs(Arc::new(mem.clone()), &dir(), fast).unwrap();
    // Enough for several flushes (a writer needing room runs them), no Db::flush: in fast
    // mode none of those tables is fsynced yet, and the writer stays open.
    let n = 3000;
    for i in 0..n {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    assert!(db.version().all_tables().count() >= 2);
    nokv::db::checkpoint_with_vfs(Arc::new(mem.clone()), &dir(), &copy_dir()).unwrap();
    let after_power_loss = mem.crash_clone();
    drop(db);
    let copy = open_copy(&after_power_loss);
    let all = everything(copy.scan(&Default::default()).unwrap());
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..n).map(|i| (key(i), value(i, 0))).collect();
    assert_eq!(all, expected);
}

#[test]
fn a_table_compacted_away_before_it_is_linked_is_copied_from_the_open_file() {
    let mem = MemVfs::new();
    let db = Arc::new(writer(&mem));
    let expected = everything(db.scan(&Default::default()).unwrap());
    let vfs = HookVfs::new(mem.clone());
    let compactor = Arc::clone(&db);
    let mut fired = false;
    *vfs.on_link.lock().unwrap() = Some(Box::new(move |_: &Path| {
        if !fired {
            fired = true;
            compactor.put(&key(0), b"after").unwrap();
            compactor.compact().unwrap();
            // The compacted-away tables go at the next commit.
            compactor.put(&key(1), b"after").unwrap();
            compactor.flush().unwrap();
        }
    }));
    let summary = nokv::db::checkpoint_with_vfs(Arc::new(vfs), &dir(), &copy_dir()).unwrap();
    assert_eq!(summary.tables_copied, 2, "{summary:?}");
    assert_eq!(summary.tables_linked, 0, "{summary:?}");
    let copy = open_copy(&mem);
    assert_eq!(
        everything(copy.scan(&Default::default()).unwrap()),
        expected
    );
}

#[test]
fn a_checkpoint_refuses_a_destination_that_is_not_empty() {
    let mem = MemVfs::new();
    let db = writer(&mem);
    mem.create_dir_all(&copy_dir()).unwrap();
    mem.write_file(copy_dir().join("precious"), b"keep me");
    let err =
        nokv::db::checkpoint_with_vfs(Arc::new(mem.clone()), &dir(), &copy_dir()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/copy") && text.contains("not empty"),
        "{text}"
    );
    assert_eq!(
        mem.read_file(copy_dir().join("precious")).unwrap(),
        b"keep me"
    );
    assert_eq!(
        mem.file_names()
            .iter()
            .filter(|p| p.starts_with("/copy"))
            .count(),
        1
    );
    // An empty directory is fine.
    mem.remove_file(&copy_dir().join("precious")).unwrap();
    nokv::db::checkpoint_with_vfs(Arc::new(mem.clone()), &dir(), &copy_dir()).unwrap();
    db.close().unwrap();
}

#[test]
fn a_checkpoint_copies_the_newest_segment_up_to_its_last_complete_record() {
    let mem = MemVfs::new();
    let db = writer(&mem);
    db.close().unwrap();
    let wal = mem
        .file_names()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .max()
        .unwrap();
    let whole = mem.read_file(&wal).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(&[0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    mem.write_file(&wal, &torn);
    nokv::db::checkpoint_with_vfs(Arc::new(mem.clone()), &dir(), &copy_dir()).unwrap();
    let copied = copy_dir().join("wal").join(wal.file_name().unwrap());
    assert_eq!(
        mem.read_file(&copied).unwrap(),
        whole,
        "the torn record was copied"
    );
    assert_eq!(mem.read_file(&wal).unwrap(), torn, "the source was changed");
    let copy = open_copy(&mem);
    assert_eq!(copy.stats().wal.torn_tails_truncated, 0);
    assert_round(
        &ReadOnlyDb::open_with_vfs(Arc::new(mem.clone()), &copy_dir(), options()).unwrap(),
        0,
    );
    copy.close().unwrap();
}
