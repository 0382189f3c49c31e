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

/// One `{"key":..}` line (with its newline) appended to `out` (`scan --keys-only --json`).
pub fn json_key(out: &mut Vec<u8>, key: &[u8]) {
    out.push(b'{');
    json_bytes_field(out, "key", key);
    out.extend_from_slice(b"}\n");
}

/// A jsonl record: text fields borrowed from the line where possible.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord<'a> {
    #[serde(borrow, default, deserialize_with = "string")]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    key_hex: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    value: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    value_hex: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "string")]
    op: Option<Cow<'a, str>>,
}

/// A field that is present must be a string: `null` is bad input, not "absent" (a record
/// with `"value":null` and `"value_hex":".."` would otherwise load).
fn string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string (leave a field out rather than give it as null)")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
    }
    d.deserialize_str(Text).map(Some)
}

/// What a JSON text that is not an object starts as, for the message.
fn not_an_object(text: &str) -> Option<&'static str> {
    match text.trim_start().as_bytes().first()? {
        b'{' => None,
        b'[' => Some("an array"),
        b'"' => Some("a string"),
        b'n' => Some("null"),
        b't' | b'f' => Some("a boolean"),
        b'-' | b'0'..=b'9' => Some("a number"),
        _ => None,
    }
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
    if let Some(found) = not_an_object(text) {
        return Err(format!(
            "expected a JSON object {{\"key\":..,\"value\":..}}, found {found}"
        ));
    }
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
        assert!(jsonl(b"[1,2]").unwrap_err().contains("found an array"));
        // serde's derive would fill the struct from a sequence: an array is never a record.
        assert!(jsonl(br#"["a",null,null,null,"delete"]"#)
            .unwrap_err()
            .contains("expected a JSON object"));
        assert!(jsonl(br#" ["k",null,"v"]"#).is_err());
        assert!(jsonl(b"null").unwrap_err().contains("found null"));
        assert!(jsonl(b"\"k\"").unwrap_err().contains("found a string"));
        assert!(jsonl(b"12").unwrap_err().contains("found a number"));
        // A present field is a string; null is not "absent".
        let err = jsonl(br#"{"key":"k","value":null,"value_hex":"76"}"#).unwrap_err();
        assert!(err.contains("invalid type: null"), "{err}");
        assert!(jsonl(br#"{"key":"k","value":"v","op":null}"#).is_err());
        assert!(jsonl(br#"{"key":7,"value":"v"}"#).is_err());
        // Escaped strings (owned) still work.
        assert_eq!(
            jsonl(br#"{"key":"a\"b","value":"\u00e9"}"#).unwrap(),
            (b"a\"b".to_vec(), Some("\u{e9}".as_bytes().to_vec()))
        );
        assert!(jsonl(b"").is_err());
    }

    #[test]
    fn json_uses_hex_fields_only_for_non_utf8() {
        let mut out = Vec::new();
        json_record(&mut out, b"k\t\"", &[0xff]);
        assert_eq!(out, b"{\"key\":\"k\\t\\\"\",\"value_hex\":\"ff\"}\n");
    }
}
