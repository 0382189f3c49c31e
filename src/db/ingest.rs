//! Sorted ingestion: a stream of keys in strictly increasing order is written straight into
//! tables, bypassing the WAL and the memtable, and installed through the manifest in one edit
//! (what RocksDB calls external SST ingestion).
//!
//! Order of operations:
//! 1. take the writer lock for the whole ingest (no other write can interleave), make the
//!    active memtable immutable and wait until every memtable is flushed, so everything older
//!    is in tables with smaller sequence numbers;
//! 2. reserve one sequence number `S` for the whole ingest (its keys are distinct); an ingest
//!    that commits nothing (no record, dropped without [`Ingest::finish`], or an edit refused
//!    before it is logged) gives `S` back before it releases the writer lock, so the next WAL
//!    record still follows the manifest's last sequence without a gap (recovery refuses a
//!    gap). Once the edit may have been logged (a failed manifest append or fsync), the tables
//!    stay and `S` stays taken: the engine is poisoned, and the next open sorts it out;
//! 3. write tables of about `target_file_size`, each installed like a flushed table (strict:
//!    temp file, fsync, rename-no-replace, directory fsync);
//! 4. one manifest edit adds every table at the deepest level where neither that level nor
//!    any level above it overlaps the ingested key range (L0 when the range overlaps L0),
//!    counting the outputs of a compaction still running as already in their level (chosen
//!    under the state lock, where compactions register and commit), and
//!    records `S` as the last sequence number. That edit is the commit point: a crash before
//!    it leaves orphan tables that the next open removes, and nothing of the ingest visible.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use super::{Db, Inner, WriteState};
use crate::error::{Error, Result};
use crate::filenames;
use crate::flush::TableBuild;
use crate::manifest::{VersionEdit, NUM_LEVELS};
use crate::sst::TableOptions;
use crate::types::{FileNumber, SeqNo, TableMeta, ValueKind, MAX_KEY_LEN, MAX_VALUE_LEN};

/// What an ingest installed.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    /// Records ingested.
    pub records: u64,
    /// Tables written, in key order.
    pub tables: Vec<TableMeta>,
    /// The level they were installed at.
    pub level: u32,
}

/// An ingest in progress; see the module docs. Dropping it without [`Ingest::finish`]
/// abandons it: tables already written are removed and nothing becomes visible.
pub struct Ingest<'a> {
    inner: &'a Inner,
    /// Held for the whole ingest; on abandon, `last_seq` is given back through it.
    writer: MutexGuard<'a, WriteState>,
    seq: SeqNo,
    current: Option<TableBuild<'a>>,
    written: Vec<TableMeta>,
    last_key: Option<Vec<u8>>,
    records: u64,
    finished: bool,
    started: std::time::Instant,
}

impl Db {
    /// Starts a sorted ingest (module docs). Blocks other writers until it finishes.
    ///
    /// # Errors
    /// A flush failure while draining the memtables; [`Error::Background`] or
    /// [`Error::Closed`].
    pub fn ingest(&self) -> Result<Ingest<'_>> {
        let inner = &*self.inner;
        let mut writer = inner.lock_writer()?;
        if !writer.active.is_empty() {
            inner.rotate(&mut writer)?;
        }
        inner.wait_for_flushes()?;
        writer.last_seq = SeqNo(writer.last_seq.0 + 1);
        let seq = writer.last_seq;
        Ok(Ingest {
            inner,
            writer,
            seq,
            current: None,
            written: Vec::new(),
            last_key: None,
            records: 0,
            finished: false,
            started: std::time::Instant::now(),
        })
    }
}

