//! The flush path: the queue's task type, the metrics (wait, build, release), and the build +
//! install of one immutable memtable as an L0 table in either durability mode.
//!
//! ```text
//! enqueue ──wait──▶ dequeue ──build──▶ installed in manifest ──release──▶ memtable dropped,
//! (rotation)        (worker)  SST write, install,                      WAL reclaimed
//!                             manifest edit
//! ```
//!
//! Install order (SPEC 2.2), enforced by [`write_table`]:
//! - `strict`: write `<final>.tmp.<pid>.<ns>` -> fsync it -> `renameat2(RENAME_NOREPLACE)` to
//!   the final name -> fsync the workdir. Only then may the caller log the manifest edit.
//! - `fast`: write the final name opened with `O_CREAT|O_EXCL`; no rename, no fsync (`db`
//!   fsyncs the tables of a flush or compaction that replaces durable data before its edit).
//!
//! On failure the temporary (strict) or the partial file this flush created (fast) is removed;
//! a file that already existed under the final name is never touched.
//!
//! The worker loop, the manifest edit and the release live in `db`, which owns the state they
//! change; this module holds the parts that can be tested alone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::filenames;
use crate::memtable::Memtable;
use crate::options::Durability;
use crate::sst::{TableOptions, TableWriter};
use crate::stats::FlushStats;
use crate::types::{FileNumber, TableMeta};
use crate::vfs::Vfs;

/// One immutable memtable waiting in the flush queue.
#[derive(Debug, Clone)]
pub struct FlushTask {
    /// The memtable to write.
    pub memtable: Arc<Memtable>,
    /// The WAL checkpoint once this memtable is flushed: the segment of the next memtable.
    pub next_wal: FileNumber,
    /// When it was queued (the wait time starts).
    pub enqueued_at: Instant,
}

/// Flush counters and timings. Cumulative over the workdir's life when started from the last
/// published snapshot ([`FlushMetrics::resume`]).
#[derive(Debug, Default)]
pub struct FlushMetrics {
    state: Mutex<FlushStats>,
}

impl FlushMetrics {
    /// Metrics that continue the cumulative counters of `previous`. Gauges (queue, active)
    /// start at zero: they describe this process.
    pub fn resume(previous: &FlushStats) -> Self {
        let mut state = previous.clone();
        state.pending = 0;
        state.queue = 0;
        state.active = 0;
        FlushMetrics {
            state: Mutex::new(state),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut FlushStats) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A task entered the queue.
    pub fn enqueued(&self) {
        self.with(|s| s.queue += 1);
    }

    /// A worker took a task; `wait` is enqueue to dequeue.
    pub fn dequeued(&self, wait: Duration) {
        self.with(|s| {
            s.queue = s.queue.saturating_sub(1);
            s.active += 1;
            s.wait.record(wait);
        });
    }

    /// The task's table is installed in the manifest; `build` is dequeue to installed.
    pub fn built(&self, build: Duration, bytes: u64, entries: u64) {
        self.with(|s| {
            s.build.record(build);
            s.bytes_written += bytes;
            s.entries_written += entries;
        });
    }

    /// The memtable is dropped and its WAL reclaimed; `release` is installed to released.
    pub fn released(&self, release: Duration) {
        self.with(|s| {
            s.release.record(release);
            s.active = s.active.saturating_sub(1);
            s.completed += 1;
        });
    }

    /// The task failed; its memtable stays in memory and its WAL on disk.
    pub fn failed(&self, message: String) {
        self.with(|s| {
            s.active = s.active.saturating_sub(1);
            s.failed += 1;
            s.last_error = Some(message);
        });
    }

    /// A writer waited `stall` for room among the immutables.
    pub fn stalled(&self, stall: Duration) {
        self.with(|s| {
            s.stall_count += 1;
            s.stall_ms += stall.as_secs_f64() * 1000.0;
            s.stall.record(stall);
        });
    }

    /// The current figures, with `pending = queue + active`.
    pub fn snapshot(&self) -> FlushStats {
        self.with(|s| {
            let mut out = s.clone();
            out.pending = out.queue + out.active;
            out
        })
    }
}

/// Writes `memtable` (points and range tombstones) as table `number` in `dir` and installs it
/// under its final name by `durability` (module docs). Returns `None` for an empty memtable
/// (nothing is written).
///
/// # Errors
/// As [`install_table`].
pub fn write_table(
    vfs: &dyn Vfs,
    dir: &Path,
    number: FileNumber,
    durability: Durability,
    memtable: &Memtable,
    options: TableOptions,
) -> Result<Option<TableMeta>> {
    if memtable.is_empty() {
        return Ok(None);
    }
    install_table(vfs, dir, number, durability, options, |writer| {
        memtable.for_each(|key, entry| writer.add(key, entry.seq, entry.kind, &entry.value))?;
        for tombstone in memtable.range_tombstones() {
            writer.add_range_tombstone(&tombstone)?;
        }
        Ok(())
    })
    .map(Some)
}

/// Builds table `number` in `dir` with `fill` and installs it under its final name by
/// `durability` (module docs): the one install path for flushes and compactions. `fill` must
/// add at least one entry or range tombstone.
///
/// # Errors
/// Any I/O error, an error from `fill`, or [`crate::Error::RenameNoReplaceUnsupported`]; the
/// temporary or partial file is removed first.
pub fn install_table(
    vfs: &dyn Vfs,
    dir: &Path,
    number: FileNumber,
    durability: Durability,
    options: TableOptions,
    fill: impl FnOnce(&mut TableWriter) -> Result<()>,
) -> Result<TableMeta> {
    let mut build = TableBuild::create(vfs, dir, number, durability, options)?;
    match fill(build.writer()) {
        Ok(()) => build.install(),
        Err(err) => {
            build.abandon();
            Err(err)
        }
    }
}

/// A table being built and then installed by a durability mode (module docs); the two halves
/// of [`install_table`] for callers that fill a table over several calls (sorted ingestion).
/// Dropping it without [`TableBuild::install`] removes the file it created.
pub struct TableBuild<'a> {
    vfs: &'a dyn Vfs,
    dir: &'a Path,
    number: FileNumber,
    durability: Durability,
    /// Where the bytes go: the final name (fast) or the temporary (strict).
    path: PathBuf,
    writer: Option<TableWriter>,
}

