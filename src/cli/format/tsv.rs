//! TSV: `key<TAB>value` lines. The reader (`load`) and the writer (`scan`, `export`).
//!
//! Text encoding: bytes are written as they are, except `\t` `\n` `\r` `\\` (written as
//! those two-character escapes), other ASCII control bytes (0x00-0x1f, 0x7f) and bytes that
//! are not part of valid UTF-8 (written as `\xHH`). The reader takes `\t \n \r \\ \xHH`
//! back, so every byte string round-trips.
//!
//! A line ending in CR (CRLF line endings) is bad input: an unescaped CR before the newline
//! is ambiguous, and a CR in data is written `\r`. A second unescaped tab is bad input too.

use super::Op;
use crate::cli::output::{escaped, hex_value, HEX};

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
            // PostgreSQL's `COPY ... TO` writes these three; the writer uses \xHH instead.
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' => {
                let hi = field.get(i + 2).copied().and_then(hex_value);
                let lo = field.get(i + 3).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => {
                        let end = (i + 4).min(field.len());
                        return Err(format!(
                            "bad hex escape `\\{}` at column {} (expected \\x and two hex digits)",
                            // The escape as it appears in the input, shown once.
                            escaped(&field[i + 1..end]),
                            i + 1
                        ));
                    }
                }
                i += 2;
            }
            other => {
                return Err(format!(
                    "bad escape `\\{}` at column {} (known escapes: \\t \\n \\r \\\\ \\b \\f \\v \\xHH)",
                    escaped(&[other]),
                    i + 1
                ));
            }
        }
        i += 2;
    }
    Ok(())
}

/// One `key<TAB>value` line (with its newline) appended to `out`.
pub fn tsv_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    // A key starting with a byte-order mark is escaped, or `load` would read the mark as
    // nothing when the record comes first in a file.
    let key = match key.strip_prefix(super::BOM) {
        Some(rest) => {
            out.extend_from_slice(b"\\xef\\xbb\\xbf");
            rest
        }
        None => key,
    };
    escape_into(key, out);
    out.push(b'\t');
    escape_into(value, out);
    out.push(b'\n');
}

/// One escaped key and a newline appended to `out` (`scan --keys-only`).
pub fn tsv_key(out: &mut Vec<u8>, key: &[u8]) {
    escape_into(key, out);
    out.push(b'\n');
}

/// `key<TAB>value` with backslash escapes.
pub fn parse_tsv<'a>(
    line: &'a [u8],
    key_buf: &'a mut Vec<u8>,
    value_buf: &'a mut Vec<u8>,
) -> Result<Op<'a>, String> {
    if line.is_empty() {
        return Err("empty line (expected key<TAB>value)".into());
    }
    if line.last() == Some(&b'\r') {
        return Err(
            "line ends with a carriage return (CRLF line endings are not accepted; write a CR \
             in data as \\r)"
                .into(),
        );
    }
    let Some(tab) = line.iter().position(|&b| b == b'\t') else {
        return Err("no tab between key and value (expected key<TAB>value)".into());
    };
    let (key, value) = (&line[..tab], &line[tab + 1..]);
    if let Some(second) = value.iter().position(|&b| b == b'\t') {
        return Err(format!(
            "a second tab at column {} (write a tab in data as \\t)",
            tab + second + 2
        ));
    }
    let key = unescape_field(key, key_buf).map_err(|e| format!("key: {e}"))?;
    let value = unescape_field(value, value_buf).map_err(|e| {
        // Columns in the value count from the start of the line.
        format!("value (from column {}): {e}", tab + 2)
    })?;
    Ok(Op::Put(key, value))
}

/// The field itself when it has no escape, else its unescaped bytes in `buf`.
fn unescape_field<'a>(field: &'a [u8], buf: &'a mut Vec<u8>) -> Result<&'a [u8], String> {
    if !field.contains(&b'\\') {
        return Ok(field);
    }
    buf.clear();
    unescape_into(field, buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(line: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_tsv(line, &mut k, &mut v)? {
            Op::Put(k, v) => Ok((k.to_vec(), v.to_vec())),
            Op::Delete(_) => unreachable!(),
        }
    }

    #[test]
    fn tsv_lines() {
        assert_eq!(tsv(b"k\tv").unwrap(), (b"k".to_vec(), b"v".to_vec()));
        assert_eq!(tsv(b"k\t").unwrap(), (b"k".to_vec(), b"".to_vec()));
        assert_eq!(
            tsv(b"a\\tb\tc\\nd\\x00\\\\").unwrap(),
            (b"a\tb".to_vec(), b"c\nd\0\\".to_vec())
        );
        assert!(tsv(b"").unwrap_err().contains("empty line"));
        assert!(tsv(b"kv").unwrap_err().contains("no tab"));
        assert!(tsv(b"k\tv\r").unwrap_err().contains("carriage return"));
        assert!(tsv(b"k\tv\tw").unwrap_err().contains("second tab"));
        assert!(tsv(b"k\\q\tv").unwrap_err().contains("bad escape"));
        assert!(tsv(b"k\tv\\xZZ").unwrap_err().contains("bad hex escape"));
        // The bad escape is shown as written, once.
        let err = tsv(b"k\tv\\xG0").unwrap_err();
        assert!(err.contains("`\\xG0`") && !err.contains("\\\\"), "{err}");
        let err = tsv(b"k\\q\tv").unwrap_err();
        assert!(err.contains("`\\q`"), "{err}");
        // PostgreSQL COPY's \b \f \v.
        assert_eq!(
            tsv(b"k\\b\tv\\f\\v").unwrap(),
            (b"k\x08".to_vec(), b"v\x0c\x0b".to_vec())
        );
        // Raw bytes (invalid UTF-8, NUL) are taken as they are.
        assert_eq!(tsv(b"\xff\0\t\x80").unwrap(), (vec![0xff, 0], vec![0x80]));
    }

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
}
