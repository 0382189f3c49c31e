//! The filesystem seam. Every file operation of the engine goes through [`Vfs`], so that
//! tests can swap the real filesystem ([`RealFs`]) for a fault-injecting wrapper
//! ([`FaultVfs`]) or an in-memory filesystem that forgets unsynced bytes on a simulated
//! power loss ([`MemVfs`]).
//!
//! Contracts every implementation keeps:
//! - [`WritableFile::append`] returns only when the bytes are in the kernel (a completed
//!   `write(2)`); no implementation buffers in user space, so `kill -9` after a return loses
//!   nothing.
//! - [`WritableFile::sync`] makes the file's bytes durable; a directory entry (create,
//!   rename, remove) is durable only after [`Vfs::sync_dir`] on its parent.
//! - [`Vfs::rename_no_replace`] is atomic and fails if the destination exists; where the
//!   platform cannot do that it fails with [`Error::RenameNoReplaceUnsupported`] and never
//!   falls back to a check-then-rename.
//! - Errors name the operation and the path ([`Error::Io`]).

mod fault;
mod mem;
mod real;

pub use fault::{FaultAction, FaultRule, FaultVfs, Op, OpKind, OpSelector};
pub use mem::{MemVfs, PageWriteback};
pub use real::RealFs;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A file open for appending. Methods take `&self` so one handle can be shared between a
/// writer and a concurrent group-commit fsync.
pub trait WritableFile: Send + Sync {
    /// Appends all of `data` at the end of the file. When this returns `Ok`, the bytes are
    /// in the kernel.
    fn append(&self, data: &[u8]) -> Result<()>;
    /// Makes every appended byte durable (fdatasync).
    fn sync(&self) -> Result<()>;
    /// The path the file was opened at.
    fn path(&self) -> &Path;
}

/// A file open for positional reads.
pub trait ReadableFile: Send + Sync {
    /// Fills `buf` from `offset`. Reading past the end is an error (`UnexpectedEof`).
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// The file's size when it was opened.
    fn size(&self) -> u64;
    /// The path the file was opened at.
    fn path(&self) -> &Path;
}

/// A held lock; dropping it releases the lock.
pub trait FileLock: Send + Sync + fmt::Debug {}

/// Every filesystem operation the engine performs.
pub trait Vfs: Send + Sync + fmt::Debug {
    /// Creates a new, empty file; fails if it exists (`O_CREAT|O_EXCL`).
    fn create_new(&self, path: &Path) -> Result<Box<dyn WritableFile>>;
    /// Opens an existing file to append at its end.
    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>>;
    /// Opens an existing file for positional reads.
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>>;
    /// Renames `from` to `to`, atomically replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Renames `from` to `to` atomically, failing if `to` exists
    /// (`renameat2(RENAME_NOREPLACE)`).
    fn rename_no_replace(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> Result<()>;
    /// Cuts a file to `len` bytes and makes the new length durable.
    fn truncate(&self, path: &Path, len: u64) -> Result<()>;
    /// Makes the directory's entries (creates, renames, removes) durable.
    fn sync_dir(&self, path: &Path) -> Result<()>;
    /// Creates a directory and its parents; durable on return.
    fn create_dir_all(&self, path: &Path) -> Result<()>;
    /// Names (not paths) of the directory's entries, sorted.
    fn list_dir(&self, path: &Path) -> Result<Vec<String>>;
    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> Result<bool>;
    /// Size of the file in bytes.
    fn file_size(&self, path: &Path) -> Result<u64>;
    /// Takes an exclusive lock on `path` (created if missing) and records this process's pid
    /// in it. Fails with [`Error::Locked`] naming the lock file's directory when another
    /// holder has it.
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>>;
    /// Whether another holder has the lock on `path`, and its pid when the file names one.
    /// Read-only: never creates the file, never keeps the lock. `Ok(None)` when nobody holds
    /// it (or the file does not exist).
    fn lock_holder(&self, path: &Path) -> Result<Option<Option<u32>>>;
    /// Gives the file at `from` a second name `to` (a hard link: one inode, so the bytes are
    /// shared, and removing either name leaves the other). Fails if `to` exists; durable after
    /// [`Vfs::sync_dir`] on `to`'s parent. Only for immutable files (tables). The default
    /// answers "unsupported", and callers copy instead.
    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        let _ = from;
        Err(Error::io("link", to)(io::Error::new(
            io::ErrorKind::Unsupported,
            "hard links are not supported by this filesystem",
        )))
    }
}

/// How many times [`read_all`] reads a file again that shrank under it.
const READ_ALL_SHRINK_RETRIES: u32 = 4;

/// Reads a whole file, as it is at the end of the read: one that shrinks while it is read is
/// read again at its new size.
pub fn read_all(vfs: &dyn Vfs, path: &Path) -> Result<Vec<u8>> {
    let mut file = vfs.open_read(path)?;
    let mut attempts = 0;
    loop {
        let len = usize::try_from(file.size()).map_err(|_| {
            Error::io("read", path)(io::Error::new(
                io::ErrorKind::InvalidData,
                "file too large for memory",
            ))
        })?;
        let mut buf = vec![0u8; len];
        match file.read_exact_at(0, &mut buf) {
            Ok(()) => return Ok(buf),
            // The file shrank after its size was taken: a recovering writer cut a torn WAL
            // tail beside a read-only reader (and may have appended since). Read it again
            // at its new size; a size that did not change, or keeps changing, is an error
            // as it is.
            Err(err) if err.is_unexpected_eof() && attempts < READ_ALL_SHRINK_RETRIES => {
                attempts += 1;
                file = vfs.open_read(path)?;
                if file.size() == len as u64 {
                    return Err(err);
                }
            }
            Err(err) => return Err(err),
        }
    }
}

/// Replaces `path` atomically with `data`: write `<path>.tmp.<pid>.<ns>`, fsync it, rename it
/// over `path`, fsync the directory. A crash leaves either the old or the new content.
///
/// The temporary is removed if any step before the rename fails.
pub fn write_atomic(vfs: &dyn Vfs, path: &Path, data: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(crate::filenames::temp_name(&name));
    let written = (|| {
        let file = vfs.create_new(&temp)?;
        file.append(data)?;
        // IMPORTANT: the new content is durable before it becomes visible under `path`.
        file.sync()
    })();
    if let Err(err) = written {
        let _ = vfs.remove_file(&temp);
        return Err(err);
    }
    if let Err(err) = vfs.rename(&temp, path) {
        let _ = vfs.remove_file(&temp);
        return Err(err);
    }
    vfs.sync_dir(&dir)
}

/// The directory containing `path` (`.` for a bare name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Maps an OS error from `renameat2(RENAME_NOREPLACE)`: "not supported" answers (EINVAL,
/// ENOSYS, EOPNOTSUPP) become [`Error::RenameNoReplaceUnsupported`], everything else is
/// [`Error::Io`]. Shared by the real filesystem and the fault injector so an injected
/// EINVAL looks exactly like a real one.
pub fn rename_no_replace_error(from: &Path, to: &Path, source: io::Error) -> Error {
    const EINVAL: i32 = 22;
    const ENOSYS: i32 = 38;
    const EOPNOTSUPP: i32 = 95;
    match source.raw_os_error() {
        Some(EINVAL | ENOSYS | EOPNOTSUPP) => Error::RenameNoReplaceUnsupported {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        },
        _ if source.kind() == io::ErrorKind::Unsupported => Error::RenameNoReplaceUnsupported {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        },
        _ => Error::Io {
            op: "rename-no-replace",
            path: to.to_path_buf(),
            source,
        },
    }
}
