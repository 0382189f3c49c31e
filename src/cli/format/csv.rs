//! CSV: RFC 4180 records of exactly two fields, no header; a record may span lines inside
//! quotes; CRLF and LF both end a record. The reader (`load`).

use super::Op;

/// Whether a CSV record ends inside a quoted field (so it continues on the next line).
pub fn csv_open_quote(record: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        if in_quotes {
            if b == b'"' {
                if record.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if b == b'"' && field_start {
            in_quotes = true;
            field_start = false;
        } else {
            field_start = b == b',';
        }
        i += 1;
    }
    in_quotes
}

/// One RFC 4180 record of exactly two fields (the record's line breaks included; the final
/// LF already removed).
pub fn parse_csv<'a>(
    record: &'a [u8],
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
                Some(b',') => {
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
            let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(record: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        match parse_csv(record, &mut k, &mut v)? {
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
    }
}
