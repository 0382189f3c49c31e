//! Open and recovery (SPEC 2.3), in this order:
//!
//! 1. take `LOCK`;
//! 2. read `CURRENT` and replay the manifest (a torn last record, bad with no valid record
//!    after it, is ignored and cut off; corruption fails);
//!    a directory with nokv data or unknown files but no `CURRENT` is refused, never
//!    re-initialised;
//! 3. open every table the manifest references, checking size, footer, index, filter and
//!    properties checksums: a missing or corrupt table fails the open, before anything on disk
//!    is changed;
//! 4. remove WAL segments below the checkpoint and WAL temporaries;
//! 5. replay WAL segments at or after the checkpoint in order: a torn tail in the newest is
//!    truncated (each torn tail dropped is returned as a [`TornTail`] for the caller's warning), any other damage fails the open, and so does a gap in the sequence numbers
//!    (from the manifest's last sequence on), which shows acknowledged writes are missing (a
//!    deleted segment, or a manifest that lost its last edits); older segments become
//!    immutable memtables to flush again, the newest stays the active segment and keeps
//!    receiving appends;
//! 6. only then remove the other crash leftovers: temporaries, tables no manifest edit
//!    references, superseded manifests (after a failed replay they stay, for inspection). A
//!    table below the manifest's next file number that no edit mentions is not a leftover
//!    but the trace of a lost edit ([`manifest::TableHistory`]): the open fails in step 3.
//!
//! The next file number is above every number any file in the workdir carries, temporaries
//! included, so no number is handed out twice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::filenames::{self, FileKind};
use crate::flush::FlushTask;
use crate::manifest::{self, Manifest, Unreferenced, Version};
use crate::memtable::{MemValue, Memtable};
use crate::sst::{BlockCache, Table};
use crate::types::{FileNumber, SeqNo, TornLog, TornTail};
use crate::vfs::{FileLock, Vfs};
use crate::wal::{self, Tail};

pub(super) struct Recovered {
    pub lock: Box<dyn FileLock>,
    pub manifest: Manifest,
    pub version: Version,
    pub tables: HashMap<FileNumber, Arc<Table>>,
    pub wal: wal::Writer,
    pub active: Arc<Memtable>,
    pub imms: Vec<FlushTask>,
    pub last_seq: SeqNo,
    pub next_file: FileNumber,
    pub wal_segments: BTreeMap<FileNumber, u64>,
    pub segments_removed: u64,
    /// Torn tails dropped: the manifest's (ignored) and the newest WAL segment's (truncated).
    pub torn_tails: Vec<TornTail>,
}

