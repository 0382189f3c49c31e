//! Checkpoints (SPEC 4, `nokv checkpoint DEST`): a consistent copy of a workdir that opens as
//! a workdir of its own, taken beside a live writer in another process, like RocksDB's
//! `Checkpoint::CreateCheckpoint`.
//!
//! The source is read exactly as a read-only open reads it ([`super::read_only`]: no `LOCK`,
//! nothing written, fresh starts from `CURRENT` while a writer races it), and `DEST` gets what
//! that read saw, in this order:
//!
//! ```text
//! 1. DEST created (or an existing empty directory taken), DEST/wal/ created
//! 2. every table of the version: hard link SRC/N.sst -> DEST/N.sst, fsynced through the link
//!    (a fast-mode source may not have synced it); copied instead (from the file the read
//!    holds open) when the link fails: another filesystem, no link support, or the name was
//!    compacted away since
//! 3. every WAL segment the read replayed: its bytes up to the last complete record copied to
//!    DEST/wal/, fsynced
//! 4. DEST/wal/ fsynced; a fresh manifest holding a snapshot of the version (its tables, WAL
//!    checkpoint, last sequence) written and fsynced, DEST fsynced, then CURRENT written
//!    atomically (CURRENT.tmp + fsync + rename + fsync DEST): the commit point
//! ```
//!
//! A crash before step 4 ends leaves `DEST` without `CURRENT`: not a workdir, and refused by the
//! next checkpoint (remove it and run again). Hard links are safe because nothing ever changes
//! a table file after it is installed (tables are written once under a fresh number and only
//! ever removed), and removing a name (the copy's compactions, or the source's) leaves the
//! other: writes to either side never show in the other. WAL segments and the manifest are
//! always copies, because they are appended to and truncated.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::read_only::read_live;
use crate::error::{Error, Result};
use crate::filenames;
use crate::manifest::Manifest;
use crate::types::{FileNumber, SeqNo};
use crate::vfs::{ReadableFile, RealFs, Vfs};
use crate::wal;

/// Bytes moved per read when a file is copied.
const COPY_CHUNK: u64 = 1 << 20;

/// What [`checkpoint`] made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// The new workdir.
    pub dest: PathBuf,
    /// Tables given a hard link in `dest`.
    pub tables_linked: u64,
    /// Tables copied (another filesystem, no link support, or compacted away meanwhile).
    pub tables_copied: u64,
    /// Bytes of all the tables.
    pub table_bytes: u64,
    /// WAL segments copied.
    pub wal_segments: u64,
    /// Bytes of WAL copied.
    pub wal_bytes: u64,
    /// The last write the checkpoint holds.
    pub last_sequence: SeqNo,
    /// Fresh starts from `CURRENT` the read needed (1 when no writer raced it).
    pub attempts: u32,
}

/// Copies the workdir `src` to `dest` on the real filesystem (module docs for the order).
/// `dest` must not exist or be an empty directory.
///
/// ```
/// # fn main() -> nokv::Result<()> {
/// # let tmp = tempfile::tempdir().unwrap();
/// # let (src, dest) = (tmp.path().join("db"), tmp.path().join("copy"));
/// let db = nokv::Db::open(&src, nokv::Options::default())?;
/// db.put(b"k", b"v")?;
/// nokv::checkpoint(&src, &dest)?; // while the writer keeps the workdir open
/// db.put(b"k", b"later")?;
/// let copy = nokv::Db::open(&dest, nokv::Options::default())?;
/// assert_eq!(copy.get(b"k")?, Some(b"v".to_vec()));
/// # copy.close()?;
/// # db.close()?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a `dest` that exists and is not an empty directory; the
/// read's errors (as [`super::ReadOnlyDb::open`]); I/O errors writing `dest`.
pub fn checkpoint(src: impl AsRef<Path>, dest: impl AsRef<Path>) -> Result<CheckpointSummary> {
    checkpoint_with_vfs(Arc::new(RealFs::new()), src.as_ref(), dest.as_ref())
}

