//! The `MANIFEST-N` log: header, record framing, [`Manifest`] (create, open + replay, append)
//! and the read-only [`inspect`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::current::{is_not_found, read_current, write_current};
use super::edit::VersionEdit;
use super::history::TableHistory;
use super::version::Version;
use crate::codec::{crc32, get_u32, put_u32};
use crate::error::{Error, Result};
use crate::filenames::{self, manifest_name, FileKind, CURRENT};
use crate::types::{FileNumber, TornLog, TornTail};
use crate::vfs::{read_all, Vfs, WritableFile};

/// First eight bytes of every manifest.
pub const MAGIC: [u8; 8] = *b"NOKVMANI";
/// The manifest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Header length: magic, version, CRC32 of both.
pub const HEADER_LEN: usize = 16;
/// Record header length: payload length, payload CRC32.
pub const RECORD_HEADER_LEN: usize = 8;

fn header() -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER_LEN);
    buf.extend_from_slice(&MAGIC);
    put_u32(&mut buf, FORMAT_VERSION);
    let crc = crc32(&buf);
    put_u32(&mut buf, crc);
    buf
}

/// Checks the header. Magic first (not a manifest at all), then the version (a newer format
/// may lay the rest of its header out differently, so it is reported as unsupported rather
/// than damaged), then the header CRC.
fn check_header(bytes: &[u8], path: &Path) -> Result<()> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::corruption(
            path,
            0,
            format!("header cut short: {} of {HEADER_LEN} bytes", bytes.len()),
        ));
    }
    if bytes[..8] != MAGIC {
        return Err(Error::corruption(path, 0, "bad magic: not a nokv manifest"));
    }
    let version = get_u32(bytes, 8).unwrap_or_default();
    if version > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let stored = get_u32(bytes, 12).unwrap_or_default();
    let actual = crc32(&bytes[..12]);
    if stored != actual {
        return Err(Error::corruption(
            path,
            12,
            format!("header checksum mismatch: stored {stored:08x}, computed {actual:08x}"),
        ));
    }
    if version != FORMAT_VERSION {
        return Err(Error::corruption(
            path,
            8,
            format!("unknown format version {version}"),
        ));
    }
    Ok(())
}

/// Frames a payload as one record.
fn frame(payload: &[u8], path: &Path) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        Error::InvalidArgument(format!(
            "manifest edit for {} is {} bytes, over the 4 GiB record limit",
            path.display(),
            payload.len()
        ))
    })?;
    let mut buf = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    put_u32(&mut buf, len);
    put_u32(&mut buf, crc32(payload));
    buf.extend_from_slice(payload);
    Ok(buf)
}

/// One step of reading the record stream.
enum Step<'a> {
    /// A complete record whose checksum matches.
    Record { offset: u64, payload: &'a [u8] },
    /// Clean end of file on a record boundary.
    End,
    /// An incomplete last record (or an all-zero tail) starting at `offset`.
    Torn { offset: u64, detail: String },
    /// Damage: the framing can no longer be trusted after this.
    Bad {
        kind: &'static str,
        offset: u64,
        detail: String,
    },
}

