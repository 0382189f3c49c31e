//! Read-only opens (SPEC 2.3a): reads that run beside a live writer in another process, the
//! way RocksDB's read-only open and LMDB's readers do.
//!
//! A read-only open never takes `LOCK` and never writes, truncates, creates or removes
//! anything. One attempt reads, in this order:
//!
//! ```text
//! 1. CURRENT -> MANIFEST-N, replayed in memory (a torn last record is ignored)   version V0
//! 2. wal/ listed: segments at or after V0's checkpoint
//! 3. CURRENT -> manifest again                                                    version V
//!    V's checkpoint != V0's: a flush moved it, segments may have gone -> start over
//! 4. every table of V opened (footer, index, properties checksums)
//! 5. the listed segments replayed into memtables, oldest first: sequence numbers run on
//!    from V's last sequence without a gap, and the newest stops at its last complete
//!    record (a live writer appends there); nothing is cut
//! ```
//!
//! Why that is a consistent prefix of the writer's work: a writer deletes a WAL segment only
//! after a manifest edit moved the checkpoint past it, and a table only after an edit removed
//! it; once open, a file stays readable even when its name is unlinked. So when the checkpoint
//! did not move between 1 and 3, the listing of 2 holds every segment V needs, and a file
//! that is gone when step 4 or 5 opens it shows the manifest changed in between.
//!
//! The disk leads the writer's own readers by the operations in flight: a put's WAL record
//! and a flush's or ingest's manifest edit are written before the writer installs them in
//! memory. So an open can see an operation that has not returned yet, a moment before the
//! writer's readers do; it never misses one the writer had acknowledged or shown its readers
//! before the open began.
//!
//! When an attempt fails, the manifest's stamp (the name `CURRENT` gives and its size; edits
//! only append, a rewrite changes the name) is read again: if it changed, the failure may be
//! the race above and the open starts over from `CURRENT` (at most [`READ_ONLY_ATTEMPTS`] times,
//! then [`Error::WorkdirChanging`]); if it did not change, the failure is real (a missing
//! table, corruption) and is returned as it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::recovery::{replay_segment, SegmentReplay};
use super::{read, ReadView, Scan, ScanOptions};
use crate::error::{Error, Result};
use crate::filenames::{self, FileKind};
use crate::manifest::{self, Version};
use crate::memtable::Memtable;
use crate::options::Options;
use crate::sst::{BlockCache, Table};
use crate::types::{FileNumber, SeqNo};
use crate::vfs::{ReadableFile, RealFs, Vfs};
use crate::wal::{self, Tail};

/// Fresh starts from `CURRENT` before a read-only open gives up.
pub const READ_ONLY_ATTEMPTS: u32 = 16;

/// A database opened for reading only, beside (or without) a live writer. It holds the state
/// it read at open: writes made by another process afterwards are not seen.
///
/// ```
/// # fn main() -> nokv::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = nokv::Db::open(dir.path(), nokv::Options::default())?;
/// db.put(b"hello", b"world")?;
/// // The writer still holds LOCK; a reader opens beside it.
/// let reader = nokv::ReadOnlyDb::open(dir.path(), nokv::Options::default())?;
/// assert_eq!(reader.get(b"hello")?, Some(b"world".to_vec()));
/// # db.close()?;
/// # Ok(())
/// # }
/// ```
pub struct ReadOnlyDb {
    dir: PathBuf,
    live: LiveRead,
}

impl std::fmt::Debug for ReadOnlyDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyDb")
            .field("dir", &self.dir)
            .field("manifest", &self.live.manifest)
            .finish()
    }
}

