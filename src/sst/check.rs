//! [`check_table`]: the offline full check used by `nokv verify`. It reads every byte of a
//! table and collects every problem it can find instead of stopping at the first.

use std::path::Path;

use crate::error::Result;
use crate::types::{RangeTombstone, SeqNo, TableMeta, ValueKind};
use crate::vfs::{ReadableFile, Vfs};

use super::block::DataBlock;
use super::bloom::{key_hash, BloomFilter};
use super::format::{
    check_block, check_layout, data_region_end, decode_index, decode_properties,
    decode_range_tombstones, show_key, Fault, Footer, Handle, BLOCK_FILTER, BLOCK_INDEX,
    BLOCK_META, BLOCK_PROPERTIES, FOOTER_LEN,
};
use super::reader::{cross_check, number_from_path, read_region, TableProperties};

/// One thing wrong with a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableProblem {
    /// Byte offset of the damaged block, field or entry.
    pub offset: u64,
    /// Machine-readable kind: `checksum_mismatch`, `bad_footer`, `bad_magic`,
    /// `unsupported_version`, `truncated`, `bad_block`, `bad_layout`, `key_order`,
    /// `count_mismatch`, `key_range_mismatch`, `seq_range_mismatch`, `index_mismatch`,
    /// `filter_mismatch`, `read_error`.
    pub kind: &'static str,
    /// Human description.
    pub detail: String,
    /// The value the format (or the properties) calls for, when relevant.
    pub expected: Option<String>,
    /// The value found, when relevant.
    pub actual: Option<String>,
}

/// The result of [`check_table`].
#[derive(Debug, Clone, Default)]
pub struct TableCheck {
    /// The metadata from the properties block, when it could be read.
    pub meta: Option<TableMeta>,
    /// Blocks (data, filter, index, properties and, when present, the range tombstone meta
    /// block) whose checksum was verified.
    pub blocks_checked: u64,
    /// Range tombstones decoded from the meta block (0 when it is absent or unreadable).
    pub range_tombstones: u64,
    /// Bytes read and checked (the whole file when the layout is sound).
    pub bytes_checked: u64,
    /// Everything found wrong; empty for a sound table.
    pub problems: Vec<TableProblem>,
}

impl TableCheck {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn push(&mut self, fault: Fault) {
        self.problems.push(fault.into_problem());
    }
}

/// Reads a whole block at `h`; an I/O error becomes a `read_error` problem.
fn read_checked(file: &dyn ReadableFile, h: Handle, check: &mut TableCheck) -> Option<Vec<u8>> {
    match read_region(file, h) {
        Ok(buf) => {
            check.bytes_checked += buf.len() as u64;
            Some(buf)
        }
        Err(e) => {
            check.push(Fault::new(h.offset, "read_error", e.to_string()));
            None
        }
    }
}

/// Reads a meta block, verifies its CRC and type; returns the payload.
fn read_meta(
    file: &dyn ReadableFile,
    h: Handle,
    tag: u8,
    check: &mut TableCheck,
) -> Option<Vec<u8>> {
    let mut buf = read_checked(file, h, check)?;
    match check_block(&buf, h.offset, tag) {
        Ok(len) => {
            check.blocks_checked += 1;
            buf.truncate(len);
            Some(buf)
        }
        Err(f) => {
            check.push(f);
            None
        }
    }
}

