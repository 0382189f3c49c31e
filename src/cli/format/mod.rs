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
