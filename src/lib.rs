//! nokv: an embedded LSM-tree key-value engine and the command line to drive and inspect it.
//!
//! The engine is the library; `src/main.rs` is a thin binary over [`cli`]. Only `cli` prints.

pub mod cli;
pub mod codec;
pub mod error;
pub mod filenames;
pub mod manifest;
pub mod options;
pub mod sst;
pub mod types;
pub mod vfs;

pub use error::{Error, Result};
pub use options::{Durability, Options};
pub use types::{FileNumber, SeqNo, ValueKind};
pub mod batch;
pub mod memtable;
pub mod wal;

pub use batch::WriteBatch;
