//! The command line, as clap derive definitions. Every default and help text here is static
//! (nothing depends on the current directory, the terminal or the environment), so the man
//! pages and completion scripts generated from [`Cli::command`] are reproducible.
//!
//! [`Cli::command`]: clap::CommandFactory::command

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::sst::Compression;

/// Exit statuses, documented in `--help` and the man pages.
pub const EXIT_STATUS: &[(u8, &str)] = &[
    (
        0,
        "success (verify: no damage found; crash leftovers print as notes)",
    ),
    (
        1,
        "operational error: I/O error, workdir locked by another process (write commands), \
         corruption found on open, workdir missing, checkpoint destination not empty, \
         unsupported operation",
    ),
    (
        2,
        "usage error: unknown command or flag, bad flag value, bad hex argument",
    ),
    (
        3,
        "verify found damage (or, with --strict, crash leftovers); salvage lost records",
    ),
    (4, "get: the key is not present"),
    (
        5,
        "load stopped at bad input (strict mode, or more than --max-errors bad records), or \
         every record was bad; every record before it is loaded and durable",
    ),
    (
        130,
        "interrupted by Ctrl-C; load first makes what it wrote durable and says how many \
         records that is (a second Ctrl-C exits at once)",
    ),
];

/// The EXIT STATUS section of the top-level long help.
pub fn exit_status_help() -> String {
    let mut text = String::from("Exit status:\n");
    for (code, meaning) in EXIT_STATUS {
        text.push_str(&format!("  {code}  {meaning}\n"));
    }
    text
}

const TOP_EXAMPLES: &str = "\
Examples:
  nokv --workdir /var/lib/kv put user:1 alice
  nokv --workdir /var/lib/kv get user:1
  nokv --workdir /var/lib/kv load data.tsv
  nokv --workdir /var/lib/kv scan --prefix user: --limit 10
  nokv --workdir /var/lib/kv export --format jsonl > dump.jsonl
  nokv --workdir /var/lib/kv stats --json | jq .flush.pending
  nokv --workdir /var/lib/kv verify || echo damaged
  NOKV_WORKDIR=/var/lib/kv nokv manifest";

/// Top-level long help text after the options: examples, then exit statuses.
fn top_after_long_help() -> String {
    format!(
        "{TOP_EXAMPLES}\n\n{}\nKeys and values are arbitrary bytes. Text output (scan, export, \
         load) uses `key<TAB>value` lines with the escapes \\t \\n \\r \\\\ and \\xHH; JSON \
         output uses \"key\"/\"value\" strings when the bytes are valid UTF-8 and \
         \"key_hex\"/\"value_hex\" otherwise.",
        exit_status_help()
    )
}

/// nokv: an LSM-tree key-value engine and the command line to drive and inspect it.
#[derive(Debug, Parser)]
#[command(
    name = "nokv",
    version,
    about = "An LSM-tree key-value engine and the command line to drive and inspect it",
    long_about = "An LSM-tree key-value engine and the command line to drive and inspect it.\n\n\
        Every command works on one workdir (--workdir, or NOKV_WORKDIR). Write commands open \
        it read-write and hold its LOCK; stats, verify and manifest only read it and work \
        while another process holds it. stdout carries only the requested data; summaries, \
        warnings and progress go to stderr.",
    after_help = TOP_EXAMPLES,
    after_long_help = top_after_long_help(),
    max_term_width = 100,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The database directory
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "NOKV_WORKDIR",
        hide_env_values = true,
        default_value = "./nokv-data"
    )]
    pub workdir: PathBuf,

    /// How flushed tables are installed: strict (fsync + atomic rename, survives power loss)
    /// or fast (no fsync during the run, one pass over the tables and the workdir at the end)
    #[arg(long, global = true, value_enum, default_value_t = DurabilityArg::Strict)]
    pub durability: DurabilityArg,

    /// fsync the WAL before every write batch returns
    #[arg(long, global = true)]
    pub sync: bool,

    /// Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB;
    /// KB, MB, GB are decimal)
    #[arg(
        long,
        global = true,
        value_name = "SIZE",
        value_parser = parse_memtable_size,
        default_value = "64MiB"
    )]
    pub memtable_size: u64,

    /// Codec for the data and index blocks of the tables this command writes (flush,
    /// compaction, load); tables in other codecs stay readable and are rewritten in this one
    /// when compacted
    #[arg(
        long,
        global = true,
        value_name = "CODEC",
        value_parser = clap::builder::PossibleValuesParser::new(["lz4", "zstd", "none"])
            .try_map(|name| name.parse::<Compression>()),
        default_value = "lz4"
    )]
    pub compression: Compression,

    /// No progress bar and no summary (errors are still printed)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--durability`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// fsync the table, rename without replace, fsync the directory, then log the manifest
    Strict,
    /// write the table in place; the tables written and the workdir are fsynced once, when
    /// the command ends (a power loss before that may lose the run)
    Fast,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write one key
    #[command(after_help = "\
