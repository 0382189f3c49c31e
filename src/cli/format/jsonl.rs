//! JSON lines: one object per line. The reader (`load`) and the writer (`scan --json`,
//! `export --format jsonl`, `get --json`).
//!
//! A byte string named `key` is `"key": "<text>"` when the bytes are valid UTF-8, otherwise
//! `"key_hex": "<lowercase hex>"`. Exactly one of the two is present. A record is
//! `{"key":..,"value":..}` (or the `_hex` forms) with an optional `"op":"put"|"delete"`;
//! unknown fields are bad input.

use std::borrow::Cow;

use serde::Deserialize;

use super::Op;
use crate::cli::output::{unhex_into, HEX};

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

/// One `{"key":..,"value":..}` line (with its newline) appended to `out`.
pub fn json_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(b'{');
    json_bytes_field(out, "key", key);
    out.push(b',');
    json_bytes_field(out, "value", value);
    out.extend_from_slice(b"}\n");
}

/// A jsonl record: text fields borrowed from the line where possible.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord<'a> {
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key_hex: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value_hex: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    op: Option<Cow<'a, str>>,
}

/// `{"key":..,"value":..}` / `key_hex` / `value_hex` / `"op":"delete"`.
pub fn parse_jsonl<'a>(
    line: &[u8],
    key_buf: &'a mut Vec<u8>,
    value_buf: &'a mut Vec<u8>,
) -> Result<Op<'a>, String> {
    if line.is_empty() {
        return Err("empty line (expected a JSON object)".into());
    }
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "invalid UTF-8 at column {} (JSON lines must be UTF-8; give binary keys and \
             values as key_hex/value_hex)",
            e.valid_up_to() + 1
        )
    })?;
    let record: JsonRecord<'_> = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        format!("invalid JSON record: {message} at column {}", e.column())
    })?;
    let delete = match record.op.as_deref() {
        None | Some("put") => false,
        Some("delete") => true,
        Some(other) => {
            return Err(format!(
                "unknown op `{other}` (expected \"put\" or \"delete\")"
            ))
        }
    };
    key_buf.clear();
    match (&record.key, &record.key_hex) {
        (Some(key), None) => key_buf.extend_from_slice(key.as_bytes()),
        (None, Some(hex)) => {
            unhex_into(hex.as_bytes(), key_buf).map_err(|e| format!("key_hex: {e}"))?
        }
        (Some(_), Some(_)) => return Err("both \"key\" and \"key_hex\" given".into()),
        (None, None) => return Err("no \"key\" (or \"key_hex\") field".into()),
    }
    value_buf.clear();
    match (&record.value, &record.value_hex, delete) {
        (None, None, true) => return Ok(Op::Delete(key_buf)),
        (_, _, true) => return Err("a delete takes no value".into()),
        (Some(value), None, false) => value_buf.extend_from_slice(value.as_bytes()),
        (None, Some(hex), false) => {
            unhex_into(hex.as_bytes(), value_buf).map_err(|e| format!("value_hex: {e}"))?
        }
        (Some(_), Some(_), false) => return Err("both \"value\" and \"value_hex\" given".into()),
        (None, None, false) => return Err("no \"value\" (or \"value_hex\") field".into()),
    }
    Ok(Op::Put(key_buf, value_buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsonl(line: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_jsonl(line, &mut k, &mut v)? {
            Op::Put(k, v) => Ok((k.to_vec(), Some(v.to_vec()))),
            Op::Delete(k) => Ok((k.to_vec(), None)),
        }
    }

    #[test]
    fn jsonl_records() {
        assert_eq!(
            jsonl(br#"{"key":"k","value":"v"}"#).unwrap(),
            (b"k".to_vec(), Some(b"v".to_vec()))
        );
        assert_eq!(
            jsonl(br#"{"key_hex":"00ff","value_hex":"","op":"put"}"#).unwrap(),
            (vec![0, 0xff], Some(vec![]))
        );
        assert_eq!(
            jsonl(br#"{"key":"a\tb\u0000","op":"delete"}"#).unwrap(),
            (b"a\tb\0".to_vec(), None)
        );
        assert_eq!(
            jsonl(b"{\"key\":\"k\",\"value\":\"v\"}\r").unwrap(),
            (b"k".to_vec(), Some(b"v".to_vec()))
        );
        assert!(jsonl(b"{\"key\":\"\xff\"}").unwrap_err().contains("UTF-8"));
        assert!(jsonl(br#"{"key":"k"}"#)
            .unwrap_err()
            .contains("no \"value\""));
        assert!(jsonl(br#"{"key":"k","val":"v"}"#)
            .unwrap_err()
            .contains("unknown field"));
        assert!(jsonl(br#"{"key":"k","value":"v","op":"merge"}"#).is_err());
        assert!(jsonl(br#"{"key":"k","key_hex":"00","value":"v"}"#).is_err());
        assert!(jsonl(br#"{"key_hex":"0","value":"v"}"#)
            .unwrap_err()
            .contains("key_hex"));
        assert!(jsonl(br#"{"key":"k","value":"v""#)
            .unwrap_err()
            .contains("column"));
        assert!(jsonl(b"[1,2]").is_err());
        assert!(jsonl(b"").is_err());
    }

    #[test]
    fn json_uses_hex_fields_only_for_non_utf8() {
        let mut out = Vec::new();
        json_record(&mut out, b"k\t\"", &[0xff]);
        assert_eq!(out, b"{\"key\":\"k\\t\\\"\",\"value_hex\":\"ff\"}\n");
    }
}
