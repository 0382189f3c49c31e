//! The end of a load: the bad records, the summary (text on stderr or `--json` on stdout),
//! and the exit status.

use std::time::Duration;

use serde_json::json;

use super::sink::IngestSummary;
use super::{Outcome, Stop};
use crate::cli::args::{GlobalArgs, LoadArgs};
use crate::cli::output::{self, note};
use crate::cli::{CliError, EXIT_BAD_INPUT};

/// Prints the bad records, the summary, and picks the exit status.
pub(super) fn report(
    global: &GlobalArgs,
    args: &LoadArgs,
    outcome: &Outcome,
    records: u64,
    bytes: u64,
    elapsed: Duration,
    ingested: &IngestSummary,
) -> Result<(), CliError> {
    if !global.quiet {
        for warning in &outcome.warnings {
            note(format_args!("nokv: warning: {warning}"));
        }
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
            "warnings": outcome.warnings,
        }))?;
    }
    let skipped = if outcome.bad > 0 && !matches!(outcome.stop, Some(Stop::Bad(_))) {
        format!(", {} bad records skipped", outcome.bad)
    } else {
        String::new()
    };
    let summary = format!(
        "loaded {records} records ({}) in {secs:.2} s, {rate:.0} records/s{skipped}",
        output::human_bytes(bytes)
    );
    match &outcome.stop {
        None if records == 0 && outcome.bad > 0 => Err(CliError::Status {
            code: EXIT_BAD_INPUT,
            message: Some(format!(
                "every record was bad ({} bad record{} skipped); nothing was loaded",
                outcome.bad,
                if outcome.bad == 1 { "" } else { "s" }
            )),
        }),
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
