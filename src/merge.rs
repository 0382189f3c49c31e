//! The merging iterator: many ordered sources (memtables and tables), one ordered stream
//! holding the newest entry of each key. Tombstones are passed through; callers decide what
//! they mean (a scan hides them, a compaction keeps or drops them).
//!
//! Sources are given newest first. For a key present in several sources, the entry with the
//! highest sequence number wins (ties, which cannot happen between distinct writes, go to the
//! earlier source).

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::Result;
use crate::memtable::Memtable;
use crate::sst::{Table, TableIter, TableRevIter};
use crate::types::{SeqNo, ValueKind};

/// One entry of the merged stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeEntry {
    /// The key.
    pub key: Vec<u8>,
    /// Sequence number of the newest write of the key.
    pub seq: SeqNo,
    /// Put or delete.
    pub kind: ValueKind,
    /// The value (empty for a delete).
    pub value: Vec<u8>,
}

const MEMTABLE_PAGE: usize = 256;

/// One ordered source of entries.
pub enum Source {
    /// A memtable, read page by page without holding its lock between pages.
    Memtable {
        /// The memtable.
        memtable: Arc<Memtable>,
        /// Entries of the current page not yet returned.
        buffer: VecDeque<MergeEntry>,
        /// Where the next page starts.
        next_from: Option<Vec<u8>>,
        /// The first page starts here (forward: inclusive lower bound; reverse: exclusive
        /// upper bound).
        start: Option<Vec<u8>>,
        /// No page left.
        exhausted: bool,
        /// Descending key order.
        reverse: bool,
    },
    /// Tables with disjoint key ranges, in key order (one L0 table, or a deeper level).
    Tables {
        /// Tables not yet opened, in the order they are read.
        pending: VecDeque<Arc<Table>>,
        /// The table being read.
        current: Option<Cursor>,
        /// Position every table at this key first (forward: first key `>=`; reverse: last
        /// key `<`).
        start: Option<Vec<u8>>,
        /// Descending key order.
        reverse: bool,
    },
}

/// A table iterator in either direction.
pub enum Cursor {
    /// Ascending.
    Forward(TableIter),
    /// Descending.
    Reverse(TableRevIter),
}

impl Source {
    /// A memtable source starting at `start` (inclusive).
    pub fn memtable(memtable: Arc<Memtable>, start: Option<&[u8]>) -> Source {
        Source::Memtable {
            memtable,
            buffer: VecDeque::new(),
            next_from: None,
            start: start.map(<[u8]>::to_vec),
            exhausted: false,
            reverse: false,
        }
    }

    /// A memtable source in descending order, from the last key before `end` (exclusive).
    pub fn memtable_rev(memtable: Arc<Memtable>, end: Option<&[u8]>) -> Source {
        Source::Memtable {
            memtable,
            buffer: VecDeque::new(),
            next_from: None,
            start: end.map(<[u8]>::to_vec),
            exhausted: false,
            reverse: true,
        }
    }

    /// A descending source over disjoint tables given in descending key order, from the
    /// last key before `end` (exclusive).
    pub fn tables_rev(tables: impl IntoIterator<Item = Arc<Table>>, end: Option<&[u8]>) -> Source {
        Source::Tables {
            pending: tables.into_iter().collect(),
            current: None,
            start: end.map(<[u8]>::to_vec),
            reverse: true,
        }
    }

    /// A source over disjoint tables given in key order, starting at `start` (inclusive).
    pub fn tables(tables: impl IntoIterator<Item = Arc<Table>>, start: Option<&[u8]>) -> Source {
        Source::Tables {
            pending: tables.into_iter().collect(),
            current: None,
            start: start.map(<[u8]>::to_vec),
            reverse: false,
        }
    }

