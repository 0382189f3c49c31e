//! The write-ahead log: one segment per memtable under `wal/`, one checksummed record per
//! write batch.
//!
//! ```text
//! wal/000011.wal
//! +--------------------------------------------------------------+
//! | header: magic "NKWL" u32 | version u32 | segment number u64  |
//! |         crc32(previous 16 bytes) u32                  (20 B) |
//! +--------------------------------------------------------------+
//! | record: len u32 | crc32(len bytes ++ payload) u32 | payload  |
//! | record: ...                                                  |
//! +--------------------------------------------------------------+
//! payload = one write batch (see `batch`): first_seq u64 | count u32 | op*
//! ```
//!
//! A batch is one record, appended with one `write(2)`, so after any crash it is wholly present
//! or wholly absent. [`Writer::append`] returns once the record is in the kernel; with
//! `sync_writes` the engine then calls [`SyncPoint::sync_to`], where concurrent writers share
//! one fsync (group commit); the first failed fsync is remembered there, and nothing is fsynced
//! or acknowledged after it.
//!
//! Reading tells a torn tail from corruption ([`read_segment`]), by the rule of RocksDB's
//! point-in-time recovery: a bad record (incomplete, a length running past the end, a checksum
//! mismatch) after which no valid record follows, or a zero-filled tail (even one starting
//! inside a record or inside the header), is a torn tail: what a crash leaves of an unsynced
//! append, cut short or torn and reordered by writeback (its first page lost as zeros, a later
//! page written). A bad record with a valid record after it (truncating would drop that
//! record), or a record whose checksum matches but whose payload does not decode, is
//! corruption, unless the bytes before that valid record show lost writeback: zeros from
//! the bad record up to a sector boundary ([`WRITEBACK_SECTOR`]) or up to that valid record,
//! or a whole zeroed sector.
//! That is what a power loss leaves when several unsynced records were in the page cache
//! (writes without `sync_writes`, or a group commit in flight) and writeback reached a later
//! page but not an earlier one. Everything after a lost page was appended later, so none of
//! it was synced, and the tail is cut there like any torn tail. The price is that damage
//! that looks exactly like lost writeback (a synced sector read back as zeros) is cut too,
//! with the same warning, rather than refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::batch::{self, DecodedBatch};
use crate::codec::{crc32, crc32_parts, get_u32, get_u64};
use crate::error::{Error, Result};
use crate::types::FileNumber;
use crate::vfs::{self, Vfs, WritableFile};

/// Magic at the start of every segment ("NKWL").
pub const MAGIC: u32 = 0x4C57_4B4E;
/// The segment format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the segment header.
pub const HEADER_LEN: u64 = 20;
/// Bytes of a record header.
pub const RECORD_HEADER_LEN: usize = 8;

