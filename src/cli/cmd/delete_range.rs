//! `nokv delete-range START END`: delete every key in `[START, END)`.
//!
//! A range tombstone: it hides every older write in the range, never a later one, and
//! survives flush, compaction and reopen.

use super::{close, key_arg, open_existing_for_write};
use crate::cli::args::{DeleteRangeArgs, GlobalArgs};
use crate::cli::output::escaped;
use crate::cli::CliError;

/// Runs `delete-range`.
///
/// # Errors
/// Usage errors for bad arguments (START must sort before END); engine errors.
pub fn run(global: &GlobalArgs, args: &DeleteRangeArgs) -> Result<(), CliError> {
    let start = key_arg(&args.start, args.hex, "START")?;
    let end = key_arg(&args.end, args.hex, "END")?;
    if start >= end {
        return Err(CliError::Usage(format!(
            "START `{}` must sort before END `{}` (the range is [START, END))",
            escaped(&start),
            escaped(&end)
        )));
    }
    delete_range(global, &start, &end)
}

/// Deletes `[start, end)` in the database at `dir` and makes it durable (close fsyncs).
fn delete_range(global: &GlobalArgs, start: &[u8], end: &[u8]) -> Result<(), CliError> {
    let db = open_existing_for_write(global)?;
    let result = db.delete_range(start, end);
    let closed = close(db);
    result?;
    closed
}
