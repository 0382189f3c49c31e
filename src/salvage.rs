//! `nokv salvage`: copy every readable record of a damaged workdir into a fresh one and say
//! exactly what was lost. The source is only read (no `LOCK`, nothing written, truncated or
//! removed); the copy is written through the engine ([`Db::open`] and a sorted ingest), so it
//! is an ordinary, durable workdir. The engine never prints: [`salvage`] returns a
//! [`SalvageReport`] and the CLI renders it.
//!
//! What is read:
//! - the manifest, if it replays (a torn last record is fine): its tables, its WAL segments at
//!   or after the checkpoint, and tables on disk that only a lost edit explains
//!   ([`crate::manifest::Unreferenced::Unaccounted`]: their data is nowhere else). Crash
//!   leftovers (unpublished or retired tables, segments below the checkpoint) are skipped:
//!   their data is elsewhere, and a retired compaction input could bring back keys whose
//!   tombstones the compaction dropped;
//! - without a usable manifest: every table and every segment on disk (reported, and counted
//!   as a loss, since what the manifest held cannot be checked);
//! - each table block by block from its index ([`sst::salvage_table`]): a block whose
//!   checksum fails is lost whole, and reported with its offset, size, key range (from the
//!   index: after the previous block's last key, up to its own last key) and its entry count
//!   when it is the table's only lost block (the properties' count minus what was read);
//! - each WAL segment record by record, resuming after damage at the next whole record
//!   ([`wal::salvage_segment`]); skipped bytes are reported. A torn tail of the newest
//!   segment (no valid record after it) is what open drops too, and is not a loss.
//!
//! The copy holds, for every key, the newest readable version, unless that is a tombstone or
//! a readable range tombstone covers it; sequence numbers are the copy's own. A lost block may
//! have held a newer version of a key (or its delete) than the one copied: such keys are not
//! dropped (an older value is usually better than none) but counted and sampled as
//! `suspect_keys` on the block that may have shadowed them, so nothing is resurrected
//! silently.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::filenames::{self, FileKind, LOCK, WAL_DIR};
use crate::manifest::{self, Unreferenced};
use crate::sst;
use crate::types::{FileNumber, RangeTombstone, SeqNo, TableMeta, ValueKind};
use crate::vfs::Vfs;
use crate::wal::{self, DroppedRange};
use crate::{Db, Options};

/// At most this many suspect keys are listed per lost range (all are counted).
pub const SUSPECT_SAMPLE: usize = 10;

/// A key range some of whose records could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostRange {
    /// The table (`000012.sst`).
    pub table: String,
    /// Its level in the manifest, when the manifest was usable.
    pub level: Option<u32>,
    /// `block` (one data block), `index_partition` (the data blocks an unreadable index
    /// partition locates: `offset` and `size` span them), `table` (the whole table: missing,
    /// or its footer or top-level index unreadable) or `range_tombstones` (the block holding
    /// the table's range deletes).
    pub what: &'static str,
    /// File offset of the lost block (`None` for a whole table).
    pub offset: Option<u64>,
    /// Size of the lost block, or of the table.
    pub size: Option<u64>,
    /// Lost keys are above this one (`None`: from the table's smallest key, or unknown).
    pub after_key: Option<String>,
    /// Lost keys are at or above this one (the table's smallest key, when known).
    pub smallest: Option<String>,
    /// Lost keys are at or below this one (`None`: unknown).
    pub largest: Option<String>,
    /// Entries lost, when known.
    pub entries: Option<u64>,
    /// Keys copied with a version older than the damaged table's newest write: the lost
    /// records may have held a newer version or a delete of them.
    pub suspect_keys: u64,
    /// The first [`SUSPECT_SAMPLE`] of them.
    pub suspect_sample: Vec<String>,
    /// Why it could not be read.
    pub reason: String,
}

/// What was read of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRead {
    /// The table (`000012.sst`).
    pub table: String,
    /// Its level in the manifest, when the manifest was usable.
    pub level: Option<u32>,
    /// Data blocks read.
    pub blocks_read: u64,
    /// Data blocks lost.
    pub blocks_lost: u64,
    /// Entries read (puts and tombstones).
    pub entries_read: u64,
    /// Range tombstones read.
    pub range_tombstones_read: u64,
}

/// What was read of one WAL segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentRead {
    /// The segment (`wal/000011.wal`).
    pub segment: String,
    /// Records read.
    pub records: u64,
    /// Bytes that could not be read, each with whether it is a torn tail of the newest
    /// segment (not a loss) or lost records.
    pub dropped: Vec<DroppedBytes>,
}

