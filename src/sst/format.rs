//! Shared encoding pieces of the table format: block trailers, handles, the footer, the index
//! and properties blocks, the layout (tiling) check, and [`Fault`], the one description of a
//! bad byte used by both the reader (turned into an [`Error`]) and the checker (turned into a
//! [`TableProblem`]).

use std::path::Path;

use crate::codec::{crc32, get_u32, put_bytes, put_u32, put_u64, put_varint, Decoder};

use super::block::PrefixBlock;
use super::compress::Compression;
use crate::error::Error;
use crate::types::{RangeTombstone, SeqNo, MAX_KEY_LEN};

use super::check::TableProblem;
use super::reader::TableProperties;

/// The format version this build writes (it reads [`OLDEST_FORMAT_VERSION`] up to this).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// The last 8 bytes of every table.
pub const MAGIC: [u8; 8] = [0x8b, b'n', b'o', b'k', b'v', b'S', b'S', b'T'];
/// Size of the fixed footer at the end of every table.
pub const FOOTER_LEN: u64 = 84;
/// Block trailer: type byte + CRC32.
pub const BLOCK_TRAILER: usize = 5;

/// Block type tags.
pub const BLOCK_DATA: u8 = 1;
pub const BLOCK_FILTER: u8 = 2;
pub const BLOCK_INDEX: u8 = 3;
pub const BLOCK_PROPERTIES: u8 = 4;
pub const BLOCK_META: u8 = 5;

/// Human name of a block type tag.
pub fn block_type_name(tag: u8) -> &'static str {
    match tag {
        BLOCK_DATA => "data",
        BLOCK_FILTER => "filter",
        BLOCK_INDEX => "index",
        BLOCK_PROPERTIES => "properties",
        BLOCK_META => "meta",
        _ => "unknown",
    }
}

/// What is wrong with some bytes, and where.
#[derive(Debug, Clone)]
pub struct Fault {
    pub offset: u64,
    pub kind: &'static str,
    pub detail: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// Set for `unsupported_version`: the version found.
    pub found_version: Option<u32>,
}

impl Fault {
    pub fn new(offset: u64, kind: &'static str, detail: impl Into<String>) -> Fault {
        Fault {
            offset,
            kind,
            detail: detail.into(),
            expected: None,
            actual: None,
            found_version: None,
        }
    }

    pub fn values(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Fault {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }

    pub fn into_error(self, path: &Path) -> Error {
        match self.found_version {
            Some(found) => Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            },
            None => Error::corruption(path, self.offset, self.detail),
        }
    }

    pub fn into_problem(self) -> TableProblem {
        TableProblem {
            offset: self.offset,
            kind: self.kind,
            detail: self.detail,
            expected: self.expected,
            actual: self.actual,
        }
    }
}

/// Where a block lives: `size` includes the block trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Handle {
    pub offset: u64,
    pub size: u64,
}

impl Handle {
    pub fn is_absent(&self) -> bool {
        self.offset == 0 && self.size == 0
    }

    /// End offset, `None` on overflow.
    pub fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.size)
    }

    /// True when the handle is a plausible block lying inside `[0, limit)`.
    pub fn fits(&self, limit: u64) -> bool {
        self.size >= BLOCK_TRAILER as u64 && self.end().is_some_and(|end| end <= limit)
    }
}

/// Appends the trailer (type, CRC32 of `buf[start..]` + type) to the block begun at `start`.
pub fn seal_block(buf: &mut Vec<u8>, start: usize, block_type: u8) {
    buf.push(block_type);
    let crc = crc32(&buf[start..]);
    put_u32(buf, crc);
}

/// The fixed footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    pub filter: Handle,
    pub index: Handle,
    pub properties: Handle,
    pub meta: Handle,
    pub version: u32,
}

