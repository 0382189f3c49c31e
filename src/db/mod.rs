//! The engine: open and recovery, the write path, point reads, the flush worker, close.
//!
//! Data flow and its durability order (SPEC 2):
//!
//! ```text
//! write ─▶ WAL record (one write(2), in the kernel) ─▶ [fsync, group commit] ─▶ memtable
//!   │ active segment + batch > memtable_size, or memtable memory + batch > memtable_size
//!   ▼
//! rotate: fsync old segment ─▶ create + fsync new segment, fsync wal/ ─▶ old memtable becomes
//!         immutable ─▶ flush queue (wait starts)
//!   ▼
//! flush worker: build SST ─▶ install (strict: temp, fsync, rename-no-replace, fsync dir;
//!               fast: O_EXCL final name) ─▶ manifest edit {add L0 table, WAL checkpoint}
//!               appended + fsynced ─▶ new read view (table visible, memtable dropped, in one
//!               swap) ─▶ WAL segments below the checkpoint deleted
//! ```
//!
//! Locks, and the one order they are taken in (a thread holding one may only take those after
//! it; none is ever taken in the other direction):
//!
//! ```text
//! writer ─▶ inline_flush ─▶ compaction ─▶ unsynced_tables ─▶ sync_point ─▶ state ─▶ view ─▶ leaves
//! ```
//!
//! | lock | guards | held across |
//! |---|---|---|
//! | `writer` | WAL appender, active memtable, `last_seq` | one WAL `write(2)`; a rotation (fsync of the old segment through `sync_point`, creation of the new one, waiting for room); a whole sorted ingest (table writes and fsyncs, waiting for flushes, the manifest commit) |
//! | `inline_flush` | the flush queue's order when `background_flush` is off | one whole flush run on the caller's thread: table build, install, manifest commit, the inline compaction after it |
//! | `compaction` | the level cursors; one compaction at a time | one whole compaction: pick, merge, install, commit |
//! | `unsynced_tables` | fast mode: the tables written and not fsynced yet | the fsync pass of `Db::flush` and close (each listed table, then the workdir); a compaction from its durable-input check through its commit, so no pass makes an input durable in between |
//! | `sync_point` (in `wal::SyncPoint`) | the durable WAL offset, the first fsync failure | one WAL fsync |
//! | `state` | manifest, WAL segment list, outstanding flushes, obsolete tables, the running compaction's output range | a manifest append + fsync (or rewrite); unlinks of WAL segments and obsolete tables. Never a table build, a WAL fsync, a join, or a wait on anything but `flush_done` (which releases it) |
//! | `view` (RwLock) | the `Arc<ReadView>` readers clone | nothing: clone or swap the `Arc` |
//! | leaves: `active_wal`, `poison`, `compaction_stats`, flush metrics, `LOCK`, `Db::threads`, `Db::stop_stats` | what they name | nothing: copy in or out |
//!
//! Rules that keep it deadlock-free and the data safe:
//! - **No lock is held across a thread join.** `close` takes `writer` once (which waits out the
//!   write or ingest in progress; `closed`, set first, refuses every later one), releases it,
//!   sends the workers their shutdown, joins them holding nothing, and only then takes
//!   `writer` again for the final WAL fsync.
//! - **The stats snapshot never waits behind a writer.** It reads `view`, `active_wal` (the
//!   active segment's number and live size counter), `state` and the leaves, never `writer`,
//!   `inline_flush`, `compaction` or `sync_point`: an ingest, a flush build or a compaction in
//!   progress does not delay it, and `close` can always join the publisher.
//! - **Readers hold no lock during I/O**: they clone `Arc<ReadView>` under a brief read lock.
//! - **Flushes commit in queue order.** One background worker, or, inline, one thread at a
//!   time under `inline_flush`; and a flush refuses to commit unless its memtable is the oldest
//!   not yet installed, so the WAL checkpoint only moves past installed memtables.
//! - **An ingest never lands under a running compaction's output.** A compaction is picked
//!   and registered under `state` and unregistered in the critical section of its commit; an
//!   ingest chooses its level under `state`, counting the registered output range as already
//!   in its level. `Version::apply_checked` refuses any edit that makes a level >= 1 overlap.
//! - **A failed WAL fsync is never retried** (`SyncPoint` remembers it): no write in that
//!   segment, nor any later write, is acknowledged; rotation and close do not fsync it again.
//!
//! With `sync_writes`, a write is in the memtable (so readers of this process can see it)
//! before its fsync returns. If that fsync fails, the write returns the error, the engine is
//! poisoned, and readers may still see the value until the process ends; after a reopen it is
//! there if and only if its bytes reached the disk. As with any failed I/O, the outcome of a
//! failed write is unknown; only `Ok` is a promise. (Making the record visible only after the
//! fsync would hold back every later write's visibility behind it; the poison already stops
//! anything from being built on the uncertain write.)
//!
//! A failure that may have lost the order above (a failed WAL write or fsync, a failed flush)
//! poisons the engine: the error is kept, later writes fail with [`Error::Background`] naming
//! it, nothing is deleted, and the next open recovers from the WAL.

mod checkpoint;
mod ingest;
mod read;
mod read_only;
mod recovery;
pub(crate) use recovery::{without_current, WithoutCurrent};
#[cfg(test)]
mod fast_sync_tests;
#[cfg(test)]
mod unpublished_tests;

pub use checkpoint::{checkpoint, checkpoint_with_vfs, CheckpointSummary};
pub use ingest::{Ingest, IngestSummary};
pub use read_only::{ReadOnlyDb, READ_ONLY_ATTEMPTS};

pub use read::ScanOptions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::batch::WriteBatch;
use crate::compaction::{self, CompactionTask};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, EventLog, StallCause};
use crate::filenames;
use crate::flush::{self, FlushMetrics, FlushTask};
use crate::manifest::{Manifest, Version, VersionEdit};
use crate::memtable::{self, Memtable};
use crate::options::{Durability, Options};
use crate::sst::{BlockCache, Table, TableOptions};
use crate::stats::{self, CompactionStats, LevelStats, StatsSnapshot};
use crate::types::{FileNumber, SeqNo, TableMeta, TornLog, TornTail, ValueKind};
use crate::vfs::{FileLock, RealFs, Vfs};
use crate::wal::{self, SyncPoint};

/// What readers see: the memtables and the tables, swapped as a whole.
#[derive(Debug, Clone)]
pub(crate) struct ReadView {
    pub(crate) active: Arc<Memtable>,
    /// Oldest first.
    pub(crate) imms: Vec<Arc<Memtable>>,
    pub(crate) version: Arc<Version>,
    pub(crate) tables: Arc<HashMap<FileNumber, Arc<Table>>>,
}

struct WriteState {
    wal: wal::Writer,
    active: Arc<Memtable>,
    last_seq: SeqNo,
}

