//! The read path over one [`ReadView`]: point lookups (newest source first) and ordered scans
//! (a merge of every source, the newest entry of each key winning, tombstones hidden).

use std::sync::Arc;

use super::{visible, ReadView};
use crate::error::Result;
use crate::merge::{MergeIter, Source, Tombstones};
use crate::sst::Table;
use crate::types::{SeqNo, TableMeta, ValueKind};

/// What [`crate::Db::scan`] returns.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// First key (inclusive).
    pub start: Option<Vec<u8>>,
    /// Key to stop before (exclusive).
    pub end: Option<Vec<u8>>,
    /// Only keys starting with this.
    pub prefix: Option<Vec<u8>>,
    /// At most this many entries.
    pub limit: Option<usize>,
    /// Largest key first.
    pub reverse: bool,
}

fn in_table_range(meta: &TableMeta, key: &[u8]) -> bool {
    meta.smallest.as_slice() <= key && key <= meta.largest.as_slice()
}

fn table_of<'a>(view: &'a ReadView, meta: &TableMeta) -> Result<&'a Arc<Table>> {
    view.tables
        .get(&meta.number)
        .ok_or_else(|| crate::Error::MissingFile {
            path: crate::filenames::table_name(meta.number).into(),
            reason: "the version references a table that is not open".into(),
        })
}

/// Point lookup: active memtable, immutables (newest first), L0 (newest first), then one
/// table per deeper level.
pub(crate) fn get(view: &ReadView, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let Some((seq, kind, value)) = newest(view, key)? else {
        return Ok(None);
    };
    if kind == ValueKind::Put && view_tombstones(view).hides(key, seq) {
        return Ok(None);
    }
    Ok(visible(kind, value))
}

/// The newest entry of `key` in any source, tombstones included.
fn newest(view: &ReadView, key: &[u8]) -> Result<Option<(SeqNo, ValueKind, Vec<u8>)>> {
    let found = |e: crate::memtable::MemValue| Some((e.seq, e.kind, e.value));
    if let Some(entry) = view.active.get(key) {
        return Ok(found(entry));
    }
    for memtable in view.imms.iter().rev() {
        if let Some(entry) = memtable.get(key) {
            return Ok(found(entry));
        }
    }
    for (level, tables) in view.version.levels.iter().enumerate() {
        if level == 0 {
            for meta in tables {
                if in_table_range(meta, key) {
                    if let Some(entry) = table_of(view, meta)?.get(key)? {
                        return Ok(Some(entry));
                    }
                }
            }
        } else {
            let at = tables.partition_point(|t| t.largest.as_slice() < key);
            if let Some(meta) = tables.get(at).filter(|m| in_table_range(m, key)) {
                if let Some(entry) = table_of(view, meta)?.get(key)? {
                    return Ok(Some(entry));
                }
            }
        }
    }
    Ok(None)
}

/// Every range tombstone a read of `view` must respect.
pub(crate) fn view_tombstones(view: &ReadView) -> Tombstones {
    let mut set = Tombstones::default();
    for memtable in std::iter::once(&view.active).chain(view.imms.iter()) {
        if memtable.has_range_tombstones() {
            set.extend(memtable.range_tombstones());
        }
    }
    for table in view.tables.values() {
        set.extend(table.range_tombstones().iter().cloned());
    }
    set
}

/// Live keys and values in key order, merged from every source of a view.
pub struct ScanIter {
    merge: MergeIter,
    tombstones: Tombstones,
    end: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    remaining: usize,
    failed: bool,
}

impl ScanIter {
    pub(crate) fn new(view: &ReadView, options: &ScanOptions) -> Result<ScanIter> {
        let mut start = options.start.clone();
        if let Some(prefix) = &options.prefix {
            if start.as_deref().is_none_or(|s| s < prefix.as_slice()) {
                start = Some(prefix.clone());
            }
        }
        let start_ref = start.as_deref();
        // Newest source first.
        let mut sources = Vec::new();
        for memtable in std::iter::once(&view.active).chain(view.imms.iter().rev()) {
            sources.push(Source::memtable(Arc::clone(memtable), start_ref));
        }
        for (level, metas) in view.version.levels.iter().enumerate() {
            let relevant = |m: &&Arc<TableMeta>| {
                start_ref.is_none_or(|s| m.largest.as_slice() >= s)
                    && options
                        .end
                        .as_deref()
                        .is_none_or(|e| m.smallest.as_slice() < e)
            };
            if level == 0 {
                for meta in metas.iter().filter(relevant) {
                    sources.push(Source::tables(
                        [Arc::clone(table_of(view, meta)?)],
                        start_ref,
                    ));
                }
            } else {
                let tables = metas
                    .iter()
                    .filter(relevant)
                    .map(|meta| table_of(view, meta).map(Arc::clone))
                    .collect::<Result<Vec<_>>>()?;
                if !tables.is_empty() {
                    sources.push(Source::tables(tables, start_ref));
                }
            }
        }
        Ok(ScanIter {
            merge: MergeIter::new(sources)?,
            tombstones: view_tombstones(view),
            end: options.end.clone(),
            prefix: options.prefix.clone(),
            remaining: options.limit.unwrap_or(usize::MAX),
            failed: false,
        })
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        while self.remaining > 0 {
            let Some(entry) = self.merge.next_entry()? else {
                return Ok(None);
            };
            if self
                .end
                .as_deref()
                .is_some_and(|end| entry.key.as_slice() >= end)
            {
                return Ok(None);
            }
            if self
                .prefix
                .as_deref()
                .is_some_and(|p| !entry.key.starts_with(p))
            {
                return Ok(None);
            }
            if entry.kind != ValueKind::Put || self.tombstones.hides(&entry.key, entry.seq) {
                continue;
            }
            self.remaining -= 1;
            return Ok(Some((entry.key, entry.value)));
        }
        Ok(None)
    }
}

impl Iterator for ScanIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(Some(pair)) => Some(Ok(pair)),
            Ok(None) => None,
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}
