//! Shared encoding pieces of the table format: block trailers, handles, the footer, the index
//! and properties blocks, the layout (tiling) check, and [`Fault`], the one description of a
//! bad byte used by both the reader (turned into an [`Error`]) and the checker (turned into a
//! [`TableProblem`]).

use std::path::Path;

use crate::codec::{crc32, get_u32, put_bytes, put_u32, put_u64, put_varint, Decoder};
use crate::error::Error;
use crate::types::{RangeTombstone, SeqNo, MAX_KEY_LEN};

use super::check::TableProblem;
use super::reader::TableProperties;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
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

/// Checks a whole block (payload + trailer) read from `offset` and returns its payload length.
pub fn check_block(block: &[u8], offset: u64, expected_type: u8) -> Result<usize, Fault> {
    let len = block.len();
    if len < BLOCK_TRAILER {
        return Err(Fault::new(
            offset,
            "bad_block",
            format!("{len}-byte block is shorter than its trailer"),
        ));
    }
    let stored = get_u32(block, len - 4).unwrap_or(0);
    let actual = crc32(&block[..len - 4]);
    if stored != actual {
        return Err(Fault::new(
            offset,
            "checksum_mismatch",
            format!(
                "{} block checksum mismatch (expected 0x{stored:08x}, found 0x{actual:08x})",
                block_type_name(expected_type)
            ),
        )
        .values(format!("0x{stored:08x}"), format!("0x{actual:08x}")));
    }
    let tag = block[len - BLOCK_TRAILER];
    if tag != expected_type {
        return Err(Fault::new(
            offset,
            "bad_block",
            format!(
                "block has type {tag} ({}), expected {expected_type} ({})",
                block_type_name(tag),
                block_type_name(expected_type)
            ),
        )
        .values(expected_type.to_string(), tag.to_string()));
    }
    Ok(len - BLOCK_TRAILER)
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
        if version != FORMAT_VERSION {
            let mut f = Fault::new(
                offset + 64,
                "unsupported_version",
                format!("unsupported table format version {version} (this build reads {FORMAT_VERSION})"),
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

/// One index entry: the last key of a data block and where the block is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub last_key: Vec<u8>,
    pub handle: Handle,
}

pub fn encode_index(entries: &[IndexEntry], buf: &mut Vec<u8>) {
    put_varint(buf, entries.len() as u64);
    for e in entries {
        put_bytes(buf, &e.last_key);
        put_varint(buf, e.handle.offset);
        put_varint(buf, e.handle.size);
    }
}

/// Decodes the index payload (the block at `offset`) and checks that its data blocks are in
/// order, contiguous from offset 0, ending at `data_end`, with strictly increasing last keys.
pub fn decode_index(payload: &[u8], offset: u64, data_end: u64) -> Result<Index, Fault> {
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
    // empty, which the `next_offset != data_end` check below enforces.
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
    if u32::try_from(payload.len()).is_err() {
        return Err(Fault::new(
            offset,
            "bad_block",
            "index block larger than 4 GiB",
        ));
    }
    let count = count as usize;
    let mut index = Index {
        keys: Vec::with_capacity(payload.len()),
        ends: Vec::with_capacity(count),
        handles: Vec::with_capacity(count),
        prefixes: Vec::with_capacity(count),
    };
    let mut next_offset = 0u64;
    for i in 0..count {
        let at = offset + d.position() as u64;
        let key = d.bytes().map_err(|e| short(&d, e))?;
        let h = Handle {
            offset: d.varint().map_err(|e| short(&d, e))?,
            size: d.varint().map_err(|e| short(&d, e))?,
        };
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
    }
    if !d.is_empty() {
        return Err(Fault::new(
            offset + d.position() as u64,
            "bad_block",
            format!("index block has {} trailing bytes", d.remaining()),
        ));
    }
    if next_offset != data_end {
        return Err(Fault::new(
            offset,
            "bad_layout",
            format!("data blocks end at {next_offset}, but the next block starts at {data_end}"),
        )
        .values(data_end.to_string(), next_offset.to_string()));
    }
    Ok(index)
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

/// Checks that the data blocks, the meta blocks and the footer tile `[0, file_size)` exactly.
pub fn check_layout(footer: &Footer, index: &Index, file_size: u64) -> Result<(), Fault> {
    let mut regions: Vec<(u64, u64, &'static str)> = index
        .iter()
        .map(|(_, h)| (h.offset, h.size, "data"))
        .collect();
    regions.push((footer.filter.offset, footer.filter.size, "filter"));
    regions.push((footer.index.offset, footer.index.size, "index"));
    regions.push((
        footer.properties.offset,
        footer.properties.size,
        "properties",
    ));
    if !footer.meta.is_absent() {
        regions.push((footer.meta.offset, footer.meta.size, "meta"));
    }
    regions.push((file_size.saturating_sub(FOOTER_LEN), FOOTER_LEN, "footer"));
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