pub(super) fn recover(
    vfs: Arc<dyn Vfs>,
    dir: &Path,
    block_cache: Option<Arc<BlockCache>>,
) -> Result<Recovered> {
    if !vfs.exists(dir)? {
        vfs.create_dir_all(dir)?;
    }
    let lock_path = dir.join(filenames::LOCK);
    let lock_existed = vfs.exists(&lock_path)?;
    let lock = vfs.lock(&lock_path)?;
    let wal_dir = dir.join(filenames::WAL_DIR);

    let (mut manifest, version) = match manifest::read_current(vfs.as_ref(), dir)? {
        Some(_) => Manifest::open_keeping_tail(Arc::clone(&vfs), dir)?,
        None => match create_fresh(&vfs, dir) {
            Err(err @ Error::NotADatabase { .. }) => {
                // A refused open leaves the directory as it was: no LOCK of ours in it.
                drop(lock);
                if !lock_existed {
                    let _ = vfs.remove_file(&lock_path);
                }
                return Err(err);
            }
            created => created?,
        },
    };

    // Validate every referenced table before changing anything on disk.
    let mut tables = HashMap::new();
    for (level, meta) in version.all_tables() {
        let path = dir.join(filenames::table_name(meta.number));
        if !vfs.exists(&path)? {
            return Err(Error::MissingFile {
                path,
                reason: format!(
                    "{} lists it in L{level}; the workdir was left untouched",
                    manifest.file_name()
                ),
            });
        }
        let table = Table::open_cached(vfs.as_ref(), &path, Some(meta.size), block_cache.clone())?;
        tables.insert(meta.number, Arc::new(table));
    }

    // Crash leftovers, removed only once the WAL has replayed (a replay that fails, say on a
    // sequence gap that shows the manifest lost its last edits, leaves every file in place).
    let mut max_seen = manifest.number().0;
    let mut leftovers = Vec::new();
    for name in vfs.list_dir(dir)? {
        let path = dir.join(&name);
        match filenames::parse(&name) {
            Some(FileKind::Temp) => {
                max_seen = max_seen.max(temp_number(&name));
                leftovers.push(path);
            }
            Some(FileKind::Table(n)) => {
                max_seen = max_seen.max(n.0);
                if version.contains(n) {
                    continue;
                }
                if manifest.history().classify(n, &version) == Unreferenced::Unaccounted {
                    return Err(Error::corruption(
                        &dir.join(manifest.file_name()),
                        0,
                        format!(
                            "{name} is below the next file number {} but no edit mentions it: \
                             an edit that published it may be lost; the workdir was left \
                             untouched (nokv salvage copies what is readable)",
                            version.next_file_number
                        ),
                    ));
                }
                leftovers.push(path);
            }
            Some(FileKind::Manifest(n)) => {
                max_seen = max_seen.max(n.0);
                if n != manifest.number() {
                    leftovers.push(path);
                }
            }
            _ => {}
        }
    }
    // IMPORTANT: the checkpoint segment is created and made durable before any edit names
    // it, and only segments below the checkpoint are ever deleted: if it is gone, so are the
    // acknowledged writes it held. Refuse before anything is changed (verify agrees).
    if version.wal_checkpoint.0 > 0 {
        let checkpoint = wal::segment_path(&wal_dir, version.wal_checkpoint);
        if !vfs.exists(&checkpoint)? {
            if let Some(tail) = manifest.dropped_tail() {
                // The edit that moved the checkpoint on is the one a torn tail dropped: the
                // manifest lost an edit whose WAL was already reclaimed.
                return Err(Error::corruption(
                    &dir.join(manifest.file_name()),
                    tail.offset,
                    format!(
                        "its last edit is unreadable ({}), and the WAL checkpoint before it, \
                         {}, is gone: edits are missing; the workdir was left untouched \
                         (nokv salvage copies what is readable)",
                        tail.reason,
                        filenames::wal_name(version.wal_checkpoint)
                    ),
                ));
            }
            return Err(Error::MissingFile {
                path: checkpoint,
                reason: format!(
                    "{} names it as the WAL checkpoint (the oldest segment still needed), so \
                     the writes it held are lost; the workdir was left untouched (nokv salvage \
                     copies what is readable)",
                    manifest.file_name()
                ),
            });
        }
    }
    if !vfs.exists(&wal_dir)? {
        vfs.create_dir_all(&wal_dir)?;
    }
    let mut segments = Vec::new();
    let mut segments_removed = 0;
    let mut removed_any = false;
    for name in vfs.list_dir(&wal_dir)? {
        let path = wal_dir.join(&name);
        match filenames::parse(&name) {
            Some(FileKind::Temp) => {
                max_seen = max_seen.max(temp_number(&name));
                vfs.remove_file(&path)?;
                removed_any = true;
            }
            Some(FileKind::Wal(n)) => {
                max_seen = max_seen.max(n.0);
                if n < version.wal_checkpoint {
                    vfs.remove_file(&path)?;
                    segments_removed += 1;
                    removed_any = true;
                } else {
                    segments.push(n);
                }
            }
            _ => {}
        }
    }
    if removed_any {
        vfs.sync_dir(&wal_dir)?;
    }
    segments.sort();

    // Replay.
    let mut last_seq = version.last_sequence;
    // Sequence numbers run on without a gap from the manifest's last sequence through every
    // replayed record: a gap means acknowledged writes are missing (a WAL segment deleted, or
    // a manifest that lost its last edits, whose tables recovery would then drop as orphans).
    let mut next_seq = version.last_sequence.0.saturating_add(1);
    let mut torn_tails: Vec<TornTail> = manifest.dropped_tail().cloned().into_iter().collect();
    let mut replayed: Vec<(Arc<Memtable>, u64)> = Vec::new();
    let mut active: Option<(Arc<Memtable>, u64)> = None;
    for (i, &number) in segments.iter().enumerate() {
        let newest = i + 1 == segments.len();
        let path = wal::segment_path(&wal_dir, number);
        let (memtable, summary) = match replay_segment(
            vfs.as_ref(),
            &path,
            number,
            &mut next_seq,
            &manifest.file_name(),
        )? {
            SegmentReplay::Replayed { memtable, summary } => (memtable, summary),
            SegmentReplay::SequenceGap(err) => return Err(err),
        };
        last_seq = last_seq.max(SeqNo(next_seq - 1));
        match summary.tail {
            Tail::Clean => {}
            Tail::Torn { offset, reason } if newest => {
                torn_tails.push(TornTail {
                    log: TornLog::Wal,
                    file: format!("{}/{}", filenames::WAL_DIR, filenames::wal_name(number)),
                    offset,
                    bytes_dropped: summary.file_len - summary.valid_len,
                    reason,
                });
                if summary.valid_len < wal::HEADER_LEN {
                    // Not even a whole header: the segment never held a record.
                    vfs.remove_file(&path)?;
                    vfs.sync_dir(&wal_dir)?;
                    continue;
                }
                vfs.truncate(&path, summary.valid_len)?;
            }
            Tail::Torn { offset, reason } => {
                return Err(Error::corruption(
                    &path,
                    offset,
                    format!("{reason}, in a WAL segment that is not the newest"),
                ))
            }
            Tail::Corrupt { offset, reason } => {
                return Err(Error::corruption(&path, offset, reason));
            }
        }
        if newest {
            active = Some((memtable, summary.valid_len));
        } else {
            replayed.push((memtable, summary.valid_len));
        }
    }

    manifest.cut_torn_tail(vfs.as_ref())?;
    for path in &leftovers {
        vfs.remove_file(path)?;
    }
    if !leftovers.is_empty() {
        vfs.sync_dir(dir)?;
    }

    let mut next_file = version
        .next_file_number
        .0
        .max(max_seen + 1)
        .max(manifest.number().0 + 1);
    let mut wal_segments: BTreeMap<FileNumber, u64> =
        replayed.iter().map(|(m, len)| (m.wal(), *len)).collect();
    let (wal, active) = match active {
        Some((memtable, valid_len)) => {
            let number = memtable.wal();
            wal_segments.insert(number, valid_len);
            (
                wal::Writer::reopen(vfs.as_ref(), &wal_dir, number, valid_len)?,
                memtable,
            )
        }
        None => {
            let number = FileNumber(next_file);
            next_file += 1;
            wal_segments.insert(number, wal::HEADER_LEN);
            (
                wal::Writer::create(vfs.as_ref(), &wal_dir, number)?,
                Arc::new(Memtable::new(number)),
            )
        }
    };
    let now = Instant::now();
    let imms = replayed
        .iter()
        .enumerate()
        .map(|(i, (memtable, _))| FlushTask {
            memtable: Arc::clone(memtable),
            next_wal: replayed
                .get(i + 1)
                .map(|(m, _)| m.wal())
                .unwrap_or_else(|| active.wal()),
            enqueued_at: now,
        })
        .collect();

    Ok(Recovered {
        lock,
        manifest,
        version,
        tables,
        wal,
        active,
        imms,
        last_seq,
        next_file: FileNumber(next_file),
        wal_segments,
        segments_removed,
        torn_tails,
    })
}

