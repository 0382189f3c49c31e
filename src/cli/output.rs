//! Output helpers: escaped text for messages, hex, the JSON encoding of byte strings in
//! documents, a stdout writer that reports a closed pipe, and tables. The record formats
//! themselves (reader and writer of each) live in [`crate::cli::format`].

use std::io::{self, Write};

use comfy_table::{presets, ContentArrangement, Table};

use super::CliError;

pub use super::format::jsonl::json_record;
pub use super::format::tsv::escape_into;

/// `bytes` in the text encoding, as a `String` (for messages and tables).
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    escape_into(bytes, &mut out);
    // The escaping only emits valid UTF-8; never panic if that ever changed.
    String::from_utf8_lossy(&out).into_owned()
}

/// Lowercase hex digits.
pub const HEX: &[u8; 16] = b"0123456789abcdef";

/// The value of one hex digit (either case).
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// Decodes hex (either case) into `out`.
///
/// # Errors
/// A reason naming the first bad character or an odd length.
pub fn unhex_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!(
            "odd number of hex digits ({}); every byte takes two",
            text.len()
        ));
    }
    out.reserve(text.len() / 2);
    for (i, pair) in text.chunks_exact(2).enumerate() {
        match (hex_value(pair[0]), hex_value(pair[1])) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => {
                let at = if hex_value(pair[0]).is_none() {
                    2 * i
                } else {
                    2 * i + 1
                };
                return Err(format!(
                    "`{}` at position {} is not a hex digit",
                    escaped(&text[at..at + 1]),
                    at + 1
                ));
            }
        }
    }
    Ok(())
}

/// Decodes hex.
///
/// # Errors
/// As [`unhex_into`].
pub fn unhex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    unhex_into(text, &mut out)?;
    Ok(out)
}

/// Buffered stdout. Every failure is an error naming stdout, and a closed pipe becomes
/// [`CliError::BrokenPipe`] (which exits 0 quietly).
pub struct Stdout {
    buf: Vec<u8>,
    out: io::Stdout,
}

impl Stdout {
    /// A new writer.
    pub fn new() -> Self {
        Stdout {
            buf: Vec::with_capacity(1 << 16),
            out: io::stdout(),
        }
    }

    /// The buffer to append to; call [`Stdout::maybe_flush`] after appending.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Appends bytes.
    ///
    /// # Errors
    /// As [`Stdout::flush`].
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        self.buf.extend_from_slice(bytes);
        self.maybe_flush()
    }

    /// Writes the buffer out once it is large.
    ///
    /// # Errors
    /// As [`Stdout::flush`].
    pub fn maybe_flush(&mut self) -> Result<(), CliError> {
        if self.buf.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything buffered to stdout.
    ///
    /// # Errors
    /// [`CliError::BrokenPipe`] when the reader went away; an I/O error otherwise.
    pub fn flush(&mut self) -> Result<(), CliError> {
        let mut lock = self.out.lock();
        let result = lock.write_all(&self.buf).and_then(|()| lock.flush());
        self.buf.clear();
        result.map_err(stdout_error)
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

/// Maps a write error on stdout.
pub fn stdout_error(err: io::Error) -> CliError {
    if err.kind() == io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::Io {
            context: "write to stdout".into(),
            source: err,
        }
    }
}

/// Writes one whole document (text or JSON) to stdout.
///
/// # Errors
/// As [`Stdout::flush`].
pub fn print(text: impl AsRef<[u8]>) -> Result<(), CliError> {
    let mut out = Stdout::new();
    out.write(text.as_ref())?;
    out.flush()
}

/// Writes a JSON document and a newline to stdout.
///
/// # Errors
/// As [`Stdout::flush`].
pub fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let mut value = value.clone();
    round_times(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    print(text)
}

/// Rounds every number under a key ending in `_ms` to whole microseconds (three decimals),
/// and under `_secs` to six, so scripts see `0.035`, not `0.034533999999999995`.
pub fn round_times(value: &mut serde_json::Value) {
    use serde_json::Value;
    fn round(value: &mut Value, decimals: i32) {
        if let Some(f) = value.as_f64().filter(|_| value.is_f64()) {
            let scale = 10f64.powi(decimals);
            if let Some(n) = serde_json::Number::from_f64((f * scale).round() / scale) {
                *value = Value::Number(n);
            }
        }
    }
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if key.ends_with("_ms") {
                    round(field, 3);
                } else if key.ends_with("_secs") {
                    round(field, 6);
                }
                round_times(field);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_times),
        _ => {}
    }
}

/// Prints a serializable report as pretty JSON, with `"format_version": 1` added.
///
/// # Errors
/// As [`print`].
pub fn print_report_json(report: &impl serde::Serialize) -> Result<(), CliError> {
    let mut value = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("format_version".into(), 1.into());
    }
    print_json(&value)
}

/// A message on stderr. Never fails: a closed stderr is ignored.
pub fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "{text}");
}

/// The width to lay tables and prose out to: `COLUMNS` when set (so a script or a test can
/// ask for a width), else the terminal's when stdout is one, else none (a pipe or a file gets
/// whole lines).
pub fn terminal_width() -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c >= 20);
    columns.or_else(|| Table::new().width().map(usize::from))
}

