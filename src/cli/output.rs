//! Output helpers: the byte escaping shared by `scan`, `export` and `load`, hex, the JSON
//! encoding of byte strings, a stdout writer that reports a closed pipe, and tables.
//!
//! Text encoding (`key<TAB>value` lines): bytes are written as they are, except
//! `\t` `\n` `\r` `\\` (written as those two-character escapes), other ASCII control bytes
//! (0x00-0x1f, 0x7f) and bytes that are not part of valid UTF-8 (written as `\xHH`).
//! `load` reads `\t \n \r \\ \xHH` back, so every byte string round-trips.
//!
//! JSON encoding of a byte string named `key`: `"key": "<text>"` when the bytes are valid
//! UTF-8, otherwise `"key_hex": "<lowercase hex>"`. Exactly one of the two is present.

use std::io::{self, Write};

use comfy_table::{presets, ContentArrangement, Table};

use super::CliError;

/// Appends `bytes` to `out` in the text encoding (see the module docs).
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    // Fast path: printable ASCII without a backslash goes through unchanged.
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
    {
        out.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x00..=0x1f | 0x7f => push_hex_escape(b, out),
                _ => out.push(b),
            }
        }
        for &b in chunk.invalid() {
            push_hex_escape(b, out);
        }
    }
}

fn push_hex_escape(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\x");
    out.push(HEX[(b >> 4) as usize]);
    out.push(HEX[(b & 15) as usize]);
}

/// `bytes` in the text encoding, as a `String` (for messages and tables).
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    escape_into(bytes, &mut out);
    // The escaping only emits valid UTF-8; never panic if that ever changed.
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the bytes that `field` (in the text encoding) stands for to `out`.
///
/// # Errors
/// A reason naming the bad escape and its 1-based byte column within `field`.
pub fn unescape_into(field: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while i < field.len() {
        let rest = &field[i..];
        let Some(pos) = rest.iter().position(|&b| b == b'\\') else {
            out.extend_from_slice(rest);
            return Ok(());
        };
        out.extend_from_slice(&rest[..pos]);
        i += pos;
        let Some(&code) = field.get(i + 1) else {
            return Err(format!(
                "backslash at the end of the field (column {}); write a backslash as \\\\",
                i + 1
            ));
        };
        match code {
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hi = field.get(i + 2).copied().and_then(hex_value);
                let lo = field.get(i + 3).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => {
                        let end = (i + 4).min(field.len());
                        return Err(format!(
                            "bad hex escape `{}` at column {} (expected \\x and two hex digits)",
                            escaped(&field[i..end]),
                            i + 1
                        ));
                    }
                }
                i += 2;
            }
            other => {
                return Err(format!(
                    "bad escape `\\{}` at column {} (known escapes: \\t \\n \\r \\\\ \\xHH)",
                    escaped(&[other]),
                    i + 1
                ));
            }
        }
        i += 2;
    }
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(b: u8) -> Option<u8> {
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

/// Appends `"name":"text"` or `"name_hex":"hex"` (no separators) to `out`.
pub fn json_bytes_field(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            json_string(out, name);
            out.push(b':');
            json_string(out, text);
        }
        Err(_) => {
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"_hex\":\"");
            for &b in bytes {
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
            out.push(b'"');
        }
    }
}

/// Appends `text` as a JSON string literal.
pub fn json_string(out: &mut Vec<u8>, text: &str) {
    // Writing to a Vec cannot fail; serializing a str cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
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

/// One `{"key":..,"value":..}` line (with its newline) appended to `out`.
pub fn json_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(b'{');
    json_bytes_field(out, "key", key);
    out.push(b',');
    json_bytes_field(out, "value", value);
    out.extend_from_slice(b"}\n");
}

/// One `key<TAB>value` line (with its newline) appended to `out`.
pub fn tsv_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    escape_into(key, out);
    out.push(b'\t');
    escape_into(value, out);
    out.push(b'\n');
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

    fn roundtrip(bytes: &[u8]) {
        let mut text = Vec::new();
        escape_into(bytes, &mut text);
        assert!(!text.contains(&b'\t') && !text.contains(&b'\n') && !text.contains(&b'\r'));
        assert!(std::str::from_utf8(&text).is_ok());
        let mut back = Vec::new();
        unescape_into(&text, &mut back).unwrap();
        assert_eq!(back, bytes);
    }

    #[test]
    fn escaping_round_trips_every_byte() {
        roundtrip(b"plain");
        roundtrip(b"tab\there\nnl\rcr\\bs\0nul\x7f");
        roundtrip(&[0xff, 0xfe, b'a', 0xc3]);
        roundtrip("h\u{e9}llo \u{1f600}".as_bytes());
        let all: Vec<u8> = (0..=255).collect();
        roundtrip(&all);
        assert_eq!(escaped(b"a\tb\\"), "a\\tb\\\\");
        assert_eq!(escaped(&[0xff, 0]), "\\xff\\x00");
    }

    #[test]
    fn bad_escapes_are_reported_with_their_column() {
        let mut out = Vec::new();
        let err = unescape_into(b"ab\\q", &mut out).unwrap_err();
        assert!(err.contains("column 3"), "{err}");
        assert!(unescape_into(b"a\\", &mut out).is_err());
        assert!(unescape_into(b"a\\x4", &mut out).is_err());
        assert!(unescape_into(b"a\\xzz", &mut out).is_err());
        out.clear();
        unescape_into(b"\\x41\\X", &mut out).unwrap_err();
        out.clear();
        unescape_into(b"\\x41\\x6A", &mut out).unwrap();
        assert_eq!(out, b"Aj");
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex(&[0, 0xff, 0x1a]), "00ff1a");
        assert_eq!(unhex(b"00FF1a").unwrap(), vec![0, 0xff, 0x1a]);
        assert!(unhex(b"0").is_err());
        assert!(unhex(b"zz").unwrap_err().contains("position 1"));
        assert!(unhex(b"0g").unwrap_err().contains("position 2"));
    }

    #[test]
    fn json_uses_hex_fields_only_for_non_utf8() {
        let mut out = Vec::new();
        json_record(&mut out, b"k\t\"", &[0xff]);
        assert_eq!(out, b"{\"key\":\"k\\t\\\"\",\"value_hex\":\"ff\"}\n");
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
