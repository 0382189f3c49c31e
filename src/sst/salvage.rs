//! [`salvage_table`]: read what can still be read of a damaged table, one data block at a
//! time from the index, each with its own outcome, for `nokv salvage`. Never stops at the
//! first bad block; never trusts a block whose checksum fails.
//!
//! Built on [`data_blocks`], which walks the data blocks of any format version from the
//! index (for version 2, index partitions as the walk reaches them): this module only adds
//! the properties and range tombstones, read on their own so that damage to one does not
//! hide the rest.

use std::path::Path;

use crate::error::Result;
use crate::types::{RangeTombstone, SeqNo, TableMeta};
use crate::vfs::{ReadableFile, Vfs};

use super::block::EntryRef;
use super::check::data_blocks;
use super::compress::open_block;
use super::format::{
    decode_properties, decode_range_tombstones, Footer, Handle, BLOCK_META, BLOCK_PROPERTIES,
    FOOTER_LEN,
};
use super::reader::{number_from_path, read_region};
/// A data block that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostBlock {
    /// File offset of the block.
    pub offset: u64,
    /// Its size in bytes, trailer included, as the index records it.
    pub size: u64,
    /// The last key of the block before it (exclusive lower bound of the lost keys); `None`
    /// for the first block (the lost keys then start at the table's smallest key).
    pub after_key: Option<Vec<u8>>,
    /// The block's last key, from the index (inclusive upper bound of the lost keys).
    pub last_key: Vec<u8>,
    /// Why it could not be read.
    pub reason: String,
    /// Set when what was lost is the index partition that locates these blocks (version
    /// 2): `offset` and `size` then span the data it described, and `reason` names the
    /// partition.
    pub index_partition: bool,
}

/// What [`salvage_table`] could read.
#[derive(Debug, Clone)]
pub struct TableSalvage {
    /// The table's properties, when the properties block could be read.
    pub meta: Option<TableMeta>,
    /// Data blocks read and checksummed.
    pub blocks_read: u64,
    /// Entries handed to the callback.
    pub entries_read: u64,
    /// Data blocks that could not be read, in file order.
    pub lost_blocks: Vec<LostBlock>,
    /// The range tombstones, or why the meta block holding them could not be read.
    pub range_tombstones: std::result::Result<Vec<RangeTombstone>, String>,
    /// Set when no data block could even be located (the footer or the index is unreadable):
    /// the whole table is lost.
    pub unreadable: Option<String>,
}

/// Walks every data block of the table at `path` in index order, calling `on_entry` for each
/// entry of each block whose checksum and layout are sound (a block is handed over whole or
/// not at all). Returns `Err` only when the file cannot be opened.
pub fn salvage_table(
    vfs: &dyn Vfs,
    path: &Path,
    mut on_entry: impl FnMut(EntryRef<'_>),
) -> Result<TableSalvage> {
    let file = vfs.open_read(path)?;
    let file = &*file;
    let size = file.size();
    let mut out = TableSalvage {
        meta: None,
        blocks_read: 0,
        entries_read: 0,
        lost_blocks: Vec::new(),
        range_tombstones: Ok(Vec::new()),
        unreadable: None,
    };
    let footer = match read_footer(file, size) {
        Ok(footer) => footer,
        Err(reason) => {
            out.unreadable = Some(reason);
            return Ok(out);
        }
    };
    let has_meta = !footer.meta.is_absent();
    if let Ok(props) = read_meta(file, footer.properties, BLOCK_PROPERTIES).and_then(|b| {
        decode_properties(&b, footer.properties.offset, footer.version, has_meta)
            .map_err(|f| f.detail)
    }) {
        out.meta = Some(TableMeta {
            number: number_from_path(path),
            size,
            entries: props.entries,
            smallest: props.smallest,
            largest: props.largest,
            min_seq: SeqNo(props.min_seq),
            max_seq: SeqNo(props.max_seq),
        });
    }
    if has_meta {
        out.range_tombstones = read_meta(file, footer.meta, BLOCK_META)
            .and_then(|b| decode_range_tombstones(&b, footer.meta.offset).map_err(|f| f.detail));
    }
    let blocks = match data_blocks(vfs, path) {
        Ok(blocks) => blocks,
        Err(err) => {
            out.unreadable = Some(format!("index unreadable: {err}"));
            return Ok(out);
        }
    };
    for block in blocks {
        match block.entries {
            Ok(entries) => {
                out.blocks_read += block.blocks.max(1);
                for e in &entries {
                    on_entry(EntryRef {
                        key: &e.key,
                        seq: e.seq.0,
                        kind: e.kind,
                        value: &e.value,
                    });
                    out.entries_read += 1;
                }
            }
            Err(problem) => out.lost_blocks.push(LostBlock {
                offset: block.offset,
                size: block.size,
                after_key: block.after_key,
                last_key: block.last_key,
                reason: format!("{} (at offset {})", problem.detail, problem.offset),
                index_partition: block.blocks != 1,
            }),
        }
    }
    Ok(out)
}

fn read_footer(file: &dyn ReadableFile, size: u64) -> std::result::Result<Footer, String> {
    if size < FOOTER_LEN {
        return Err(format!(
            "{size}-byte file is shorter than the {FOOTER_LEN}-byte footer"
        ));
    }
    let at = size - FOOTER_LEN;
    let mut buf = [0u8; FOOTER_LEN as usize];
    file.read_exact_at(at, &mut buf)
        .map_err(|e| e.to_string())?;
    Footer::decode(&buf, at).map_err(|f| format!("footer unreadable: {}", f.detail))
}

/// A meta block's payload, its checksum and type verified (decompressed if it was stored
/// compressed).
fn read_meta(file: &dyn ReadableFile, h: Handle, tag: u8) -> std::result::Result<Vec<u8>, String> {
    let buf = read_region(file, h).map_err(|e| e.to_string())?;
    let (payload, _) = open_block(buf, h.offset, tag).map_err(|f| f.detail)?;
    Ok(payload)
}
