//! `CURRENT`: the one-line pointer to the live manifest, `MANIFEST-000004 1a2b3c4d\n`, where
//! the second word is the CRC32 of the name as exactly eight lowercase hex digits. It is only
//! ever replaced whole, with [`write_atomic`].

use std::path::Path;

use crate::codec::crc32;
use crate::error::{Error, Result};
use crate::filenames::{self, FileKind, CURRENT};
use crate::vfs::{read_all, write_atomic, Vfs};

/// A `CURRENT` larger than this is damaged (the longest valid one is about 40 bytes).
const MAX_CURRENT_LEN: u64 = 256;

/// The content of `CURRENT` naming `manifest`.
pub(crate) fn current_content(manifest: &str) -> String {
    format!("{manifest} {:08x}\n", crc32(manifest.as_bytes()))
}

/// Points `CURRENT` at `manifest` atomically: temp + fsync + rename + directory fsync.
pub(crate) fn write_current(vfs: &dyn Vfs, dir: &Path, manifest: &str) -> Result<()> {
    write_atomic(
        vfs,
        &dir.join(CURRENT),
        current_content(manifest).as_bytes(),
    )
}

/// True when `err` is an I/O error saying the file does not exist.
pub(crate) fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// The manifest file name that `CURRENT` names. `Ok(None)` when `CURRENT` does not exist;
/// [`Error::Corruption`] when its format or checksum is bad; other errors are I/O.
pub fn read_current(vfs: &dyn Vfs, dir: &Path) -> Result<Option<String>> {
    let path = dir.join(CURRENT);
    let size = match vfs.file_size(&path) {
        Err(e) if is_not_found(&e) => return Ok(None),
        other => other?,
    };
    if size > MAX_CURRENT_LEN {
        return Err(Error::corruption(
            &path,
            0,
            format!("{size} bytes long; a valid CURRENT is one short line"),
        ));
    }
    let bytes = match read_all(vfs, &path) {
        Err(e) if is_not_found(&e) => return Ok(None),
        other => other?,
    };
    parse_current(&bytes)
        .map(Some)
        .map_err(|(offset, reason)| Error::corruption(&path, offset, reason))
}

/// Parses `CURRENT`'s bytes; on failure the byte offset and the reason.
fn parse_current(bytes: &[u8]) -> std::result::Result<String, (u64, String)> {
    let Some((&last, line)) = bytes.split_last() else {
        return Err((0, "empty".to_string()));
    };
    if last != b'\n' {
        return Err((
            line.len() as u64,
            "does not end with a newline (incomplete or damaged)".to_string(),
        ));
    }
    let Some(space) = line.iter().position(|&b| b == b' ') else {
        return Err((0, "no checksum after the manifest name".to_string()));
    };
    let (name, hex) = (&line[..space], &line[space + 1..]);
    let name = std::str::from_utf8(name)
        .ok()
        .filter(|n| matches!(filenames::parse(n), Some(FileKind::Manifest(_))))
        .ok_or_else(|| {
            (
                0,
                format!(
                    "{:?} is not a manifest file name",
                    name.escape_ascii().to_string()
                ),
            )
        })?;
    let hex_at = (space + 1) as u64;
    if hex.len() != 8 || !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err((
            hex_at,
            format!(
                "checksum {:?} is not 8 lowercase hex digits",
                hex.escape_ascii().to_string()
            ),
        ));
    }
    // Eight validated hex digits always parse.
    let stored = std::str::from_utf8(hex)
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| (hex_at, "unreadable checksum".to_string()))?;
    let actual = crc32(name.as_bytes());
    if stored != actual {
        return Err((
            hex_at,
            format!("checksum mismatch: stored {stored:08x}, name hashes to {actual:08x}"),
        ));
    }
    Ok(name.to_string())
}
