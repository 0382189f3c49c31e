//! The in-memory table: an ordered map from key to its newest entry, with size accounting.
//!
//! One memtable is bound to one WAL segment: the segment logs exactly the batches the memtable
//! holds, so when the memtable is flushed, the segment can go. Only the newest version of a
//! key is kept (the engine has no snapshots), so a flushed table has one entry per key.
//! Readers take a read lock for a lookup; no lock is held across I/O.
//!
//! The map is an arena-backed skiplist ([`skiplist`]): keys, values and the index's links are
//! appended to 4 MiB byte chunks, with no heap allocation per entry. For 16-byte keys and
//! 100-byte values an entry costs about 142 bytes of memory, 1.23 times its data.

mod skiplist;

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::types::{FileNumber, RangeTombstone, SeqNo, ValueKind};

use skiplist::{Inserted, SkipList};

/// Bookkeeping bytes charged per entry on top of key and value: the skiplist node's header
/// and its average tower of 4/3 links.
pub(crate) const ENTRY_OVERHEAD: u64 = skiplist::NODE_HEADER as u64 + 5;

/// The newest entry of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemValue {
    /// The write's sequence number.
    pub seq: SeqNo,
    /// Put or delete.
    pub kind: ValueKind,
    /// The value (empty for a delete).
    pub value: Vec<u8>,
}

/// An ordered in-memory table bound to one WAL segment.
#[derive(Debug)]
pub struct Memtable {
    list: RwLock<SkipList>,
    /// Range deletes, in arrival order (usually few).
    tombstones: RwLock<Vec<RangeTombstone>>,
    /// Bytes of the live entries (see [`Memtable::approximate_bytes`]).
    bytes: AtomicU64,
    max_seq: AtomicU64,
    wal: FileNumber,
}

/// The first 8 bytes of `key`, big-endian, zero-padded: ordering by it never contradicts
/// ordering by key, and equal prefixes fall back to the whole key.
fn key_prefix(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(bytes)
}

fn entry_bytes(key: &[u8], value_len: usize) -> u64 {
    key.len() as u64 + value_len as u64 + ENTRY_OVERHEAD
}

impl Memtable {
    /// An empty memtable whose writes are logged in WAL segment `wal`.
    pub fn new(wal: FileNumber) -> Self {
        Memtable {
            list: RwLock::new(SkipList::new()),
            tombstones: RwLock::new(Vec::new()),
            bytes: AtomicU64::new(0),
            max_seq: AtomicU64::new(0),
            wal,
        }
    }

