//! The event history, `WORKDIR/EVENTS`: one JSON line per flush, compaction, ingest, write
//! stall, torn-tail truncation and background error (RocksDB's LOG event lines, as data).
//!
//! ```text
//! WORKDIR/EVENTS     newest events, one JSON object per line, appended
//! WORKDIR/EVENTS.1   the previous EVENTS, once EVENTS reached its cap (replaced at each rotation)
//!
//! {"time":"2026-12-01T20:51:53.123456Z","unix":1796158313.123456,"kind":"flush",
//!  "duration_ms":12.5,"bytes_in":0,"bytes_out":65536,"entries":1200,"tables_in":[],
//!  "tables_out":["000012.sst"],"level_in":null,"level_out":0,"count":1,
//!  "detail":"wal 000011.wal; wait 0.1 ms, build 12.1 ms, release 0.3 ms","error":null,"pid":4242}
//! ```
//!
//! Every key is present in every line. The history is a report, not data:
//! - it never slows the write path: [`EventLog::record`] only hands the event to a bounded
//!   in-memory queue (an event that does not fit is dropped and counted), and the
//!   `nokv-events` thread writes the queue, a batch at a time (one `write(2)` per batch, about
//!   every 100 ms while events arrive), coalescing runs of write stalls into one line;
//! - it is never fsynced on its own, so a power loss may lose its tail; a torn last line
//!   (a crash mid-write) is skipped by the reader;
//! - a failure to write it is ignored (the engine's own errors are reported elsewhere);
//! - it is size-capped: before a batch would take `EVENTS` past the cap, `EVENTS` is renamed
//!   to `EVENTS.1` (replacing the one before) and a new `EVENTS` is started, so the history
//!   takes at most about twice the cap.
//!
//! With inline flushing (`Options::background_flush == false`, for deterministic tests) no
//! thread is started: the events wait in memory and are written at close.
//!
//! Reading ([`read_all`], [`Follower`]) never writes and works while a process appends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use serde::{Deserialize, Serialize};

use crate::compaction::CompactionTask;
use crate::filenames::{self, EVENTS, EVENTS_PREVIOUS};
use crate::types::{FileNumber, TableMeta, TornTail};
use crate::vfs::{self, Vfs, WritableFile};

/// Default cap of `EVENTS` before it rotates to `EVENTS.1`.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 20;
/// Events that may wait in memory for the writer; beyond, new ones are dropped and counted.
const QUEUE_CAPACITY: usize = 16_384;
/// How long the writer gathers events after the first one before writing them.
const LINGER: Duration = Duration::from_millis(100);

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A memtable flushed to an L0 table (or a failed flush, with `error`).
    #[default]
    Flush,
    /// Tables merged into the next level (or a failed compaction, with `error`).
    Compaction,
    /// A sorted ingest installed its tables.
    Ingest,
    /// Writers waited: for room among the immutable memtables, or for L0 to shrink.
    Stall,
    /// Recovery cut a torn tail off the WAL.
    TornTail,
    /// The engine stopped taking writes after a failure (a "background error").
    Error,
    /// A kind this version does not know (written by a newer nokv).
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// Every kind a user can ask for, as written in `EVENTS`.
    pub const ALL: [EventKind; 6] = [
        EventKind::Flush,
        EventKind::Compaction,
        EventKind::Ingest,
        EventKind::Stall,
        EventKind::TornTail,
        EventKind::Error,
    ];

    /// The name in `EVENTS` (`torn_tail`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Flush => "flush",
            EventKind::Compaction => "compaction",
            EventKind::Ingest => "ingest",
            EventKind::Stall => "stall",
            EventKind::TornTail => "torn_tail",
            EventKind::Error => "error",
            EventKind::Unknown => "unknown",
        }
    }
}

