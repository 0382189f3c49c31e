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

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use serde::Deserialize;
use serde_json::json;

use crate::types::{MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::WriteBatch;

use super::open_for_write;
use crate::cli::args::{GlobalArgs, LoadArgs, LoadFormat};
use crate::cli::output::{self, note, unescape_into, unhex_into};
use crate::cli::progress::Progress;
use crate::cli::{CliError, EXIT_BAD_INPUT};

/// How many skipped records are named on stderr.
pub const REPORTED_BAD: usize = 10;
/// A batch is sent once it holds this many records...
const BATCH_RECORDS: usize = 16_384;
/// ... or this many encoded bytes (less for a small memtable).
const BATCH_BYTES: usize = 1 << 20;
/// Longest line (or CSV record) read: every byte of a maximal key and value escaped at the
/// widest (`\u0000` in JSON is six bytes per byte), plus syntax.
const MAX_LINE: u64 = 6 * (MAX_KEY_LEN as u64 + MAX_VALUE_LEN as u64) + 64;
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
    let (inputs, total) = open_inputs(&args.files)?;
    let policy = Policy {
        skip: args.skip_invalid || args.max_errors.is_some(),
        max_errors: args.max_errors,
    };
    let batch_bytes = usize::try_from(global.memtable_size / 4)
        .unwrap_or(BATCH_BYTES)
        .clamp(4096, BATCH_BYTES);
    let format = args.format;

    let db = open_for_write(global)?;
    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<Chunk>(4);
    let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<WriteBatch>(8);
    let parser = std::thread::Builder::new()
        .name("nokv-load-parse".into())
        .spawn(move || {
            let mut parser = Parser::new(format, policy, tx, recycle_rx, batch_bytes);
            parser.run(inputs);
            parser.outcome
        })
        .map_err(CliError::io("spawn the parser thread"))?;

    let progress = Progress::new(global.quiet, total);
    let mut records = 0u64;
    let mut bytes = 0u64;
    let mut write_error = None;
    let mut sink = if args.no_ingest {
        Sink::Write
    } else {
        Sink::Undecided
    };
    let mut ingested = IngestSummary::default();
    for mut chunk in rx.iter() {
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
    if write_error.is_none() && records > ingested.records && !args.no_flush {
        // Later commands then open without replaying a large WAL.
        progress.status("flushing");
        if let Err(err) = db.flush() {
            write_error = Some(err);
        }
    }
    let outcome = parser.join().unwrap_or_else(|_| Outcome {
        stop: Some(Stop::Read(CliError::Failed(
            "internal error: the parser thread panicked".into(),
        ))),
        ..Outcome::default()
    });
    progress.finish();
    let closed = db.close();
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

/// Records written by sorted ingestion, over possibly several ingests.
#[derive(Debug, Default)]
struct IngestSummary {
    records: u64,
    tables: usize,
    level: u32,
}

impl IngestSummary {
    fn add(&mut self, summary: crate::db::IngestSummary) {
        self.records += summary.records;
        self.tables += summary.tables.len();
        self.level = summary.level;
    }
}

/// Where batches go: sorted ingestion while the input stays sorted (and holds only puts),
/// normal writes from the first record that is not.
enum Sink<'a> {
    /// Nothing seen yet.
    Undecided,
    /// Building tables directly.
    Ingest(Box<crate::db::Ingest<'a>>),
    /// Through the WAL and the memtable.
    Write,
}

impl<'a> Sink<'a> {
    fn apply(
        &mut self,
        db: &'a crate::Db,
        batch: &mut WriteBatch,
        forced: bool,
        eligible: bool,
        ingested: &mut IngestSummary,
    ) -> crate::Result<()> {
        if let Sink::Undecided = self {
            // Without --sorted, ingest only when the whole first batch is sorted puts.
            *self = if forced || (eligible && sorted_puts(batch, None) == batch.len()) {
                Sink::Ingest(Box::new(db.ingest()?))
            } else {
                Sink::Write
            };
        }
        let Sink::Ingest(ingest) = self else {
            return db.write(batch);
        };
        let fit = sorted_puts(batch, ingest.last_key());
        for op in batch.ops().take(fit) {
            ingest.add(op.key, op.value)?;
        }
        if fit == batch.len() {
            return Ok(());
        }
        // The first key out of order (or a delete): install what was ingested, and write the
        // rest normally.
        if let Sink::Ingest(ingest) = std::mem::replace(self, Sink::Write) {
            ingested.add(ingest.finish()?);
        }
        let mut rest = WriteBatch::new();
        for op in batch.ops().skip(fit) {
            match op.kind {
                crate::ValueKind::Put => rest.put(op.key, op.value)?,
                _ => rest.delete(op.key)?,
            }
        }
        db.write(&mut rest)
    }
}

/// How many leading operations of `batch` are puts with strictly increasing keys, all after
/// `after`.
fn sorted_puts(batch: &WriteBatch, after: Option<&[u8]>) -> usize {
    let mut last = after.map(<[u8]>::to_vec);
    let mut count = 0;
    for op in batch.ops() {
        if op.kind != crate::ValueKind::Put || last.as_deref().is_some_and(|l| op.key <= l) {
            break;
        }
        last = Some(op.key.to_vec());
        count += 1;
    }
    count
}

/// Prints the bad records, the summary, and picks the exit status.
fn report(
    global: &GlobalArgs,
    args: &LoadArgs,
    outcome: &Outcome,
    records: u64,
    bytes: u64,
    elapsed: Duration,
    ingested: &IngestSummary,
) -> Result<(), CliError> {
    if !global.quiet {
        for bad in &outcome.reported {
            note(format_args!("{bad} (skipped)"));
        }
        let unnamed = outcome.bad.saturating_sub(outcome.reported.len() as u64);
        if unnamed > 0 && !matches!(outcome.stop, Some(Stop::TooMany(..))) {
            note(format_args!(
                "nokv: ... and {unnamed} more bad records skipped"
            ));
        }
    }
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        records as f64 / secs
    } else {
        0.0
    };
    let stopped_at = match &outcome.stop {
        Some(Stop::Bad(bad)) | Some(Stop::TooMany(bad, _)) => Some(bad),
        _ => None,
    };
    if args.json {
        let stopped = stopped_at
            .map(|bad| json!({ "file": bad.file, "line": bad.line, "reason": bad.reason }));
        output::print_json(&json!({
            "format_version": 1,
            "records": records,
            "bytes": bytes,
            "bad_records": outcome.bad,
            "elapsed_ms": elapsed.as_millis() as u64,
            "records_per_sec": rate.round() as u64,
            "complete": outcome.stop.is_none(),
            "stopped_at": stopped,
            "ingested_records": ingested.records,
            "ingested_tables": ingested.tables,
        }))?;
    }
    let skipped = if outcome.bad > 0 && !matches!(outcome.stop, Some(Stop::Bad(_))) {
        format!(", {} bad records skipped", outcome.bad)
    } else {
        String::new()
    };
    let summary = format!(
        "loaded {records} records ({bytes} bytes) in {secs:.2} s, {rate:.0} records/s{skipped}"
    );
    match &outcome.stop {
        None => {
            if !global.quiet && !args.json {
                note(format_args!("nokv: {summary}"));
            }
            Ok(())
        }
        Some(Stop::Bad(bad)) => {
            note(bad);
            Err(CliError::Status {
                code: EXIT_BAD_INPUT,
                message: Some(format!(
                    "stopped at bad input ({}:{}); {summary}; every record before it is \
                     durable (use --skip-invalid to skip bad records)",
                    bad.file, bad.line
                )),
            })
        }
        Some(Stop::TooMany(bad, max)) => {
            note(bad);
            Err(CliError::Status {
                code: EXIT_BAD_INPUT,
                message: Some(format!(
                    "stopped: more than --max-errors {max} bad records (the last at {}:{}); \
                     {summary}; every record before it is durable",
                    bad.file, bad.line
                )),
            })
        }
        Some(Stop::Read(err)) => {
            note(format_args!(
                "nokv: {records} records were loaded before the read error"
            ));
            Err(CliError::Failed(err.to_string()))
        }
        Some(Stop::Disconnected) => Err(CliError::Failed(
            "internal error: the writer stopped early".into(),
        )),
    }
}

/// Opens every input up front: a missing file or a directory fails before anything is
/// written. Returns the inputs and their total size when every size is known.
fn open_inputs(files: &[PathBuf]) -> Result<(Vec<Input>, Option<u64>), CliError> {
    let stdin_path = Path::new("-");
    let names: Vec<&Path> = if files.is_empty() {
        vec![stdin_path]
    } else {
        files.iter().map(PathBuf::as_path).collect()
    };
    let mut inputs = Vec::with_capacity(names.len());
    let mut total = Some(0u64);
    for path in names {
        if path == stdin_path {
            // A regular file redirected to stdin has a size; a pipe does not.
            let size = std::fs::metadata("/dev/stdin")
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            total = total.zip(size).map(|(a, b)| a + b);
            inputs.push(Input {
                name: "<stdin>".into(),
                source: Source::Stdin,
            });
            continue;
        }
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|err| CliError::Io {
            context: format!("cannot read input {name}"),
            source: err,
        })?;
        if meta.is_dir() {
            return Err(CliError::Failed(format!(
                "input {name} is a directory, not a file"
            )));
        }
        let file = File::open(path).map_err(|err| CliError::Io {
            context: format!("cannot open input {name}"),
            source: err,
        })?;
        total = total
            .zip(meta.is_file().then_some(meta.len()))
            .map(|(a, b)| a + b);
        inputs.push(Input {
            name,
            source: Source::File(file),
        });
    }
    Ok((inputs, total))
}

