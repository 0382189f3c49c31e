
use builtin;
use str;

set edit:completion:arg-completer[nokv] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'nokv'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'nokv'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand put 'Write one key'
            cand get 'Print the value of a key (exit 4 when absent)'
            cand delete 'Delete keys (write tombstones)'
            cand delete-range 'Delete every key in [START, END)'
            cand scan 'Print keys and values in key order, as `key<TAB>value` lines or JSON lines'
            cand load 'Bulk-load records from files or stdin'
            cand flush 'Flush the memtables and print the tables built'
            cand compact 'Run a full manual compaction'
            cand stats 'Show engine statistics (read-only; works while another process holds the workdir)'
            cand verify 'Check the manifest, tables and WAL for damage (exit 3 when damage is found)'
            cand manifest 'Print the current version: checkpoint, counters, levels and tables'
            cand export 'Write every live key in a format `load` reads back losslessly'
            cand checkpoint 'Copy the workdir to DEST, consistently, while another process may be writing'
            cand salvage 'Copy every readable record of a damaged workdir into a fresh one, and report what was lost'
            cand events 'Show the event history: flushes, compactions, ingests, stalls, torn tails, errors'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'nokv;put'= {
            cand --value-file 'Read the value from FILE (`-` for stdin), byte for byte: binary-safe, and no limit but the value size limit (64 MiB)'
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --hex 'KEY and VALUE are hex-encoded (a --value-file is read as it is)'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;get'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --key-hex 'The keys are hex-encoded'
            cand --raw 'Print the exact value bytes, without a newline (one key only)'
            cand --hex 'Print the value hex-encoded'
            cand --json 'Print {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;delete'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --hex 'The keys are hex-encoded'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;delete-range'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --hex 'START and END are hex-encoded'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;scan'= {
            cand --start 'First key (inclusive)'
            cand --end 'Key to stop before (exclusive)'
            cand --prefix 'Only keys starting with this'
            cand --limit 'At most N records'
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --hex '--start, --end and --prefix are hex-encoded'
            cand --reverse 'Largest key first'
            cand --json 'Print JSON lines: {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)'
            cand --count 'Print only the number of records (with --json: {"count":N})'
            cand --keys-only 'Print only the keys (with --json: {"key":..} lines)'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;load'= {
            cand --format 'Input format [default: by extension: .csv is csv, .jsonl and .ndjson are jsonl, anything else (and stdin) is tsv]'
            cand --delimiter 'CSV field delimiter: one ASCII character, e.g. `;`, `|`, or `tab` (`\t`)'
            cand --linger 'Write a partial batch once its first record is this old (`100ms`, `1s`; `0` writes whenever the input pauses), so a slow producer''s records become durable and visible within about this delay'
            cand --max-errors 'Stop (exit 5) when more than N records are bad; implies --skip-invalid'
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --header 'Skip the first record of every input (a header row)'
            cand --skip-invalid 'Skip bad records and count them instead of stopping at the first'
            cand --json 'Print the summary as JSON on stdout'
            cand --no-flush 'Do not flush at the end: the last records stay in the WAL (durable either way), and the next open replays them'
            cand --sorted 'The input is sorted by key: write tables directly from the first record (sorted ingestion; falls back to normal writes at the first key out of order or delete)'
            cand --no-ingest 'Never use sorted ingestion, even when the input starts sorted'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;flush'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print the tables built as JSON'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;compact'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;stats'= {
            cand --format 'Output format'
            cand --watch 'Refresh every SECS seconds (default 2) until interrupted: a dashboard that fits 80x24 (with --json: one JSON document per line)'
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print the snapshot as JSON (short for --format json)'
            cand --all 'With --watch, show every section below the dashboard, whatever the terminal''s size'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;verify'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print the report as JSON'
            cand --allow-live 'Check even while another process holds the workdir (results may be inconsistent)'
            cand --strict 'Exit 3 on crash leftovers too (temporaries, obsolete WAL segments, unpublished tables, torn tails), not only on damage'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;manifest'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print as JSON'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;export'= {
            cand --format 'Output format'
            cand --start 'First key (inclusive)'
            cand --end 'Key to stop before (exclusive)'
            cand --prefix 'Only keys starting with this'
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --hex '--start, --end and --prefix are hex-encoded'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;checkpoint'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print the summary as JSON on stdout'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;salvage'= {
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print the report as JSON'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;events'= {
            cand --since 'Only events at or after TIME (RFC 3339, Unix seconds, or an age such as 10m)'
            cand --kind 'Only events of these kinds (repeat or separate with commas)'
            cand --workdir 'The database directory'
            cand --durability 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)'
            cand --memtable-size 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)'
            cand --compression 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted'
            cand --json 'Print JSON lines (one event per line) instead of a table'
            cand --follow 'Keep printing new events as they are appended, until interrupted'
            cand --sync 'fsync the WAL before every write batch returns'
            cand -q 'No progress bar and no summary (errors are still printed)'
            cand --quiet 'No progress bar and no summary (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'nokv;help'= {
            cand put 'Write one key'
            cand get 'Print the value of a key (exit 4 when absent)'
            cand delete 'Delete keys (write tombstones)'
            cand delete-range 'Delete every key in [START, END)'
            cand scan 'Print keys and values in key order, as `key<TAB>value` lines or JSON lines'
            cand load 'Bulk-load records from files or stdin'
            cand flush 'Flush the memtables and print the tables built'
            cand compact 'Run a full manual compaction'
            cand stats 'Show engine statistics (read-only; works while another process holds the workdir)'
            cand verify 'Check the manifest, tables and WAL for damage (exit 3 when damage is found)'
            cand manifest 'Print the current version: checkpoint, counters, levels and tables'
            cand export 'Write every live key in a format `load` reads back losslessly'
            cand checkpoint 'Copy the workdir to DEST, consistently, while another process may be writing'
            cand salvage 'Copy every readable record of a damaged workdir into a fresh one, and report what was lost'
            cand events 'Show the event history: flushes, compactions, ingests, stalls, torn tails, errors'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'nokv;help;put'= {
        }
        &'nokv;help;get'= {
        }
        &'nokv;help;delete'= {
        }
        &'nokv;help;delete-range'= {
        }
        &'nokv;help;scan'= {
        }
        &'nokv;help;load'= {
        }
        &'nokv;help;flush'= {
        }
        &'nokv;help;compact'= {
        }
        &'nokv;help;stats'= {
        }
        &'nokv;help;verify'= {
        }
        &'nokv;help;manifest'= {
        }
        &'nokv;help;export'= {
        }
        &'nokv;help;checkpoint'= {
        }
        &'nokv;help;salvage'= {
        }
        &'nokv;help;events'= {
        }
        &'nokv;help;help'= {
        }
    ]
    $completions[$command]
}
