//! Data blocks: entry encoding for the writer, and a checked, binary-searchable view for
//! the reader.

use crate::codec::{get_u32, put_varint, Decoder};
use crate::types::ValueKind;

use super::format::{check_block, Fault, BLOCK_DATA};

/// Appends one entry: `varint key_len | key | varint seq | kind | varint value_len | value`.
#[inline]
pub fn encode_entry(buf: &mut Vec<u8>, key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) {
    put_varint(buf, key.len() as u64);
    buf.extend_from_slice(key);
    put_varint(buf, seq);
    buf.push(kind.tag());
    put_varint(buf, value.len() as u64);
    buf.extend_from_slice(value);
}

/// A borrowed entry of a block.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    pub key: &'a [u8],
    pub seq: u64,
    pub kind: ValueKind,
    pub value: &'a [u8],
}

/// A data block read from the file, its checksum verified and its offset array validated.
#[derive(Debug)]
pub struct DataBlock {
    /// The whole block as read (payload + trailer).
    data: Vec<u8>,
    /// File offset of the block.
    offset: u64,
    /// End of the entry region (start of the offset array).
    entries_end: usize,
    /// Number of entries.
    count: usize,
}

impl DataBlock {
    /// Bytes held in memory.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Verifies `data` (a whole block read from `offset`) and indexes it.
    pub fn parse(data: Vec<u8>, offset: u64) -> Result<DataBlock, Fault> {
        let payload_len = check_block(&data, offset, BLOCK_DATA)?;
        let bad = |at: usize, what: String| Fault::new(offset + at as u64, "bad_block", what);
        if payload_len < 4 {
            return Err(bad(
                0,
                format!("{payload_len}-byte data block has no entry count"),
            ));
        }
        let count = get_u32(&data, payload_len - 4).unwrap_or(0) as usize;
        let array_len = count
            .checked_mul(4)
            .and_then(|n| n.checked_add(4))
            .filter(|&n| n <= payload_len);
        let Some(array_len) = array_len else {
            return Err(bad(
                payload_len - 4,
                format!("data block claims {count} entries in {payload_len} bytes"),
            ));
        };
        if count == 0 {
            return Err(bad(payload_len - 4, "data block has no entries".into()));
        }
        let entries_end = payload_len - array_len;
        let block = DataBlock {
            data,
            offset,
            entries_end,
            count,
        };
        // Offsets: first is 0, strictly increasing, all inside the entry region.
        let mut prev: Option<usize> = None;
        for i in 0..count {
            let off = block.offset_of(i);
            let ok = match prev {
                None => off == 0,
                Some(p) => off > p,
            } && off < entries_end;
            if !ok {
                return Err(bad(
                    entries_end + 4 * i,
                    format!("data block entry offset {i} is {off} (entry region is {entries_end} bytes)"),
                ));
            }
            prev = Some(off);
        }
        Ok(block)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// File offset of the block.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn offset_of(&self, i: usize) -> usize {
        get_u32(&self.data, self.entries_end + 4 * i).unwrap_or(u32::MAX) as usize
    }

    /// The bytes of entry `i` (validated by `parse` to lie inside the entry region).
    fn slot(&self, i: usize) -> (usize, &[u8]) {
        let start = self.offset_of(i);
        let end = if i + 1 < self.count {
            self.offset_of(i + 1)
        } else {
            self.entries_end
        };
        (start, self.data.get(start..end).unwrap_or(&[]))
    }

    fn fault(&self, at: usize, i: usize, what: impl std::fmt::Display) -> Fault {
        Fault::new(
            self.offset + at as u64,
            "bad_block",
            format!("data block entry {i}: {what}"),
        )
    }

    /// The key of entry `i`.
    pub fn key_at(&self, i: usize) -> Result<&[u8], Fault> {
        let (start, slot) = self.slot(i);
        let mut d = Decoder::new(slot);
        d.bytes().map_err(|e| self.fault(start, i, e))
    }

    /// Entry `i`, fully decoded; the entry must fill its slot exactly.
    pub fn entry_at(&self, i: usize) -> Result<EntryRef<'_>, Fault> {
        let (start, slot) = self.slot(i);
        let mut d = Decoder::new(slot);
        let err = |d: &Decoder, e| self.fault(start + d.position(), i, e);
        let key = d.bytes().map_err(|e| err(&d, e))?;
        let seq = d.varint().map_err(|e| err(&d, e))?;
        let tag_at = d.position();
        let tag = d.u8().map_err(|e| err(&d, e))?;
        let kind = ValueKind::from_tag(tag)
            .filter(|k| *k != ValueKind::RangeDelete)
            .ok_or_else(|| self.fault(start + tag_at, i, format!("unknown value kind {tag}")))?;
        let value = d.bytes().map_err(|e| err(&d, e))?;
        if !d.is_empty() {
            return Err(self.fault(
                start + d.position(),
                i,
                format!("{} stray bytes after the entry", d.remaining()),
            ));
        }
        Ok(EntryRef {
            key,
            seq,
            kind,
            value,
        })
    }

    /// Index of the first entry whose key is >= `key` (`len()` when none).
    pub fn lower_bound(&self, key: &[u8]) -> Result<usize, Fault> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key_at(mid)? < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}