impl ReadOnlyDb {
    /// Opens the database in `dir` on the real filesystem for reading. Only
    /// `block_cache_bytes` of `opts` matters.
    ///
    /// # Errors
    /// [`Error::NotADatabase`] when `dir` holds no `CURRENT`; [`Error::MissingFile`] or
    /// [`Error::Corruption`] naming a damaged file; [`Error::WorkdirChanging`] when a writer
    /// kept changing the workdir under every attempt; I/O errors.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<ReadOnlyDb> {
        Self::open_with_vfs(Arc::new(RealFs::new()), dir.as_ref(), opts)
    }

    /// Opens through `vfs` (tests pass a fault-injecting or in-memory one).
    ///
    /// # Errors
    /// As [`ReadOnlyDb::open`].
    pub fn open_with_vfs(vfs: Arc<dyn Vfs>, dir: &Path, opts: Options) -> Result<ReadOnlyDb> {
        let block_cache =
            (opts.block_cache_bytes > 0).then(|| Arc::new(BlockCache::new(opts.block_cache_bytes)));
        let live = read_live(vfs.as_ref(), dir, block_cache)?;
        Ok(ReadOnlyDb {
            dir: dir.to_path_buf(),
            live,
        })
    }

    /// The workdir.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The value of `key` as of the open, or `None` when absent or deleted.
    ///
    /// # Errors
    /// I/O errors or corruption found while reading a table.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        read::get(&self.live.view, key)
    }

    /// Live entries in key order (or reverse), as [`crate::Db::scan`].
    ///
    /// # Errors
    /// I/O errors or corruption met while reading; the iterator also yields them.
    pub fn scan(&self, options: &ScanOptions) -> Result<Scan> {
        Ok(Box::new(read::ScanIter::new(&self.live.view, options)?))
    }

    /// The version read at open (levels and tables).
    pub fn version(&self) -> Arc<Version> {
        Arc::clone(&self.live.view.version)
    }

    /// The newest sequence number visible: the last write of the prefix this open sees.
    pub fn last_sequence(&self) -> SeqNo {
        self.live.last_seq
    }

    /// How many fresh starts from `CURRENT` the open needed (1 when nothing raced it).
    pub fn attempts(&self) -> u32 {
        self.live.attempts
    }
}

/// One WAL segment as a read-only open replayed it.
pub(crate) struct LiveSegment {
    pub(crate) number: FileNumber,
    /// Bytes up to the end of the last complete record.
    pub(crate) valid_len: u64,
    /// Kept open, so the bytes stay readable after a writer reclaims the segment.
    pub(crate) file: Arc<dyn ReadableFile>,
}

/// What one successful attempt read.
pub(crate) struct LiveRead {
    /// The manifest file `CURRENT` named.
    pub(crate) manifest: String,
    pub(crate) view: ReadView,
    /// Oldest first.
    pub(crate) segments: Vec<LiveSegment>,
    pub(crate) last_seq: SeqNo,
    pub(crate) attempts: u32,
}

/// The manifest as of one moment: the file `CURRENT` names and its size (`None`: no
/// `CURRENT`, or it names a file that is not there).
type Stamp = Option<(String, u64)>;

/// An attempt that failed, and the manifest's stamp when it began (`None`: the failure
/// cannot be a race, do not retry).
struct Failed {
    error: Error,
    stamp: Option<Stamp>,
}

/// Reads the live state of `dir`, starting over from `CURRENT` while a writer races it.
pub(crate) fn read_live(
    vfs: &dyn Vfs,
    dir: &Path,
    block_cache: Option<Arc<BlockCache>>,
) -> Result<LiveRead> {
    let mut last = None;
    for attempt in 1..=READ_ONLY_ATTEMPTS {
        let failed = match read_once(vfs, dir, block_cache.clone()) {
            Ok(mut live) => {
                live.attempts = attempt;
                return Ok(live);
            }
            Err(failed) => failed,
        };
        let Some(before) = failed.stamp else {
            return Err(failed.error);
        };
        if stamp(vfs, dir)? == before {
            // Nothing changed since the attempt began: the failure is real.
            return Err(failed.error);
        }
        last = Some(failed.error);
        std::thread::sleep(Duration::from_millis(u64::from(attempt)));
    }
    Err(Error::WorkdirChanging {
        path: dir.to_path_buf(),
        attempts: READ_ONLY_ATTEMPTS,
        last: last.map(|e| e.to_string()).unwrap_or_default(),
    })
}

fn stamp(vfs: &dyn Vfs, dir: &Path) -> Result<Stamp> {
    let Some(name) = manifest::read_current(vfs, dir)? else {
        return Ok(None);
    };
    match vfs.file_size(&dir.join(&name)) {
        Ok(size) => Ok(Some((name, size))),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

/// The live version, replayed read-only: a torn last record is ignored, any other problem is
/// the error open would report.
fn read_version(vfs: &dyn Vfs, dir: &Path) -> Result<(String, Version)> {
    let report = manifest::inspect(vfs, dir)?;
    let name = report.current.clone().unwrap_or_default();
    if let Some(problem) = report.problems.iter().find(|p| p.kind != "torn_tail") {
        let path = dir.join(&problem.file);
        return Err(match problem.kind {
            "current_missing" => Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: problem.detail.clone(),
            },
            "manifest_missing" => Error::MissingFile {
                path,
                reason: format!("{} names it as the live manifest", filenames::CURRENT),
            },
            _ => Error::corruption(&path, problem.offset.unwrap_or(0), problem.detail.clone()),
        });
    }
    match report.version {
        Some(version) => Ok((name, version)),
        None => Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            reason: "no readable manifest".into(),
        }),
    }
}

