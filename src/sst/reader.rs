//! [`Table`]: an open, validated table (footer, index, filter, properties and range tombstones
//! in memory), with point lookups and an ordered iterator that reads one CRC-checked data
//! block at a time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use crate::filenames::{self, FileKind};
use crate::types::{FileNumber, RangeTombstone, SeqNo, TableMeta, ValueKind};
use crate::vfs::{ReadableFile, Vfs};

use super::block::{BlockEntries, DataBlock};
use super::bloom::{key_hash, BloomFilter};
use super::cache::BlockCache;
use super::compress::{open_block, Compression};
use super::format::{
    check_layout, check_tiling, data_region_end, decode_index, decode_properties,
    decode_range_tombstones, decode_top_index, footer_regions, show_key, Fault, Footer, Handle,
    Index, TopIndex, BLOCK_FILTER, BLOCK_INDEX, BLOCK_META, BLOCK_PROPERTIES, FOOTER_LEN,
};
use super::Entry;

/// What the properties block records about a table (plus the range tombstone count, which
/// comes from the meta block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableProperties {
    /// Format version (same as the footer's).
    pub format_version: u32,
    /// Point entries, puts and tombstones (range tombstones not included).
    pub entries: u64,
    /// Point tombstones (deletes) among them.
    pub tombstones: u64,
    /// Smallest sequence number, of point entries and range tombstones.
    pub min_seq: u64,
    /// Largest sequence number, of point entries and range tombstones.
    pub max_seq: u64,
    /// Number of data blocks (0 when the table holds range tombstones only).
    pub data_blocks: u64,
    /// Range tombstones in the meta block. Not stored in the properties block (whose
    /// version-1 layout is unchanged): derived from the meta block when the table is opened
    /// (0 when the footer's meta handle is absent). Ignored by the writer's encoder.
    pub range_tombstones: u64,
    /// Smallest key: the smallest point key or range tombstone start.
    pub smallest: Vec<u8>,
    /// Largest key: the largest point key or range tombstone end. A tombstone's end is
    /// exclusive, so with tombstones `[smallest, largest]` is a conservative (inclusive) bound.
    pub largest: Vec<u8>,
    /// The codec the writer used for data and index blocks (version 2; `none` for version 1).
    /// A block that did not shrink enough is stored raw whatever this says.
    pub compression: Compression,
    /// Index partitions (version 2; 0 for version 1 and for a table without data blocks).
    pub index_partitions: u64,
}

/// Filter blocks up to this size are read and verified at open; larger ones on first use.
const EAGER_FILTER_BYTES: u64 = 4096;

/// Version-1 index blocks up to this size are decoded and cross-checked at open; larger ones
/// on first use (their checksum is always verified at open).
const EAGER_INDEX_BYTES: u64 = 64 << 10;

/// A table's index.
enum TableIndex {
    /// Version 1: one index block over every data block; checksummed at open, decoded at open
    /// when small, else on first use.
    Flat(OnceLock<Index>),
    /// Version 2: the top-level index (decoded and checked at open) and its partitions, each
    /// read, checksummed and checked on first use, then kept.
    Partitioned {
        top: TopIndex,
        parts: Box<[OnceLock<Index>]>,
    },
}

/// An open table. `Send + Sync`; readers share it in an `Arc`.
pub struct Table {
    path: PathBuf,
    file: Arc<dyn ReadableFile>,
    size: u64,
    number: FileNumber,
    props: TableProperties,
    index: TableIndex,
    footer: Footer,
    /// Where the bloom filter block is; it is read (and CRC-checked) on the first lookup, so
    /// opening a table costs only its footer, properties, (top-level) index and meta block.
    filter_handle: Handle,
    filter: OnceLock<BloomFilter>,
    range_tombstones: Vec<RangeTombstone>,
    /// The shared block cache and this table's id in it.
    cache: Option<(Arc<BlockCache>, u64)>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("entries", &self.props.entries)
            .field("data_blocks", &self.props.data_blocks)
            .field("range_tombstones", &self.range_tombstones.len())
            .finish()
    }
}

