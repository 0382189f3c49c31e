//! [`VersionEdit`]: one change to the set of live tables and counters, and its binary encoding.
//!
//! The payload is a sequence of tagged fields closed by an end tag; every integer is an
//! LEB128 varint and every key a varint length plus bytes:
//!
//! ```text
//! tag 1  added table      level, number, size, entries, smallest, largest, min_seq, max_seq
//! tag 2  removed table    level, number
//! tag 3  wal_checkpoint   number            (at most once)
//! tag 4  next_file_number number            (at most once)
//! tag 5  last_sequence    seq               (at most once)
//! tag 0  end              must be the last byte of the payload
//! ```
//!
//! The end tag makes every encoded edit at least one byte long, so a record can never be
//! all zeros (an all-zero tail is what a torn, pre-allocated write looks like).

use crate::codec::{put_bytes, put_varint, DecodeError, Decoder};
use crate::types::{FileNumber, SeqNo, TableMeta};

const TAG_END: u8 = 0;
const TAG_ADDED: u8 = 1;
const TAG_REMOVED: u8 = 2;
const TAG_WAL_CHECKPOINT: u8 = 3;
const TAG_NEXT_FILE_NUMBER: u8 = 4;
const TAG_LAST_SEQUENCE: u8 = 5;

/// One atomic change to the version: tables added and removed, and counters advanced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionEdit {
    /// Tables added, with their level.
    pub added: Vec<(u32, TableMeta)>,
    /// Tables removed, with the level they are removed from.
    pub removed: Vec<(u32, FileNumber)>,
    /// The oldest WAL segment still needed.
    pub wal_checkpoint: Option<FileNumber>,
    /// The persisted file-number counter; only grows.
    pub next_file_number: Option<FileNumber>,
    /// The largest sequence number made durable in tables.
    pub last_sequence: Option<SeqNo>,
}

impl VersionEdit {
    /// Encodes the edit as a record payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        for (level, t) in &self.added {
            buf.push(TAG_ADDED);
            put_varint(&mut buf, u64::from(*level));
            put_varint(&mut buf, t.number.0);
            put_varint(&mut buf, t.size);
            put_varint(&mut buf, t.entries);
            put_bytes(&mut buf, &t.smallest);
            put_bytes(&mut buf, &t.largest);
            put_varint(&mut buf, t.min_seq.0);
            put_varint(&mut buf, t.max_seq.0);
        }
        for (level, number) in &self.removed {
            buf.push(TAG_REMOVED);
            put_varint(&mut buf, u64::from(*level));
            put_varint(&mut buf, number.0);
        }
        if let Some(n) = self.wal_checkpoint {
            buf.push(TAG_WAL_CHECKPOINT);
            put_varint(&mut buf, n.0);
        }
        if let Some(n) = self.next_file_number {
            buf.push(TAG_NEXT_FILE_NUMBER);
            put_varint(&mut buf, n.0);
        }
        if let Some(s) = self.last_sequence {
            buf.push(TAG_LAST_SEQUENCE);
            put_varint(&mut buf, s.0);
        }
        buf.push(TAG_END);
        buf
    }

    /// Decodes a record payload. Rejects unknown tags, repeated counters, a level that does
    /// not fit in `u32`, a missing end tag and bytes after it.
    pub fn decode(bytes: &[u8]) -> Result<VersionEdit, String> {
        let mut d = Decoder::new(bytes);
        let mut edit = VersionEdit::default();
        loop {
            let at = d.position();
            let tag = d.u8().map_err(|e| field_error("tag", at, e))?;
            match tag {
                TAG_END => break,
                TAG_ADDED => {
                    let level = level(&mut d)?;
                    let table = (|| -> Result<TableMeta, DecodeError> {
                        Ok(TableMeta {
                            number: FileNumber(d.varint()?),
                            size: d.varint()?,
                            entries: d.varint()?,
                            smallest: d.bytes()?.to_vec(),
                            largest: d.bytes()?.to_vec(),
                            min_seq: SeqNo(d.varint()?),
                            max_seq: SeqNo(d.varint()?),
                        })
                    })()
                    .map_err(|e| field_error("added table", at, e))?;
                    edit.added.push((level, table));
                }
                TAG_REMOVED => {
                    let level = level(&mut d)?;
                    let number = d
                        .varint()
                        .map_err(|e| field_error("removed table", at, e))?;
                    edit.removed.push((level, FileNumber(number)));
                }
                TAG_WAL_CHECKPOINT => {
                    let v = counter(&mut d, "wal checkpoint", at, edit.wal_checkpoint.is_some())?;
                    edit.wal_checkpoint = Some(FileNumber(v));
                }
                TAG_NEXT_FILE_NUMBER => {
                    let v = counter(
                        &mut d,
                        "next file number",
                        at,
                        edit.next_file_number.is_some(),
                    )?;
                    edit.next_file_number = Some(FileNumber(v));
                }
                TAG_LAST_SEQUENCE => {
                    let v = counter(&mut d, "last sequence", at, edit.last_sequence.is_some())?;
                    edit.last_sequence = Some(SeqNo(v));
                }
                other => return Err(format!("unknown field tag {other} at payload byte {at}")),
            }
        }
        if !d.is_empty() {
            return Err(format!(
                "{} bytes after the end tag at payload byte {}",
                d.remaining(),
                d.position()
            ));
        }
        Ok(edit)
    }
}

fn field_error(what: &str, at: usize, e: DecodeError) -> String {
    format!("{what} at payload byte {at}: {e}")
}

fn level(d: &mut Decoder<'_>) -> Result<u32, String> {
    let at = d.position();
    let v = d.varint().map_err(|e| field_error("level", at, e))?;
    u32::try_from(v).map_err(|_| format!("level {v} at payload byte {at} out of range"))
}

fn counter(d: &mut Decoder<'_>, what: &str, at: usize, seen: bool) -> Result<u64, String> {
    if seen {
        return Err(format!("{what} repeated at payload byte {at}"));
    }
    d.varint().map_err(|e| field_error(what, at, e))
}
