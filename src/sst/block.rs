//! Data and index block payloads: the prefix-compressed entry format of version 2 (builder and
//! checked decoder), the flat entry format of version 1 (read only), and [`DataBlock`], a
//! checked data block with point lookups and ordered access for both.
//!
//! # Prefix-compressed payload (version 2, data and index blocks)
//!
//! ```text
//! +---------+-----+-----------+--------------+-----+------------------+-----------+
//! | entry 0 | ... | entry n-1 | restart0 u32 | ... | restart r-1 u32  | r u32     |
//! +---------+-----+-----------+--------------+-----+------------------+-----------+
//! entry = varint shared | varint unshared | varint rest_len | key[shared..] (unshared B) | rest
//! ```
//!
//! An entry's key is the previous entry's first `shared` bytes followed by its own `unshared`
//! bytes. Every `restart_interval`-th entry (the first one included) is a restart point:
//! `shared` is 0 there and the restart array holds its offset (`r >= 1`, restart 0 is 0,
//! strictly increasing). A lookup binary-searches the restart keys, then scans forward at
//! most one restart interval. `rest` is, in a data block, `varint seq | kind u8 (1 put,
//! 2 delete) | value`, and in an index block a block handle (see [`super::format`]).
//!
//! # Flat payload (version 1 data blocks)
//!
//! ```text
//! | entry 0 | ... | entry n-1 | offset0 u32 | ... | offset n-1 u32 | n u32 |
//! entry = varint key_len | key | varint seq | kind u8 | varint value_len | value
//! ```

use crate::codec::{get_u32, put_varint, Decoder};
use crate::types::ValueKind;

use super::compress::open_block;
use super::format::{Fault, BLOCK_DATA};

/// Builds a prefix-compressed payload, entry by entry, in a reusable buffer.
#[derive(Debug)]
pub struct PrefixBlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    since_restart: usize,
    entries: usize,
    last_key: Vec<u8>,
}