struct State {
    manifest: Manifest,
    /// Segments on disk (the active one included) and their sizes when last known.
    wal_segments: BTreeMap<FileNumber, u64>,
    /// Flush tasks queued or running.
    outstanding: usize,
    /// Tables compacted away, deleted from disk once no reader holds them.
    obsolete: Vec<Arc<Table>>,
    /// The compaction running (compactions are serialized): its output level and the key
    /// range its outputs can span. Picked and registered under this lock, removed in the
    /// same critical section as its commit, so an ingest choosing its level under this lock
    /// sees every output that will land (issue 9, bug 2).
    compacting: Option<InFlight>,
}

/// Where a running compaction's outputs will go.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub(crate) output_level: u32,
    pub(crate) smallest: Vec<u8>,
    pub(crate) largest: Vec<u8>,
}

impl InFlight {
    fn of(task: &CompactionTask) -> InFlight {
        let smallest = task.all_inputs().map(|t| t.smallest.clone()).min();
        let largest = task.all_inputs().map(|t| t.largest.clone()).max();
        InFlight {
            output_level: task.output_level,
            smallest: smallest.unwrap_or_default(),
            largest: largest.unwrap_or_default(),
        }
    }

    /// Whether outputs of this compaction may land in `level` over `[smallest, largest]`.
    pub(crate) fn overlaps(&self, level: usize, smallest: &[u8], largest: &[u8]) -> bool {
        self.output_level as usize == level
            && self.smallest.as_slice() <= largest
            && smallest <= self.largest.as_slice()
    }
}

enum CompactMsg {
    Wake,
    Shutdown,
}

enum FlushMsg {
    Task(FlushTask),
    Shutdown,
}

pub(crate) struct Inner {
    dir: PathBuf,
    wal_dir: PathBuf,
    opts: Options,
    vfs: Arc<dyn Vfs>,
    lock: Mutex<Option<Box<dyn FileLock>>>,
    writer: Mutex<WriteState>,
    /// The active WAL segment and its live size, for the stats snapshot (which never takes
    /// `writer`). Replaced under `writer` at each rotation; held only to copy it.
    active_wal: Mutex<(FileNumber, Arc<AtomicU64>)>,
    sync_point: SyncPoint,
    view: RwLock<Arc<ReadView>>,
    state: Mutex<State>,
    flush_done: Condvar,
    next_file: AtomicU64,
    /// Table numbers handed out whose fate is open: neither published by a logged edit nor
    /// known never to be written. The counter an edit persists stays below all of them
    /// ([`Inner::persisted_next_file`]).
    unpublished_tables: Mutex<BTreeSet<u64>>,
    poison: Mutex<Option<String>>,
    poisoned: AtomicBool,
    closed: AtomicBool,
    flush_tx: Sender<FlushMsg>,
    flush_rx: Receiver<FlushMsg>,
    /// With `background_flush: false`, held from taking a task off the queue until it is
    /// installed, so flushes run one at a time in queue order whichever thread runs them
    /// (issue 9, bug 5).
    inline_flush: Mutex<()>,
    metrics: FlushMetrics,
    segments_removed: AtomicU64,
    torn_tails_truncated: AtomicU64,
    manifest_torn_tails_ignored: AtomicU64,
    /// The torn tails this open dropped, for the caller's warning.
    torn_tails: Vec<TornTail>,
    started_at: u64,
    /// Serializes compactions; holds each level's round-robin cursor.
    compaction: Mutex<Vec<Vec<u8>>>,
    compaction_stats: Mutex<CompactionStats>,
    compact_tx: Sender<CompactMsg>,
    compact_rx: Receiver<CompactMsg>,
    block_cache: Option<Arc<BlockCache>>,
    /// The `EVENTS` history; written by its own thread, closed by `shutdown`.
    events: EventLog,
    /// Fast mode: tables written this session and not fsynced yet (SPEC 2.2); fsynced, with
    /// the workdir, when [`Db::flush`] completes and at close.
    unsynced_tables: Mutex<Vec<(FileNumber, PathBuf)>>,
    /// The newest WAL segment holding records replayed at open: an earlier session made them
    /// durable, so in fast mode the flush of a memtable up to it fsyncs its table before the
    /// segment may go ([`Inner::flush_one`]). `None` when nothing was replayed.
    replayed_wal: Option<FileNumber>,
}

/// Live `(key, value)` pairs of a scan, in the order asked for; errors met while reading are
/// yielded, after which the scan ends.
pub type Scan = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + Send>;

/// What one call to [`Db::compact`] did.
#[derive(Debug, Clone, Default)]
pub struct CompactionSummary {
    /// Tables merged.
    pub inputs: usize,
    /// Tables written, in key order.
    pub outputs: Vec<TableMeta>,
    /// The level they went to.
    pub output_level: u32,
    /// Bytes of the inputs.
    pub bytes_read: u64,
    /// Bytes of the outputs.
    pub bytes_written: u64,
}

/// What one call to [`Db::flush`] installed.
#[derive(Debug, Clone, Default)]
pub struct FlushSummary {
    /// Tables added to L0, oldest first.
    pub tables: Vec<TableMeta>,
}

/// An open nokv database.
///
/// ```
/// # fn main() -> nokv::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = nokv::Db::open(dir.path(), nokv::Options::default())?;
/// db.put(b"hello", b"world")?;
/// assert_eq!(db.get(b"hello")?, Some(b"world".to_vec()));
/// db.close()?;
/// # Ok(())
/// # }
/// ```
pub struct Db {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The stats publisher: its stop signal and its thread, stopped apart from the other
    /// workers (see [`Db::shutdown`]).
    stop_stats: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("dir", &self.inner.dir).finish()
    }
}