    fn next(&mut self) -> Result<Option<MergeEntry>> {
        match self {
            Source::Memtable {
                memtable,
                buffer,
                next_from,
                start,
                exhausted,
                reverse,
            } => {
                if buffer.is_empty() && !*exhausted {
                    let page = if *reverse {
                        let upper = match (next_from.as_deref(), start.as_deref()) {
                            (Some(before), _) | (None, Some(before)) => Bound::Excluded(before),
                            (None, None) => Bound::Unbounded,
                        };
                        memtable.page_rev(upper, MEMTABLE_PAGE)
                    } else {
                        let lower = match (next_from.as_deref(), start.as_deref()) {
                            (Some(after), _) => Bound::Excluded(after),
                            (None, Some(start)) => Bound::Included(start),
                            (None, None) => Bound::Unbounded,
                        };
                        memtable.page(lower, MEMTABLE_PAGE)
                    };
                    if page.len() < MEMTABLE_PAGE {
                        *exhausted = true;
                    }
                    if let Some((key, _)) = page.last() {
                        *next_from = Some(key.clone());
                    }
                    buffer.extend(page.into_iter().map(|(key, v)| MergeEntry {
                        key,
                        seq: v.seq,
                        kind: v.kind,
                        value: v.value,
                    }));
                }
                Ok(buffer.pop_front())
            }
            Source::Tables {
                pending,
                current,
                start,
                reverse,
            } => loop {
                if current.is_none() {
                    let Some(table) = pending.pop_front() else {
                        return Ok(None);
                    };
                    *current = Some(if *reverse {
                        Cursor::Reverse(table.iter_rev(start.as_deref().map(|k| (k, true)))?)
                    } else {
                        let mut iter = table.iter();
                        if let Some(key) = start.as_deref() {
                            iter.seek(key)?;
                        }
                        Cursor::Forward(iter)
                    });
                }
                if let Some(cursor) = current.as_mut() {
                    let next = match cursor {
                        Cursor::Forward(iter) => iter.next(),
                        Cursor::Reverse(iter) => iter.next(),
                    };
                    match next {
                        Some(entry) => {
                            let entry = entry?;
                            return Ok(Some(MergeEntry {
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

/// Merges sources into one stream of the newest entry per key, in key order (or descending
/// key order for reverse sources).
pub struct MergeIter {
    sources: Vec<Source>,
    heads: Vec<Option<MergeEntry>>,
    reverse: bool,
}

impl MergeIter {
    /// Merges `sources` (newest first).
    ///
    /// # Errors
    /// The first read error of any source.
    pub fn new(sources: Vec<Source>) -> Result<MergeIter> {
        Self::build(sources, false)
    }

    /// Merges descending `sources` (newest first) into descending key order.
    ///
    /// # Errors
    /// The first read error of any source.
    pub fn new_rev(sources: Vec<Source>) -> Result<MergeIter> {
        Self::build(sources, true)
    }

    fn build(mut sources: Vec<Source>, reverse: bool) -> Result<MergeIter> {
        let mut heads = Vec::with_capacity(sources.len());
        for source in &mut sources {
            heads.push(source.next()?);
        }
        Ok(MergeIter {
            sources,
            heads,
            reverse,
        })
    }

    /// The next key's newest entry, or `None` at the end.
    ///
    /// # Errors
    /// A read error (I/O or corruption) of any source.
    pub fn next_entry(&mut self) -> Result<Option<MergeEntry>> {
        let mut best: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Some(head) = head else { continue };
            let better = match best.and_then(|b| self.heads[b].as_ref()) {
                None => true,
                Some(current) => {
                    let first = if self.reverse {
                        head.key > current.key
                    } else {
                        head.key < current.key
                    };
                    first || (head.key == current.key && head.seq > current.seq)
                }
            };
            if better {
                best = Some(i);
            }
        }
        let Some(best) = best else { return Ok(None) };
        let Some(winner) = self.heads[best].take() else {
            return Ok(None);
        };
        self.heads[best] = self.sources[best].next()?;
        for i in 0..self.sources.len() {
            while self.heads[i].as_ref().is_some_and(|h| h.key == winner.key) {
                self.heads[i] = self.sources[i].next()?;
            }
        }
        Ok(Some(winner))
    }
}

/// The range tombstones that apply to a read, and the question they answer.
#[derive(Debug, Clone, Default)]
pub struct Tombstones {
    list: Vec<crate::types::RangeTombstone>,
}

impl Tombstones {
    /// A set holding `list`.
    pub fn new(list: Vec<crate::types::RangeTombstone>) -> Self {
        Tombstones { list }
    }

    /// Adds more tombstones.
    pub fn extend(&mut self, more: impl IntoIterator<Item = crate::types::RangeTombstone>) {
        self.list.extend(more);
    }

    /// True when there are none (the common case: every check is then free).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The tombstones, in no particular order.
    pub fn as_slice(&self) -> &[crate::types::RangeTombstone] {
        &self.list
    }

    /// Whether a write of `key` at `seq` is deleted by a newer range delete.
    pub fn hides(&self, key: &[u8], seq: SeqNo) -> bool {
        self.list.iter().any(|t| t.covers(key, seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FileNumber, RangeTombstone};

    fn mem(entries: &[(&str, u64, ValueKind)]) -> Arc<Memtable> {
        let m = Memtable::new(FileNumber(1));
        for (k, seq, kind) in entries {
            m.insert(
                k.as_bytes(),
                SeqNo(*seq),
                *kind,
                format!("{k}@{seq}").as_bytes(),
            );
        }
        Arc::new(m)
    }

    #[test]
    fn newest_entry_per_key_in_key_order() {
        let newer = mem(&[("b", 5, ValueKind::Put), ("d", 6, ValueKind::Delete)]);
        let older = mem(&[
            ("a", 1, ValueKind::Put),
            ("b", 2, ValueKind::Put),
            ("d", 3, ValueKind::Put),
        ]);
        let mut merge = MergeIter::new(vec![
            Source::memtable(newer, None),
            Source::memtable(older, None),
        ])
        .unwrap();
        let mut out = Vec::new();
        while let Some(e) = merge.next_entry().unwrap() {
            out.push((String::from_utf8(e.key).unwrap(), e.seq.0, e.kind));
        }
        assert_eq!(
            out,
            vec![
                ("a".into(), 1, ValueKind::Put),
                ("b".into(), 5, ValueKind::Put),
                ("d".into(), 6, ValueKind::Delete)
            ]
        );
    }

    #[test]
    fn start_bound_and_paging_cover_every_entry() {
        let m = Memtable::new(FileNumber(1));
        for i in 0..1000u64 {
            m.insert(
                format!("k{i:04}").as_bytes(),
                SeqNo(i + 1),
                ValueKind::Put,
                b"v",
            );
        }
        let mut merge =
            MergeIter::new(vec![Source::memtable(Arc::new(m), Some(b"k0500"))]).unwrap();
        let mut count = 0;
        let mut first = None;
        while let Some(e) = merge.next_entry().unwrap() {
            first.get_or_insert(e.key);
            count += 1;
        }
        assert_eq!(count, 500);
        assert_eq!(first.unwrap(), b"k0500");
    }

    #[test]
    fn tombstones_hide_only_older_writes_in_range() {
        let set = Tombstones::new(vec![RangeTombstone {
            start: b"b".to_vec(),
            end: b"d".to_vec(),
            seq: SeqNo(10),
        }]);
        assert!(set.hides(b"b", SeqNo(9)));
        assert!(set.hides(b"c", SeqNo(1)));
        assert!(!set.hides(b"d", SeqNo(1)), "end is exclusive");
        assert!(!set.hides(b"a", SeqNo(1)));
        assert!(!set.hides(b"c", SeqNo(11)), "newer writes survive");
    }
}