/// Bytes of a segment that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedBytes {
    /// Where they start.
    pub offset: u64,
    /// How many.
    pub bytes: u64,
    /// A torn tail of the newest segment: an unsynced append that open drops too.
    pub torn_tail: bool,
    /// What was found.
    pub reason: String,
}

/// What [`salvage`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalvageReport {
    /// The damaged workdir (only read).
    pub source: String,
    /// The fresh workdir written.
    pub dest: String,
    /// The manifest `CURRENT` names, if it parsed.
    pub manifest: Option<String>,
    /// Whether its version could be used; when not, every table and segment on disk was read.
    pub manifest_usable: bool,
    /// What was wrong with the manifest (a torn last record included).
    pub manifest_problems: Vec<String>,
    /// Every table read.
    pub tables: Vec<TableRead>,
    /// Every WAL segment read.
    pub segments: Vec<SegmentRead>,
    /// Every key range with unreadable records.
    pub lost: Vec<LostRange>,
    /// Versions read (table entries and WAL operations).
    pub versions_read: u64,
    /// Live keys written to the copy.
    pub keys_written: u64,
    /// Whether anything was lost (exit 3 in the CLI).
    pub anything_lost: bool,
}

/// The newest version of a key seen so far.
struct Newest {
    seq: SeqNo,
    kind: ValueKind,
    value: Vec<u8>,
}

/// Everything read, merged newest first.
#[derive(Default)]
struct Merged {
    keys: BTreeMap<Vec<u8>, Newest>,
    tombstones: Vec<RangeTombstone>,
    versions: u64,
}

impl Merged {
    fn offer(&mut self, key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) {
        self.versions += 1;
        match self.keys.get_mut(key) {
            Some(existing) if existing.seq >= seq => {}
            Some(existing) => {
                *existing = Newest {
                    seq,
                    kind,
                    value: value.to_vec(),
                }
            }
            None => {
                self.keys.insert(
                    key.to_vec(),
                    Newest {
                        seq,
                        kind,
                        value: value.to_vec(),
                    },
                );
            }
        }
    }

    fn is_live(&self, key: &[u8], v: &Newest) -> bool {
        v.kind == ValueKind::Put && !self.tombstones.iter().any(|t| t.covers(key, v.seq))
    }
}