/// One line of `EVENTS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// When it ended, RFC 3339 in UTC with microseconds (`2026-12-01T20:51:53.123456Z`).
    pub time: String,
    /// The same instant in seconds since the Unix epoch (microsecond precision).
    pub unix: f64,
    /// What happened.
    pub kind: EventKind,
    /// How long it took (stalls: their total), in milliseconds.
    pub duration_ms: f64,
    /// Bytes read (compaction inputs).
    pub bytes_in: u64,
    /// Bytes written (tables built).
    pub bytes_out: u64,
    /// Entries written (flush, ingest).
    pub entries: u64,
    /// Tables consumed (compaction inputs).
    pub tables_in: Vec<String>,
    /// Tables produced.
    pub tables_out: Vec<String>,
    /// The level read from (compaction).
    pub level_in: Option<u32>,
    /// The level written to.
    pub level_out: Option<u32>,
    /// How many occurrences this line stands for (runs of stalls are coalesced; else 1).
    pub count: u64,
    /// Particulars, for people: the WAL segment, the phase times, the stall's cause.
    pub detail: Option<String>,
    /// The failure, when it failed.
    pub error: Option<String>,
    /// The process that wrote it.
    pub pid: u32,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            time: String::new(),
            unix: 0.0,
            kind: EventKind::default(),
            duration_ms: 0.0,
            bytes_in: 0,
            bytes_out: 0,
            entries: 0,
            tables_in: Vec::new(),
            tables_out: Vec::new(),
            level_in: None,
            level_out: None,
            count: 1,
            detail: None,
            error: None,
            pid: 0,
        }
    }
}

impl Event {
    /// An event of `kind` that ends now and took `duration`.
    pub fn new(kind: EventKind, duration: Duration) -> Event {
        let now = SystemTime::now();
        let unix = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as f64 / 1e6)
            .unwrap_or(0.0);
        Event {
            time: rfc3339(now),
            unix,
            kind,
            duration_ms: (duration.as_secs_f64() * 1e6).round() / 1000.0,
            pid: std::process::id(),
            ..Event::default()
        }
    }

    /// Sets `detail`.
    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = Some(detail.into());
        self
    }

    /// Sets `error`.
    pub fn error(mut self, error: impl Into<String>) -> Event {
        self.error = Some(error.into());
        self
    }

    /// Folds `other` (a later stall with the same cause) into this one.
    fn absorb(&mut self, other: &Event) {
        self.count += other.count;
        self.duration_ms = ((self.duration_ms + other.duration_ms) * 1000.0).round() / 1000.0;
        self.time.clone_from(&other.time);
        self.unix = other.unix;
    }
}

/// Why writers stalled (the `detail` of a stall event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallCause {
    /// `max_immutables` memtables were waiting for flush.
    MaxImmutables,
    /// L0 reached `l0_slowdown_trigger`: each write is delayed by 1 ms.
    L0Slowdown,
    /// L0 reached `l0_stop_trigger`: writers wait for compaction.
    L0Stop,
}

impl StallCause {
    fn describe(self) -> &'static str {
        match self {
            StallCause::MaxImmutables => "max_immutables: waited for a flush",
            StallCause::L0Slowdown => "l0_slowdown: L0 is deep, writes delayed 1 ms",
            StallCause::L0Stop => "l0_stop: waited for compaction to shrink L0",
        }
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// The events the engine records, built where it measures them.
impl Event {
    /// A memtable (logged in WAL segment `wal`) flushed as `table` (`None`: it was empty).
    pub fn flushed(
        table: Option<&TableMeta>,
        wal: FileNumber,
        wait: Duration,
        build: Duration,
        release: Duration,
    ) -> Event {
        let mut event = Event::new(EventKind::Flush, build + release).detail(format!(
            "wal {}; wait {}, build {}, release {}",
            filenames::wal_name(wal),
            ms(wait),
            ms(build),
            ms(release)
        ));
        event.level_out = Some(0);
        if let Some(table) = table {
            event.bytes_out = table.size;
            event.entries = table.entries;
            event.tables_out = vec![filenames::table_name(table.number)];
        }
        event
    }

