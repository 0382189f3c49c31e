//! CSV: RFC 4180 records of exactly two fields; a record may span lines inside quotes; CRLF
//! and LF both end a record. The reader (`load`) and the writer (`export --format csv`).
//!
//! The reader takes the delimiter from `--delimiter` (default `,`); a header row is skipped
//! with `--header` (the pipeline does that). The writer quotes a field when it holds the
//! delimiter, a quote, CR or LF, or starts with a UTF-8 byte-order mark (which `load` would
//! otherwise strip from the first record), doubling quotes inside; every other byte is
//! written as it is, so any byte string round-trips.

use super::Op;

/// Where a CSV record being read stands with its quotes, carried from line to line so that
/// a quoted field spanning many lines is scanned once (linear time, however many lines it
/// spans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteState {
    /// Outside quotes; `true` at the start of a field.
    Unquoted(bool),
    /// Inside a quoted field.
    Quoted,
    /// Inside a quoted field, just after a quote: `""` (a quote) or the closing quote.
    QuoteInQuoted,
}

impl QuoteState {
    /// The state at the start of a record.
    pub const START: QuoteState = QuoteState::Unquoted(true);

    /// Advances over `bytes`; afterwards [`QuoteState::open`] says whether the record goes on
    /// past a line break.
    pub fn scan(&mut self, bytes: &[u8], delimiter: u8) {
        let mut state = *self;
        for &b in bytes {
            state = match state {
                QuoteState::Quoted if b == b'"' => QuoteState::QuoteInQuoted,
                QuoteState::Quoted => QuoteState::Quoted,
                QuoteState::QuoteInQuoted if b == b'"' => QuoteState::Quoted,
                QuoteState::QuoteInQuoted | QuoteState::Unquoted(_) => {
                    if b == b'"' && state == QuoteState::Unquoted(true) {
                        QuoteState::Quoted
                    } else {
                        QuoteState::Unquoted(b == delimiter)
                    }
                }
            };
        }
        *self = state;
    }

    /// Whether the record read so far ends inside a quoted field (so it continues on the
    /// next line).
    pub fn open(self) -> bool {
        self == QuoteState::Quoted
    }
}

/// Whether a CSV record ends inside a quoted field (so it continues on the next line).
#[cfg(test)]
fn csv_open_quote(record: &[u8]) -> bool {
    let mut state = QuoteState::START;
    state.scan(record, b',');
    state.open()
}