impl PrefixBlockBuilder {
    /// A builder putting a restart point every `restart_interval` (>= 1) entries.
    pub fn new(restart_interval: usize) -> Self {
        PrefixBlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            entries: 0,
            last_key: Vec::new(),
        }
    }

    /// Appends an entry whose `rest` is `head` followed by `tail`. Keys must be increasing
    /// (the caller checks).
    #[inline]
    pub fn add(&mut self, key: &[u8], head: &[u8], tail: &[u8]) {
        let shared = if self.since_restart == 0 || self.since_restart >= self.restart_interval {
            self.restarts.push(self.buf.len() as u32);
            self.since_restart = 0;
            0
        } else {
            common_prefix(&self.last_key, key)
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, (head.len() + tail.len()) as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(head);
        self.buf.extend_from_slice(tail);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.since_restart += 1;
        self.entries += 1;
    }

    /// True when nothing was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Payload size if finished now.
    pub fn size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// The last key added.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Completes the payload (restart array and count) and returns it; the next `add` starts
    /// a new block.
    pub fn finish(&mut self) -> &[u8] {
        for &r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.buf
            .extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.restarts.clear();
        self.since_restart = 0;
        self.entries = 0;
        &self.buf
    }

    /// Forgets the finished payload (call after using what [`PrefixBlockBuilder::finish`]
    /// returned).
    pub fn reset(&mut self) {
        self.buf.clear();
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A checked view of a prefix-compressed payload: restart array validated; entries decoded
/// (and checked) as they are visited. Errors are `(position in payload, what)`.
#[derive(Debug, Clone, Copy)]
pub struct PrefixBlock<'a> {
    payload: &'a [u8],
    entries_end: usize,
    restarts: usize,
}

/// One decoded entry position: the rest of the entry lies at `rest` in the payload, the next
/// entry starts at `next`.
#[derive(Debug, Clone, Copy)]
pub struct PrefixEntry {
    pub rest: (usize, usize),
    pub next: usize,
}

impl<'a> PrefixBlock<'a> {
    /// Validates the trailer and restart array of `payload`.
    pub fn new(payload: &'a [u8]) -> Result<Self, (usize, String)> {
        let len = payload.len();
        if len < 4 {
            return Err((0, format!("{len}-byte block has no restart count")));
        }
        let restarts = get_u32(payload, len - 4).unwrap_or(0) as usize;
        let array = restarts
            .checked_mul(4)
            .and_then(|n| n.checked_add(4))
            .filter(|&n| n <= len);
        let Some(array) = array else {
            return Err((
                len - 4,
                format!("block claims {restarts} restart points in {len} bytes"),
            ));
        };
        // No restart points only in an empty block (a top-level index without partitions).
        if restarts == 0 && len != 4 {
            return Err((len - 4, "block has no restart points".into()));
        }
        let block = PrefixBlock {
            payload,
            entries_end: len - array,
            restarts,
        };
        let mut prev: Option<usize> = None;
        for i in 0..restarts {
            let at = block.restart(i);
            let ok = match prev {
                None => at == 0,
                Some(p) => at > p,
            } && at < block.entries_end;
            if !ok {
                return Err((
                    block.entries_end + 4 * i,
                    format!(
                        "restart point {i} is at {at} (entry region is {} bytes)",
                        block.entries_end
                    ),
                ));
            }
            prev = Some(at);
        }
        Ok(block)
    }

    /// Number of restart points.
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// End of the entry region.
    pub fn entries_end(&self) -> usize {
        self.entries_end
    }

    /// Where restart point `i` starts.
    pub fn restart(&self, i: usize) -> usize {
        get_u32(self.payload, self.entries_end + 4 * i).unwrap_or(u32::MAX) as usize
    }

    /// The bytes at `range`.
    pub fn bytes(&self, range: (usize, usize)) -> &'a [u8] {
        &self.payload[range.0..range.1]
    }

    /// Decodes the entry at `pos` on top of `key` (the previous entry's key, or anything at a
    /// restart point, where `shared` must be 0), leaving the entry's key in `key`.
    pub fn decode(
        &self,
        pos: usize,
        key: &mut Vec<u8>,
        at_restart: bool,
    ) -> Result<PrefixEntry, (usize, String)> {
        let region = &self.payload[..self.entries_end];
        let mut d = Decoder::new(region.get(pos..).unwrap_or(&[]));
        let err = |d: &Decoder, e: crate::codec::DecodeError| (pos + d.position(), e.to_string());
        let shared = d.varint().map_err(|e| err(&d, e))?;
        let unshared = d.varint().map_err(|e| err(&d, e))?;
        let rest_len = d.varint().map_err(|e| err(&d, e))?;
        if at_restart && shared != 0 {
            return Err((
                pos,
                format!("entry at a restart point shares {shared} bytes"),
            ));
        }
        if shared > key.len() as u64 {
            return Err((
                pos,
                format!(
                    "entry shares {shared} bytes with a {}-byte previous key",
                    key.len()
                ),
            ));
        }
        let suffix = d
            .take(usize::try_from(unshared).unwrap_or(usize::MAX))
            .map_err(|e| err(&d, e))?;
        let rest_start = pos + d.position();
        d.take(usize::try_from(rest_len).unwrap_or(usize::MAX))
            .map_err(|e| err(&d, e))?;
        key.truncate(shared as usize);
        key.extend_from_slice(suffix);
        Ok(PrefixEntry {
            rest: (rest_start, pos + d.position()),
            next: pos + d.position(),
        })
    }

    /// The key of restart point `i` (stored whole).
    pub fn restart_key(&self, i: usize) -> Result<&'a [u8], (usize, String)> {
        let pos = self.restart(i);
        let region = &self.payload[..self.entries_end];
        let mut d = Decoder::new(region.get(pos..).unwrap_or(&[]));
        let err = |d: &Decoder, e: crate::codec::DecodeError| (pos + d.position(), e.to_string());
        let shared = d.varint().map_err(|e| err(&d, e))?;
        let unshared = d.varint().map_err(|e| err(&d, e))?;
        d.varint().map_err(|e| err(&d, e))?;
        if shared != 0 {
            return Err((
                pos,
                format!("entry at a restart point shares {shared} bytes"),
            ));
        }
        d.take(usize::try_from(unshared).unwrap_or(usize::MAX))
            .map_err(|e| err(&d, e))
    }

    /// Visits every entry in order with its full key; checks that the entries tile the entry
    /// region and that the restart points fall on entries.
    pub fn for_each(
        &self,
        mut visit: impl FnMut(&[u8], PrefixEntry) -> Result<(), (usize, String)>,
    ) -> Result<(), (usize, String)> {
        let mut key = Vec::new();
        let mut pos = 0;
        let mut next_restart = 0;
        while pos < self.entries_end {
            let at_restart = next_restart < self.restarts && self.restart(next_restart) == pos;
            if next_restart < self.restarts && self.restart(next_restart) < pos {
                return Err((
                    self.entries_end + 4 * next_restart,
                    format!("restart point {next_restart} is not at an entry boundary"),
                ));
            }
            if at_restart {
                next_restart += 1;
            }
            let e = self.decode(pos, &mut key, at_restart || pos == 0)?;
            visit(&key, e)?;
            pos = e.next;
        }
        if next_restart != self.restarts {
            return Err((
                self.entries_end + 4 * next_restart,
                format!("restart point {next_restart} is not at an entry boundary"),
            ));
        }
        Ok(())
    }

    /// Finds the first entry whose key is `>= target`: binary search over the restart keys,
    /// then a forward scan. Returns its key in `key` and its position, `None` when every key
    /// is below.
    pub fn seek(
        &self,
        target: &[u8],
        key: &mut Vec<u8>,
    ) -> Result<Option<PrefixEntry>, (usize, String)> {
        // The last restart whose key is < target (0 when none): the answer is at or after it.
        let (mut lo, mut hi) = (0usize, self.restarts);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.restart_key(mid)? < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mut pos = self.restart(lo);
        let mut next_restart = lo + 1;
        key.clear();
        let mut first = true;
        while pos < self.entries_end {
            let at_restart = next_restart < self.restarts && self.restart(next_restart) == pos;
            if at_restart {
                next_restart += 1;
            }
            let e = self.decode(pos, key, first || at_restart)?;
            first = false;
            if key.as_slice() >= target {
                return Ok(Some(e));
            }
            pos = e.next;
        }
        Ok(None)
    }
}