Examples:
  nokv put user:1 alice
  nokv put --hex 00ff 68656c6c6f        # key 0x00 0xff, value \"hello\"
  nokv put -- -key- -value-             # arguments that start with a dash
  nokv put photo:1 --value-file pic.jpg # binary-safe, no argument-length limit
  producer | nokv put blob --value-file -")]
    Put(PutArgs),

    /// Print the value of a key (exit 4 when absent)
    #[command(after_help = "\
Examples:
  nokv get user:1                       # value and a newline
  nokv get --raw blob > blob.bin        # exact bytes, no newline
  nokv get --key-hex 00ff --hex         # binary key, value printed as hex
  nokv get --json user:1                # {\"key\":\"user:1\",\"value\":\"alice\"}
  nokv get user:9; [ $? -eq 4 ] && echo absent
  nokv get user:1 user:2 user:3         # key<TAB>value lines, in this order")]
    Get(GetArgs),

    /// Delete keys (write tombstones)
    #[command(after_help = "\
Examples:
  nokv delete user:1 user:2
  nokv delete --hex 00ff")]
    Delete(DeleteArgs),

    /// Delete every key in [START, END)
    #[command(after_help = "\
Examples:
  nokv delete-range user: user;         # every key starting with \"user:\"
  nokv delete-range --hex 00 01")]
    DeleteRange(DeleteRangeArgs),

    /// Print keys and values in key order, as `key<TAB>value` lines or JSON lines
    #[command(after_help = "\
Examples:
  nokv scan                             # everything
  nokv scan --prefix user: --limit 10
  nokv scan --start a --end m --reverse
  nokv scan --json | jq -r .key
  nokv scan | head -1                   # a closed pipe is not an error
  nokv scan --prefix user: --count      # how many
  nokv scan --keys-only --start a --end b

Output lines are escaped exactly as `load` reads them: \\t \\n \\r \\\\ and \\xHH (for other
control bytes and invalid UTF-8).")]
    Scan(ScanArgs),

    /// Bulk-load records from files or stdin
    #[command(after_help = "\
Examples:
  nokv load data.tsv
  printf 'k1\\tv1\\nk2\\tv2\\n' | nokv load
  nokv load a.csv b.jsonl c.tsv          # format by extension
  nokv load --format csv export.txt
  nokv load --format jsonl dump.jsonl --json
  nokv load --skip-invalid --max-errors 100 messy.tsv
  tail -f app.tsv | nokv load -         # each record in the WAL within --linger (100ms)