/// One RFC 4180 record of exactly two fields (the record's line breaks included; the final
/// LF already removed).
pub fn parse_csv<'a>(
    record: &'a [u8],
    delimiter: u8,
    key_buf: &'a mut Vec<u8>,
    value_buf: &'a mut Vec<u8>,
) -> Result<Op<'a>, String> {
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if record.is_empty() {
        return Err("empty line (expected two fields: key,value)".into());
    }
    key_buf.clear();
    value_buf.clear();
    let mut field = 0usize;
    let mut i = 0usize;
    loop {
        let out = match field {
            0 => &mut *key_buf,
            1 => &mut *value_buf,
            _ => {
                return Err(format!(
                    "more than two fields (a third starts at column {}; quote fields that \
                     contain commas)",
                    i + 1
                ))
            }
        };
        if record.get(i) == Some(&b'"') {
            // Quoted field: "" is a quote; anything else up to the closing quote is data.
            let open = i;
            i += 1;
            loop {
                match record.get(i) {
                    None => {
                        return Err(format!(
                            "unterminated quoted field (opened at column {})",
                            open + 1
                        ))
                    }
                    Some(b'"') if record.get(i + 1) == Some(&b'"') => {
                        out.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            match record.get(i) {
                None => break,
                Some(&b) if b == delimiter => {
                    i += 1;
                    field += 1;
                }
                Some(_) => {
                    return Err(format!(
                        "unexpected character after a closing quote at column {}",
                        i + 1
                    ))
                }
            }
        } else {
            let rest = &record[i..];
            let end = rest
                .iter()
                .position(|&b| b == delimiter)
                .unwrap_or(rest.len());
            let data = &rest[..end];
            if let Some(pos) = data.iter().position(|&b| b == b'"') {
                return Err(format!(
                    "quote inside an unquoted field at column {} (quote the whole field and \
                     double the quote)",
                    i + pos + 1
                ));
            }
            if let Some(pos) = data.iter().position(|&b| b == b'\r' || b == b'\n') {
                return Err(format!(
                    "line break inside an unquoted field at column {} (quote the field)",
                    i + pos + 1
                ));
            }
            out.extend_from_slice(data);
            i += end;
            if i >= record.len() {
                break;
            }
            // At a comma.
            i += 1;
            field += 1;
            if i == record.len() {
                // A trailing comma: the next field is empty.
                if field > 1 {
                    return Err("more than two fields (a trailing comma)".into());
                }
                break;
            }
        }
    }
    if field == 0 {
        return Err("one field; expected two (key,value)".into());
    }
    Ok(Op::Put(key_buf, value_buf))
}

/// Whether a field must be quoted to read back as itself.
fn needs_quotes(field: &[u8], delimiter: u8) -> bool {
    field.starts_with(super::BOM)
        || field
            .iter()
            .any(|&b| b == delimiter || b == b'"' || b == b'\r' || b == b'\n')
}

/// Appends `field`, quoted when it needs to be.
fn push_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8) {
    if !needs_quotes(field, delimiter) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// One `key,value` record (with its LF) appended to `out`.
pub fn csv_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    push_field(out, key, b',');
    out.push(b',');
    push_field(out, value, b',');
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(record: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_csv(record, b',', &mut k, &mut v)? {
            Op::Put(k, v) => Ok((k.to_vec(), v.to_vec())),
            Op::Delete(_) => unreachable!(),
        }
    }

    #[test]
    fn csv_records() {
        assert_eq!(csv(b"k,v").unwrap(), (b"k".to_vec(), b"v".to_vec()));
        assert_eq!(csv(b"k,v\r").unwrap(), (b"k".to_vec(), b"v".to_vec()));
        assert_eq!(csv(b"k,").unwrap(), (b"k".to_vec(), b"".to_vec()));
        assert_eq!(
            csv(b"\"a,b\",\"say \"\"hi\"\"\nthere\r\"").unwrap(),
            (b"a,b".to_vec(), b"say \"hi\"\nthere\r".to_vec())
        );
        assert!(csv(b"").is_err());
        assert!(csv(b"k").unwrap_err().contains("one field"));
        assert!(csv(b"a,b,c").unwrap_err().contains("more than two"));
        assert!(csv(b"a,b,").unwrap_err().contains("more than two"));
        assert!(csv(b"a\"b,c").unwrap_err().contains("quote inside"));
        assert!(csv(b"\"ab,c").unwrap_err().contains("unterminated"));
        assert!(csv(b"\"a\"b,c")
            .unwrap_err()
            .contains("after a closing quote"));
        assert!(csv_open_quote(b"\"a"));
        assert!(csv_open_quote(b"k,\"a\"\"b"));
        assert!(!csv_open_quote(b"k,\"a\"\"b\""));
        assert!(!csv_open_quote(b"a\"b,c"));
        // Carried across lines: the same answer as scanning the whole record at once.
        let mut state = QuoteState::START;
        state.scan(b"k,\"a\"", b',');
        state.scan(b"\"", b',');
        assert!(state.open(), "{state:?}");
        state.scan(b"\n\"", b',');
        assert!(!state.open());
        let mut semi = QuoteState::START;
        semi.scan(b"k;\"a", b';');
        assert!(semi.open());
    }

    #[test]
    fn records_written_read_back() {
        for (key, value) in [
            (&b"k"[..], &b"v"[..]),
            (b"a,b", b"say \"hi\"\r\n"),
            (b"\xef\xbb\xbfbom", b""),
            (b"\xff\x00", b" spaced "),
        ] {
            let mut out = Vec::new();
            csv_record(&mut out, key, value);
            assert_eq!(out.pop(), Some(b'\n'));
            assert_eq!(
                csv(&out).unwrap(),
                (key.to_vec(), value.to_vec()),
                "{out:?}"
            );
        }
    }
}
