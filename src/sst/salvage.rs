//! [`salvage_table`]: read what can still be read of a damaged table, one data block at a
//! time from the index, each with its own outcome, for `nokv salvage`. Never stops at the
//! first bad block; never trusts a block whose checksum fails.
//!
//! Kept small on purpose: a new table format only has to provide "the footer and properties,
//! the range tombstones, and the data blocks one by one from the index, each a `Result`".

use std::path::Path;

use crate::error::Result;
use crate::types::{RangeTombstone, SeqNo, TableMeta};
use crate::vfs::{ReadableFile, Vfs};

use super::block::{DataBlock, EntryRef};
use super::format::{
    check_block, data_region_end, decode_index, decode_properties, decode_range_tombstones, Footer,
    Handle, BLOCK_INDEX, BLOCK_META, BLOCK_PROPERTIES, FOOTER_LEN,
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
    let index = match read_meta(file, footer.index, BLOCK_INDEX).and_then(|b| {
        decode_index(&b, footer.index.offset, data_region_end(&footer)).map_err(|f| f.detail)
    }) {
        Ok(index) => index,
        Err(reason) => {
            out.unreadable = Some(format!("index block unreadable: {reason}"));
            return Ok(out);
        }
    };
    let footer_at = size - FOOTER_LEN;
    let mut after_key: Option<Vec<u8>> = None;
    for (last_key, handle) in index.iter() {
        match read_data_block(file, handle, footer_at) {
            Ok(block) => {
                out.blocks_read += 1;
                for i in 0..block.len() {
                    if let Ok(entry) = block.entry_at(i) {
                        on_entry(entry);
                        out.entries_read += 1;
                    }
                }
            }
            Err(reason) => out.lost_blocks.push(LostBlock {
                offset: handle.offset,
                size: handle.size,
                after_key: after_key.clone(),
                last_key: last_key.to_vec(),
                reason,
            }),
        }
        after_key = Some(last_key.to_vec());
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

/// A meta block's payload, its checksum and type verified.
fn read_meta(file: &dyn ReadableFile, h: Handle, tag: u8) -> std::result::Result<Vec<u8>, String> {
    let mut buf = read_region(file, h).map_err(|e| e.to_string())?;
    let len = check_block(&buf, h.offset, tag).map_err(|f| f.detail)?;
    buf.truncate(len);
    Ok(buf)
}

/// A data block, checksummed, with every entry decodable.
fn read_data_block(
    file: &dyn ReadableFile,
    h: Handle,
    footer_at: u64,
) -> std::result::Result<DataBlock, String> {
    if !h.fits(footer_at) {
        return Err("the index points outside the file".to_string());
    }
    let buf = read_region(file, h).map_err(|e| e.to_string())?;
    let block = DataBlock::parse(buf, h.offset).map_err(|f| f.detail)?;
    for i in 0..block.len() {
        block.entry_at(i).map_err(|f| f.detail)?;
    }
    Ok(block)
}
