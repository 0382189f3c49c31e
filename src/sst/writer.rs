//! [`TableWriter`]: builds a table from entries given in strictly increasing key order, plus
//! range tombstones given in any order.
//!
//! Entries are prefix-encoded into one reusable block buffer; a finished data block is
//! compressed (when that pays) and sealed (type, CRC32) into the output buffer, which is
//! handed to the file in batches of about 256 KiB, never one `append` per entry. Index
//! entries go into index partitions of about `block_size`, kept in memory (sealed) and
//! written after the data blocks, followed by the top-level index at `finish`. Key hashes are kept while
//! writing and the bloom filter is built once, at `finish`. Range tombstones are kept in
//! memory and written, sorted, in the meta block at `finish`.

use crate::error::{Error, Result};
use crate::types::{
    FileNumber, RangeTombstone, SeqNo, TableMeta, ValueKind, MAX_KEY_LEN, MAX_VALUE_LEN,
};
use crate::vfs::WritableFile;

use super::block::PrefixBlockBuilder;
use super::bloom::{build_filter, key_hash};
use super::compress::BlockCompressor;
use super::format::{
    encode_handle_rest, encode_properties, encode_range_tombstones, seal_block, tombstone_defect,
    tombstone_order, Footer, Handle, BLOCK_DATA, BLOCK_FILTER, BLOCK_INDEX, BLOCK_META,
    BLOCK_PROPERTIES, FOOTER_LEN, FORMAT_VERSION,
};
use super::reader::TableProperties;
use super::TableOptions;

/// Bytes gathered before one `append`.
const FLUSH_BYTES: usize = 256 << 10;

/// A sealed index partition, kept in memory until the data blocks are written.
struct Partition {
    last_key: Vec<u8>,
    /// Offset and size inside `TableWriter::partitions`.
    at: usize,
    size: usize,
    first_block: u64,
    first_offset: u64,
}

/// Builds one table. See the module docs of [`crate::sst`] for the format.
pub struct TableWriter {
    file: Box<dyn WritableFile>,
    opts: TableOptions,
    compressor: BlockCompressor,
    /// Sealed bytes not yet appended to the file.
    out: Vec<u8>,
    /// Bytes already appended to the file.
    written: u64,
    /// The open data block.
    block: PrefixBlockBuilder,
    /// The open index partition (one entry per data block) and where it started.
    index_block: PrefixBlockBuilder,
    index_block_first: (u64, u64),
    /// Sealed index partitions, written after the data blocks.
    partitions: Vec<u8>,
    partition_list: Vec<Partition>,
    /// Data blocks written so far.
    data_blocks: u64,
    hashes: Vec<u64>,
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
            compressor: BlockCompressor::new(opts.compression, opts.zstd_level),
            out: Vec::with_capacity(FLUSH_BYTES + opts.block_size.min(16 << 20) + 4096),
            written: 0,
            block: PrefixBlockBuilder::new(opts.restart_interval),
            index_block: PrefixBlockBuilder::new(opts.restart_interval),
            index_block_first: (0, 0),
            partitions: Vec::new(),
            partition_list: Vec::new(),
            data_blocks: 0,
            hashes: Vec::new(),
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

    /// The last key added (empty before the first).
    fn last_key(&self) -> &[u8] {
        if self.block.is_empty() {
            self.index_block_last_key()
        } else {
            self.block.last_key()
        }
    }

