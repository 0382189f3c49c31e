//! [`Version`]: the set of live tables per level plus the persisted counters. Applying an
//! edit is pure (no I/O), so replay, the engine and `verify` share one definition of what an
//! edit means.

use std::sync::Arc;

use super::edit::VersionEdit;
use super::NUM_LEVELS;
use crate::filenames::table_name;
use crate::types::{FileNumber, SeqNo, TableMeta};

/// The live tables and counters at one point in the manifest log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Always [`NUM_LEVELS`] levels. L0 is ordered newest first (file number descending);
    /// L1 and deeper are ordered by smallest key.
    pub levels: Vec<Vec<Arc<TableMeta>>>,
    /// The oldest WAL segment still needed.
    pub wal_checkpoint: FileNumber,
    /// The next unused file number.
    pub next_file_number: FileNumber,
    /// The largest sequence number recorded.
    pub last_sequence: SeqNo,
}

impl Default for Version {
    fn default() -> Self {
        Version::empty()
    }
}

impl Version {
    /// No tables; checkpoint 0, next file number 1 (0 is never handed out), sequence 0.
    pub fn empty() -> Version {
        Version {
            levels: vec![Vec::new(); NUM_LEVELS],
            wal_checkpoint: FileNumber(0),
            next_file_number: FileNumber(1),
            last_sequence: SeqNo(0),
        }
    }

    /// Pure: no I/O. Removals are applied before additions, so one edit can move a table
    /// between levels. Errors (as text) on an add of a file already present in any level, a
    /// removal of a file not present at that level, a level >= [`NUM_LEVELS`]. The counters
    /// only move forward (the max of the old and the edit's value is kept).
    pub fn apply(&self, edit: &VersionEdit) -> Result<Version, String> {
        let mut levels = self.levels.clone();
        levels.resize(NUM_LEVELS, Vec::new());
        let mut touched = [false; NUM_LEVELS];
        for &(level, number) in &edit.removed {
            let l = check_level(level)?;
            let tables = &mut levels[l];
            match tables.iter().position(|t| t.number == number) {
                Some(i) => {
                    tables.remove(i);
                }
                None => {
                    return Err(format!(
                        "remove of {} from L{level}: not in that level",
                        table_name(number)
                    ))
                }
            }
        }
        for (level, meta) in &edit.added {
            let l = check_level(*level)?;
            if let Some(existing) = levels
                .iter()
                .position(|ts| ts.iter().any(|t| t.number == meta.number))
            {
                return Err(format!(
                    "add of {} to L{level}: already present in L{existing}",
                    table_name(meta.number)
                ));
            }
            levels[l].push(Arc::new(meta.clone()));
            touched[l] = true;
        }
        for (l, tables) in levels.iter_mut().enumerate() {
            if touched[l] {
                sort_level(l, tables);
            }
        }
        Ok(Version {
            levels,
            wal_checkpoint: max_opt(self.wal_checkpoint, edit.wal_checkpoint),
            next_file_number: max_opt(self.next_file_number, edit.next_file_number),
            last_sequence: max_opt(self.last_sequence, edit.last_sequence),
        })
    }

    /// [`Version::apply`] for an edit the engine is about to log: it also refuses an edit that
    /// would make a level >= 1 overlap (an added table whose key range meets another table of
    /// its level), so a commit that would corrupt the tree fails instead. Replay and `verify`
    /// use the plain [`Version::apply`]: a manifest already holding such a level still
    /// replays, and `verify` reports it as a level invariant.
    pub fn apply_checked(&self, edit: &VersionEdit) -> Result<Version, String> {
        let next = self.apply(edit)?;
        for (level, meta) in &edit.added {
            if *level == 0 {
                continue;
            }
            if let Some(other) = next.levels[*level as usize].iter().find(|t| {
                t.number != meta.number && t.smallest <= meta.largest && meta.smallest <= t.largest
            }) {
                return Err(format!(
                    "add of {} [{}..{}] to L{level}: overlaps {} [{}..{}] there",
                    table_name(meta.number),
                    show(&meta.smallest),
                    show(&meta.largest),
                    table_name(other.number),
                    show(&other.smallest),
                    show(&other.largest)
                ));
            }
        }
        Ok(next)
    }

