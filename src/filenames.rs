//! Every name the engine gives a file, in one place: how to format it and how to parse it.
//!
//! ```text
//! WORKDIR/
//!   LOCK                          flock held by the read-write owner; holds its pid
//!   CURRENT                       "MANIFEST-000004 <crc32 hex>\n"
//!   MANIFEST-000004               manifest log
//!   000012.sst                    table
//!   000013.sst.tmp.<pid>.<ns>     strict-mode temporary
//!   wal/000011.wal                WAL segment
//!   STATS                         last published stats snapshot (JSON)
//!   EVENTS, EVENTS.1              event history (JSON lines; EVENTS.1 is the rotated one)
//! ```
//!
//! Numbers are written zero-padded to six digits but parsed at any width, so file 1234567
//! is as much a table as file 12.

use crate::types::FileNumber;

/// The lock file.
pub const LOCK: &str = "LOCK";
/// The pointer to the live manifest.
pub const CURRENT: &str = "CURRENT";
/// The published stats snapshot.
pub const STATS: &str = "STATS";
/// The event history.
pub const EVENTS: &str = "EVENTS";
/// The event history before the last rotation.
pub const EVENTS_PREVIOUS: &str = "EVENTS.1";
/// The directory holding WAL segments.
pub const WAL_DIR: &str = "wal";
/// Marker inside temporary names.
pub const TEMP_MARKER: &str = ".tmp.";

/// The kinds of files found in a workdir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `000012.sst`
    Table(FileNumber),
    /// `wal/000011.wal`
    Wal(FileNumber),
    /// `MANIFEST-000004`
    Manifest(FileNumber),
    /// `CURRENT`
    Current,
    /// `LOCK`
    Lock,
    /// `STATS`
    Stats,
    /// `EVENTS` or `EVENTS.1`
    Events,
    /// Anything with `.tmp.` in its name: a crash leftover when nobody is writing it.
    Temp,
}

/// `000012.sst`
pub fn table_name(number: FileNumber) -> String {
    format!("{:06}.sst", number.0)
}

/// `000011.wal` (inside [`WAL_DIR`]).
pub fn wal_name(number: FileNumber) -> String {
    format!("{:06}.wal", number.0)
}

/// `MANIFEST-000004`
pub fn manifest_name(number: FileNumber) -> String {
    format!("MANIFEST-{:06}", number.0)
}

/// `<final>.tmp.<pid>.<ns>`: unique per process and instant.
pub fn temp_name(final_name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{final_name}{TEMP_MARKER}{}.{nanos}", std::process::id())
}

fn parse_number(digits: &str) -> Option<FileNumber> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(FileNumber)
}

/// Classifies a file name found in the workdir (or, for WAL segments, in [`WAL_DIR`]).
pub fn parse(name: &str) -> Option<FileKind> {
    if name.contains(TEMP_MARKER) {
        return Some(FileKind::Temp);
    }
    match name {
        CURRENT => return Some(FileKind::Current),
        LOCK => return Some(FileKind::Lock),
        STATS => return Some(FileKind::Stats),
        EVENTS | EVENTS_PREVIOUS => return Some(FileKind::Events),
        _ => {}
    }
    if let Some(digits) = name.strip_suffix(".sst") {
        return parse_number(digits).map(FileKind::Table);
    }
    if let Some(digits) = name.strip_suffix(".wal") {
        return parse_number(digits).map(FileKind::Wal);
    }
    if let Some(digits) = name.strip_prefix("MANIFEST-") {
        return parse_number(digits).map(FileKind::Manifest);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_at_any_width() {
        assert_eq!(table_name(FileNumber(12)), "000012.sst");
        assert_eq!(parse("000012.sst"), Some(FileKind::Table(FileNumber(12))));
        assert_eq!(
            parse("1234567.sst"),
            Some(FileKind::Table(FileNumber(1_234_567)))
        );
        assert_eq!(parse("000011.wal"), Some(FileKind::Wal(FileNumber(11))));
        assert_eq!(
            parse("MANIFEST-000004"),
            Some(FileKind::Manifest(FileNumber(4)))
        );
        assert_eq!(parse("000013.sst.tmp.42.99"), Some(FileKind::Temp));
        assert_eq!(parse("EVENTS"), Some(FileKind::Events));
        assert_eq!(parse("EVENTS.1"), Some(FileKind::Events));
        assert_eq!(parse("x.sst"), None);
        assert_eq!(parse("notes.txt"), None);
    }

    #[test]
    fn temp_name_keeps_the_final_name_as_prefix() {
        let t = temp_name("000013.sst");
        assert!(t.starts_with("000013.sst.tmp."), "{t}");
        assert_eq!(parse(&t), Some(FileKind::Temp));
    }
}