/// A line (or CSV record) read by [`read_line`].
enum LineRead {
    Eof,
    /// A line, without its newline; `bytes` consumed from the input.
    Line {
        bytes: u64,
    },
    /// Longer than [`MAX_LINE`]; skipped up to its newline.
    TooLong {
        bytes: u64,
    },
}

/// Appends the next line (without the newline) to `buf`.
fn read_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<(LineRead, bool)> {
    let start = buf.len();
    let n = reader.by_ref().take(MAX_LINE + 1).read_until(b'\n', buf)? as u64;
    if n == 0 {
        return Ok((LineRead::Eof, false));
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok((LineRead::Line { bytes: n }, true));
    }
    if (buf.len() - start) as u64 > MAX_LINE {
        // Skip the rest of the over-long line.
        let mut skipped = n;
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    reader.consume(pos + 1);
                    skipped += pos as u64 + 1;
                    break;
                }
                None => {
                    let len = available.len();
                    reader.consume(len);
                    skipped += len as u64;
                }
            }
        }
        return Ok((LineRead::TooLong { bytes: skipped }, true));
    }
    // The last line, without a newline.
    Ok((LineRead::Line { bytes: n }, false))
}

/// One decoded record.
#[derive(Clone, Copy)]
enum Op<'a> {
    Put(&'a [u8], &'a [u8]),
    Delete(&'a [u8]),
}

