//! `nokv scan`: print live records in key order as `key<TAB>value` lines (escaped as `load`
//! reads them) or JSON lines.

use crate::{ReadOnlyDb, ScanOptions};

use super::{arg_bytes, open_read_only};
use crate::cli::args::{GlobalArgs, ScanArgs};
use crate::cli::output::{self, Stdout};
use crate::cli::CliError;

/// Runs `scan`.
///
/// # Errors
/// Usage errors; a missing workdir; engine errors met while reading (after the records
/// printed so far).
pub fn run(global: &GlobalArgs, args: &ScanArgs) -> Result<(), CliError> {
    let bound = |arg: &Option<std::ffi::OsString>, what: &str| {
        arg.as_deref()
            .map(|a| arg_bytes(a, args.hex, what))
            .transpose()
    };
    let options = ScanOptions {
        start: bound(&args.start, "--start")?,
        end: bound(&args.end, "--end")?,
        prefix: bound(&args.prefix, "--prefix")?,
        limit: args.limit,
        reverse: args.reverse,
    };
    let db = open_read_only(global)?;
    write_records(&db, &options, args.json)
}

/// Streams the records of a scan to stdout, as JSON lines or text lines.
///
/// # Errors
/// Engine errors from the scan; stdout errors ([`CliError::BrokenPipe`] when the reader
/// went away).
pub fn write_records(db: &ReadOnlyDb, options: &ScanOptions, json: bool) -> Result<(), CliError> {
    let mut out = Stdout::new();
    if options.limit == Some(0) {
        return Ok(());
    }
    for item in db.scan(options)? {
        let (key, value) = match item {
            Ok(record) => record,
            Err(err) => {
                // Keep what was printed, then fail.
                out.flush()?;
                return Err(err.into());
            }
        };
        if json {
            output::json_record(out.buf(), &key, &value);
        } else {
            output::tsv_record(out.buf(), &key, &value);
        }
        out.maybe_flush()?;
    }
    out.flush()
}
