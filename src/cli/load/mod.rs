//! `nokv load [FILE...]`: bulk load from files or stdin.
//!
//! A parser thread reads the inputs (buffered, `read_until`), decodes records into reused
//! buffers, and fills [`WriteBatch`]es; full batches go over a bounded channel to the writer
//! (this thread), which applies them with `Db::write` and hands the emptied batches back for
//! reuse, so parsing and writing overlap and nothing is allocated per record.
//!
//! Bad input is strict by default: at the first bad record the parser sends the records
//! before it (the partial batch included) and stops; the writer writes them, closes the
//! database (which makes everything durable), reports `FILE:LINE: reason` and how many records
//! were loaded, and the command exits 5. With `--skip-invalid` bad records are counted and
//! skipped (the first [`REPORTED_BAD`] are named on stderr), and the load stops as in strict
//! mode only once more than `--max-errors` are bad.
//!
//! Formats (see `nokv load --help`):
//! - tsv: `key<TAB>value`, escapes `\t \n \r \\ \xHH`. A line ending in CR (CRLF line
//!   endings) is bad input: an unescaped CR before the newline is ambiguous, and a CR in data
//!   is written `\r`. A second unescaped tab is bad input too.
//! - csv: RFC 4180, exactly two fields, no header; a record may span lines inside quotes;
//!   CRLF and LF both end a record.
//! - jsonl: `{"key":..,"value":..}` with `key_hex`/`value_hex` (hex) instead for bytes that
//!   are not UTF-8, and an optional `"op":"put"|"delete"`; unknown fields are bad input.
//!
//! An empty line, an empty key, a key over 65,535 bytes or a value over 64 MiB is bad input
//! in every format. A last line without a newline is loaded when it parses.

mod pipeline;
mod report;
mod sink;

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::types::{MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::WriteBatch;

use crate::cli::args::{GlobalArgs, LoadArgs};
use crate::cli::cmd::open_for_write;
use crate::cli::output::{self, note};
use crate::cli::progress::Progress;
use crate::cli::{CliError, EXIT_INTERRUPTED};

pub use crate::cli::args::LoadFormat;
pub use crate::cli::format::csv::csv_record;
pub use crate::cli::format::jsonl::json_record;
pub use crate::cli::format::tsv::tsv_record;
pub use pipeline::{parse_input, parse_record, ParsedInput, Record};

use pipeline::{open_inputs, Parser};
use report::report;
use sink::{IngestSummary, Sink};

/// How many skipped records are named on stderr.
pub const REPORTED_BAD: usize = 10;
/// A batch is sent once it holds this many records...
const BATCH_RECORDS: usize = 16_384;
/// ... or this many encoded bytes (less for a small memtable).
const BATCH_BYTES: usize = 1 << 20;
/// Longest line (or CSV record) read: every byte of a maximal key and value escaped at the
/// widest (`\u0000` in JSON is six bytes per byte), plus syntax.
const MAX_LINE: u64 = 6 * (MAX_KEY_LEN as u64 + MAX_VALUE_LEN as u64) + 64;
/// `--linger`: a partial batch is written once it is this old.
const DEFAULT_LINGER: Duration = Duration::from_millis(100);
/// Read buffer per input.
const READ_BUFFER: usize = 1 << 20;

/// One input, opened before the database so that a missing file writes nothing.
enum Source {
    Stdin,
    File(File),
}

struct Input {
    name: String,
    source: Source,
    format: LoadFormat,
    /// Added to bad-record reasons: the name suggests another format.
    hint: Option<String>,
}

/// How every input is read, beyond its format.
#[derive(Debug, Clone, Copy)]
struct Dialect {
    /// Skip the first record of each input (`--header`).
    header: bool,
    /// The CSV field delimiter (`--delimiter`).
    delimiter: u8,
    /// How long a partial batch waits for more records before it is written (`--linger`).
    linger: Duration,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            header: false,
            delimiter: b',',
            linger: DEFAULT_LINGER,
        }
    }
}