    /// A memtable holding `entries`, given in log order (a later entry of a key replaces an
    /// earlier one, unless it has an older sequence number, as with [`Memtable::insert`]).
    /// Sorting compact indices once and appending to the skiplist in key order is several
    /// times faster than inserting one by one: this is how WAL replay fills memtables.
    pub fn from_log(wal: FileNumber, mut entries: Vec<(Vec<u8>, MemValue)>) -> Self {
        let mut tombstones = Vec::new();
        if entries
            .iter()
            .any(|(_, v)| v.kind == ValueKind::RangeDelete)
        {
            entries.retain(|(key, v)| {
                if v.kind != ValueKind::RangeDelete {
                    return true;
                }
                tombstones.push(RangeTombstone {
                    start: key.clone(),
                    end: v.value.clone(),
                    seq: v.seq,
                });
                false
            });
        }
        // Sort (key prefix, index) pairs: most comparisons never leave this array. Equal keys
        // end up by ascending (seq, position), so the last of a run is the one that wins.
        let mut order: Vec<(u64, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key_prefix(key), i))
            .collect();
        order.sort_unstable_by(|&(pa, a), &(pb, b)| {
            pa.cmp(&pb).then_with(|| {
                let (ka, va) = &entries[a];
                let (kb, vb) = &entries[b];
                ka.cmp(kb).then(va.seq.cmp(&vb.seq)).then(a.cmp(&b))
            })
        });
        let mut list = SkipList::new();
        let mut tails = SkipList::empty_tails();
        let mut bytes: u64 = tombstones.iter().map(tombstone_bytes).sum();
        let mut max_seq = tombstones.iter().map(|t| t.seq.0).max().unwrap_or(0);
        for (n, &(prefix, i)) in order.iter().enumerate() {
            let (key, v) = &entries[i];
            if let Some(&(next_prefix, j)) = order.get(n + 1) {
                if next_prefix == prefix && entries[j].0 == *key {
                    continue;
                }
            }
            list.push_sorted(&mut tails, key, v.seq, v.kind, &v.value);
            bytes += entry_bytes(key, v.value.len());
            max_seq = max_seq.max(v.seq.0);
        }
        drop(order);
        drop(entries);
        Memtable {
            list: RwLock::new(list),
            tombstones: RwLock::new(tombstones),
            bytes: AtomicU64::new(bytes),
            max_seq: AtomicU64::new(max_seq),
            wal,
        }
    }

    /// The WAL segment that logs this memtable.
    pub fn wal(&self) -> FileNumber {
        self.wal
    }

    /// Inserts an entry; an older sequence number than the stored one is ignored.
    pub fn insert(&self, key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) {
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        self.insert_locked(&mut list, key, seq, kind, value);
    }

    /// Inserts a run of entries under one lock acquisition: entry `i` gets `first_seq + i`.
    pub fn insert_batch<'a>(
        &self,
        first_seq: SeqNo,
        ops: impl IntoIterator<Item = (ValueKind, &'a [u8], &'a [u8])>,
    ) {
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        for (i, (kind, key, value)) in ops.into_iter().enumerate() {
            self.insert_locked(&mut list, key, SeqNo(first_seq.0 + i as u64), kind, value);
        }
    }

    fn insert_locked(
        &self,
        list: &mut SkipList,
        key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
    ) {
        if kind == ValueKind::RangeDelete {
            let tombstone = RangeTombstone {
                start: key.to_vec(),
                end: value.to_vec(),
                seq,
            };
            self.bytes
                .fetch_add(tombstone_bytes(&tombstone), Ordering::Relaxed);
            self.tombstones
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .push(tombstone);
            self.max_seq.fetch_max(seq.0, Ordering::Relaxed);
            return;
        }
        match list.insert(key, seq, kind, value) {
            Inserted::Ignored => return,
            Inserted::New => {
                self.bytes
                    .fetch_add(entry_bytes(key, value.len()), Ordering::Relaxed);
            }
            Inserted::Replaced(old_len) => {
                self.bytes
                    .fetch_add(entry_bytes(key, value.len()), Ordering::Relaxed);
                self.bytes
                    .fetch_sub(entry_bytes(key, old_len), Ordering::Relaxed);
            }
        }
        self.max_seq.fetch_max(seq.0, Ordering::Relaxed);
    }

    /// The newest entry of `key`, tombstones included.
    pub fn get(&self, key: &[u8]) -> Option<MemValue> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.get(key).map(|e| MemValue {
            seq: e.seq,
            kind: e.kind,
            value: e.value.to_vec(),
        })
    }

    /// Approximate memory held by the live entries, in bytes: key, value and a fixed
    /// per-entry overhead for each key's newest entry, plus the range tombstones. Arena
    /// bytes left behind by overwrites (an old value too short to take the new one in place)
    /// are not counted, nor is the unused tail of the current chunk. Rotation reads this as
    /// well as the WAL's size: the memtable is rotated when either would exceed
    /// `memtable_size`, so its memory stays near the configured size.
    pub fn approximate_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Number of keys (tombstones included).
    pub fn len(&self) -> usize {
        self.list.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no write has reached this memtable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && !self.has_range_tombstones()
    }

    /// Whether any range delete reached this memtable.
    pub fn has_range_tombstones(&self) -> bool {
        !self
            .tombstones
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The range deletes, in arrival order.
    pub fn range_tombstones(&self) -> Vec<RangeTombstone> {
        self.tombstones
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Largest sequence number inserted (0 when empty).
    pub fn max_seq(&self) -> SeqNo {
        SeqNo(self.max_seq.load(Ordering::Relaxed))
    }

    /// Visits every entry in key order under the read lock (used by flush, when the memtable
    /// is immutable and nobody writes to it). Stops at the first error.
    ///
    /// # Errors
    /// The first error `visit` returns.
    pub fn for_each<E>(
        &self,
        mut visit: impl FnMut(&[u8], &MemValue) -> Result<(), E>,
    ) -> Result<(), E> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        // One value buffer for the whole walk: no allocation per entry.
        let mut scratch = MemValue {
            seq: SeqNo(0),
            kind: ValueKind::Put,
            value: Vec::new(),
        };
        for entry in list.iter_from(None) {
            scratch.seq = entry.seq;
            scratch.kind = entry.kind;
            scratch.value.clear();
            scratch.value.extend_from_slice(entry.value);
            visit(entry.key, &scratch)?;
        }
        Ok(())
    }

    /// Up to `limit` entries with keys from `lower` on, in key order: a scan pages through a
    /// live memtable without holding its lock.
    pub fn page(&self, lower: Bound<&[u8]>, limit: usize) -> Vec<(Vec<u8>, MemValue)> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        let from = match lower {
            Bound::Included(key) => Some((key, false)),
            Bound::Excluded(key) => Some((key, true)),
            Bound::Unbounded => None,
        };
        list.iter_from(from)
            .take(limit)
            .map(|e| {
                (
                    e.key.to_vec(),
                    MemValue {
                        seq: e.seq,
                        kind: e.kind,
                        value: e.value.to_vec(),
                    },
                )
            })
            .collect()
    }
}