    /// An edit that recreates this version from [`Version::empty`] (used for manifest
    /// rewrite).
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            added: self
                .all_tables()
                .map(|(level, t)| (level, TableMeta::clone(t)))
                .collect(),
            removed: Vec::new(),
            wal_checkpoint: Some(self.wal_checkpoint),
            next_file_number: Some(self.next_file_number),
            last_sequence: Some(self.last_sequence),
        }
    }

    /// Every table with its level, level by level, in each level's order.
    pub fn all_tables(&self) -> impl Iterator<Item = (u32, &Arc<TableMeta>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(l, ts)| ts.iter().map(move |t| (l as u32, t)))
    }

    /// Whether a table with this number is live in any level.
    pub fn contains(&self, number: FileNumber) -> bool {
        self.all_tables().any(|(_, t)| t.number == number)
    }

    /// Structural problems, as text: a level count other than [`NUM_LEVELS`]; in any level a
    /// table whose smallest key is above its largest; a file in two levels (or twice in one);
    /// L0 not ordered newest first; in L1 and deeper, tables not sorted by key or overlapping.
    pub fn check_invariants(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.levels.len() != NUM_LEVELS {
            problems.push(format!(
                "{} levels instead of {NUM_LEVELS}",
                self.levels.len()
            ));
        }
        let mut seen: std::collections::HashMap<FileNumber, usize> =
            std::collections::HashMap::new();
        for (l, tables) in self.levels.iter().enumerate() {
            for t in tables {
                if t.smallest > t.largest {
                    problems.push(format!(
                        "L{l}: {} has smallest key {} above largest key {}",
                        table_name(t.number),
                        show(&t.smallest),
                        show(&t.largest)
                    ));
                }
                if let Some(prev) = seen.insert(t.number, l) {
                    problems.push(format!(
                        "{} is listed in L{prev} and in L{l}",
                        table_name(t.number)
                    ));
                }
            }
            for pair in tables.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if l == 0 {
                    if a.number <= b.number {
                        problems.push(format!(
                            "L0: {} listed before {} (L0 must be newest first)",
                            table_name(a.number),
                            table_name(b.number)
                        ));
                    }
                    continue;
                }
                if a.smallest > b.smallest {
                    problems.push(format!(
                        "L{l}: {} [{}..{}] listed before {} [{}..{}] (not sorted by key)",
                        table_name(a.number),
                        show(&a.smallest),
                        show(&a.largest),
                        table_name(b.number),
                        show(&b.smallest),
                        show(&b.largest)
                    ));
                }
                let (lo, hi) = if a.smallest <= b.smallest {
                    (a, b)
                } else {
                    (b, a)
                };
                if lo.largest >= hi.smallest {
                    problems.push(format!(
                        "L{l}: {} [{}..{}] overlaps {} [{}..{}]",
                        table_name(lo.number),
                        show(&lo.smallest),
                        show(&lo.largest),
                        table_name(hi.number),
                        show(&hi.smallest),
                        show(&hi.largest)
                    ));
                }
            }
        }
        problems
    }
}

fn check_level(level: u32) -> Result<usize, String> {
    let l = level as usize;
    if l >= NUM_LEVELS {
        return Err(format!("level {level} out of range (0..{NUM_LEVELS})"));
    }
    Ok(l)
}

fn sort_level(level: usize, tables: &mut [Arc<TableMeta>]) {
    if level == 0 {
        tables.sort_by_key(|t| std::cmp::Reverse(t.number));
    } else {
        tables.sort_by(|a, b| {
            a.smallest
                .cmp(&b.smallest)
                .then_with(|| a.number.cmp(&b.number))
        });
    }
}

fn max_opt<T: Ord + Copy>(old: T, new: Option<T>) -> T {
    match new {
        Some(v) => old.max(v),
        None => old,
    }
}

/// A key for messages: printable ASCII as is, everything else escaped.
fn show(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}