/// A borrowed entry of a block.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    pub key: &'a [u8],
    pub seq: u64,
    pub kind: ValueKind,
    pub value: &'a [u8],
}

/// Decodes a data entry's `rest` (`varint seq | kind | value`, version 2).
fn decode_rest(rest: &[u8]) -> Result<(u64, ValueKind, &[u8]), (usize, String)> {
    let mut d = Decoder::new(rest);
    let seq = d.varint().map_err(|e| (d.position(), e.to_string()))?;
    let tag_at = d.position();
    let tag = d.u8().map_err(|e| (d.position(), e.to_string()))?;
    let kind = ValueKind::from_tag(tag)
        .filter(|k| *k != ValueKind::RangeDelete)
        .ok_or_else(|| (tag_at, format!("unknown value kind {tag}")))?;
    Ok((seq, kind, &rest[d.position()..]))
}

/// A point entry found by [`DataBlock::get`]: sequence number, kind, value.
pub type PointEntry<'a> = (u64, ValueKind, &'a [u8]);

/// How a data block's payload is laid out.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Version 1: an offset per entry.
    Flat { entries_end: usize, count: usize },
    /// Version 2: prefix-compressed with restart points.
    Prefixed { entries_end: usize, restarts: usize },
}

/// A data block read from the file: checksum verified, decompressed, and its offset or restart
/// array validated. Held in the block cache (decompressed).
#[derive(Debug)]
pub struct DataBlock {
    /// The payload (decompressed).
    data: Vec<u8>,
    /// File offset of the block.
    offset: u64,
    /// True when the block was stored raw: payload position `p` is file offset `offset + p`.
    raw: bool,
    layout: Layout,
}

impl DataBlock {
    /// Bytes held in memory.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Verifies `block` (a whole stored block read from `offset`, of a table of format
    /// `version`), decompresses it and indexes it.
    pub fn parse(block: Vec<u8>, offset: u64, version: u32) -> Result<DataBlock, Fault> {
        let (data, raw) = open_block(block, offset, BLOCK_DATA)?;
        let at = |p: usize| if raw { offset + p as u64 } else { offset };
        let layout = if version >= 2 {
            let view = PrefixBlock::new(&data).map_err(|(p, what)| {
                Fault::new(at(p), "bad_block", format!("data block: {what}"))
            })?;
            if view.restarts() == 0 {
                return Err(Fault::new(at(0), "bad_block", "data block has no entries"));
            }
            Layout::Prefixed {
                entries_end: view.entries_end(),
                restarts: view.restarts(),
            }
        } else {
            flat_layout(&data).map_err(|(p, what)| Fault::new(at(p), "bad_block", what))?
        };
        Ok(DataBlock {
            data,
            offset,
            raw,
            layout,
        })
    }

