//! Offline checker for a workdir (SPEC section 5). Read-only: it never takes `LOCK`, never
//! writes, truncates, creates or replays anything; it collects every problem and returns a
//! [`VerifyReport`]. It never prints (the CLI renders the report).
//!
//! A workdir that another process holds (see [`Vfs::lock_holder`]) is refused with
//! [`Error::Locked`] unless [`VerifyOptions::allow_live`] is set; then the report says
//! `live` and its findings may reflect files caught mid-change, and tables or temporaries
//! not (yet) in the manifest are not reported: the live engine may be installing them.
//!
//! The checks, in order, each named in [`VerifyReport::checks`] when it ran:
//!
//! 1. `manifest`: `CURRENT` parses and names an existing manifest, the manifest header and
//!    every record checksum, every edit decodes and applies ([`manifest::inspect`]). Kinds:
//!    `current_missing`, `current_corrupt`, `manifest_missing`, `bad_header`,
//!    `checksum_mismatch`, `bad_record`, `bad_edit`, `torn_tail`.
//! 2. `files`: the replayed version against the directory. `missing` (a referenced table is
//!    absent), `size_mismatch` (expected = size in the manifest, actual = size on disk),
//!    `orphan` (a table no edit references, or a manifest other than the one `CURRENT`
//!    names), `unaccounted_table` (see below), `temp_file` (a `*.tmp.*` leftover, in the workdir or in `wal/`).
//! 3. `tables`: [`sst::check_table`] on every referenced table that exists (every block and
//!    footer checksum, layout, key order, counts; its kinds pass through unchanged, with the
//!    table's level), then the table's own properties against the manifest's
//!    [`crate::TableMeta`]: `manifest_mismatch` for entries, key range or sequence range.
//!    `read_error` when the table cannot be read at all.
//! 4. `levels`: [`Version::check_invariants`]: `level_invariant` (L1+ sorted and not
//!    overlapping, no file in two levels, L0 newest first), blamed on the manifest.
//! 5. `wal`: every segment in `wal/` at or after the checkpoint is decoded
//!    ([`wal::read_segment`]): `torn_tail` for an incomplete last record of the newest
//!    segment; `wal_corrupt` for a bad header, a bad record, a torn tail in a segment that
//!    is not the newest (recovery refuses those), and a length running past the end with whole
//!    records after it (a damaged length field, not an interrupted write);
//!    `wal_sequence` for a record whose sequence numbers are not above the manifest's
//!    `last_sequence` or the previous record's, or that leaves a gap after them (recovery
//!    refuses a gap: acknowledged writes are missing); `obsolete_wal` for a segment below the
//!    checkpoint; `missing` when `wal/` or the checkpoint segment is absent.
//!
//! Every problem has a [`Severity`], with `git fsck` as the model (dangling objects are
//! reported, not failures). `leftover`: what a crash normally leaves and recovery removes
//! (`temp_file`, `obsolete_wal`, a `torn_tail` of the manifest or of the newest WAL segment,
//! an `orphan` manifest, and an `orphan` table that no edit published, at or above the
//! manifest's next file number, or that an edit published and a later one removed). Everything
//! else is `damage`, including `unaccounted_table`: a table below the next file number that
//! no edit mentions, the trace of a lost edit ([`manifest::TableHistory`], the rule recovery
//! applies too). [`VerifyReport::ok`] means no damage: verify agrees with open.
//!
//! A directory without `CURRENT` that holds nothing that could be data (an empty directory,
//! or what an initialisation cut short leaves) is not a database: verify refuses it with
//! [`Error::NotADatabase`], as every read does, and reports no damage (a read-write open
//! initialises it, and nothing was ever acknowledged there). With data in it, the missing
//! `CURRENT` is damage.
//!
//! When the manifest yields no version at all (no `CURRENT`, a missing manifest, a bad
//! header), `files` and `levels` cannot run; `tables` then checks every table on disk on its
//! own and `wal` decodes every segment.
//!
//! Coverage: every byte of `CURRENT` (checksummed name, newline), of the manifest (header
//! checksum, record checksums), of every referenced table (blocks and footer tile the file,
//! each covered by a CRC32) and of every WAL segment at or after the checkpoint (header and
//! record checksums) is checked, so any byte flip there is found. `STATS` and `LOCK` are not
//! data and are not checked; obsolete segments and orphans are reported whatever they hold.
//! Files whose names the engine never gives (`notes.txt`) are ignored, as recovery ignores
//! them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::db::{without_current, WithoutCurrent};
use crate::error::{Error, Result};
use crate::filenames::{self, FileKind, CURRENT, LOCK, WAL_DIR};
use crate::manifest::{self, TableHistory, Unreferenced, Version};
use crate::sst;
use crate::types::{FileNumber, SeqNo, TableMeta};
use crate::vfs::Vfs;
use crate::wal::{self, Tail};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check even when another process holds the workdir (results may be inconsistent).
    pub allow_live: bool,
}