/// Reads the whole block at `h` (already checked to lie inside the file).
pub(super) fn read_region(file: &dyn ReadableFile, h: Handle) -> Result<Vec<u8>> {
    let len = usize::try_from(h.size)
        .map_err(|_| Error::corruption(file.path(), h.offset, "block too large for memory"))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(h.offset, &mut buf)?;
    Ok(buf)
}

/// Reads the block at `h`, checks its CRC and type, and returns its payload (decompressed when
/// needed) and whether it was stored raw.
fn read_meta_block(file: &dyn ReadableFile, h: Handle, tag: u8) -> Result<(Vec<u8>, bool)> {
    let buf = read_region(file, h)?;
    open_block(buf, h.offset, tag).map_err(|f| f.into_error(file.path()))
}

/// Decodes and checks index partition `p` of a version-2 table from its stored bytes: the data
/// blocks it lists are contiguous over exactly the byte and block-number span the top-level
/// index gives it, and it ends with the top-level entry's key.
pub(super) fn decode_partition(
    top: &TopIndex,
    p: usize,
    stored: Vec<u8>,
    data_blocks: u64,
) -> std::result::Result<Index, Fault> {
    let h = top.partitions.handle(p);
    let (payload, raw) = open_block(stored, h.offset, BLOCK_INDEX)?;
    let ((first_block, blocks_end), (first_offset, bytes_end)) =
        top.span(p, data_blocks, top.data_end());
    let (index, end) = decode_index(&payload, h.offset, raw, 2, first_offset, bytes_end)?;
    let mismatch = |what: String| Fault::new(h.offset, "index_mismatch", what);
    if index.len() as u64 != blocks_end - first_block {
        return Err(mismatch(format!(
            "index partition {p} lists {} data blocks, the top-level index {}",
            index.len(),
            blocks_end - first_block
        ))
        .values(
            (blocks_end - first_block).to_string(),
            index.len().to_string(),
        ));
    }
    if end != bytes_end {
        return Err(Fault::new(
            h.offset,
            "bad_layout",
            format!(
                "index partition {p}'s data blocks end at {end}, the next start at {bytes_end}"
            ),
        )
        .values(bytes_end.to_string(), end.to_string()));
    }
    let last = index.last_key(index.len() - 1);
    if last != top.partitions.last_key(p) {
        return Err(mismatch(format!(
            "index partition {p} ends with a key the top-level index does not name"
        ))
        .values(show_key(top.partitions.last_key(p)), show_key(last)));
    }
    if p > 0 && index.last_key(0) <= top.partitions.last_key(p - 1) {
        return Err(Fault::new(
            h.offset,
            "key_order",
            format!("index partition {p} starts at or below the previous partition's last key"),
        ));
    }
    Ok(index)
}

/// The file number in a table's name, 0 when the name is not a table name.
pub(super) fn number_from_path(path: &Path) -> FileNumber {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(filenames::parse)
        .and_then(|k| match k {
            FileKind::Table(n) => Some(n),
            _ => None,
        })
        .unwrap_or_default()
}

impl Table {
    /// Opens and validates a table: size, footer (magic, version, CRC), and the index, filter,
    /// properties and meta (range tombstone) blocks (CRC, structure, and that blocks and
    /// footer tile the file).
    /// With `expected_size`, a different file size is [`Error::Corruption`].
    pub fn open(vfs: &dyn Vfs, path: &Path, expected_size: Option<u64>) -> Result<Table> {
        Self::open_cached(vfs, path, expected_size, None)
    }