    /// File offset of the block.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn fault(&self, pos: usize, what: impl std::fmt::Display) -> Fault {
        let at = if self.raw {
            self.offset + pos as u64
        } else {
            self.offset
        };
        let inside = if self.raw {
            String::new()
        } else {
            format!(" (byte {pos} of the decompressed block)")
        };
        Fault::new(at, "bad_block", format!("data block: {what}{inside}"))
    }

    fn prefixed(&self) -> Option<PrefixBlock<'_>> {
        match self.layout {
            Layout::Prefixed {
                entries_end,
                restarts,
            } => Some(PrefixBlock {
                payload: &self.data,
                entries_end,
                restarts,
            }),
            Layout::Flat { .. } => None,
        }
    }

    /// The point entry for exactly `key`, if the block holds it: a restart-array binary
    /// search and a short scan (version 2), or an offset-array binary search (version 1).
    pub fn get(&self, key: &[u8]) -> Result<Option<PointEntry<'_>>, Fault> {
        match self.prefixed() {
            Some(view) => {
                let mut found = Vec::with_capacity(key.len() + 16);
                let Some(e) = view
                    .seek(key, &mut found)
                    .map_err(|(p, what)| self.fault(p, what))?
                else {
                    return Ok(None);
                };
                if found != key {
                    return Ok(None);
                }
                let (seq, kind, value) = decode_rest(view.bytes(e.rest))
                    .map_err(|(p, what)| self.fault(e.rest.0 + p, what))?;
                Ok(Some((seq, kind, value)))
            }
            None => {
                let entries = FlatEntries { block: self };
                let i = entries.lower_bound(key)?;
                if i == entries.len() {
                    return Ok(None);
                }
                let e = entries.entry_at(i)?;
                Ok((e.key == key).then_some((e.seq, e.kind, e.value)))
            }
        }
    }

    /// Decodes every entry's position (and, for version 2, its full key) for ordered access.
    /// `reuse` donates the buffers of a previous block.
    pub fn entries(&self, reuse: Option<BlockEntries>) -> Result<BlockEntries, Fault> {
        let mut out = reuse.unwrap_or_default();
        out.keys.clear();
        out.key_ends.clear();
        out.rests.clear();
        match self.layout {
            Layout::Flat { count, .. } => out.count = count,
            Layout::Prefixed { .. } => {
                let view = self.prefixed().expect("prefixed layout");
                view.for_each(|key, e| {
                    out.keys.extend_from_slice(key);
                    out.key_ends.push(out.keys.len() as u32);
                    out.rests.push((e.rest.0 as u32, e.rest.1 as u32));
                    Ok(())
                })
                .map_err(|(p, what)| self.fault(p, what))?;
                out.count = out.rests.len();
            }
        }
        Ok(out)
    }
}

fn flat_layout(data: &[u8]) -> Result<Layout, (usize, String)> {
    let payload_len = data.len();
    if payload_len < 4 {
        return Err((
            0,
            format!("{payload_len}-byte data block has no entry count"),
        ));
    }
    let count = get_u32(data, payload_len - 4).unwrap_or(0) as usize;
    let array_len = count
        .checked_mul(4)
        .and_then(|n| n.checked_add(4))
        .filter(|&n| n <= payload_len);
    let Some(array_len) = array_len else {
        return Err((
            payload_len - 4,
            format!("data block claims {count} entries in {payload_len} bytes"),
        ));
    };
    if count == 0 {
        return Err((payload_len - 4, "data block has no entries".into()));
    }
    let entries_end = payload_len - array_len;
    let mut prev: Option<usize> = None;
    for i in 0..count {
        let off = get_u32(data, entries_end + 4 * i).unwrap_or(u32::MAX) as usize;
        let ok = match prev {
            None => off == 0,
            Some(p) => off > p,
        } && off < entries_end;
        if !ok {
            return Err((
                entries_end + 4 * i,
                format!(
                    "data block entry offset {i} is {off} (entry region is {entries_end} bytes)"
                ),
            ));
        }
        prev = Some(off);
    }
    Ok(Layout::Flat { entries_end, count })
}

/// Ordered, indexable access to a data block's entries (see [`DataBlock::entries`]). Holds
/// positions and decoded keys only; the bytes stay in the block.
#[derive(Debug, Default)]
pub struct BlockEntries {
    count: usize,
    keys: Vec<u8>,
    key_ends: Vec<u32>,
    rests: Vec<(u32, u32)>,
}