/// The parser thread's state: reused buffers and the batch being filled.
struct Parser {
    format: LoadFormat,
    policy: Policy,
    tx: Sender<Chunk>,
    recycle: Receiver<WriteBatch>,
    batch: WriteBatch,
    batch_records: u64,
    batch_input: u64,
    batch_bytes: usize,
    line: Vec<u8>,
    key: Vec<u8>,
    value: Vec<u8>,
    outcome: Outcome,
}

impl Parser {
    fn new(
        format: LoadFormat,
        policy: Policy,
        tx: Sender<Chunk>,
        recycle: Receiver<WriteBatch>,
        batch_bytes: usize,
    ) -> Parser {
        Parser {
            format,
            policy,
            tx,
            recycle,
            batch: WriteBatch::new(),
            batch_records: 0,
            batch_input: 0,
            batch_bytes,
            line: Vec::with_capacity(4096),
            key: Vec::new(),
            value: Vec::new(),
            outcome: Outcome::default(),
        }
    }

    fn run(&mut self, inputs: Vec<Input>) {
        for input in inputs {
            let result = match input.source {
                Source::Stdin => {
                    let stdin = io::stdin();
                    let reader = BufReader::with_capacity(READ_BUFFER, stdin.lock());
                    self.parse(reader, &input.name)
                }
                Source::File(file) => {
                    let reader = BufReader::with_capacity(READ_BUFFER, file);
                    self.parse(reader, &input.name)
                }
            };
            if let Err(stop) = result {
                self.outcome.stop = Some(stop);
                break;
            }
        }
        // Whatever happened, the records parsed so far are written.
        if self.send().is_err() && self.outcome.stop.is_none() {
            self.outcome.stop = Some(Stop::Disconnected);
        }
    }

