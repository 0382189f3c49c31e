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

/// Inserts `name` or `name_hex` into a JSON object, by the scheme of the module docs.
pub fn json_bytes_insert(
    map: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    bytes: &[u8],
) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            map.insert(name.to_string(), text.into());
        }
        Err(_) => {
            map.insert(format!("{name}_hex"), hex(bytes).into());
        }
    }
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
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    print(text)
}

/// A message on stderr. Never fails: a closed stderr is ignored.
pub fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "{text}");
}

/// A table in the house style (UTF-8 borders on a terminal, ASCII otherwise).
pub fn table(header: &[&str]) -> Table {
    use std::io::IsTerminal;
    let mut table = Table::new();
    if io::stdout().is_terminal() {
        table.load_preset(presets::UTF8_FULL_CONDENSED);
    } else {
        table.load_preset(presets::ASCII_FULL_CONDENSED);
    }
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(header.iter().copied());
    table
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
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
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
}
