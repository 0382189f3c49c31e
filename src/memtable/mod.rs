//! The in-memory table: an ordered map from key to its newest entry, with size accounting.
//!
//! One memtable is bound to one WAL segment: the segment logs exactly the batches the memtable
//! holds, so when the memtable is flushed, the segment can go. Only the newest version of a
//! key is kept (the engine has no snapshots), so a flushed table has one entry per key.
//! Readers take a read lock for a lookup; no lock is held across I/O.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::types::{FileNumber, RangeTombstone, SeqNo, ValueKind};

/// Bookkeeping bytes charged per entry on top of key and value (map node, seq, kind).
const ENTRY_OVERHEAD: u64 = 32;

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
    map: RwLock<BTreeMap<Vec<u8>, MemValue>>,
    /// Range deletes, in arrival order (usually few).
    tombstones: RwLock<Vec<RangeTombstone>>,
    bytes: AtomicU64,
    max_seq: AtomicU64,
    wal: FileNumber,
}

impl Memtable {
    /// An empty memtable whose writes are logged in WAL segment `wal`.
    pub fn new(wal: FileNumber) -> Self {
        Memtable {
            map: RwLock::new(BTreeMap::new()),
            tombstones: RwLock::new(Vec::new()),
            bytes: AtomicU64::new(0),
            max_seq: AtomicU64::new(0),
            wal,
        }
    }

    /// A memtable holding `entries`, given in log order (a later entry of a key replaces an
    /// earlier one). Sorting once and building the map in bulk is several times faster than
    /// inserting one by one: this is how WAL replay fills memtables.
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
        // `BTreeMap::from_iter` sorts stably and keeps the last of equal keys.
        let map: BTreeMap<Vec<u8>, MemValue> = entries.into_iter().collect();
        let bytes = map
            .iter()
            .map(|(k, v)| k.len() as u64 + v.value.len() as u64 + ENTRY_OVERHEAD)
            .chain(tombstones.iter().map(tombstone_bytes))
            .sum();
        let max_seq = map
            .values()
            .map(|v| v.seq.0)
            .chain(tombstones.iter().map(|t| t.seq.0))
            .max()
            .unwrap_or(0);
        Memtable {
            map: RwLock::new(map),
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
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        self.insert_locked(&mut map, key, seq, kind, value);
    }

    /// Inserts a run of entries under one lock acquisition: entry `i` gets `first_seq + i`.
    pub fn insert_batch<'a>(
        &self,
        first_seq: SeqNo,
        ops: impl IntoIterator<Item = (ValueKind, &'a [u8], &'a [u8])>,
    ) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        for (i, (kind, key, value)) in ops.into_iter().enumerate() {
            self.insert_locked(&mut map, key, SeqNo(first_seq.0 + i as u64), kind, value);
        }
    }

    fn insert_locked(
        &self,
        map: &mut BTreeMap<Vec<u8>, MemValue>,
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
        let new = MemValue {
            seq,
            kind,
            value: value.to_vec(),
        };
        let added = key.len() as u64 + value.len() as u64 + ENTRY_OVERHEAD;
        match map.get_mut(key) {
            Some(old) => {
                if old.seq > seq {
                    return;
                }
                let removed = key.len() as u64 + old.value.len() as u64 + ENTRY_OVERHEAD;
                *old = new;
                self.bytes.fetch_add(added, Ordering::Relaxed);
                self.bytes.fetch_sub(removed, Ordering::Relaxed);
            }
            None => {
                map.insert(key.to_vec(), new);
                self.bytes.fetch_add(added, Ordering::Relaxed);
            }
        }
        self.max_seq.fetch_max(seq.0, Ordering::Relaxed);
    }

    /// The newest entry of `key`, tombstones included.
    pub fn get(&self, key: &[u8]) -> Option<MemValue> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Approximate memory held by entries, in bytes.
    pub fn approximate_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Number of keys (tombstones included).
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
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
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        for (key, value) in map.iter() {
            visit(key, value)?;
        }
        Ok(())
    }

    /// Up to `limit` entries with keys from `lower` on, in key order: a scan pages through a
    /// live memtable without holding its lock.
    pub fn page(&self, lower: Bound<&[u8]>, limit: usize) -> Vec<(Vec<u8>, MemValue)> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.range::<[u8], _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
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