    /// [`Table::open`], with point lookups served through a shared block cache.
    ///
    /// # Errors
    /// As [`Table::open`].
    pub fn open_cached(
        vfs: &dyn Vfs,
        path: &Path,
        expected_size: Option<u64>,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Table> {
        let file = vfs.open_read(path)?;
        let size = file.size();
        if let Some(expected) = expected_size {
            if expected != size {
                return Err(Error::corruption(
                    path,
                    size.min(expected),
                    format!("table size mismatch: expected {expected} bytes, found {size}"),
                ));
            }
        }
        if size < FOOTER_LEN {
            return Err(Error::corruption(
                path,
                0,
                format!("truncated table: {size} bytes, shorter than the {FOOTER_LEN}-byte footer"),
            ));
        }
        let footer_at = size - FOOTER_LEN;
        let mut fbuf = [0u8; FOOTER_LEN as usize];
        file.read_exact_at(footer_at, &mut fbuf)?;
        let footer = Footer::decode(&fbuf, footer_at).map_err(|f| f.into_error(path))?;

        let fault = |f: Fault| f.into_error(path);
        let (props_buf, _) = read_meta_block(&*file, footer.properties, BLOCK_PROPERTIES)?;
        let mut props = decode_properties(
            &props_buf,
            footer.properties.offset,
            footer.version,
            !footer.meta.is_absent(),
        )
        .map_err(fault)?;
        // IMPORTANT: the (top-level) index block's checksum is verified at open (SPEC 2.3),
        // whatever its size; a version-1 index may be decoded later.
        let (index_buf, index_raw) = read_meta_block(&*file, footer.index, BLOCK_INDEX)?;
        let range_tombstones = if footer.meta.is_absent() {
            Vec::new()
        } else {
            let (meta_buf, _) = read_meta_block(&*file, footer.meta, BLOCK_META)?;
            decode_range_tombstones(&meta_buf, footer.meta.offset).map_err(fault)?
        };
        props.range_tombstones = range_tombstones.len() as u64;
        let index = if footer.version >= 2 {
            let top = decode_top_index(
                &index_buf,
                footer.index.offset,
                index_raw,
                props.data_blocks,
            )
            .map_err(fault)?;
            check_top_index(&footer, &top, &props, &range_tombstones, size).map_err(fault)?;
            let parts = (0..top.partitions.len()).map(|_| OnceLock::new()).collect();
            TableIndex::Partitioned { top, parts }
        } else {
            TableIndex::Flat(OnceLock::new())
        };
        let table = Table {
            path: path.to_path_buf(),
            file,
            size,
            number: number_from_path(path),
            props,
            index,
            footer,
            filter_handle: footer.filter,
            filter: OnceLock::new(),
            range_tombstones,
            cache: cache.map(|c| (c, super::cache::next_table_id())),
        };
        // Small blocks cost nothing to decode now; large ones wait for the first lookup.
        if matches!(table.index, TableIndex::Flat(_))
            && table.footer.index.size <= EAGER_INDEX_BYTES
        {
            table.decode_flat_index(&index_buf)?;
        }
        drop(index_buf);
        if table.filter_handle.size <= EAGER_FILTER_BYTES {
            table.filter()?;
        }
        Ok(table)
    }

    /// The path the table was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file: still readable after a compaction removed the table's name.
    pub(crate) fn file(&self) -> &Arc<dyn ReadableFile> {
        &self.file
    }

    /// The table's metadata from its properties block; `number` from the file name (0 when
    /// the name is not a table name), `size` the file size.
    pub fn meta(&self) -> TableMeta {
        TableMeta {
            number: self.number,
            size: self.size,
            entries: self.props.entries,
            smallest: self.props.smallest.clone(),
            largest: self.props.largest.clone(),
            min_seq: SeqNo(self.props.min_seq),
            max_seq: SeqNo(self.props.max_seq),
        }
    }

    /// Everything the properties block records.
    pub fn properties(&self) -> &TableProperties {
        &self.props
    }

    /// Number of data blocks (from the properties, which open checks against the index).
    pub fn data_blocks(&self) -> usize {
        self.props.data_blocks as usize
    }

    /// The version-1 index, decoding it on first use.
    fn flat(&self) -> Result<&Index> {
        let TableIndex::Flat(cell) = &self.index else {
            unreachable!("flat() on a partitioned index")
        };
        if let Some(index) = cell.get() {
            return Ok(index);
        }
        let (buf, _) = read_meta_block(&*self.file, self.footer.index, BLOCK_INDEX)?;
        self.decode_flat_index(&buf)
    }

    /// Decodes the (checksummed) version-1 index payload, checks it against the file layout
    /// and the properties, and keeps it.
    fn decode_flat_index(&self, buf: &[u8]) -> Result<&Index> {
        let fault = |f: Fault| f.into_error(&self.path);
        let footer = &self.footer;
        let data_end = data_region_end(footer);
        let (index, end) =
            decode_index(buf, footer.index.offset, true, 1, 0, data_end).map_err(fault)?;
        check_data_end(end, data_end).map_err(fault)?;
        check_layout(footer, &index, self.size).map_err(fault)?;
        cross_check(
            &self.props,
            &index,
            Some(self.range_tombstones.as_slice()),
            footer.properties.offset,
        )
        .map_err(fault)?;
        let TableIndex::Flat(cell) = &self.index else {
            unreachable!("decode_flat_index on a partitioned index")
        };
        // A racing reader may have set it first; both decoded the same verified bytes.
        Ok(cell.get_or_init(|| index))
    }

    /// Partition `p` of a version-2 index, read and checked on first use.
    fn partition<'a>(
        &'a self,
        top: &TopIndex,
        parts: &'a [OnceLock<Index>],
        p: usize,
    ) -> Result<&'a Index> {
        if let Some(index) = parts[p].get() {
            return Ok(index);
        }
        let stored = read_region(&*self.file, top.partitions.handle(p))?;
        let index = decode_partition(top, p, stored, self.props.data_blocks)
            .map_err(|f| f.into_error(&self.path))?;
        Ok(parts[p].get_or_init(|| index))
    }

    /// The number of the first data block whose last key is `>= key` (`data_blocks()` when
    /// none), and its handle.
    fn locate(&self, key: &[u8]) -> Result<Option<(usize, Handle)>> {
        match &self.index {
            TableIndex::Flat(_) => {
                let index = self.flat()?;
                let i = index.first_reaching(key);
                Ok((i < index.len()).then(|| (i, index.handle(i))))
            }
            TableIndex::Partitioned { top, parts } => {
                let p = top.partitions.first_reaching(key);
                if p == top.partitions.len() {
                    return Ok(None);
                }
                let part = self.partition(top, parts, p)?;
                // The partition ends with the top-level key, which is >= key.
                let j = part.first_reaching(key).min(part.len() - 1);
                Ok(Some((top.first_block[p] as usize + j, part.handle(j))))
            }
        }
    }

    /// Where data block number `idx` (< `data_blocks()`) is.
    fn block_handle(&self, idx: usize) -> Result<Handle> {
        match &self.index {
            TableIndex::Flat(_) => Ok(self.flat()?.handle(idx)),
            TableIndex::Partitioned { top, parts } => {
                let p = top
                    .first_block
                    .partition_point(|&first| first <= idx as u64)
                    .saturating_sub(1);
                let part = self.partition(top, parts, p)?;
                let j = idx - top.first_block[p] as usize;
                part.handles_get(j).ok_or_else(|| {
                    Error::corruption(
                        &self.path,
                        top.partitions.handle(p).offset,
                        "index partition too short",
                    )
                })
            }
        }
    }

    /// The table's range tombstones (decoded and CRC-checked at open), sorted by start
    /// ascending, then sequence number descending, then end ascending. [`Table::get`] and
    /// [`Table::iter`] do not apply them: they return point entries only.
    pub fn range_tombstones(&self) -> &[RangeTombstone] {
        &self.range_tombstones
    }

    /// True when the bloom filter says `key` may be in the table (the filter block is read
    /// and verified on first use).
    ///
    /// # Errors
    /// I/O errors or a damaged filter block, naming the file and offset.
    pub fn may_contain(&self, key: &[u8]) -> Result<bool> {
        Ok(self.filter()?.may_contain(key_hash(key)))
    }

    fn filter(&self) -> Result<&BloomFilter> {
        if let Some(filter) = self.filter.get() {
            return Ok(filter);
        }
        let (buf, _) = read_meta_block(&*self.file, self.filter_handle, BLOCK_FILTER)?;
        let filter = BloomFilter::decode(&buf, self.filter_handle.offset)
            .map_err(|f| f.into_error(&self.path))?;
        // A racing reader may have set it first; both read the same verified bytes.
        Ok(self.filter.get_or_init(|| filter))
    }

    /// The (only) point version of `key` in this table: key range and bloom filter first,
    /// then the index, then one CRC-checked block read and a binary search inside it. Range
    /// tombstones are not applied (see [`Table::range_tombstones`]).
    pub fn get(&self, key: &[u8]) -> Result<Option<(SeqNo, ValueKind, Vec<u8>)>> {
        if self.props.data_blocks == 0 {
            return Ok(None);
        }
        if key < self.props.smallest.as_slice() || key > self.props.largest.as_slice() {
            return Ok(None);
        }
        if !self.may_contain(key)? {
            return Ok(None);
        }
        let Some((_, h)) = self.locate(key)? else {
            return Ok(None);
        };
        let block = self.load_block(h, true)?;
        let found = block.get(key).map_err(|f| f.into_error(&self.path))?;
        Ok(found.map(|(seq, kind, value)| (SeqNo(seq), kind, value.to_vec())))
    }

    /// An ordered iterator over every point entry, positioned at the first (range tombstones
    /// are not included).
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter {
            table: Arc::clone(self),
            block_idx: 0,
            block: None,
            entries: None,
            entry_idx: 0,
            done: false,
        }
    }

    /// An iterator over every point entry in descending key order, from the last key
    /// `<= upper` (`< upper` when `exclusive`; the last key when `upper` is `None`).
    ///
    /// # Errors
    /// A damaged block while positioning, naming the file and offset.
    pub fn iter_rev(self: &Arc<Self>, upper: Option<(&[u8], bool)>) -> Result<TableRevIter> {
        let mut iter = TableRevIter {
            table: Arc::clone(self),
            block_idx: self.data_blocks(),
            block: None,
            entries: None,
            remaining: 0,
            done: false,
        };
        let Some((key, exclusive)) = upper else {
            return Ok(iter);
        };
        let Some((idx, h)) = self.locate(key)? else {
            return Ok(iter);
        };
        let block = self.load_block(h, false)?;
        let fault = |f: Fault| f.into_error(&self.path);
        let entries = block.entries(None).map_err(fault)?;
        let mut below = entries.lower_bound(&block, key).map_err(fault)?;
        if !exclusive
            && below < entries.len()
            && entries.key_at(&block, below).map_err(fault)? == key
        {
            below += 1;
        }
        iter.block_idx = idx;
        iter.remaining = below;
        iter.block = Some(block);
        iter.entries = Some(entries);
        Ok(iter)
    }

    /// Reads and verifies data block number `idx` through the cache when a cached copy exists
    /// (scans: they do not fill the cache).
    fn read_block(&self, idx: usize) -> Result<Arc<DataBlock>> {
        let h = self.block_handle(idx)?;
        self.load_block(h, false)
    }

    /// Reads, verifies and decompresses the data block at `h`, through the cache; `fill`
    /// (point lookups) also fills the cache on a miss.
    fn load_block(&self, h: Handle, fill: bool) -> Result<Arc<DataBlock>> {
        if let Some((cache, id)) = &self.cache {
            if let Some(block) = cache.get(*id, h.offset) {
                return Ok(block);
            }
        }
        let buf = read_region(&*self.file, h)?;
        let block = DataBlock::parse(buf, h.offset, self.footer.version)
            .map_err(|f| f.into_error(&self.path))?;
        let block = Arc::new(block);
        if let (true, Some((cache, id))) = (fill, &self.cache) {
            cache.insert(*id, h.offset, Arc::clone(&block));
        }
        Ok(block)
    }
}

