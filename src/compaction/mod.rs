//! Leveled compaction: a pure picker that looks at a [`Version`] and decides what to merge,
//! and a job that does the I/O.
//!
//! Picking (SPEC 2.5), most urgent first:
//! - L0 -> L1 when L0 holds `l0_compaction_trigger` tables: every L0 table plus the L1 tables
//!   their keys overlap (L0 tables overlap each other, so they move together);
//! - Ln -> Ln+1 (n >= 1) when level n's bytes exceed its target (`level1_target_bytes` for L1,
//!   x `level_size_multiplier` per level): the level's table after the last one compacted
//!   (a round-robin cursor, so the whole key space is visited) plus the Ln+1 tables it
//!   overlaps. The level with the highest size/target score goes first.
//!
//! The job merges its inputs newest first (L0 newest first, then the input level, then the
//! output level) into tables of about `target_file_size` at the output level, or fewer bytes
//! when the output's build state (8 bytes of bloom hash per key, kept until the table is
//! finished) reaches `target_file_size / 8` first, so small entries do not make a compaction
//! hold tens of MiB (see `TableWriter::reached`). Tombstones, point
//! or range, are dropped when nothing below the output level overlaps the inputs' key range:
//! there is no older data left for them to hide. Outputs are installed exactly like flushed
//! tables (see `flush`), and the engine logs "add outputs, remove inputs" as one manifest edit.

use std::sync::Arc;

use crate::error::Result;
use crate::flush::install_table;
use crate::manifest::{Version, NUM_LEVELS};
use crate::merge::{MergeIter, Source, Tombstones};
use crate::options::{Durability, Options};
use crate::sst::{Table, TableOptions};
use crate::types::{FileNumber, RangeTombstone, TableMeta, ValueKind};
use crate::vfs::Vfs;

/// The shape of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionOptions {
    /// L0 tables that trigger an L0 -> L1 compaction.
    pub l0_compaction_trigger: usize,
    /// Target size of L1 in bytes.
    pub level1_target_bytes: u64,
    /// Each level's target is this many times the previous one's.
    pub level_size_multiplier: u64,
    /// Size at which a compaction output table is cut.
    pub target_file_size: u64,
}

impl From<&Options> for CompactionOptions {
    /// The compaction shape the engine options describe. (Defined here, not in `options`, so
    /// that `compaction` depends on `options` and never the other way round.)
    fn from(options: &Options) -> Self {
        CompactionOptions {
            l0_compaction_trigger: options.l0_compaction_trigger,
            level1_target_bytes: options.level1_target_bytes,
            level_size_multiplier: options.level_size_multiplier,
            target_file_size: options.target_file_size,
        }
    }
}

/// What to compact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionTask {
    /// The level the compaction starts from.
    pub level: u32,
    /// The level the outputs go to.
    pub output_level: u32,
    /// Tables taken from `level` (L0: newest first).
    pub inputs: Vec<Arc<TableMeta>>,
    /// Tables taken from `output_level`, in key order.
    pub overlapping: Vec<Arc<TableMeta>>,
    /// Nothing below `output_level` overlaps: tombstones can go.
    pub drop_tombstones: bool,
}

impl CompactionTask {
    /// Every input table, newest data first.
    pub fn all_inputs(&self) -> impl Iterator<Item = &Arc<TableMeta>> {
        self.inputs.iter().chain(self.overlapping.iter())
    }

    /// Bytes read by the compaction.
    pub fn input_bytes(&self) -> u64 {
        self.all_inputs().map(|t| t.size).sum()
    }
}

/// The byte target of `level` (0 for L0, which is governed by its table count).
pub fn level_target(level: usize, options: &CompactionOptions) -> u64 {
    if level == 0 {
        return 0;
    }
    let mut target = options.level1_target_bytes;
    for _ in 1..level {
        target = target.saturating_mul(options.level_size_multiplier);
    }
    target
}