impl Footer {
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        for h in [self.filter, self.index, self.properties, self.meta] {
            put_u64(buf, h.offset);
            put_u64(buf, h.size);
        }
        put_u32(buf, self.version);
        put_u32(buf, 0);
        let crc = crc32(&buf[start..]);
        put_u32(buf, crc);
        buf.extend_from_slice(&MAGIC);
    }

    /// Decodes and validates the footer found at `offset` (= file size - FOOTER_LEN).
    pub fn decode(buf: &[u8], offset: u64) -> Result<Footer, Fault> {
        if buf.len() as u64 != FOOTER_LEN {
            return Err(Fault::new(
                offset,
                "bad_footer",
                "footer has the wrong length",
            ));
        }
        let magic = &buf[76..84];
        if magic != MAGIC {
            return Err(Fault::new(
                offset + 76,
                "bad_magic",
                format!(
                    "bad table magic (expected {}, found {})",
                    hex(&MAGIC),
                    hex(magic)
                ),
            )
            .values(hex(&MAGIC), hex(magic)));
        }
        let stored = get_u32(buf, 72).unwrap_or(0);
        let actual = crc32(&buf[..72]);
        if stored != actual {
            return Err(Fault::new(
                offset,
                "checksum_mismatch",
                format!("footer checksum mismatch (expected 0x{stored:08x}, found 0x{actual:08x})"),
            )
            .values(format!("0x{stored:08x}"), format!("0x{actual:08x}")));
        }
        let mut d = Decoder::new(&buf[..72]);
        let mut handles = [Handle::default(); 4];
        for h in &mut handles {
            h.offset = d.u64().unwrap_or(0);
            h.size = d.u64().unwrap_or(0);
        }
        let version = d.u32().unwrap_or(0);
        let flags = d.u32().unwrap_or(0);
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            let mut f = Fault::new(
                offset + 64,
                "unsupported_version",
                format!(
                    "unsupported table format version {version} (this build reads \
                     {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})"
                ),
            )
            .values(FORMAT_VERSION.to_string(), version.to_string());
            f.found_version = Some(version);
            return Err(f);
        }
        if flags != 0 {
            return Err(Fault::new(
                offset + 68,
                "bad_footer",
                format!("unknown footer flags 0x{flags:08x}"),
            )
            .values("0x00000000", format!("0x{flags:08x}")));
        }
        let [filter, index, properties, meta] = handles;
        let footer = Footer {
            filter,
            index,
            properties,
            meta,
            version,
        };
        for (name, h, at) in [
            ("filter", filter, 0u64),
            ("index", index, 16),
            ("properties", properties, 32),
        ] {
            if !h.fits(offset) {
                return Err(bad_handle(offset + at, name, h, offset));
            }
        }
        if !meta.is_absent() && !meta.fits(offset) {
            return Err(bad_handle(offset + 48, "meta", meta, offset));
        }
        Ok(footer)
    }
}

fn bad_handle(at: u64, name: &str, h: Handle, limit: u64) -> Fault {
    Fault::new(
        at,
        "bad_footer",
        format!(
            "{name} block handle (offset {}, size {}) lies outside the {limit} bytes before the footer",
            h.offset, h.size
        ),
    )
}

/// Lowercase hex of a short byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Printable form of a key for problem reports (hex, shortened).
pub fn show_key(key: &[u8]) -> String {
    if key.len() <= 32 {
        format!("0x{}", hex(key))
    } else {
        format!("0x{}..({} bytes)", hex(&key[..32]), key.len())
    }
}

/// Appends an index entry's `rest` (version 2): `varint offset | varint size`, and for a
/// top-level entry also `varint first_block | varint first_data_offset`.
pub fn encode_handle_rest(buf: &mut Vec<u8>, h: Handle, partition_start: Option<(u64, u64)>) {
    put_varint(buf, h.offset);
    put_varint(buf, h.size);
    if let Some((first_block, first_offset)) = partition_start {
        put_varint(buf, first_block);
        put_varint(buf, first_offset);
    }
}

/// Where a fault at payload position `p` of the block at `offset` is in the file.
fn at(offset: u64, raw: bool, p: usize) -> u64 {
    if raw {
        offset + p as u64
    } else {
        offset
    }
}