/// A table in the house style (UTF-8 borders on a terminal, ASCII otherwise), laid out to
/// [`terminal_width`]: cells wrap so that no line is wider.
pub fn table(header: &[&str]) -> Table {
    use std::io::IsTerminal;
    let mut table = Table::new();
    if io::stdout().is_terminal() {
        table.load_preset(presets::UTF8_FULL_CONDENSED);
    } else {
        table.load_preset(presets::ASCII_FULL_CONDENSED);
    }
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = terminal_width() {
        table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    }
    table.set_header(header.iter().copied());
    table
}

/// `rows` under `header`, laid out to [`terminal_width`]: a table when it fits at its natural
/// width, otherwise one block of `field: value` lines per row (empty fields left out, long
/// values wrapped), which reads better than a table squeezed into narrow columns. Columns
/// that no row fills are left out either way. Ends with a newline.
pub fn table_or_records(header: &[&str], rows: &[Vec<String>]) -> String {
    let used: Vec<usize> = (0..header.len())
        .filter(|&c| {
            c == 0
                || rows
                    .iter()
                    .any(|row| row.get(c).is_some_and(|v| !v.is_empty()))
        })
        .collect();
    let cell = |row: &Vec<String>, c: usize| row.get(c).cloned().unwrap_or_default();
    let mut table = table(&used.iter().map(|&c| header[c]).collect::<Vec<_>>());
    table.set_content_arrangement(ContentArrangement::Disabled);
    for row in rows {
        table.add_row(used.iter().map(|&c| cell(row, c)).collect::<Vec<_>>());
    }
    let text = format!("{table}\n");
    let width = terminal_width();
    let natural = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let Some(width) = width.filter(|&w| natural > w) else {
        return text;
    };
    let label = used.iter().map(|&c| header[c].len()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for &c in &used {
            let value = cell(row, c);
            if value.is_empty() {
                continue;
            }
            let field = format!("{:<label$}{value}", format!("{}:", header[c]));
            out.push_str(&wrap_hard(&field, width, label));
        }
    }
    out
}

/// As [`wrap`], and a word longer than a line is cut (keys and file names have no spaces).
fn wrap_hard(text: &str, width: usize, indent: usize) -> String {
    let room = width.saturating_sub(indent).max(1);
    let mut words = Vec::new();
    for word in text.split(' ') {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() <= room {
            words.push(word.to_string());
        } else {
            words.extend(chars.chunks(room).map(|c| c.iter().collect::<String>()));
        }
    }
    wrap(&words.join(" "), Some(width), indent)
}

/// `text` wrapped at spaces to lines of at most `width` characters (when given), each line
/// after the first indented by `indent` spaces, with a final newline.
pub fn wrap(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width else {
        return format!("{text}\n");
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_len = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if line_len > indent && line_len + 1 + len > width {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            line_len = indent;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out.push('\n');
    out
}

/// `1.5 MiB`-style size, with the exact byte count for small sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2024-05-01 12:00:00 UTC` for seconds since the Unix epoch (0 prints `-`).
pub fn utc_time(secs: u64) -> String {
    if secs == 0 {
        return "-".into();
    }
    let (year, month, day) = crate::events::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex(&[0, 0xff, 0x1a]), "00ff1a");
        assert_eq!(unhex(b"00FF1a").unwrap(), vec![0, 0xff, 0x1a]);
        assert!(unhex(b"0").is_err());
        assert!(unhex(b"zz").unwrap_err().contains("position 1"));
        assert!(unhex(b"0g").unwrap_err().contains("position 2"));
    }

    #[test]
    fn dates_render_in_utc() {
        assert_eq!(utc_time(0), "-");
        assert_eq!(utc_time(86_400 * 365), "1971-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }

    #[test]
    fn times_are_rounded_to_microseconds() {
        let mut value = serde_json::json!({
            "flush": {"wait": {"avg_ms": 0.034533999999999995, "count": 3}},
            "levels": [{"max_ms": 1.0000004}],
            "elapsed_secs": 0.1234567891,
            "ratio": 0.123456789,
        });
        round_times(&mut value);
        assert_eq!(value["flush"]["wait"]["avg_ms"], 0.035);
        assert_eq!(value["flush"]["wait"]["count"], 3);
        assert_eq!(value["levels"][0]["max_ms"], 1.0);
        assert_eq!(value["elapsed_secs"], 0.123457);
        assert_eq!(value["ratio"], 0.123456789);
    }

    #[test]
    fn prose_wraps_to_the_width() {
        assert_eq!(wrap("a b c", None, 2), "a b c\n");
        let text = wrap(
            "FAILED: 3 problems in 12 files, 1.2 MiB checked (checks: manifest)",
            Some(20),
            2,
        );
        assert!(text.lines().all(|l| l.chars().count() <= 20), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("  ")), "{text}");
        assert_eq!(text.split_whitespace().count(), 11, "{text}");
        let rows = vec![vec!["orphan".to_string(), String::new(), "x ".repeat(30)]];
        let narrow = table_or_records(&["kind", "level", "detail"], &rows);
        assert!(
            !narrow.contains("level"),
            "empty columns are left out: {narrow}"
        );
        // A word longer than the width stays whole on its own line.
        assert_eq!(wrap("ab 0123456789", Some(5), 0), "ab\n0123456789\n");
    }
}
