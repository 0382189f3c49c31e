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
    (0, "success (verify: no problem found)"),
    (
        1,
        "operational error: I/O error, workdir locked by another process, corruption found on \
         open, workdir missing, unsupported operation",
    ),
    (
        2,
        "usage error: unknown command or flag, bad flag value, bad hex argument",
    ),
    (3, "verify ran to completion and found problems"),
    (4, "get: the key is not present"),
    (
        5,
        "load stopped at bad input (strict mode, or more than --max-errors bad records); every \
         record before it is loaded and durable",
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
    /// or fast (no fsync, survives process crashes)
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
    /// write the table in place, no fsync
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
  nokv put -- -key- -value-             # arguments that start with a dash")]
    Put(PutArgs),

    /// Print the value of a key (exit 4 when absent)
    #[command(after_help = "\
Examples:
  nokv get user:1                       # value and a newline
  nokv get --raw blob > blob.bin        # exact bytes, no newline
  nokv get --key-hex 00ff --hex         # binary key, value printed as hex
  nokv get --json user:1                # {\"key\":\"user:1\",\"value\":\"alice\"}
  nokv get user:9; [ $? -eq 4 ] && echo absent")]
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

Output lines are escaped exactly as `load` reads them: \\t \\n \\r \\\\ and \\xHH (for other
control bytes and invalid UTF-8).")]
    Scan(ScanArgs),

    /// Bulk-load records from files or stdin
    #[command(after_help = "\
Examples:
  nokv load data.tsv
  printf 'k1\\tv1\\nk2\\tv2\\n' | nokv load
  nokv load --format csv a.csv b.csv
  nokv load --format jsonl dump.jsonl --json
  nokv load --skip-invalid --max-errors 100 messy.tsv

Formats:
  tsv    key<TAB>value per line; escapes \\t \\n \\r \\\\ \\xHH in keys and values. A line
         ending in CR (CRLF line endings) is bad input: write a CR in data as \\r.
  csv    RFC 4180: two fields per record, no header; quoted fields may hold commas, quotes
         (doubled) and line breaks; CRLF or LF ends a record.
  jsonl  one object per line: {\"key\":..,\"value\":..}, or \"key_hex\"/\"value_hex\" with
         hex strings for bytes that are not UTF-8; \"op\":\"delete\" deletes the key.

Bad input (a line without a tab, a bad escape, bad hex, an empty key, a key over 65535 bytes, a
value over 64 MiB, invalid JSON or UTF-8 in jsonl) stops the load with FILE:LINE: reason and
exit status 5; every record before it is loaded and durable. With --skip-invalid bad records
are skipped and counted. A last line without a newline is loaded if it parses.

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
    #[command(after_help = "\
Examples:
  nokv stats
  nokv stats --json | jq .flush.pending
  nokv stats --watch                    # refresh every 2 seconds until Ctrl-C
  nokv stats --watch 0.5")]
    Stats(StatsArgs),

    /// Check the manifest, tables and WAL for damage (exit 3 when problems are found)
    #[command(after_help = "\
Examples:
  nokv verify
  nokv verify --json | jq '.problems[] | .file'
  nokv verify --allow-live              # check while another process holds the workdir

Exit status: 0 clean, 3 problems found, 1 could not run (missing workdir, or locked without
--allow-live).")]
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
  nokv --workdir a export | nokv --workdir b load")]
    Export(ExportArgs),
}

/// `put`
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The key (taken as the argument's bytes)
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// The value (taken as the argument's bytes)
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    pub value: OsString,
    /// KEY and VALUE are hex-encoded
    #[arg(long)]
    pub hex: bool,
}

/// `get`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key (taken as the argument's bytes)
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// KEY is hex-encoded
    #[arg(long)]
    pub key_hex: bool,
    /// Print the exact value bytes, without a newline
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
    /// First key (inclusive)
    #[arg(long, value_name = "KEY")]
    pub start: Option<OsString>,
    /// Key to stop before (exclusive)
    #[arg(long, value_name = "KEY")]
    pub end: Option<OsString>,
    /// Only keys starting with this
    #[arg(long, value_name = "BYTES")]
    pub prefix: Option<OsString>,
    /// At most N records
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Largest key first
    #[arg(long)]
    pub reverse: bool,
    /// --start, --end and --prefix are hex-encoded
    #[arg(long)]
    pub hex: bool,
    /// Print JSON lines: {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not
    /// UTF-8)
    #[arg(long)]
    pub json: bool,
}

/// `load`
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Input files; `-` or none reads stdin
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Input format
    #[arg(long, value_enum, default_value_t = LoadFormat::Tsv)]
    pub format: LoadFormat,
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

/// `stats`
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print the snapshot as JSON
    #[arg(long)]
    pub json: bool,
    /// Refresh every SECS seconds (default 2) until interrupted
    #[arg(
        long,
        value_name = "SECS",
        num_args = 0..=1,
        default_missing_value = "2",
        value_parser = parse_interval
    )]
    pub watch: Option<f64>,
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
}

/// `manifest`
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

/// `export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Tsv)]
    pub format: ExportFormat,
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
    }
}
