//! Read-only inspection of a workdir for `nokv stats`: combines the last published `STATS`
//! snapshot with what the manifest and the WAL directory say now. Never takes `LOCK`, never
//! creates, replays or flushes anything, and works while another process holds the workdir.
//!
//! Where each section comes from ([`offline_stats`]):
//!
//! - the published `STATS` (if present and parsable, else all zeros) is the base: the
//!   cumulative counters (`flush.completed`, timings, `wal.segments_removed`, ...) only the
//!   engine knows;
//! - `lsm` is recomputed from the version the manifest replays to ([`crate::db::lsm_stats`]);
//! - `manifest` (`file`, `bytes`, `edits` = complete records, `next_file_number`,
//!   `last_sequence`) comes from [`manifest::inspect`];
//! - `wal` (`segments`, `bytes`, `active_segment` = the newest segment on disk,
//!   `checkpoint` from the version) comes from listing `wal/`;
//! - `session.live` says whether a process holds `LOCK` now ([`Vfs::lock_holder`]);
//!   `session.pid` is the holder's pid when known, else the publisher's.
//!
//! The flush backlog: when nobody holds the workdir, the published snapshot may be from a
//! process that crashed. Every segment at or after the checkpoint except the newest is then a
//! memtable that recovery will resubmit for flush, so `flush.queue` = `flush.pending` =
//! `memtable.immutables` = their count, `flush.active` = 0, `memtable.immutable_bytes` is
//! their record bytes and `memtable.active_bytes` the newest segment's (WAL bytes
//! approximate memtable bytes). While a process holds the workdir, its own published
//! flush and memtable figures are kept.

use std::path::Path;

use crate::db::lsm_stats;
use crate::error::{Error, Result};
use crate::filenames::{self, FileKind, CURRENT, LOCK, WAL_DIR};
use crate::manifest::{self, ManifestReport};
use crate::stats::{self, StatsSnapshot};
use crate::types::FileNumber;
use crate::vfs::Vfs;
use crate::wal;

/// How often to re-read the manifest when `CURRENT` named one that vanished (a live process
/// rewrote the manifest in between).
const MANIFEST_ATTEMPTS: usize = 3;

/// The stats of `dir` as seen from outside.
///
/// # Errors
/// `Error::Io` (NotFound) when `dir` does not exist; `Error::NotADatabase` when it has no
/// `CURRENT`; corruption of `CURRENT` or the manifest header.
pub fn offline_stats(vfs: &dyn Vfs, dir: &Path) -> Result<StatsSnapshot> {
    if !vfs.exists(dir)? {
        return Err(Error::Io {
            op: "open workdir",
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such directory"),
        });
    }
    let holder = vfs.lock_holder(&dir.join(LOCK))?;
    let report = read_manifest(vfs, dir)?;
    let version = report.version.clone().unwrap_or_default();

    let mut snap = stats::read_published(vfs, dir).unwrap_or_default();
    snap.format_version = stats::STATS_FORMAT_VERSION;

    snap.lsm = lsm_stats(&version);
    snap.manifest.file = report.current.clone().unwrap_or_default();
    snap.manifest.bytes = report.file_size;
    snap.manifest.edits = report.records;
    snap.manifest.next_file_number = version.next_file_number.0;
    snap.manifest.last_sequence = version.last_sequence.0;

    // WAL segments on disk, oldest first.
    let wal_dir = dir.join(WAL_DIR);
    let mut segments: Vec<(FileNumber, u64)> = Vec::new();
    if vfs.exists(&wal_dir)? {
        for name in vfs.list_dir(&wal_dir)? {
            if let Some(FileKind::Wal(n)) = filenames::parse(&name) {
                // A segment removed between the listing and here is simply gone.
                if let Ok(size) = vfs.file_size(&wal_dir.join(&name)) {
                    segments.push((n, size));
                }
            }
        }
    }
    segments.sort();
    let checkpoint = version.wal_checkpoint;
    snap.wal.segments = segments.len() as u64;
    snap.wal.bytes = segments.iter().map(|(_, size)| size).sum();
    snap.wal.checkpoint = checkpoint.0;
    snap.wal.active_segment = segments.last().map_or(0, |(n, _)| n.0);

    match holder {
        Some(pid) => {
            snap.session.live = true;
            if let Some(pid) = pid {
                snap.session.pid = pid;
            }
        }
        None => {
            snap.session.live = false;
            let needed: Vec<u64> = segments
                .iter()
                .filter(|(n, _)| *n >= checkpoint)
                .map(|(_, size)| size.saturating_sub(wal::HEADER_LEN))
                .collect();
            let (active, waiting) = match needed.split_last() {
                Some((active, waiting)) => (*active, waiting),
                None => (0, &[][..]),
            };
            let backlog = waiting.len() as u64;
            snap.flush.queue = backlog;
            snap.flush.pending = backlog;
            snap.flush.active = 0;
            snap.memtable.immutables = backlog;
            snap.memtable.immutable_bytes = waiting.iter().sum();
            snap.memtable.active_bytes = active;
        }
    }
    Ok(snap)
}

/// [`manifest::inspect`], turning what makes stats impossible into errors.
fn read_manifest(vfs: &dyn Vfs, dir: &Path) -> Result<ManifestReport> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let report = manifest::inspect(vfs, dir)?;
        if report.version.is_some() {
            return Ok(report);
        }
        let Some(problem) = report.problems.first() else {
            return Ok(report);
        };
        let err = match problem.kind {
            "current_missing" => Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: format!("no {CURRENT} file"),
            },
            "manifest_missing" if attempt < MANIFEST_ATTEMPTS => continue,
            "manifest_missing" => Error::MissingFile {
                path: dir.join(&problem.file),
                reason: format!("{CURRENT} names it as the live manifest"),
            },
            _ => Error::corruption(
                &dir.join(&problem.file),
                problem.offset.unwrap_or(0),
                problem.detail.clone(),
            ),
        };
        return Err(err);
    }
}
