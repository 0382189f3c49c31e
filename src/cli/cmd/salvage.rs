//! `nokv salvage DEST`: copy every readable record of a damaged workdir into a fresh one and
//! print what was lost (the report on stdout, a summary on stderr). Exit 0 when nothing was
//! lost, 3 when something was, 1 when it could not run.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::salvage::{self, LostRange, SalvageReport};
use crate::vfs::RealFs;

use super::require_workdir;
use crate::cli::args::{GlobalArgs, SalvageArgs};
use crate::cli::output::{self, note};
use crate::cli::{CliError, EXIT_VERIFY_PROBLEMS};

/// Runs `salvage`.
///
/// # Errors
/// Could not run (exit 1): a missing workdir, locked, DEST not empty, I/O errors. Something
/// was lost: [`EXIT_VERIFY_PROBLEMS`] (3).
pub fn run(global: &GlobalArgs, args: &SalvageArgs) -> Result<(), CliError> {
    require_workdir(&global.workdir)?;
    let report = salvage::salvage(Arc::new(RealFs::new()), &global.workdir, &args.dest)?;
    if args.json {
        output::print_report_json(&report)?;
    } else {
        output::print(render(&report))?;
    }
    if !global.quiet {
        note(format_args!(
            "nokv: salvaged {} key{} ({} versions read) into {}",
            report.keys_written,
            if report.keys_written == 1 { "" } else { "s" },
            report.versions_read,
            report.dest
        ));
    }
    if report.anything_lost {
        Err(CliError::Status {
            code: EXIT_VERIFY_PROBLEMS,
            message: Some(format!(
                "salvage lost records: {} key range{} unreadable, {} WAL range{} dropped{}",
                report.lost.len(),
                if report.lost.len() == 1 { "" } else { "s" },
                dropped_wal(&report),
                if dropped_wal(&report) == 1 { "" } else { "s" },
                if report.manifest_usable {
                    ""
                } else {
                    ", manifest unusable"
                }
            )),
        })
    } else {
        Ok(())
    }
}

fn dropped_wal(report: &SalvageReport) -> usize {
    report
        .segments
        .iter()
        .flat_map(|s| &s.dropped)
        .filter(|d| !d.torn_tail)
        .count()
}

fn render(report: &SalvageReport) -> String {
    let mut out = String::new();
    if !report.manifest_usable {
        let _ = writeln!(
            out,
            "manifest {}: unusable; every table and WAL segment on disk was read",
            report.manifest.as_deref().unwrap_or("(none)")
        );
    }
    for problem in &report.manifest_problems {
        let _ = writeln!(out, "manifest problem: {problem}");
    }
    for lost in &report.lost {
        let _ = writeln!(out, "lost: {}", describe(lost));
        if lost.suspect_keys > 0 {
            let _ = writeln!(
                out,
                "  {} copied key{} in this range may be older than a lost version: {}{}",
                lost.suspect_keys,
                if lost.suspect_keys == 1 { "" } else { "s" },
                lost.suspect_sample.join(", "),
                if lost.suspect_keys as usize > lost.suspect_sample.len() {
                    ", ..."
                } else {
                    ""
                }
            );
        }
    }
    for segment in &report.segments {
        for d in &segment.dropped {
            if d.torn_tail {
                let _ = writeln!(
                    out,
                    "torn tail: {} at offset {}: {} bytes of an unsynced write (open drops \
                     them too): {}",
                    segment.segment, d.offset, d.bytes, d.reason
                );
            } else {
                let _ = writeln!(
                    out,
                    "lost: {} at offset {}: {} bytes of WAL records dropped: {}",
                    segment.segment, d.offset, d.bytes, d.reason
                );
            }
        }
    }
    let tables_read = report.tables.len();
    let records: u64 = report.segments.iter().map(|s| s.records).sum();
    let _ = writeln!(
        out,
        "{}: {} keys written to {} from {} versions read ({} table{}, {} WAL record{})",
        if report.anything_lost {
            "LOST RECORDS"
        } else {
            "OK"
        },
        report.keys_written,
        report.dest,
        report.versions_read,
        tables_read,
        if tables_read == 1 { "" } else { "s" },
        records,
        if records == 1 { "" } else { "s" },
    );
    out
}

fn describe(lost: &LostRange) -> String {
    let mut text = lost.table.clone();
    if let Some(level) = lost.level {
        let _ = write!(text, " (L{level})");
    }
    match (lost.what, lost.offset) {
        ("block", Some(offset)) => {
            let _ = write!(text, " data block at offset {offset}");
        }
        ("index_partition", Some(offset)) => {
            let _ = write!(
                text,
                " data blocks at offset {offset} (their index partition is unreadable)"
            );
        }
        ("range_tombstones", _) => text.push_str(" range tombstone block"),
        _ => text.push_str(" whole table"),
    }
    if let Some(size) = lost.size {
        let _ = write!(text, " ({size} bytes)");
    }
    let from = match (&lost.after_key, &lost.smallest) {
        (Some(after), _) => format!("after \"{after}\""),
        (None, Some(smallest)) => format!("from \"{smallest}\""),
        (None, None) => "from the start".to_string(),
    };
    let to = match &lost.largest {
        Some(largest) => format!("up to \"{largest}\""),
        None => "to an unknown end".to_string(),
    };
    let _ = write!(text, ": keys {from} {to}");
    match lost.entries {
        Some(n) => {
            let _ = write!(text, ", {n} entries");
        }
        None => text.push_str(", entry count unknown"),
    }
    let _ = write!(text, ": {}", lost.reason);
    text
}