    fn index_block_last_key(&self) -> &[u8] {
        if self.index_block.is_empty() {
            self.partition_list
                .last()
                .map(|p| p.last_key.as_slice())
                .unwrap_or(&[])
        } else {
            self.index_block.last_key()
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
        if self.entries > 0 && key <= self.last_key() {
            return Err(Error::InvalidArgument(format!(
                "table keys must be strictly increasing: {} after {}",
                super::format::show_key(key),
                super::format::show_key(self.last_key())
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
        let mut head = [0u8; 11];
        let head_len = encode_seq_kind(&mut head, seq.0, kind);
        self.block.add(key, &head[..head_len], value);
        self.hashes.push(key_hash(key));
        self.entries += 1;
        if kind == ValueKind::Delete {
            self.tombstones += 1;
        }
        self.min_seq = self.min_seq.min(seq.0);
        self.max_seq = self.max_seq.max(seq.0);
        if self.block.size() >= self.opts.block_size {
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

    /// Compresses and seals the open data block into `out` and records it in the open index
    /// partition (cutting the partition once it reaches the block size).
    fn finish_block(&mut self) {
        if self.block.is_empty() {
            return;
        }
        let start = self.out.len();
        let payload = self.block.finish();
        self.compressor.seal(&mut self.out, payload, BLOCK_DATA);
        let handle = Handle {
            offset: self.written + start as u64,
            size: (self.out.len() - start) as u64,
        };
        if self.index_block.is_empty() {
            self.index_block_first = (self.data_blocks, handle.offset);
        }
        let mut rest = [0u8; 20];
        let n = handle_rest(&mut rest, handle);
        self.index_block.add(self.block.last_key(), &rest[..n], &[]);
        self.block.reset();
        self.data_blocks += 1;
        if self.index_block.size() >= self.opts.block_size {
            self.finish_partition();
        }
    }

    /// Seals the open index partition into `partitions`.
    fn finish_partition(&mut self) {
        if self.index_block.is_empty() {
            return;
        }
        let last_key = self.index_block.last_key().to_vec();
        let at = self.partitions.len();
        let payload = self.index_block.finish();
        self.compressor
            .seal(&mut self.partitions, payload, BLOCK_INDEX);
        self.index_block.reset();
        let (first_block, first_offset) = self.index_block_first;
        self.partition_list.push(Partition {
            last_key,
            at,
            size: self.partitions.len() - at,
            first_block,
            first_offset,
        });
    }

    /// Appends every sealed byte of `out` to the file.
    fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.append(&self.out) {
            self.failed = true;
            return Err(e);
        }
        self.written += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    /// Bytes the table would take if finished now (approximate).
    pub fn estimated_size(&self) -> u64 {
        let data = self.written + self.out.len() as u64 + self.block.size() as u64;
        let index = (self.partitions.len() + self.index_block.size()) as u64
            + 24 * self.partition_list.len() as u64;
        let filter = self.hashes.len() as u64 * u64::from(self.opts.bloom_bits_per_key) / 8;
        let meta = self.range_tombstone_bytes + 8 * self.range_tombstones.len() as u64;
        data + index + filter + meta + 2 * self.smallest.len() as u64 + 64 + FOOTER_LEN
    }

    /// Whether a table cut at `target` bytes should end here: it is about `target` bytes
    /// big, or the state it keeps in memory until `finish` (8 bytes of key hash per entry for
    /// the bloom filter, the sealed index partitions) has reached `target / 8`. The second
    /// bound matters when entries are small on disk (short or well-compressed keys and
    /// values): a 64 MiB table of 16-byte entries would otherwise hold 32 MiB of hashes.
    pub fn reached(&self, target: u64) -> bool {
        let held = 8 * self.hashes.len() as u64 + self.partitions.len() as u64;
        self.estimated_size() >= target || held >= target / 8
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
        self.finish_partition();

        let mut tombstones = std::mem::take(&mut self.range_tombstones);
        tombstones.sort_unstable_by(tombstone_order);
        tombstones.dedup();
        let (mut smallest, mut largest) = if self.entries > 0 {
            (
                std::mem::take(&mut self.smallest),
                self.index_block_last_key().to_vec(),
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

        let mut out = std::mem::take(&mut self.out);
        // The index partitions follow the data blocks.
        let partitions_at = self.written + out.len() as u64;
        out.extend_from_slice(&self.partitions);
        self.partitions = Vec::new();
        let base = self.written;
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
        let mut top = PrefixBlockBuilder::new(self.opts.restart_interval);
        for p in &self.partition_list {
            let mut rest = Vec::with_capacity(40);
            encode_handle_rest(
                &mut rest,
                Handle {
                    offset: partitions_at + p.at as u64,
                    size: p.size as u64,
                },
                Some((p.first_block, p.first_offset)),
            );
            top.add(&p.last_key, &rest, &[]);
        }
        let index_start = out.len();
        self.compressor.seal(&mut out, top.finish(), BLOCK_INDEX);
        let index = Handle {
            offset: base + index_start as u64,
            size: (out.len() - index_start) as u64,
        };
        let props = TableProperties {
            format_version: FORMAT_VERSION,
            entries: self.entries,
            tombstones: self.tombstones,
            min_seq,
            max_seq,
            data_blocks: self.data_blocks,
            range_tombstones: tombstones.len() as u64,
            smallest,
            largest,
            compression: self.opts.compression,
            index_partitions: self.partition_list.len() as u64,
        };
        let properties = block(&mut out, BLOCK_PROPERTIES, &|o| {
            encode_properties(&props, o)
        });
        // No tombstones, no meta block (its handle stays zero).
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

/// Writes `v` as a varint into `buf` at `n`; returns the new length.
#[inline]
fn varint_into(buf: &mut [u8], mut n: usize, mut v: u64) -> usize {
    while v >= 0x80 {
        buf[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v as u8;
    n + 1
}

/// Writes a data entry's `varint seq | kind` head into `buf`; returns its length.
#[inline]
fn encode_seq_kind(buf: &mut [u8; 11], seq: u64, kind: ValueKind) -> usize {
    let n = varint_into(buf, 0, seq);
    buf[n] = kind.tag();
    n + 1
}

/// Writes a block handle's `varint offset | varint size` into `buf`; returns its length.
fn handle_rest(buf: &mut [u8; 20], h: Handle) -> usize {
    let n = varint_into(buf, 0, h.offset);
    varint_into(buf, n, h.size)
}

fn failed() -> Error {
    Error::InvalidArgument("table writer already failed on an earlier write".into())
}