/// Decodes an index payload of format `version` (the block at `offset`; `raw` when it was
/// stored uncompressed): one entry per data block, in order. Checks that the blocks are
/// contiguous from `first_offset`, lie below `data_end`, and that the last keys strictly
/// increase. Returns the index and where its last block ends (`first_offset` when empty).
pub fn decode_index(
    payload: &[u8],
    offset: u64,
    raw: bool,
    version: u32,
    first_offset: u64,
    data_end: u64,
) -> Result<(Index, u64), Fault> {
    if u32::try_from(payload.len()).is_err() {
        return Err(Fault::new(
            offset,
            "bad_block",
            "index block larger than 4 GiB",
        ));
    }
    let mut index = Index::default();
    let mut next_offset = first_offset;
    let mut add = |i: usize, at: u64, key: &[u8], h: Handle| -> Result<(), Fault> {
        if h.offset != next_offset || !h.fits(data_end) {
            return Err(Fault::new(
                at,
                "bad_block",
                format!(
                    "index entry {i} points at (offset {}, size {}); expected a block at offset \
                     {next_offset} inside the {data_end}-byte data region",
                    h.offset, h.size
                ),
            ));
        }
        if let Some(prev) = index.len().checked_sub(1).map(|j| index.last_key(j)) {
            if prev >= key {
                return Err(Fault::new(
                    at,
                    "key_order",
                    format!("index entry {i}: last keys not strictly increasing"),
                )
                .values(format!("> {}", show_key(prev)), show_key(key)));
            }
        }
        next_offset = h.offset + h.size;
        index.push(key, h);
        Ok(())
    };
    if version >= 2 {
        let view = PrefixBlock::new(payload).map_err(|(p, what)| {
            Fault::new(
                at(offset, raw, p),
                "bad_block",
                format!("index block: {what}"),
            )
        })?;
        let mut i = 0;
        let mut failed = None;
        let walked = view.for_each(|key, e| {
            let mut d = Decoder::new(view.bytes(e.rest));
            let pos = e.rest.0;
            let bad = |d: &Decoder, err| (pos + d.position(), format!("index entry {i}: {err}"));
            let h = Handle {
                offset: d.varint().map_err(|err| bad(&d, err))?,
                size: d.varint().map_err(|err| bad(&d, err))?,
            };
            if !d.is_empty() {
                return Err((
                    pos,
                    format!("index entry {i}: {} stray bytes", d.remaining()),
                ));
            }
            if let Err(f) = add(i, at(offset, raw, pos), key, h) {
                failed = Some(f);
                return Err((0, String::new()));
            }
            i += 1;
            Ok(())
        });
        if let Some(f) = failed {
            return Err(f);
        }
        walked.map_err(|(p, what)| {
            Fault::new(
                at(offset, raw, p),
                "bad_block",
                format!("index block: {what}"),
            )
        })?;
        return Ok((index, next_offset));
    }
    let short = |d: &Decoder, e| {
        Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("index block: {e}"),
        )
    };
    let mut d = Decoder::new(payload);
    let count = d.varint().map_err(|e| short(&d, e))?;
    // Each entry takes at least 3 bytes: never allocate from an unchecked count. A count of 0
    // is a table without point entries (range tombstones only): its data region must then be
    // empty, which the caller's end check enforces.
    if count > (payload.len() / 3) as u64 {
        return Err(Fault::new(
            offset,
            "bad_block",
            format!(
                "index block claims {count} entries in {} bytes",
                payload.len()
            ),
        ));
    }
    for i in 0..count as usize {
        let at = offset + d.position() as u64;
        let key = d.bytes().map_err(|e| short(&d, e))?;
        let h = Handle {
            offset: d.varint().map_err(|e| short(&d, e))?,
            size: d.varint().map_err(|e| short(&d, e))?,
        };
        add(i, at, key, h)?;
    }
    if !d.is_empty() {
        return Err(Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("index block has {} trailing bytes", d.remaining()),
        ));
    }
    Ok((index, next_offset))
}

/// The top-level index of a version-2 table: one entry per index partition (the last key of
/// its last data block and the partition's handle), and where each partition starts: its first
/// data block's number in the table and file offset.
#[derive(Debug, Default, Clone)]
pub struct TopIndex {
    pub partitions: Index,
    pub first_block: Vec<u64>,
    pub first_offset: Vec<u64>,
}