    /// A compaction of `task` that wrote `outputs`.
    pub fn compacted(task: &CompactionTask, outputs: &[TableMeta], elapsed: Duration) -> Event {
        Event {
            bytes_in: task.input_bytes(),
            bytes_out: outputs.iter().map(|t| t.size).sum(),
            entries: outputs.iter().map(|t| t.entries).sum(),
            tables_in: task
                .all_inputs()
                .map(|t| filenames::table_name(t.number))
                .collect(),
            tables_out: outputs
                .iter()
                .map(|t| filenames::table_name(t.number))
                .collect(),
            level_in: Some(task.level),
            level_out: Some(task.output_level),
            ..Event::new(EventKind::Compaction, elapsed)
        }
    }

    /// A sorted ingest of `records` records that installed `tables` at `level`.
    pub fn ingested(records: u64, tables: &[TableMeta], level: u32, elapsed: Duration) -> Event {
        Event {
            bytes_out: tables.iter().map(|t| t.size).sum(),
            entries: records,
            tables_out: tables
                .iter()
                .map(|t| filenames::table_name(t.number))
                .collect(),
            level_out: Some(level),
            ..Event::new(EventKind::Ingest, elapsed)
        }
    }

    /// A writer waited `duration`.
    pub fn stalled(cause: StallCause, duration: Duration) -> Event {
        Event::new(EventKind::Stall, duration).detail(cause.describe())
    }

    /// Recovery dropped a torn tail (an unsynced write a crash cut short): the WAL segment
    /// truncated there, or the manifest's last edit ignored.
    pub fn torn_tail(tail: &TornTail) -> Event {
        Event {
            count: 1,
            bytes_in: tail.bytes_dropped,
            ..Event::new(EventKind::TornTail, Duration::ZERO)
        }
        .detail(tail.to_string())
    }