fn show(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

/// A table to read: its number, level (when the manifest placed it) and manifest metadata.
struct Source {
    number: FileNumber,
    level: Option<u32>,
    meta: Option<TableMeta>,
}

/// Copies every readable record of the workdir `source` into the fresh workdir `dest` and
/// reports what was lost. `source` is never changed.
///
/// # Errors
/// [`Error::Locked`] when another process holds `source`; [`Error::InvalidArgument`] when
/// `dest` exists and is not an empty directory, or is `source`; I/O errors reading `source`
/// (other than damage, which is reported) or writing `dest`.
pub fn salvage(vfs: Arc<dyn Vfs>, source: &Path, dest: &Path) -> Result<SalvageReport> {
    let names = vfs.list_dir(source)?;
    if let Some(pid) = vfs.lock_holder(&source.join(LOCK))? {
        return Err(Error::Locked {
            path: source.to_path_buf(),
            pid,
        });
    }
    check_dest(vfs.as_ref(), source, dest)?;
    let manifest = manifest::inspect(vfs.as_ref(), source)?;
    let manifest_usable =
        manifest.version.is_some() && manifest.problems.iter().all(|p| p.kind == "torn_tail");
    let mut report = SalvageReport {
        source: source.display().to_string(),
        dest: dest.display().to_string(),
        manifest: manifest.current.clone(),
        manifest_usable,
        manifest_problems: manifest
            .problems
            .iter()
            .map(|p| match p.offset {
                Some(at) => format!("{} at offset {at}: {} ({})", p.file, p.detail, p.kind),
                None => format!("{}: {} ({})", p.file, p.detail, p.kind),
            })
            .collect(),
        tables: Vec::new(),
        segments: Vec::new(),
        lost: Vec::new(),
        versions_read: 0,
        keys_written: 0,
        anything_lost: !manifest_usable,
    };

    // Which tables and segments hold the data.
    let on_disk: Vec<FileNumber> = names
        .iter()
        .filter_map(|n| match filenames::parse(n) {
            Some(FileKind::Table(number)) => Some(number),
            _ => None,
        })
        .collect();
    let mut sources = Vec::new();
    let mut checkpoint = FileNumber(0);
    match manifest.version.as_ref().filter(|_| manifest_usable) {
        Some(version) => {
            checkpoint = version.wal_checkpoint;
            for (level, meta) in version.all_tables() {
                sources.push(Source {
                    number: meta.number,
                    level: Some(level),
                    meta: Some(TableMeta::clone(meta)),
                });
            }
            for &number in &on_disk {
                if !version.contains(number)
                    && manifest.history.classify(number, version) == Unreferenced::Unaccounted
                {
                    sources.push(Source {
                        number,
                        level: None,
                        meta: None,
                    });
                }
            }
        }
        None => sources.extend(on_disk.iter().map(|&number| Source {
            number,
            level: None,
            meta: None,
        })),
    }

    let mut merged = Merged::default();
    let mut pending_lost: Vec<(LostRange, Bounds)> = Vec::new();
    for src in &sources {
        read_table(
            vfs.as_ref(),
            source,
            src,
            &mut merged,
            &mut report,
            &mut pending_lost,
        )?;
    }
    read_wal(vfs.as_ref(), source, checkpoint, &mut merged, &mut report)?;

    // Keys copied that a lost block may have shadowed.
    for (mut range, bounds) in pending_lost {
        for (key, v) in &merged.keys {
            if v.seq < bounds.newest && merged.is_live(key, v) && bounds.contains(key) {
                range.suspect_keys += 1;
                if range.suspect_sample.len() < SUSPECT_SAMPLE {
                    range.suspect_sample.push(show(key));
                }
            }
        }
        report.lost.push(range);
    }
    report.versions_read = merged.versions;
    if !report.lost.is_empty() {
        report.anything_lost = true;
    }

    // Write the copy.
    let db = Db::open_with_vfs(Arc::clone(&vfs), dest, Options::default())?;
    let mut ingest = db.ingest()?;
    for (key, v) in &merged.keys {
        if merged.is_live(key, v) {
            ingest.add(key, &v.value)?;
            report.keys_written += 1;
        }
    }
    ingest.finish()?;
    db.close()?;
    Ok(report)
}

/// `dest` must be new or an empty directory, and not the source.
fn check_dest(vfs: &dyn Vfs, source: &Path, dest: &Path) -> Result<()> {
    if dest == source {
        return Err(Error::InvalidArgument(format!(
            "salvage destination {} is the damaged workdir itself; name a fresh directory",
            dest.display()
        )));
    }
    if vfs.exists(dest)? && !vfs.list_dir(dest)?.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "salvage destination {} is not empty; name a fresh directory",
            dest.display()
        )));
    }
    Ok(())
}

/// The raw bounds of a lost range (the report shows them escaped), and the newest write the
/// damaged table may have held.
struct Bounds {
    after: Option<Vec<u8>>,
    smallest: Option<Vec<u8>>,
    largest: Option<Vec<u8>>,
    newest: SeqNo,
}

impl Bounds {
    fn contains(&self, key: &[u8]) -> bool {
        let above = match (&self.after, &self.smallest) {
            (Some(after), _) => key > after.as_slice(),
            (None, Some(smallest)) => key >= smallest.as_slice(),
            (None, None) => true,
        };
        above && self.largest.as_ref().is_none_or(|l| key <= l.as_slice())
    }
}