/// How bad a finding is, with `git fsck` as the model (dangling objects are reported, not
/// failures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// What a crash normally leaves and recovery removes: a temporary of an interrupted
    /// install, a WAL segment below the checkpoint, a table no edit published (or one an edit
    /// retired), a superseded manifest, a torn tail of an unsynced write. Open succeeds.
    Leftover,
    /// Anything else: open refuses, or data is unreadable or inconsistent.
    #[default]
    Damage,
}

impl Severity {
    /// `damage` / `leftover`
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Leftover => "leftover",
            Severity::Damage => "damage",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What is wrong: `checksum_mismatch`, `missing`, `size_mismatch`, `orphan`, `torn_tail`, ...
    pub kind: String,
    /// `damage` or `leftover`.
    #[serde(default)]
    pub severity: Severity,
    /// The file, relative to the workdir (`000012.sst`, `wal/000011.wal`, `CURRENT`).
    pub file: String,
    /// The level of a table, when relevant.
    pub level: Option<u32>,
    /// The byte offset of the damage, when known.
    pub offset: Option<u64>,
    /// The expected value, when relevant.
    pub expected: Option<String>,
    /// The value found, when relevant.
    pub actual: Option<String>,
    /// A sentence for humans.
    pub detail: String,
}

impl Problem {
    fn new(kind: &str, file: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            kind: kind.to_string(),
            severity: Severity::Damage,
            file: file.into(),
            level: None,
            offset: None,
            expected: None,
            actual: None,
            detail: detail.into(),
        }
    }

    /// Marks the finding a crash leftover.
    fn leftover(mut self) -> Problem {
        self.severity = Severity::Leftover;
        self
    }

    fn at(mut self, offset: Option<u64>) -> Problem {
        self.offset = offset;
        self
    }

    fn level(mut self, level: Option<u32>) -> Problem {
        self.level = level;
        self
    }

    fn values(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Problem {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// No damage found (leftovers may have been).
    pub ok: bool,
    /// Problems of severity `damage`.
    #[serde(default)]
    pub damage: u64,
    /// Problems of severity `leftover`.
    #[serde(default)]
    pub leftovers: u64,
    /// Names of the checks that ran: `manifest`, `files`, `tables`, `levels`, `wal`.
    pub checks: Vec<String>,
    /// Files read.
    pub files_checked: u64,
    /// Bytes read.
    pub bytes_checked: u64,
    /// Another process held the workdir during the check.
    pub live: bool,
    /// Every problem, in the order found.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn ran(&mut self, check: &str) {
        self.checks.push(check.to_string());
    }
}