/// The file number a temporary was written for (`000017.sst.tmp.<pid>.<ns>` -> 17; 0 for a
/// temporary of an unnumbered file such as `CURRENT`). A number is never handed out twice,
/// even one only a deleted temporary used: its removal may not be durable yet, and a
/// resurrected temporary must never share a number with a live file.
fn temp_number(name: &str) -> u64 {
    let final_name = name
        .split(filenames::TEMP_MARKER)
        .next()
        .unwrap_or_default();
    match filenames::parse(final_name) {
        Some(FileKind::Table(n) | FileKind::Manifest(n) | FileKind::Wal(n)) => n.0,
        _ => 0,
    }
}

/// What [`replay_segment`] found.
pub(super) enum SegmentReplay {
    /// The segment's good records, and how the segment ends (the caller judges the tail).
    Replayed {
        memtable: Arc<Memtable>,
        summary: wal::SegmentSummary,
    },
    /// A record starts past the next expected sequence number: acknowledged writes are
    /// missing (or, for a read-only open racing a writer, the manifest read is stale).
    SequenceGap(Error),
}

/// Replays one WAL segment into a memtable. Sequence numbers must run on without a gap from
/// `next_seq` (advanced past every record replayed); `manifest` names the manifest for the
/// error message. Reads only: the tail is left for the caller to judge (and, in recovery,
/// to cut).
///
/// # Errors
/// I/O errors and corruption from [`wal::read_segment`].
pub(super) fn replay_segment(
    vfs: &dyn Vfs,
    path: &Path,
    number: FileNumber,
    next_seq: &mut u64,
    manifest: &str,
) -> Result<SegmentReplay> {
    let mut entries = Vec::new();
    let mut record = 0u64;
    let mut gap = None;
    let read = wal::read_segment(vfs, path, Some(number), |batch| {
        if batch.first_seq.0 > *next_seq {
            gap = Some(Error::corruption(
                path,
                0,
                format!(
                    "record {record} starts at sequence {}, but {manifest} and the segments \
                     before this one end at {}: the writes in between are missing (a deleted \
                     WAL segment, or a damaged manifest that lost its last edits)",
                    batch.first_seq.0,
                    *next_seq - 1
                ),
            ));
            return Err(Error::InvalidArgument("sequence gap".into()));
        }
        record += 1;
        *next_seq = (*next_seq).max(batch.first_seq.0.saturating_add(batch.ops.len() as u64));
        for (i, op) in batch.ops.iter().enumerate() {
            entries.push((
                op.key.to_vec(),
                MemValue {
                    seq: SeqNo(batch.first_seq.0 + i as u64),
                    kind: op.kind,
                    value: op.value.to_vec(),
                },
            ));
        }
        Ok(())
    });
    if let Some(err) = gap {
        return Ok(SegmentReplay::SequenceGap(err));
    }
    Ok(SegmentReplay::Replayed {
        memtable: Arc::new(Memtable::from_log(number, entries)),
        summary: read?,
    })
}

