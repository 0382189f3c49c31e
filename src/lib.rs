//! nokv: an embedded LSM-tree key-value engine and the command line to drive and inspect it.
//!
//! The engine is the library: [`Db`] opens a workdir, takes writes into a WAL and a memtable,
//! flushes immutable memtables into L0 tables through the manifest, and recovers after any
//! crash (see the `db` module docs for the durability order). `src/main.rs` is a thin binary
//! over [`cli`]; only `cli` prints.
//!
//! Modules, one per concept: [`vfs`] (every file operation), [`wal`], [`memtable`], [`sst`],
//! [`manifest`], [`flush`], [`db`], [`stats`], [`events`], [`verify`], [`salvage`], [`cli`].

pub mod batch;
pub mod cli;
pub mod codec;
pub mod compaction;
pub mod db;
pub mod error;
pub mod events;
pub mod filenames;
pub mod flush;
pub mod inspect;
pub mod manifest;
pub mod memtable;
pub mod merge;
pub mod options;
pub mod salvage;
pub mod sst;
pub mod stats;
pub mod types;
pub mod verify;
pub mod vfs;
pub mod wal;

pub use batch::WriteBatch;
pub use db::{
    checkpoint, checkpoint_with_vfs, CheckpointSummary, CompactionSummary, Db, FlushSummary,
    ReadOnlyDb, Scan, ScanOptions,
};
pub use error::{Error, Result};
pub use options::{Compression, Durability, Options};
pub use types::{FileNumber, SeqNo, TableMeta, TornLog, TornTail, ValueKind};