Formats:
  tsv    key<TAB>value per line; escapes \\t \\n \\r \\\\ \\xHH (and \\b \\f \\v, as PostgreSQL's
         COPY writes them) in keys and values. A line ending in CR (CRLF line endings)
         is bad input: write a CR in data as \\r.
  csv    RFC 4180: two fields per record; quoted fields may hold the delimiter, quotes
         (doubled) and line breaks; CRLF or LF ends a record. --delimiter for ; | or tab;
         --header skips a header row (a first record `key,value` without --header loads as
         data, with a warning).
  jsonl  one object per line: {\"key\":..,\"value\":..}, or \"key_hex\"/\"value_hex\" with
         hex strings for bytes that are not UTF-8; \"op\":\"delete\" deletes the key. A line
         that is not an object, or a field given as null, is bad input.
Without --format, a file's format follows its extension (.csv; .jsonl or .ndjson; anything
else, and stdin, is tsv). A UTF-8 byte-order mark at the start of an input is read as nothing.

Bad input (a line without a tab, a bad escape, bad hex, an empty key, a key over 65535 bytes, a
value over 64 MiB, invalid JSON or UTF-8 in jsonl) stops the load with FILE:LINE: reason and
exit status 5; every record before it is loaded and durable. With --skip-invalid bad records
are skipped and counted; when records were bad and none loaded, the exit status is 5 too. A
last line without a newline is loaded if it parses. A workdir that holds no database is created
only once a record is ready to write, so a load that fails at its first record leaves nothing.

Ctrl-C stops the load: what was written is made durable, the count is printed, and the exit
status is 130.

When load exits 0, every record is durable. At the end it flushes the memtables to tables
(unless --no-flush), so later commands do not replay a large WAL.")]
    Load(LoadArgs),

    /// Flush the memtables and print the tables built
    #[command(after_help = "\
Examples:
  nokv flush
  nokv flush --json | jq '.tables | length'

Output: one line per table built: file, entries, bytes, smallest key, largest key (tab
separated, keys escaped as in scan).")]
    Flush(FlushArgs),

    /// Run a full manual compaction
    #[command(after_help = "\
Examples:
  nokv compact")]
    Compact(CompactArgs),

    /// Show engine statistics (read-only; works while another process holds the workdir)
    #[command(
        after_help = "\
Examples:
  nokv stats
  nokv stats --json | jq .flush.build.p99_ms
  nokv stats --format prometheus > /var/lib/node_exporter/nokv.prom
  nokv stats --watch                    # dashboard, refreshed every 2 seconds until Ctrl-C

Every metric is listed with --help (and in the man page).",
        after_long_help = super::prometheus::metrics_help()
    )]
    Stats(StatsArgs),

    /// Check the manifest, tables and WAL for damage (exit 3 when damage is found)
    #[command(after_help = "\
Every problem has a severity. A leftover is what a crash normally leaves and the next open
removes (a temporary of an interrupted install, a WAL segment below the checkpoint, a table no
edit published or one a later edit removed, a torn tail of an unsynced write): it prints as a
note. Anything else is damage: the next open refuses, or data is unreadable.

Examples:
  nokv verify
  nokv verify --json | jq '.problems[] | select(.severity == \"damage\") | .file'
  nokv verify --strict                  # leftovers fail too (exit 3)
  nokv verify --allow-live              # check while another process holds the workdir

Exit status: 0 no damage (leftovers are notes), 3 damage found (or leftovers with --strict),
1 could not run (missing workdir, or locked without --allow-live).")]
    Verify(VerifyArgs),

    /// Print the current version: checkpoint, counters, levels and tables
    #[command(after_help = "\
Examples:
  nokv manifest
  nokv manifest --json | jq '.levels[0].tables[].number'")]
    Manifest(ManifestArgs),

    /// Write every live key in a format `load` reads back losslessly
    #[command(after_help = "\
Examples:
  nokv export > dump.tsv
  nokv export --format jsonl > dump.jsonl
  nokv export --format csv --prefix user: > users.csv
  nokv --workdir a export | nokv --workdir b load")]
    Export(ExportArgs),

    /// Copy the workdir to DEST, consistently, while another process may be writing
    #[command(after_help = "\
Examples:
  nokv checkpoint /backup/kv-2026-12-01
  nokv checkpoint /backup/kv --json | jq .tables_linked
  producer | nokv load - &  nokv checkpoint snap    # beside a live writer
  nokv --workdir snap scan                          # the copy is a workdir of its own

