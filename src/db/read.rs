//! The read path over one [`ReadView`]: point lookups (newest source first) and ordered scans
//! (a merge of every source, the newest entry of each key winning, tombstones hidden).

use std::sync::Arc;

use super::{visible, ReadView};
use crate::error::Result;
use crate::merge::{MergeIter, Source, Tombstones};
use crate::sst::Table;
use crate::types::{SeqNo, TableMeta, ValueKind};

/// What [`crate::Db::scan`] reads.
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
    /// First key (inclusive).
    lower: Option<Vec<u8>>,
    /// Key to stop before (exclusive).
    upper: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    reverse: bool,
    remaining: usize,
    failed: bool,
}

impl ScanIter {
    pub(crate) fn new(view: &ReadView, options: &ScanOptions) -> Result<ScanIter> {
        // Bounds: [lower, upper), narrowed by the prefix.
        let mut lower = options.start.clone();
        let mut upper = options.end.clone();
        if let Some(prefix) = &options.prefix {
            if lower.as_deref().is_none_or(|s| s < prefix.as_slice()) {
                lower = Some(prefix.clone());
            }
            if let Some(after) = prefix_successor(prefix) {
                if upper.as_deref().is_none_or(|e| e > after.as_slice()) {
                    upper = Some(after);
                }
            }
        }
        let (lo, hi) = (lower.as_deref(), upper.as_deref());
        let reverse = options.reverse;
        // Newest source first.
        let mut sources = Vec::new();
        for memtable in std::iter::once(&view.active).chain(view.imms.iter().rev()) {
            let memtable = Arc::clone(memtable);
            sources.push(if reverse {
                Source::memtable_rev(memtable, hi)
            } else {
                Source::memtable(memtable, lo)
            });
        }
        for (level, metas) in view.version.levels.iter().enumerate() {
            let relevant = |m: &&Arc<TableMeta>| {
                lo.is_none_or(|s| m.largest.as_slice() >= s)
                    && hi.is_none_or(|e| m.smallest.as_slice() < e)
            };
            let tables = |metas: Vec<&Arc<TableMeta>>| {
                metas
                    .into_iter()
                    .map(|meta| table_of(view, meta).map(Arc::clone))
                    .collect::<Result<Vec<_>>>()
            };
            let source = |tables: Vec<Arc<Table>>| {
                if reverse {
                    Source::tables_rev(tables, hi)
                } else {
                    Source::tables(tables, lo)
                }
            };
            if level == 0 {
                for meta in metas.iter().filter(relevant) {
                    sources.push(source(tables(vec![meta])?));
                }
            } else {
                let mut chosen: Vec<&Arc<TableMeta>> = metas.iter().filter(relevant).collect();
                if reverse {
                    chosen.reverse();
                }
                if !chosen.is_empty() {
                    sources.push(source(tables(chosen)?));
                }
            }
        }
        let merge = if reverse {
            MergeIter::new_rev(sources)?
        } else {
            MergeIter::new(sources)?
        };
        Ok(ScanIter {
            merge,
            tombstones: view_tombstones(view),
            lower,
            upper,
            prefix: options.prefix.clone(),
            reverse,
            remaining: options.limit.unwrap_or(usize::MAX),
            failed: false,
        })
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        while self.remaining > 0 {
            let Some(entry) = self.merge.next_entry()? else {
                return Ok(None);
            };
            let key = entry.key.as_slice();
            let past_the_end = if self.reverse {
                self.lower.as_deref().is_some_and(|lo| key < lo)
            } else {
                self.upper.as_deref().is_some_and(|hi| key >= hi)
            };
            if past_the_end || self.prefix.as_deref().is_some_and(|p| !key.starts_with(p)) {
                return Ok(None);
            }
            if entry.kind != ValueKind::Put || self.tombstones.hides(key, entry.seq) {
                continue;
            }
            self.remaining -= 1;
            return Ok(Some((entry.key, entry.value)));
        }
        Ok(None)
    }
}

/// The smallest key greater than every key starting with `prefix`, if any (`None` for an
/// all-0xff prefix).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
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