impl TopIndex {
    /// The range of data block numbers and the data byte range partition `p` covers.
    pub fn span(&self, p: usize, data_blocks: u64, data_end: u64) -> ((u64, u64), (u64, u64)) {
        let blocks_end = self.first_block.get(p + 1).copied().unwrap_or(data_blocks);
        let bytes_end = self.first_offset.get(p + 1).copied().unwrap_or(data_end);
        (
            (self.first_block[p], blocks_end),
            (self.first_offset[p], bytes_end),
        )
    }

    /// Where the data region ends: the first partition's offset (0 without data blocks).
    pub fn data_end(&self) -> u64 {
        if self.partitions.is_empty() {
            0
        } else {
            self.partitions.handle(0).offset
        }
    }
}

/// Decodes a version-2 top-level index payload (the block at `offset`) and checks it: last
/// keys strictly increasing, partitions contiguous, first block numbers from 0 strictly
/// increasing below `data_blocks`, first data offsets from 0 strictly increasing below the
/// data region's end, and no partitions exactly when there are no data blocks.
pub fn decode_top_index(
    payload: &[u8],
    offset: u64,
    raw: bool,
    data_blocks: u64,
) -> Result<TopIndex, Fault> {
    let bad = |p: usize, what: String| {
        Fault::new(
            at(offset, raw, p),
            "bad_block",
            format!("top-level index: {what}"),
        )
    };
    let view = PrefixBlock::new(payload).map_err(|(p, what)| bad(p, what))?;
    let mut top = TopIndex::default();
    let mut i = 0usize;
    view.for_each(|key, e| {
        let pos = e.rest.0;
        let mut d = Decoder::new(view.bytes(e.rest));
        let err = |d: &Decoder, err| (pos + d.position(), format!("entry {i}: {err}"));
        let h = Handle {
            offset: d.varint().map_err(|x| err(&d, x))?,
            size: d.varint().map_err(|x| err(&d, x))?,
        };
        let first_block = d.varint().map_err(|x| err(&d, x))?;
        let first_offset = d.varint().map_err(|x| err(&d, x))?;
        if !d.is_empty() {
            return Err((pos, format!("entry {i}: {} stray bytes", d.remaining())));
        }
        let parts = &top.partitions;
        if let Some(j) = parts.len().checked_sub(1) {
            let prev = parts.handle(j);
            if parts.last_key(j) >= key {
                return Err((pos, format!("entry {i}: last keys not strictly increasing")));
            }
            if prev.end() != Some(h.offset)
                || top.first_block[j] >= first_block
                || top.first_offset[j] >= first_offset
            {
                return Err((
                    pos,
                    format!(
                        "entry {i}: partition (offset {}, size {}, first block {first_block} at \
                         {first_offset}) does not follow the previous one",
                        h.offset, h.size
                    ),
                ));
            }
        } else if first_block != 0 || first_offset != 0 {
            return Err((
                pos,
                format!(
                    "entry 0: first partition starts at block {first_block}, offset {first_offset}"
                ),
            ));
        }
        if h.size < BLOCK_TRAILER as u64 || h.end().is_none() || first_block >= data_blocks {
            return Err((
                pos,
                format!(
                    "entry {i}: partition (offset {}, size {}) with first block {first_block} of \
                     {data_blocks}",
                    h.offset, h.size
                ),
            ));
        }
        top.partitions.push(key, h);
        top.first_block.push(first_block);
        top.first_offset.push(first_offset);
        i += 1;
        Ok(())
    })
    .map_err(|(p, what)| bad(p, what))?;
    if top.partitions.is_empty() != (data_blocks == 0) {
        return Err(bad(
            0,
            format!(
                "{} partitions for {data_blocks} data blocks",
                top.partitions.len()
            ),
        ));
    }
    if top
        .first_offset
        .last()
        .is_some_and(|&o| o >= top.data_end())
    {
        return Err(bad(
            0,
            "last partition's data starts past the data region".into(),
        ));
    }
    Ok(top)
}

