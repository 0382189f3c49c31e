//! The text formats `load` reads and `scan`/`export` write, one file per format holding both
//! its reader and its writer, so each format's round-trip contract lives in one place.
//!
//! - [`tsv`]: `key<TAB>value` lines with backslash escapes (the default).
//! - [`csv`]: RFC 4180, two fields per record.
//! - [`jsonl`]: one JSON object per line.

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
