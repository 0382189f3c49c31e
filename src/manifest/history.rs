//! What a manifest says about tables that are no longer in its version, so that recovery and
//! `verify` tell a crash leftover from a lost edit the same way (SPEC 5).
//!
//! A table on disk that the version does not hold is one of:
//! - never published: its number is at or above the manifest's `next_file_number`. The
//!   engine persists a counter below every table number it has handed out whose edit is not
//!   logged yet, so an interrupted flush, compaction or ingest always leaves a table above it;
//! - retired: an edit added it and a later edit removed it (a compacted-away input whose
//!   deletion a crash interrupted), or its number is below the counter of the snapshot that
//!   opens the manifest (it was published and retired before the last rewrite);
//! - unaccounted: below the counter, above the snapshot's, and no edit of this manifest
//!   mentions it. Only a lost edit explains that: damage, and the open refuses.

use std::collections::BTreeSet;

use super::edit::VersionEdit;
use super::version::Version;
use crate::types::FileNumber;

/// Table numbers the manifest's records mention, and the counter of its first record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableHistory {
    /// `next_file_number` of the first record (the snapshot a manifest starts with):
    /// numbers below it were handed out before this manifest was written.
    base: Option<FileNumber>,
    /// Every table number an edit added or removed.
    mentioned: BTreeSet<FileNumber>,
}

/// Why a table on disk is not in the version ([`TableHistory::classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreferenced {
    /// At or above the manifest's next file number: no edit ever published it.
    NeverPublished,
    /// Published, then removed (or published before the manifest's snapshot).
    Retired,
    /// Below the next file number and mentioned by no edit: a lost edit.
    Unaccounted,
}

impl TableHistory {
    /// Records one replayed edit.
    pub fn record(&mut self, edit: &VersionEdit) {
        if self.base.is_none() {
            self.base = Some(edit.next_file_number.unwrap_or(FileNumber(0)));
        }
        self.mentioned
            .extend(edit.added.iter().map(|(_, meta)| meta.number));
        self.mentioned
            .extend(edit.removed.iter().map(|&(_, number)| number));
    }

    /// Classifies table `number`, which `version` (the replayed version) does not hold.
    pub fn classify(&self, number: FileNumber, version: &Version) -> Unreferenced {
        if number >= version.next_file_number {
            Unreferenced::NeverPublished
        } else if self.mentioned.contains(&number) || self.base.is_some_and(|base| number < base) {
            Unreferenced::Retired
        } else {
            Unreferenced::Unaccounted
        }
    }
}