/// What a directory without `CURRENT` holds.
pub(crate) enum WithoutCurrent {
    /// Files that could be data (the first few names): not a database, and not to be
    /// initialised over.
    Data(Vec<String>),
    /// Only what an initialisation cut short leaves (a manifest that `CURRENT` never named,
    /// temporaries, WAL segments holding no record), to be removed: nothing was ever
    /// acknowledged here, because open writes `CURRENT` before it returns.
    Leftovers(Vec<PathBuf>),
}

/// Sorts the files of a directory that has no `CURRENT` (`LOCK`, `STATS` and `EVENTS` are
/// neither data nor leftovers).
pub(crate) fn without_current(vfs: &dyn Vfs, dir: &Path) -> Result<WithoutCurrent> {
    let mut found = Vec::new();
    let mut stale = Vec::new();
    for name in vfs.list_dir(dir)? {
        match filenames::parse(&name) {
            Some(FileKind::Lock | FileKind::Stats | FileKind::Events) => {}
            Some(FileKind::Temp | FileKind::Manifest(_)) => stale.push(dir.join(&name)),
            _ if name == filenames::WAL_DIR => {
                let wal_dir = dir.join(&name);
                for segment in vfs.list_dir(&wal_dir)? {
                    let path = wal_dir.join(&segment);
                    let empty = matches!(filenames::parse(&segment), Some(FileKind::Wal(_)))
                        && vfs.file_size(&path)? <= wal::HEADER_LEN;
                    if empty {
                        stale.push(path);
                    } else {
                        found.push(format!("{}/{segment}", filenames::WAL_DIR));
                    }
                }
            }
            _ => found.push(name),
        }
    }
    found.truncate(5);
    Ok(if found.is_empty() {
        WithoutCurrent::Leftovers(stale)
    } else {
        WithoutCurrent::Data(found)
    })
}

/// A directory without `CURRENT`: initialise it only when it holds nothing that could be
/// data, clearing the leftovers of an interrupted initialisation first.
fn create_fresh(vfs: &Arc<dyn Vfs>, dir: &Path) -> Result<(Manifest, Version)> {
    let stale = match without_current(vfs.as_ref(), dir)? {
        WithoutCurrent::Leftovers(stale) => stale,
        WithoutCurrent::Data(found) => {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: format!(
                    "no CURRENT file, but the directory holds {}",
                    found.join(", ")
                ),
            })
        }
    };
    for path in stale {
        vfs.remove_file(&path)?;
    }
    vfs.create_dir_all(&dir.join(filenames::WAL_DIR))?;
    let mut version = Version::empty();
    version.next_file_number = FileNumber(2);
    let manifest = Manifest::create(Arc::clone(vfs), dir, FileNumber(1), &version, None)?;
    Ok((manifest, version))
}