/// Walks the records after the header. Every length is checked against the bytes present
/// before it is used.
struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Records<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Records {
            bytes,
            pos: HEADER_LEN.min(bytes.len()),
        }
    }

    fn next_step(&mut self) -> Step<'a> {
        let offset = self.pos as u64;
        let rest = &self.bytes[self.pos..];
        if rest.is_empty() {
            return Step::End;
        }
        if rest.iter().all(|&b| b == 0) {
            return Step::Torn {
                offset,
                detail: format!("{} zero bytes at the end (unwritten tail)", rest.len()),
            };
        }
        if rest.len() < RECORD_HEADER_LEN {
            return Step::Torn {
                offset,
                detail: format!(
                    "record header cut short: {} of {RECORD_HEADER_LEN} bytes",
                    rest.len()
                ),
            };
        }
        let len = get_u32(rest, 0).unwrap_or_default() as usize;
        let stored = get_u32(rest, 4).unwrap_or_default();
        let body = &rest[RECORD_HEADER_LEN..];
        if len == 0 {
            return self.bad_or_torn(
                "bad_record",
                "zero-length record (no edit is empty)".to_string(),
            );
        }
        if len > body.len() {
            // Either the write was cut short (torn) or the length field is damaged. A damaged
            // length leaves the whole payload present: some prefix of what follows then
            // matches the stored checksum, which a cut-short payload matches only by chance
            // (2^-32 per length).
            if let Some(n) = checksummed_prefix(body, stored) {
                return Step::Bad {
                    kind: "checksum_mismatch",
                    offset,
                    detail: format!(
                        "record length {len} runs past the end of the file, but its first {n} \
                         payload bytes match the checksum: the length field is damaged"
                    ),
                };
            }
            return Step::Torn {
                offset,
                detail: format!(
                    "record declares {len} payload bytes, only {} present",
                    body.len()
                ),
            };
        }
        let payload = &body[..len];
        let actual = crc32(payload);
        if actual != stored {
            return self.bad_or_torn(
                "checksum_mismatch",
                format!(
                    "record checksum mismatch: stored {stored:08x}, computed {actual:08x} over \
                     {len} bytes"
                ),
            );
        }
        self.pos += RECORD_HEADER_LEN + len;
        Step::Record { offset, payload }
    }

    /// A bad record at `self.pos`: a torn tail when no valid record follows it (an unsynced
    /// append cut short or torn by writeback: a zeroed header with its payload written, a
    /// payload partly written), corruption when one does (truncating would drop it).
    fn bad_or_torn(&self, kind: &'static str, detail: String) -> Step<'a> {
        let offset = self.pos as u64;
        match valid_record_after(self.bytes, self.pos) {
            Some(at) => Step::Bad {
                kind,
                offset,
                detail: format!("{detail}, with a valid record after it at offset {at}"),
            },
            None => Step::Torn { offset, detail },
        }
    }
}

/// Most payload bytes [`valid_record_after`] hashes before giving up (and calling what it
/// has not read a valid record, so that a huge damaged manifest is refused, not cut).
const RESYNC_BUDGET: usize = 64 << 20;

/// The offset of the first complete, checksummed, non-empty record that starts after
/// `bad`, if there is one.
fn valid_record_after(bytes: &[u8], bad: usize) -> Option<u64> {
    let mut budget = RESYNC_BUDGET;
    let last_start = bytes.len().checked_sub(RECORD_HEADER_LEN + 1)?;
    for start in bad + 1..=last_start {
        let len = get_u32(bytes, start).unwrap_or_default() as usize;
        let body = start + RECORD_HEADER_LEN;
        if len == 0 || len > bytes.len() - body {
            continue;
        }
        if len > budget {
            return Some(start as u64);
        }
        budget -= len;
        let stored = get_u32(bytes, start + 4).unwrap_or_default();
        if crc32(&bytes[body..body + len]) == stored {
            return Some(start as u64);
        }
    }
    None
}

/// The length of the shortest non-empty prefix of `body` whose CRC32 is `crc`, if any.
fn checksummed_prefix(body: &[u8], crc: u32) -> Option<usize> {
    let mut hasher = crc32fast::Hasher::new();
    for (i, &b) in body.iter().enumerate() {
        hasher.update(&[b]);
        if hasher.clone().finalize() == crc {
            return Some(i + 1);
        }
    }
    None
}

/// The open, writable manifest log.
pub struct Manifest {
    path: PathBuf,
    name: String,
    number: FileNumber,
    file: Box<dyn WritableFile>,
    size: u64,
    edits: u64,
    /// Set when an append or its fsync failed: the file may now end in a partial record and
    /// the edit's fate is unknown, so no later append may pretend to succeed.
    poisoned: Option<String>,
    /// A torn tail found by [`Manifest::open_keeping_tail`], not cut yet: the file still
    /// runs past `size`. Cut before the next append.
    torn_tail: bool,
    /// The torn tail this open found (kept after it is cut, for the caller's warning).
    dropped_tail: Option<TornTail>,
    /// The table numbers the replayed records mention.
    history: TableHistory,
}

