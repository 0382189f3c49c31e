//! `nokv delete-range START END`: delete every key in `[START, END)`.
//!
//! The engine has no range delete yet; [`delete_range`] is the one place to wire it.

use std::path::Path;

use crate::Options;

use super::{engine_options, key_arg};
use crate::cli::args::{DeleteRangeArgs, GlobalArgs};
use crate::cli::output::escaped;
use crate::cli::CliError;

/// Runs `delete-range`.
///
/// # Errors
/// Usage errors for bad arguments (START must sort before END); "not yet supported".
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
    delete_range(&global.workdir, engine_options(global), &start, &end)
}

/// Deletes `[start, end)` in the database at `dir` and makes it durable.
///
/// When the engine gains `Db::delete_range`, this becomes: open with `opts`,
/// `db.delete_range(start, end)?`, `close(db)`.
fn delete_range(dir: &Path, opts: Options, start: &[u8], end: &[u8]) -> Result<(), CliError> {
    let _ = (dir, opts, start, end);
    Err(CliError::Failed(
        "delete-range is not yet supported by this version of the engine".into(),
    ))
}
