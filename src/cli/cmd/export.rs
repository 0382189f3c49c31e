//! `nokv export`: every live record (or a `--prefix`/`--start`/`--end` range), in a format
//! `load` reads back losslessly (tsv, jsonl, csv).

use super::open_read_only;
use super::scan::{range_options, write_records, Shape};
use crate::cli::args::{ExportArgs, GlobalArgs};
use crate::cli::CliError;

/// Runs `export`.
///
/// # Errors
/// Usage errors for bad hex; a missing workdir; engine errors; stdout errors.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> Result<(), CliError> {
    let options = range_options(&args.range)?;
    let db = open_read_only(global)?;
    write_records(&db, &options, Shape::Records(args.format)).map(|_| ())
}
