//! Engine options, with static defaults and validation.

use crate::error::{Error, Result};
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
    /// Rotate the memtable when the active WAL segment plus the incoming batch would exceed
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
    /// Bloom filter bits per key. Default 10 (about 1% false positives).
    pub bloom_bits_per_key: u32,
    /// Rewrite the manifest as a snapshot once its log exceeds this many bytes. Default 4 MiB.
    pub manifest_rewrite_threshold: u64,
    /// Publish `STATS` this often while open; `None` publishes only at close. Default 1 s.
    pub stats_interval: Option<Duration>,
    /// Start the flush worker thread. With `false`, queued memtables are flushed only by
    /// [`crate::Db::flush`] and at close (used by deterministic tests). Default `true`.
    pub background_flush: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            memtable_size: 64 << 20,
            max_immutables: 4,
            durability: Durability::Strict,
            sync_writes: false,
            block_size: 16 << 10,
            bloom_bits_per_key: 10,
            manifest_rewrite_threshold: 4 << 20,
            stats_interval: Some(Duration::from_secs(1)),
            background_flush: true,
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
        if self.bloom_bits_per_key > 64 {
            return Err(Error::InvalidArgument(
                "bloom_bits_per_key must be at most 64".into(),
            ));
        }
        Ok(())
    }
}
