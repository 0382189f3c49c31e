//! `nokv checkpoint DEST`: a consistent copy of the workdir that opens as a workdir of its own,
//! taken while another process may be writing (SPEC 4; the engine side is
//! [`crate::checkpoint`]).

use serde_json::json;

use super::require_database;
use crate::cli::args::{CheckpointArgs, GlobalArgs};
use crate::cli::output::{self, human_bytes, note};
use crate::cli::CliError;

/// Runs `checkpoint`.
///
/// # Errors
/// A missing workdir; an existing non-empty `DEST`; engine errors.
pub fn run(global: &GlobalArgs, args: &CheckpointArgs) -> Result<(), CliError> {
    require_database(&global.workdir)?;
    let summary = crate::checkpoint(&global.workdir, &args.dest)?;
    if args.json {
        output::print_json(&json!({
            "format_version": 1,
            "dest": summary.dest.display().to_string(),
            "tables_linked": summary.tables_linked,
            "tables_copied": summary.tables_copied,
            "table_bytes": summary.table_bytes,
            "wal_segments": summary.wal_segments,
            "wal_bytes": summary.wal_bytes,
            "last_sequence": summary.last_sequence.0,
            "attempts": summary.attempts,
        }))?;
    }
    if !global.quiet && !args.json {
        let tables = summary.tables_linked + summary.tables_copied;
        note(format_args!(
            "nokv: checkpoint {}: {tables} table{} ({}; {} linked, {} copied), {} WAL segment{} \
             ({}), up to sequence {}",
            summary.dest.display(),
            if tables == 1 { "" } else { "s" },
            human_bytes(summary.table_bytes),
            summary.tables_linked,
            summary.tables_copied,
            summary.wal_segments,
            if summary.wal_segments == 1 { "" } else { "s" },
            human_bytes(summary.wal_bytes),
            summary.last_sequence.0
        ));
    }
    Ok(())
}