fn key_range<'a>(tables: impl Iterator<Item = &'a Arc<TableMeta>>) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut range: Option<(Vec<u8>, Vec<u8>)> = None;
    for t in tables {
        range = Some(match range {
            None => (t.smallest.clone(), t.largest.clone()),
            Some((lo, hi)) => (lo.min(t.smallest.clone()), hi.max(t.largest.clone())),
        });
    }
    range
}

/// Tables of `level` whose key range intersects `[smallest, largest]`.
pub fn overlapping(
    version: &Version,
    level: usize,
    smallest: &[u8],
    largest: &[u8],
) -> Vec<Arc<TableMeta>> {
    version.levels[level]
        .iter()
        .filter(|t| t.smallest.as_slice() <= largest && smallest <= t.largest.as_slice())
        .cloned()
        .collect()
}

fn nothing_below(version: &Version, output_level: usize, smallest: &[u8], largest: &[u8]) -> bool {
    (output_level + 1..NUM_LEVELS).all(|l| overlapping(version, l, smallest, largest).is_empty())
}

fn task(version: &Version, level: usize, inputs: Vec<Arc<TableMeta>>) -> Option<CompactionTask> {
    let output_level = level + 1;
    let (smallest, largest) = key_range(inputs.iter())?;
    let overlapping = overlapping(version, output_level, &smallest, &largest);
    let (lo, hi) = key_range(inputs.iter().chain(overlapping.iter()))?;
    Some(CompactionTask {
        level: level as u32,
        output_level: output_level as u32,
        drop_tombstones: nothing_below(version, output_level, &lo, &hi),
        inputs,
        overlapping,
    })
}

/// Decides the next compaction, if any. Pure: no I/O. `cursor[level]` is the largest key of
/// the last table compacted out of that level (round robin).
pub fn pick(
    version: &Version,
    options: &CompactionOptions,
    cursor: &[Vec<u8>],
) -> Option<CompactionTask> {
    let l0 = &version.levels[0];
    let l0_score = l0.len() as f64 / options.l0_compaction_trigger.max(1) as f64;
    let mut best: Option<(f64, usize)> = (l0_score >= 1.0).then_some((l0_score, 0));
    for level in 1..NUM_LEVELS - 1 {
        let bytes: u64 = version.levels[level].iter().map(|t| t.size).sum();
        let score = bytes as f64 / level_target(level, options).max(1) as f64;
        if score > 1.0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, level));
        }
    }
    let (_, level) = best?;
    if level == 0 {
        return task(version, 0, l0.clone());
    }
    let tables = &version.levels[level];
    let after = cursor.get(level).map(Vec::as_slice).unwrap_or_default();
    let chosen = tables
        .iter()
        .find(|t| after.is_empty() || t.smallest.as_slice() > after)
        .or_else(|| tables.first())?;
    task(version, level, vec![Arc::clone(chosen)])
}

/// Everything into one level: the deepest level holding data (at least L1), tombstones
/// dropped. `None` when the tree holds no table.
pub fn full(version: &Version) -> Option<CompactionTask> {
    let deepest = (0..NUM_LEVELS)
        .rev()
        .find(|&l| !version.levels[l].is_empty())?;
    let output_level = deepest.max(1);
    let mut inputs = Vec::new();
    for level in 0..output_level {
        inputs.extend(version.levels[level].iter().cloned());
    }
    Some(CompactionTask {
        level: 0,
        output_level: output_level as u32,
        inputs,
        overlapping: version.levels[output_level].clone(),
        drop_tombstones: true,
    })
}

