//! Read-only inspection of a workdir for `nokv stats`: combines the last published `STATS`
//! snapshot with what the manifest and the WAL directory say now. Never takes `LOCK`, never
//! creates, replays or flushes anything.
//!
//! (Being implemented: the API below is fixed.)

use std::path::Path;

use crate::error::Result;
use crate::stats::StatsSnapshot;
use crate::vfs::Vfs;

/// The stats of `dir` as seen from outside.
///
/// # Errors
/// `Error::Io` (NotFound) when `dir` does not exist; `Error::NotADatabase` when it has no
/// `CURRENT`; corruption of `CURRENT` or the manifest header.
pub fn offline_stats(vfs: &dyn Vfs, dir: &Path) -> Result<StatsSnapshot> {
    let _ = (vfs, dir);
    unimplemented!("offline stats are being implemented")
}
