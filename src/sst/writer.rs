//! [`TableWriter`]: builds a table from entries given in strictly increasing key order, plus
//! range tombstones given in any order.
//!
//! Entries are encoded straight into one reusable output buffer; a finished data block is
//! sealed in place (offset array, type, CRC32) and the buffer is handed to the file in
//! batches of about 256 KiB, never one `append` per entry. Key hashes are kept while
//! writing and the bloom filter is built once, at `finish`. Range tombstones are kept in
//! memory and written, sorted, in the meta block at `finish`.

use crate::error::{Error, Result};
use crate::types::{
    FileNumber, RangeTombstone, SeqNo, TableMeta, ValueKind, MAX_KEY_LEN, MAX_VALUE_LEN,
};
use crate::vfs::WritableFile;

use super::block::encode_entry;
use super::bloom::{build_filter, key_hash};
use super::format::{
    encode_index, encode_properties, encode_range_tombstones, seal_block, tombstone_defect,
    tombstone_order, Footer, Handle, IndexEntry, BLOCK_DATA, BLOCK_FILTER, BLOCK_INDEX, BLOCK_META,
    BLOCK_PROPERTIES, FOOTER_LEN, FORMAT_VERSION,
};
use super::reader::TableProperties;
use super::TableOptions;

/// Bytes gathered before one `append`.
const FLUSH_BYTES: usize = 256 << 10;

/// Builds one table. See the module docs of [`crate::sst`] for the format.
pub struct TableWriter {
    file: Box<dyn WritableFile>,
    opts: TableOptions,
    /// Encoded bytes not yet appended to the file.
    out: Vec<u8>,
    /// Bytes already appended to the file.
    written: u64,
    /// Where the open data block starts in `out`.
    block_start: usize,
    /// Entry offsets of the open data block.
    offsets: Vec<u32>,
    /// Data blocks written so far.
    index: Vec<IndexEntry>,
    /// Sum of the index's key lengths (for the size estimate).
    index_key_bytes: u64,
    hashes: Vec<u64>,
    last_key: Vec<u8>,
    smallest: Vec<u8>,
    entries: u64,
    tombstones: u64,
    min_seq: u64,
    max_seq: u64,
    /// Range tombstones, in the order given; sorted at `finish`.
    range_tombstones: Vec<RangeTombstone>,
    /// Sum of the tombstones' start and end lengths (for the size estimate).
    range_tombstone_bytes: u64,
    /// An append failed: the file's contents are unknown, refuse further work.
    failed: bool,
}

impl TableWriter {
    /// Starts a table in `file` (expected to be empty).
    pub fn new(file: Box<dyn WritableFile>, opts: TableOptions) -> Self {
        TableWriter {
            file,
            opts,
            out: Vec::with_capacity(FLUSH_BYTES + opts.block_size.min(16 << 20) + 4096),
            written: 0,
            block_start: 0,
            offsets: Vec::new(),
            index: Vec::new(),
            index_key_bytes: 0,
            hashes: Vec::new(),
            last_key: Vec::new(),
            smallest: Vec::new(),
            entries: 0,
            tombstones: 0,
            min_seq: u64::MAX,
            max_seq: 0,
            range_tombstones: Vec::new(),
            range_tombstone_bytes: 0,
            failed: false,
        }
    }

