//! [`Table`]: an open, validated table (footer, index, filter, properties and range tombstones
//! in memory), with point lookups and an ordered iterator that reads one CRC-checked data
//! block at a time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use crate::filenames::{self, FileKind};
use crate::types::{FileNumber, RangeTombstone, SeqNo, TableMeta, ValueKind};
use crate::vfs::{ReadableFile, Vfs};

use super::block::DataBlock;
use super::bloom::{key_hash, BloomFilter};
use super::cache::BlockCache;
use super::format::{
    check_block, check_layout, data_region_end, decode_index, decode_properties,
    decode_range_tombstones, show_key, Fault, Footer, Handle, Index, BLOCK_FILTER, BLOCK_INDEX,
    BLOCK_META, BLOCK_PROPERTIES, FOOTER_LEN,
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
}

/// Filter blocks up to this size are read and verified at open; larger ones on first use.
const EAGER_FILTER_BYTES: u64 = 4096;

/// Index blocks up to this size are decoded and cross-checked at open; larger ones on first
/// use (their checksum is always verified at open).
const EAGER_INDEX_BYTES: u64 = 64 << 10;

/// An open table. `Send + Sync`; readers share it in an `Arc`.
pub struct Table {
    path: PathBuf,
    file: Arc<dyn ReadableFile>,
    size: u64,
    number: FileNumber,
    props: TableProperties,
    /// The index block: read and checksummed at open; decoded (and checked against the layout
    /// and the properties) at open when small, else on first use, so a one-shot lookup decodes
    /// only the tables it touches.
    index: OnceLock<Index>,
    footer: Footer,
    /// Where the bloom filter block is; it is read (and CRC-checked) on the first lookup, so
    /// opening a table costs only its footer, properties, index and meta block.
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

/// Reads the block at `h`, checks its CRC and type, and returns it with the trailer removed.
fn read_meta_block(file: &dyn ReadableFile, h: Handle, tag: u8) -> Result<Vec<u8>> {
    let mut buf = read_region(file, h)?;
    let len = check_block(&buf, h.offset, tag).map_err(|f| f.into_error(file.path()))?;
    buf.truncate(len);
    Ok(buf)
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
        let props_buf = read_meta_block(&*file, footer.properties, BLOCK_PROPERTIES)?;
        let mut props = decode_properties(
            &props_buf,
            footer.properties.offset,
            footer.version,
            !footer.meta.is_absent(),
        )
        .map_err(fault)?;
        // IMPORTANT: the index block's checksum is verified at open (SPEC 2.3), whatever its
        // size; only the decoding may wait.
        let index_buf = read_meta_block(&*file, footer.index, BLOCK_INDEX)?;
        let range_tombstones = if footer.meta.is_absent() {
            Vec::new()
        } else {
            let meta_buf = read_meta_block(&*file, footer.meta, BLOCK_META)?;
            decode_range_tombstones(&meta_buf, footer.meta.offset).map_err(fault)?
        };
        props.range_tombstones = range_tombstones.len() as u64;
        let table = Table {
            path: path.to_path_buf(),
            file,
            size,
            number: number_from_path(path),
            props,
            index: OnceLock::new(),
            footer,
            filter_handle: footer.filter,
            filter: OnceLock::new(),
            range_tombstones,
            cache: cache.map(|c| (c, super::cache::next_table_id())),
        };
        // Small blocks cost nothing to decode now; large ones wait for the first lookup.
        if table.footer.index.size <= EAGER_INDEX_BYTES {
            table.decode_index_block(&index_buf)?;
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

    /// The decoded index, decoding it on first use.
    fn index(&self) -> Result<&Index> {
        if let Some(index) = self.index.get() {
            return Ok(index);
        }
        let buf = read_meta_block(&*self.file, self.footer.index, BLOCK_INDEX)?;
        self.decode_index_block(&buf)
    }

    /// Decodes the (checksummed) index payload, checks it against the file layout and the
    /// properties, and keeps it.
    fn decode_index_block(&self, buf: &[u8]) -> Result<&Index> {
        let fault = |f: Fault| f.into_error(&self.path);
        let footer = &self.footer;
        let index =
            decode_index(buf, footer.index.offset, data_region_end(footer)).map_err(fault)?;
        check_layout(footer, &index, self.size).map_err(fault)?;
        cross_check(
            &self.props,
            &index,
            Some(self.range_tombstones.as_slice()),
            footer.properties.offset,
        )
        .map_err(fault)?;
        // A racing reader may have set it first; both decoded the same verified bytes.
        Ok(self.index.get_or_init(|| index))
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
        let buf = read_meta_block(&*self.file, self.filter_handle, BLOCK_FILTER)?;
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
        let index = self.index()?;
        let idx = index.first_reaching(key);
        if idx == index.len() {
            return Ok(None);
        }
        let block = self.cached_block(idx)?;
        let fault = |f: Fault| f.into_error(&self.path);
        let i = block.lower_bound(key).map_err(fault)?;
        if i == block.len() {
            return Ok(None);
        }
        let e = block.entry_at(i).map_err(fault)?;
        if e.key != key {
            return Ok(None);
        }
        Ok(Some((SeqNo(e.seq), e.kind, e.value.to_vec())))
    }

    /// An ordered iterator over every point entry, positioned at the first (range tombstones
    /// are not included).
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter {
            table: Arc::clone(self),
            block_idx: 0,
            block: None,
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
        let index = self.index()?;
        let mut iter = TableRevIter {
            table: Arc::clone(self),
            block_idx: index.len(),
            block: None,
            remaining: 0,
            done: false,
        };
        let Some((key, exclusive)) = upper else {
            return Ok(iter);
        };
        let idx = index.first_reaching(key);
        if idx == index.len() {
            return Ok(iter);
        }
        let block = self.read_block(idx)?;
        let fault = |f: Fault| f.into_error(&self.path);
        let mut below = block.lower_bound(key).map_err(fault)?;
        if !exclusive && below < block.len() && block.key_at(below).map_err(fault)? == key {
            below += 1;
        }
        iter.block_idx = idx;
        iter.remaining = below;
        iter.block = Some(block);
        Ok(iter)
    }

    /// Reads and verifies data block `idx`, through the cache when a cached copy exists
    /// (scans: they do not fill the cache).
    fn read_block(&self, idx: usize) -> Result<Arc<DataBlock>> {
        self.load_block(idx, false)
    }

    /// [`Table::read_block`] that also fills the cache on a miss (point lookups).
    fn cached_block(&self, idx: usize) -> Result<Arc<DataBlock>> {
        self.load_block(idx, true)
    }

    fn load_block(&self, idx: usize, fill: bool) -> Result<Arc<DataBlock>> {
        let h = self.index()?.handle(idx);
        if let Some((cache, id)) = &self.cache {
            if let Some(block) = cache.get(*id, h.offset) {
                return Ok(block);
            }
        }
        let buf = read_region(&*self.file, h)?;
        let block = DataBlock::parse(buf, h.offset).map_err(|f| f.into_error(&self.path))?;
        let block = Arc::new(block);
        if let (true, Some((cache, id))) = (fill, &self.cache) {
            cache.insert(*id, h.offset, Arc::clone(&block));
        }
        Ok(block)
    }
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
    if props.data_blocks != index.len() as u64 {
        return Err(Fault::new(
            props_offset,
            "count_mismatch",
            format!(
                "properties list {} data blocks, the index {}",
                props.data_blocks,
                index.len()
            ),
        )
        .values(props.data_blocks.to_string(), index.len().to_string()));
    }
    let point_last = index.len().checked_sub(1).map(|i| index.last_key(i));
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
                let fits = if index.is_empty() {
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
                let fits = if index.is_empty() {
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
    if !index.is_empty() && index.last_key(0) < props.smallest.as_slice() {
        return Err(Fault::new(
            props_offset,
            "key_range_mismatch",
            "smallest key in properties is above the first block's last key",
        ));
    }
    Ok(())
}

/// A descending iterator over a table. Yields `Err` once on a damaged block, then ends.
pub struct TableRevIter {
    table: Arc<Table>,
    /// The block being read (`index.len()` before the first step from the end).
    block_idx: usize,
    block: Option<Arc<DataBlock>>,
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
            if let Some(block) = &self.block {
                if self.remaining > 0 {
                    self.remaining -= 1;
                    return Some(match block.entry_at(self.remaining) {
                        Ok(e) => Ok(Entry {
                            key: e.key.to_vec(),
                            seq: SeqNo(e.seq),
                            kind: e.kind,
                            value: e.value.to_vec(),
                        }),
                        Err(f) => {
                            self.done = true;
                            Err(f.into_error(&self.table.path))
                        }
                    });
                }
            }
            if self.block_idx == 0 {
                self.done = true;
                return None;
            }
            self.block_idx -= 1;
            match self.table.read_block(self.block_idx) {
                Ok(block) => {
                    self.remaining = block.len();
                    self.block = Some(block);
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
    entry_idx: usize,
    done: bool,
}

impl TableIter {
    /// Positions at the first entry with key >= `key`.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.done = false;
        self.block = None;
        self.entry_idx = 0;
        let index = match self.table.index() {
            Ok(index) => index,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        self.block_idx = index.first_reaching(key);
        if self.block_idx == index.len() {
            return Ok(());
        }
        let block = match self.table.read_block(self.block_idx) {
            Ok(b) => b,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        match block.lower_bound(key) {
            Ok(i) => {
                self.entry_idx = i;
                self.block = Some(block);
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
            let block = match &self.block {
                Some(b) => b,
                None => {
                    if self.block_idx >= self.table.data_blocks() {
                        self.done = true;
                        return None;
                    }
                    match self.table.read_block(self.block_idx) {
                        Ok(b) => {
                            self.entry_idx = 0;
                            self.block.insert(b)
                        }
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    }
                }
            };
            if self.entry_idx < block.len() {
                let i = self.entry_idx;
                self.entry_idx += 1;
                return Some(match block.entry_at(i) {
                    Ok(e) => Ok(Entry {
                        key: e.key.to_vec(),
                        seq: SeqNo(e.seq),
                        kind: e.kind,
                        value: e.value.to_vec(),
                    }),
                    Err(f) => {
                        self.done = true;
                        Err(f.into_error(&self.table.path))
                    }
                });
            }
            self.block = None;
            self.block_idx += 1;
        }
    }
}