/// Reads every byte of the table at `path`: footer, index, filter, properties, the range
/// tombstone meta block and every data block's CRC; checks keys strictly increasing across
/// the table, entry count, key and sequence ranges against the properties (point entries and
/// range tombstones together), every range tombstone (start < end, stored in order, inside
/// the properties' key and sequence ranges), index entries against their blocks, every key
/// against the bloom filter, and that blocks and footer tile the file exactly (an empty data
/// region for a table of range tombstones only).
///
/// Returns `Err` only when the file cannot be opened or its footer read at all; every finding
/// is a [`TableProblem`].
pub fn check_table(vfs: &dyn Vfs, path: &Path) -> Result<TableCheck> {
    let file = vfs.open_read(path)?;
    let file = &*file;
    let size = file.size();
    let mut check = TableCheck::default();
    if size < FOOTER_LEN {
        check.push(
            Fault::new(
                0,
                "truncated",
                format!("{size}-byte file is shorter than the {FOOTER_LEN}-byte footer"),
            )
            .values(format!(">= {FOOTER_LEN} bytes"), format!("{size} bytes")),
        );
        return Ok(check);
    }
    let footer_at = size - FOOTER_LEN;
    let mut fbuf = [0u8; FOOTER_LEN as usize];
    file.read_exact_at(footer_at, &mut fbuf)?;
    check.bytes_checked += FOOTER_LEN;
    let footer = match Footer::decode(&fbuf, footer_at) {
        Ok(f) => f,
        Err(f) => {
            check.push(f);
            return Ok(check);
        }
    };

    let has_meta = !footer.meta.is_absent();
    let mut props =
        read_meta(file, footer.properties, BLOCK_PROPERTIES, &mut check).and_then(|b| {
            decode_properties(&b, footer.properties.offset, footer.version, has_meta)
                .map_err(|f| check.push(f))
                .ok()
        });
    if let Some(p) = &props {
        check.meta = Some(TableMeta {
            number: number_from_path(path),
            size,
            entries: p.entries,
            smallest: p.smallest.clone(),
            largest: p.largest.clone(),
            min_seq: SeqNo(p.min_seq),
            max_seq: SeqNo(p.max_seq),
        });
    }
    let filter = read_meta(file, footer.filter, BLOCK_FILTER, &mut check).and_then(|b| {
        BloomFilter::decode(&b, footer.filter.offset)
            .map_err(|f| check.push(f))
            .ok()
    });
    let index = read_meta(file, footer.index, BLOCK_INDEX, &mut check).and_then(|b| {
        decode_index(&b, footer.index.offset, data_region_end(&footer))
            .map_err(|f| check.push(f))
            .ok()
    });
    // `None`: the meta block is present but could not be read (already reported).
    let tombstones: Option<Vec<RangeTombstone>> = if has_meta {
        read_meta(file, footer.meta, BLOCK_META, &mut check).and_then(|b| {
            decode_range_tombstones(&b, footer.meta.offset)
                .map_err(|f| check.push(f))
                .ok()
        })
    } else {
        Some(Vec::new())
    };
    if let Some(ts) = &tombstones {
        check.range_tombstones = ts.len() as u64;
        if let Some(p) = &mut props {
            p.range_tombstones = ts.len() as u64;
        }
    }
    let Some(index) = index else {
        // Without the index the data blocks cannot be found.
        return Ok(check);
    };
    if let Err(f) = check_layout(&footer, &index, size) {
        check.push(f);
    }
    if let Some(p) = &props {
        if let Err(f) = cross_check(p, &index, tombstones.as_deref(), footer.properties.offset) {
            check.push(f);
        }
    }

    let mut seen = Seen::default();
    let mut all_blocks_read = true;
    for (bi, (last_key, h)) in index.iter().enumerate() {
        if !h.fits(footer_at) {
            check.push(Fault::new(
                h.offset,
                "bad_block",
                format!("index entry {bi} points outside the file"),
            ));
            all_blocks_read = false;
            continue;
        }
        let Some(buf) = read_checked(file, h, &mut check) else {
            all_blocks_read = false;
            continue;
        };
        let block = match DataBlock::parse(buf, h.offset) {
            Ok(b) => b,
            Err(f) => {
                check.push(f);
                all_blocks_read = false;
                continue;
            }
        };
        check.blocks_checked += 1;
        if !scan_block(&block, filter.as_ref(), &mut seen, &mut check) {
            all_blocks_read = false;
            continue;
        }
        let last = block.key_at(block.len() - 1).unwrap_or(&[]);
        if last != last_key {
            check.push(
                Fault::new(
                    footer.index.offset,
                    "index_mismatch",
                    format!("index entry {bi} names a last key its block does not end with"),
                )
                .values(show_key(last_key), show_key(last)),
            );
        }
    }

    if let (Some(p), true) = (&props, all_blocks_read) {
        compare_properties(
            p,
            &seen,
            tombstones.as_deref(),
            footer.properties.offset,
            &mut check,
        );
    }
    Ok(check)
}

/// What the data blocks hold, gathered while scanning them.
#[derive(Default)]
struct Seen {
    prev_key: Option<Vec<u8>>,
    smallest: Option<Vec<u8>>,
    entries: u64,
    tombstones: u64,
    min_seq: u64,
    max_seq: u64,
}

