
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'nokv' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'nokv'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'nokv' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('put', 'put', [CompletionResultType]::ParameterValue, 'Write one key')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print the value of a key (exit 4 when absent)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete keys (write tombstones)')
            [CompletionResult]::new('delete-range', 'delete-range', [CompletionResultType]::ParameterValue, 'Delete every key in [START, END)')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Print keys and values in key order, as `key<TAB>value` lines or JSON lines')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Bulk-load records from files or stdin')
            [CompletionResult]::new('flush', 'flush', [CompletionResultType]::ParameterValue, 'Flush the memtables and print the tables built')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Run a full manual compaction')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show engine statistics (read-only; works while another process holds the workdir)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the manifest, tables and WAL for damage (exit 3 when damage is found)')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Print the current version: checkpoint, counters, levels and tables')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every live key in a format `load` reads back losslessly')
            [CompletionResult]::new('checkpoint', 'checkpoint', [CompletionResultType]::ParameterValue, 'Copy the workdir to DEST, consistently, while another process may be writing')
            [CompletionResult]::new('salvage', 'salvage', [CompletionResultType]::ParameterValue, 'Copy every readable record of a damaged workdir into a fresh one, and report what was lost')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'Show the event history: flushes, compactions, ingests, stalls, torn tails, errors')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'nokv;put' {
            [CompletionResult]::new('--value-file', '--value-file', [CompletionResultType]::ParameterName, 'Read the value from FILE (`-` for stdin), byte for byte: binary-safe, and no limit but the value size limit (64 MiB)')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'KEY and VALUE are hex-encoded (a --value-file is read as it is)')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;get' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--key-hex', '--key-hex', [CompletionResultType]::ParameterName, 'The keys are hex-encoded')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print the exact value bytes, without a newline (one key only)')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'Print the value hex-encoded')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;delete' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'The keys are hex-encoded')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;delete-range' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'START and END are hex-encoded')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;scan' {
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'First key (inclusive)')
            [CompletionResult]::new('--end', '--end', [CompletionResultType]::ParameterName, 'Key to stop before (exclusive)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only keys starting with this')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most N records')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, '--start, --end and --prefix are hex-encoded')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Largest key first')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON lines: {"key":..,"value":..} ("key_hex"/"value_hex" for bytes that are not UTF-8)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Print only the number of records (with --json: {"count":N})')
            [CompletionResult]::new('--keys-only', '--keys-only', [CompletionResultType]::ParameterName, 'Print only the keys (with --json: {"key":..} lines)')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;load' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Input format [default: by extension: .csv is csv, .jsonl and .ndjson are jsonl, anything else (and stdin) is tsv]')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'CSV field delimiter: one ASCII character, e.g. `;`, `|`, or `tab` (`\t`)')
            [CompletionResult]::new('--linger', '--linger', [CompletionResultType]::ParameterName, 'Write a partial batch once its first record is this old (`100ms`, `1s`; `0` writes whenever the input pauses), so a slow producer''s records become durable and visible within about this delay')
            [CompletionResult]::new('--max-errors', '--max-errors', [CompletionResultType]::ParameterName, 'Stop (exit 5) when more than N records are bad; implies --skip-invalid')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Skip the first record of every input (a header row)')
            [CompletionResult]::new('--skip-invalid', '--skip-invalid', [CompletionResultType]::ParameterName, 'Skip bad records and count them instead of stopping at the first')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON on stdout')
            [CompletionResult]::new('--no-flush', '--no-flush', [CompletionResultType]::ParameterName, 'Do not flush at the end: the last records stay in the WAL (durable either way), and the next open replays them')
            [CompletionResult]::new('--sorted', '--sorted', [CompletionResultType]::ParameterName, 'The input is sorted by key: write tables directly from the first record (sorted ingestion; falls back to normal writes at the first key out of order or delete)')
            [CompletionResult]::new('--no-ingest', '--no-ingest', [CompletionResultType]::ParameterName, 'Never use sorted ingestion, even when the input starts sorted')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;flush' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the tables built as JSON')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;compact' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;stats' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Refresh every SECS seconds (default 2) until interrupted: a dashboard that fits 80x24 (with --json: one JSON document per line)')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the snapshot as JSON (short for --format json)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'With --watch, show every section below the dashboard, whatever the terminal''s size')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;verify' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('--allow-live', '--allow-live', [CompletionResultType]::ParameterName, 'Check even while another process holds the workdir (results may be inconsistent)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Exit 3 on crash leftovers too (temporaries, obsolete WAL segments, unpublished tables, torn tails), not only on damage')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;manifest' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;export' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'First key (inclusive)')
            [CompletionResult]::new('--end', '--end', [CompletionResultType]::ParameterName, 'Key to stop before (exclusive)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only keys starting with this')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, '--start, --end and --prefix are hex-encoded')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;checkpoint' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON on stdout')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;salvage' {
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;events' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events at or after TIME (RFC 3339, Unix seconds, or an age such as 10m)')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'Only events of these kinds (repeat or separate with commas)')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'The database directory')
            [CompletionResult]::new('--durability', '--durability', [CompletionResultType]::ParameterName, 'How flushed tables are installed: strict (fsync + atomic rename, survives power loss) or fast (no fsync during the run, one pass over the tables and the workdir at the end)')
            [CompletionResult]::new('--memtable-size', '--memtable-size', [CompletionResultType]::ParameterName, 'Rotate the memtable at this size: bytes, or with a unit (512KiB, 4MiB, 64MiB, 1GiB; KB, MB, GB are decimal)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Codec for the data and index blocks of the tables this command writes (flush, compaction, load); tables in other codecs stay readable and are rewritten in this one when compacted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON lines (one event per line) instead of a table')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing new events as they are appended, until interrupted')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync the WAL before every write batch returns')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no summary (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'nokv;help' {
            [CompletionResult]::new('put', 'put', [CompletionResultType]::ParameterValue, 'Write one key')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print the value of a key (exit 4 when absent)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete keys (write tombstones)')
            [CompletionResult]::new('delete-range', 'delete-range', [CompletionResultType]::ParameterValue, 'Delete every key in [START, END)')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Print keys and values in key order, as `key<TAB>value` lines or JSON lines')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Bulk-load records from files or stdin')
            [CompletionResult]::new('flush', 'flush', [CompletionResultType]::ParameterValue, 'Flush the memtables and print the tables built')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Run a full manual compaction')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show engine statistics (read-only; works while another process holds the workdir)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the manifest, tables and WAL for damage (exit 3 when damage is found)')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Print the current version: checkpoint, counters, levels and tables')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every live key in a format `load` reads back losslessly')
            [CompletionResult]::new('checkpoint', 'checkpoint', [CompletionResultType]::ParameterValue, 'Copy the workdir to DEST, consistently, while another process may be writing')
            [CompletionResult]::new('salvage', 'salvage', [CompletionResultType]::ParameterValue, 'Copy every readable record of a damaged workdir into a fresh one, and report what was lost')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'Show the event history: flushes, compactions, ingests, stalls, torn tails, errors')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'nokv;help;put' {
            break
        }
        'nokv;help;get' {
            break
        }
        'nokv;help;delete' {
            break
        }
        'nokv;help;delete-range' {
            break
        }
        'nokv;help;scan' {
            break
        }
        'nokv;help;load' {
            break
        }
        'nokv;help;flush' {
            break
        }
        'nokv;help;compact' {
            break
        }
        'nokv;help;stats' {
            break
        }
        'nokv;help;verify' {
            break
        }
        'nokv;help;manifest' {
            break
        }
        'nokv;help;export' {
            break
        }
        'nokv;help;checkpoint' {
            break
        }
        'nokv;help;salvage' {
            break
        }
        'nokv;help;events' {
            break
        }
        'nokv;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