impl BlockEntries {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// The key of entry `i` of `block` (the block these entries were decoded from).
    pub fn key_at<'a>(&'a self, block: &'a DataBlock, i: usize) -> Result<&'a [u8], Fault> {
        match block.layout {
            Layout::Flat { .. } => FlatEntries { block }.key_at(i),
            Layout::Prefixed { .. } => {
                let start = if i == 0 {
                    0
                } else {
                    self.key_ends[i - 1] as usize
                };
                Ok(&self.keys[start..self.key_ends[i] as usize])
            }
        }
    }

    /// Entry `i` of `block`, fully decoded.
    pub fn entry_at<'a>(&'a self, block: &'a DataBlock, i: usize) -> Result<EntryRef<'a>, Fault> {
        match block.layout {
            Layout::Flat { .. } => FlatEntries { block }.entry_at(i),
            Layout::Prefixed { .. } => {
                let key = self.key_at(block, i)?;
                let (s, e) = self.rests[i];
                let (seq, kind, value) =
                    decode_rest(&block.data[s as usize..e as usize]).map_err(|(p, what)| {
                        block.fault(s as usize + p, format_args!("entry {i}: {what}"))
                    })?;
                Ok(EntryRef {
                    key,
                    seq,
                    kind,
                    value,
                })
            }
        }
    }

    /// Index of the first entry whose key is >= `key` (`len()` when none).
    pub fn lower_bound(&self, block: &DataBlock, key: &[u8]) -> Result<usize, Fault> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key_at(block, mid)? < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

/// Version-1 (flat) entry access, straight from the block's offset array.
struct FlatEntries<'a> {
    block: &'a DataBlock,
}

impl<'a> FlatEntries<'a> {
    fn len(&self) -> usize {
        match self.block.layout {
            Layout::Flat { count, .. } => count,
            Layout::Prefixed { .. } => 0,
        }
    }

    fn entries_end(&self) -> usize {
        match self.block.layout {
            Layout::Flat { entries_end, .. } => entries_end,
            Layout::Prefixed { .. } => 0,
        }
    }

    fn offset_of(&self, i: usize) -> usize {
        get_u32(&self.block.data, self.entries_end() + 4 * i).unwrap_or(u32::MAX) as usize
    }

    /// The bytes of entry `i` (validated by `parse` to lie inside the entry region).
    fn slot(&self, i: usize) -> (usize, &'a [u8]) {
        let start = self.offset_of(i);
        let end = if i + 1 < self.len() {
            self.offset_of(i + 1)
        } else {
            self.entries_end()
        };
        (start, self.block.data.get(start..end).unwrap_or(&[]))
    }

    fn key_at(&self, i: usize) -> Result<&'a [u8], Fault> {
        let (start, slot) = self.slot(i);
        let mut d = Decoder::new(slot);
        d.bytes()
            .map_err(|e| self.block.fault(start, format_args!("entry {i}: {e}")))
    }

    fn entry_at(&self, i: usize) -> Result<EntryRef<'a>, Fault> {
        let (start, slot) = self.slot(i);
        let mut d = Decoder::new(slot);
        let err = |d: &Decoder, e| {
            self.block
                .fault(start + d.position(), format_args!("entry {i}: {e}"))
        };
        let key = d.bytes().map_err(|e| err(&d, e))?;
        let seq = d.varint().map_err(|e| err(&d, e))?;
        let tag_at = d.position();
        let tag = d.u8().map_err(|e| err(&d, e))?;
        let kind = ValueKind::from_tag(tag)
            .filter(|k| *k != ValueKind::RangeDelete)
            .ok_or_else(|| {
                self.block.fault(
                    start + tag_at,
                    format_args!("entry {i}: unknown value kind {tag}"),
                )
            })?;
        let value = d.bytes().map_err(|e| err(&d, e))?;
        if !d.is_empty() {
            return Err(self.block.fault(
                start + d.position(),
                format_args!("entry {i}: {} stray bytes after the entry", d.remaining()),
            ));
        }
        Ok(EntryRef {
            key,
            seq,
            kind,
            value,
        })
    }

    fn lower_bound(&self, key: &[u8]) -> Result<usize, Fault> {
        let (mut lo, mut hi) = (0usize, self.len());
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