    /// Parses one input to its end.
    fn parse<R: BufRead>(&mut self, mut reader: R, name: &str) -> Result<(), Stop> {
        let mut line_no = 0u64;
        loop {
            self.line.clear();
            let first_line = line_no + 1;
            let read_err = |err: io::Error| {
                Stop::Read(CliError::Io {
                    context: format!("read {name} at line {first_line}"),
                    source: err,
                })
            };
            let (read, mut terminated) =
                read_line(&mut reader, &mut self.line).map_err(read_err)?;
            let mut consumed = match read {
                LineRead::Eof => return Ok(()),
                LineRead::Line { bytes } => bytes,
                LineRead::TooLong { bytes } => {
                    line_no += 1;
                    self.batch_input += bytes;
                    self.bad(
                        name,
                        first_line,
                        format!("line longer than {MAX_LINE} bytes"),
                    )?;
                    continue;
                }
            };
            line_no += 1;
            if self.format == LoadFormat::Csv {
                // A quoted field may span lines: read on while the quotes are unbalanced.
                while terminated && csv_open_quote(&self.line) {
                    self.line.push(b'\n');
                    let (read, more) = read_line(&mut reader, &mut self.line).map_err(read_err)?;
                    match read {
                        LineRead::Eof => break,
                        LineRead::Line { bytes } | LineRead::TooLong { bytes } => {
                            consumed += bytes;
                            line_no += 1;
                        }
                    }
                    terminated = more;
                    if self.line.len() as u64 > MAX_LINE {
                        break;
                    }
                }
            }
            self.batch_input += consumed;
            let result = match self.format {
                LoadFormat::Tsv => parse_tsv(&self.line, &mut self.key, &mut self.value),
                LoadFormat::Csv => parse_csv(&self.line, &mut self.key, &mut self.value),
                LoadFormat::Jsonl => parse_jsonl(&self.line, &mut self.key, &mut self.value),
            }
            .and_then(|op| check(op, &mut self.batch));
            match result {
                Ok(()) => {
                    self.batch_records += 1;
                    if self.batch.len() >= BATCH_RECORDS
                        || self.batch.encoded_len() >= self.batch_bytes
                    {
                        self.send()?;
                    }
                }
                Err(reason) => self.bad(name, first_line, reason)?,
            }
        }
    }

    /// Counts a bad record; `Err` when the load must stop.
    fn bad(&mut self, name: &str, line: u64, reason: String) -> Result<(), Stop> {
        let bad = BadRecord {
            file: name.to_string(),
            line,
            reason,
        };
        if !self.policy.skip {
            return Err(Stop::Bad(bad));
        }
        self.outcome.bad += 1;
        if let Some(max) = self.policy.max_errors {
            if self.outcome.bad > max {
                return Err(Stop::TooMany(bad, max));
            }
        }
        if self.outcome.reported.len() < REPORTED_BAD {
            self.outcome.reported.push(bad);
        }
        Ok(())
    }

    /// Sends the batch being filled (with the input it covers) to the writer.
    fn send(&mut self) -> Result<(), Stop> {
        if self.batch.is_empty() && self.batch_input == 0 {
            return Ok(());
        }
        let fresh = self.recycle.try_recv().unwrap_or_default();
        let chunk = Chunk {
            batch: std::mem::replace(&mut self.batch, fresh),
            records: std::mem::take(&mut self.batch_records),
            bytes: std::mem::take(&mut self.batch_input),
        };
        self.tx.send(chunk).map_err(|_| Stop::Disconnected)
    }
}

