//! The real filesystem: std for files, `renameat2(RENAME_NOREPLACE)` through rustix, directory
//! fsync by opening the directory, and `LOCK` through `flock` (`File::try_lock`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FileLock, ReadableFile, Vfs, WritableFile};
use crate::error::{Error, Result};

/// The operating system's filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl RealFs {
    /// A handle to the real filesystem.
    pub fn new() -> Self {
        RealFs
    }
}

struct RealWritable {
    file: File,
    path: PathBuf,
}

impl WritableFile for RealWritable {
    fn append(&self, data: &[u8]) -> Result<()> {
        // `&File` implements `Write` with no user-space buffer: when this returns, the bytes
        // are in the kernel.
        (&self.file)
            .write_all(data)
            .map_err(Error::io("write", &self.path))
    }

    fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(Error::io("fsync", &self.path))
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

struct RealReadable {
    file: File,
    size: u64,
    path: PathBuf,
}

impl ReadableFile for RealReadable {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(Error::io("read", &self.path))
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug)]
struct RealLock {
    _file: File,
}

impl FileLock for RealLock {}

impl Vfs for RealFs {
    fn create_new(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(path)
            .map_err(Error::io("create", path))?;
        Ok(Box::new(RealWritable {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(Error::io("open", path))?;
        Ok(Box::new(RealWritable {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        let file = File::open(path).map_err(Error::io("open", path))?;
        let meta = file.metadata().map_err(Error::io("stat", path))?;
        if meta.is_dir() {
            return Err(Error::io("open", path)(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )));
        }
        Ok(Arc::new(RealReadable {
            file,
            size: meta.len(),
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(Error::io("rename", from))
    }

    fn rename_no_replace(&self, from: &Path, to: &Path) -> Result<()> {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE)
            .map_err(|errno| super::rename_no_replace_error(from, to, errno.into()))
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(Error::io("remove", path))
    }

    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(Error::io("open", path))?;
        file.set_len(len).map_err(Error::io("truncate", path))?;
        file.sync_all().map_err(Error::io("fsync", path))
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let dir = File::open(path).map_err(Error::io("open directory", path))?;
        dir.sync_all().map_err(Error::io("fsync directory", path))
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(Error::io("create directory", path))?;
        // Make the new entries durable: the directory itself and its entry in the parent.
        self.sync_dir(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.sync_dir(parent)?;
        }
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(Error::io("list directory", path))? {
            let entry = entry.map_err(Error::io("list directory", path))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        path.try_exists().map_err(Error::io("stat", path))
    }

    fn file_size(&self, path: &Path) -> Result<u64> {
        Ok(std::fs::metadata(path)
            .map_err(Error::io("stat", path))?
            .len())
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map_err(Error::io("open", path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(Error::Locked {
                    path: super::parent_dir(path),
                    pid: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(err)) => return Err(Error::io("lock", path)(err)),
        }
        // Record our pid for the next process's error message. Best effort: the lock itself is
        // the flock, not the content.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Box::new(RealLock { _file: file }))
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::hard_link(from, to).map_err(Error::io("link", to))
    }

    fn lock_holder(&self, path: &Path) -> Result<Option<Option<u32>>> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io("open", path)(err)),
        };
        match file.try_lock_shared() {
            // Released when `file` drops.
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Ok(Some(text.trim().parse().ok()))
            }
            Err(TryLockError::Error(err)) => Err(Error::io("lock", path)(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_no_replace_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs.create_new(&a).unwrap().append(b"new").unwrap();
        fs.create_new(&b).unwrap().append(b"old").unwrap();
        let err = fs.rename_no_replace(&a, &b).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        std::fs::remove_file(&b).unwrap();
        fs.rename_no_replace(&a, &b).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"new");
    }

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let path = dir.path().join("LOCK");
        let _held = fs.lock(&path).unwrap();
        match fs.lock(&path) {
            Err(Error::Locked { path: p, pid }) => {
                assert_eq!(p, dir.path());
                assert_eq!(pid, Some(std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(
            fs.lock_holder(&path).unwrap(),
            Some(Some(std::process::id()))
        );
    }

    #[test]
    fn lock_holder_is_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let path = dir.path().join("LOCK");
        assert_eq!(fs.lock_holder(&path).unwrap(), None);
        assert!(!path.exists(), "a probe never creates the lock file");
        drop(fs.lock(&path).unwrap());
        assert_eq!(fs.lock_holder(&path).unwrap(), None);
    }

    #[test]
    fn create_new_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let path = dir.path().join("x");
        fs.create_new(&path).unwrap();
        assert!(fs.create_new(&path).is_err());
    }
}