/// Encodes a segment header.
pub fn encode_header(number: FileNumber) -> [u8; HEADER_LEN as usize] {
    let mut out = [0u8; HEADER_LEN as usize];
    out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    out[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[8..16].copy_from_slice(&number.0.to_le_bytes());
    let crc = crc32(&out[0..16]);
    out[16..20].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Frames `payload` as one record into `out` (cleared first).
pub fn frame_record(out: &mut Vec<u8>, payload: &[u8]) {
    out.clear();
    let len = (payload.len() as u32).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32_parts(&[&len, payload]).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The open segment that receives appends.
pub struct Writer {
    file: Arc<dyn WritableFile>,
    number: FileNumber,
    /// Bytes in the segment, header included (written by the single appender).
    written: Arc<AtomicU64>,
    frame: Vec<u8>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("wal::Writer")
            .field("number", &self.number)
            .field("written", &self.written.load(Ordering::Relaxed))
            .finish()
    }
}

impl Writer {
    /// Creates a new segment: create (O_EXCL), write the header, fsync it, fsync `wal/`, so the
    /// segment exists durably before any record is acknowledged in it.
    ///
    /// # Errors
    /// I/O errors naming the segment; a partly created segment is removed.
    pub fn create(vfs: &dyn Vfs, wal_dir: &Path, number: FileNumber) -> Result<Writer> {
        let path = segment_path(wal_dir, number);
        let file: Arc<dyn WritableFile> = Arc::from(vfs.create_new(&path)?);
        let init = file
            .append(&encode_header(number))
            .and_then(|()| file.sync())
            .and_then(|()| vfs.sync_dir(wal_dir));
        if let Err(err) = init {
            let _ = vfs.remove_file(&path);
            return Err(err);
        }
        Ok(Writer {
            file,
            number,
            written: Arc::new(AtomicU64::new(HEADER_LEN)),
            frame: Vec::new(),
        })
    }

    /// Reopens an existing segment whose first `valid_len` bytes were replayed (any torn tail
    /// already truncated) to keep appending to it.
    ///
    /// # Errors
    /// I/O errors naming the segment.
    pub fn reopen(
        vfs: &dyn Vfs,
        wal_dir: &Path,
        number: FileNumber,
        valid_len: u64,
    ) -> Result<Writer> {
        let path = segment_path(wal_dir, number);
        let file: Arc<dyn WritableFile> = Arc::from(vfs.open_append(&path)?);
        Ok(Writer {
            file,
            number,
            written: Arc::new(AtomicU64::new(valid_len)),
            frame: Vec::new(),
        })
    }

    /// The segment's file number.
    pub fn number(&self) -> FileNumber {
        self.number
    }

    /// Bytes in the segment, header included.
    pub fn size(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Appends one record. When this returns `Ok`, the record is in the kernel; the returned
    /// value is the segment size after it, for [`Writer::sync_to`].
    ///
    /// # Errors
    /// I/O errors naming the segment. After an error the segment's tail may hold part of the
    /// record; the engine stops writing to it (a torn tail that recovery truncates).
    pub fn append(&mut self, payload: &[u8]) -> Result<u64> {
        if payload.len() > u32::MAX as usize - RECORD_HEADER_LEN {
            // A length that does not fit the u32 field would wrap (batches are capped well
            // below this; see `batch::MAX_BATCH_BYTES`).
            return Err(Error::InvalidArgument(format!(
                "a WAL record holds at most {} bytes, not {}",
                u32::MAX as usize - RECORD_HEADER_LEN,
                payload.len()
            )));
        }
        frame_record(&mut self.frame, payload);
        self.file.append(&self.frame)?;
        let end = self.written.load(Ordering::Relaxed) + self.frame.len() as u64;
        self.written.store(end, Ordering::Release);
        Ok(end)
    }

    /// The segment's live size counter (header included), readable without the appender.
    pub fn size_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.written)
    }

    /// A handle for syncing this segment without holding the appender.
    pub fn sync_handle(&self) -> SyncHandle {
        SyncHandle {
            file: Arc::clone(&self.file),
            written: Arc::clone(&self.written),
        }
    }

    /// fsyncs everything appended so far.
    ///
    /// # Errors
    /// The fsync error, naming the segment.
    pub fn sync(&self) -> Result<()> {
        self.file.sync()
    }
}

/// Shares one fsync between concurrent writers (group commit).
#[derive(Clone)]
pub struct SyncHandle {
    file: Arc<dyn WritableFile>,
    written: Arc<AtomicU64>,
}

/// Group-commit state shared by every writer of one engine: the segment and offset known
/// durable, and the first fsync failure.
///
/// After an fsync of a segment fails, the kernel may have dropped its dirty pages and marked
/// them clean, so a later fsync that "succeeds" proves nothing (the fsyncgate pattern). So
/// the failure is remembered: every later [`SyncPoint::sync_to`] and
/// [`SyncPoint::sync_all`] fails with it, without calling fsync again. No write whose record
/// sits in that segment is acknowledged after the failure, and no later write is either.
#[derive(Debug, Default)]
pub struct SyncPoint {
    state: Mutex<SyncState>,
}

#[derive(Debug, Default)]
struct SyncState {
    durable: (FileNumber, u64),
    /// The first failed fsync: once set, nothing is fsynced or acknowledged again.
    failed: Option<String>,
}

impl SyncPoint {
    /// Returns once `segment` is durable up to `end`. The first writer to arrive fsyncs for
    /// everyone whose records were appended before its fsync started; the others wait on the
    /// mutex and find their offset already covered.
    ///
    /// # Errors
    /// The fsync error (the caller must poison the engine), or, after any earlier failure,
    /// [`Error::Background`] naming it, with no fsync attempted.
    pub fn sync_to(&self, handle: &SyncHandle, segment: FileNumber, end: u64) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.check()?;
        if state.durable >= (segment, end) {
            return Ok(());
        }
        let target = handle.written.load(Ordering::Acquire);
        state.sync(handle, segment)?;
        state.durable = (segment, target.max(end));
        Ok(())
    }

    /// fsyncs everything appended to `segment` so far (the fsync before a rotation, or at
    /// close), through the same failure memory as [`SyncPoint::sync_to`].
    ///
    /// # Errors
    /// As [`SyncPoint::sync_to`].
    pub fn sync_all(&self, handle: &SyncHandle, segment: FileNumber) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.check()?;
        let target = handle.written.load(Ordering::Acquire);
        state.sync(handle, segment)?;
        if state.durable < (segment, target) {
            state.durable = (segment, target);
        }
        Ok(())
    }

    /// The first fsync failure, if any.
    pub fn failure(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed
            .clone()
    }
}