/// Checks the sizes and adds the record to `batch`.
fn check(op: Op<'_>, batch: &mut WriteBatch) -> Result<(), String> {
    let key = match op {
        Op::Put(key, _) | Op::Delete(key) => key,
    };
    if key.is_empty() {
        return Err("empty key".into());
    }
    if key.len() > MAX_KEY_LEN {
        return Err(format!(
            "key of {} bytes is longer than the limit of {MAX_KEY_LEN}",
            key.len()
        ));
    }
    match op {
        Op::Put(key, value) => {
            if value.len() > MAX_VALUE_LEN {
                return Err(format!(
                    "value of {} bytes is longer than the limit of {MAX_VALUE_LEN} (64 MiB)",
                    value.len()
                ));
            }
            batch.put(key, value).map_err(|e| e.to_string())
        }
        Op::Delete(key) => batch.delete(key).map_err(|e| e.to_string()),
    }
}

/// One record as `load` reads it (see [`parse_record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Write `value` under `key`.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete `key` (jsonl `"op":"delete"`).
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

/// Parses one line (or CSV record, without its final newline) exactly as `load` does, size
/// checks included; `Err` is the reason `load` reports. A pure function for tests and fuzzing.
///
/// # Errors
/// The bad-input reason.
pub fn parse_record(format: LoadFormat, line: &[u8]) -> Result<Record, String> {
    let (mut key, mut value) = (Vec::new(), Vec::new());
    let op = match format {
        LoadFormat::Tsv => parse_tsv(line, &mut key, &mut value),
        LoadFormat::Csv => parse_csv(line, &mut key, &mut value),
        LoadFormat::Jsonl => parse_jsonl(line, &mut key, &mut value),
    }?;
    check(op, &mut WriteBatch::new())?;
    Ok(match op {
        Op::Put(key, value) => Record::Put {
            key: key.to_vec(),
            value: value.to_vec(),
        },
        Op::Delete(key) => Record::Delete { key: key.to_vec() },
    })
}

/// What [`parse_input`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedInput {
    /// The good records, in input order.
    pub records: Vec<Record>,
    /// How many records were bad.
    pub bad: u64,
    /// The first few bad records: line number and reason.
    pub reported: Vec<(u64, String)>,
}

/// Parses a whole input the way `load --skip-invalid` does (line splitting, CSV records
/// spanning lines, over-long lines), through the same parser, without a database. A pure
/// function for tests and fuzzing.
pub fn parse_input(format: LoadFormat, input: &[u8]) -> ParsedInput {
    let (tx, rx) = crossbeam_channel::unbounded();
    let (_recycle_tx, recycle) = crossbeam_channel::bounded(1);
    let policy = Policy {
        skip: true,
        max_errors: None,
    };
    let mut parser = Parser::new(format, policy, tx, recycle, BATCH_BYTES);
    // With `skip` and no error limit, parsing an in-memory input never stops early.
    let _ = parser.parse(input, "input");
    let _ = parser.send();
    let outcome = std::mem::take(&mut parser.outcome);
    drop(parser);
    let mut parsed = ParsedInput {
        bad: outcome.bad,
        reported: outcome
            .reported
            .into_iter()
            .map(|b| (b.line, b.reason))
            .collect(),
        ..ParsedInput::default()
    };
    for chunk in rx.try_iter() {
        for op in chunk.batch.ops() {
            parsed.records.push(match op.kind {
                crate::ValueKind::Delete => Record::Delete {
                    key: op.key.to_vec(),
                },
                _ => Record::Put {
                    key: op.key.to_vec(),
                    value: op.value.to_vec(),
                },
            });
        }
    }
    parsed
}