/// A version-1 index must end exactly where the data region does.
fn check_data_end(end: u64, data_end: u64) -> std::result::Result<(), Fault> {
    if end != data_end {
        return Err(Fault::new(
            data_end.min(end),
            "bad_layout",
            format!("data blocks end at {end}, but the next block starts at {data_end}"),
        )
        .values(data_end.to_string(), end.to_string()));
    }
    Ok(())
}

/// What open checks of a version-2 table's top-level index: the partition count the properties
/// record, that the data region, the partitions, the other blocks and the footer tile the file,
/// and the key range against the properties and range tombstones.
fn check_top_index(
    footer: &Footer,
    top: &TopIndex,
    props: &TableProperties,
    tombstones: &[RangeTombstone],
    size: u64,
) -> std::result::Result<(), Fault> {
    if top.partitions.len() as u64 != props.index_partitions {
        return Err(Fault::new(
            footer.properties.offset,
            "count_mismatch",
            format!(
                "properties list {} index partitions, the top-level index {}",
                props.index_partitions,
                top.partitions.len()
            ),
        )
        .values(
            props.index_partitions.to_string(),
            top.partitions.len().to_string(),
        ));
    }
    let mut regions = vec![(0, top.data_end(), "data")];
    regions.extend(
        top.partitions
            .iter()
            .map(|(_, h)| (h.offset, h.size, "index partition")),
    );
    regions.extend(footer_regions(footer, size));
    check_tiling(regions, size)?;
    check_key_range(
        props,
        props.data_blocks,
        top.partitions
            .len()
            .checked_sub(1)
            .map(|i| top.partitions.last_key(i)),
        top.partitions
            .len()
            .checked_sub(1)
            .map(|_| top.partitions.last_key(0)),
        Some(tombstones),
        footer.properties.offset,
    )
}

