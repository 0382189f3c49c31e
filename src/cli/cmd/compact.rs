//! `nokv compact`: a full manual compaction. Flushes every memtable, then merges every table
//! into one level (the deepest holding data, at least L1), dropping tombstones and overwritten
//! values. Outputs are installed with the same durability order as flushes. On a terminal a
//! spinner shows the elapsed time while it runs.

use super::{close, open_existing_for_write};
use crate::cli::args::{CompactArgs, GlobalArgs};
use crate::cli::output::{human_bytes, note};
use crate::cli::progress::Progress;
use crate::cli::CliError;

/// Runs `compact`.
///
/// # Errors
/// Engine errors (a failed compaction loses nothing: the inputs stay in place).
pub fn run(global: &GlobalArgs, _args: &CompactArgs) -> Result<(), CliError> {
    let db = open_existing_for_write(global)?;
    let tables: usize = db.version().levels.iter().map(Vec::len).sum();
    let progress = Progress::spinner(
        global.quiet,
        &format!(
            "compacting {tables} table{}",
            if tables == 1 { "" } else { "s" }
        ),
    );
    let summary = db.compact();
    progress.status("closing");
    let closed = close(db);
    progress.finish();
    let summary = summary?;
    closed?;
    if !global.quiet {
        if summary.inputs == 0 {
            note("nokv: nothing to compact");
        } else {
            note(format_args!(
                "nokv: compacted {} table{} ({}) into {} at L{} ({})",
                summary.inputs,
                if summary.inputs == 1 { "" } else { "s" },
                human_bytes(summary.bytes_read),
                summary.outputs.len(),
                summary.output_level,
                human_bytes(summary.bytes_written)
            ));
        }
    }
    Ok(())
}