/// Merges the task's tables into new tables at the output level and installs them durably by
/// `durability`. Returns the outputs in key order (numbers from `alloc`). On error, outputs
/// already written are removed; the inputs are untouched.
///
/// # Errors
/// I/O errors or corruption met while reading inputs or writing outputs.
#[allow(clippy::too_many_arguments)]
pub fn run(
    vfs: &dyn Vfs,
    dir: &std::path::Path,
    task: &CompactionTask,
    tables: &std::collections::HashMap<FileNumber, Arc<Table>>,
    mut alloc: impl FnMut() -> FileNumber,
    durability: Durability,
    table_options: TableOptions,
    target_file_size: u64,
) -> Result<Vec<TableMeta>> {
    let open = |meta: &Arc<TableMeta>| {
        tables
            .get(&meta.number)
            .cloned()
            .ok_or_else(|| crate::Error::MissingFile {
                path: dir.join(crate::filenames::table_name(meta.number)),
                reason: "a compaction input is not open".into(),
            })
    };
    let mut sources = Vec::new();
    let mut tombstones = Tombstones::default();
    for meta in &task.inputs {
        let table = open(meta)?;
        tombstones.extend(table.range_tombstones().iter().cloned());
        // Inputs may come from several levels (a full compaction): each is its own source,
        // newest first, and the merge sorts out overlaps.
        sources.push(Source::tables([table], None));
    }
    let mut lower = Vec::new();
    for meta in &task.overlapping {
        let table = open(meta)?;
        tombstones.extend(table.range_tombstones().iter().cloned());
        lower.push(table);
    }
    if !lower.is_empty() {
        sources.push(Source::tables(lower, None));
    }
    let mut merge = MergeIter::new(sources)?;
    let mut carried: Vec<RangeTombstone> = if task.drop_tombstones {
        Vec::new()
    } else {
        tombstones.as_slice().to_vec()
    };
    carried.sort_by(|a, b| a.start.cmp(&b.start));

    let mut outputs: Vec<TableMeta> = Vec::new();
    let mut pending = merge.next_entry()?;
    let result = (|| -> Result<()> {
        loop {
            // Skip what the output will not hold.
            while let Some(entry) = &pending {
                let hidden = tombstones.hides(&entry.key, entry.seq);
                let dead = task.drop_tombstones && entry.kind != ValueKind::Put;
                if hidden || dead {
                    pending = merge.next_entry()?;
                } else {
                    break;
                }
            }
            if pending.is_none() && carried.is_empty() {
                return Ok(());
            }
            let number = alloc();
            let meta = install_table(vfs, dir, number, durability, table_options, |writer| {
                while let Some(entry) = pending.take() {
                    let hidden = tombstones.hides(&entry.key, entry.seq);
                    let dead = task.drop_tombstones && entry.kind != ValueKind::Put;
                    if !(hidden || dead) {
                        writer.add(&entry.key, entry.seq, entry.kind, &entry.value)?;
                    }
                    pending = merge.next_entry()?;
                    // Cut only between keys no carried range tombstone touches, so every
                    // tombstone lies wholly inside one output and outputs never overlap.
                    let cut = writer.reached(target_file_size)
                        && pending.as_ref().is_some_and(|next| {
                            !carried.iter().any(|t| {
                                t.start.as_slice() <= next.key.as_slice()
                                    && next.key.as_slice() <= t.end.as_slice()
                            })
                        });
                    if cut {
                        break;
                    }
                }
                let boundary = pending.as_ref().map(|e| e.key.clone());
                let mine = carried
                    .iter()
                    .take_while(|t| boundary.as_ref().is_none_or(|b| t.start < *b))
                    .count();
                for t in carried.drain(..mine) {
                    writer.add_range_tombstone(&t)?;
                }
                Ok(())
            })?;
            outputs.push(meta);
        }
    })();
    if let Err(err) = result {
        for meta in &outputs {
            let _ = vfs.remove_file(&dir.join(crate::filenames::table_name(meta.number)));
        }
        return Err(err);
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SeqNo;

    fn table(number: u64, smallest: &str, largest: &str, size: u64) -> Arc<TableMeta> {
        Arc::new(TableMeta {
            number: FileNumber(number),
            size,
            entries: 1,
            smallest: smallest.as_bytes().to_vec(),
            largest: largest.as_bytes().to_vec(),
            min_seq: SeqNo(1),
            max_seq: SeqNo(1),
        })
    }

    fn options() -> CompactionOptions {
        CompactionOptions {
            l0_compaction_trigger: 4,
            level1_target_bytes: 1000,
            level_size_multiplier: 10,
            target_file_size: 100,
        }
    }

    fn version(levels: Vec<Vec<Arc<TableMeta>>>) -> Version {
        let mut v = Version::empty();
        for (i, tables) in levels.into_iter().enumerate() {
            v.levels[i] = tables;
        }
        v
    }

    #[test]
    fn nothing_to_do_below_the_triggers() {
        let v = version(vec![
            vec![
                table(9, "a", "z", 10),
                table(8, "a", "z", 10),
                table(7, "a", "z", 10),
            ],
            vec![table(1, "a", "m", 900)],
        ]);
        assert_eq!(pick(&v, &options(), &[]), None);
    }

    #[test]
    fn l0_at_the_trigger_moves_with_overlapping_l1() {
        let v = version(vec![
            vec![
                table(12, "c", "f", 10),
                table(11, "d", "e", 10),
                table(10, "a", "d", 10),
                table(9, "e", "g", 10),
            ],
            vec![
                table(1, "a", "b", 10),
                table(2, "h", "k", 10),
                table(3, "f", "g", 10),
            ],
        ]);
        let t = pick(&v, &options(), &[]).unwrap();
        assert_eq!((t.level, t.output_level), (0, 1));
        assert_eq!(t.inputs.len(), 4);
        let numbers: Vec<u64> = t.overlapping.iter().map(|m| m.number.0).collect();
        assert_eq!(numbers, vec![1, 3], "h..k does not overlap a..g");
        assert!(t.drop_tombstones, "nothing below L1");
    }

    #[test]
    fn an_oversized_level_compacts_round_robin_into_the_next() {
        let v = version(vec![
            vec![],
            vec![table(1, "a", "c", 600), table(2, "d", "f", 600)],
            vec![table(3, "b", "e", 10), table(4, "x", "z", 10)],
            vec![table(5, "a", "z", 10)],
        ]);
        let t = pick(&v, &options(), &[]).unwrap();
        assert_eq!((t.level, t.output_level), (1, 2));
        assert_eq!(t.inputs[0].number, FileNumber(1));
        assert_eq!(t.overlapping.len(), 1);
        assert!(!t.drop_tombstones, "L3 holds older data under the range");
        let cursor = vec![Vec::new(), b"c".to_vec()];
        let t = pick(&v, &options(), &cursor).unwrap();
        assert_eq!(t.inputs[0].number, FileNumber(2), "the cursor moves on");
    }

    #[test]
    fn the_most_urgent_level_goes_first() {
        let v = version(vec![
            vec![
                table(20, "a", "b", 1),
                table(21, "a", "b", 1),
                table(22, "a", "b", 1),
                table(23, "a", "b", 1),
            ],
            vec![table(1, "a", "c", 5000)],
        ]);
        let t = pick(&v, &options(), &[]).unwrap();
        assert_eq!(t.level, 1, "L1 at 5x its target beats L0 at 1x");
    }

    #[test]
    fn full_compaction_takes_everything_into_the_deepest_level() {
        let v = version(vec![
            vec![table(9, "a", "z", 10)],
            vec![table(1, "a", "c", 10)],
            vec![table(3, "b", "e", 10)],
        ]);
        let t = full(&v).unwrap();
        assert_eq!(t.output_level, 2);
        assert_eq!(t.inputs.len(), 2);
        assert_eq!(t.overlapping.len(), 1);
        assert!(t.drop_tombstones);
        assert_eq!(full(&Version::empty()), None);
        let only_l0 = version(vec![vec![table(9, "a", "z", 10)]]);
        assert_eq!(full(&only_l0).unwrap().output_level, 1);
    }

    #[test]
    fn level_targets_grow_by_the_multiplier() {
        let o = options();
        assert_eq!(level_target(1, &o), 1000);
        assert_eq!(level_target(3, &o), 100_000);
    }
}
