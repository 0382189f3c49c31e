# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nokv_global_optspecs
    string join \n workdir= durability= sync memtable-size= compression= q/quiet h/help V/version
end

function __fish_nokv_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nokv_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nokv_using_subcommand
    set -l cmd (__fish_nokv_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nokv -n "__fish_nokv_needs_command" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_needs_command" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_needs_command" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_needs_command" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_needs_command" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_needs_command" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_needs_command" -s V -l version -d 'Print version'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "put" -d 'Write one key'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "get" -d 'Print the value of a key (exit 4 when absent)'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "delete" -d 'Delete keys (write tombstones)'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "delete-range" -d 'Delete every key in [START, END)'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "scan" -d 'Print keys and values in key order, as `key<TAB>value` lines or JSON lines'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "load" -d 'Bulk-load records from files or stdin'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "flush" -d 'Flush the memtables and print the tables built'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "compact" -d 'Run a full manual compaction'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "stats" -d 'Show engine statistics (read-only; works while another process holds the workdir)'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "verify" -d 'Check the manifest, tables and WAL for damage (exit 3 when damage is found)'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "manifest" -d 'Print the current version: checkpoint, counters, levels and tables'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "export" -d 'Write every live key in a format `load` reads back losslessly'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "checkpoint" -d 'Copy the workdir to DEST, consistently, while another process may be writing'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "salvage" -d 'Copy every readable record of a damaged workdir into a fresh one, and report what was lost'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "events" -d 'Show the event history: flushes, compactions, ingests, stalls, torn tails, errors'
complete -c nokv -n "__fish_nokv_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nokv -n "__fish_nokv_using_subcommand put" -l value-file -d 'Read the value from FILE (`-` for stdin), byte for byte: binary-safe, and no limit but the value size limit (64 MiB)' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand put" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand put" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand put" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand put" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand put" -l hex -d 'KEY and VALUE are hex-encoded (a --value-file is read as it is)'
complete -c nokv -n "__fish_nokv_using_subcommand put" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand put" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand put" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand get" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand get" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand get" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand get" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand get" -l key-hex -d 'The keys are hex-encoded'
complete -c nokv -n "__fish_nokv_using_subcommand get" -l raw -d 'Print the exact value bytes, without a newline (one key only)'
complete -c nokv -n "__fish_nokv_using_subcommand get" -l hex -d 'Print the value hex-encoded'
complete -c nokv -n "__fish_nokv_using_subcommand get" -l json -d 'Print {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)'
complete -c nokv -n "__fish_nokv_using_subcommand get" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand get" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand delete" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand delete" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand delete" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand delete" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand delete" -l hex -d 'The keys are hex-encoded'
complete -c nokv -n "__fish_nokv_using_subcommand delete" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand delete" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -l hex -d 'START and END are hex-encoded'
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand delete-range" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l start -d 'First key (inclusive)' -r
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l end -d 'Key to stop before (exclusive)' -r
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l prefix -d 'Only keys starting with this' -r
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l limit -d 'At most N records' -r
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l hex -d '--start, --end and --prefix are hex-encoded'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l reverse -d 'Largest key first'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l json -d 'Print JSON lines: {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l count -d 'Print only the number of records (with --json: {"count":N})'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l keys-only -d 'Print only the keys (with --json: {"key":..} lines)'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l format -d 'Input format [default: by extension: .csv is csv, .jsonl and .ndjson are jsonl, anything else (and stdin) is tsv]' -r -f -a "tsv\t'key<TAB>value lines with backslash escapes'
csv\t'RFC 4180, two columns, no header'
jsonl\t'one JSON object per line'"
complete -c nokv -n "__fish_nokv_using_subcommand load" -l delimiter -d 'CSV field delimiter: one ASCII character, e.g. `;`, `|`, or `tab` (`\\t`)' -r
complete -c nokv -n "__fish_nokv_using_subcommand load" -l linger -d 'Write a partial batch once its first record is this old (`100ms`, `1s`; `0` writes whenever the input pauses), so a slow producer\'s records become durable and visible within about this delay' -r
complete -c nokv -n "__fish_nokv_using_subcommand load" -l max-errors -d 'Stop (exit 5) when more than N records are bad; implies --skip-invalid' -r
complete -c nokv -n "__fish_nokv_using_subcommand load" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand load" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand load" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand load" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand load" -l header -d 'Skip the first record of every input (a header row)'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l skip-invalid -d 'Skip bad records and count them instead of stopping at the first'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l json -d 'Print the summary as JSON on stdout'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l no-flush -d 'Do not flush at the end: the last records stay in the WAL (durable either way), and the next open replays them'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l sorted -d 'The input is sorted by key: write tables directly from the first record (sorted ingestion; falls back to normal writes at the first key out of order or delete)'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l no-ingest -d 'Never use sorted ingestion, even when the input starts sorted'
complete -c nokv -n "__fish_nokv_using_subcommand load" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand load" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand load" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand flush" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand flush" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand flush" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand flush" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand flush" -l json -d 'Print the tables built as JSON'
complete -c nokv -n "__fish_nokv_using_subcommand flush" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand flush" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand flush" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand compact" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand compact" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand compact" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand compact" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand compact" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand compact" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand compact" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l format -d 'Output format' -r -f -a "table\t'Tables (at most 80 columns wide)'
json\t'The nested JSON snapshot (exact numbers)'
prometheus\t'Prometheus text exposition, for node_exporter\'s textfile collector'"
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l watch -d 'Refresh every SECS seconds (default 2) until interrupted: a dashboard that fits 80x24 (with --json: one JSON document per line)' -r
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l json -d 'Print the snapshot as JSON (short for --format json)'
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l all -d 'With --watch, show every section below the dashboard, whatever the terminal\'s size'
complete -c nokv -n "__fish_nokv_using_subcommand stats" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand stats" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l json -d 'Print the report as JSON'
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l allow-live -d 'Check even while another process holds the workdir (results may be inconsistent)'
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l strict -d 'Exit 3 on crash leftovers too (temporaries, obsolete WAL segments, unpublished tables, torn tails), not only on damage'
complete -c nokv -n "__fish_nokv_using_subcommand verify" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand verify" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -l json -d 'Print as JSON'
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand manifest" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand export" -l format -d 'Output format' -r -f -a "tsv\t'key<TAB>value lines with backslash escapes'
jsonl\t'one JSON object per line'
csv\t'RFC 4180 `key,value` records, no header (quoted where needed; bytes as they are)'"
complete -c nokv -n "__fish_nokv_using_subcommand export" -l start -d 'First key (inclusive)' -r
complete -c nokv -n "__fish_nokv_using_subcommand export" -l end -d 'Key to stop before (exclusive)' -r
complete -c nokv -n "__fish_nokv_using_subcommand export" -l prefix -d 'Only keys starting with this' -r
complete -c nokv -n "__fish_nokv_using_subcommand export" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand export" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand export" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand export" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand export" -l hex -d '--start, --end and --prefix are hex-encoded'
complete -c nokv -n "__fish_nokv_using_subcommand export" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand export" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -l json -d 'Print the summary as JSON on stdout'
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand checkpoint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -l json -d 'Print the report as JSON'
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand salvage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand events" -l since -d 'Only events at or after TIME (RFC 3339, Unix seconds, or an age such as 10m)' -r
complete -c nokv -n "__fish_nokv_using_subcommand events" -l kind -d 'Only events of these kinds (repeat or separate with commas)' -r
complete -c nokv -n "__fish_nokv_using_subcommand events" -l workdir -d 'The database directory' -r -F
complete -c nokv -n "__fish_nokv_using_subcommand events" -l durability -d 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)' -r -f -a "strict\t'fsync the table, rename without replace, fsync the directory, then log the manifest'
fast\t'write the table in place; the tables written and the workdir are fsynced once, when the command ends (a power loss before that may lose the run)'"
complete -c nokv -n "__fish_nokv_using_subcommand events" -l memtable-size -d 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)' -r
complete -c nokv -n "__fish_nokv_using_subcommand events" -l compression -d 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted' -r -f -a "lz4\t''
zstd\t''
none\t''"
complete -c nokv -n "__fish_nokv_using_subcommand events" -l json -d 'Print JSON lines (one event per line) instead of a table'
complete -c nokv -n "__fish_nokv_using_subcommand events" -l follow -d 'Keep printing new events as they are appended, until interrupted'
complete -c nokv -n "__fish_nokv_using_subcommand events" -l sync -d 'fsync the WAL before every write batch returns'
complete -c nokv -n "__fish_nokv_using_subcommand events" -s q -l quiet -d 'No progress bar and no summary (errors are still printed)'
complete -c nokv -n "__fish_nokv_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "put" -d 'Write one key'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "get" -d 'Print the value of a key (exit 4 when absent)'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "delete" -d 'Delete keys (write tombstones)'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "delete-range" -d 'Delete every key in [START, END)'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "scan" -d 'Print keys and values in key order, as `key<TAB>value` lines or JSON lines'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "load" -d 'Bulk-load records from files or stdin'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "flush" -d 'Flush the memtables and print the tables built'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "compact" -d 'Run a full manual compaction'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "stats" -d 'Show engine statistics (read-only; works while another process holds the workdir)'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "verify" -d 'Check the manifest, tables and WAL for damage (exit 3 when damage is found)'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "manifest" -d 'Print the current version: checkpoint, counters, levels and tables'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "export" -d 'Write every live key in a format `load` reads back losslessly'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "checkpoint" -d 'Copy the workdir to DEST, consistently, while another process may be writing'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "salvage" -d 'Copy every readable record of a damaged workdir into a fresh one, and report what was lost'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "events" -d 'Show the event history: flushes, compactions, ingests, stalls, torn tails, errors'
complete -c nokv -n "__fish_nokv_using_subcommand help; and not __fish_seen_subcommand_from put get delete delete-range scan load flush compact stats verify manifest export checkpoint salvage events help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