impl<'a> TableBuild<'a> {
    /// Creates the file: the final name with `O_EXCL` (fast) or `<final>.tmp.<pid>.<ns>`
    /// (strict).
    ///
    /// # Errors
    /// The create error (fast: an existing final name fails, it is never overwritten).
    pub fn create(
        vfs: &'a dyn Vfs,
        dir: &'a Path,
        number: FileNumber,
        durability: Durability,
        options: TableOptions,
    ) -> Result<TableBuild<'a>> {
        let final_name = filenames::table_name(number);
        let path = match durability {
            Durability::Fast => dir.join(&final_name),
            Durability::Strict => dir.join(filenames::temp_name(&final_name)),
        };
        let file = vfs.create_new(&path)?;
        Ok(TableBuild {
            vfs,
            dir,
            number,
            durability,
            path,
            writer: Some(TableWriter::new(file, options)),
        })
    }

    /// The writer to add entries and range tombstones to.
    ///
    /// # Panics
    /// Never: the writer is only taken by `install`, which consumes the build.
    pub fn writer(&mut self) -> &mut TableWriter {
        self.writer
            .as_mut()
            .expect("a table build always holds its writer until install")
    }

    /// Finishes the table and installs it under its final name.
    ///
    /// # Errors
    /// As [`install_table`]; the file is removed on error.
    pub fn install(mut self) -> Result<TableMeta> {
        let Some(writer) = self.writer.take() else {
            return Err(crate::Error::InvalidArgument(
                "table already installed".into(),
            ));
        };
        let final_path = self.dir.join(filenames::table_name(self.number));
        let result = writer
            .finish()
            .and_then(|(meta, file)| match self.durability {
                Durability::Fast => Ok(meta),
                Durability::Strict => {
                    file.sync()?;
                    // IMPORTANT: the table's bytes are durable before it takes its final name,
                    // and the name is durable (directory fsync) before the manifest may
                    // reference it.
                    self.vfs.rename_no_replace(&self.path, &final_path)?;
                    self.path = final_path.clone();
                    self.vfs.sync_dir(self.dir)?;
                    Ok(meta)
                }
            });
        match result {
            Ok(meta) => {
                // Installed: nothing left to clean up.
                self.path = PathBuf::new();
                Ok(TableMeta {
                    number: self.number,
                    ..meta
                })
            }
            // Drop removes whatever this build created (temporary, or the final name when
            // the directory fsync failed and the name may not be durable).
            Err(err) => Err(err),
        }
    }

    /// Gives up: removes the file.
    pub fn abandon(self) {}
}

impl Drop for TableBuild<'_> {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.writer = None;
            let _ = self.vfs.remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_counts_each_stage_once() {
        let m = FlushMetrics::default();
        m.enqueued();
        m.enqueued();
        let s = m.snapshot();
        assert_eq!((s.queue, s.active, s.pending), (2, 0, 2));
        m.dequeued(Duration::from_millis(5));
        let s = m.snapshot();
        assert_eq!((s.queue, s.active, s.pending), (1, 1, 2));
        assert_eq!(s.wait.count, 1);
        m.built(Duration::from_millis(20), 1000, 10);
        m.released(Duration::from_millis(2));
        m.dequeued(Duration::from_millis(9));
        m.failed("fsync 000012.sst: Input/output error".into());
        let s = m.snapshot();
        assert_eq!((s.queue, s.active, s.pending), (0, 0, 0));
        assert_eq!((s.completed, s.failed), (1, 1));
        assert_eq!((s.wait.count, s.build.count, s.release.count), (2, 1, 1));
        assert!((s.wait.last_ms - 9.0).abs() < 1e-9);
        assert!((s.wait.max_ms - 9.0).abs() < 1e-9);
        assert!((s.wait.avg_ms - 7.0).abs() < 1e-9);
        assert_eq!((s.bytes_written, s.entries_written), (1000, 10));
        assert_eq!(
            s.last_error.as_deref(),
            Some("fsync 000012.sst: Input/output error")
        );
    }

    #[test]
    fn resume_keeps_cumulative_counters_and_resets_gauges() {
        let m = FlushMetrics::default();
        m.enqueued();
        m.dequeued(Duration::from_millis(1));
        m.built(Duration::from_millis(1), 10, 1);
        m.released(Duration::from_millis(1));
        m.enqueued();
        m.stalled(Duration::from_millis(3));
        let resumed = FlushMetrics::resume(&m.snapshot());
        let s = resumed.snapshot();
        assert_eq!(s.completed, 1);
        assert_eq!(s.stall_count, 1);
        assert_eq!((s.queue, s.pending), (0, 0));
    }
}