/// Checks the properties against the index and the range tombstones. `tombstones` is `None`
/// when the meta block could not be read (the checker goes on): then only what the index
/// alone shows is checked.
pub(super) fn cross_check(
    props: &TableProperties,
    index: &Index,
    tombstones: Option<&[RangeTombstone]>,
    props_offset: u64,
) -> Result<(), Fault> {
    check_key_range(
        props,
        index.len() as u64,
        index.len().checked_sub(1).map(|i| index.last_key(i)),
        (!index.is_empty()).then(|| index.last_key(0)),
        tombstones,
        props_offset,
    )
}

/// [`cross_check`] from what an index shows: the number of data blocks, the last point key
/// and the first block's last key (or any key known to be at or above the smallest point key).
fn check_key_range(
    props: &TableProperties,
    blocks: u64,
    point_last: Option<&[u8]>,
    first_block_last: Option<&[u8]>,
    tombstones: Option<&[RangeTombstone]>,
    props_offset: u64,
) -> Result<(), Fault> {
    if props.data_blocks != blocks {
        return Err(Fault::new(
            props_offset,
            "count_mismatch",
            format!(
                "properties list {} data blocks, the index {blocks}",
                props.data_blocks,
            ),
        )
        .values(props.data_blocks.to_string(), blocks.to_string()));
    }
    let range_mismatch = |what: &str, expected: &[u8], actual: &[u8]| {
        Fault::new(props_offset, "key_range_mismatch", what.to_string())
            .values(show_key(expected), show_key(actual))
    };
    match tombstones {
        Some(ts) => {
            // largest = max(last point key, max tombstone end), exactly.
            let ts_end = ts.iter().map(|t| t.end.as_slice()).max();
            let expected = point_last.max(ts_end).unwrap_or(&[]);
            if expected != props.largest.as_slice() {
                return Err(range_mismatch(
                    "largest key in properties differs from max(index's last key, range \
                     tombstone ends)",
                    &props.largest,
                    expected,
                ));
            }
            if let Some(start) = ts.iter().map(|t| t.start.as_slice()).min() {
                let fits = if blocks == 0 {
                    start == props.smallest.as_slice()
                } else {
                    start >= props.smallest.as_slice()
                };
                if !fits {
                    return Err(range_mismatch(
                        "range tombstones start outside the properties' key range",
                        &props.smallest,
                        start,
                    ));
                }
            }
            if let (Some(lo), Some(hi)) = (
                ts.iter().map(|t| t.seq.0).min(),
                ts.iter().map(|t| t.seq.0).max(),
            ) {
                let fits = if blocks == 0 {
                    lo == props.min_seq && hi == props.max_seq
                } else {
                    lo >= props.min_seq && hi <= props.max_seq
                };
                if !fits {
                    return Err(Fault::new(
                        props_offset,
                        "seq_range_mismatch",
                        "range tombstone sequence numbers fall outside the properties' range",
                    )
                    .values(
                        format!("{}..={}", props.min_seq, props.max_seq),
                        format!("{lo}..={hi}"),
                    ));
                }
            }
        }
        None => {
            if point_last.is_some_and(|last| last > props.largest.as_slice()) {
                return Err(range_mismatch(
                    "largest key in properties is below the index's last key",
                    &props.largest,
                    point_last.unwrap_or(&[]),
                ));
            }
        }
    }
    if first_block_last.is_some_and(|k| k < props.smallest.as_slice()) {
        return Err(Fault::new(
            props_offset,
            "key_range_mismatch",
            "smallest key in properties is above the first block's last key",
        ));
    }
    Ok(())
}