/// A decoded index block, stored flat: every last key in one buffer, their 8-byte prefixes in
/// one array (the search compares these and touches a full key only on a tie), and the block
/// handles. Decoding allocates four vectors, not one per block.
#[derive(Debug, Default, Clone)]
pub struct Index {
    keys: Vec<u8>,
    /// Where key `i` ends in `keys`.
    ends: Vec<u32>,
    handles: Vec<Handle>,
    prefixes: Vec<u64>,
}

impl Index {
    /// Appends an entry (the caller keeps the keys increasing).
    pub fn push_entry(&mut self, last_key: &[u8], handle: Handle) {
        self.push(last_key, handle);
    }

    /// Where block `i` is, `None` past the end.
    pub fn handles_get(&self, i: usize) -> Option<Handle> {
        self.handles.get(i).copied()
    }

    fn push(&mut self, last_key: &[u8], handle: Handle) {
        self.keys.extend_from_slice(last_key);
        self.ends.push(self.keys.len() as u32);
        self.handles.push(handle);
        self.prefixes.push(key_prefix(last_key));
    }

    /// Number of data blocks.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True for a table without data blocks.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The last key of block `i`.
    pub fn last_key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.keys[start..self.ends[i] as usize]
    }

    /// Where block `i` is.
    pub fn handle(&self, i: usize) -> Handle {
        self.handles[i]
    }

    /// Every block's last key and handle, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Handle)> + '_ {
        (0..self.len()).map(|i| (self.last_key(i), self.handles[i]))
    }

    /// The first block whose last key is `>= key` (`len()` when none).
    pub fn first_reaching(&self, key: &[u8]) -> usize {
        let wanted = key_prefix(key);
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = match self.prefixes[mid].cmp(&wanted) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => self.last_key(mid) < key,
            };
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The first 8 bytes of `key` as a big-endian integer, zero-padded. Comparing two prefixes
/// orders keys correctly whenever the prefixes differ.
fn key_prefix(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(bytes)
}

pub fn encode_properties(p: &TableProperties, buf: &mut Vec<u8>) {
    put_u32(buf, p.format_version);
    put_varint(buf, p.entries);
    put_varint(buf, p.tombstones);
    put_varint(buf, p.min_seq);
    put_varint(buf, p.max_seq);
    put_varint(buf, p.data_blocks);
    put_bytes(buf, &p.smallest);
    put_bytes(buf, &p.largest);
    if p.format_version >= 2 {
        buf.push(p.compression.tag());
        put_varint(buf, p.index_partitions);
    }
}

