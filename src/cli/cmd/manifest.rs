//! `nokv manifest`: dump the current version from the manifest, read-only (never takes
//! `LOCK`, works while another process holds the workdir).

use serde_json::{json, Value};

use crate::manifest::{self, ManifestReport};
use crate::vfs::RealFs;

use super::flush::table_json;
use super::require_workdir;
use crate::cli::args::{GlobalArgs, ManifestArgs};
use crate::cli::output::{self, escaped, human_bytes, note};
use crate::cli::CliError;

/// Runs `manifest`.
///
/// # Errors
/// A missing workdir; no readable manifest; I/O errors.
pub fn run(global: &GlobalArgs, args: &ManifestArgs) -> Result<(), CliError> {
    let dir = &global.workdir;
    require_workdir(dir)?;
    let report = manifest::inspect(&RealFs::new(), dir)?;
    if report.version.is_none() {
        let why = report
            .problems
            .first()
            .map(|p| p.detail.clone())
            .unwrap_or_else(|| "no readable manifest".into());
        return Err(CliError::Failed(format!(
            "cannot read the manifest of {}: {why}",
            dir.display()
        )));
    }
    if args.json {
        output::print_json(&to_json(&report))?;
    } else {
        output::print(to_text(&report))?;
    }
    if !report.problems.is_empty() {
        note(format_args!(
            "nokv: warning: the manifest has {} problem{}; the version shown stops before the \
             first (run `nokv verify`)",
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

fn to_json(report: &ManifestReport) -> Value {
    let version = report.version.clone().unwrap_or_default();
    let levels: Vec<Value> = version
        .levels
        .iter()
        .enumerate()
        .map(|(level, tables)| {
            json!({
                "level": level,
                "tables": tables.iter().map(|t| table_json(t)).collect::<Vec<_>>(),
                "bytes": tables.iter().map(|t| t.size).sum::<u64>(),
                "entries": tables.iter().map(|t| t.entries).sum::<u64>(),
            })
        })
        .collect();
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            json!({
                "kind": p.kind,
                "file": p.file,
                "offset": p.offset,
                "detail": p.detail,
            })
        })
        .collect();
    json!({
        "format_version": 1,
        "current": report.current,
        "file_bytes": report.file_size,
        "records": report.records,
        "torn_tail": report.torn_tail,
        "wal_checkpoint": version.wal_checkpoint.0,
        "next_file_number": version.next_file_number.0,
        "last_sequence": version.last_sequence.0,
        "levels": levels,
        "problems": problems,
    })
}

fn to_text(report: &ManifestReport) -> String {
    let version = report.version.clone().unwrap_or_default();
    let mut text = String::new();
    let current = report.current.as_deref().unwrap_or("-");
    text.push_str(&format!(
        "CURRENT:          {current} ({}, {} records{})\n",
        human_bytes(report.file_size),
        report.records,
        match report.torn_tail {
            Some(offset) => format!(", torn tail at offset {offset}"),
            None => String::new(),
        }
    ));
    text.push_str(&format!(
        "WAL checkpoint:   {}\n",
        crate::filenames::wal_name(version.wal_checkpoint)
    ));
    text.push_str(&format!(
        "next file number: {}\n",
        version.next_file_number.0
    ));
    text.push_str(&format!("last sequence:    {}\n", version.last_sequence.0));
    let mut any = false;
    for (level, tables) in version.levels.iter().enumerate() {
        if tables.is_empty() {
            continue;
        }
        any = true;
        let bytes: u64 = tables.iter().map(|t| t.size).sum();
        let entries: u64 = tables.iter().map(|t| t.entries).sum();
        text.push_str(&format!(
            "\nL{level}: {} table{}, {}, {entries} entries\n",
            tables.len(),
            if tables.len() == 1 { "" } else { "s" },
            human_bytes(bytes)
        ));
        let mut table = output::table(&["file", "size", "entries", "smallest", "largest", "seq"]);
        for t in tables {
            table.add_row(vec![
                crate::filenames::table_name(t.number),
                human_bytes(t.size),
                t.entries.to_string(),
                escaped(&t.smallest),
                escaped(&t.largest),
                format!("{}..{}", t.min_seq.0, t.max_seq.0),
            ]);
        }
        text.push_str(&table.to_string());
        text.push('\n');
    }
    if !any {
        text.push_str("\n(no tables)\n");
    }
    if !report.problems.is_empty() {
        text.push_str("\nProblems:\n");
        let rows: Vec<Vec<String>> = report
            .problems
            .iter()
            .map(|p| {
                vec![
                    p.kind.to_string(),
                    p.file.clone(),
                    p.offset.map(|o| o.to_string()).unwrap_or_default(),
                    p.detail.clone(),
                ]
            })
            .collect();
        text.push_str(&output::table_or_records(
            &["kind", "file", "offset", "detail"],
            &rows,
        ));
    }
    text
}
