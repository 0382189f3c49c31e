//! Engine options, with static defaults and validation.

use crate::error::{Error, Result};
pub use crate::sst::Compression;
use std::time::Duration;

/// How flushed tables are installed (SPEC 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Write the table straight to its final name with `O_CREAT|O_EXCL`; no temp file, no
    /// rename, no fsync. Survives process crashes; a power loss may lose recent data, or
    /// leave a workdir that refuses to open.
    Fast,
    /// Write a temp file, fsync it, rename it without replace, fsync the workdir, and only
    /// then log the manifest edit (fsynced). Survives power loss.
    #[default]
    Strict,
}

impl Durability {
    /// The name used on the command line and in stats.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fast => "fast",
            Durability::Strict => "strict",
        }
    }
}

/// Options for [`crate::Db::open`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Rotate the memtable when the active WAL segment plus the incoming batch, or the
    /// memtable's approximate memory plus the batch's, would exceed
    /// this many bytes. Default 64 MiB.
    pub memtable_size: u64,
    /// At most this many immutable memtables wait for flush; writers stall beyond. Default 4.
    pub max_immutables: usize,
    /// Table install mode. Default [`Durability::Strict`].
    pub durability: Durability,
    /// fsync the WAL before a write returns (with group commit). Default off: a write is in
    /// the kernel when it returns, which survives `kill -9` but not power loss.
    pub sync_writes: bool,
    /// Target size of an SST data block. Default 16 KiB.
    pub block_size: usize,
    /// Codec for the data and index blocks of new tables (flushes, compactions, ingests).
    /// Tables of other codecs stay readable; compaction rewrites them in this one.
    /// Default [`Compression::Lz4`].
    pub compression: Compression,
    /// zstd compression level (1 fastest .. 22 smallest; used with [`Compression::Zstd`]).
    /// Default 3.
    pub zstd_level: i32,
    /// A full key (restart point) every this many entries in data and index blocks; keys in
    /// between store only what differs from the previous key. Default 16.
    pub block_restart_interval: usize,
    /// Bytes of verified data blocks kept in memory for point lookups; 0 disables the cache.
    /// Default 32 MiB.
    pub block_cache_bytes: u64,
    /// Bloom filter bits per key. Default 10 (about 1% false positives).
    pub bloom_bits_per_key: u32,
    /// Rewrite the manifest as a snapshot once its log exceeds this many bytes. Default 4 MiB.
    pub manifest_rewrite_threshold: u64,
    /// Publish `STATS` this often while open; `None` publishes only at close. Default 1 s.
    pub stats_interval: Option<Duration>,
    /// Start the flush and compaction worker threads. With `false`, queued memtables are
    /// flushed (and compactions run) inline: by a writer that needs room, by
    /// [`crate::Db::flush`] and at close (deterministic tests use this). Default `true`.
    pub background_flush: bool,
    /// Compact automatically (L0 -> L1 at the trigger, Ln -> Ln+1 by size). Default `true`.
    pub auto_compaction: bool,
    /// L0 tables that trigger an L0 -> L1 compaction. Default 4.
    pub l0_compaction_trigger: usize,
    /// L0 tables at which each write is delayed by 1 ms (counted as a stall). Default 8.
    pub l0_slowdown_trigger: usize,
    /// L0 tables at which writers wait for compaction (counted as a stall). Default 12.
    pub l0_stop_trigger: usize,
    /// Target size of L1. Default 256 MiB.
    pub level1_target_bytes: u64,
    /// Each deeper level's target is this many times the previous one's. Default 10.
    pub level_size_multiplier: u64,
    /// Compaction outputs are cut at about this size, or earlier once an output's in-memory
    /// build state (8 bytes of bloom hash per key) reaches an eighth of it. Default 64 MiB.
    pub target_file_size: u64,
    /// Cap of the event history `EVENTS` before it rotates to `EVENTS.1`; 0 keeps no
    /// history. Default 4 MiB.
    pub events_max_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            memtable_size: 64 << 20,
            max_immutables: 4,
            durability: Durability::Strict,
            sync_writes: false,
            block_size: 4 << 10,
            bloom_bits_per_key: 10,
            compression: Compression::Lz4,
            zstd_level: 3,
            block_restart_interval: 16,
            block_cache_bytes: 32 << 20,
            manifest_rewrite_threshold: 4 << 20,
            stats_interval: Some(Duration::from_secs(1)),
            background_flush: true,
            auto_compaction: true,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 8,
            l0_stop_trigger: 12,
            level1_target_bytes: 256 << 20,
            level_size_multiplier: 10,
            target_file_size: 64 << 20,
            events_max_bytes: crate::events::DEFAULT_MAX_BYTES,
        }
    }
}

impl Options {
    /// Checks that the options make sense together.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the bad option.
    pub fn validate(&self) -> Result<()> {
        if self.memtable_size < 4096 {
            return Err(Error::InvalidArgument(format!(
                "memtable_size must be at least 4096 bytes, got {}",
                self.memtable_size
            )));
        }
        if self.max_immutables == 0 {
            return Err(Error::InvalidArgument(
                "max_immutables must be at least 1".into(),
            ));
        }
        if self.block_size < 256 || self.block_size > (16 << 20) {
            return Err(Error::InvalidArgument(format!(
                "block_size must be between 256 bytes and 16 MiB, got {}",
                self.block_size
            )));
        }
        if self.block_restart_interval == 0 || self.block_restart_interval > 1024 {
            return Err(Error::InvalidArgument(format!(
                "block_restart_interval must be between 1 and 1024, got {}",
                self.block_restart_interval
            )));
        }
        if !(1..=22).contains(&self.zstd_level) {
            return Err(Error::InvalidArgument(format!(
                "zstd_level must be between 1 and 22, got {}",
                self.zstd_level
            )));
        }
        if self.l0_compaction_trigger == 0
            || self.l0_slowdown_trigger < self.l0_compaction_trigger
            || self.l0_stop_trigger < self.l0_slowdown_trigger
        {
            return Err(Error::InvalidArgument(
                "need 1 <= l0_compaction_trigger <= l0_slowdown_trigger <= l0_stop_trigger".into(),
            ));
        }
        if self.level_size_multiplier < 2
            || self.level1_target_bytes == 0
            || self.target_file_size == 0
        {
            return Err(Error::InvalidArgument(
                "level sizes must be positive and grow by at least 2x per level".into(),
            ));
        }
        if self.bloom_bits_per_key > 64 {
            return Err(Error::InvalidArgument(
                "bloom_bits_per_key must be at most 64".into(),
            ));
        }
        Ok(())
    }
}