/// Decodes the properties payload (the block at `offset`). `has_meta` says whether the footer
/// names a meta (range tombstone) block: only then may the table have no point entries.
/// `range_tombstones` is not stored in the properties block; it is returned as 0 and the
/// caller fills it in from the meta block.
pub fn decode_properties(
    payload: &[u8],
    offset: u64,
    footer_version: u32,
    has_meta: bool,
) -> Result<TableProperties, Fault> {
    let mut d = Decoder::new(payload);
    let bad = |d: &Decoder, e| {
        Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("properties block: {e}"),
        )
    };
    let format_version = d.u32().map_err(|e| bad(&d, e))?;
    let entries = d.varint().map_err(|e| bad(&d, e))?;
    let tombstones = d.varint().map_err(|e| bad(&d, e))?;
    let min_seq = d.varint().map_err(|e| bad(&d, e))?;
    let max_seq = d.varint().map_err(|e| bad(&d, e))?;
    let data_blocks = d.varint().map_err(|e| bad(&d, e))?;
    let smallest = d.bytes().map_err(|e| bad(&d, e))?.to_vec();
    let largest = d.bytes().map_err(|e| bad(&d, e))?.to_vec();
    let (mut compression, mut index_partitions) = (Compression::None, 0);
    if footer_version >= 2 {
        let tag_at = d.position();
        let tag = d.u8().map_err(|e| bad(&d, e))?;
        compression = Compression::from_tag(tag).ok_or_else(|| {
            Fault::new(
                offset + tag_at as u64,
                "bad_block",
                format!("properties block: unknown compression {tag}"),
            )
        })?;
        index_partitions = d.varint().map_err(|e| bad(&d, e))?;
    }
    if !d.is_empty() {
        return Err(Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("properties block has {} trailing bytes", d.remaining()),
        ));
    }
    let invalid = |what: String| Fault::new(offset, "bad_block", format!("properties: {what}"));
    if format_version != footer_version {
        return Err(invalid(format!(
            "format version {format_version} differs from the footer's {footer_version}"
        ))
        .values(footer_version.to_string(), format_version.to_string()));
    }
    if (entries == 0) != (data_blocks == 0) || data_blocks > entries {
        return Err(invalid(format!(
            "{entries} entries in {data_blocks} data blocks"
        )));
    }
    if footer_version >= 2
        && ((index_partitions == 0) != (data_blocks == 0) || index_partitions > data_blocks)
    {
        return Err(invalid(format!(
            "{index_partitions} index partitions for {data_blocks} data blocks"
        )));
    }
    if entries == 0 && !has_meta {
        return Err(invalid(
            "no entries and no range tombstone block: a table is never empty".into(),
        ));
    }
    if tombstones > entries {
        return Err(invalid(format!(
            "{tombstones} tombstones among {entries} entries"
        )));
    }
    if min_seq > max_seq {
        return Err(invalid(format!("min seq {min_seq} > max seq {max_seq}")));
    }
    // Range tombstones have start < end, so with any of them the range is never one key.
    let range_ok = if has_meta || entries > 1 {
        smallest < largest
    } else {
        smallest == largest
    };
    if !range_ok {
        return Err(invalid(format!(
            "key range {}..={} does not fit {entries} entries",
            show_key(&smallest),
            show_key(&largest)
        )));
    }
    Ok(TableProperties {
        format_version,
        entries,
        tombstones,
        min_seq,
        max_seq,
        data_blocks,
        range_tombstones: 0,
        smallest,
        largest,
        compression,
        index_partitions,
    })
}

/// The order range tombstones are stored in: start ascending, then seq descending (newest
/// first), then end ascending.
pub fn tombstone_order(a: &RangeTombstone, b: &RangeTombstone) -> std::cmp::Ordering {
    a.start
        .cmp(&b.start)
        .then(b.seq.cmp(&a.seq))
        .then(a.end.cmp(&b.end))
}

/// Why a range tombstone cannot be stored, `None` when it is fine: `start < end`, both
/// 1..=[`MAX_KEY_LEN`] bytes.
pub fn tombstone_defect(start: &[u8], end: &[u8]) -> Option<String> {
    if start.is_empty() || start.len() > MAX_KEY_LEN || end.len() > MAX_KEY_LEN {
        return Some(format!(
            "range tombstone bounds must be 1..={MAX_KEY_LEN} bytes (start {} bytes, end {} bytes)",
            start.len(),
            end.len()
        ));
    }
    if start >= end {
        return Some(format!(
            "range tombstone start {} is not below its end {}",
            show_key(start),
            show_key(end)
        ));
    }
    None
}

/// Encodes the meta block payload: `varint count | count x (varint start_len | start |
/// varint end_len | end | varint seq)`. `tombstones` must already be in [`tombstone_order`]
/// without duplicates.
pub fn encode_range_tombstones(tombstones: &[RangeTombstone], buf: &mut Vec<u8>) {
    put_varint(buf, tombstones.len() as u64);
    for t in tombstones {
        put_bytes(buf, &t.start);
        put_bytes(buf, &t.end);
        put_varint(buf, t.seq.0);
    }
}