    /// The engine stopped taking writes after `cause`.
    pub fn background_error(cause: &str) -> Event {
        Event::new(EventKind::Error, Duration::ZERO).error(cause)
    }
}

/// Now, in seconds since the Unix epoch.
pub fn unix_now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `2026-12-01T20:51:53.123456Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// The civil date (year, month, day) of a day number counted from 1970-01-01 (Howard
/// Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The day number (from 1970-01-01) of a civil date: the inverse of [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

enum Message {
    Event(Event),
    Close,
}

/// Where events go: a bounded queue in front of the `nokv-events` writer thread (module
/// docs). Cheap to call from any thread; never blocks.
pub struct EventLog {
    sink: Sink,
    dropped: AtomicU64,
}

enum Sink {
    /// Events are not kept (read-only opens, or a cap of 0).
    Off,
    /// A writer thread drains the queue.
    Thread {
        tx: Sender<Message>,
        handle: Mutex<Option<JoinHandle<()>>>,
    },
    /// Events wait here until [`EventLog::close`] writes them.
    Inline {
        queue: Mutex<Vec<Event>>,
        writer: Mutex<Writer>,
    },
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl EventLog {
    /// A log that keeps nothing.
    pub fn off() -> EventLog {
        EventLog {
            sink: Sink::Off,
            dropped: AtomicU64::new(0),
        }
    }

    /// A log appending to `dir/EVENTS`, capped at `max_bytes` (0: keep nothing). With
    /// `background`, a `nokv-events` thread writes it; without, [`EventLog::close`] does.
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path, max_bytes: u64, background: bool) -> EventLog {
        if max_bytes == 0 {
            return EventLog::off();
        }
        let writer = Writer {
            vfs,
            dir: dir.to_path_buf(),
            max_bytes,
            file: None,
            size: 0,
        };
        let sink = if background {
            let (tx, rx) = crossbeam_channel::bounded(QUEUE_CAPACITY);
            let spawned = std::thread::Builder::new()
                .name("nokv-events".into())
                .spawn(move || run_writer(writer, &rx));
            match spawned {
                Ok(handle) => Sink::Thread {
                    tx,
                    handle: Mutex::new(Some(handle)),
                },
                // No thread, no history: the engine does not fail over a report.
                Err(_) => Sink::Off,
            }
        } else {
            Sink::Inline {
                queue: Mutex::new(Vec::new()),
                writer: Mutex::new(writer),
            }
        };
        EventLog {
            sink,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `event` for writing. Never blocks and never fails: when the queue is full the
    /// event is dropped (and counted in [`EventLog::dropped`]).
    pub fn record(&self, event: Event) {
        match &self.sink {
            Sink::Off => {}
            Sink::Thread { tx, .. } => {
                if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                    tx.try_send(Message::Event(event))
                {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Sink::Inline { queue, .. } => {
                let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
                if queue.len() < QUEUE_CAPACITY {
                    queue.push(event);
                } else {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes every queued event and stops the writer. Later events are dropped.
    pub fn close(&self) {
        match &self.sink {
            Sink::Off => {}
            Sink::Thread { tx, handle } => {
                // A blocking send: the writer is draining, so there is room soon.
                let _ = tx.send(Message::Close);
                if let Some(handle) = handle.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    let _ = handle.join();
                }
            }
            Sink::Inline { queue, writer } => {
                let events = std::mem::take(&mut *queue.lock().unwrap_or_else(|e| e.into_inner()));
                writer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .write(coalesce(events));
            }
        }
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: gathers what arrives within [`LINGER`] of the first event, writes it,
/// and repeats until closed.
fn run_writer(mut writer: Writer, rx: &Receiver<Message>) {
    loop {
        let first = match rx.recv() {
            Ok(Message::Event(event)) => event,
            Ok(Message::Close) | Err(_) => return,
        };
        let mut batch = vec![first];
        let deadline = Instant::now() + LINGER;
        let mut closing = false;
        loop {
            match rx.recv_deadline(deadline) {
                Ok(Message::Event(event)) => batch.push(event),
                Ok(Message::Close) => {
                    closing = true;
                    break;
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closing = true;
                    break;
                }
            }
        }
        closing |= drain_queued(rx, &mut batch);
        writer.write(coalesce(batch));
        if closing {
            return;
        }
    }
}

/// Moves every message already queued into `batch`; true when one of them was the `Close`.
/// IMPORTANT: a `Close` met here must be reported, not swallowed: `close` sends it once and
/// then joins the writer, which would otherwise wait for another message forever.
/// Whatever is queued behind the `Close` is written too.
fn drain_queued(rx: &Receiver<Message>, batch: &mut Vec<Event>) -> bool {
    let mut closing = false;
    loop {
        match rx.try_recv() {
            Ok(Message::Event(event)) => batch.push(event),
            Ok(Message::Close) => closing = true,
            Err(_) => return closing,
        }
    }
}

/// Puts a batch in time order (threads stamp an event before queueing it, so two threads
/// can queue theirs out of order), then folds runs of stalls with the same cause into one
/// event each.
fn coalesce(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by(|a, b| a.unix.total_cmp(&b.unix));
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    for event in events {
        if let Some(last) = out.last_mut() {
            if event.kind == EventKind::Stall
                && last.kind == EventKind::Stall
                && last.detail == event.detail
            {
                last.absorb(&event);
                continue;
            }
        }
        out.push(event);
    }
    out
}

/// Appends lines to `EVENTS`, rotating at the cap. Errors are ignored (module docs).
struct Writer {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    max_bytes: u64,
    file: Option<Box<dyn WritableFile>>,
    size: u64,
}

impl Writer {
    fn write(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut bytes = Vec::with_capacity(events.len() * 320);
        for event in &events {
            if serde_json::to_writer(&mut bytes, event).is_ok() {
                bytes.push(b'\n');
            }
        }
        let path = self.dir.join(EVENTS);
        if self.file.is_none() {
            // Continue an existing history, or start one.
            match self.vfs.file_size(&path) {
                Ok(size) => {
                    self.file = self.vfs.open_append(&path).ok();
                    self.size = size;
                }
                Err(_) => {
                    self.file = self.vfs.create_new(&path).ok();
                    self.size = 0;
                }
            }
        }
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_bytes {
            self.file = None;
            // IMPORTANT: the rename replaces EVENTS.1 in one step, so a reader sees either
            // the old pair or the new one; the new EVENTS exists only after it.
            if self
                .vfs
                .rename(&path, &self.dir.join(EVENTS_PREVIOUS))
                .is_ok()
            {
                self.file = self.vfs.create_new(&path).ok();
                self.size = 0;
            } else {
                self.file = self.vfs.open_append(&path).ok();
            }
        }
        if let Some(file) = &self.file {
            if file.append(&bytes).is_ok() {
                self.size += bytes.len() as u64;
            } else {
                // Try afresh next time (the file may have been removed or the disk filled).
                self.file = None;
            }
        }
    }
}

/// Parses the complete lines of `bytes` (a trailing line without its newline is being
/// written and is left out); returns the events and how many lines did not parse.
fn parse_lines(bytes: &[u8]) -> (Vec<Event>, u64) {
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    let mut events = Vec::new();
    let mut bad = 0;
    for line in complete.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Event>(line) {
            Ok(event) => events.push(event),
            Err(_) => bad += 1,
        }
    }
    (events, bad)
}

/// Every event in `dir` (`EVENTS.1`, then `EVENTS`), oldest first, and the number of lines
/// that did not parse (a torn line after a crash, a damaged file). Missing files are no
/// events.
pub fn read_all(vfs: &dyn Vfs, dir: &Path) -> (Vec<Event>, u64) {
    let mut events = Vec::new();
    let mut bad = 0;
    for name in [EVENTS_PREVIOUS, EVENTS] {
        if let Ok(bytes) = vfs::read_all(vfs, &dir.join(name)) {
            let (mut more, more_bad) = parse_lines(&bytes);
            events.append(&mut more);
            bad += more_bad;
        }
    }
    (events, bad)
}

/// Reads the events appended to `dir/EVENTS` since the last call, across rotations (for
/// `nokv events --follow`). Read-only.
#[derive(Debug)]
pub struct Follower {
    dir: PathBuf,
    /// Bytes of `EVENTS` consumed (whole lines only).
    offset: u64,
    /// The first line of the `EVENTS` being followed: after a rotation it begins `EVENTS.1`.
    first_line: Vec<u8>,
}

impl Follower {
    /// A follower that starts at the current end of `EVENTS` (what exists now is for
    /// [`read_all`]).
    pub fn at_end(vfs: &dyn Vfs, dir: &Path) -> Follower {
        let bytes = vfs::read_all(vfs, &dir.join(EVENTS)).unwrap_or_default();
        let offset = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |end| end + 1);
        Follower {
            dir: dir.to_path_buf(),
            offset: offset as u64,
            first_line: first_line(&bytes),
        }
    }

    /// The events appended since the last call, oldest first. Reads only the bytes after
    /// the offset (and the first line, to notice a rotation), not the whole file.
    pub fn poll(&mut self, vfs: &dyn Vfs) -> Vec<Event> {
        let Ok(file) = vfs.open_read(&self.dir.join(EVENTS)) else {
            return Vec::new();
        };
        let size = file.size();
        let mut events = Vec::new();
        let rotated = self.offset > 0 && {
            let mut head = vec![0; self.first_line.len()];
            size < self.offset
                || file.read_exact_at(0, &mut head).is_err()
                || head != self.first_line
        };
        if rotated {
            // The file we were following is EVENTS.1 now: take what it got after our offset.
            let old = vfs::read_all(vfs, &self.dir.join(EVENTS_PREVIOUS)).unwrap_or_default();
            if first_line(&old) == self.first_line {
                let start = (self.offset as usize).min(old.len());
                events.extend(parse_lines(&old[start..]).0);
            }
            self.offset = 0;
        }
        let mut fresh = vec![0; size.saturating_sub(self.offset) as usize];
        if file.read_exact_at(self.offset, &mut fresh).is_err() {
            // Shrunk under the read (a rotation right now): the next poll sees it.
            return events;
        }
        if self.offset == 0 {
            self.first_line = first_line(&fresh);
        }
        if let Some(end) = fresh.iter().rposition(|&b| b == b'\n') {
            events.extend(parse_lines(&fresh[..=end]).0);
            self.offset += end as u64 + 1;
        }
        events
    }
}

fn first_line(bytes: &[u8]) -> Vec<u8> {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(end) => bytes[..=end].to_vec(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/stress.rs (`close` hung joining `nokv-events`): a `Close` that arrived
    /// after the batch's linger ran out was taken by the final drain and dropped, and the
    /// writer went back to waiting for a message that never came.
    #[test]
    fn a_close_queued_behind_a_batch_is_not_swallowed() {
        let (tx, rx) = crossbeam_channel::bounded(8);
        let e = |n: u64| Event {
            count: n,
            ..Event::new(EventKind::Flush, Duration::ZERO)
        };
        tx.send(Message::Event(e(1))).unwrap();
        tx.send(Message::Close).unwrap();
        tx.send(Message::Event(e(2))).unwrap();
        let mut batch = Vec::new();
        assert!(drain_queued(&rx, &mut batch), "the Close was dropped");
        assert_eq!(batch.iter().map(|e| e.count).collect::<Vec<_>>(), [1, 2]);
        let mut none = Vec::new();
        assert!(!drain_queued(&rx, &mut none));
        assert!(none.is_empty());
    }
    use crate::vfs::MemVfs;

    fn dir() -> PathBuf {
        PathBuf::from("/db")
    }

    fn mem() -> Arc<dyn Vfs> {
        let vfs = MemVfs::new();
        vfs.create_dir_all(&dir()).unwrap();
        Arc::new(vfs)
    }

    fn flush_event(n: u64) -> Event {
        Event {
            entries: n,
            ..Event::new(EventKind::Flush, Duration::from_millis(n))
        }
    }

    #[test]
    fn events_are_written_as_json_lines_and_read_back() {
        let vfs = mem();
        let log = EventLog::open(Arc::clone(&vfs), &dir(), DEFAULT_MAX_BYTES, true);
        for n in 0..10 {
            log.record(flush_event(n));
        }
        log.record(Event::new(EventKind::Error, Duration::ZERO).error("fsync failed"));
        log.close();
        let (events, bad) = read_all(vfs.as_ref(), &dir());
        assert_eq!(bad, 0);
        assert_eq!(events.len(), 11);
        assert_eq!(
            events
                .iter()
                .map(|e| e.entries)
                .take(10)
                .collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(events[10].kind, EventKind::Error);
        assert_eq!(events[10].error.as_deref(), Some("fsync failed"));
        // Every key in every line.
        let text =
            String::from_utf8(vfs::read_all(vfs.as_ref(), &dir().join(EVENTS)).unwrap()).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for key in [
                "time",
                "unix",
                "kind",
                "duration_ms",
                "bytes_in",
                "bytes_out",
                "entries",
                "tables_in",
                "tables_out",
                "level_in",
                "level_out",
                "count",
                "detail",
                "error",
                "pid",
            ] {
                assert!(v.get(key).is_some(), "{key} missing in {line}");
            }
        }
    }

    #[test]
    fn inline_logs_write_at_close_and_never_before() {
        let vfs = mem();
        let log = EventLog::open(Arc::clone(&vfs), &dir(), DEFAULT_MAX_BYTES, false);
        log.record(flush_event(1));
        assert!(!vfs.exists(&dir().join(EVENTS)).unwrap());
        drop(log);
        assert_eq!(read_all(vfs.as_ref(), &dir()).0.len(), 1);
    }

    #[test]
    fn a_reopened_log_appends_to_the_history() {
        let vfs = mem();
        for round in 0..3 {
            let log = EventLog::open(Arc::clone(&vfs), &dir(), DEFAULT_MAX_BYTES, round % 2 == 0);
            log.record(flush_event(round));
            log.close();
        }
        let events = read_all(vfs.as_ref(), &dir()).0;
        assert_eq!(
            events.iter().map(|e| e.entries).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn runs_of_stalls_with_one_cause_are_coalesced() {
        let stall = |ms, cause: &str| {
            Event::new(EventKind::Stall, Duration::from_millis(ms)).detail(cause.to_string())
        };
        let out = coalesce(vec![
            stall(1, "l0_slowdown"),
            stall(2, "l0_slowdown"),
            stall(3, "l0_slowdown"),
            flush_event(1),
            stall(5, "l0_slowdown"),
            stall(7, "max_immutables"),
        ]);
        let summary: Vec<(EventKind, u64, f64)> = out
            .iter()
            .map(|e| (e.kind, e.count, e.duration_ms))
            .collect();
        assert_eq!(
            summary,
            [
                (EventKind::Stall, 3, 6.0),
                (EventKind::Flush, 1, 1.0),
                (EventKind::Stall, 1, 5.0),
                (EventKind::Stall, 1, 7.0),
            ]
        );
    }

    #[test]
    fn the_history_rotates_at_its_cap() {
        let vfs = mem();
        let cap = 4096;
        for n in 0..100 {
            // One event per open: each is its own batch, so rotation is exact.
            let log = EventLog::open(Arc::clone(&vfs), &dir(), cap, false);
            log.record(flush_event(n));
            log.close();
        }
        let size = vfs.file_size(&dir().join(EVENTS)).unwrap();
        let previous = vfs.file_size(&dir().join(EVENTS_PREVIOUS)).unwrap();
        assert!(size <= cap && previous <= cap, "{size} {previous}");
        let events = read_all(vfs.as_ref(), &dir()).0;
        // The newest events survive, in order, ending with the last one.
        let entries: Vec<u64> = events.iter().map(|e| e.entries).collect();
        assert!(entries.len() >= 10, "{entries:?}");
        assert!(entries.windows(2).all(|w| w[0] + 1 == w[1]), "{entries:?}");
        assert_eq!(entries.last(), Some(&99));
    }

    #[test]
    fn a_torn_last_line_and_garbage_are_skipped() {
        let vfs = mem();
        let good = serde_json::to_string(&flush_event(3)).unwrap();
        let text = format!("{good}\nnot json\n{}", &good[..good.len() / 2]);
        let file = vfs.create_new(&dir().join(EVENTS)).unwrap();
        file.append(text.as_bytes()).unwrap();
        let (events, bad) = read_all(vfs.as_ref(), &dir());
        assert_eq!((events.len(), bad), (1, 1));
    }

    #[test]
    fn a_follower_sees_appends_across_a_rotation() {
        let vfs = mem();
        let cap = 2048;
        let write = |n: u64| {
            let log = EventLog::open(Arc::clone(&vfs), &dir(), cap, false);
            log.record(flush_event(n));
            log.close();
        };
        write(0);
        let mut follower = Follower::at_end(vfs.as_ref(), &dir());
        assert!(follower.poll(vfs.as_ref()).is_empty());
        let mut seen = Vec::new();
        for n in 1..40 {
            write(n);
            if n % 3 == 0 {
                seen.extend(follower.poll(vfs.as_ref()).iter().map(|e| e.entries));
            }
        }
        seen.extend(follower.poll(vfs.as_ref()).iter().map(|e| e.entries));
        assert!(
            vfs.exists(&dir().join(EVENTS_PREVIOUS)).unwrap(),
            "no rotation happened"
        );
        assert_eq!(seen, (1..40).collect::<Vec<_>>());
    }

    #[test]
    fn times_are_rfc3339_utc_with_microseconds() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123456Z");
        for days in [-1, 0, 59, 365 * 30 + 7, 20_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let vfs = mem();
        let log = EventLog::open(Arc::clone(&vfs), &dir(), DEFAULT_MAX_BYTES, false);
        for n in 0..(QUEUE_CAPACITY as u64 + 5) {
            log.record(flush_event(n));
        }
        assert_eq!(log.dropped(), 5);
    }
}