/// `key<TAB>value` with backslash escapes.
fn parse_tsv<'a>(
    line: &'a [u8],
    key_buf: &'a mut Vec<u8>,
    value_buf: &'a mut Vec<u8>,
) -> Result<Op<'a>, String> {
    if line.is_empty() {
        return Err("empty line (expected key<TAB>value)".into());
    }
    if line.last() == Some(&b'\r') {
        return Err(
            "line ends with a carriage return (CRLF line endings are not accepted; write a CR \
             in data as \\r)"
                .into(),
        );
    }
    let Some(tab) = line.iter().position(|&b| b == b'\t') else {
        return Err("no tab between key and value (expected key<TAB>value)".into());
    };
    let (key, value) = (&line[..tab], &line[tab + 1..]);
    if let Some(second) = value.iter().position(|&b| b == b'\t') {
        return Err(format!(
            "a second tab at column {} (write a tab in data as \\t)",
            tab + second + 2
        ));
    }
    let key = unescape_field(key, key_buf).map_err(|e| format!("key: {e}"))?;
    let value = unescape_field(value, value_buf).map_err(|e| {
        // Columns in the value count from the start of the line.
        format!("value (from column {}): {e}", tab + 2)
    })?;
    Ok(Op::Put(key, value))
}

/// The field itself when it has no escape, else its unescaped bytes in `buf`.
fn unescape_field<'a>(field: &'a [u8], buf: &'a mut Vec<u8>) -> Result<&'a [u8], String> {
    if !field.contains(&b'\\') {
        return Ok(field);
    }
    buf.clear();
    unescape_into(field, buf)?;
    Ok(buf)
}

