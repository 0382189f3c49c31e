//! Bytes as `load` input in each format: one record (`parse_record`) and a whole input
//! (`parse_input`). No panic; what `export` writes (tsv, jsonl, csv), `load` reads back exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nokv::cli::load::{
    csv_record, json_record, parse_input, parse_record, tsv_record, LoadFormat, Record,
};

const FORMATS: [LoadFormat; 3] = [LoadFormat::Tsv, LoadFormat::Csv, LoadFormat::Jsonl];

fn line(mut encoded: Vec<u8>) -> Vec<u8> {
    assert_eq!(encoded.pop(), Some(b'\n'));
    encoded
}

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = nokv_fuzz::split_mode(data);
    for format in FORMATS {
        let _ = parse_record(format, rest);
        let parsed = parse_input(format, rest);
        // A good record re-exported (tsv/jsonl) reads back the same.
        for record in parsed.records.iter().take(16) {
            if let Record::Put { key, value } = record {
                let mut out = Vec::new();
                tsv_record(&mut out, key, value);
                assert_eq!(
                    parse_record(LoadFormat::Tsv, &line(out)).as_ref(),
                    Ok(record)
                );
            }
        }
    }
    // Export -> load round trip for arbitrary bytes: split the input into key and value.
    let split = usize::from(mode).min(rest.len());
    let (key, value) = rest.split_at(split);
    if key.is_empty() {
        return;
    }
    let want = Record::Put {
        key: key.to_vec(),
        value: value.to_vec(),
    };
    let mut tsv = Vec::new();
    tsv_record(&mut tsv, key, value);
    let mut json = Vec::new();
    json_record(&mut json, key, value);
    let mut csv = Vec::new();
    csv_record(&mut csv, key, value);
    for (format, encoded) in [
        (LoadFormat::Tsv, tsv),
        (LoadFormat::Jsonl, json),
        (LoadFormat::Csv, csv),
    ] {
        let parsed = parse_input(format, &encoded);
        assert_eq!(parsed.records, vec![want.clone()], "{format:?} {encoded:?}");
        assert_eq!(parsed.bad, 0);
        assert_eq!(parse_record(format, &line(encoded)), Ok(want.clone()));
    }
});
