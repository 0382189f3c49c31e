//! The text formats `load` reads and `scan`/`export` write, one file per format holding both
//! its reader and its writer, so each format's round-trip contract lives in one place.
//!
//! - [`tsv`]: `key<TAB>value` lines with backslash escapes (the default).
//! - [`csv`]: RFC 4180, two fields per record.
//! - [`jsonl`]: one JSON object per line.

use crate::cli::args::ExportFormat;

pub mod csv;
pub mod jsonl;
pub mod tsv;

/// One decoded record.
#[derive(Clone, Copy)]
pub enum Op<'a> {
    /// Write the value under the key.
    Put(&'a [u8], &'a [u8]),
    /// Delete the key.
    Delete(&'a [u8]),
}

/// The UTF-8 byte-order mark that Excel's "CSV UTF-8" and some editors put first in a file;
/// `load` reads it as nothing at the start of every input, in every format.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// Appends one record (with its newline) in `format`: what `scan` and `export` print.
pub fn write_record(format: ExportFormat, out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    match format {
        ExportFormat::Tsv => tsv::tsv_record(out, key, value),
        ExportFormat::Jsonl => jsonl::json_record(out, key, value),
        ExportFormat::Csv => csv::csv_record(out, key, value),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::write_record;
    use crate::cli::args::{ExportFormat, LoadFormat};
    use crate::cli::load::{parse_input, Record};

    /// Bytes biased towards the ones every format treats specially.
    fn nasty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let special = prop_oneof![
            Just(b'\t'),
            Just(b'\n'),
            Just(b'\r'),
            Just(b'\\'),
            Just(b'"'),
            Just(b','),
            Just(0u8),
            Just(0xefu8),
            Just(0xbbu8),
            Just(0xbfu8),
            Just(0xffu8),
            Just(b'{'),
        ];
        proptest::collection::vec(prop_oneof![special, any::<u8>()], 0..max)
    }

    proptest! {
        /// What `export` writes in each format, `load` reads back exactly: same records,
        /// same order, nothing bad.
        #[test]
        fn every_export_format_round_trips_through_load(
            records in proptest::collection::vec(
                (nasty_bytes(24).prop_filter("keys are not empty", |k| !k.is_empty()),
                 nasty_bytes(40)),
                1..12,
            ),
        ) {
            for (export, load) in [
                (ExportFormat::Tsv, LoadFormat::Tsv),
                (ExportFormat::Jsonl, LoadFormat::Jsonl),
                (ExportFormat::Csv, LoadFormat::Csv),
            ] {
                let mut out = Vec::new();
                for (key, value) in &records {
                    write_record(export, &mut out, key, value);
                }
                let parsed = parse_input(load, &out);
                prop_assert_eq!(parsed.bad, 0, "{:?}: {:?}", export, parsed.reported);
                let want: Vec<Record> = records
                    .iter()
                    .map(|(key, value)| Record::Put { key: key.clone(), value: value.clone() })
                    .collect();
                prop_assert_eq!(parsed.records, want, "{:?}", export);
            }
        }
    }
}
