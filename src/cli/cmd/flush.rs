//! `nokv flush`: rotate the active memtable, wait until every queued flush is installed,
//! and print the tables built.

use serde_json::{json, Map, Value};

use crate::TableMeta;

use super::{close, open_existing_for_write};
use crate::cli::args::{FlushArgs, GlobalArgs};
use crate::cli::output::{self, escaped, human_bytes, note};
use crate::cli::CliError;

/// Runs `flush`.
///
/// # Errors
/// Engine errors (a failed flush is reported as the background error).
pub fn run(global: &GlobalArgs, args: &FlushArgs) -> Result<(), CliError> {
    let db = open_existing_for_write(global)?;
    let summary = db.flush();
    let closed = close(db);
    let summary = summary?;
    closed?;
    let tables = &summary.tables;
    if args.json {
        let list: Vec<Value> = tables.iter().map(table_json).collect();
        output::print_json(&json!({
            "format_version": 1,
            "tables": list,
        }))?;
    } else {
        let mut out = String::new();
        for t in tables {
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                crate::filenames::table_name(t.number),
                t.entries,
                t.size,
                escaped(&t.smallest),
                escaped(&t.largest)
            ));
        }
        output::print(out)?;
    }
    if !global.quiet {
        if tables.is_empty() {
            note("nokv: nothing to flush");
        } else {
            let bytes: u64 = tables.iter().map(|t| t.size).sum();
            let entries: u64 = tables.iter().map(|t| t.entries).sum();
            note(format_args!(
                "nokv: flushed {} table{} ({entries} entries, {})",
                tables.len(),
                if tables.len() == 1 { "" } else { "s" },
                human_bytes(bytes)
            ));
        }
    }
    Ok(())
}

/// A table as JSON: number, file, size, entries, key range (`smallest`/`largest` escaped as
/// text and `smallest_hex`/`largest_hex`, both always), sequences.
pub fn table_json(t: &TableMeta) -> Value {
    let mut map = Map::new();
    map.insert("number".into(), t.number.0.into());
    map.insert("file".into(), crate::filenames::table_name(t.number).into());
    map.insert("size".into(), t.size.into());
    map.insert("entries".into(), t.entries.into());
    // Both forms, always, so that `jq .smallest` never gives null: the key escaped as `scan`
    // prints it, and its exact bytes in hex.
    map.insert("smallest".into(), escaped(&t.smallest).into());
    map.insert("smallest_hex".into(), output::hex(&t.smallest).into());
    map.insert("largest".into(), escaped(&t.largest).into());
    map.insert("largest_hex".into(), output::hex(&t.largest).into());
    map.insert("min_seq".into(), t.min_seq.0.into());
    map.insert("max_seq".into(), t.max_seq.0.into());
    Value::Object(map)
}
