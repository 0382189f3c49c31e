//! The one error type of the engine.
//!
//! Every variant carries what an operator needs to act on it: the operation and the path for
//! I/O, the file and the byte offset for corruption. `Display` is written for humans
//! ("fsync 000012.wal: No space left on device"), never a `Debug` dump. The CLI maps
//! variants to exit codes; the engine itself never prints.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    Io {
        /// What was being done: "create", "write", "fsync", "rename", ...
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's answer.
        source: io::Error,
    },
    /// On-disk bytes failed a checksum, a magic number, a length or a structural check.
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged record, block or field.
        offset: u64,
        /// What is wrong, in a few words.
        reason: String,
    },
    /// A file was written by a format version this build does not read.
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The version this build writes and reads.
        supported: u32,
    },
    /// A file that the manifest references, or that open needs, is missing.
    MissingFile {
        /// The missing file.
        path: PathBuf,
        /// Why it was expected.
        reason: String,
    },
    /// The workdir has files but no readable `CURRENT`: it is refused rather than treated
    /// as a fresh empty database.
    NotADatabase {
        /// The workdir.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// Another process holds the workdir's `LOCK`.
    Locked {
        /// The workdir.
        path: PathBuf,
        /// The holder's pid, when the lock file names one.
        pid: Option<u32>,
    },
    /// The platform or filesystem cannot rename without replacing; strict mode refuses to
    /// fall back to a non-atomic install.
    RenameNoReplaceUnsupported {
        /// The source of the rename.
        from: PathBuf,
        /// The destination that must not be replaced.
        to: PathBuf,
        /// The operating system's answer (EINVAL, ENOSYS, ...).
        source: io::Error,
    },
    /// An earlier background failure (flush, fsync) left the engine unable to accept writes.
    /// Nothing acknowledged is lost; reopen the workdir to recover.
    Background {
        /// The message of the failure that poisoned the engine.
        cause: String,
    },
    /// A caller passed something the engine cannot accept.
    InvalidArgument(String),
    /// The engine has been closed.
    Closed,
    /// A read-only open or a checkpoint kept finding the workdir changed under it (a live
    /// writer compacting tables away or reclaiming WAL segments between its reads) and gave
    /// up after a bounded number of fresh starts from `CURRENT`.
    WorkdirChanging {
        /// The workdir.
        path: PathBuf,
        /// Fresh starts made.
        attempts: u32,
        /// What the last attempt met.
        last: String,
    },
}

impl Error {
    /// Builds a closure for `map_err` that names the operation and the path.
    pub fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
        move |source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// A corruption error at `offset` in `path`.
    pub fn corruption(path: &Path, offset: u64, reason: impl Into<String>) -> Error {
        Error::Corruption {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for an I/O error saying the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// True for an I/O error saying a read ran past the end of the file.
    pub fn is_unexpected_eof(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::UnexpectedEof)
    }

    /// True when the error reports damaged on-disk bytes.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::Corruption { .. } | Error::UnsupportedFormat { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, source } => write!(f, "{op} {}: {source}", path.display()),
            Error::Corruption {
                path,
                offset,
                reason,
            } => write!(
                f,
                "corruption in {} at offset {offset}: {reason}",
                path.display()
            ),
            Error::UnsupportedFormat {
                path,
                found,
                supported,
            } => write!(
                f,
                "{}: unsupported format version {found} (this build reads version {supported})",
                path.display()
            ),
            Error::MissingFile { path, reason } => {
                write!(f, "missing file {}: {reason}", path.display())
            }
            Error::NotADatabase { path, reason } => write!(
                f,
                "{} is not a nokv workdir (or its CURRENT is damaged): {reason}",
                path.display()
            ),
            Error::Locked { path, pid } => match pid {
                Some(pid) => write!(
                    f,
                    "workdir {} is locked by another process (pid {pid})",
                    path.display()
                ),
                None => write!(f, "workdir {} is locked by another process", path.display()),
            },
            Error::RenameNoReplaceUnsupported { from, to, source } => write!(
                f,
                "rename {} -> {} without replace is not supported by this platform or \
                 filesystem ({source}); strict durability needs it (use --durability fast)",
                from.display(),
                to.display()
            ),
            Error::Background { cause } => write!(
                f,
                "writes refused after a background failure: {cause} (nothing acknowledged is \
                 lost; reopen to recover)"
            ),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::Closed => write!(f, "the database is closed"),
            Error::WorkdirChanging {
                path,
                attempts,
                last,
            } => write!(
                f,
                "workdir {} kept changing under the read ({attempts} fresh starts from CURRENT; \
                 a writer is compacting or flushing faster than the read can open its files); \
                 last: {last}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::RenameNoReplaceUnsupported { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_operation_and_path() {
        let err = Error::io("fsync", Path::new("000012.wal"))(io::Error::from_raw_os_error(28));
        let text = err.to_string();
        assert!(text.starts_with("fsync 000012.wal: "), "{text}");
        assert!(text.contains("No space left"), "{text}");
    }

    #[test]
    fn corruption_names_file_and_offset() {
        let err = Error::corruption(Path::new("d/000013.sst"), 4096, "bad block checksum");
        assert_eq!(
            err.to_string(),
            "corruption in d/000013.sst at offset 4096: bad block checksum"
        );
        assert!(err.is_corruption());
    }
}
