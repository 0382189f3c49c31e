//! [`check_table`]: the offline full check used by `nokv verify`. It reads every byte of a
//! table and collects every problem it can find instead of stopping at the first.
//!
//! [`data_blocks`]: a walk over a table's data blocks one at a time, from its index, with a
//! result per block (for salvage-style reading of a damaged table), for format versions 1
//! and 2.

use std::path::Path;

use crate::error::Result;
use crate::types::{RangeTombstone, SeqNo, TableMeta, ValueKind};
use crate::vfs::{ReadableFile, Vfs};

use super::block::{BlockEntries, DataBlock};
use super::bloom::{key_hash, BloomFilter};
use super::compress::open_block;
use super::format::{
    check_tiling, data_region_end, decode_index, decode_properties, decode_range_tombstones,
    decode_top_index, footer_regions, show_key, Fault, Footer, Handle, Index, BLOCK_FILTER,
    BLOCK_INDEX, BLOCK_META, BLOCK_PROPERTIES, FOOTER_LEN,
};
use super::reader::{
    cross_check, decode_partition, number_from_path, read_region, TableProperties,
};
use super::Entry;

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
    let buf = read_checked(file, h, check)?;
    match open_block(buf, h.offset, tag) {
        Ok((payload, _)) => {
            check.blocks_checked += 1;
            Some(payload)
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
    let index_payload = read_checked(file, footer.index, &mut check).and_then(|b| {
        open_block(b, footer.index.offset, BLOCK_INDEX)
            .map_err(|f| check.push(f))
            .ok()
    });
    if index_payload.is_some() {
        check.blocks_checked += 1;
    }
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
    let Some((index_payload, index_raw)) = index_payload else {
        // Without the index the data blocks cannot be found.
        return Ok(check);
    };
    let data_blocks_hint = props.as_ref().map(|p| p.data_blocks);
    let Some(plan) = plan_blocks(
        file,
        &footer,
        &index_payload,
        index_raw,
        data_blocks_hint,
        &mut check,
    ) else {
        return Ok(check);
    };
    let mut all_blocks_read = plan.complete;
    if plan.complete {
        let mut regions: Vec<(u64, u64, &'static str)> = plan
            .index
            .iter()
            .map(|(_, h)| (h.offset, h.size, "data"))
            .collect();
        regions.extend(
            plan.partitions
                .iter()
                .map(|h| (h.offset, h.size, "index partition")),
        );
        regions.extend(footer_regions(&footer, size));
        if let Err(f) = check_tiling(regions, size) {
            check.push(f);
        }
        if let Some(p) = &props {
            if let Err(f) = cross_check(
                p,
                &plan.index,
                tombstones.as_deref(),
                footer.properties.offset,
            ) {
                check.push(f);
            }
        }
    }

    let mut seen = Seen::default();
    let mut entries: Option<BlockEntries> = None;
    for (bi, (last_key, h)) in plan.index.iter().enumerate() {
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
        let block = match DataBlock::parse(buf, h.offset, footer.version) {
            Ok(b) => b,
            Err(f) => {
                check.push(f);
                all_blocks_read = false;
                continue;
            }
        };
        check.blocks_checked += 1;
        let decoded = match block.entries(entries.take()) {
            Ok(e) => e,
            Err(f) => {
                check.push(f);
                all_blocks_read = false;
                continue;
            }
        };
        let scanned = scan_block(&block, &decoded, filter.as_ref(), &mut seen, &mut check);
        if scanned {
            let last = decoded.key_at(&block, decoded.len() - 1).unwrap_or(&[]);
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
        } else {
            all_blocks_read = false;
        }
        entries = Some(decoded);
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
    entries: &BlockEntries,
    filter: Option<&BloomFilter>,
    seen: &mut Seen,
    check: &mut TableCheck,
) -> bool {
    for i in 0..entries.len() {
        let e = match entries.entry_at(block, i) {
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

/// The data an unreadable index partition described: (first block number, byte range, last
/// key per the top-level index, the problem).
type LostSpan = (u64, (u64, u64), Vec<u8>, TableProblem);

/// Where a table's data blocks are, from its index.
struct BlockPlan {
    /// Every data block found (all of them when `complete`).
    index: Index,
    /// The version-2 index partitions (empty for version 1).
    partitions: Vec<Handle>,
    /// Data the index could not describe: (first block number, byte range, last key of the
    /// range per the top-level index, the problem) for each unreadable index partition.
    lost: Vec<LostSpan>,
    /// True when every index block was read and checked.
    complete: bool,
}

/// Decodes the (checksummed) index payload and, for version 2, reads and checks every
/// partition; problems go to `check`. `None` when the index itself is unusable.
fn plan_blocks(
    file: &dyn ReadableFile,
    footer: &Footer,
    payload: &[u8],
    raw: bool,
    data_blocks: Option<u64>,
    check: &mut TableCheck,
) -> Option<BlockPlan> {
    if footer.version < 2 {
        let data_end = data_region_end(footer);
        let (index, end) = decode_index(payload, footer.index.offset, raw, 1, 0, data_end)
            .map_err(|f| check.push(f))
            .ok()?;
        if end != data_end {
            check.push(
                Fault::new(
                    footer.index.offset,
                    "bad_layout",
                    format!("data blocks end at {end}, but the next block starts at {data_end}"),
                )
                .values(data_end.to_string(), end.to_string()),
            );
        }
        return Some(BlockPlan {
            index,
            partitions: Vec::new(),
            lost: Vec::new(),
            complete: true,
        });
    }
    let blocks = data_blocks.unwrap_or(u64::MAX);
    let top = decode_top_index(payload, footer.index.offset, raw, blocks)
        .map_err(|f| check.push(f))
        .ok()?;
    let mut plan = BlockPlan {
        index: Index::default(),
        partitions: Vec::new(),
        lost: Vec::new(),
        complete: true,
    };
    for (p, (last_key, h)) in top.partitions.iter().enumerate() {
        plan.partitions.push(h);
        let decoded = if h.fits(file.size().saturating_sub(FOOTER_LEN)) {
            read_checked(file, h, check).and_then(|stored| {
                decode_partition(&top, p, stored, blocks)
                    .map_err(|f| check.push(f))
                    .ok()
            })
        } else {
            check.push(Fault::new(
                h.offset,
                "bad_block",
                format!("index partition {p} lies outside the file"),
            ));
            None
        };
        match decoded {
            Some(part) => {
                check.blocks_checked += 1;
                for (key, dh) in part.iter() {
                    plan.index.push_entry(key, dh);
                }
            }
            None => {
                plan.complete = false;
                let ((first, _), bytes) = top.span(p, blocks, top.data_end());
                let problem = check.problems.last().cloned().unwrap_or(TableProblem {
                    offset: h.offset,
                    kind: "bad_block",
                    detail: format!("index partition {p} is unreadable"),
                    expected: None,
                    actual: None,
                });
                plan.lost.push((first, bytes, last_key.to_vec(), problem));
            }
        }
    }
    Some(plan)
}

/// One data block (or, when an index partition is unreadable, the span of data it described)
/// as found by [`data_blocks`].
#[derive(Debug, Clone)]
pub struct DataBlockReport {
    /// File offset of the block (or of the span).
    pub offset: u64,
    /// Bytes of the block including its trailer (or of the span).
    pub size: u64,
    /// Data blocks this report covers: 1, or the span's count when its index partition is
    /// unreadable (0 when unknown).
    pub blocks: u64,
    /// The index's last key of the previous block (`None` for the first): every key of this
    /// block is above it.
    pub after_key: Option<Vec<u8>>,
    /// The index's last key of this block (or span): every key of it is at or below.
    pub last_key: Vec<u8>,
    /// The block's entries in order, or what is wrong with it.
    pub entries: std::result::Result<Vec<Entry>, TableProblem>,
}

/// Every data block of the table at `path`, one at a time, found from its index (for format
/// version 2 the index partitions are read as the walk reaches them; an unreadable partition
/// yields one report spanning the data it described). Each block is read, checksummed,
/// decompressed and decoded independently, so damage to one block does not hide the others.
///
/// # Errors
/// The file cannot be opened, or its footer or (top-level) index cannot be read or decoded:
/// then no block can be located. The problem is named in the error with the file and offset.
pub fn data_blocks(vfs: &dyn Vfs, path: &Path) -> Result<DataBlocks> {
    let file = vfs.open_read(path)?;
    let size = file.size();
    let corrupt = |f: Fault| f.into_error(path);
    if size < FOOTER_LEN {
        return Err(corrupt(Fault::new(
            0,
            "truncated",
            format!("{size}-byte table is shorter than its footer"),
        )));
    }
    let mut fbuf = [0u8; FOOTER_LEN as usize];
    file.read_exact_at(size - FOOTER_LEN, &mut fbuf)?;
    let footer = Footer::decode(&fbuf, size - FOOTER_LEN).map_err(corrupt)?;
    let mut check = TableCheck::default();
    let data_blocks = read_meta(&*file, footer.properties, BLOCK_PROPERTIES, &mut check)
        .and_then(|b| {
            decode_properties(
                &b,
                footer.properties.offset,
                footer.version,
                !footer.meta.is_absent(),
            )
            .ok()
        })
        .map(|p| p.data_blocks);
    let stored = read_region(&*file, footer.index)?;
    let (payload, raw) = open_block(stored, footer.index.offset, BLOCK_INDEX).map_err(corrupt)?;
    let plan = plan_blocks(&*file, &footer, &payload, raw, data_blocks, &mut check);
    let Some(plan) = plan else {
        let problem = check
            .problems
            .pop()
            .map(|p| Fault::new(p.offset, p.kind, p.detail));
        return Err(corrupt(problem.unwrap_or_else(|| {
            Fault::new(footer.index.offset, "bad_block", "unreadable index")
        })));
    };
    let mut items: Vec<(u64, Planned)> = (0..plan.index.len())
        .map(|i| (plan.index.handle(i).offset, Planned::Block(i)))
        .collect();
    items.extend(
        plan.lost
            .iter()
            .enumerate()
            .map(|(j, lost)| (lost.1 .0, Planned::Lost(j))),
    );
    items.sort_unstable_by_key(|item| item.0);
    Ok(DataBlocks {
        file,
        version: footer.version,
        plan,
        items,
        next: 0,
        prev_last: None,
    })
}

/// One step of a [`DataBlocks`] walk.
#[derive(Debug, Clone, Copy)]
enum Planned {
    /// Data block `i` of the plan's index.
    Block(usize),
    /// The data of lost (unreadable) index partition `j`.
    Lost(usize),
}

/// The iterator [`data_blocks`] returns.
pub struct DataBlocks {
    file: std::sync::Arc<dyn ReadableFile>,
    version: u32,
    plan: BlockPlan,
    /// What to report, by offset.
    items: Vec<(u64, Planned)>,
    next: usize,
    prev_last: Option<Vec<u8>>,
}

impl Iterator for DataBlocks {
    type Item = DataBlockReport;

    fn next(&mut self) -> Option<DataBlockReport> {
        let &(_, item) = self.items.get(self.next)?;
        self.next += 1;
        let i = match item {
            Planned::Block(i) => i,
            Planned::Lost(j) => {
                let (_, (start, end), last_key, problem) = self.plan.lost[j].clone();
                let report = DataBlockReport {
                    offset: start,
                    size: end.saturating_sub(start),
                    blocks: 0,
                    after_key: self.prev_last.take(),
                    last_key: last_key.clone(),
                    entries: Err(problem),
                };
                self.prev_last = Some(last_key);
                return Some(report);
            }
        };
        let h = self.plan.index.handle(i);
        let last_key = self.plan.index.last_key(i).to_vec();
        let entries = read_block_entries(&*self.file, h, self.version);
        let report = DataBlockReport {
            offset: h.offset,
            size: h.size,
            blocks: 1,
            after_key: self.prev_last.take(),
            last_key: last_key.clone(),
            entries,
        };
        self.prev_last = Some(last_key);
        Some(report)
    }
}

/// Reads, checks and decodes one data block into owned entries.
fn read_block_entries(
    file: &dyn ReadableFile,
    h: Handle,
    version: u32,
) -> std::result::Result<Vec<Entry>, TableProblem> {
    let stored = read_region(file, h)
        .map_err(|e| Fault::new(h.offset, "read_error", e.to_string()).into_problem())?;
    let block = DataBlock::parse(stored, h.offset, version).map_err(Fault::into_problem)?;
    let decoded = block.entries(None).map_err(Fault::into_problem)?;
    (0..decoded.len())
        .map(|i| {
            decoded
                .entry_at(&block, i)
                .map(|e| Entry {
                    key: e.key.to_vec(),
                    seq: crate::types::SeqNo(e.seq),
                    kind: e.kind,
                    value: e.value.to_vec(),
                })
                .map_err(Fault::into_problem)
        })
        .collect()
}
