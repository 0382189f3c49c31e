//! [`BlockCache`]: a bounded cache of verified data blocks shared by every open table.
//!
//! Only point lookups fill it (a scan or a compaction reads each block once and would only
//! evict hot blocks). A block enters the cache after its CRC was checked, so a hit serves
//! bytes that were verified when they were read. Eviction is sampled LRU: when over capacity,
//! the least recently used of a few entries is dropped, which keeps every operation O(1)
//! without a linked list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::block::DataBlock;

/// Entries examined per eviction.
const EVICTION_SAMPLE: usize = 8;
/// Independent shards, so concurrent readers rarely contend.
const SHARDS: usize = 16;

/// Identifies one opened table within a cache.
static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a table opened with a cache.
pub(super) fn next_table_id() -> u64 {
    NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed)
}

#[derive(Default)]
struct Shard {
    map: HashMap<(u64, u64), (Arc<DataBlock>, u64)>,
    bytes: u64,
    tick: u64,
}

/// A bounded, sharded cache of data blocks keyed by (table id, block offset).
pub struct BlockCache {
    shards: Vec<Mutex<Shard>>,
    shard_capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("capacity", &(self.shard_capacity * SHARDS as u64))
            .field("hits", &self.hits.load(Ordering::Relaxed))
            .field("misses", &self.misses.load(Ordering::Relaxed))
            .finish()
    }
}

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of blocks.
    pub fn new(capacity_bytes: u64) -> Self {
        BlockCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_capacity: capacity_bytes / SHARDS as u64,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: (u64, u64)) -> &Mutex<Shard> {
        let mixed = (key.0 ^ key.1.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        &self.shards[(mixed >> 60) as usize % SHARDS]
    }

    /// The cached block, if any.
    pub(super) fn get(&self, table: u64, offset: u64) -> Option<Arc<DataBlock>> {
        let mut shard = self
            .shard((table, offset))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        shard.tick += 1;
        let tick = shard.tick;
        match shard.map.get_mut(&(table, offset)) {
            Some((block, used)) => {
                *used = tick;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(Arc::clone(block))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Caches `block`, evicting least recently used blocks beyond capacity.
    pub(super) fn insert(&self, table: u64, offset: u64, block: Arc<DataBlock>) {
        let size = block.size() as u64;
        if size > self.shard_capacity {
            return;
        }
        let mut shard = self
            .shard((table, offset))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        shard.tick += 1;
        let tick = shard.tick;
        if let Some((old, _)) = shard.map.insert((table, offset), (block, tick)) {
            shard.bytes -= old.size() as u64;
        }
        shard.bytes += size;
        while shard.bytes > self.shard_capacity {
            let victim = shard
                .map
                .iter()
                .take(EVICTION_SAMPLE)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k);
            let Some(victim) = victim else { break };
            if let Some((old, _)) = shard.map.remove(&victim) {
                shard.bytes -= old.size() as u64;
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes)
            .sum()
    }

    /// Lookups served from the cache, and lookups that were not.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}
