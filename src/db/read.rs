//! The read path over one [`ReadView`]: point lookups (newest source first) and ordered scans
//! (a merge of every source, the newest entry of each key winning, tombstones hidden).

use std::collections::VecDeque;
use std::sync::Arc;

use super::{visible, ReadView};
use crate::error::Result;
use crate::memtable::{MemValue, Memtable};
use crate::sst::{Table, TableIter};
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
    if let Some(entry) = view.active.get(key) {
        return Ok(visible(entry.kind, entry.value));
    }
    for memtable in view.imms.iter().rev() {
        if let Some(entry) = memtable.get(key) {
            return Ok(visible(entry.kind, entry.value));
        }
    }
    for (level, tables) in view.version.levels.iter().enumerate() {
        if level == 0 {
            for meta in tables {
                if in_table_range(meta, key) {
                    if let Some((_, kind, value)) = table_of(view, meta)?.get(key)? {
                        return Ok(visible(kind, value));
                    }
                }
            }
        } else {
            let at = tables.partition_point(|t| t.largest.as_slice() < key);
            if let Some(meta) = tables.get(at).filter(|m| in_table_range(m, key)) {
                if let Some((_, kind, value)) = table_of(view, meta)?.get(key)? {
                    return Ok(visible(kind, value));
                }
            }
        }
    }
    Ok(None)
}

struct Head {
    key: Vec<u8>,
    seq: SeqNo,
    kind: ValueKind,
    value: Vec<u8>,
}

/// One ordered source of entries.
enum Source {
    Memtable {
        memtable: Arc<Memtable>,
        buffer: VecDeque<(Vec<u8>, MemValue)>,
        last: Option<Vec<u8>>,
        exhausted: bool,
    },
    Tables {
        /// Tables still to read, in key order (one L0 table, or a whole deeper level).
        pending: VecDeque<Arc<Table>>,
        current: Option<TableIter>,
        seek: Option<Vec<u8>>,
    },
}

const MEMTABLE_PAGE: usize = 256;

impl Source {
    fn next(&mut self) -> Result<Option<Head>> {
        match self {
            Source::Memtable {
                memtable,
                buffer,
                last,
                exhausted,
            } => {
                if buffer.is_empty() && !*exhausted {
                    let page = memtable.page_after(last.as_deref(), MEMTABLE_PAGE);
                    if page.len() < MEMTABLE_PAGE {
                        *exhausted = true;
                    }
                    if let Some((key, _)) = page.last() {
                        *last = Some(key.clone());
                    }
                    buffer.extend(page);
                }
                Ok(buffer.pop_front().map(|(key, v)| Head {
                    key,
                    seq: v.seq,
                    kind: v.kind,
                    value: v.value,
                }))
            }
            Source::Tables {
                pending,
                current,
                seek,
            } => loop {
                if current.is_none() {
                    let Some(table) = pending.pop_front() else {
                        return Ok(None);
                    };
                    let mut iter = table.iter();
                    if let Some(key) = seek.as_deref() {
                        iter.seek(key)?;
                    }
                    *current = Some(iter);
                }
                if let Some(iter) = current.as_mut() {
                    match iter.next() {
                        Some(entry) => {
                            let entry = entry?;
                            return Ok(Some(Head {
                                key: entry.key,
                                seq: entry.seq,
                                kind: entry.kind,
                                value: entry.value,
                            }));
                        }
                        None => *current = None,
                    }
                }
            },
        }
    }
}

/// Live keys and values in key order, merged from every source of a view.
pub struct ScanIter {
    sources: Vec<Source>,
    heads: Vec<Option<Head>>,
    end: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    remaining: usize,
    started: bool,
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
        // Newest source first: on equal keys the earlier source wins.
        let mut sources = Vec::new();
        for memtable in std::iter::once(&view.active).chain(view.imms.iter().rev()) {
            // Skip to `start` by paging after the key just before it: simplest is to let the
            // merge filter; memtables are bounded in size.
            sources.push(Source::Memtable {
                memtable: Arc::clone(memtable),
                buffer: VecDeque::new(),
                last: None,
                exhausted: false,
            });
        }
        for (level, metas) in view.version.levels.iter().enumerate() {
            let relevant = |m: &&Arc<TableMeta>| {
                start.as_deref().is_none_or(|s| m.largest.as_slice() >= s)
                    && options
                        .end
                        .as_deref()
                        .is_none_or(|e| m.smallest.as_slice() < e)
            };
            if level == 0 {
                for meta in metas.iter().filter(relevant) {
                    sources.push(Source::Tables {
                        pending: VecDeque::from([Arc::clone(table_of(view, meta)?)]),
                        current: None,
                        seek: start.clone(),
                    });
                }
            } else {
                let mut pending = VecDeque::new();
                for meta in metas.iter().filter(relevant) {
                    pending.push_back(Arc::clone(table_of(view, meta)?));
                }
                if !pending.is_empty() {
                    sources.push(Source::Tables {
                        pending,
                        current: None,
                        seek: start.clone(),
                    });
                }
            }
        }
        let mut iter = ScanIter {
            heads: (0..sources.len()).map(|_| None).collect(),
            sources,
            end: options.end.clone(),
            prefix: options.prefix.clone(),
            remaining: options.limit.unwrap_or(usize::MAX),
            started: false,
            failed: false,
        };
        iter.fill_heads(start.as_deref())?;
        Ok(iter)
    }

    fn fill_heads(&mut self, start: Option<&[u8]>) -> Result<()> {
        for i in 0..self.sources.len() {
            loop {
                let head = self.sources[i].next()?;
                match head {
                    Some(h) if start.is_some_and(|s| h.key.as_slice() < s) => continue,
                    other => {
                        self.heads[i] = other;
                        break;
                    }
                }
            }
        }
        self.started = true;
        Ok(())
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        loop {
            if self.remaining == 0 {
                return Ok(None);
            }
            // The smallest key; on a tie the newest source (lowest index, then highest seq).
            let mut best: Option<usize> = None;
            for (i, head) in self.heads.iter().enumerate() {
                let Some(head) = head else { continue };
                best = match best {
                    None => Some(i),
                    Some(b) => {
                        let current = self.heads[b].as_ref().map(|h| (&h.key, h.seq));
                        match current {
                            Some((key, seq))
                                if head.key < *key || (head.key == *key && head.seq > seq) =>
                            {
                                Some(i)
                            }
                            _ => Some(b),
                        }
                    }
                };
            }
            let Some(best) = best else { return Ok(None) };
            let winner = self.heads[best].take().map(|h| (h.key, h.kind, h.value));
            let Some((key, kind, value)) = winner else {
                return Ok(None);
            };
            // Advance every source past this key.
            self.heads[best] = self.sources[best].next()?;
            for i in 0..self.sources.len() {
                while self.heads[i].as_ref().is_some_and(|h| h.key == key) {
                    self.heads[i] = self.sources[i].next()?;
                }
            }
            if let Some(end) = &self.end {
                if key.as_slice() >= end.as_slice() {
                    return Ok(None);
                }
            }
            if let Some(prefix) = &self.prefix {
                if !key.starts_with(prefix) {
                    return Ok(None);
                }
            }
            if kind == ValueKind::Delete {
                continue;
            }
            self.remaining -= 1;
            return Ok(Some((key, value)));
        }
    }
}

impl Iterator for ScanIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || !self.started {
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
