//! `nokv scan`: print live records in key order as `key<TAB>value` lines (escaped as `load`
//! reads them) or JSON lines; or only their keys, or only their number.

use crate::{ReadOnlyDb, ScanOptions};

use super::{arg_bytes, open_read_only};
use crate::cli::args::{ExportFormat, GlobalArgs, KeyRangeArgs, ScanArgs};
use crate::cli::format::{self, jsonl, tsv};
use crate::cli::output::{self, Stdout};
use crate::cli::CliError;

/// What each record prints as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The whole record, in a format.
    Records(ExportFormat),
    /// Only the key (`--keys-only`), as text or JSON.
    Keys {
        /// `{"key":..}` lines instead of escaped text.
        json: bool,
    },
    /// Nothing per record (`--count`).
    Count,
}

/// The scan range from `--start`, `--end`, `--prefix` (hex-decoded with `--hex`).
///
/// # Errors
/// A usage error for bad hex.
pub fn range_options(range: &KeyRangeArgs) -> Result<ScanOptions, CliError> {
    let bound = |arg: &Option<std::ffi::OsString>, what: &str| {
        arg.as_deref()
            .map(|a| arg_bytes(a, range.hex, what))
            .transpose()
    };
    Ok(ScanOptions {
        start: bound(&range.start, "--start")?,
        end: bound(&range.end, "--end")?,
        prefix: bound(&range.prefix, "--prefix")?,
        ..ScanOptions::default()
    })
}

/// Runs `scan`.
///
/// # Errors
/// Usage errors; a missing workdir; engine errors met while reading (after the records
/// printed so far).
pub fn run(global: &GlobalArgs, args: &ScanArgs) -> Result<(), CliError> {
    let options = ScanOptions {
        limit: args.limit,
        reverse: args.reverse,
        ..range_options(&args.range)?
    };
    let shape = if args.count {
        Shape::Count
    } else if args.keys_only {
        Shape::Keys { json: args.json }
    } else if args.json {
        Shape::Records(ExportFormat::Jsonl)
    } else {
        Shape::Records(ExportFormat::Tsv)
    };
    let db = open_read_only(global)?;
    let count = write_records(&db, &options, shape)?;
    if shape == Shape::Count {
        let text = if args.json {
            format!("{{\"count\":{count}}}\n")
        } else {
            format!("{count}\n")
        };
        output::print(text)?;
    }
    Ok(())
}

/// Streams the records of a scan to stdout in `shape`; returns how many there were.
///
/// # Errors
/// Engine errors from the scan; stdout errors ([`CliError::BrokenPipe`] when the reader
/// went away).
pub fn write_records(
    db: &ReadOnlyDb,
    options: &ScanOptions,
    shape: Shape,
) -> Result<u64, CliError> {
    let mut out = Stdout::new();
    if options.limit == Some(0) {
        return Ok(0);
    }
    let mut count = 0u64;
    for item in db.scan(options)? {
        let (key, value) = match item {
            Ok(record) => record,
            Err(err) => {
                // Keep what was printed, then fail.
                out.flush()?;
                return Err(err.into());
            }
        };
        count += 1;
        match shape {
            Shape::Records(format) => format::write_record(format, out.buf(), &key, &value),
            Shape::Keys { json: false } => tsv::tsv_key(out.buf(), &key),
            Shape::Keys { json: true } => jsonl::json_key(out.buf(), &key),
            Shape::Count => continue,
        }
        out.maybe_flush()?;
    }
    out.flush()?;
    Ok(count)
}
