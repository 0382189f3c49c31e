//! `nokv export`: every live record, in a format `load` reads back losslessly.

use crate::ScanOptions;

use super::{close, open_existing, scan::write_records};
use crate::cli::args::{ExportArgs, ExportFormat, GlobalArgs};
use crate::cli::CliError;

/// Runs `export`.
///
/// # Errors
/// A missing workdir; engine errors; stdout errors.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> Result<(), CliError> {
    let db = open_existing(global)?;
    let written = write_records(
        &db,
        &ScanOptions::default(),
        args.format == ExportFormat::Jsonl,
    );
    let closed = close(db);
    written?;
    closed
}