    /// Adds an entry. Keys must be strictly increasing; a violation is
    /// [`Error::InvalidArgument`], as are keys or values over the engine's limits.
    pub fn add(&mut self, key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) -> Result<()> {
        if kind == ValueKind::RangeDelete {
            return Err(Error::InvalidArgument(
                "range tombstones go through add_range_tombstone, not add".into(),
            ));
        }
        if self.failed {
            return Err(failed());
        }
        if self.entries > 0 && key <= self.last_key.as_slice() {
            return Err(Error::InvalidArgument(format!(
                "table keys must be strictly increasing: {} after {}",
                super::format::show_key(key),
                super::format::show_key(&self.last_key)
            )));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(Error::InvalidArgument(format!(
                "key of {} bytes exceeds the {MAX_KEY_LEN}-byte limit",
                key.len()
            )));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::InvalidArgument(format!(
                "value of {} bytes exceeds the {MAX_VALUE_LEN}-byte limit",
                value.len()
            )));
        }
        if self.entries == 0 {
            self.smallest = key.to_vec();
        }
        self.offsets
            .push((self.out.len() - self.block_start) as u32);
        encode_entry(&mut self.out, key, seq.0, kind, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.hashes.push(key_hash(key));
        self.entries += 1;
        if kind == ValueKind::Delete {
            self.tombstones += 1;
        }
        self.min_seq = self.min_seq.min(seq.0);
        self.max_seq = self.max_seq.max(seq.0);
        if self.open_block_size() >= self.opts.block_size {
            self.finish_block();
            if self.out.len() >= FLUSH_BYTES {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Adds a range tombstone, in any order relative to other tombstones and to [`add`]. Its
    /// `start` must be below its `end`, both 1..=[`MAX_KEY_LEN`] bytes, else
    /// [`Error::InvalidArgument`]. Exact duplicates are stored once.
    ///
    /// [`add`]: TableWriter::add
    pub fn add_range_tombstone(&mut self, tombstone: &RangeTombstone) -> Result<()> {
        if self.failed {
            return Err(failed());
        }
        if let Some(defect) = tombstone_defect(&tombstone.start, &tombstone.end) {
            return Err(Error::InvalidArgument(defect));
        }
        self.range_tombstone_bytes += (tombstone.start.len() + tombstone.end.len()) as u64;
        self.range_tombstones.push(tombstone.clone());
        Ok(())
    }

    /// Payload size of the open data block so far (entries + offset array + count).
    fn open_block_size(&self) -> usize {
        self.out.len() - self.block_start + 4 * self.offsets.len() + 4
    }

    /// Seals the open data block in `out` and records it in the index.
    fn finish_block(&mut self) {
        if self.offsets.is_empty() {
            return;
        }
        for &o in &self.offsets {
            self.out.extend_from_slice(&o.to_le_bytes());
        }
        self.out
            .extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        seal_block(&mut self.out, self.block_start, BLOCK_DATA);
        let handle = Handle {
            offset: self.written + self.block_start as u64,
            size: (self.out.len() - self.block_start) as u64,
        };
        self.index_key_bytes += self.last_key.len() as u64;
        self.index.push(IndexEntry {
            last_key: self.last_key.clone(),
            handle,
        });
        self.offsets.clear();
        self.block_start = self.out.len();
    }

    /// Appends every sealed byte of `out` to the file.
    fn flush(&mut self) -> Result<()> {
        let sealed = self.block_start;
        if sealed == 0 {
            return Ok(());
        }
        if let Err(e) = self.file.append(&self.out[..sealed]) {
            self.failed = true;
            return Err(e);
        }
        self.written += sealed as u64;
        self.out.drain(..sealed);
        self.block_start = 0;
        Ok(())
    }

    /// Bytes the table would take if finished now (approximate).
    pub fn estimated_size(&self) -> u64 {
        let data = self.written + self.out.len() as u64 + 4 * self.offsets.len() as u64;
        let index = self.index_key_bytes + 12 * self.index.len() as u64;
        let filter = self.hashes.len() as u64 * u64::from(self.opts.bloom_bits_per_key) / 8;
        let meta = self.range_tombstone_bytes + 8 * self.range_tombstones.len() as u64;
        data + index + filter + meta + 2 * self.smallest.len() as u64 + 64 + FOOTER_LEN
    }

    /// Writes the last data block, the filter, index and properties blocks, the meta block
    /// (only when there are range tombstones) and the footer. Does not fsync. Returns the
    /// table's metadata (`number` left as 0 for the caller) and the file.
    ///
    /// A table with neither point entries nor range tombstones is refused with
    /// [`Error::InvalidArgument`]; one with range tombstones only has no data blocks. The
    /// metadata's key range covers both the point keys and the tombstones (`smallest` =
    /// min(first key, min start), `largest` = max(last key, max end), so with tombstones it
    /// is conservative: a tombstone's end is exclusive), and so does its sequence range;
    /// `entries` counts point entries only.
    pub fn finish(mut self) -> Result<(TableMeta, Box<dyn WritableFile>)> {
        if self.failed {
            return Err(failed());
        }
        if self.entries == 0 && self.range_tombstones.is_empty() {
            return Err(Error::InvalidArgument(
                "cannot write a table with no entries and no range tombstones".into(),
            ));
        }
        self.finish_block();

        let mut tombstones = std::mem::take(&mut self.range_tombstones);
        tombstones.sort_unstable_by(tombstone_order);
        tombstones.dedup();
        let (mut smallest, mut largest) = if self.entries > 0 {
            (
                std::mem::take(&mut self.smallest),
                std::mem::take(&mut self.last_key),
            )
        } else {
            (tombstones[0].start.clone(), tombstones[0].end.clone())
        };
        let (mut min_seq, mut max_seq) = (self.min_seq, self.max_seq);
        for t in &tombstones {
            if t.start < smallest {
                smallest.clone_from(&t.start);
            }
            if t.end > largest {
                largest.clone_from(&t.end);
            }
            min_seq = min_seq.min(t.seq.0);
            max_seq = max_seq.max(t.seq.0);
        }

        let base = self.written;
        let mut out = std::mem::take(&mut self.out);
        let block = |out: &mut Vec<u8>, tag: u8, fill: &dyn Fn(&mut Vec<u8>)| -> Handle {
            let start = out.len();
            fill(out);
            seal_block(out, start, tag);
            Handle {
                offset: base + start as u64,
                size: (out.len() - start) as u64,
            }
        };

        let bits = self.opts.bloom_bits_per_key;
        let hashes = std::mem::take(&mut self.hashes);
        let filter = block(&mut out, BLOCK_FILTER, &|o| build_filter(&hashes, bits, o));
        drop(hashes);
        let index_entries = std::mem::take(&mut self.index);
        let index = block(&mut out, BLOCK_INDEX, &|o| encode_index(&index_entries, o));
        let props = TableProperties {
            format_version: FORMAT_VERSION,
            entries: self.entries,
            tombstones: self.tombstones,
            min_seq,
            max_seq,
            data_blocks: index_entries.len() as u64,
            range_tombstones: tombstones.len() as u64,
            smallest,
            largest,
        };
        let properties = block(&mut out, BLOCK_PROPERTIES, &|o| {
            encode_properties(&props, o)
        });
        // No tombstones, no meta block: such a table is byte-identical to one written
        // before range tombstones existed.
        let meta = if tombstones.is_empty() {
            Handle::default()
        } else {
            block(&mut out, BLOCK_META, &|o| {
                encode_range_tombstones(&tombstones, o)
            })
        };
        Footer {
            filter,
            index,
            properties,
            meta,
            version: FORMAT_VERSION,
        }
        .encode(&mut out);

        self.file.append(&out)?;
        let size = base + out.len() as u64;
        let meta = TableMeta {
            number: FileNumber(0),
            size,
            entries: props.entries,
            smallest: props.smallest,
            largest: props.largest,
            min_seq: SeqNo(props.min_seq),
            max_seq: SeqNo(props.max_seq),
        };
        Ok((meta, self.file))
    }
}

fn failed() -> Error {
    Error::InvalidArgument("table writer already failed on an earlier write".into())
}