fn read_table(
    vfs: &dyn Vfs,
    dir: &Path,
    src: &Source,
    merged: &mut Merged,
    report: &mut SalvageReport,
    lost: &mut Vec<(LostRange, Bounds)>,
) -> Result<()> {
    let name = filenames::table_name(src.number);
    let path = dir.join(&name);
    let whole = |reason: String, meta: Option<&TableMeta>| LostRange {
        table: name.clone(),
        level: src.level,
        what: "table",
        offset: None,
        size: meta.map(|m| m.size),
        after_key: None,
        smallest: meta.map(|m| show(&m.smallest)),
        largest: meta.map(|m| show(&m.largest)),
        entries: meta.map(|m| m.entries),
        suspect_keys: 0,
        suspect_sample: Vec::new(),
        reason,
    };
    let newest_of = |meta: Option<&TableMeta>| meta.map_or(SeqNo(u64::MAX), |m| m.max_seq);
    let table_bounds = |meta: Option<&TableMeta>| Bounds {
        after: None,
        smallest: meta.map(|m| m.smallest.clone()),
        largest: meta.map(|m| m.largest.clone()),
        newest: newest_of(meta),
    };
    if !vfs.exists(&path)? {
        let meta = src.meta.as_ref();
        lost.push((
            whole("the table is missing".into(), meta),
            table_bounds(meta),
        ));
        return Ok(());
    }
    let read = sst::salvage_table(vfs, &path, |e| {
        merged.offer(e.key, SeqNo(e.seq), e.kind, e.value);
    })?;
    let meta = read.meta.as_ref().or(src.meta.as_ref());
    let mut tombstones_read = 0;
    match &read.range_tombstones {
        Ok(ts) => {
            tombstones_read = ts.len() as u64;
            merged.versions += tombstones_read;
            merged.tombstones.extend(ts.iter().cloned());
        }
        Err(reason) => {
            let mut range = whole(format!("range tombstones unreadable: {reason}"), meta);
            range.what = "range_tombstones";
            range.entries = None;
            lost.push((range, table_bounds(meta)));
        }
    }
    if let Some(reason) = &read.unreadable {
        lost.push((whole(reason.clone(), meta), table_bounds(meta)));
    }
    let only_one = read.lost_blocks.len() == 1;
    for block in &read.lost_blocks {
        let smallest = match &block.after_key {
            None => meta.map(|m| m.smallest.clone()),
            Some(_) => None,
        };
        lost.push((
            LostRange {
                table: name.clone(),
                level: src.level,
                what: if block.index_partition {
                    "index_partition"
                } else {
                    "block"
                },
                offset: Some(block.offset),
                size: Some(block.size),
                after_key: block.after_key.as_deref().map(show),
                smallest: smallest.as_deref().map(show),
                largest: Some(show(&block.last_key)),
                entries: meta
                    .filter(|_| only_one)
                    .map(|m| m.entries.saturating_sub(read.entries_read)),
                suspect_keys: 0,
                suspect_sample: Vec::new(),
                reason: block.reason.clone(),
            },
            Bounds {
                after: block.after_key.clone(),
                smallest,
                largest: Some(block.last_key.clone()),
                newest: newest_of(meta),
            },
        ));
    }
    report.tables.push(TableRead {
        table: name,
        level: src.level,
        blocks_read: read.blocks_read,
        blocks_lost: read.lost_blocks.len() as u64,
        entries_read: read.entries_read,
        range_tombstones_read: tombstones_read,
    });
    Ok(())
}

fn read_wal(
    vfs: &dyn Vfs,
    dir: &Path,
    checkpoint: FileNumber,
    merged: &mut Merged,
    report: &mut SalvageReport,
) -> Result<()> {
    let wal_dir = dir.join(WAL_DIR);
    if !vfs.exists(&wal_dir)? {
        return Ok(());
    }
    let mut segments: Vec<FileNumber> = vfs
        .list_dir(&wal_dir)?
        .iter()
        .filter_map(|n| match filenames::parse(n) {
            Some(FileKind::Wal(number)) if number >= checkpoint => Some(number),
            _ => None,
        })
        .collect();
    segments.sort();
    let newest = segments.last().copied();
    for number in segments {
        let path = wal::segment_path(&wal_dir, number);
        let read = wal::salvage_segment(vfs, &path, |batch| {
            for (i, op) in batch.ops.iter().enumerate() {
                let seq = SeqNo(batch.first_seq.0 + i as u64);
                match op.kind {
                    ValueKind::RangeDelete => {
                        merged.versions += 1;
                        merged.tombstones.push(RangeTombstone {
                            start: op.key.to_vec(),
                            end: op.value.to_vec(),
                            seq,
                        });
                    }
                    kind => merged.offer(op.key, seq, kind, op.value),
                }
            }
            Ok(())
        })?;
        let dropped: Vec<DroppedBytes> = read
            .dropped
            .into_iter()
            .map(
                |DroppedRange {
                     offset,
                     bytes,
                     at_tail,
                     reason,
                 }| DroppedBytes {
                    offset,
                    bytes,
                    torn_tail: at_tail && Some(number) == newest,
                    reason,
                },
            )
            .collect();
        if dropped.iter().any(|d| !d.torn_tail) {
            report.anything_lost = true;
        }
        report.segments.push(SegmentRead {
            segment: format!("{WAL_DIR}/{}", filenames::wal_name(number)),
            records: read.records,
            dropped,
        });
    }
    Ok(())
}