/// Runs every check of SPEC section 5 on `dir`.
///
/// # Errors
/// `Error::Locked` when another process holds the workdir and `allow_live` is false; I/O
/// errors that prevent checking at all (the workdir does not exist or cannot be listed).
pub fn verify(vfs: &dyn Vfs, dir: &Path, options: &VerifyOptions) -> Result<VerifyReport> {
    // Listing first: a missing workdir is an error naming it, not a report of problems.
    let names = vfs.list_dir(dir)?;
    let mut report = VerifyReport::default();
    if let Some(pid) = vfs.lock_holder(&dir.join(LOCK))? {
        if !options.allow_live {
            return Err(Error::Locked {
                path: dir.to_path_buf(),
                pid,
            });
        }
        report.live = true;
    }

    // No CURRENT, and nothing that could be data: not a database (an initialisation cut
    // short, or an empty directory), which a read-write open initialises and every read
    // refuses. Nothing was ever acknowledged here, so it is not damage either.
    if !vfs.exists(&dir.join(CURRENT))? {
        if let WithoutCurrent::Leftovers(stale) = without_current(vfs, dir)? {
            let leftovers = if stale.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} left by an initialisation cut short, which the next put or load clears\
                     them)",
                    stale
                        .iter()
                        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: format!("no CURRENT file and nothing that could be data{leftovers}"),
            });
        }
    }

    // 1. manifest
    report.ran("manifest");
    let manifest = manifest::inspect(vfs, dir)?;
    if let Ok(size) = vfs.file_size(&dir.join(CURRENT)) {
        report.files_checked += 1;
        report.bytes_checked += size;
    }
    if manifest.current.is_some() && manifest.file_size > 0 {
        report.files_checked += 1;
        report.bytes_checked += manifest.file_size;
    }
    for p in &manifest.problems {
        let problem = Problem::new(p.kind, p.file.clone(), p.detail.clone()).at(p.offset);
        // A torn last record: an unsynced edit, ignored by recovery.
        report.push(if p.kind == "torn_tail" {
            problem.leftover()
        } else {
            problem
        });
    }
    let manifest_clean = manifest.problems.is_empty();
    let manifest_file = manifest.current.clone().unwrap_or_default();
    let version = manifest.version.as_ref();

    // 2. files
    let tables_on_disk: Vec<(FileNumber, String)> = names
        .iter()
        .filter_map(|name| match filenames::parse(name) {
            Some(FileKind::Table(n)) => Some((n, name.clone())),
            _ => None,
        })
        .collect();
    if let Some(version) = version {
        report.ran("files");
        check_files(
            vfs,
            dir,
            &names,
            version,
            &manifest.history,
            &manifest_file,
            &mut report,
        );
    } else {
        for name in &names {
            if filenames::parse(name) == Some(FileKind::Temp) && !is_stats_temp(name) {
                report.push(temp_problem(name.clone()));
            }
        }
    }

    // 3. tables
    report.ran("tables");
    match version {
        Some(version) => {
            for (level, meta) in version.all_tables() {
                let name = filenames::table_name(meta.number);
                let path = dir.join(&name);
                // A missing table was reported by `files`.
                if vfs.exists(&path)? {
                    check_one_table(vfs, &path, &name, Some(level), Some(meta), &mut report);
                }
            }
        }
        None => {
            for (_, name) in &tables_on_disk {
                check_one_table(vfs, &dir.join(name), name, None, None, &mut report);
            }
        }
    }

    // 4. levels
    if let Some(version) = version {
        report.ran("levels");
        for message in version.check_invariants() {
            let level = message
                .strip_prefix('L')
                .and_then(|rest| rest.split(':').next())
                .and_then(|digits| digits.parse().ok());
            report
                .push(Problem::new("level_invariant", manifest_file.clone(), message).level(level));
        }
    }

    // 5. wal
    report.ran("wal");
    check_wal(vfs, dir, &names, version, manifest_clean, &mut report)?;

    report.damage = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Damage)
        .count() as u64;
    report.leftovers = report.problems.len() as u64 - report.damage;
    report.ok = report.damage == 0;
    Ok(report)
}

/// `STATS.tmp.<pid>.<ns>`: the stats publisher's temporary. STATS is a report, not data, and
/// a live engine writes one every second, so it is never a finding.
fn is_stats_temp(name: &str) -> bool {
    name.starts_with(filenames::STATS) && name.contains(filenames::TEMP_MARKER)
}

fn temp_problem(file: String) -> Problem {
    Problem::new(
        "temp_file",
        file,
        "leftover temporary file (an interrupted install or publish); recovery removes it",
    )
    .leftover()
}

/// Check 2: the version against the names in the workdir.
fn check_files(
    vfs: &dyn Vfs,
    dir: &Path,
    names: &[String],
    version: &Version,
    history: &TableHistory,
    manifest_file: &str,
    report: &mut VerifyReport,
) {
    for (level, meta) in version.all_tables() {
        let name = filenames::table_name(meta.number);
        let path = dir.join(&name);
        match vfs.file_size(&path) {
            Ok(size) if size == meta.size => {}
            Ok(size) => report.push(
                Problem::new(
                    "size_mismatch",
                    name,
                    format!(
                        "{manifest_file} records {} bytes, the file has {size}",
                        meta.size
                    ),
                )
                .level(Some(level))
                .values(meta.size.to_string(), size.to_string()),
            ),
            Err(e) if is_not_found(&e) => report.push(
                Problem::new(
                    "missing",
                    name,
                    format!("{manifest_file} lists it in L{level}, but it does not exist"),
                )
                .level(Some(level)),
            ),
            Err(e) => report.push(
                Problem::new("read_error", name, format!("cannot stat: {e}")).level(Some(level)),
            ),
        }
    }
    // A live engine legitimately has a table or temporary in flight (a flush, a compaction or
    // an ingest between writing a file and logging it): not findings while it runs.
    let in_flight_ok = report.live;
    for name in names {
        match filenames::parse(name) {
            Some(FileKind::Table(_) | FileKind::Temp) if in_flight_ok => {}
            Some(FileKind::Table(n)) if !version.contains(n) => {
                report.push(orphan_table(name, n, version, history, manifest_file));
            }
            Some(FileKind::Manifest(_)) if name != manifest_file => report.push(
                Problem::new(
                    "orphan",
                    name.clone(),
                    format!(
                        "manifest not named by {CURRENT} (which names {manifest_file}), left \
                         by an interrupted rewrite; recovery removes it"
                    ),
                )
                .leftover(),
            ),
            Some(FileKind::Temp) if !is_stats_temp(name) => report.push(temp_problem(name.clone())),
            _ => {}
        }
    }
}