/// A bad record: where, and why.
#[derive(Debug, Clone)]
struct BadRecord {
    file: String,
    line: u64,
    reason: String,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Why parsing ended early.
enum Stop {
    /// Strict mode: the first bad record.
    Bad(BadRecord),
    /// More bad records than `--max-errors`; the last one.
    TooMany(BadRecord, u64),
    /// An input could not be read.
    Read(CliError),
    /// The writer went away (it failed; it reports its own error).
    Disconnected,
}

/// What the parser thread reports at the end.
#[derive(Default)]
struct Outcome {
    bad: u64,
    /// Things that look wrong but are not bad input (a CSV header row loaded as data).
    warnings: Vec<String>,
    reported: Vec<BadRecord>,
    stop: Option<Stop>,
}

/// A batch for the writer and the input it covers.
struct Chunk {
    batch: WriteBatch,
    records: u64,
    bytes: u64,
}

/// Bad-input policy.
#[derive(Clone, Copy)]
struct Policy {
    skip: bool,
    max_errors: Option<u64>,
}

/// Runs `load`.
///
/// # Errors
/// A missing or unreadable input or a directory (exit 1, nothing written); engine errors
/// (exit 1); bad input ([`EXIT_BAD_INPUT`]).
pub fn run(global: &GlobalArgs, args: &LoadArgs) -> Result<(), CliError> {
    let (inputs, total) = open_inputs(&args.files, args.format)?;
    let names: Vec<String> = inputs.iter().map(|input| input.name.clone()).collect();
    let current_input = Arc::new(AtomicUsize::new(0));
    // Ctrl-C stops the load cleanly: what was written is made durable and counted. A second
    // Ctrl-C exits at once (what reached the WAL survives that too).
    let interrupted = Arc::new(AtomicBool::new(false));
    for register in [
        signal_hook::flag::register_conditional_shutdown(
            signal_hook::consts::SIGINT,
            i32::from(EXIT_INTERRUPTED),
            Arc::clone(&interrupted),
        ),
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted)),
    ] {
        register.map_err(CliError::io("install the Ctrl-C handler"))?;
    }
    let shown_input = AtomicUsize::new(usize::MAX);
    let next = |rx: &Receiver<Chunk>, progress: &Progress| loop {
        if interrupted.load(Ordering::Relaxed) {
            return None;
        }
        // The bar names the input being read, when there are several.
        let input = current_input.load(Ordering::Relaxed);
        if names.len() > 1 && shown_input.swap(input, Ordering::Relaxed) != input {
            progress.file(&names[input]);
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => return Some(chunk),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    };
    let dialect = Dialect {
        header: args.header,
        delimiter: args.delimiter,
        linger: args.linger,
    };
    let policy = Policy {
        skip: args.skip_invalid || args.max_errors.is_some(),
        max_errors: args.max_errors,
    };
    let batch_bytes = usize::try_from(global.memtable_size / 4)
        .unwrap_or(BATCH_BYTES)
        .clamp(4096, BATCH_BYTES);

    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<Chunk>(4);
    let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<WriteBatch>(8);
    let parser_input = Arc::clone(&current_input);
    let parser = std::thread::Builder::new()
        .name("nokv-load-parse".into())
        .spawn(move || {
            let mut parser = Parser::new(dialect, policy, tx, recycle_rx, batch_bytes);
            parser.current_input = parser_input;
            parser.run(inputs);
            parser.outcome
        })
        .map_err(CliError::io("spawn the parser thread"))?;
    let join = |parser: std::thread::JoinHandle<Outcome>| {
        parser.join().unwrap_or_else(|_| Outcome {
            stop: Some(Stop::Read(CliError::Failed(
                "internal error: the parser thread panicked".into(),
            ))),
            ..Outcome::default()
        })
    };

    let progress = Progress::new(global.quiet, total);
    let mut records = 0u64;
    let mut bytes = 0u64;
    // A workdir that holds no database yet is created only once there is a record to write:
    // a load that stops at its first record leaves nothing behind.
    let fresh = !global.workdir.join(crate::filenames::CURRENT).exists();
    let mut first = None;
    if fresh {
        while let Some(chunk) = next(&rx, &progress) {
            if !chunk.batch.is_empty() {
                first = Some(chunk);
                break;
            }
            bytes += chunk.bytes;
            progress.update(records, bytes, start.elapsed());
        }
    }
    let mut parser = Some(parser);
    let mut outcome = None;
    if fresh && first.is_none() && interrupted.load(Ordering::Relaxed) {
        progress.finish();
        return Err(interrupted_error(0, "nothing was written"));
    }
    if fresh && first.is_none() {
        // The parser is done (it closed the channel) without a record to write.
        let done = join(parser.take().expect("joined once"));
        if done.stop.is_some() || done.bad > 0 {
            progress.finish();
            return report(
                global,
                args,
                &done,
                0,
                bytes,
                start.elapsed(),
                &IngestSummary::default(),
            );
        }
        outcome = Some(done);
    }
    let db = match open_for_write(global) {
        Ok(db) => db,
        Err(err) => {
            progress.finish();
            return Err(err);
        }
    };
    let mut write_error = None;
    let mut sink = if args.no_ingest {
        Sink::Write
    } else {
        Sink::Undecided
    };
    let mut ingested = IngestSummary::default();
    while let Some(mut chunk) = first.take().or_else(|| next(&rx, &progress)) {
        if !chunk.batch.is_empty() {
            // Auto-detection only considers a full first batch: a small load stays in the WAL
            // rather than leaving a tiny table.
            let eligible = args.sorted
                || chunk.records >= BATCH_RECORDS as u64
                || chunk.batch.encoded_len() >= batch_bytes;
            if let Err(err) =
                sink.apply(&db, &mut chunk.batch, args.sorted, eligible, &mut ingested)
            {
                write_error = Some(err);
                break;
            }
        }
        records += chunk.records;
        bytes += chunk.bytes;
        progress.update(records, bytes, start.elapsed());
        chunk.batch.clear();
        let _ = recycle_tx.try_send(chunk.batch);
    }
    // Unblocks a parser waiting to send after a write error.
    drop(rx);
    if let Sink::Ingest(ingest) = std::mem::replace(&mut sink, Sink::Write) {
        progress.status("installing tables");
        match ingest.finish() {
            Ok(summary) => ingested.add(summary),
            Err(err) => {
                write_error.get_or_insert(err);
            }
        }
    }
    drop(sink);
    let stopped = interrupted.load(Ordering::Relaxed);
    if write_error.is_none() && records > ingested.records && !args.no_flush && !stopped {
        // Later commands then open without replaying a large WAL.
        let memtables = db.stats().memtable;
        progress.status(&format!(
            "flushing {}",
            output::human_bytes(memtables.active_bytes + memtables.immutable_bytes)
        ));
        if let Err(err) = db.flush() {
            write_error = Some(err);
        }
    }
    // An interrupted parser may be blocked reading its input: it is not waited for.
    let outcome = match parser {
        Some(parser) if !stopped => join(parser),
        _ => outcome.unwrap_or_default(),
    };
    if stopped {
        progress.status("making the records durable");
    }
    let closed = db.close();
    progress.finish();
    let elapsed = start.elapsed();

    if let Some(err) = write_error {
        note(format_args!(
            "nokv: {records} records were written before the error"
        ));
        return Err(err.into());
    }
    if let Err(err) = closed {
        note(format_args!(
            "nokv: {records} records were written but closing the database failed; they may \
             not be durable (reopening recovers what reached the WAL)"
        ));
        return Err(err.into());
    }
    if stopped {
        return Err(interrupted_error(
            records,
            "every one of them is durable; the rest of the input was not loaded",
        ));
    }
    if !global.quiet && ingested.records > 0 && !args.json && outcome.stop.is_none() {
        note(format_args!(
            "nokv: {} records were sorted: ingested as {} table{} at L{} (no WAL)",
            ingested.records,
            ingested.tables,
            if ingested.tables == 1 { "" } else { "s" },
            ingested.level
        ));
    }
    report(global, args, &outcome, records, bytes, elapsed, &ingested)
}

/// The outcome of a load stopped by Ctrl-C (exit [`EXIT_INTERRUPTED`]).
fn interrupted_error(records: u64, what: &str) -> CliError {
    CliError::Status {
        code: EXIT_INTERRUPTED,
        message: Some(format!(
            "interrupted: {records} record{} loaded; {what}",
            if records == 1 { "" } else { "s" }
        )),
    }
}