impl fmt::Debug for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manifest")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("edits", &self.edits)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl Manifest {
    /// Creates `MANIFEST-<number>` holding `version.snapshot_edit()` and makes it the live
    /// manifest. Used for a brand-new workdir and for rewrites. The order is what makes a
    /// crash at any point safe (the old manifest stays live until the rename):
    ///
    /// 1. write the header and the snapshot record to the new manifest (`O_EXCL`);
    /// 2. fsync it, and fsync the directory so its entry is durable;
    /// 3. `CURRENT.tmp.*` written and fsynced, renamed over `CURRENT`, directory fsynced
    ///    ([`crate::vfs::write_atomic`]);
    /// 4. only then remove `old` (if given) and fsync the directory.
    ///
    /// `old` is a path, or a bare file name taken relative to `dir`. Failing to remove it is
    /// not an error: `CURRENT` already names the new manifest, so returning an error would
    /// misreport the switch; the leftover is an unreferenced manifest. If step 1 or 2 fails
    /// the new file is removed; if step 3 fails `CURRENT` may name either manifest, so both
    /// are kept.
    ///
    /// `number` should come from the file-number counter (below `version.next_file_number`).
    pub fn create(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        number: FileNumber,
        version: &Version,
        old: Option<&Path>,
    ) -> Result<Manifest> {
        let name = manifest_name(number);
        let path = dir.join(&name);
        let mut bytes = header();
        bytes.extend_from_slice(&frame(&version.snapshot_edit().encode(), &path)?);
        let file = vfs.create_new(&path)?;
        let written = (|| {
            file.append(&bytes)?;
            // IMPORTANT: the new manifest and its directory entry are durable before CURRENT
            // can name it.
            file.sync()?;
            vfs.sync_dir(dir)
        })();
        if let Err(err) = written {
            drop(file);
            let _ = vfs.remove_file(&path);
            return Err(err);
        }
        // IMPORTANT: the switch point. Before the rename the old manifest is live, after it
        // the new one.
        write_current(vfs.as_ref(), dir, &name)?;
        if let Some(old) = old {
            let old = if old.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
                old.to_path_buf()
            } else {
                dir.join(old)
            };
            if old != path {
                // Best effort, see the doc comment: the switch has happened.
                if vfs.remove_file(&old).is_ok() {
                    let _ = vfs.sync_dir(dir);
                }
            }
        }
        Ok(Manifest {
            path,
            name,
            number,
            file,
            size: bytes.len() as u64,
            edits: 1,
            poisoned: None,
            torn_tail: false,
            dropped_tail: None,
            history: TableHistory::default(),
        })
    }

    /// Opens the manifest named by `CURRENT` for appending and replays every record into a
    /// [`Version`].
    ///
    /// - No `CURRENT`: [`Error::NotADatabase`] naming `dir` (the caller decides whether the
    ///   directory is new); a damaged `CURRENT`: [`Error::Corruption`].
    /// - `CURRENT` names a missing file: [`Error::MissingFile`].
    /// - Bad magic or header checksum: [`Error::Corruption`]; a newer format version:
    ///   [`Error::UnsupportedFormat`].
    /// - A torn last record (its header or payload runs past the end of the file, or the tail
    ///   is all zeros) is ignored and truncated away, so new appends follow a clean record.
    /// - A complete record with a bad checksum or an undecodable payload, or an edit that does
    ///   not apply: [`Error::Corruption`] naming the file and the record's offset. Nothing is
    ///   changed on disk in that case.
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path) -> Result<(Manifest, Version)> {
        let (mut manifest, version) = Manifest::open_keeping_tail(Arc::clone(&vfs), dir)?;
        manifest.cut_torn_tail(vfs.as_ref())?;
        Ok((manifest, version))
    }

    /// [`Manifest::open`] that leaves a torn tail on disk until [`Manifest::cut_torn_tail`]
    /// (or the next append): recovery cuts it only once the rest of the open has succeeded,
    /// so a failed open changes no byte of the workdir.
    pub(crate) fn open_keeping_tail(vfs: Arc<dyn Vfs>, dir: &Path) -> Result<(Manifest, Version)> {
        let Some(name) = read_current(vfs.as_ref(), dir)? else {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: format!("no {CURRENT} file"),
            });
        };
        let number = match filenames::parse(&name) {
            Some(FileKind::Manifest(n)) => n,
            _ => {
                return Err(Error::corruption(
                    &dir.join(CURRENT),
                    0,
                    format!("{name:?} is not a manifest file name"),
                ))
            }
        };
        let path = dir.join(&name);
        let bytes = match read_all(vfs.as_ref(), &path) {
            Err(e) if is_not_found(&e) => {
                return Err(Error::MissingFile {
                    path,
                    reason: format!("{CURRENT} names it as the live manifest"),
                })
            }
            other => other?,
        };
        check_header(&bytes, &path)?;
        let mut version = Version::empty();
        let mut edits = 0u64;
        let mut records = Records::new(&bytes);
        let mut dropped_tail = None;
        let mut history = TableHistory::default();
        let size = loop {
            match records.next_step() {
                Step::Record { offset, payload } => {
                    let edit = VersionEdit::decode(payload).map_err(|e| {
                        Error::corruption(&path, offset, format!("undecodable edit: {e}"))
                    })?;
                    version = version.apply(&edit).map_err(|e| {
                        Error::corruption(&path, offset, format!("edit does not apply: {e}"))
                    })?;
                    history.record(&edit);
                    edits += 1;
                }
                Step::End => break bytes.len() as u64,
                Step::Torn { offset, detail } => {
                    dropped_tail = Some(TornTail {
                        log: TornLog::Manifest,
                        file: name.clone(),
                        offset,
                        bytes_dropped: bytes.len() as u64 - offset,
                        reason: detail,
                    });
                    break offset;
                }
                Step::Bad { offset, detail, .. } => {
                    return Err(Error::corruption(&path, offset, detail))
                }
            }
        };
        let file = vfs.open_append(&path)?;
        Ok((
            Manifest {
                path,
                name,
                number,
                file,
                size,
                edits,
                poisoned: None,
                torn_tail: dropped_tail.is_some(),
                dropped_tail,
                history,
            },
            version,
        ))
    }

    /// Cuts away the torn tail that [`Manifest::open_keeping_tail`] found, if any.
    ///
    /// # Errors
    /// The truncate failure.
    pub(crate) fn cut_torn_tail(&mut self, vfs: &dyn Vfs) -> Result<()> {
        if self.torn_tail {
            // IMPORTANT: cut the torn record away before appending, or the next record would
            // follow garbage and read back as corruption.
            vfs.truncate(&self.path, self.size)?;
            self.torn_tail = false;
        }
        Ok(())
    }

    /// Appends one edit as one record (a single `append` call) and fsyncs it: the commit
    /// point of the edit.
    ///
    /// After an error the edit's fate is unknown (its bytes may be in the file, whole or in
    /// part), so the caller must not delete anything the edit referenced, and every later
    /// append fails with [`Error::Background`]; reopening recovers.
    pub fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        if let Some(cause) = &self.poisoned {
            return Err(Error::Background {
                cause: cause.clone(),
            });
        }
        if self.torn_tail {
            return Err(Error::InvalidArgument(format!(
                "{}: torn tail not cut before an append",
                self.path.display()
            )));
        }
        let record = frame(&edit.encode(), &self.path)?;
        let result = self.file.append(&record).and_then(|()| self.file.sync());
        match result {
            Ok(()) => {
                self.size += record.len() as u64;
                self.edits += 1;
                Ok(())
            }
            Err(err) => {
                self.poisoned = Some(err.to_string());
                Err(err)
            }
        }
    }

    /// What the replayed records say about tables no longer in the version. (Only as read
    /// at open: edits appended since are not in it.)
    pub fn history(&self) -> &TableHistory {
        &self.history
    }

    /// The torn tail this open found and ignored, if any.
    pub fn dropped_tail(&self) -> Option<&TornTail> {
        self.dropped_tail.as_ref()
    }

    /// `MANIFEST-000004`
    pub fn file_name(&self) -> String {
        self.name.clone()
    }

    /// The manifest's file number.
    pub fn number(&self) -> FileNumber {
        self.number
    }

    /// Bytes in the file (header included).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Records in this file.
    pub fn edits(&self) -> u64 {
        self.edits
    }

    /// The manifest's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One finding of [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    /// `current_missing`, `current_corrupt`, `manifest_missing`, `bad_header`,
    /// `checksum_mismatch`, `bad_record`, `bad_edit` or `torn_tail`.
    pub kind: &'static str,
    /// The file name (`CURRENT`, `MANIFEST-000004`).
    pub file: String,
    /// Byte offset of the damaged record or field, where there is one.
    pub offset: Option<u64>,
    /// What is wrong.
    pub detail: String,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, Default)]