/// A table on disk that the version does not hold: a leftover unless only a lost edit explains
/// it (the rule recovery applies, see [`TableHistory`]).
fn orphan_table(
    name: &str,
    number: FileNumber,
    version: &Version,
    history: &TableHistory,
    manifest_file: &str,
) -> Problem {
    let next = version.next_file_number;
    match history.classify(number, version) {
        Unreferenced::NeverPublished => Problem::new(
            "orphan",
            name,
            format!(
                "table no edit published (at or above the next file number {next}): an \
                 interrupted flush, compaction or ingest; recovery removes it"
            ),
        )
        .leftover(),
        Unreferenced::Retired => Problem::new(
            "orphan",
            name,
            format!(
                "table {manifest_file} published and later removed (a compacted-away input \
                 whose deletion was interrupted); recovery removes it"
            ),
        )
        .leftover(),
        Unreferenced::Unaccounted => Problem::new(
            "unaccounted_table",
            name,
            format!(
                "table below the next file number {next} that no edit of {manifest_file} \
                 mentions: an edit that published it may be lost; open refuses"
            ),
        )
        .values(
            format!("below {next}, mentioned by an edit"),
            "never mentioned",
        ),
    }
}

fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Check 3 for one table: every byte, then its properties against the manifest.
fn check_one_table(
    vfs: &dyn Vfs,
    path: &Path,
    name: &str,
    level: Option<u32>,
    meta: Option<&TableMeta>,
    report: &mut VerifyReport,
) {
    let check = match sst::check_table(vfs, path) {
        Ok(check) => check,
        // Removed by the live engine (compaction) since the manifest was read.
        Err(e) if report.live && is_not_found(&e) => return,
        Err(e) => {
            let offset = match &e {
                Error::Corruption { offset, .. } => Some(*offset),
                _ => None,
            };
            report.push(
                Problem::new("read_error", name, format!("cannot check the table: {e}"))
                    .level(level)
                    .at(offset),
            );
            return;
        }
    };
    report.files_checked += 1;
    report.bytes_checked += check.bytes_checked;
    for p in &check.problems {
        let mut problem = Problem::new(p.kind, name, p.detail.clone())
            .level(level)
            .at(Some(p.offset));
        problem.expected = p.expected.clone();
        problem.actual = p.actual.clone();
        report.push(problem);
    }
    let (Some(recorded), Some(found)) = (meta, check.meta.as_ref()) else {
        return;
    };
    let mut mismatch = |what: &str, expected: String, actual: String| {
        report.push(
            Problem::new(
                "manifest_mismatch",
                name,
                format!("{what} in the manifest differs from the table's properties"),
            )
            .level(level)
            .values(expected, actual),
        );
    };
    if recorded.entries != found.entries {
        mismatch(
            "entry count",
            recorded.entries.to_string(),
            found.entries.to_string(),
        );
    }
    if recorded.smallest != found.smallest || recorded.largest != found.largest {
        mismatch(
            "key range",
            key_range(&recorded.smallest, &recorded.largest),
            key_range(&found.smallest, &found.largest),
        );
    }
    if recorded.min_seq != found.min_seq || recorded.max_seq != found.max_seq {
        mismatch(
            "sequence range",
            format!("{}..={}", recorded.min_seq, recorded.max_seq),
            format!("{}..={}", found.min_seq, found.max_seq),
        );
    }
}

fn key_range(smallest: &[u8], largest: &[u8]) -> String {
    format!("{}..={}", smallest.escape_ascii(), largest.escape_ascii())
}

