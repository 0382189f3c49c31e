//! The parser thread: reads the inputs line by line, decodes records into reused buffers,
//! and sends full batches to the writer.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crossbeam_channel::{Receiver, Sender};

use crate::types::{MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::WriteBatch;

use super::{
    BadRecord, Chunk, Dialect, Input, Outcome, Policy, Source, Stop, BATCH_BYTES, BATCH_RECORDS,
    MAX_LINE, READ_BUFFER, REPORTED_BAD,
};
use crate::cli::args::LoadFormat;
use crate::cli::format::csv::{parse_csv, QuoteState};
use crate::cli::format::jsonl::parse_jsonl;
use crate::cli::format::tsv::parse_tsv;
use crate::cli::format::{Op, BOM};
use crate::cli::CliError;

/// The format of a file by its extension: `.csv`, `.jsonl`/`.ndjson`, else tsv.
pub(super) fn format_of(path: &Path) -> LoadFormat {
    let ext = extension(path);
    match ext.as_str() {
        "csv" => LoadFormat::Csv,
        "jsonl" | "ndjson" => LoadFormat::Jsonl,
        _ => LoadFormat::Tsv,
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// What to add to a bad-record message when a file read as tsv is named like another
/// format (`--format tsv` given for `data.csv`, or a `.json` file).
fn mismatch_hint(path: &Path, format: LoadFormat) -> Option<String> {
    if format != LoadFormat::Tsv {
        return None;
    }
    let ext = extension(path);
    let suggest = match ext.as_str() {
        "csv" => "csv",
        e if e.starts_with("json") || e == "ndjson" => "jsonl",
        _ => return None,
    };
    Some(format!(
        "it was read as tsv, but the file name ends in .{ext}: try --format {suggest}"
    ))
}

/// Opens every input up front: a missing file or a directory fails before anything is
/// written. Each file's format is `format`, or else inferred from its extension (stdin is
/// tsv). Returns the inputs and their total size when every size is known.
pub(super) fn open_inputs(
    files: &[PathBuf],
    format: Option<LoadFormat>,
) -> Result<(Vec<Input>, Option<u64>), CliError> {
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
                format: format.unwrap_or(LoadFormat::Tsv),
                hint: None,
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
        let format = format.unwrap_or_else(|| format_of(path));
        inputs.push(Input {
            name,
            source: Source::File(file),
            format,
            hint: mismatch_hint(path, format),
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
    /// The input has nothing to read and the batch being filled is due (see
    /// [`LingerReader`]): what was read of the line so far stays in the buffer; call again
    /// with the same `start` to read on.
    Idle,
}

/// Appends the next line (without the newline) to `buf`, whose part from `start` on is what
/// was read of the line so far (empty unless an earlier call returned [`LineRead::Idle`]).
fn read_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    start: usize,
) -> io::Result<(LineRead, bool)> {
    let so_far = (buf.len() - start) as u64;
    match reader
        .by_ref()
        .take((MAX_LINE + 1).saturating_sub(so_far))
        .read_until(b'\n', buf)
    {
        Ok(_) => {}
        // `read_until` keeps (and has consumed) what it read before the error.
        Err(err) if err.kind() == io::ErrorKind::TimedOut => return Ok((LineRead::Idle, false)),
        Err(err) => return Err(err),
    }
    let n = (buf.len() - start) as u64;
    if n == 0 {
        return Ok((LineRead::Eof, false));
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok((LineRead::Line { bytes: n }, true));
    }
    if n > MAX_LINE {
        // Skip the rest of the over-long line.
        let mut skipped = n;
        loop {
            let available = match reader.fill_buf() {
                Ok(available) => available,
                // Nothing to send for a line being skipped; the next read waits.
                Err(err) if err.kind() == io::ErrorKind::TimedOut => continue,
                Err(err) => return Err(err),
            };
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

/// When the batch being filled is due to be sent (`--linger` after its first record), shared
/// by the parser and the reader of its input.
type Deadline = Rc<Cell<Option<Instant>>>;

/// An input that, once the batch being filled is due, answers a read with
/// [`io::ErrorKind::TimedOut`] (once per deadline) instead of waiting for more input: the
/// parser then sends the partial batch, so a slow producer's records are written within
/// `--linger`. For a pipe or a terminal it waits for input only until the deadline (`poll`);
/// a regular file never waits, so it is only checked between reads.
struct LingerReader<R> {
    inner: R,
    deadline: Deadline,
    pollable: bool,
}

impl<R: Read + AsFd> LingerReader<R> {
    fn new(inner: R, deadline: Deadline) -> Self {
        let pollable = rustix::fs::fstat(&inner)
            .map(|stat| {
                rustix::fs::FileType::from_raw_mode(stat.st_mode)
                    != rustix::fs::FileType::RegularFile
            })
            .unwrap_or(true);
        LingerReader {
            inner,
            deadline,
            pollable,
        }
    }

    /// Whether input arrives before `deadline`.
    fn ready_before(&self, deadline: Instant) -> io::Result<bool> {
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let timeout = Timespec {
                tv_sec: wait.as_secs() as i64,
                tv_nsec: i64::from(wait.subsec_nanos()),
            };
            let mut fds = [PollFd::new(&self.inner, PollFlags::IN)];
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(n) => return Ok(n > 0),
                Err(rustix::io::Errno::INTR) => continue,
                Err(err) => return Err(err.into()),
            }
        }
    }
}

impl<R: Read + AsFd> Read for LingerReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline.get() {
            let due =
                Instant::now() >= deadline || (self.pollable && !self.ready_before(deadline)?);
            if due {
                self.deadline.set(None);
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the batch is due"));
            }
        }
        self.inner.read(buf)
    }
}

/// The parser thread's state: reused buffers and the batch being filled.
pub(super) struct Parser {
    /// The format of the input being read.
    format: LoadFormat,
    /// Skip the first record of every input.
    header: bool,
    /// The CSV field delimiter.
    delimiter: u8,
    /// The position of the input being read.
    input: usize,
    /// The same, for the progress bar.
    pub(super) current_input: Arc<AtomicUsize>,
    /// Added to the reason of a bad record of this input (a format mismatch).
    hint: Option<String>,
    /// How long a partial batch may wait for more records.
    linger: Duration,
    /// When the batch being filled is due.
    deadline: Deadline,
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
    pub(super) outcome: Outcome,
}

impl Parser {
    pub(super) fn new(
        dialect: Dialect,
        policy: Policy,
        tx: Sender<Chunk>,
        recycle: Receiver<WriteBatch>,
        batch_bytes: usize,
    ) -> Parser {
        Parser {
            format: LoadFormat::Tsv,
            header: dialect.header,
            delimiter: dialect.delimiter,
            linger: dialect.linger,
            deadline: Deadline::default(),
            hint: None,
            input: 0,
            current_input: Arc::default(),
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

    pub(super) fn run(&mut self, inputs: Vec<Input>) {
        for (index, input) in inputs.into_iter().enumerate() {
            self.input = index;
            self.current_input.store(index, Ordering::Relaxed);
            self.format = input.format;
            self.hint = input.hint;
            let result = match input.source {
                Source::Stdin => {
                    let stdin = LingerReader::new(io::stdin().lock(), Rc::clone(&self.deadline));
                    let reader = BufReader::with_capacity(READ_BUFFER, stdin);
                    self.parse(reader, &input.name)
                }
                Source::File(file) => {
                    let file = LingerReader::new(file, Rc::clone(&self.deadline));
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
        let format = self.format;
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
            let (read, mut terminated) = loop {
                match read_line(&mut reader, &mut self.line, 0).map_err(read_err)? {
                    (LineRead::Idle, _) => self.send()?,
                    read => break read,
                }
            };
            let mut consumed = match read {
                LineRead::Eof | LineRead::Idle => return Ok(()),
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
            if first_line == 1 && self.line.starts_with(BOM) {
                // Excel's "CSV UTF-8" and some editors start a file with a byte-order mark.
                self.line.drain(..BOM.len());
            }
            if format == LoadFormat::Csv {
                // A quoted field may span lines: read on while the quotes are unbalanced,
                // scanning only what each line adds.
                let mut quotes = QuoteState::START;
                quotes.scan(&self.line, self.delimiter);
                while terminated && quotes.open() {
                    self.line.push(b'\n');
                    let added = self.line.len() - 1;
                    let (read, more) = loop {
                        match read_line(&mut reader, &mut self.line, added + 1).map_err(read_err)? {
                            (LineRead::Idle, _) => self.send()?,
                            read => break read,
                        }
                    };
                    match read {
                        LineRead::Eof | LineRead::Idle => break,
                        LineRead::Line { bytes } | LineRead::TooLong { bytes } => {
                            consumed += bytes;
                            line_no += 1;
                        }
                    }
                    terminated = more;
                    if self.line.len() as u64 > MAX_LINE {
                        break;
                    }
                    quotes.scan(&self.line[added..], self.delimiter);
                }
            }
            self.batch_input += consumed;
            if first_line == 1 && self.header {
                continue;
            }
            let result = match format {
                LoadFormat::Tsv => parse_tsv(&self.line, &mut self.key, &mut self.value),
                LoadFormat::Csv => {
                    parse_csv(&self.line, self.delimiter, &mut self.key, &mut self.value)
                }
                LoadFormat::Jsonl => parse_jsonl(&self.line, &mut self.key, &mut self.value),
            }
            .inspect(|op| {
                if first_line == 1 && format == LoadFormat::Csv && looks_like_a_header(op) {
                    self.outcome.warnings.push(format!(
                        "{name}:1: the first record is `key,value`, loaded as data; if it is a \
                         header row, use --header to skip it"
                    ));
                }
            })
            .and_then(|op| check(op, &mut self.batch));
            match result {
                Ok(()) => {
                    self.batch_records += 1;
                    if self.batch_records == 1 {
                        self.deadline.set(Some(Instant::now() + self.linger));
                    }
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
    fn bad(&mut self, name: &str, line: u64, mut reason: String) -> Result<(), Stop> {
        if let Some(hint) = &self.hint {
            reason.push_str(&format!(" ({hint})"));
        }
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
        self.deadline.set(None);
        let fresh = self.recycle.try_recv().unwrap_or_default();
        let chunk = Chunk {
            batch: std::mem::replace(&mut self.batch, fresh),
            records: std::mem::take(&mut self.batch_records),
            bytes: std::mem::take(&mut self.batch_input),
        };
        self.tx.send(chunk).map_err(|_| Stop::Disconnected)
    }
}

/// Whether a first CSV record reads `key,value` (any case): most likely a header row.
fn looks_like_a_header(op: &Op<'_>) -> bool {
    matches!(op, Op::Put(key, value)
        if key.eq_ignore_ascii_case(b"key") && value.eq_ignore_ascii_case(b"value"))
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
        LoadFormat::Csv => parse_csv(line, b',', &mut key, &mut value),
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
    let mut parser = Parser::new(Dialect::default(), policy, tx, recycle, BATCH_BYTES);
    parser.format = format;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_line_handles_a_missing_last_newline() {
        let mut reader = &b"a\tb\nc\td"[..];
        let mut buf = Vec::new();
        let (read, terminated) = read_line(&mut reader, &mut buf, 0).unwrap();
        assert!(matches!(read, LineRead::Line { bytes: 4 }) && terminated);
        assert_eq!(buf, b"a\tb");
        buf.clear();
        let (read, terminated) = read_line(&mut reader, &mut buf, 0).unwrap();
        assert!(matches!(read, LineRead::Line { bytes: 3 }) && !terminated);
        assert_eq!(buf, b"c\td");
        buf.clear();
        assert!(matches!(
            read_line(&mut reader, &mut buf, 0).unwrap().0,
            LineRead::Eof
        ));
    }
}