pub struct ManifestReport {
    /// The manifest file name named by `CURRENT`, if `CURRENT` parsed.
    pub current: Option<String>,
    /// The version replayed up to the first problem; `None` if nothing was readable (no
    /// `CURRENT`, no manifest, or a bad header).
    pub version: Option<Version>,
    /// Size of the manifest file.
    pub file_size: u64,
    /// Complete records with a matching checksum.
    pub records: u64,
    /// Offset of an incomplete last record (or all-zero tail).
    pub torn_tail: Option<u64>,
    /// What the replayed records say about tables no longer in the version.
    pub history: TableHistory,
    /// Every problem found.
    pub problems: Vec<ManifestProblem>,
}

impl ManifestReport {
    fn problem(&mut self, kind: &'static str, file: &str, offset: Option<u64>, detail: String) {
        self.problems.push(ManifestProblem {
            kind,
            file: file.to_string(),
            offset,
            detail,
        });
    }
}

/// Read-only inspection for `stats` and `verify`: never writes, never truncates, and
/// collects problems instead of failing. `Err` only for I/O errors other than not-found.
///
/// Replay stops changing the version at the first problem. After a record that checksums
/// but does not decode or apply, later records are still read (their framing is sound) and
/// reported; after a checksum mismatch the framing is not trusted and reading stops.
pub fn inspect(vfs: &dyn Vfs, dir: &Path) -> Result<ManifestReport> {
    let mut report = ManifestReport::default();
    let name = match read_current(vfs, dir) {
        Ok(Some(name)) => name,
        Ok(None) => {
            report.problem(
                "current_missing",
                CURRENT,
                None,
                format!("no {CURRENT} file in {}", dir.display()),
            );
            return Ok(report);
        }
        Err(Error::Corruption { offset, reason, .. }) => {
            report.problem("current_corrupt", CURRENT, Some(offset), reason);
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    report.current = Some(name.clone());
    let path = dir.join(&name);
    let bytes = match read_all(vfs, &path) {
        Err(e) if is_not_found(&e) => {
            report.problem(
                "manifest_missing",
                &name,
                None,
                format!("{CURRENT} names {name}, which does not exist"),
            );
            return Ok(report);
        }
        other => other?,
    };
    report.file_size = bytes.len() as u64;
    match check_header(&bytes, &path) {
        Ok(()) => {}
        Err(Error::Corruption { offset, reason, .. }) => {
            report.problem("bad_header", &name, Some(offset), reason);
            return Ok(report);
        }
        Err(e @ Error::UnsupportedFormat { .. }) => {
            report.problem("bad_header", &name, Some(8), e.to_string());
            return Ok(report);
        }
        Err(e) => return Err(e),
    }
    let mut version = Version::empty();
    let mut replaying = true;
    let mut records = Records::new(&bytes);
    loop {
        match records.next_step() {
            Step::Record { offset, payload } => {
                report.records += 1;
                match VersionEdit::decode(payload) {
                    Err(e) => {
                        report.problem(
                            "bad_record",
                            &name,
                            Some(offset),
                            format!("undecodable edit: {e}"),
                        );
                        replaying = false;
                    }
                    Ok(edit) if replaying => match version.apply(&edit) {
                        Ok(v) => {
                            version = v;
                            report.history.record(&edit);
                        }
                        Err(e) => {
                            report.problem(
                                "bad_edit",
                                &name,
                                Some(offset),
                                format!("edit does not apply: {e}"),
                            );
                            replaying = false;
                        }
                    },
                    Ok(_) => {}
                }
            }
            Step::End => break,
            Step::Torn { offset, detail } => {
                report.torn_tail = Some(offset);
                report.problem("torn_tail", &name, Some(offset), detail);
                break;
            }
            Step::Bad {
                kind,
                offset,
                detail,
            } => {
                report.problem(kind, &name, Some(offset), detail);
                break;
            }
        }
    }
    report.version = Some(version);
    Ok(report)
}