impl Memtable {
    /// Up to `limit` entries with keys up to `upper`, in descending key order (reverse scans
    /// page through a live memtable the same way forward ones do).
    pub fn page_rev(&self, upper: Bound<&[u8]>, limit: usize) -> Vec<(Vec<u8>, MemValue)> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        let from = match upper {
            Bound::Included(key) => Some((key, false)),
            Bound::Excluded(key) => Some((key, true)),
            Bound::Unbounded => None,
        };
        list.iter_rev_from(from)
            .take(limit)
            .map(|e| {
                (
                    e.key.to_vec(),
                    MemValue {
                        seq: e.seq,
                        kind: e.kind,
                        value: e.value.to_vec(),
                    },
                )
            })
            .collect()
    }
}

fn tombstone_bytes(t: &RangeTombstone) -> u64 {
    t.start.len() as u64 + t.end.len() as u64 + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_sequence_wins_and_size_follows() {
        let mem = Memtable::new(FileNumber(5));
        mem.insert(b"k", SeqNo(2), ValueKind::Put, b"new");
        let after_first = mem.approximate_bytes();
        assert_eq!(after_first, 1 + 3 + ENTRY_OVERHEAD);
        mem.insert(b"k", SeqNo(1), ValueKind::Put, b"older-and-longer");
        assert_eq!(mem.get(b"k").unwrap().value, b"new");
        assert_eq!(mem.approximate_bytes(), after_first);
        mem.insert(b"k", SeqNo(3), ValueKind::Delete, b"");
        assert_eq!(mem.get(b"k").unwrap().kind, ValueKind::Delete);
        assert_eq!(mem.approximate_bytes(), 1 + ENTRY_OVERHEAD);
        assert_eq!(mem.max_seq(), SeqNo(3));
        assert_eq!(mem.wal(), FileNumber(5));
    }

    #[test]
    fn entries_are_visited_in_key_order_and_paged() {
        let mem = Memtable::new(FileNumber(1));
        mem.insert_batch(
            SeqNo(10),
            [
                (ValueKind::Put, &b"c"[..], &b"3"[..]),
                (ValueKind::Put, b"a", b"1"),
                (ValueKind::Delete, b"b", b""),
            ],
        );
        let mut keys = Vec::new();
        mem.for_each(|k, v| {
            keys.push((k.to_vec(), v.seq));
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(
            keys,
            vec![
                (b"a".to_vec(), SeqNo(11)),
                (b"b".to_vec(), SeqNo(12)),
                (b"c".to_vec(), SeqNo(10))
            ]
        );
        let page = mem.page(Bound::Excluded(b"a"), 1);
        let rebuilt = Memtable::from_log(
            FileNumber(1),
            vec![
                (
                    b"b".to_vec(),
                    MemValue {
                        seq: SeqNo(1),
                        kind: ValueKind::Put,
                        value: b"old".to_vec(),
                    },
                ),
                (
                    b"a".to_vec(),
                    MemValue {
                        seq: SeqNo(2),
                        kind: ValueKind::Put,
                        value: b"1".to_vec(),
                    },
                ),
                (
                    b"b".to_vec(),
                    MemValue {
                        seq: SeqNo(3),
                        kind: ValueKind::Delete,
                        value: Vec::new(),
                    },
                ),
            ],
        );
        assert_eq!(rebuilt.len(), 2);
        assert_eq!(rebuilt.get(b"b").unwrap().kind, ValueKind::Delete);
        assert_eq!(rebuilt.max_seq(), SeqNo(3));
        assert_eq!(rebuilt.approximate_bytes(), 2 + 1 + 2 * ENTRY_OVERHEAD);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].0, b"b");
    }

    #[test]
    fn range_deletes_are_kept_apart_from_points() {
        let mem = Memtable::new(FileNumber(1));
        assert!(mem.is_empty());
        mem.insert(b"a", SeqNo(1), ValueKind::RangeDelete, b"c");
        assert!(!mem.is_empty());
        assert_eq!(mem.len(), 0);
        assert_eq!(mem.max_seq(), SeqNo(1));
        let rebuilt = Memtable::from_log(
            FileNumber(1),
            vec![(
                b"a".to_vec(),
                MemValue {
                    seq: SeqNo(4),
                    kind: ValueKind::RangeDelete,
                    value: b"b".to_vec(),
                },
            )],
        );
        assert_eq!(
            rebuilt.range_tombstones(),
            vec![RangeTombstone {
                start: b"a".to_vec(),
                end: b"b".to_vec(),
                seq: SeqNo(4)
            }]
        );
        assert_eq!(rebuilt.len(), 0);
    }
}

#[cfg(test)]
mod model_tests;