impl Db {
    /// Opens (or creates) the database in `dir` on the real filesystem. See SPEC 2.3 for what
    /// open checks and repairs.
    ///
    /// # Errors
    /// [`Error::Locked`] when another process holds the workdir; [`Error::NotADatabase`] for a
    /// non-empty directory without a readable `CURRENT`; [`Error::MissingFile`] or
    /// [`Error::Corruption`] naming a damaged file; I/O errors.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        Self::open_with_vfs(Arc::new(RealFs::new()), dir.as_ref(), opts)
    }

    /// Opens the database through `vfs` (tests pass a fault-injecting or in-memory one).
    ///
    /// # Errors
    /// As [`Db::open`].
    pub fn open_with_vfs(vfs: Arc<dyn Vfs>, dir: &Path, opts: Options) -> Result<Db> {
        opts.validate()?;
        let block_cache =
            (opts.block_cache_bytes > 0).then(|| Arc::new(BlockCache::new(opts.block_cache_bytes)));
        let recovered = recovery::recover(Arc::clone(&vfs), dir, block_cache.clone())?;
        let (flush_tx, flush_rx) = crossbeam_channel::unbounded();
        let (compact_tx, compact_rx) = crossbeam_channel::unbounded();
        let previous = stats::read_published(vfs.as_ref(), dir).unwrap_or_default();
        let events_cap = opts.events_max_bytes;
        let events = EventLog::open(Arc::clone(&vfs), dir, events_cap, opts.background_flush);
        for tail in &recovered.torn_tails {
            events.record(Event::torn_tail(tail));
        }
        let replayed_wal = if recovered.active.is_empty() {
            recovered.imms.iter().map(|task| task.memtable.wal()).max()
        } else {
            Some(recovered.wal.number())
        };
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            wal_dir: dir.join(filenames::WAL_DIR),
            vfs,
            lock: Mutex::new(Some(recovered.lock)),
            active_wal: Mutex::new((recovered.wal.number(), recovered.wal.size_counter())),
            writer: Mutex::new(WriteState {
                wal: recovered.wal,
                active: Arc::clone(&recovered.active),
                last_seq: recovered.last_seq,
            }),
            sync_point: SyncPoint::default(),
            view: RwLock::new(Arc::new(ReadView {
                active: recovered.active,
                imms: recovered
                    .imms
                    .iter()
                    .map(|t| Arc::clone(&t.memtable))
                    .collect(),
                version: Arc::new(recovered.version),
                tables: Arc::new(recovered.tables),
            })),
            state: Mutex::new(State {
                manifest: recovered.manifest,
                wal_segments: recovered.wal_segments,
                outstanding: 0,
                obsolete: Vec::new(),
                compacting: None,
            }),
            flush_done: Condvar::new(),
            next_file: AtomicU64::new(recovered.next_file.0),
            unpublished_tables: Mutex::new(BTreeSet::new()),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            flush_tx,
            flush_rx,
            inline_flush: Mutex::new(()),
            metrics: FlushMetrics::resume(&previous.flush),
            segments_removed: AtomicU64::new(
                previous.wal.segments_removed + recovered.segments_removed,
            ),
            torn_tails_truncated: AtomicU64::new(
                previous.wal.torn_tails_truncated + count_torn(&recovered.torn_tails, TornLog::Wal),
            ),
            manifest_torn_tails_ignored: AtomicU64::new(
                previous.manifest.torn_tails_ignored
                    + count_torn(&recovered.torn_tails, TornLog::Manifest),
            ),
            torn_tails: recovered.torn_tails,
            started_at: stats::unix_now(),
            compaction: Mutex::new(vec![Vec::new(); crate::manifest::NUM_LEVELS]),
            compaction_stats: Mutex::new(CompactionStats {
                pending: 0,
                ..previous.compaction.clone()
            }),
            compact_tx,
            compact_rx,
            block_cache,
            events,
            unsynced_tables: Mutex::new(Vec::new()),
            replayed_wal,
            opts,
        });
        for task in recovered.imms {
            inner.enqueue(task);
        }
        let _ = inner.compact_tx.send(CompactMsg::Wake);
        let db = Db {
            inner,
            threads: Mutex::new(Vec::new()),
            stop_stats: Mutex::new(None),
        };
        db.start_threads()?;
        Ok(db)
    }

    fn start_threads(&self) -> Result<()> {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        if self.inner.opts.background_flush {
            let inner = Arc::clone(&self.inner);
            let handle = std::thread::Builder::new()
                .name("nokv-flush".into())
                .spawn(move || inner.flush_worker())
                .map_err(Error::io("spawn thread", &self.inner.dir))?;
            threads.push(handle);
            let inner = Arc::clone(&self.inner);
            let handle = std::thread::Builder::new()
                .name("nokv-compact".into())
                .spawn(move || inner.compaction_worker())
                .map_err(Error::io("spawn thread", &self.inner.dir))?;
            threads.push(handle);
        }
        if let Some(interval) = self.inner.opts.stats_interval {
            let (tx, rx) = crossbeam_channel::bounded::<()>(1);
            let inner = Arc::clone(&self.inner);
            let handle = std::thread::Builder::new()
                .name("nokv-stats".into())
                .spawn(move || loop {
                    // The first snapshot goes out at open, so a reader never sees this
                    // session's pid beside the previous session's `started_at`.
                    let _ = stats::publish(inner.vfs.as_ref(), &inner.dir, &inner.stats(true));
                    if !matches!(
                        rx.recv_timeout(interval),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout)
                    ) {
                        break;
                    }
                })
                .map_err(Error::io("spawn thread", &self.inner.dir))?;
            *self.stop_stats.lock().unwrap_or_else(|e| e.into_inner()) = Some((tx, handle));
        }
        Ok(())
    }

    /// The workdir.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Writes one key.
    ///
    /// # Errors
    /// Invalid keys or values, I/O errors, [`Error::Background`] after a failure.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value)?;
        self.write(&mut batch)
    }

    /// Deletes one key (writes a tombstone).
    ///
    /// # Errors
    /// As [`Db::put`].
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key)?;
        self.write(&mut batch)
    }

    /// Deletes every key in `[start, end)` (a range tombstone). Writes made after it are not
    /// affected.
    ///
    /// # Errors
    /// `start >= end` or invalid bounds; otherwise as [`Db::put`].
    pub fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete_range(start, end)?;
        self.write(&mut batch)
    }

    /// Flushes every memtable, then merges every table into one level (the deepest holding
    /// data, at least L1), dropping tombstones and overwritten values.
    ///
    /// # Errors
    /// The flush's or the compaction's failure.
    pub fn compact(&self) -> Result<CompactionSummary> {
        self.flush()?;
        let mut cursor = self.inner.lock_compaction();
        let Some(task) = self.inner.start_compaction(compaction::full) else {
            return Ok(CompactionSummary::default());
        };
        let outputs = self.inner.compact_once(&task, &mut cursor)?;
        Ok(CompactionSummary {
            inputs: task.all_inputs().count(),
            bytes_read: task.input_bytes(),
            bytes_written: outputs.iter().map(|t| t.size).sum(),
            outputs,
            output_level: task.output_level,
        })
    }

    /// Applies a batch atomically. When this returns `Ok`, the batch is in the kernel (and,
    /// with `sync_writes`, on disk).
    ///
    /// # Errors
    /// As [`Db::put`].
    pub fn write(&self, batch: &mut WriteBatch) -> Result<()> {
        self.inner.write(batch)
    }

    /// The value of `key`, or `None` when absent or deleted.
    ///
    /// # Errors
    /// I/O errors or corruption found while reading a table.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let view = self.inner.read_view();
        read::get(&view, key)
    }

    /// Live entries in key order (or reverse), bounded as `options` says. Both directions
    /// stream: memory stays bounded whatever the range. The scan reads a consistent set of
    /// tables; memtables are read page by page, so writes made during the scan may or may not
    /// be seen.
    ///
    /// # Errors
    /// I/O errors or corruption met while reading; the iterator also yields them.
    pub fn scan(&self, options: &ScanOptions) -> Result<Scan> {
        let view = self.inner.read_view();
        Ok(Box::new(read::ScanIter::new(&view, options)?))
    }

    /// Rotates the active memtable (if it holds anything) and waits until every queued flush
    /// is installed.
    ///
    /// # Errors
    /// The flush failure, as [`Error::Background`].
    pub fn flush(&self) -> Result<FlushSummary> {
        let before: std::collections::HashSet<FileNumber> = self.inner.read_view().version.levels
            [0]
        .iter()
        .map(|t| t.number)
        .collect();
        {
            let mut writer = self.inner.lock_writer()?;
            if !writer.active.is_empty() {
                self.inner.rotate(&mut writer)?;
            }
        }
        self.inner.wait_for_flushes()?;
        self.inner.sync_fast_tables()?;
        let view = self.inner.read_view();
        let mut tables: Vec<TableMeta> = view.version.levels[0]
            .iter()
            .filter(|t| !before.contains(&t.number))
            .map(|t| (**t).clone())
            .collect();
        tables.sort_by_key(|t| t.number);
        Ok(FlushSummary { tables })
    }

    /// The torn tails this open dropped (an unsynced manifest edit ignored, the newest WAL
    /// segment's torn last record truncated), each with the bytes dropped: the engine never
    /// prints, so the caller warns (the CLI on stderr).
    pub fn torn_tails(&self) -> &[TornTail] {
        &self.inner.torn_tails
    }

    /// The current stats snapshot.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats(true)
    }

    /// The current version (levels and tables).
    pub fn version(&self) -> Arc<Version> {
        Arc::clone(&self.inner.read_view().version)
    }

    /// The error that poisoned the engine, if any.
    pub fn background_error(&self) -> Option<String> {
        self.inner
            .poison
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Closes the database: stops accepting writes, waits for queued flushes, fsyncs the
    /// active WAL segment, publishes the final stats, releases `LOCK`. When this returns `Ok`,
    /// everything written is durable.
    ///
    /// # Errors
    /// The background error if the engine was poisoned, or the final fsync's error. Nothing
    /// acknowledged is lost either way: the next open recovers from the WAL.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        // The stats publisher goes first: nothing it does may wait for the steps below.
        let stats_thread = self
            .stop_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((stop, handle)) = stats_thread {
            let _ = stop.send(());
            let _ = handle.join();
        }
        // Taking the writer once waits out the write (or ingest) in progress; `closed`, set
        // before, makes every later `lock_writer` refuse. So no rotation follows, and the
        // flush queue holds all it ever will before the shutdown message.
        // IMPORTANT: no lock is held across the joins below (a worker may need any of them
        // to finish its current step).
        drop(inner.writer.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = inner.flush_tx.send(FlushMsg::Shutdown);
        let _ = inner.compact_tx.send(CompactMsg::Shutdown);
        if !inner.opts.background_flush {
            inner.drain_inline();
        }
        let handles = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in handles {
            let _ = handle.join();
        }
        inner.events.close();
        let writer = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        // IMPORTANT: after a failure, no fsync is retried: a later success would prove
        // nothing about pages the kernel may already have dropped.
        let synced = if inner.poisoned.load(Ordering::SeqCst) {
            Ok(())
        } else {
            inner
                .sync_point
                .sync_all(&writer.wal.sync_handle(), writer.wal.number())
                .and_then(|()| inner.sync_fast_tables())
        };
        drop(writer);
        inner.purge_obsolete(&mut inner.state.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = stats::publish(inner.vfs.as_ref(), &inner.dir, &inner.stats(false));
        inner.lock.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(cause) = inner
            .poison
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(Error::Background { cause });
        }
        synced
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl Inner {
    fn read_view(&self) -> Arc<ReadView> {
        Arc::clone(&self.view.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn background_error(&self) -> Error {
        Error::Background {
            cause: self
                .poison
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_else(|| "unknown failure".into()),
        }
    }

    /// Records the first failure; later writes are refused with it.
    fn poison_with(&self, message: String) {
        let mut poison = self.poison.lock().unwrap_or_else(|e| e.into_inner());
        if poison.is_none() {
            self.events.record(Event::background_error(&message));
            *poison = Some(message);
        }
        self.poisoned.store(true, Ordering::SeqCst);
        drop(poison);
        // Wake writers stalled on the flush queue so they see the failure.
        let _state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.flush_done.notify_all();
    }

    /// [`Inner::poison_with`] for a caller that holds the state lock (the condvar's mutex), so
    /// waking the waiters needs no second lock.
    fn poison_locked(&self, message: String) {
        let mut poison = self.poison.lock().unwrap_or_else(|e| e.into_inner());
        if poison.is_none() {
            self.events.record(Event::background_error(&message));
            *poison = Some(message);
        }
        self.poisoned.store(true, Ordering::SeqCst);
        drop(poison);
        self.flush_done.notify_all();
    }

    fn lock_writer(&self) -> Result<MutexGuard<'_, WriteState>> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // IMPORTANT: checked after taking the writer lock, so no write slips past a failure.
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(self.background_error());
        }
        Ok(writer)
    }

    fn alloc_file_number(&self) -> FileNumber {
        FileNumber(self.next_file.fetch_add(1, Ordering::SeqCst))
    }

    /// A number for a table, held unpublished until [`Inner::settle_table_numbers`].
    fn alloc_table_number(&self) -> FileNumber {
        let mut unpublished = self.lock_unpublished();
        let number = self.alloc_file_number();
        unpublished.insert(number.0);
        number
    }

    /// Table numbers that are now published (their edit is logged) or will never name a
    /// file. A number whose file a failure may have left on disk is never settled: the
    /// persisted counter then stays below it, and the leftover reads as never published.
    fn settle_table_numbers(&self, numbers: impl IntoIterator<Item = FileNumber>) {
        let mut unpublished = self.lock_unpublished();
        for number in numbers {
            unpublished.remove(&number.0);
        }
    }

    /// The file-number counter an edit may persist: the next number, or the lowest table
    /// number still unpublished (other than `publishing`, the edit's own tables) if lower.
    /// So a table on disk below the manifest's counter that no edit mentions can only be a
    /// lost edit, never an interrupted flush, compaction or ingest (`manifest::TableHistory`).
    fn persisted_next_file(&self, publishing: &[FileNumber]) -> FileNumber {
        let unpublished = self.lock_unpublished();
        let next = self.next_file.load(Ordering::SeqCst);
        let lowest = unpublished
            .iter()
            .copied()
            .find(|n| !publishing.iter().any(|p| p.0 == *n));
        FileNumber(lowest.map_or(next, |n| n.min(next)))
    }

    fn lock_unpublished(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        self.unpublished_tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, batch: &mut WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.l0_backpressure()?;
        let mut writer = self.lock_writer()?;
        let record_len = (batch.encoded_len() + wal::RECORD_HEADER_LEN) as u64;
        // Either bound rotates: the WAL's size, or the memory the memtable would hold (each
        // entry costs more in the arena than in the log, about 1.17x for 16-byte keys and
        // 100-byte values, so the WAL bound alone let a 64 MiB memtable hold 75 MiB).
        let memory = writer.active.approximate_bytes()
            + batch.encoded_len() as u64
            + batch.len() as u64 * memtable::ENTRY_OVERHEAD;
        let limit = self.opts.memtable_size;
        if (writer.wal.size() + record_len > limit || memory > limit) && !writer.active.is_empty() {
            self.rotate(&mut writer)?;
        }
        let first_seq = SeqNo(writer.last_seq.0 + 1);
        let end = match writer.wal.append(batch.seal(first_seq)) {
            Ok(end) => end,
            Err(err) => {
                // The segment may now end in part of this record: nothing more may follow it.
                self.poison_with(format!("WAL append failed: {err}"));
                return Err(err);
            }
        };
        writer
            .active
            .insert_batch(first_seq, batch.ops().map(|op| (op.kind, op.key, op.value)));
        writer.last_seq = SeqNo(first_seq.0 + batch.len() as u64 - 1);
        if !self.opts.sync_writes {
            return Ok(());
        }
        let handle = writer.wal.sync_handle();
        let segment = writer.wal.number();
        drop(writer);
        if let Err(err) = self.sync_point.sync_to(&handle, segment, end) {
            // IMPORTANT: a failed fsync is never retried: the kernel may have dropped the
            // dirty pages, so a later "successful" fsync would prove nothing. The sync point
            // remembers the failure, so a writer that gets past `lock_writer` before the
            // poison below is set still fails here, without an fsync.
            self.poison_with(format!("WAL fsync failed: {err}"));
            return Err(err);
        }
        Ok(())
    }

    /// Makes the active memtable immutable, starts a new WAL segment, queues the flush.
    fn rotate(&self, writer: &mut WriteState) -> Result<()> {
        self.wait_for_room()?;
        // IMPORTANT: the old segment is durable before the new one exists, so after a power
        // loss only the newest segment can have a torn tail.
        // Through the sync point: after an earlier failed fsync of this segment (a group
        // commit), it is not fsynced again and the rotation fails.
        let old_number = writer.wal.number();
        if let Err(err) = self
            .sync_point
            .sync_all(&writer.wal.sync_handle(), old_number)
        {
            self.poison_with(format!("WAL fsync before rotation failed: {err}"));
            return Err(err);
        }
        let old_size = writer.wal.size();
        let number = self.alloc_file_number();
        let new_wal = match wal::Writer::create(self.vfs.as_ref(), &self.wal_dir, number) {
            Ok(w) => w,
            Err(err) => {
                self.poison_with(format!("creating WAL segment failed: {err}"));
                return Err(err);
            }
        };
        let new_active = Arc::new(Memtable::new(number));
        let old_active = std::mem::replace(&mut writer.active, Arc::clone(&new_active));
        *self.active_wal.lock().unwrap_or_else(|e| e.into_inner()) =
            (new_wal.number(), new_wal.size_counter());
        writer.wal = new_wal;
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.wal_segments.insert(old_number, old_size);
            state.wal_segments.insert(number, wal::HEADER_LEN);
        }
        {
            let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
            let mut next = (**view).clone();
            next.imms.push(Arc::clone(&old_active));
            next.active = new_active;
            *view = Arc::new(next);
        }
        self.enqueue(FlushTask {
            memtable: old_active,
            next_wal: number,
            enqueued_at: Instant::now(),
        });
        Ok(())
    }

    fn enqueue(&self, task: FlushTask) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .outstanding += 1;
        self.metrics.enqueued();
        let _ = self.flush_tx.send(FlushMsg::Task(task));
    }

    /// Backpressure: waits while `max_immutables` memtables are waiting for flush.
    fn wait_for_room(&self) -> Result<()> {
        let full = || self.read_view().imms.len() >= self.opts.max_immutables;
        if !full() {
            return Ok(());
        }
        let started = Instant::now();
        if self.opts.background_flush {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            while full() && !self.poisoned.load(Ordering::SeqCst) {
                state = self
                    .flush_done
                    .wait_timeout(state, Duration::from_millis(100))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        } else {
            while full() && !self.poisoned.load(Ordering::SeqCst) {
                if !self.flush_next_inline() {
                    break;
                }
            }
        }
        self.metrics.stalled(started.elapsed());
        self.events
            .record(Event::stalled(StallCause::MaxImmutables, started.elapsed()));
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(self.background_error());
        }
        Ok(())
    }

    fn wait_for_flushes(&self) -> Result<()> {
        if !self.opts.background_flush {
            self.drain_inline();
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.outstanding > 0 && !self.poisoned.load(Ordering::SeqCst) {
            state = self
                .flush_done
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(state);
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(self.background_error());
        }
        Ok(())
    }

    fn drain_inline(&self) {
        while self.flush_next_inline() {}
    }

    /// Takes the next queued flush and runs it on this thread, under `inline_flush` so that
    /// no other thread's inline flush overtakes it. False when the queue is empty.
    fn flush_next_inline(&self) -> bool {
        let _order = self.inline_flush.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match self.flush_rx.try_recv() {
                Ok(FlushMsg::Task(task)) => {
                    self.run_flush(task);
                    return true;
                }
                Ok(FlushMsg::Shutdown) => {}
                Err(_) => return false,
            }
        }
    }

    fn flush_worker(self: Arc<Self>) {
        while let Ok(msg) = self.flush_rx.recv() {
            match msg {
                FlushMsg::Task(task) => self.run_flush(task),
                FlushMsg::Shutdown => break,
            }
        }
    }

    /// Builds, installs and releases one immutable memtable.
    fn run_flush(&self, task: FlushTask) {
        let dequeued = Instant::now();
        self.metrics
            .dequeued(dequeued.duration_since(task.enqueued_at));
        if self.poisoned.load(Ordering::SeqCst) {
            // IMPORTANT: after a failure no later memtable may be flushed: its checkpoint
            // would move past the failed memtable's WAL segment and delete it.
            self.fail_flush(None);
            return;
        }
        match self.flush_one(&task, dequeued) {
            Ok(()) => {
                if self.opts.background_flush {
                    let _ = self.compact_tx.send(CompactMsg::Wake);
                } else {
                    self.maybe_compact();
                }
            }
            Err(err) => {
                let message = format!(
                    "flush of the memtable logged in WAL segment {} failed: {err}",
                    filenames::wal_name(task.memtable.wal())
                );
                self.events
                    .record(Event::new(EventKind::Flush, dequeued.elapsed()).error(&message));
                self.fail_flush(Some(message));
            }
        }
    }

    fn fail_flush(&self, message: Option<String>) {
        let message = message.unwrap_or_else(|| {
            self.poison
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_default()
        });
        self.metrics.failed(message.clone());
        self.poison_with(message);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.outstanding = state.outstanding.saturating_sub(1);
        self.flush_done.notify_all();
    }

    fn flush_one(&self, task: &FlushTask, dequeued: Instant) -> Result<()> {
        let memtable = &task.memtable;
        let table_options = TableOptions::from(&self.opts);
        let number = self.alloc_table_number();
        let meta = flush::write_table(
            self.vfs.as_ref(),
            &self.dir,
            number,
            self.opts.durability,
            memtable,
            table_options,
        )?;
        // IMPORTANT (fast mode): records replayed at open were durable before this session;
        // their table is on disk before the edit that lets their WAL segment be deleted.
        let replaces_durable = self.opts.durability == Durability::Fast
            && self.replayed_wal.is_some_and(|last| memtable.wal() <= last);
        let table = match &meta {
            Some(meta) => {
                let path = self.dir.join(filenames::table_name(meta.number));
                let opened = if replaces_durable {
                    self.sync_tables_now([&path])
                        .and_then(|()| self.open_table(&path, meta.size, true))
                } else {
                    self.open_table(&path, meta.size, false)
                };
                match opened {
                    Ok(table) => Some(Arc::new(table)),
                    Err(err) => {
                        let _ = self.vfs.remove_file(&path);
                        return Err(err);
                    }
                }
            }
            None => None,
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.read_view();
        // IMPORTANT: the checkpoint may only move past installed memtables: this one must be
        // the oldest not yet installed, or the segments of the older ones would be deleted
        // before their tables exist.
        if let Some(oldest) = current.imms.first() {
            if !Arc::ptr_eq(oldest, memtable) {
                return Err(Error::Background {
                    cause: format!(
                        "flush out of order: the memtable of WAL segment {} before the older                          one of {}",
                        filenames::wal_name(memtable.wal()),
                        filenames::wal_name(oldest.wal())
                    ),
                });
            }
        }
        let edit = VersionEdit {
            added: meta.iter().map(|m| (0, m.clone())).collect(),
            removed: Vec::new(),
            wal_checkpoint: Some(task.next_wal),
            next_file_number: Some(FileNumber(self.next_file.load(Ordering::SeqCst))),
            last_sequence: Some(memtable.max_seq().max(current.version.last_sequence)),
        };
        // On error the table file stays: the record may or may not be durable, and recovery
        // sorts it out (a referenced table, or an orphan).
        let added: Vec<(FileNumber, Arc<Table>)> = table.map(|t| (number, t)).into_iter().collect();
        let installed = self.commit(&mut state, &edit, added, Some(memtable))?;
        // Published, or (an empty memtable) never written.
        self.settle_table_numbers([number]);
        if let Some(meta) = &meta {
            self.metrics
                .built(installed.duration_since(dequeued), meta.size, meta.entries);
        } else {
            self.metrics.built(installed.duration_since(dequeued), 0, 0);
        }
        self.reclaim_wal(&mut state, task.next_wal);
        state.outstanding = state.outstanding.saturating_sub(1);
        drop(state);
        let release = installed.elapsed();
        self.metrics.released(release);
        self.events.record(Event::flushed(
            meta.as_ref(),
            memtable.wal(),
            dequeued.duration_since(task.enqueued_at),
            installed.duration_since(dequeued),
            release,
        ));
        self.flush_done.notify_all();
        Ok(())
    }

    /// Logs `edit` and makes its result visible, under the state lock: the version edit is
    /// appended and fsynced (the commit point; a failure poisons the engine), then one view
    /// swap installs the new version and the `added` tables, sets the tables the edit removes
    /// aside for deletion once no reader holds them, and drops `released` (a flushed
    /// memtable), so a reader sees the data before or after, never neither. Returns when the
    /// edit became durable.
    fn commit(
        &self,
        state: &mut MutexGuard<'_, State>,
        edit: &VersionEdit,
        added: Vec<(FileNumber, Arc<Table>)>,
        released: Option<&Arc<Memtable>>,
    ) -> Result<Instant> {
        let current = self.read_view();
        // An edit that would break a level invariant fails here, before it is logged: the
        // tree on disk stays as it was.
        let publishing: Vec<FileNumber> = edit.added.iter().map(|(_, m)| m.number).collect();
        let mut edit = edit.clone();
        if edit.next_file_number.is_some() {
            edit.next_file_number = Some(self.persisted_next_file(&publishing));
        }
        let edit = &edit;
        let version = current
            .version
            .apply_checked(edit)
            .map_err(|reason| Error::Background {
                cause: format!(
                    "refused to log a version edit to {}: {reason}",
                    state.manifest.file_name()
                ),
            })?;
        // IMPORTANT: the commit point; every added table was installed durably before it.
        if let Err(err) = state.manifest.append(edit) {
            self.poison_locked(format!("manifest append failed: {err}"));
            return Err(err);
        }
        self.settle_table_numbers(publishing);
        let durable = Instant::now();
        {
            let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
            let mut next = (**view).clone();
            if let Some(memtable) = released {
                next.imms.retain(|m| !Arc::ptr_eq(m, memtable));
            }
            if !added.is_empty() || !edit.removed.is_empty() {
                let mut tables = (*next.tables).clone();
                for (_, number) in &edit.removed {
                    if let Some(table) = tables.remove(number) {
                        state.obsolete.push(table);
                    }
                }
                tables.extend(added);
                next.tables = Arc::new(tables);
            }
            next.version = Arc::new(version);
            *view = Arc::new(next);
        }
        // Our own clone of the old view holds the removed tables too: let go of it, or they
        // would stay on disk until the next commit.
        drop(current);
        self.purge_obsolete(state);
        if let Err(err) = self.maybe_rewrite_manifest(state) {
            // Which manifest CURRENT names is now uncertain: stop logging edits. The edit
            // itself is durable (in the old manifest or the new one), so the commit stands:
            // the caller must not undo it (an ingest would delete tables the manifest names).
            self.poison_locked(format!("manifest rewrite failed: {err}"));
        }
        Ok(durable)
    }

    /// Deletes the segments the checkpoint covers. A failed delete is harmless (recovery
    /// removes segments below the checkpoint), so it is not an error.
    fn reclaim_wal(&self, state: &mut State, checkpoint: FileNumber) {
        let obsolete: Vec<FileNumber> = state
            .wal_segments
            .range(..checkpoint)
            .map(|(n, _)| *n)
            .collect();
        for number in obsolete {
            if self
                .vfs
                .remove_file(&wal::segment_path(&self.wal_dir, number))
                .is_ok()
            {
                state.wal_segments.remove(&number);
                self.segments_removed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn maybe_rewrite_manifest(&self, state: &mut State) -> Result<()> {
        if state.manifest.size() < self.opts.manifest_rewrite_threshold {
            return Ok(());
        }
        let number = self.alloc_file_number();
        let mut version = (*self.read_view().version).clone();
        version.next_file_number = self.persisted_next_file(&[]);
        let old = self.dir.join(state.manifest.file_name());
        state.manifest = Manifest::create(
            Arc::clone(&self.vfs),
            &self.dir,
            number,
            &version,
            Some(&old),
        )?;
        Ok(())
    }

    /// Slows writers while L0 is deep, stops them while it is too deep (SPEC 2.5).
    fn l0_backpressure(&self) -> Result<()> {
        if !self.opts.background_flush || !self.opts.auto_compaction {
            return Ok(());
        }
        let l0 = || self.read_view().version.levels[0].len();
        let depth = l0();
        if depth < self.opts.l0_slowdown_trigger {
            return Ok(());
        }
        let started = Instant::now();
        let cause = if depth < self.opts.l0_stop_trigger {
            StallCause::L0Slowdown
        } else {
            StallCause::L0Stop
        };
        if cause == StallCause::L0Slowdown {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            let _ = self.compact_tx.send(CompactMsg::Wake);
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            while l0() >= self.opts.l0_stop_trigger && !self.poisoned.load(Ordering::SeqCst) {
                state = self
                    .flush_done
                    .wait_timeout(state, Duration::from_millis(100))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        self.metrics.stalled(started.elapsed());
        self.events.record(Event::stalled(cause, started.elapsed()));
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(self.background_error());
        }
        Ok(())
    }

    fn lock_compaction(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        self.compaction.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn compaction_worker(self: Arc<Self>) {
        while let Ok(msg) = self.compact_rx.recv() {
            match msg {
                CompactMsg::Wake => self.maybe_compact(),
                CompactMsg::Shutdown => break,
            }
        }
    }

    /// Runs picked compactions until the tree is in shape. A failure poisons the engine
    /// (nothing is lost: the inputs stay in place).
    fn maybe_compact(&self) {
        if !self.opts.auto_compaction {
            return;
        }
        let mut cursor = self.lock_compaction();
        while !self.poisoned.load(Ordering::SeqCst) && !self.closed.load(Ordering::SeqCst) {
            let options = compaction::CompactionOptions::from(&self.opts);
            let Some(task) =
                self.start_compaction(|version| compaction::pick(version, &options, &cursor))
            else {
                break;
            };
            if let Err(err) = self.compact_once(&task, &mut cursor) {
                let message = format!("compaction failed: {err}");
                self.events
                    .record(Event::new(EventKind::Compaction, Duration::ZERO).error(&message));
                self.poison_with(message);
                break;
            }
        }
    }

    /// Picks a compaction from the current version and registers it as running, in one
    /// critical section of the state lock (so no ingest commits between the pick and the
    /// registration). The caller holds the compaction lock and must run the task with
    /// [`Inner::compact_once`], which unregisters it.
    fn start_compaction(
        &self,
        pick: impl FnOnce(&Version) -> Option<CompactionTask>,
    ) -> Option<CompactionTask> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let task = pick(&self.read_view().version)?;
        state.compacting = Some(InFlight::of(&task));
        Some(task)
    }

    /// Runs one compaction registered by [`Inner::start_compaction`] and installs its
    /// outputs: one manifest edit adds the outputs and removes the inputs; the inputs are
    /// deleted once no reader holds them. The registration ends with the commit (or the
    /// failure).
    fn compact_once(
        &self,
        task: &CompactionTask,
        cursor: &mut [Vec<u8>],
    ) -> Result<Vec<TableMeta>> {
        let result = self.run_compaction(task, cursor);
        if result.is_err() {
            self.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .compacting = None;
        }
        result
    }

    fn run_compaction(
        &self,
        task: &CompactionTask,
        cursor: &mut [Vec<u8>],
    ) -> Result<Vec<TableMeta>> {
        let started = Instant::now();
        let view = self.read_view();
        let table_options = TableOptions::from(&self.opts);
        let mut allocated = Vec::new();
        let outputs = compaction::run(
            self.vfs.as_ref(),
            &self.dir,
            task,
            &view.tables,
            || {
                let number = self.alloc_table_number();
                allocated.push(number);
                number
            },
            self.opts.durability,
            table_options,
            self.opts.target_file_size,
        )?;
        drop(view);
        let paths: Vec<PathBuf> = outputs
            .iter()
            .map(|meta| self.dir.join(filenames::table_name(meta.number)))
            .collect();
        let remove_outputs = || {
            for path in &paths {
                let _ = self.vfs.remove_file(path);
            }
        };
        // IMPORTANT (fast mode): the edit deletes the inputs, so when any of them is durable
        // (an earlier session's table, or one a completed flush fsynced) the outputs are
        // fsynced first, or a power loss would take records that had survived it. The
        // unsynced list stays locked until the commit, so the fsync pass of a concurrent
        // Db::flush cannot make an input durable after this check.
        let unsynced = (self.opts.durability == Durability::Fast).then(|| {
            self.unsynced_tables
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        });
        let replaces_durable = unsynced.as_ref().is_some_and(|unsynced| {
            task.all_inputs()
                .any(|input| !unsynced.iter().any(|(number, _)| *number == input.number))
        });
        if replaces_durable {
            if let Err(err) = self.sync_tables_now(&paths) {
                remove_outputs();
                return Err(err);
            }
        }
        let mut opened = Vec::new();
        for (meta, path) in outputs.iter().zip(&paths) {
            let table = match unsynced {
                // Not through open_table: it would take the unsynced list held here.
                Some(_) => Table::open_cached(
                    self.vfs.as_ref(),
                    path,
                    Some(meta.size),
                    self.block_cache.clone(),
                ),
                None => self.open_table(path, meta.size, true),
            };
            match table {
                Ok(table) => opened.push((meta.number, Arc::new(table))),
                Err(err) => {
                    remove_outputs();
                    return Err(err);
                }
            }
        }
        let mut unsynced = unsynced;
        if let (Some(unsynced), false) = (unsynced.as_mut(), replaces_durable) {
            unsynced.extend(outputs.iter().map(|m| m.number).zip(paths.iter().cloned()));
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.read_view();
        let edit = VersionEdit {
            added: outputs
                .iter()
                .map(|m| (task.output_level, m.clone()))
                .collect(),
            removed: task
                .all_inputs()
                .map(|t| (level_of(&current.version, t.number), t.number))
                .collect(),
            wal_checkpoint: None,
            next_file_number: Some(FileNumber(self.next_file.load(Ordering::SeqCst))),
            last_sequence: None,
        };
        drop(current);
        let committed = self.commit(&mut state, &edit, opened, None);
        state.compacting = None;
        committed?;
        self.settle_table_numbers(allocated);
        drop(state);
        drop(unsynced);
        if let Some(last) = task.inputs.iter().map(|t| t.largest.clone()).max() {
            if let Some(slot) = cursor.get_mut(task.level as usize) {
                *slot = last;
            }
        }
        self.compaction_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(
                started.elapsed(),
                task.input_bytes(),
                outputs.iter().map(|t| t.size).sum::<u64>(),
            );
        self.events
            .record(Event::compacted(task, &outputs, started.elapsed()));
        self.flush_done.notify_all();
        Ok(outputs)
    }

    /// Opens a table this engine just wrote, through the shared block cache. In fast mode a
    /// table not `synced` yet is remembered for [`Inner::sync_fast_tables`].
    fn open_table(&self, path: &Path, size: u64, synced: bool) -> Result<Table> {
        let table = Table::open_cached(
            self.vfs.as_ref(),
            path,
            Some(size),
            self.block_cache.clone(),
        )?;
        if self.opts.durability == Durability::Fast && !synced {
            self.unsynced_tables
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((table.meta().number, path.to_path_buf()));
        }
        Ok(table)
    }

    /// Fast mode: fsyncs tables this engine just wrote, then the workdir (their names),
    /// before an edit lets them replace data that is already durable. A failure poisons the
    /// engine: an fsync is never retried.
    fn sync_tables_now<P: AsRef<Path>>(&self, paths: impl IntoIterator<Item = P>) -> Result<()> {
        let synced = (|| {
            for path in paths {
                self.vfs.open_append(path.as_ref())?.sync()?;
            }
            self.vfs.sync_dir(&self.dir)
        })();
        if let Err(err) = &synced {
            self.poison_with(format!("table fsync failed: {err}"));
        }
        synced
    }

    /// Fast mode's durability point (SPEC 2.2): fsyncs every table written since the last
    /// call that the current version still holds, then the workdir (their names). Tables
    /// compacted away meanwhile need neither. A failure poisons the engine: an fsync is never
    /// retried.
    fn sync_fast_tables(&self) -> Result<()> {
        let mut unsynced = self
            .unsynced_tables
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if unsynced.is_empty() {
            return Ok(());
        }
        // IMPORTANT: every listed table that still exists is fsynced, in the view or not: one
        // not in it yet is a flush on its way to its commit (another thread's write rotated
        // the memtable after this flush waited), and skipping it while clearing the list
        // would leave it unsynced for good once that commit deletes its WAL segment.
        let synced = (|| {
            for (number, path) in unsynced.iter() {
                match self.vfs.open_append(path) {
                    Ok(file) => file.sync()?,
                    // Compacted away and deleted since it was listed.
                    Err(err)
                        if err.is_not_found() && !self.read_view().tables.contains_key(number) => {}
                    Err(err) => return Err(err),
                }
            }
            self.vfs.sync_dir(&self.dir)
        })();
        match synced {
            Ok(()) => {
                unsynced.clear();
                Ok(())
            }
            Err(err) => {
                drop(unsynced);
                self.poison_with(format!("fsync of fast-mode tables failed: {err}"));
                Err(err)
            }
        }
    }

    /// Deletes compacted-away tables that no reader holds any more.
    fn purge_obsolete(&self, state: &mut State) {
        state.obsolete.retain(|table| {
            if Arc::strong_count(table) > 1 {
                return true;
            }
            // A failed delete leaves an orphan that the next open removes.
            let _ = self.vfs.remove_file(table.path());
            false
        });
    }

    fn stats(&self, live: bool) -> StatsSnapshot {
        let view = self.read_view();
        // IMPORTANT: never `writer` here: an ingest holds it throughout, and close joins the
        // publisher that calls this.
        let (active_segment, active_size) = {
            let active = self.active_wal.lock().unwrap_or_else(|e| e.into_inner());
            (active.0, active.1.load(Ordering::Acquire))
        };
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = StatsSnapshot {
            flush: self.metrics.snapshot(),
            ..StatsSnapshot::new()
        };
        snapshot.memtable.active_bytes = view.active.approximate_bytes();
        snapshot.memtable.immutables = view.imms.len() as u64;
        snapshot.memtable.immutable_bytes = view.imms.iter().map(|m| m.approximate_bytes()).sum();
        snapshot.wal.segments = state.wal_segments.len() as u64;
        snapshot.wal.bytes = state
            .wal_segments
            .iter()
            .map(|(n, size)| {
                if *n == active_segment {
                    active_size
                } else {
                    *size
                }
            })
            .sum();
        snapshot.wal.active_segment = active_segment.0;
        snapshot.wal.checkpoint = view.version.wal_checkpoint.0;
        snapshot.wal.segments_removed = self.segments_removed.load(Ordering::Relaxed);
        snapshot.wal.torn_tails_truncated = self.torn_tails_truncated.load(Ordering::Relaxed);
        snapshot.manifest.torn_tails_ignored =
            self.manifest_torn_tails_ignored.load(Ordering::Relaxed);
        snapshot.lsm = lsm_stats(&view.version);
        snapshot.compaction = self
            .compaction_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        snapshot.compaction.pending = u64::from(
            self.opts.auto_compaction
                && compaction::pick(
                    &view.version,
                    &compaction::CompactionOptions::from(&self.opts),
                    &[],
                )
                .is_some(),
        );
        snapshot.manifest.file = state.manifest.file_name();
        snapshot.manifest.bytes = state.manifest.size();
        snapshot.manifest.edits = state.manifest.edits();
        snapshot.manifest.next_file_number = self.next_file.load(Ordering::SeqCst);
        snapshot.manifest.last_sequence = view.version.last_sequence.0;
        snapshot.session.pid = std::process::id();
        snapshot.session.started_at = self.started_at;
        snapshot.session.updated_at = stats::unix_now();
        snapshot.session.live = live;
        snapshot
    }
}

/// Per-level table counts, bytes and entries of `version`.
pub fn lsm_stats(version: &Version) -> stats::LsmStats {
    let levels: Vec<LevelStats> = version
        .levels
        .iter()
        .enumerate()
        .map(|(level, tables)| LevelStats {
            level: level as u32,
            tables: tables.len() as u64,
            bytes: tables.iter().map(|t| t.size).sum(),
            entries: tables.iter().map(|t| t.entries).sum(),
        })
        .collect();
    stats::LsmStats {
        tables: levels.iter().map(|l| l.tables).sum(),
        bytes: levels.iter().map(|l| l.bytes).sum(),
        levels,
    }
}

/// The level that holds table `number` in `version` (0 when absent).
fn level_of(version: &Version, number: FileNumber) -> u32 {
    version
        .levels
        .iter()
        .position(|tables| tables.iter().any(|t| t.number == number))
        .unwrap_or(0) as u32
}

/// Turns a stored entry into what `get` returns.
pub(crate) fn visible(kind: ValueKind, value: Vec<u8>) -> Option<Vec<u8>> {
    match kind {
        ValueKind::Put => Some(value),
        ValueKind::Delete | ValueKind::RangeDelete => None,
    }
}

fn count_torn(tails: &[TornTail], log: TornLog) -> u64 {
    tails.iter().filter(|t| t.log == log).count() as u64
}