DEST must not exist, or be an empty directory. Tables are hard-linked when DEST is on the same
filesystem (they are never modified, so the two workdirs stay independent) and copied
otherwise; the WAL up to its last complete record is copied and a fresh manifest written.
Everything in DEST is fsynced before exit 0; CURRENT is written last, so a DEST without CURRENT
is an interrupted checkpoint: remove it and run again.")]
    Checkpoint(CheckpointArgs),
    /// Copy every readable record of a damaged workdir into a fresh one, and report what was lost
    #[command(after_help = "\
The workdir is only read, never changed. DEST must not exist or be empty; it becomes an
ordinary workdir holding, for every key, the newest version that could be read. The report
(stdout) names every table block that could not be read (table, offset, key range, entry count
when known) and every WAL range dropped. Keys copied from an older version inside the key
range of a lost block are listed as suspect: the lost block may have held a newer version or
a delete of them.

Examples:
  nokv --workdir /var/lib/kv salvage /var/lib/kv-salvaged
  nokv salvage rescued --json | jq '.lost[] | {table, offset, entries}'
  nokv salvage rescued && echo 'nothing lost'

Exit status: 0 nothing was lost, 3 something was lost (see the report), 1 could not run
(missing workdir, locked by another process, DEST not empty).")]
    Salvage(SalvageArgs),
    /// Show the event history: flushes, compactions, ingests, stalls, torn tails, errors
    #[command(after_help = "\
Examples:
  nokv events
  nokv events --since 1h --kind compaction
  nokv events --json | jq 'select(.kind == \"flush\") | .duration_ms'
  nokv events --follow                  # print events as they happen, until Ctrl-C

Read-only: it never takes LOCK and works while another process writes the workdir. The
engine appends one JSON line per event to WORKDIR/EVENTS (rotated to EVENTS.1 at 4 MiB),
written by a background thread and never fsynced: a report, not data. Every line has time
(RFC 3339, UTC), unix, kind (flush, compaction, ingest, stall, torn_tail, error),
duration_ms, bytes_in, bytes_out, entries, tables_in, tables_out, level_in, level_out,
count (stalls in a run are coalesced into one line), detail, error and pid.

--since takes an RFC 3339 time (2026-12-01T20:00:00Z; the date alone; a space for the T), a
Unix time in seconds, or an age: 30s, 10m, 2h, 7d.")]
    Events(EventsArgs),
}

/// `events`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print JSON lines (one event per line) instead of a table
    #[arg(long)]
    pub json: bool,
    /// Only events at or after TIME (RFC 3339, Unix seconds, or an age such as 10m)
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    pub since: Option<f64>,
    /// Only events of these kinds (repeat or separate with commas)
    #[arg(long, value_name = "KIND", value_delimiter = ',', value_parser = parse_event_kind)]
    pub kind: Vec<crate::events::EventKind>,
    /// Keep printing new events as they are appended, until interrupted
    #[arg(long)]
    pub follow: bool,
}

fn parse_event_kind(text: &str) -> Result<crate::events::EventKind, String> {
    let wanted = text.trim().replace('-', "_");
    crate::events::EventKind::ALL
        .into_iter()
        .find(|k| k.as_str() == wanted)
        .ok_or_else(|| {
            let names: Vec<&str> = crate::events::EventKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect();
            format!("unknown event kind `{text}` (kinds: {})", names.join(", "))
        })
}

/// `--since`: an RFC 3339 time, Unix seconds, or an age (`30s`, `10m`, `2h`, `7d`) before
/// now; the instant in Unix seconds.
fn parse_since(text: &str) -> Result<f64, String> {
    parse_since_at(text, crate::events::unix_now_f64())
}