/// Decodes every entry of `block`; false when the block could not be fully decoded.
fn scan_block(
    block: &DataBlock,
    filter: Option<&BloomFilter>,
    seen: &mut Seen,
    check: &mut TableCheck,
) -> bool {
    for i in 0..block.len() {
        let e = match block.entry_at(i) {
            Ok(e) => e,
            Err(f) => {
                check.push(f);
                return false;
            }
        };
        if let Some(prev) = &seen.prev_key {
            if prev.as_slice() >= e.key {
                check.push(
                    Fault::new(
                        block.offset(),
                        "key_order",
                        format!("data block entry {i}: key not above the previous key"),
                    )
                    .values(format!("> {}", show_key(prev)), show_key(e.key)),
                );
            }
        }
        if filter.is_some_and(|f| !f.may_contain(key_hash(e.key))) {
            check.push(Fault::new(
                block.offset(),
                "filter_mismatch",
                format!(
                    "bloom filter denies key {} stored in data block entry {i}",
                    show_key(e.key)
                ),
            ));
        }
        if seen.entries == 0 {
            seen.smallest = Some(e.key.to_vec());
            seen.min_seq = e.seq;
            seen.max_seq = e.seq;
        }
        seen.entries += 1;
        if e.kind == ValueKind::Delete {
            seen.tombstones += 1;
        }
        seen.min_seq = seen.min_seq.min(e.seq);
        seen.max_seq = seen.max_seq.max(e.seq);
        match &mut seen.prev_key {
            Some(k) => {
                k.clear();
                k.extend_from_slice(e.key);
            }
            None => seen.prev_key = Some(e.key.to_vec()),
        }
    }
    true
}

/// Compares the properties with what the data blocks and the range tombstones hold.
/// `tombstones` is `None` when the meta block could not be read: the key and sequence ranges
/// are then not compared (they depend on it).
fn compare_properties(
    p: &TableProperties,
    seen: &Seen,
    tombstones: Option<&[RangeTombstone]>,
    at: u64,
    check: &mut TableCheck,
) {
    if p.entries != seen.entries {
        check.push(
            Fault::new(
                at,
                "count_mismatch",
                format!(
                    "properties list {} entries, the data blocks hold {}",
                    p.entries, seen.entries
                ),
            )
            .values(p.entries.to_string(), seen.entries.to_string()),
        );
    }
    if p.tombstones != seen.tombstones {
        check.push(
            Fault::new(
                at,
                "count_mismatch",
                format!(
                    "properties list {} tombstones, the data blocks hold {}",
                    p.tombstones, seen.tombstones
                ),
            )
            .values(p.tombstones.to_string(), seen.tombstones.to_string()),
        );
    }
    let Some(ts) = tombstones else {
        return;
    };
    // smallest = min(first key, min start); largest = max(last key, max end).
    let smallest = seen
        .smallest
        .as_deref()
        .into_iter()
        .chain(ts.iter().map(|t| t.start.as_slice()))
        .min()
        .unwrap_or(&[]);
    let largest = seen
        .prev_key
        .as_deref()
        .into_iter()
        .chain(ts.iter().map(|t| t.end.as_slice()))
        .max()
        .unwrap_or(&[]);
    if p.smallest.as_slice() != smallest || p.largest.as_slice() != largest {
        check.push(
            Fault::new(
                at,
                "key_range_mismatch",
                "key range in properties differs from the data blocks and range tombstones",
            )
            .values(
                format!("{}..={}", show_key(&p.smallest), show_key(&p.largest)),
                format!("{}..={}", show_key(smallest), show_key(largest)),
            ),
        );
    }
    let point_seqs = (seen.entries > 0).then_some((seen.min_seq, seen.max_seq));
    let seqs = ts
        .iter()
        .map(|t| (t.seq.0, t.seq.0))
        .chain(point_seqs)
        .reduce(|(lo, hi), (l, h)| (lo.min(l), hi.max(h)));
    if let Some((min_seq, max_seq)) = seqs {
        if p.min_seq != min_seq || p.max_seq != max_seq {
            check.push(
                Fault::new(
                    at,
                    "seq_range_mismatch",
                    "sequence range in properties differs from the data blocks and range \
                     tombstones",
                )
                .values(
                    format!("{}..={}", p.min_seq, p.max_seq),
                    format!("{min_seq}..={max_seq}"),
                ),
            );
        }
    }
}