/// Check 5: the WAL directory.
fn check_wal(
    vfs: &dyn Vfs,
    dir: &Path,
    names: &[String],
    version: Option<&Version>,
    manifest_clean: bool,
    report: &mut VerifyReport,
) -> Result<()> {
    let wal_dir = dir.join(WAL_DIR);
    if !names.iter().any(|n| n == WAL_DIR) {
        report.push(Problem::new(
            "missing",
            WAL_DIR,
            "the WAL directory does not exist",
        ));
        return Ok(());
    }
    let checkpoint = version.map_or(FileNumber(0), |v| v.wal_checkpoint);
    let mut last_seq = version.map_or(SeqNo(0), |v| v.last_sequence);
    let mut live = BTreeMap::new();
    for name in vfs.list_dir(&wal_dir)? {
        let file = format!("{WAL_DIR}/{name}");
        match filenames::parse(&name) {
            Some(FileKind::Wal(n)) if n < checkpoint => report.push(
                Problem::new(
                    "obsolete_wal",
                    file,
                    format!(
                        "segment below the checkpoint {checkpoint}: its data is in tables; \
                         recovery removes it"
                    ),
                )
                .leftover(),
            ),
            Some(FileKind::Wal(n)) => {
                live.insert(n, file);
            }
            Some(FileKind::Temp) => report.push(temp_problem(file)),
            _ => {}
        }
    }
    if manifest_clean && checkpoint.0 > 0 && !live.contains_key(&checkpoint) {
        report.push(Problem::new(
            "missing",
            format!("{WAL_DIR}/{}", filenames::wal_name(checkpoint)),
            format!("the checkpoint segment {checkpoint} named by the manifest does not exist"),
        ));
    }
    let newest = live.keys().next_back().copied();
    let from_manifest = last_seq;
    for (&number, file) in &live {
        let path = wal::segment_path(&wal_dir, number);
        let mut index = 0u64;
        let mut seq_problem: Option<String> = None;
        let summary = wal::read_segment(vfs, &path, Some(number), |batch| {
            let count = batch.ops.len() as u64;
            if seq_problem.is_none() && version.is_some() && batch.first_seq.0 > last_seq.0 + 1 {
                // Recovery refuses this gap: acknowledged writes are missing.
                seq_problem = Some(format!(
                    "record {index} starts at sequence {}, but the manifest's last sequence \
                     {from_manifest} and the records before it end at {last_seq}: the writes \
                     in between are missing (recovery refuses to open)",
                    batch.first_seq
                ));
            }
            if seq_problem.is_none() && batch.first_seq <= last_seq {
                seq_problem = Some(if last_seq == from_manifest {
                    format!(
                        "record {index} starts at sequence {}, not above the manifest's last \
                         sequence {from_manifest}",
                        batch.first_seq
                    )
                } else {
                    format!(
                        "record {index} starts at sequence {}, not above the previous \
                         record's last sequence {last_seq}",
                        batch.first_seq
                    )
                });
            }
            if count > 0 {
                last_seq = last_seq.max(SeqNo(batch.first_seq.0 + count - 1));
            }
            index += 1;
            Ok(())
        });
        if let Some(detail) = seq_problem {
            report.push(Problem::new("wal_sequence", file.clone(), detail));
        }
        let summary = match summary {
            Ok(s) => s,
            // Reclaimed by the live engine between the listing and the read.
            Err(e) if report.live && is_not_found(&e) => continue,
            Err(e) => {
                let (kind, offset) = match &e {
                    Error::Corruption { offset, .. } => ("wal_corrupt", Some(*offset)),
                    Error::UnsupportedFormat { .. } => ("wal_corrupt", Some(4)),
                    _ => ("read_error", None),
                };
                if kind == "wal_corrupt" {
                    report.files_checked += 1;
                    report.bytes_checked += vfs.file_size(&path).unwrap_or(0);
                }
                report.push(Problem::new(kind, file.clone(), e.to_string()).at(offset));
                continue;
            }
        };
        report.files_checked += 1;
        report.bytes_checked += summary.file_len;
        match summary.tail {
            Tail::Clean => {}
            Tail::Torn { offset, reason } if Some(number) == newest => {
                report.push(
                    Problem::new(
                        "torn_tail",
                        file.clone(),
                        format!(
                            "{reason}: {} bytes of an unsynced append; recovery truncates them",
                            summary.file_len - offset
                        ),
                    )
                    .at(Some(offset))
                    .leftover(),
                );
            }
            Tail::Torn { offset, reason } => {
                report.push(
                    Problem::new(
                        "wal_corrupt",
                        file.clone(),
                        format!(
                            "{reason}, in a segment that is not the newest (recovery refuses \
                             to open)"
                        ),
                    )
                    .at(Some(offset)),
                );
            }
            Tail::Corrupt { offset, reason } => {
                report.push(Problem::new("wal_corrupt", file.clone(), reason).at(Some(offset)));
            }
        }
    }
    Ok(())
}