fn parse_since_at(text: &str, now: f64) -> Result<f64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not a time: give an RFC 3339 time (2026-12-01T20:00:00Z), Unix \
             seconds, or an age such as 30s, 10m, 2h, 7d"
        )
    };
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        if let Ok(n) = t[..t.len() - 1].parse::<f64>() {
            let scale = match unit {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                _ => 86_400.0,
            };
            if n.is_finite() && n >= 0.0 {
                return Ok(now - n * scale);
            }
            return Err(bad());
        }
    }
    if let Ok(secs) = t.parse::<f64>() {
        return if secs.is_finite() {
            Ok(secs)
        } else {
            Err(bad())
        };
    }
    parse_rfc3339(t).ok_or_else(bad)
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|+HH:MM|-HH:MM]` (UTC when no offset).
fn parse_rfc3339(t: &str) -> Option<f64> {
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, rest) = t.split_at(t.len().min(10));
    let mut parts = date.split('-');
    let year = i64::from(num(parts.next()?)?);
    let month = num(parts.next()?)?;
    let day = num(parts.next()?)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = crate::events::days_from_civil(year, month, day) as f64 * 86_400.0;
    let rest = rest.strip_prefix(['T', 't', ' ']).unwrap_or(rest);
    if rest.is_empty() {
        return Some(secs);
    }
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut fields = clock.split(':');
    let hour = num(fields.next()?)?;
    let minute = num(fields.next()?)?;
    let second: f64 = match fields.next() {
        Some(s) if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => s.parse().ok()?,
        Some(_) => return None,
        None => 0.0,
    };
    if fields.next().is_some() || hour > 23 || minute > 59 || second >= 61.0 {
        return None;
    }
    secs += f64::from(hour * 3600 + minute * 60) + second;
    match offset {
        "" | "Z" | "z" => {}
        _ => {
            let sign = if offset.starts_with('-') { 1.0 } else { -1.0 };
            let (h, m) = offset[1..].split_once(':')?;
            secs += sign * f64::from(num(h)? * 3600 + num(m)? * 60);
        }
    }
    Some(secs)
}

/// `put`
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The key (taken as the argument's bytes)
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// The value (taken as the argument's bytes)
    #[arg(
        value_name = "VALUE",
        allow_hyphen_values = true,
        required_unless_present = "value_file",
        conflicts_with = "value_file"
    )]
    pub value: Option<OsString>,
    /// Read the value from FILE (`-` for stdin), byte for byte: binary-safe, and no limit
    /// but the value size limit (64 MiB)
    #[arg(long, value_name = "FILE")]
    pub value_file: Option<PathBuf>,
    /// KEY and VALUE are hex-encoded (a --value-file is read as it is)
    #[arg(long)]
    pub hex: bool,
}

/// `get`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The keys (taken as the arguments' bytes). One key prints its value; several print
    /// `key<TAB>value` lines in the order given (exit 4 if any is missing)
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<OsString>,
    /// The keys are hex-encoded
    #[arg(long)]
    pub key_hex: bool,
    /// Print the exact value bytes, without a newline (one key only)
    #[arg(long, group = "get_format")]
    pub raw: bool,
    /// Print the value hex-encoded
    #[arg(long, group = "get_format")]
    pub hex: bool,
    /// Print {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)
    #[arg(long, group = "get_format")]
    pub json: bool,
}

/// `delete`
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The keys (taken as the arguments' bytes)
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<OsString>,
    /// The keys are hex-encoded
    #[arg(long)]
    pub hex: bool,
}

/// `delete-range`
#[derive(Debug, Args)]
pub struct DeleteRangeArgs {
    /// First key deleted (inclusive)
    #[arg(value_name = "START")]
    pub start: OsString,
    /// Key to stop before (exclusive)
    #[arg(value_name = "END")]
    pub end: OsString,
    /// START and END are hex-encoded
    #[arg(long)]
    pub hex: bool,
}

/// `scan`
#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub range: KeyRangeArgs,
    /// At most N records
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Largest key first
    #[arg(long)]
    pub reverse: bool,
    /// Print JSON lines: {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not
    /// UTF-8)
    #[arg(long)]
    pub json: bool,
    /// Print only the number of records (with --json: {"count":N})
    #[arg(long)]
    pub count: bool,
    /// Print only the keys (with --json: {"key":..} lines)
    #[arg(long, conflicts_with = "count")]
    pub keys_only: bool,
}

/// `load`
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Input files; `-` or none reads stdin
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Input format [default: by extension: .csv is csv, .jsonl and .ndjson are jsonl,
    /// anything else (and stdin) is tsv]
    #[arg(long, value_enum)]
    pub format: Option<LoadFormat>,
    /// Skip the first record of every input (a header row)
    #[arg(long)]
    pub header: bool,
    /// CSV field delimiter: one ASCII character, e.g. `;`, `|`, or `tab` (`\t`)
    #[arg(long, value_name = "C", value_parser = parse_delimiter, default_value = ",")]
    pub delimiter: u8,
    /// Write a partial batch once its first record is this old (`100ms`, `1s`; `0` writes
    /// whenever the input pauses), so a slow producer's records become durable and visible
    /// within about this delay
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "100ms")]
    pub linger: std::time::Duration,
    /// Skip bad records and count them instead of stopping at the first
    #[arg(long)]
    pub skip_invalid: bool,
    /// Stop (exit 5) when more than N records are bad; implies --skip-invalid
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Do not flush at the end: the last records stay in the WAL (durable either way), and
    /// the next open replays them
    #[arg(long)]
    pub no_flush: bool,
    /// The input is sorted by key: write tables directly from the first record (sorted
    /// ingestion; falls back to normal writes at the first key out of order or delete)
    #[arg(long, conflicts_with = "no_ingest")]
    pub sorted: bool,
    /// Never use sorted ingestion, even when the input starts sorted
    #[arg(long)]
    pub no_ingest: bool,
}

/// `load --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadFormat {
    /// key<TAB>value lines with backslash escapes
    Tsv,
    /// RFC 4180, two columns, no header
    Csv,
    /// one JSON object per line
    Jsonl,
}

