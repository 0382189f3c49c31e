//! [`WriteBatch`]: a group of puts and deletes applied atomically, stored in the exact byte
//! form the WAL logs, so a write encodes its operations once.
//!
//! ```text
//! batch := first_seq u64 | count u32 | op*
//! op    := kind u8 (1 put, 2 delete, 3 range delete) | key_len varint | key
//!          | value_len varint | value
//! ```
//! A delete carries an empty value; a range delete carries the range's start as key and its
//! (exclusive) end as value. Operation `i` of the batch gets sequence number
//! `first_seq + i`.

use crate::codec::{put_bytes, put_varint, Decoder};
use crate::error::{Error, Result};
use crate::types::{SeqNo, ValueKind, MAX_KEY_LEN, MAX_VALUE_LEN};

const HEADER_LEN: usize = 12;

/// The largest encoded batch: one WAL record, whose length field is a `u32`. Kept well
/// below 4 GiB so the length (and the record header around it) never wraps.
pub const MAX_BATCH_BYTES: usize = 1 << 30;

/// An atomic group of writes.
#[derive(Debug, Clone)]
pub struct WriteBatch {
    rep: Vec<u8>,
    count: u32,
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// One decoded operation of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOp<'a> {
    /// Put or delete.
    pub kind: ValueKind,
    /// The key.
    pub key: &'a [u8],
    /// The value (empty for a delete).
    pub value: &'a [u8],
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch {
            rep: vec![0u8; HEADER_LEN],
            count: 0,
        }
    }

    /// Adds a put.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty or over-long key, or an over-long value, or
    /// when the batch would grow past [`MAX_BATCH_BYTES`] (the batch is left unchanged).
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::InvalidArgument(format!(
                "value of {} bytes is longer than the limit of {MAX_VALUE_LEN}",
                value.len()
            )));
        }
        self.push(ValueKind::Put, key, value)
    }

    /// Adds a delete (a tombstone).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty or over-long key, or a full batch (as
    /// [`WriteBatch::put`]).
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.push(ValueKind::Delete, key, &[])
    }

    /// Adds a range delete: every key in `[start, end)` written before this batch is deleted.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty or over-long bound, `start >= end`, or a full
    /// batch (as [`WriteBatch::put`]).
    pub fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<()> {
        check_key(start)?;
        check_key(end)?;
        if start >= end {
            return Err(Error::InvalidArgument(
                "a range delete needs start < end".into(),
            ));
        }
        self.push(ValueKind::RangeDelete, start, end)
    }

    fn push(&mut self, kind: ValueKind, key: &[u8], value: &[u8]) -> Result<()> {
        check_room(self.rep.len(), key.len(), value.len())?;
        self.rep.push(kind.tag());
        put_bytes(&mut self.rep, key);
        put_bytes(&mut self.rep, value);
        self.count += 1;
        Ok(())
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes (what the WAL record payload will be).
    pub fn encoded_len(&self) -> usize {
        self.rep.len()
    }

    /// Removes every operation, keeping the allocation.
    pub fn clear(&mut self) {
        self.rep.truncate(HEADER_LEN);
        self.count = 0;
    }

    /// Stamps the first sequence number and returns the encoded bytes.
    pub(crate) fn seal(&mut self, first_seq: SeqNo) -> &[u8] {
        self.rep[0..8].copy_from_slice(&first_seq.0.to_le_bytes());
        self.rep[8..12].copy_from_slice(&self.count.to_le_bytes());
        &self.rep
    }

    /// Iterates the operations of this (unsealed or sealed) batch.
    pub fn ops(&self) -> impl Iterator<Item = BatchOp<'_>> {
        // A batch built through `put`/`delete` always decodes.
        let mut decoder = Decoder::new(&self.rep[HEADER_LEN..]);
        std::iter::from_fn(move || {
            if decoder.is_empty() {
                return None;
            }
            decode_op(&mut decoder).ok()
        })
    }
}