impl Ingest<'_> {
    /// The last key added, if any: the next one must sort after it.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.last_key.as_deref()
    }

    /// Adds one record.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `key` does not sort after the previous key or is not a
    /// valid key or value; I/O errors writing the table.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || value.len() > MAX_VALUE_LEN {
            return Err(Error::InvalidArgument(
                "ingested keys are 1 to 65535 bytes and values at most 64 MiB".into(),
            ));
        }
        if self.last_key.as_deref().is_some_and(|last| key <= last) {
            return Err(Error::InvalidArgument(
                "ingested keys must be in strictly increasing order".into(),
            ));
        }
        if self.current.is_none() {
            let number = self.inner.alloc_table_number();
            self.current = Some(TableBuild::create(
                self.inner.vfs.as_ref(),
                &self.inner.dir,
                number,
                self.inner.opts.durability,
                self.table_options(),
            )?);
        }
        if let Some(build) = self.current.as_mut() {
            let writer = build.writer();
            writer.add(key, self.seq, ValueKind::Put, value)?;
            if writer.estimated_size() >= self.inner.opts.target_file_size {
                self.seal()?;
            }
        }
        self.last_key = Some(key.to_vec());
        self.records += 1;
        Ok(())
    }

    fn table_options(&self) -> TableOptions {
        TableOptions::from(&self.inner.opts)
    }

    /// Finishes the open table and installs it under its final name.
    fn seal(&mut self) -> Result<()> {
        if let Some(build) = self.current.take() {
            self.written.push(build.install()?);
        }
        Ok(())
    }

    /// Installs every table in one manifest edit.
    ///
    /// # Errors
    /// I/O errors; a failed manifest append poisons the engine (nothing of the ingest is then
    /// visible, and the next open removes its tables).
    pub fn finish(mut self) -> Result<IngestSummary> {
        self.seal()?;
        let inner = self.inner;
        if self.written.is_empty() {
            // Nothing to commit: Drop gives the sequence number back.
            return Ok(IngestSummary::default());
        }
        let mut opened = Vec::new();
        for meta in &self.written {
            let path = inner.dir.join(filenames::table_name(meta.number));
            opened.push((
                meta.number,
                Arc::new(inner.open_table(&path, meta.size, false)?),
            ));
        }
        let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let current = inner.read_view();
        let smallest = self
            .written
            .first()
            .map(|t| t.smallest.clone())
            .unwrap_or_default();
        let largest = self
            .written
            .last()
            .map(|t| t.largest.clone())
            .unwrap_or_default();
        // A running compaction's outputs count as already in their level: they can span the
        // gap the ingested range sits in (issue 9, bug 2).
        let compacting = state.compacting.clone();
        let overlaps = |level: usize| {
            current.version.levels[level]
                .iter()
                .any(|t| t.smallest <= largest && smallest <= t.largest)
                || compacting
                    .as_ref()
                    .is_some_and(|c| c.overlaps(level, &smallest, &largest))
        };
        let mut level = 0;
        if !overlaps(0) {
            level = 1;
            while level + 1 < NUM_LEVELS && !overlaps(level) && !overlaps(level + 1) {
                level += 1;
            }
            if overlaps(level) {
                level = 0;
            }
        }
        let edit = VersionEdit {
            added: self
                .written
                .iter()
                .map(|m| (level as u32, m.clone()))
                .collect(),
            removed: Vec::new(),
            wal_checkpoint: None,
            next_file_number: Some(FileNumber(inner.next_file.load(Ordering::SeqCst))),
            last_sequence: Some(self.seq.max(current.version.last_sequence)),
        };
        // An edit the engine refuses (it would break a level invariant) is refused before
        // anything is logged: abandon the ingest (Drop removes its tables and gives `S`
        // back).
        if let Err(reason) = current.version.apply_checked(&edit) {
            return Err(Error::Background {
                cause: format!("refused to log the ingest's version edit: {reason}"),
            });
        }
        drop(current);
        // IMPORTANT: from here on the edit may reach the manifest even if `commit` fails (a
        // failed fsync of an appended record): the tables must stay (the next open removes
        // them as leftovers if the edit did not land), and `S` stays taken (the engine is
        // poisoned then, so no write follows).
        self.finished = true;
        inner.commit(&mut state, &edit, opened, None)?;
        drop(state);
        if inner.opts.background_flush {
            let _ = inner.compact_tx.send(super::CompactMsg::Wake);
        }
        inner.events.record(crate::events::Event::ingested(
            self.records,
            &self.written,
            level as u32,
            self.started.elapsed(),
        ));
        Ok(IngestSummary {
            records: self.records,
            tables: std::mem::take(&mut self.written),
            level: level as u32,
        })
    }
}

impl Drop for Ingest<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // IMPORTANT: `S` was never logged; handing it out again keeps the sequence numbers
        // of the WAL contiguous with the manifest's. Safe: the writer lock was held
        // throughout, so no write took a number after it.
        if self.writer.last_seq == self.seq {
            self.writer.last_seq = SeqNo(self.seq.0 - 1);
        }
        let vfs = self.inner.vfs.as_ref();
        // Dropping an unfinished build removes its file.
        self.current = None;
        for meta in &self.written {
            let _ = vfs.remove_file(&self.inner.dir.join(filenames::table_name(meta.number)));
        }
    }
}