/// [`checkpoint`] through `vfs`.
///
/// # Errors
/// As [`checkpoint`].
pub fn checkpoint_with_vfs(
    vfs: Arc<dyn Vfs>,
    src: &Path,
    dest: &Path,
) -> Result<CheckpointSummary> {
    refuse_non_empty(vfs.as_ref(), dest)?;
    if !vfs.exists(&src.join(filenames::CURRENT))? {
        return Err(Error::NotADatabase {
            path: src.to_path_buf(),
            reason: format!("no {} file", filenames::CURRENT),
        });
    }
    let live = read_live(vfs.as_ref(), src, None)?;
    let mut summary = CheckpointSummary {
        dest: dest.to_path_buf(),
        last_sequence: live.last_seq,
        attempts: live.attempts,
        ..CheckpointSummary::default()
    };
    let dest_wal = dest.join(filenames::WAL_DIR);
    vfs.create_dir_all(dest)?;
    vfs.create_dir_all(&dest_wal)?;

    let mut highest = live.view.version.next_file_number.0;
    for (_, meta) in live.view.version.all_tables() {
        let name = filenames::table_name(meta.number);
        let to = dest.join(&name);
        highest = highest.max(meta.number.0 + 1);
        summary.table_bytes += meta.size;
        match vfs.hard_link(&src.join(&name), &to) {
            // IMPORTANT: a fast-mode source may not have fsynced the table yet.
            Ok(()) => {
                vfs.open_append(&to)?.sync()?;
                summary.tables_linked += 1;
            }
            Err(_) => {
                let table =
                    live.view
                        .tables
                        .get(&meta.number)
                        .ok_or_else(|| Error::MissingFile {
                            path: src.join(&name),
                            reason: "the version lists it but the read did not open it".into(),
                        })?;
                copy_prefix(vfs.as_ref(), table.file().as_ref(), meta.size, &to)?;
                summary.tables_copied += 1;
            }
        }
    }
    for segment in &live.segments {
        highest = highest.max(segment.number.0 + 1);
        if segment.valid_len < wal::HEADER_LEN {
            // A segment being created: nothing in it yet, the copy opens a fresh one.
            continue;
        }
        let to = wal::segment_path(&dest_wal, segment.number);
        copy_prefix(vfs.as_ref(), segment.file.as_ref(), segment.valid_len, &to)?;
        summary.wal_segments += 1;
        summary.wal_bytes += segment.valid_len;
    }
    vfs.sync_dir(&dest_wal)?;
    vfs.sync_dir(dest)?;

    // IMPORTANT: the commit point, last: CURRENT names a manifest whose every file is durable.
    let mut version = (*live.view.version).clone();
    let manifest_number = FileNumber(highest);
    version.next_file_number = FileNumber(highest + 1);
    Manifest::create(Arc::clone(&vfs), dest, manifest_number, &version, None)?;
    Ok(summary)
}

/// Refuses a `dest` that exists and is not an empty directory.
fn refuse_non_empty(vfs: &dyn Vfs, dest: &Path) -> Result<()> {
    if !vfs.exists(dest)? {
        return Ok(());
    }
    let entries = vfs.list_dir(dest).map_err(|err| {
        Error::InvalidArgument(format!(
            "checkpoint destination {} exists and is not a directory ({err})",
            dest.display()
        ))
    })?;
    if entries.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "checkpoint destination {} exists and is not empty (it holds {}); give a new path",
        dest.display(),
        entries
            .iter()
            .take(3)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Writes the first `len` bytes of `from` to a new file `to` and fsyncs it.
fn copy_prefix(vfs: &dyn Vfs, from: &dyn ReadableFile, len: u64, to: &Path) -> Result<()> {
    let out = vfs.create_new(to)?;
    let mut buf = Vec::new();
    let mut offset = 0;
    while offset < len {
        let n = (len - offset).min(COPY_CHUNK);
        buf.resize(n as usize, 0);
        from.read_exact_at(offset, &mut buf)?;
        out.append(&buf)?;
        offset += n;
    }
    out.sync()
}
