//! `nokv events`: the `EVENTS` history (see `crate::events`) as a table or JSON lines,
//! filtered by time and kind, optionally followed live. Read-only: never takes `LOCK`, never
//! writes, works while another process appends.

use std::time::Duration;

use crate::events::{self, Event, EventKind, Follower};
use crate::vfs::RealFs;

use super::require_database;
use super::stats::duration;
use crate::cli::args::{EventsArgs, GlobalArgs};
use crate::cli::output::{self, human_bytes, Stdout};
use crate::cli::{terminal, CliError};

/// How often `--follow` looks for new lines.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

/// Runs `events`.
///
/// # Errors
/// A missing workdir or database; stdout errors.
pub fn run(global: &GlobalArgs, args: &EventsArgs) -> Result<(), CliError> {
    let dir = &global.workdir;
    require_database(dir)?;
    let vfs = RealFs::new();
    // Take the follower's position first, so nothing appended while the history is read is
    // missed (an event may then print twice at most, never be lost).
    let mut follower = args.follow.then(|| Follower::at_end(&vfs, dir));
    let (history, bad) = events::read_all(&vfs, dir);
    if bad > 0 {
        output::note(format!(
            "nokv: warning: {bad} line(s) of {} did not parse and were skipped",
            dir.join(crate::filenames::EVENTS).display()
        ));
    }
    // On a terminal the detail is cut to its width; in a pipe or file it is kept whole.
    let width = terminal::size().map(|(cols, _)| cols);
    let mut out = Stdout::new();
    let mut printed = 0u64;
    if !args.json {
        out.write(header().as_bytes())?;
    }
    for event in history.iter().filter(|e| wanted(args, e)) {
        write_event(&mut out, args.json, event, width)?;
        printed += 1;
    }
    out.flush()?;
    let Some(follower) = follower.as_mut() else {
        if printed == 0 {
            output::note(format!("nokv: no matching events in {}", dir.display()));
        }
        return Ok(());
    };
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        for event in follower.poll(&vfs).iter().filter(|e| wanted(args, e)) {
            write_event(&mut out, args.json, event, width)?;
        }
        out.flush()?;
    }
}

fn wanted(args: &EventsArgs, event: &Event) -> bool {
    args.since.is_none_or(|since| event.unix >= since)
        && (args.kind.is_empty() || args.kind.contains(&event.kind))
}

fn write_event(
    out: &mut Stdout,
    json: bool,
    event: &Event,
    width: Option<usize>,
) -> Result<(), CliError> {
    if json {
        let mut line = serde_json::to_string(event).unwrap_or_default();
        line.push('\n');
        out.write(line.as_bytes())
    } else {
        out.write(row(event, width).as_bytes())
    }
}

/// Column widths: time, kind, duration, bytes, tables, levels; the detail takes the rest.
const WIDTHS: [usize; 6] = [14, 10, 8, 10, 5, 5];

fn header() -> String {
    let [t, k, d, b, n, l] = WIDTHS;
    format!(
        "{:<t$} {:<k$} {:>d$} {:>b$} {:>n$} {:<l$} {}\n",
        "TIME (UTC)", "KIND", "DURATION", "BYTES", "FILES", "LEVEL", "DETAIL"
    )
}

/// One table row: at most `width` characters when a width is given.
fn row(event: &Event, width: Option<usize>) -> String {
    let [t, k, d, b, n, l] = WIDTHS;
    // `2026-12-01T20:51:53.123456Z` -> `12-01 20:51:53`
    let time = event
        .time
        .get(5..19)
        .map_or_else(|| event.time.clone(), |s| s.replacen('T', " ", 1));
    let tables = match (event.tables_in.len(), event.tables_out.len()) {
        (0, 0) => "-".to_string(),
        (0, out) => out.to_string(),
        (inputs, out) => format!("{inputs}→{out}"),
    };
    let level = |l: Option<u32>| l.map_or(String::new(), |l| format!("L{l}"));
    let levels = match (event.level_in, event.level_out) {
        (None, None) => "-".to_string(),
        (None, out) => level(out),
        (inputs, out) => format!("{}→{}", level(inputs), level(out)),
    };
    let mut detail = match (&event.error, &event.detail) {
        (Some(error), _) => format!("error: {error}"),
        (None, Some(detail)) => detail.clone(),
        (None, None) => String::new(),
    };
    if event.count > 1 {
        detail = format!("{} times; {detail}", event.count);
    }
    if event.kind == EventKind::Compaction && event.error.is_none() {
        detail = format!("read {}; {detail}", human_bytes(event.bytes_in));
        detail = detail.trim_end_matches("; ").to_string();
    }
    let bytes = if event.bytes_out > 0 {
        human_bytes(event.bytes_out)
    } else {
        "-".into()
    };
    let mut line = format!(
        "{time:<t$} {:<k$} {:>d$} {bytes:>b$} {tables:>n$} {levels:<l$} ",
        event.kind.as_str(),
        duration(event.duration_ms),
    );
    let used = line.chars().count();
    match width {
        Some(width) if used + detail.chars().count() > width => {
            let room = width.saturating_sub(used + 1);
            line.extend(detail.chars().take(room));
            line.push('…');
        }
        _ => line.push_str(&detail),
    }
    let line = line.trim_end().to_string();
    line + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FileNumber, TableMeta};

    fn table(number: u64, size: u64) -> TableMeta {
        TableMeta {
            number: FileNumber(number),
            size,
            entries: 10,
            ..TableMeta::default()
        }
    }

    #[test]
    fn rows_fit_80_columns_and_show_the_essentials() {
        let flush = Event::flushed(
            Some(&table(12, 65_536)),
            FileNumber(11),
            Duration::from_micros(150),
            Duration::from_millis(12),
            Duration::from_micros(300),
        );
        let line = row(&flush, Some(80));
        assert!(line.chars().count() <= 81, "{line}");
        for needle in [
            "flush",
            "12.3 ms",
            "64.0 KiB",
            " 1 ",
            "L0",
            "wal 000011.wal",
        ] {
            assert!(line.contains(needle), "{needle} in {line}");
        }
        let message = "fsync 000012.sst: Input/output error ".repeat(5);
        let mut error = Event::background_error(message.trim_end());
        error.time = "2026-12-01T20:51:53.123456Z".into();
        let line = row(&error, Some(80));
        assert!(line.starts_with("12-01 20:51:53 error"), "{line}");
        assert_eq!(line.trim_end().chars().count(), 80, "{line}");
        assert!(line.trim_end().ends_with('…'));
        // Not on a terminal: nothing is cut.
        assert!(row(&error, None).ends_with(&format!("{}\n", message.trim_end())));
        assert!(header().chars().count() <= 81);
    }
}