/// Whether an op with a key of `key_len` and a value of `value_len` bytes still fits a batch
/// of `encoded_len` bytes under [`MAX_BATCH_BYTES`] (tag and two varints of at most 5 bytes
/// each, counted at their largest).
fn check_room(encoded_len: usize, key_len: usize, value_len: usize) -> Result<()> {
    let op_len = 1 + 5 + key_len + 5 + value_len;
    if encoded_len.saturating_add(op_len) > MAX_BATCH_BYTES {
        return Err(Error::InvalidArgument(format!(
            "a write batch holds at most {MAX_BATCH_BYTES} bytes (one WAL record); this one \
             has {encoded_len} and the next operation needs {op_len}: split it"
        )));
    }
    Ok(())
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidArgument("empty key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidArgument(format!(
            "key of {} bytes is longer than the limit of {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(())
}

fn decode_op<'a>(decoder: &mut Decoder<'a>) -> std::result::Result<BatchOp<'a>, String> {
    let tag = decoder.u8().map_err(|e| e.to_string())?;
    let kind = ValueKind::from_tag(tag).ok_or_else(|| format!("unknown operation tag {tag}"))?;
    let key = decoder.bytes().map_err(|e| e.to_string())?;
    let value = decoder.bytes().map_err(|e| e.to_string())?;
    if key.is_empty() {
        return Err("empty key".into());
    }
    if kind == ValueKind::RangeDelete && key >= value {
        return Err("range delete with start >= end".into());
    }
    Ok(BatchOp { kind, key, value })
}

/// A batch decoded from a WAL record.
#[derive(Debug)]
pub struct DecodedBatch<'a> {
    /// Sequence number of the first operation.
    pub first_seq: SeqNo,
    /// The operations, in order.
    pub ops: Vec<BatchOp<'a>>,
}

/// Decodes a WAL record payload.
///
/// # Errors
/// A description of the first malformed field.
pub fn decode(payload: &[u8]) -> std::result::Result<DecodedBatch<'_>, String> {
    let mut decoder = Decoder::new(payload);
    let first_seq = decoder.u64().map_err(|e| e.to_string())?;
    let count = decoder.u32().map_err(|e| e.to_string())?;
    // Every op takes at least 3 bytes: never reserve more than the payload can hold.
    let mut ops = Vec::with_capacity((count as usize).min(payload.len() / 3));
    for _ in 0..count {
        ops.push(decode_op(&mut decoder)?);
    }
    if !decoder.is_empty() {
        return Err(format!(
            "{} bytes after the last of {count} operations",
            decoder.remaining()
        ));
    }
    Ok(DecodedBatch {
        first_seq: SeqNo(first_seq),
        ops,
    })
}

/// Appends an op in batch form to `buf` (used by tests and tools that build payloads).
pub fn encode_op(buf: &mut Vec<u8>, kind: ValueKind, key: &[u8], value: &[u8]) {
    buf.push(kind.tag());
    put_varint(buf, key.len() as u64);
    buf.extend_from_slice(key);
    put_varint(buf, value.len() as u64);
    buf.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_never_grows_past_one_wal_record() {
        assert!(check_room(HEADER_LEN, 10, 100).is_ok());
        assert!(check_room(MAX_BATCH_BYTES - 1000, 10, 100).is_ok());
        let err = check_room(MAX_BATCH_BYTES - 100, 10, 100).unwrap_err();
        assert!(err.to_string().contains("split it"), "{err}");
        assert!(check_room(usize::MAX - 3, 1, 1).is_err());
        // Whatever fits stays below the u32 record length.
        assert!(MAX_BATCH_BYTES + crate::wal::RECORD_HEADER_LEN < u32::MAX as usize);
    }

    #[test]
    fn sealed_batch_decodes_to_its_operations() {
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").unwrap();
        batch.delete(b"b").unwrap();
        batch.put(b"c\0\t", &[0xff, 0]).unwrap();
        let bytes = batch.seal(SeqNo(41)).to_vec();
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.first_seq, SeqNo(41));
        assert_eq!(decoded.ops.len(), 3);
        assert_eq!(decoded.ops[1].kind, ValueKind::Delete);
        assert_eq!(decoded.ops[2].key, b"c\0\t");
        assert_eq!(decoded.ops[2].value, &[0xff, 0]);
        assert_eq!(batch.ops().count(), 3);
    }

    #[test]
    fn empty_and_long_keys_are_rejected() {
        let mut batch = WriteBatch::new();
        assert!(batch.put(b"", b"v").is_err());
        assert!(batch.put(&vec![b'k'; MAX_KEY_LEN + 1], b"v").is_err());
        assert!(batch.put(&vec![b'k'; MAX_KEY_LEN], b"v").is_ok());
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn hostile_count_does_not_allocate_or_panic() {
        let mut payload = Vec::new();
        payload.extend_from_slice(&7u64.to_le_bytes());
        payload.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&payload).is_err());
    }
}