/// One attempt, in the order of the module comment.
fn read_once(
    vfs: &dyn Vfs,
    dir: &Path,
    block_cache: Option<Arc<BlockCache>>,
) -> std::result::Result<LiveRead, Failed> {
    let begun = stamp(vfs, dir).map_err(|error| Failed { error, stamp: None })?;
    let fail = |error: Error| Failed {
        error,
        stamp: Some(begun.clone()),
    };
    let (_, first) = read_version(vfs, dir).map_err(fail)?;
    let wal_dir = dir.join(filenames::WAL_DIR);
    let mut numbers = Vec::new();
    if vfs.exists(&wal_dir).map_err(fail)? {
        for name in vfs.list_dir(&wal_dir).map_err(fail)? {
            if let Some(FileKind::Wal(n)) = filenames::parse(&name) {
                if n >= first.wal_checkpoint {
                    numbers.push(n);
                }
            }
        }
    }
    numbers.sort();
    if first.wal_checkpoint.0 > 0 && !numbers.contains(&first.wal_checkpoint) {
        // Gone under a moving checkpoint (the retry sees the manifest changed), or lost:
        // either way, not a state to read as if it held nothing.
        return Err(fail(Error::MissingFile {
            path: wal::segment_path(&wal_dir, first.wal_checkpoint),
            reason: "the manifest names it as the WAL checkpoint (the oldest segment still \
                     needed)"
                .into(),
        }));
    }
    let (manifest, version) = read_version(vfs, dir).map_err(fail)?;
    if version.wal_checkpoint != first.wal_checkpoint {
        return Err(fail(Error::MissingFile {
            path: wal_dir,
            reason: format!(
                "the WAL checkpoint moved from {} to {} while the segments were listed",
                filenames::wal_name(first.wal_checkpoint),
                filenames::wal_name(version.wal_checkpoint)
            ),
        }));
    }

    let mut tables = HashMap::new();
    for (level, meta) in version.all_tables() {
        let path = dir.join(filenames::table_name(meta.number));
        let table = Table::open_cached(vfs, &path, Some(meta.size), block_cache.clone()).map_err(
            |err| {
                fail(if err.is_not_found() {
                    Error::MissingFile {
                        path: path.clone(),
                        reason: format!("{manifest} lists it in L{level}"),
                    }
                } else {
                    err
                })
            },
        )?;
        tables.insert(meta.number, Arc::new(table));
    }

    let mut next_seq = version.last_sequence.0.saturating_add(1);
    let mut segments = Vec::new();
    let mut memtables = Vec::new();
    for (i, &number) in numbers.iter().enumerate() {
        let newest = i + 1 == numbers.len();
        let path = wal::segment_path(&wal_dir, number);
        // IMPORTANT: opened before it is read, so a checkpoint copies the very bytes that
        // were replayed even if the writer reclaims the segment meanwhile.
        let file = vfs.open_read(&path).map_err(fail)?;
        let (memtable, summary) =
            match replay_segment(vfs, &path, number, &mut next_seq, &manifest).map_err(fail)? {
                SegmentReplay::Replayed { memtable, summary } => (memtable, summary),
                SegmentReplay::SequenceGap(err) => return Err(fail(err)),
            };
        match summary.tail {
            Tail::Clean => {}
            // The last complete record of the newest segment: a live writer appends there.
            Tail::Torn { .. } if newest => {}
            Tail::Torn { offset, reason, .. } => {
                return Err(fail(Error::corruption(
                    &path,
                    offset,
                    format!("{reason}, in a WAL segment that is not the newest"),
                )))
            }
            Tail::Corrupt { offset, reason, .. } => {
                return Err(fail(Error::corruption(&path, offset, reason)))
            }
        }
        segments.push(LiveSegment {
            number,
            valid_len: summary.valid_len,
            file,
        });
        memtables.push(memtable);
    }
    let last_seq = SeqNo(next_seq - 1).max(version.last_sequence);
    let active = memtables
        .pop()
        .unwrap_or_else(|| Arc::new(Memtable::new(version.wal_checkpoint)));
    Ok(LiveRead {
        manifest,
        view: ReadView {
            active,
            imms: memtables,
            version: Arc::new(version),
            tables: Arc::new(tables),
        },
        segments,
        last_seq,
        attempts: 0,
    })
}