/// A block being read by an iterator: the shared block and its decoded entry positions.
fn open_entries(
    table: &Table,
    idx: usize,
    reuse: Option<BlockEntries>,
) -> Result<(Arc<DataBlock>, BlockEntries)> {
    let block = table.read_block(idx)?;
    let entries = block
        .entries(reuse)
        .map_err(|f| f.into_error(&table.path))?;
    Ok((block, entries))
}

/// Entry `i` of a decoded block, owned.
fn owned_entry(
    table: &Table,
    block: &DataBlock,
    entries: &BlockEntries,
    i: usize,
) -> Result<Entry> {
    match entries.entry_at(block, i) {
        Ok(e) => Ok(Entry {
            key: e.key.to_vec(),
            seq: SeqNo(e.seq),
            kind: e.kind,
            value: e.value.to_vec(),
        }),
        Err(f) => Err(f.into_error(&table.path)),
    }
}

/// A descending iterator over a table. Yields `Err` once on a damaged block, then ends.
pub struct TableRevIter {
    table: Arc<Table>,
    /// The block being read (`data_blocks()` before the first step from the end).
    block_idx: usize,
    block: Option<Arc<DataBlock>>,
    entries: Option<BlockEntries>,
    /// Entries of `block` not yet returned: the next one is `remaining - 1`.
    remaining: usize,
    done: bool,
}