impl SyncState {
    fn check(&self) -> Result<()> {
        match &self.failed {
            Some(cause) => Err(Error::Background {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn sync(&mut self, handle: &SyncHandle, segment: FileNumber) -> Result<()> {
        handle.file.sync().inspect_err(|err| {
            self.failed = Some(format!(
                "fsync of WAL segment {} failed: {err}",
                crate::filenames::wal_name(segment)
            ));
        })
    }
}

/// `wal/000011.wal`
pub fn segment_path(wal_dir: &Path, number: FileNumber) -> PathBuf {
    wal_dir.join(crate::filenames::wal_name(number))
}

/// How a segment's bytes end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to a good record.
    Clean,
    /// An interrupted append at `offset`: recovery may truncate the segment there.
    Torn {
        /// Where the torn record starts.
        offset: u64,
        /// What was found.
        reason: String,
    },
    /// Damage that a crash cannot explain: recovery must fail.
    Corrupt {
        /// Where the damaged record starts.
        offset: u64,
        /// What was found.
        reason: String,
    },
}

/// The outcome of reading one segment.
#[derive(Debug, Clone)]
pub struct SegmentSummary {
    /// Records that decoded.
    pub records: u64,
    /// Bytes of the segment up to the end of the last good record.
    pub valid_len: u64,
    /// Total size on disk.
    pub file_len: u64,
    /// How the segment ends.
    pub tail: Tail,
}

/// Reads a segment, calling `on_batch` for each good record in order, and classifies its end.
/// Never panics and never allocates from a length field it has not checked.
///
/// # Errors
/// I/O errors; an `on_batch` error; a bad header is [`Error::Corruption`] (or
/// [`Error::UnsupportedFormat`]) unless the segment is shorter than a header, which is a
/// [`Tail::Torn`] at offset 0.
pub fn read_segment(
    vfs: &dyn Vfs,
    path: &Path,
    expected_number: Option<FileNumber>,
    mut on_batch: impl FnMut(DecodedBatch<'_>) -> Result<()>,
) -> Result<SegmentSummary> {
    let bytes = vfs::read_all(vfs, path)?;
    let file_len = bytes.len() as u64;
    if bytes.len() < HEADER_LEN as usize {
        return Ok(SegmentSummary {
            records: 0,
            valid_len: 0,
            file_len,
            tail: Tail::Torn {
                offset: 0,
                reason: format!("segment header incomplete ({file_len} of {HEADER_LEN} bytes)"),
            },
        });
    }
    if let Err(err) = check_header(path, &bytes, expected_number) {
        // A header cut short by zeros (nothing after it but zeros) is what an interrupted
        // segment creation leaves on a filesystem that extends the file before writing it.
        if bytes[HEADER_LEN as usize - 1..].iter().all(|&b| b == 0) {
            return Ok(SegmentSummary {
                records: 0,
                valid_len: 0,
                file_len,
                tail: Tail::Torn {
                    offset: 0,
                    reason: format!("segment header zero-filled ({err})"),
                },
            });
        }
        return Err(err);
    }
    let mut pos = HEADER_LEN as usize;
    let mut records = 0u64;
    let tail = loop {
        let remaining = bytes.len() - pos;
        if remaining == 0 {
            break Tail::Clean;
        }
        if bytes[pos..].iter().all(|&b| b == 0) {
            break Tail::Torn {
                offset: pos as u64,
                reason: format!("{remaining} zero bytes at the end"),
            };
        }
        if remaining < RECORD_HEADER_LEN {
            break Tail::Torn {
                offset: pos as u64,
                reason: format!("record header incomplete ({remaining} bytes)"),
            };
        }
        let len = get_u32(&bytes, pos).unwrap_or(0) as usize;
        let stored_crc = get_u32(&bytes, pos + 4).unwrap_or(0);
        if len > remaining - RECORD_HEADER_LEN {
            let reason = format!(
                "record of {len} bytes runs past the end ({} bytes left)",
                remaining - RECORD_HEADER_LEN
            );
            // An interrupted append leaves part of one record; a whole record after it means
            // the length field is damaged, and truncating here would drop it.
            break torn_unless_followed(&bytes, pos, reason);
        }
        let end = pos + RECORD_HEADER_LEN + len;
        let payload = &bytes[pos + RECORD_HEADER_LEN..end];
        let actual_crc = crc32_parts(&[&bytes[pos..pos + 4], payload]);
        if actual_crc != stored_crc {
            let reason = format!(
                "record checksum mismatch (stored {stored_crc:#010x}, computed {actual_crc:#010x})"
            );
            // No valid record after it: an unsynced append cut short, or torn by writeback
            // (its first page zeros, a later page written). A valid record after it:
            // corruption, since truncating would drop that record.
            break torn_unless_followed(&bytes, pos, reason);
        }
        match batch::decode(payload) {
            Ok(decoded) => on_batch(decoded)?,
            Err(reason) => {
                break Tail::Corrupt {
                    offset: pos as u64,
                    reason: format!("record does not decode: {reason}"),
                }
            }
        }
        records += 1;
        pos = end;
    };
    let valid_len = match &tail {
        Tail::Clean => file_len,
        Tail::Torn { offset, .. } | Tail::Corrupt { offset, .. } => *offset,
    };
    Ok(SegmentSummary {
        records,
        valid_len,
        file_len,
        tail,
    })
}

/// Bytes of a segment that [`salvage_segment`] could not read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DroppedRange {
    /// Where the unreadable bytes start.
    pub offset: u64,
    /// How many.
    pub bytes: u64,
    /// No valid record follows them (what an interrupted append leaves).
    pub at_tail: bool,
    /// What was found there.
    pub reason: String,
}

/// What [`salvage_segment`] read.
#[derive(Debug, Clone, Default)]
pub struct SegmentSalvage {
    /// Records decoded and handed over.
    pub records: u64,
    /// Unreadable ranges, in file order.
    pub dropped: Vec<DroppedRange>,
}

/// Reads every intact record of a segment, however damaged: past a bad record it resumes at
/// the next offset where a whole, checksummed, decodable record starts, and reports the bytes
/// skipped. A bad header is skipped the same way. For `nokv salvage`; recovery uses the strict
/// [`read_segment`].
///
/// # Errors
/// I/O errors; an `on_batch` error.
pub fn salvage_segment(
    vfs: &dyn Vfs,
    path: &Path,
    mut on_batch: impl FnMut(DecodedBatch<'_>) -> Result<()>,
) -> Result<SegmentSalvage> {
    let bytes = vfs::read_all(vfs, path)?;
    let mut out = SegmentSalvage::default();
    let mut pos = HEADER_LEN as usize;
    let header = if bytes.len() < HEADER_LEN as usize {
        Err(format!(
            "segment header incomplete ({} of {HEADER_LEN} bytes)",
            bytes.len()
        ))
    } else {
        check_header(path, &bytes, None).map_err(|e| e.to_string())
    };
    if let Err(reason) = header {
        let resume = next_decodable_record(&bytes, 0).unwrap_or(bytes.len());
        out.dropped.push(DroppedRange {
            offset: 0,
            bytes: resume as u64,
            at_tail: resume == bytes.len(),
            reason: format!("bad segment header: {reason}"),
        });
        pos = resume;
    }
    while pos < bytes.len() {
        if bytes[pos..].iter().all(|&b| b == 0) {
            out.dropped.push(DroppedRange {
                offset: pos as u64,
                bytes: (bytes.len() - pos) as u64,
                at_tail: true,
                reason: "zero-filled tail".to_string(),
            });
            break;
        }
        if let Some(len) = decodable_record_at(&bytes, pos) {
            let payload = &bytes[pos + RECORD_HEADER_LEN..pos + RECORD_HEADER_LEN + len];
            if let Ok(decoded) = batch::decode(payload) {
                on_batch(decoded)?;
            }
            out.records += 1;
            pos += RECORD_HEADER_LEN + len;
            continue;
        }
        let resume = next_decodable_record(&bytes, pos);
        let end = resume.unwrap_or(bytes.len());
        out.dropped.push(DroppedRange {
            offset: pos as u64,
            bytes: (end - pos) as u64,
            at_tail: resume.is_none(),
            reason: "no whole, checksummed record here".to_string(),
        });
        pos = end;
    }
    Ok(out)
}

/// The payload length of the whole, checksummed record at `pos` whose payload decodes as a
/// batch, if there is one.
fn decodable_record_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let len = get_u32(bytes, pos)? as usize;
    let stored = get_u32(bytes, pos + 4)?;
    let body = pos + RECORD_HEADER_LEN;
    if len < MIN_PAYLOAD || len > bytes.len().checked_sub(body)? {
        return None;
    }
    let payload = &bytes[body..body + len];
    (crc32_parts(&[&bytes[pos..pos + 4], payload]) == stored && batch::decode(payload).is_ok())
        .then_some(len)
}

/// The first offset after `bad` where a decodable record starts.
fn next_decodable_record(bytes: &[u8], bad: usize) -> Option<usize> {
    (bad + 1..bytes.len()).find(|&start| decodable_record_at(bytes, start).is_some())
}

/// Most payload bytes [`whole_records_after`] hashes before giving up.
const RESYNC_BUDGET: usize = 64 << 20;

/// A batch payload holds at least its first sequence number and its op count.
const MIN_PAYLOAD: usize = 12;

/// The unit in which writeback loses data: a page (a multiple of this) whose writeback was
/// lost reads as zeros, whole, or from the synced end of the file to the page's end.
pub const WRITEBACK_SECTOR: usize = 512;

/// A bad record at `bad`: a torn tail unless a valid record starts somewhere after it, or
/// the bytes up to that record hold the mark of lost writeback ([`lost_writeback`]).
fn torn_unless_followed(bytes: &[u8], bad: usize, reason: String) -> Tail {
    let offset = bad as u64;
    match valid_record_after(bytes, bad) {
        Some(at) => match lost_writeback(bytes, bad, at as usize) {
            Some(zeros) => Tail::Torn {
                offset,
                reason: format!(
                    "{reason}; zeros at offset {zeros} up to a sector boundary, before the \
                     valid record at offset {at}: unsynced pages lost or reordered by \
                     writeback, so nothing after them was synced either"
                ),
            },
            None => Tail::Corrupt {
                offset,
                reason: format!("{reason}, with a valid record after it at offset {at}"),
            },
        },
        None => Tail::Torn { offset, reason },
    }
}

/// Where the bytes between a bad record at `bad` and the next valid record at `next` show
/// lost writeback, zeros where the bad record should be:
/// - from `bad` up to the next sector boundary: the page holding the synced end of the file,
///   lost from there (or a page lost whole, when `bad` starts one);
/// - from `bad` up to `next`: a whole append lost, a later one written (LazyFS's torn-seq
///   reorders unsynced writes within a page, too);
/// - a whole sector somewhere in between: a page lost inside a large record.
///
/// None of these is what a bit flip leaves, and the engine never writes a zero record
/// header. A page whose writeback was lost was not synced, and every byte after it was
/// appended later, so none of that was synced either: cutting there keeps every synced
/// write.
fn lost_writeback(bytes: &[u8], bad: usize, next: usize) -> Option<usize> {
    let zero = |from: usize, to: usize| to <= next && bytes[from..to].iter().all(|&b| b == 0);
    let boundary = (bad / WRITEBACK_SECTOR + 1) * WRITEBACK_SECTOR;
    if zero(bad, boundary) || (next - bad >= RECORD_HEADER_LEN + MIN_PAYLOAD && zero(bad, next)) {
        return Some(bad);
    }
    (bad.div_ceil(WRITEBACK_SECTOR) * WRITEBACK_SECTOR..next)
        .step_by(WRITEBACK_SECTOR)
        .find(|&sector| zero(sector, sector + WRITEBACK_SECTOR))
}

/// The offset of the first whole, checksummed record that starts after `bad`, if there is
/// one. What a crash leaves of an unsynced append (a prefix of one record, or its pages torn
/// and reordered by writeback) holds none (short of a value that itself holds a framed
/// record). When the hashing budget runs out the answer is "yes": a huge damaged segment is
/// refused, never cut.
fn valid_record_after(bytes: &[u8], bad: usize) -> Option<u64> {
    let mut budget = RESYNC_BUDGET;
    let last_start = bytes.len().checked_sub(RECORD_HEADER_LEN + MIN_PAYLOAD)?;
    for start in bad + 1..=last_start {
        let len = get_u32(bytes, start).unwrap_or(0) as usize;
        let body = start + RECORD_HEADER_LEN;
        if len < MIN_PAYLOAD || len > bytes.len() - body {
            continue;
        }
        if len > budget {
            return Some(start as u64);
        }
        budget -= len;
        let stored = get_u32(bytes, start + 4).unwrap_or(0);
        if crc32_parts(&[&bytes[start..start + 4], &bytes[body..body + len]]) == stored {
            return Some(start as u64);
        }
    }
    None
}

fn check_header(path: &Path, bytes: &[u8], expected: Option<FileNumber>) -> Result<()> {
    let magic = get_u32(bytes, 0).unwrap_or(0);
    let version = get_u32(bytes, 4).unwrap_or(0);
    let number = get_u64(bytes, 8).unwrap_or(0);
    let stored_crc = get_u32(bytes, 16).unwrap_or(0);
    let actual_crc = crc32(&bytes[0..16]);
    if stored_crc != actual_crc {
        return Err(Error::corruption(
            path,
            0,
            format!(
                "segment header checksum mismatch (stored {stored_crc:#010x}, computed \
                 {actual_crc:#010x})"
            ),
        ));
    }
    if magic != MAGIC {
        return Err(Error::corruption(
            path,
            0,
            format!("bad magic {magic:#010x}: not a nokv WAL segment"),
        ));
    }
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if let Some(expected) = expected {
        if number != expected.0 {
            return Err(Error::corruption(
                path,
                8,
                format!(
                    "segment header names segment {number}, file name says {}",
                    expected.0
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteBatch;
    use crate::types::SeqNo;
    use crate::vfs::RealFs;

    fn write_segment(dir: &Path, batches: usize) -> (PathBuf, Vec<u64>) {
        let fs = RealFs::new();
        let mut writer = Writer::create(&fs, dir, FileNumber(7)).unwrap();
        let mut ends = vec![HEADER_LEN];
        for i in 0..batches {
            let mut batch = WriteBatch::new();
            batch.put(format!("k{i}").as_bytes(), b"value").unwrap();
            batch.delete(b"gone").unwrap();
            ends.push(writer.append(batch.seal(SeqNo(i as u64 * 2 + 1))).unwrap());
        }
        writer.sync().unwrap();
        (segment_path(dir, FileNumber(7)), ends)
    }

    fn read(path: &Path) -> Result<(Vec<SeqNo>, SegmentSummary)> {
        let mut seqs = Vec::new();
        let summary = read_segment(&RealFs::new(), path, Some(FileNumber(7)), |b| {
            seqs.push(b.first_seq);
            Ok(())
        })?;
        Ok((seqs, summary))
    }

    /// Issue 9, bug 4: writer A's fsync fails; writer C, whose record was already in the
    /// file, must not fsync again and be acknowledged.
    #[test]
    fn sync_point_remembers_a_failed_fsync_and_never_fsyncs_again() {
        use crate::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpKind, OpSelector};
        let vfs = FaultVfs::new(Arc::new(MemVfs::new()));
        let dir = Path::new("/wal");
        vfs.create_dir_all(dir).unwrap();
        let mut writer = Writer::create(&vfs, dir, FileNumber(3)).unwrap();
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").unwrap();
        let end_a = writer.append(batch.seal(SeqNo(1))).unwrap();
        let end_c = writer.append(batch.seal(SeqNo(2))).unwrap();
        vfs.add_rule(FaultRule::new(
            OpSelector::Kind(OpKind::Sync),
            0,
            FaultAction::FailOnce(5),
        ));
        vfs.clear_ops();
        let point = SyncPoint::default();
        let handle = writer.sync_handle();
        assert!(point.sync_to(&handle, FileNumber(3), end_a).is_err());
        // The fault fired once; a retry would succeed. It must not be made.
        let err = point.sync_to(&handle, FileNumber(3), end_c).unwrap_err();
        assert!(err.to_string().contains("000003.wal"), "{err}");
        assert!(point.sync_all(&handle, FileNumber(3)).is_err());
        assert!(point.sync_to(&handle, FileNumber(4), 20).is_err());
        let syncs = vfs
            .ops()
            .iter()
            .filter(|op| op.kind == OpKind::Sync)
            .count();
        assert_eq!(syncs, 1, "the segment was fsynced again after the failure");
        assert!(point.failure().is_some());
    }

    #[test]
    fn records_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_segment(dir.path(), 5);
        let (seqs, summary) = read(&path).unwrap();
        assert_eq!(seqs, vec![SeqNo(1), SeqNo(3), SeqNo(5), SeqNo(7), SeqNo(9)]);
        assert_eq!(summary.tail, Tail::Clean);
        assert_eq!(summary.valid_len, summary.file_len);
    }

    #[test]
    fn truncation_at_every_offset_is_a_torn_tail_keeping_whole_records() {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_segment(dir.path(), 4);
        let full = std::fs::read(&path).unwrap();
        for cut in HEADER_LEN as usize..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (seqs, summary) = read(&path).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut as u64).count() - 1;
            assert_eq!(seqs.len(), whole, "cut at {cut}");
            assert_eq!(summary.valid_len, ends[whole], "cut at {cut}");
            let torn = cut as u64 != ends[whole];
            assert_eq!(
                matches!(summary.tail, Tail::Torn { .. }),
                torn,
                "cut at {cut}: {:?}",
                summary.tail
            );
        }
    }

    #[test]
    fn a_zero_filled_tail_starting_inside_any_record_or_the_header_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_segment(dir.path(), 4);
        let full = std::fs::read(&path).unwrap();
        for from in 0..full.len() {
            let mut damaged = full.clone();
            damaged[from..].fill(0);
            std::fs::write(&path, &damaged).unwrap();
            let (seqs, summary) = read(&path).unwrap_or_else(|e| panic!("zero from {from}: {e}"));
            assert!(
                !matches!(summary.tail, Tail::Corrupt { .. }),
                "zero from {from}: {:?}",
                summary.tail
            );
            // Bytes that were zero already do not count as damage.
            let first = (from..full.len())
                .find(|&i| full[i] != 0)
                .unwrap_or(full.len());
            let whole = ends
                .iter()
                .filter(|&&e| e <= first as u64)
                .count()
                .saturating_sub(1);
            assert_eq!(seqs.len(), whole, "zero from {from}");
        }
    }

    #[test]
    fn every_byte_flip_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_segment(dir.path(), 3);
        let full = std::fs::read(&path).unwrap();
        let last_record = *ends.iter().rev().nth(1).unwrap() as usize;
        for at in 0..full.len() {
            let mut damaged = full.clone();
            damaged[at] ^= 0x40;
            std::fs::write(&path, &damaged).unwrap();
            let outcome = std::panic::catch_unwind(|| read(&path)).expect("no panic");
            match outcome {
                Err(err) => assert!(err.is_corruption(), "flip at {at}: {err}"),
                Ok((_, summary)) => {
                    assert_ne!(summary.tail, Tail::Clean, "flip at {at} went unnoticed");
                    if at < last_record {
                        // Damage before the last record is never mistaken for a torn tail,
                        // not even when it inflates a length past the end of the file.
                        assert!(
                            matches!(summary.tail, Tail::Corrupt { .. }),
                            "flip at {at}: {:?}",
                            summary.tail
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn short_header_is_torn_and_bad_header_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_segment(dir.path(), 1);
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..10]).unwrap();
        let (_, summary) = read(&path).unwrap();
        assert!(matches!(summary.tail, Tail::Torn { offset: 0, .. }));
        let mut other = full.clone();
        other[8..16].copy_from_slice(&9u64.to_le_bytes());
        let crc = crc32(&other[0..16]);
        other[16..20].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &other).unwrap();
        assert!(read(&path).unwrap_err().is_corruption());
    }

    #[test]
    fn group_commit_covers_earlier_appends() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let mut writer = Writer::create(&fs, dir.path(), FileNumber(3)).unwrap();
        let point = SyncPoint::default();
        let handle = writer.sync_handle();
        let first = writer.append(b"\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
        let second = writer.append(b"\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
        point.sync_to(&handle, FileNumber(3), second).unwrap();
        assert_eq!(point.state.lock().unwrap().durable, (FileNumber(3), second));
        // An earlier offset is already covered: no second fsync needed.
        point.sync_to(&handle, FileNumber(3), first).unwrap();
        assert_eq!(point.state.lock().unwrap().durable, (FileNumber(3), second));
    }
}