/// Decodes the meta block payload (the block at `offset`): at least one tombstone, each with
/// valid bounds ([`tombstone_defect`]), strictly increasing in [`tombstone_order`], no
/// trailing bytes.
pub fn decode_range_tombstones(payload: &[u8], offset: u64) -> Result<Vec<RangeTombstone>, Fault> {
    let short = |d: &Decoder, e| {
        Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("meta block: {e}"),
        )
    };
    let mut d = Decoder::new(payload);
    let count = d.varint().map_err(|e| short(&d, e))?;
    // Each tombstone takes at least 5 bytes: never allocate from an unchecked count.
    if count == 0 || count > (payload.len() / 5) as u64 {
        return Err(Fault::new(
            offset,
            "bad_block",
            format!(
                "meta block claims {count} range tombstones in {} bytes",
                payload.len()
            ),
        ));
    }
    let mut out: Vec<RangeTombstone> = Vec::with_capacity(count as usize);
    for i in 0..count {
        let at = offset + d.position() as u64;
        let start = d.bytes().map_err(|e| short(&d, e))?;
        let end = d.bytes().map_err(|e| short(&d, e))?;
        let seq = d.varint().map_err(|e| short(&d, e))?;
        if let Some(defect) = tombstone_defect(start, end) {
            return Err(Fault::new(
                at,
                "bad_block",
                format!("meta block tombstone {i}: {defect}"),
            ));
        }
        let t = RangeTombstone {
            start: start.to_vec(),
            end: end.to_vec(),
            seq: SeqNo(seq),
        };
        if let Some(prev) = out.last() {
            if tombstone_order(prev, &t) != std::cmp::Ordering::Less {
                return Err(Fault::new(
                    at,
                    "key_order",
                    format!(
                        "meta block tombstone {i} is not after the previous one \
                         (order: start ascending, seq descending, end ascending)"
                    ),
                )
                .values(
                    format!(
                        "> [{}, {}) @{}",
                        show_key(&prev.start),
                        show_key(&prev.end),
                        prev.seq
                    ),
                    format!("[{}, {}) @{}", show_key(&t.start), show_key(&t.end), t.seq),
                ));
            }
        }
        out.push(t);
    }
    if !d.is_empty() {
        return Err(Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("meta block has {} trailing bytes", d.remaining()),
        ));
    }
    Ok(out)
}

/// The regions of the blocks the footer names (filter, index, properties, meta) and the footer.
pub fn footer_regions(footer: &Footer, file_size: u64) -> Vec<(u64, u64, &'static str)> {
    let mut regions = vec![
        (footer.filter.offset, footer.filter.size, "filter"),
        (footer.index.offset, footer.index.size, "index"),
        (
            footer.properties.offset,
            footer.properties.size,
            "properties",
        ),
    ];
    if !footer.meta.is_absent() {
        regions.push((footer.meta.offset, footer.meta.size, "meta"));
    }
    regions.push((file_size.saturating_sub(FOOTER_LEN), FOOTER_LEN, "footer"));
    regions
}

/// Checks that the data blocks, the meta blocks and the footer tile `[0, file_size)` exactly
/// (version 1: `index` lists every data block).
pub fn check_layout(footer: &Footer, index: &Index, file_size: u64) -> Result<(), Fault> {
    let mut regions: Vec<(u64, u64, &'static str)> = index
        .iter()
        .map(|(_, h)| (h.offset, h.size, "data"))
        .collect();
    regions.extend(footer_regions(footer, file_size));
    check_tiling(regions, file_size)
}

/// Checks that `regions` (offset, size, name) tile `[0, file_size)` exactly.
pub fn check_tiling(
    mut regions: Vec<(u64, u64, &'static str)>,
    file_size: u64,
) -> Result<(), Fault> {
    regions.retain(|r| r.1 > 0 || r.2 != "data");
    regions.sort_unstable();
    let mut pos = 0u64;
    for (off, size, name) in regions {
        if off != pos {
            let what = if off > pos { "gap" } else { "overlap" };
            return Err(Fault::new(
                off.min(pos),
                "bad_layout",
                format!(
                    "{what} before the {name} block at offset {off} (previous block ends at {pos})"
                ),
            )
            .values(pos.to_string(), off.to_string()));
        }
        pos = off.saturating_add(size);
    }
    if pos != file_size {
        return Err(Fault::new(
            pos.min(file_size),
            "bad_layout",
            format!("blocks end at {pos}, file is {file_size} bytes"),
        ));
    }
    Ok(())
}

/// Start of the first non-data block: where the data region must end.
pub fn data_region_end(footer: &Footer) -> u64 {
    let mut end = footer
        .filter
        .offset
        .min(footer.index.offset)
        .min(footer.properties.offset);
    if !footer.meta.is_absent() {
        end = end.min(footer.meta.offset);
    }
    end
}