impl Iterator for TableRevIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if let (Some(block), Some(entries)) = (&self.block, &self.entries) {
                if self.remaining > 0 {
                    self.remaining -= 1;
                    let e = owned_entry(&self.table, block, entries, self.remaining);
                    self.done = e.is_err();
                    return Some(e);
                }
            }
            if self.block_idx == 0 {
                self.done = true;
                return None;
            }
            self.block_idx -= 1;
            match open_entries(&self.table, self.block_idx, self.entries.take()) {
                Ok((block, entries)) => {
                    self.remaining = entries.len();
                    self.block = Some(block);
                    self.entries = Some(entries);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// An ordered iterator over a table. Yields `Err` once on a damaged block, then ends.
pub struct TableIter {
    table: Arc<Table>,
    block_idx: usize,
    block: Option<Arc<DataBlock>>,
    /// The decoded entries of `block` (buffers reused from block to block).
    entries: Option<BlockEntries>,
    entry_idx: usize,
    done: bool,
}

impl TableIter {
    /// Positions at the first entry with key >= `key`.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.done = false;
        self.block = None;
        self.entry_idx = 0;
        let located = match self.table.locate(key) {
            Ok(l) => l,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let Some((idx, _)) = located else {
            self.block_idx = self.table.data_blocks();
            return Ok(());
        };
        self.block_idx = idx;
        let (block, entries) = match open_entries(&self.table, idx, self.entries.take()) {
            Ok(b) => b,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        match entries.lower_bound(&block, key) {
            Ok(i) => {
                self.entry_idx = i;
                self.block = Some(block);
                self.entries = Some(entries);
                Ok(())
            }
            Err(f) => {
                self.done = true;
                Err(f.into_error(&self.table.path))
            }
        }
    }

    /// Positions at the first entry of the table.
    pub fn seek_to_first(&mut self) {
        self.done = false;
        self.block = None;
        self.block_idx = 0;
        self.entry_idx = 0;
    }
}

impl Iterator for TableIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if self.block.is_none() {
                if self.block_idx >= self.table.data_blocks() {
                    self.done = true;
                    return None;
                }
                match open_entries(&self.table, self.block_idx, self.entries.take()) {
                    Ok((block, entries)) => {
                        self.entry_idx = 0;
                        self.block = Some(block);
                        self.entries = Some(entries);
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            if let (Some(block), Some(entries)) = (&self.block, &self.entries) {
                if self.entry_idx < entries.len() {
                    let i = self.entry_idx;
                    self.entry_idx += 1;
                    let e = owned_entry(&self.table, block, entries, i);
                    self.done = e.is_err();
                    return Some(e);
                }
            }
            self.block = None;
            self.block_idx += 1;
        }
    }
}
