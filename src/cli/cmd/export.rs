//! `nokv export`: every live record, in a format `load` reads back losslessly.

use crate::ScanOptions;

use super::{open_read_only, scan::write_records};
use crate::cli::args::{ExportArgs, ExportFormat, GlobalArgs};
use crate::cli::CliError;

/// Runs `export`.
///
/// # Errors
/// A missing workdir; engine errors; stdout errors.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> Result<(), CliError> {
    let db = open_read_only(global)?;
    write_records(
        &db,
        &ScanOptions::default(),
        args.format == ExportFormat::Jsonl,
    )
}