/// `export --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// key<TAB>value lines with backslash escapes
    Tsv,
    /// one JSON object per line
    Jsonl,
    /// RFC 4180 `key,value` records, no header (quoted where needed; bytes as they are)
    Csv,
}

/// `flush`
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Print the tables built as JSON
    #[arg(long)]
    pub json: bool,
}

/// `compact`
#[derive(Debug, Args)]
pub struct CompactArgs {}

/// `stats --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// Tables (at most 80 columns wide)
    Table,
    /// The nested JSON snapshot (exact numbers)
    Json,
    /// Prometheus text exposition, for node_exporter's textfile collector
    Prometheus,
}

/// `stats`
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    /// Print the snapshot as JSON (short for --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Refresh every SECS seconds (default 2) until interrupted: a dashboard that fits 80x24
    /// (with --json: one JSON document per line)
    #[arg(
        long,
        value_name = "SECS",
        num_args = 0..=1,
        default_missing_value = "2",
        value_parser = parse_interval
    )]
    pub watch: Option<f64>,
    /// With --watch, show every section below the dashboard, whatever the terminal's size
    #[arg(long, requires = "watch")]
    pub all: bool,
}

impl StatsArgs {
    /// The format asked for, `--json` included.
    pub fn format(&self) -> StatsFormat {
        if self.json {
            StatsFormat::Json
        } else {
            self.format
        }
    }
}

/// `verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Check even while another process holds the workdir (results may be inconsistent)
    #[arg(long)]
    pub allow_live: bool,
    /// Exit 3 on crash leftovers too (temporaries, obsolete WAL segments, unpublished tables,
    /// torn tails), not only on damage
    #[arg(long)]
    pub strict: bool,
}

/// `manifest`
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

/// `salvage`
#[derive(Debug, Args)]
pub struct SalvageArgs {
    /// The fresh workdir to write (must not exist, or be empty)
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// `export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Tsv)]
    pub format: ExportFormat,
    #[command(flatten)]
    pub range: KeyRangeArgs,
}