/// Whether a CSV record ends inside a quoted field (so it continues on the next line).
fn csv_open_quote(record: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        if in_quotes {
            if b == b'"' {
                if record.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if b == b'"' && field_start {
            in_quotes = true;
            field_start = false;
        } else {
            field_start = b == b',';
        }
        i += 1;
    }
    in_quotes
}

/// One RFC 4180 record of exactly two fields (the record's line breaks included; the final
/// LF already removed).
fn parse_csv<'a>(
    record: &'a [u8],
    key_buf: &'a mut Vec<u8>,
    value_buf: &'a mut Vec<u8>,
) -> Result<Op<'a>, String> {
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if record.is_empty() {
        return Err("empty line (expected two fields: key,value)".into());
    }
    key_buf.clear();
    value_buf.clear();
    let mut field = 0usize;
    let mut i = 0usize;
    loop {
        let out = match field {
            0 => &mut *key_buf,
            1 => &mut *value_buf,
            _ => {
                return Err(format!(
                    "more than two fields (a third starts at column {}; quote fields that \
                     contain commas)",
                    i + 1
                ))
            }
        };
        if record.get(i) == Some(&b'"') {
            // Quoted field: "" is a quote; anything else up to the closing quote is data.
            let open = i;
            i += 1;
            loop {
                match record.get(i) {
                    None => {
                        return Err(format!(
                            "unterminated quoted field (opened at column {})",
                            open + 1
                        ))
                    }
                    Some(b'"') if record.get(i + 1) == Some(&b'"') => {
                        out.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            match record.get(i) {
                None => break,
                Some(b',') => {
                    i += 1;
                    field += 1;
                }
                Some(_) => {
                    return Err(format!(
                        "unexpected character after a closing quote at column {}",
                        i + 1
                    ))
                }
            }
        } else {
            let rest = &record[i..];
            let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
            let data = &rest[..end];
            if let Some(pos) = data.iter().position(|&b| b == b'"') {
                return Err(format!(
                    "quote inside an unquoted field at column {} (quote the whole field and \
                     double the quote)",
                    i + pos + 1
                ));
            }
            if let Some(pos) = data.iter().position(|&b| b == b'\r' || b == b'\n') {
                return Err(format!(
                    "line break inside an unquoted field at column {} (quote the field)",
                    i + pos + 1
                ));
            }
            out.extend_from_slice(data);
            i += end;
            if i >= record.len() {
                break;
            }
            // At a comma.
            i += 1;
            field += 1;
            if i == record.len() {
                // A trailing comma: the next field is empty.
                if field > 1 {
                    return Err("more than two fields (a trailing comma)".into());
                }
                break;
            }
        }
    }
    if field == 0 {
        return Err("one field; expected two (key,value)".into());
    }
    Ok(Op::Put(key_buf, value_buf))
}

/// A jsonl record: text fields borrowed from the line where possible.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord<'a> {
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key_hex: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value_hex: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    op: Option<Cow<'a, str>>,
}

/// `{"key":..,"value":..}` / `key_hex` / `value_hex` / `"op":"delete"`.
fn parse_jsonl<'a>(
    line: &[u8],
    key_buf: &'a mut Vec<u8>,
    value_buf: &'a mut Vec<u8>,
) -> Result<Op<'a>, String> {
    if line.is_empty() {
        return Err("empty line (expected a JSON object)".into());
    }
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "invalid UTF-8 at column {} (JSON lines must be UTF-8; give binary keys and \
             values as key_hex/value_hex)",
            e.valid_up_to() + 1
        )
    })?;
    let record: JsonRecord<'_> = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        format!("invalid JSON record: {message} at column {}", e.column())
    })?;
    let delete = match record.op.as_deref() {
        None | Some("put") => false,
        Some("delete") => true,
        Some(other) => {
            return Err(format!(
                "unknown op `{other}` (expected \"put\" or \"delete\")"
            ))
        }
    };
    key_buf.clear();
    match (&record.key, &record.key_hex) {
        (Some(key), None) => key_buf.extend_from_slice(key.as_bytes()),
        (None, Some(hex)) => {
            unhex_into(hex.as_bytes(), key_buf).map_err(|e| format!("key_hex: {e}"))?
        }
        (Some(_), Some(_)) => return Err("both \"key\" and \"key_hex\" given".into()),
        (None, None) => return Err("no \"key\" (or \"key_hex\") field".into()),
    }
    value_buf.clear();
    match (&record.value, &record.value_hex, delete) {
        (None, None, true) => return Ok(Op::Delete(key_buf)),
        (_, _, true) => return Err("a delete takes no value".into()),
        (Some(value), None, false) => value_buf.extend_from_slice(value.as_bytes()),
        (None, Some(hex), false) => {
            unhex_into(hex.as_bytes(), value_buf).map_err(|e| format!("value_hex: {e}"))?
        }
        (Some(_), Some(_), false) => return Err("both \"value\" and \"value_hex\" given".into()),
        (None, None, false) => return Err("no \"value\" (or \"value_hex\") field".into()),
    }
    Ok(Op::Put(key_buf, value_buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(line: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_tsv(line, &mut k, &mut v)? {
            Op::Put(k, v) => Ok((k.to_vec(), v.to_vec())),
            Op::Delete(_) => unreachable!(),
        }
    }

    fn csv(record: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_csv(record, &mut k, &mut v)? {
            Op::Put(k, v) => Ok((k.to_vec(), v.to_vec())),
            Op::Delete(_) => unreachable!(),
        }
    }

    fn jsonl(line: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_jsonl(line, &mut k, &mut v)? {
            Op::Put(k, v) => Ok((k.to_vec(), Some(v.to_vec()))),
            Op::Delete(k) => Ok((k.to_vec(), None)),
        }
    }

    #[test]
    fn tsv_lines() {
        assert_eq!(tsv(b"k\tv").unwrap(), (b"k".to_vec(), b"v".to_vec()));
        assert_eq!(tsv(b"k\t").unwrap(), (b"k".to_vec(), b"".to_vec()));
        assert_eq!(
            tsv(b"a\\tb\tc\\nd\\x00\\\\").unwrap(),
            (b"a\tb".to_vec(), b"c\nd\0\\".to_vec())
        );
        assert!(tsv(b"").unwrap_err().contains("empty line"));
        assert!(tsv(b"kv").unwrap_err().contains("no tab"));
        assert!(tsv(b"k\tv\r").unwrap_err().contains("carriage return"));
        assert!(tsv(b"k\tv\tw").unwrap_err().contains("second tab"));
        assert!(tsv(b"k\\q\tv").unwrap_err().contains("bad escape"));
        assert!(tsv(b"k\tv\\xZZ").unwrap_err().contains("bad hex escape"));
        // Raw bytes (invalid UTF-8, NUL) are taken as they are.
        assert_eq!(tsv(b"\xff\0\t\x80").unwrap(), (vec![0xff, 0], vec![0x80]));
    }

    #[test]
    fn csv_records() {
        assert_eq!(csv(b"k,v").unwrap(), (b"k".to_vec(), b"v".to_vec()));
        assert_eq!(csv(b"k,v\r").unwrap(), (b"k".to_vec(), b"v".to_vec()));
        assert_eq!(csv(b"k,").unwrap(), (b"k".to_vec(), b"".to_vec()));
        assert_eq!(
            csv(b"\"a,b\",\"say \"\"hi\"\"\nthere\r\"").unwrap(),
            (b"a,b".to_vec(), b"say \"hi\"\nthere\r".to_vec())
        );
        assert!(csv(b"").is_err());
        assert!(csv(b"k").unwrap_err().contains("one field"));
        assert!(csv(b"a,b,c").unwrap_err().contains("more than two"));
        assert!(csv(b"a,b,").unwrap_err().contains("more than two"));
        assert!(csv(b"a\"b,c").unwrap_err().contains("quote inside"));
        assert!(csv(b"\"ab,c").unwrap_err().contains("unterminated"));
        assert!(csv(b"\"a\"b,c")
            .unwrap_err()
            .contains("after a closing quote"));
        assert!(csv_open_quote(b"\"a"));
        assert!(csv_open_quote(b"k,\"a\"\"b"));
        assert!(!csv_open_quote(b"k,\"a\"\"b\""));
        assert!(!csv_open_quote(b"a\"b,c"));
    }

    #[test]
    fn jsonl_records() {
        assert_eq!(
            jsonl(br#"{"key":"k","value":"v"}"#).unwrap(),
            (b"k".to_vec(), Some(b"v".to_vec()))
        );
        assert_eq!(
            jsonl(br#"{"key_hex":"00ff","value_hex":"","op":"put"}"#).unwrap(),
            (vec![0, 0xff], Some(vec![]))
        );
        assert_eq!(
            jsonl(br#"{"key":"a\tb\u0000","op":"delete"}"#).unwrap(),
            (b"a\tb\0".to_vec(), None)
        );
        assert_eq!(
            jsonl(b"{\"key\":\"k\",\"value\":\"v\"}\r").unwrap(),
            (b"k".to_vec(), Some(b"v".to_vec()))
        );
        assert!(jsonl(b"{\"key\":\"\xff\"}").unwrap_err().contains("UTF-8"));
        assert!(jsonl(br#"{"key":"k"}"#)
            .unwrap_err()
            .contains("no \"value\""));
        assert!(jsonl(br#"{"key":"k","val":"v"}"#)
            .unwrap_err()
            .contains("unknown field"));
        assert!(jsonl(br#"{"key":"k","value":"v","op":"merge"}"#).is_err());
        assert!(jsonl(br#"{"key":"k","key_hex":"00","value":"v"}"#).is_err());
        assert!(jsonl(br#"{"key_hex":"0","value":"v"}"#)
            .unwrap_err()
            .contains("key_hex"));
        assert!(jsonl(br#"{"key":"k","value":"v""#)
            .unwrap_err()
            .contains("column"));
        assert!(jsonl(b"[1,2]").is_err());
        assert!(jsonl(b"").is_err());
    }

    #[test]
    fn read_line_handles_a_missing_last_newline() {
        let mut reader = &b"a\tb\nc\td"[..];
        let mut buf = Vec::new();
        let (read, terminated) = read_line(&mut reader, &mut buf).unwrap();
        assert!(matches!(read, LineRead::Line { bytes: 4 }) && terminated);
        assert_eq!(buf, b"a\tb");
        buf.clear();
        let (read, terminated) = read_line(&mut reader, &mut buf).unwrap();
        assert!(matches!(read, LineRead::Line { bytes: 3 }) && !terminated);
        assert_eq!(buf, b"c\td");
        buf.clear();
        assert!(matches!(
            read_line(&mut reader, &mut buf).unwrap().0,
            LineRead::Eof
        ));
    }
}