/// The key range of `scan` and `export`.
#[derive(Debug, Args)]
pub struct KeyRangeArgs {
    /// First key (inclusive)
    #[arg(long, value_name = "KEY")]
    pub start: Option<OsString>,
    /// Key to stop before (exclusive)
    #[arg(long, value_name = "KEY")]
    pub end: Option<OsString>,
    /// Only keys starting with this
    #[arg(long, value_name = "BYTES")]
    pub prefix: Option<OsString>,
    /// --start, --end and --prefix are hex-encoded
    #[arg(long)]
    pub hex: bool,
}

/// `checkpoint`
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The new workdir (must not exist, or be empty)
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// Parses a size: `1048576`, `512KiB`, `4MiB`, `1GiB`, `64MB` (decimal), `4 MiB`.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(format!(
            "`{text}` is not a size: expected bytes or a number with a unit (KiB, MiB, GiB, KB, MB, GB)"
        ));
    }
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{digits}` is too large"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
            ))
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

fn parse_memtable_size(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size < 4096 {
        return Err(format!(
            "{size} bytes is too small (at least 4096 bytes, e.g. 4KiB)"
        ));
    }
    Ok(size)
}

/// A duration: `100ms`, `2s`, `1.5s`, `250us`, or `0`.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 100ms, 2s)"))?;
    let secs = match unit.trim() {
        "" if value == 0.0 => 0.0,
        "ms" => value / 1000.0,
        "s" => value,
        "us" => value / 1_000_000.0,
        "" => return Err(format!("`{text}` needs a unit: ms, s or us (e.g. 100ms)")),
        other => return Err(format!("unknown duration unit `{other}` (use ms, s or us)")),
    };
    if !(0.0..=3600.0).contains(&secs) {
        return Err(format!("{text} is out of range (0 to 1 hour)"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A CSV delimiter: one ASCII character other than a quote, CR or LF; `tab` or `\t` for a tab.
fn parse_delimiter(text: &str) -> Result<u8, String> {
    let byte = match text {
        "tab" | "\\t" | "\t" => b'\t',
        _ if text.len() == 1 && text.is_ascii() => text.as_bytes()[0],
        _ => {
            return Err(format!(
                "`{text}` is not one ASCII character (for a tab, write `tab`)"
            ))
        }
    };
    if matches!(byte, b'"' | b'\r' | b'\n') {
        return Err("the delimiter cannot be a quote or a line break".into());
    }
    Ok(byte)
}

fn parse_interval(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !secs.is_finite() || !(0.1..=86_400.0).contains(&secs) {
        return Err(format!("{text} is out of range (0.1 to 86400 seconds)"));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_unix_seconds_and_ages() {
        let now = 1_700_000_000.0;
        assert_eq!(parse_since_at("2023-11-14T22:13:20Z", now), Ok(now));
        assert_eq!(parse_since_at("2023-11-14 22:13:20", now), Ok(now));
        assert_eq!(parse_since_at("2023-11-14T22:13:20.5Z", now), Ok(now + 0.5));
        assert_eq!(parse_since_at("2023-11-14T23:13:20+01:00", now), Ok(now));
        assert_eq!(parse_since_at("2023-11-14", now), Ok(now - 80_000.0));
        assert_eq!(parse_since_at("1700000000", now), Ok(now));
        assert_eq!(parse_since_at("10m", now), Ok(now - 600.0));
        assert_eq!(parse_since_at("2h", now), Ok(now - 7200.0));
        assert_eq!(parse_since_at("1d", now), Ok(now - 86_400.0));
        for bad in [
            "yesterday",
            "2023-13-01",
            "2023-11-14T25:00",
            "10x",
            "-5m",
            "",
        ] {
            assert!(parse_since_at(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("4 KB"), Ok(4000));
        assert!(parse_size("banana").is_err());
        assert!(parse_size("4XB").is_err());
        assert!(parse_size("-4").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("99999999999TiB").is_err());
        assert!(parse_memtable_size("100").is_err());
        use std::time::Duration;
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("100").is_err());
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
