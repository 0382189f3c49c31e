//! An in-memory [`Vfs`] that models power loss, so crash tests can ask "what would be on disk
//! if the machine lost power right now" ([`MemVfs::crash_clone`]) or "what would be on disk if
//! the process were killed right now" ([`MemVfs::process_crash_clone`]).
//!
//! The model:
//! - A file is an inode holding `data` (every byte written, i.e. what the kernel has) and a
//!   synced length: the prefix of `data` that [`WritableFile::sync`] made durable. Appends
//!   only extend `data` and [`Vfs::truncate`] syncs, so the durable bytes are always a prefix
//!   of `data`.
//! - The namespace is a map path -> inode (the current view) plus a *durable* map. A file's
//!   directory entry (create, rename, remove) reaches the durable map only when
//!   [`Vfs::sync_dir`] is called on its parent directory.
//! - Writeback may also have reached any subset of a file's unsynced pages, torn and out of
//!   order ([`MemVfs::torn_crash_clone`], like LazyFS's torn-seq and torn-op faults): each
//!   unsynced page is written, zeroed, or lost.
//! - Simplification: directories themselves are durable as soon as
//!   [`Vfs::create_dir_all`] returns (the real implementation fsyncs them and their parent),
//!   and directories are never removed.
//! - Locks live in the shared state: a second [`Vfs::lock`] through the same `MemVfs` (or a
//!   clone of the handle) fails with [`Error::Locked`] until the first guard is dropped.
//!
//! Paths are used as given; two spellings of one file that `Path` comparison tells apart are
//! two files.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{parent_dir, FileLock, ReadableFile, Vfs, WritableFile};
use crate::error::{Error, Result};

/// One file's contents.
#[derive(Debug, Default, Clone)]
struct Inode {
    /// Everything written ("in the kernel").
    data: Vec<u8>,
    /// `data[..synced_len]` is durable. Invariant: `synced_len <= data.len()`.
    synced_len: usize,
}

type InodeRef = Arc<Mutex<Inode>>;

fn lock_inode(inode: &InodeRef) -> MutexGuard<'_, Inode> {
    inode.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Default)]
struct State {
    /// The current namespace: what `open`/`list_dir` see.
    files: BTreeMap<PathBuf, InodeRef>,
    /// The namespace that survives a power loss.
    durable: BTreeMap<PathBuf, InodeRef>,
    /// Directories (always durable, see the module docs).
    dirs: BTreeSet<PathBuf>,
    /// Paths whose lock is held.
    locks: HashSet<PathBuf>,
}

impl State {
    fn is_dir(&self, path: &Path) -> bool {
        let s = path.as_os_str();
        s.is_empty()
            || path == Path::new(".")
            || path.parent().is_none()
            || self.dirs.contains(path)
    }

    fn file(&self, path: &Path) -> Option<&InodeRef> {
        self.files.get(path)
    }

    /// A new state holding copies of `entries`' inodes (shared inodes stay shared), built with
    /// `content` deciding what each copy holds; everything in the copy is durable.
    fn fork<'a>(
        entries: impl Iterator<Item = (&'a PathBuf, &'a InodeRef)>,
        dirs: &BTreeSet<PathBuf>,
        content: impl Fn(&Path, &Inode) -> Vec<u8>,
    ) -> State {
        let mut copies: HashMap<*const Mutex<Inode>, InodeRef> = HashMap::new();
        let mut files = BTreeMap::new();
        for (path, inode) in entries {
            let copy = copies
                .entry(Arc::as_ptr(inode))
                .or_insert_with(|| {
                    let data = content(path, &lock_inode(inode));
                    let synced_len = data.len();
                    Arc::new(Mutex::new(Inode { data, synced_len }))
                })
                .clone();
            files.insert(path.clone(), copy);
        }
        State {
            durable: files.clone(),
            files,
            dirs: dirs.clone(),
            locks: HashSet::new(),
        }
    }
}

/// What writeback did with one unsynced page before a power loss
/// ([`MemVfs::torn_crash_clone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageWriteback {
    /// The page reached the disk as written.
    Written,
    /// The file size reached the disk, the page's data did not: it reads as zeros.
    Zeroed,
    /// Neither: the page is gone (zeros if a later page of the file survives).
    Lost,
}

/// The page numbers of `inode` that hold unsynced bytes.
fn unsynced_page_range(inode: &Inode, page_size: usize) -> std::ops::Range<usize> {
    if inode.data.len() <= inode.synced_len {
        return 0..0;
    }
    inode.synced_len / page_size..inode.data.len().div_ceil(page_size)
}

/// An in-memory filesystem that models power loss. A cheap handle: clones share one
/// filesystem.
#[derive(Debug, Clone, Default)]
pub struct MemVfs {
    state: Arc<Mutex<State>>,
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "No such file or directory")
}

fn already_exists() -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, "File exists")
}

fn is_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "Is a directory")
}

fn not_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::NotADirectory, "Not a directory")
}

impl MemVfs {
    /// An empty filesystem (only `.` and `/` exist).
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn from_state(state: State) -> Self {
        MemVfs {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// A new, independent filesystem holding what survives a power loss now: the durable
    /// namespace, each file holding only its synced bytes. No locks are held in it.
    pub fn crash_clone(&self) -> MemVfs {
        let state = self.state();
        Self::from_state(State::fork(
            state.durable.iter(),
            &state.dirs,
            |_, inode| inode.data[..inode.synced_len].to_vec(),
        ))
    }

    /// The files a power loss now would keep an entry for whose bytes are not all synced,
    /// each with its number of unsynced pages of `page_size` bytes (the pages overlapping
    /// the unsynced bytes, counted from the one holding the first unsynced byte). Sorted by
    /// path. These are the pages [`MemVfs::torn_crash_clone`] decides the fate of.
    pub fn unsynced_pages(&self, page_size: usize) -> Vec<(PathBuf, usize)> {
        let page_size = page_size.max(1);
        let state = self.state();
        state
            .durable
            .iter()
            .filter_map(|(path, inode)| {
                let inode = lock_inode(inode);
                let pages = unsynced_page_range(&inode, page_size).len();
                (pages > 0).then(|| (path.clone(), pages))
            })
            .collect()
    }

    /// What survives a power loss now when writeback had reached only some of the unsynced
    /// pages, torn and in any order (LazyFS's torn-seq and torn-op faults): like
    /// [`MemVfs::crash_clone`], but for each unsynced page (index as in
    /// [`MemVfs::unsynced_pages`]) `fate(path, index)` decides what the disk holds:
    /// - [`PageWriteback::Written`]: the page's bytes as written;
    /// - [`PageWriteback::Zeroed`]: zeros (the file size reached the disk, the data not);
    /// - [`PageWriteback::Lost`]: nothing; the file ends at the last page written or zeroed
    ///   (or at its synced length), and a lost page before such a page reads as zeros.
    ///
    /// Synced bytes always survive, also in a page whose unsynced part is lost.
    pub fn torn_crash_clone(
        &self,
        page_size: usize,
        fate: impl Fn(&Path, usize) -> PageWriteback,
    ) -> MemVfs {
        let page_size = page_size.max(1);
        let state = self.state();
        Self::from_state(State::fork(
            state.durable.iter(),
            &state.dirs,
            |path, inode| {
                let mut data = inode.data[..inode.synced_len].to_vec();
                for (index, page) in unsynced_page_range(inode, page_size).enumerate() {
                    let from = (page * page_size).max(inode.synced_len);
                    let to = ((page + 1) * page_size).min(inode.data.len());
                    match fate(path, index) {
                        PageWriteback::Lost => {}
                        PageWriteback::Written => {
                            data.resize(from, 0);
                            data.extend_from_slice(&inode.data[from..to]);
                        }
                        PageWriteback::Zeroed => data.resize(to, 0),
                    }
                }
                data
            },
        ))
    }

    /// A new, independent filesystem holding what survives `kill -9` now: the current
    /// namespace and every written byte, all of it durable in the copy. No locks are held in
    /// it.
    pub fn process_crash_clone(&self) -> MemVfs {
        let state = self.state();
        Self::from_state(State::fork(state.files.iter(), &state.dirs, |_, inode| {
            inode.data.clone()
        }))
    }

    /// Every file path in the current namespace, sorted.
    pub fn file_names(&self) -> Vec<PathBuf> {
        self.state().files.keys().cloned().collect()
    }

    /// The current content of the file at `path` (all written bytes), if it exists.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        let state = self.state();
        state
            .file(path.as_ref())
            .map(|i| lock_inode(i).data.clone())
    }

    /// Test helper: replaces (or creates) the file at `path` with `bytes`, durable at once:
    /// content synced and directory entry durable. Open handles to an existing file see the
    /// new content. The parent directory is not checked.
    pub fn write_file(&self, path: impl AsRef<Path>, bytes: &[u8]) {
        let path = path.as_ref();
        let mut state = self.state();
        let inode = match state.files.get(path) {
            Some(inode) => inode.clone(),
            None => {
                let inode = InodeRef::default();
                state.files.insert(path.to_path_buf(), inode.clone());
                inode
            }
        };
        {
            let mut i = lock_inode(&inode);
            i.data = bytes.to_vec();
            i.synced_len = bytes.len();
        }
        state.durable.insert(path.to_path_buf(), inode);
    }

    fn check_parent(state: &State, path: &Path, op: &'static str) -> Result<()> {
        let parent = parent_dir(path);
        if state.is_dir(&parent) {
            Ok(())
        } else if state.files.contains_key(&parent) {
            Err(Error::io(op, path)(not_a_directory()))
        } else {
            Err(Error::io(op, path)(not_found()))
        }
    }

    /// Looks up an existing regular file for `op`.
    fn existing_file(state: &State, path: &Path, op: &'static str) -> Result<InodeRef> {
        match state.file(path) {
            Some(inode) => Ok(inode.clone()),
            None if state.is_dir(path) => Err(Error::io(op, path)(is_a_directory())),
            None => Err(Error::io(op, path)(not_found())),
        }
    }

    /// Moves the entry `from` to `to` in the current namespace, replacing `to` when
    /// `replace`. Errors are raw; the caller names them.
    fn do_rename(&self, from: &Path, to: &Path, replace: bool) -> io::Result<()> {
        let mut state = self.state();
        let inode = match state.file(from) {
            Some(inode) => inode.clone(),
            None if state.is_dir(from) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "MemVfs cannot rename directories",
                ))
            }
            None => return Err(not_found()),
        };
        if state.is_dir(to) {
            return Err(is_a_directory());
        }
        if !state.is_dir(&parent_dir(to)) {
            return Err(not_found());
        }
        if from == to {
            return if replace {
                Ok(())
            } else {
                Err(already_exists())
            };
        }
        if !replace && state.files.contains_key(to) {
            return Err(already_exists());
        }
        state.files.remove(from);
        state.files.insert(to.to_path_buf(), inode);
        Ok(())
    }
}

struct MemWritable {
    inode: InodeRef,
    path: PathBuf,
}

impl WritableFile for MemWritable {
    fn append(&self, data: &[u8]) -> Result<()> {
        lock_inode(&self.inode).data.extend_from_slice(data);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut inode = lock_inode(&self.inode);
        inode.synced_len = inode.data.len();
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

struct MemReadable {
    inode: InodeRef,
    size: u64,
    path: PathBuf,
}

impl ReadableFile for MemReadable {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let inode = lock_inode(&self.inode);
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(buf.len())?))
            .filter(|r| r.end <= inode.data.len());
        match range {
            Some(range) => {
                buf.copy_from_slice(&inode.data[range]);
                Ok(())
            }
            None => Err(Error::io("read", &self.path)(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "failed to fill whole buffer",
            ))),
        }
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug)]
struct MemLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
}

impl FileLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .locks
            .remove(&self.path);
    }
}

impl Vfs for MemVfs {
    fn create_new(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut state = self.state();
        if state.files.contains_key(path) || state.is_dir(path) {
            return Err(Error::io("create", path)(already_exists()));
        }
        Self::check_parent(&state, path, "create")?;
        let inode = InodeRef::default();
        state.files.insert(path.to_path_buf(), inode.clone());
        Ok(Box::new(MemWritable {
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        let mut state = self.state();
        let inode = Self::existing_file(&state, from, "link")?;
        if state.files.contains_key(to) || state.is_dir(to) {
            return Err(Error::io("link", to)(already_exists()));
        }
        Self::check_parent(&state, to, "link")?;
        state.files.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let state = self.state();
        let inode = Self::existing_file(&state, path, "open")?;
        Ok(Box::new(MemWritable {
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        let state = self.state();
        let inode = Self::existing_file(&state, path, "open")?;
        let size = lock_inode(&inode).data.len() as u64;
        Ok(Arc::new(MemReadable {
            inode,
            size,
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.do_rename(from, to, true)
            .map_err(Error::io("rename", from))
    }

    fn rename_no_replace(&self, from: &Path, to: &Path) -> Result<()> {
        self.do_rename(from, to, false)
            .map_err(|err| super::rename_no_replace_error(from, to, err))
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let mut state = self.state();
        Self::existing_file(&state, path, "remove")?;
        state.files.remove(path);
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        let state = self.state();
        let inode = Self::existing_file(&state, path, "open")?;
        let len = usize::try_from(len).map_err(|_| {
            Error::io("truncate", path)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "length too large for memory",
            ))
        })?;
        let mut inode = lock_inode(&inode);
        inode.data.resize(len, 0);
        // Like the real one, truncate fsyncs: the new length and content are durable.
        inode.synced_len = len;
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let mut state = self.state();
        if !state.is_dir(path) {
            let err = if state.files.contains_key(path) {
                not_a_directory()
            } else {
                not_found()
            };
            return Err(Error::io("open directory", path)(err));
        }
        let state = &mut *state;
        state.durable.retain(|p, _| parent_dir(p) != path);
        for (p, inode) in &state.files {
            if parent_dir(p) == path {
                state.durable.insert(p.clone(), inode.clone());
            }
        }
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        let mut state = self.state();
        for dir in path.ancestors().filter(|d| !d.as_os_str().is_empty()) {
            if state.files.contains_key(dir) {
                return Err(Error::io("create directory", path)(if dir == path {
                    already_exists()
                } else {
                    not_a_directory()
                }));
            }
        }
        for dir in path.ancestors().filter(|d| !d.as_os_str().is_empty()) {
            // Simplification: directories are durable at once (see the module docs).
            state.dirs.insert(dir.to_path_buf());
        }
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let state = self.state();
        if !state.is_dir(path) {
            let err = if state.files.contains_key(path) {
                not_a_directory()
            } else {
                not_found()
            };
            return Err(Error::io("list directory", path)(err));
        }
        let names: BTreeSet<String> = state
            .files
            .keys()
            .chain(state.dirs.iter())
            .filter(|p| p.as_path() != path && parent_dir(p) == path)
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        Ok(names.into_iter().collect())
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        let state = self.state();
        Ok(state.files.contains_key(path) || state.is_dir(path))
    }

    fn file_size(&self, path: &Path) -> Result<u64> {
        let state = self.state();
        match state.file(path) {
            Some(inode) => Ok(lock_inode(inode).data.len() as u64),
            None if state.is_dir(path) => Ok(0),
            None => Err(Error::io("stat", path)(not_found())),
        }
    }

    fn lock_holder(&self, path: &Path) -> Result<Option<Option<u32>>> {
        let state = self.state();
        if !state.locks.contains(path) {
            return Ok(None);
        }
        let pid = state.file(path).and_then(|inode| {
            let inode = lock_inode(inode);
            String::from_utf8_lossy(&inode.data).trim().parse().ok()
        });
        Ok(Some(pid))
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        let mut state = self.state();
        if state.locks.contains(path) {
            return Err(Error::Locked {
                path: parent_dir(path),
                pid: Some(std::process::id()),
            });
        }
        let inode = match state.file(path) {
            Some(inode) => inode.clone(),
            None => {
                if state.is_dir(path) {
                    return Err(Error::io("open", path)(is_a_directory()));
                }
                Self::check_parent(&state, path, "open")?;
                let inode = InodeRef::default();
                state.files.insert(path.to_path_buf(), inode.clone());
                inode
            }
        };
        // Like the real one: replace the content with our pid (written, not synced; a power
        // loss may leave the file empty).
        {
            let mut inode = lock_inode(&inode);
            inode.data = format!("{}\n", std::process::id()).into_bytes();
            inode.synced_len = 0;
        }
        state.locks.insert(path.to_path_buf());
        Ok(Box::new(MemLock {
            state: self.state.clone(),
            path: path.to_path_buf(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    /// A filesystem with directory `db`.
    fn fs() -> MemVfs {
        let fs = MemVfs::new();
        fs.create_dir_all(&p("db")).unwrap();
        fs
    }

    #[test]
    fn unsynced_bytes_vanish_on_power_loss_but_survive_kill() {
        let fs = fs();
        let f = fs.create_new(&p("db/a")).unwrap();
        fs.sync_dir(&p("db")).unwrap();
        f.append(b"hello").unwrap();
        f.sync().unwrap();
        f.append(b" world").unwrap();
        assert_eq!(fs.read_file("db/a").unwrap(), b"hello world");
        assert_eq!(fs.crash_clone().read_file("db/a").unwrap(), b"hello");
        let killed = fs.process_crash_clone();
        assert_eq!(killed.read_file("db/a").unwrap(), b"hello world");
        // Everything in a process-crash clone is durable.
        assert_eq!(
            killed.crash_clone().read_file("db/a").unwrap(),
            b"hello world"
        );
    }

    #[test]
    fn torn_writeback_keeps_any_subset_of_unsynced_pages() {
        let fs = fs();
        let f = fs.create_new(&p("db/a")).unwrap();
        fs.sync_dir(&p("db")).unwrap();
        f.append(b"0123456").unwrap();
        f.sync().unwrap();
        // At page size 4 the unsynced pages are 4..8 (only "7" unsynced), 8..12, 12..16, 16..20.
        f.append(b"789abcdefghij").unwrap();
        assert_eq!(fs.unsynced_pages(4), vec![(p("db/a"), 4)]);
        use PageWriteback::{Lost, Written, Zeroed};
        let clone = |fates: [PageWriteback; 4]| {
            fs.torn_crash_clone(4, |_, i| fates[i])
                .read_file("db/a")
                .unwrap()
        };
        assert_eq!(clone([Written; 4]), b"0123456789abcdefghij");
        assert_eq!(clone([Lost; 4]), b"0123456");
        let mut zeroed = b"0123456".to_vec();
        zeroed.resize(20, 0);
        assert_eq!(clone([Zeroed; 4]), zeroed);
        // The first unsynced page lost, a later one written: a hole of zeros before it.
        assert_eq!(clone([Lost, Written, Lost, Lost]), b"0123456\x0089ab");
        assert_eq!(clone([Lost, Lost, Written, Lost]), b"0123456\0\0\0\0\0cdef");
        let mut tail_zeroed = b"01234567".to_vec();
        tail_zeroed.resize(20, 0);
        assert_eq!(clone([Written, Lost, Lost, Zeroed]), tail_zeroed);
        // Only entries a power loss keeps, and synced files have no unsynced pages.
        let g = fs.create_new(&p("db/b")).unwrap();
        g.append(b"unlisted").unwrap();
        assert_eq!(fs.unsynced_pages(4).len(), 1);
        assert!(fs
            .torn_crash_clone(4, |_, _| Written)
            .read_file("db/b")
            .is_none());
    }

    #[test]
    fn synced_file_in_unsynced_directory_vanishes() {
        let fs = fs();
        let f = fs.create_new(&p("db/a")).unwrap();
        f.append(b"data").unwrap();
        f.sync().unwrap();
        let crashed = fs.crash_clone();
        assert_eq!(crashed.read_file("db/a"), None);
        assert!(!crashed.exists(&p("db/a")).unwrap());
        // The directory itself is durable.
        assert!(crashed.exists(&p("db")).unwrap());
        assert_eq!(crashed.list_dir(&p("db")).unwrap(), Vec::<String>::new());
        fs.sync_dir(&p("db")).unwrap();
        assert_eq!(fs.crash_clone().read_file("db/a").unwrap(), b"data");
    }

    #[test]
    fn rename_is_undone_by_power_loss_unless_directory_synced() {
        let fs = fs();
        fs.write_file("db/old", b"old");
        fs.write_file("db/tmp", b"new");
        fs.rename(&p("db/tmp"), &p("db/old")).unwrap();
        assert_eq!(fs.read_file("db/old").unwrap(), b"new");
        assert_eq!(fs.read_file("db/tmp"), None);
        let crashed = fs.crash_clone();
        assert_eq!(crashed.read_file("db/old").unwrap(), b"old");
        assert_eq!(crashed.read_file("db/tmp").unwrap(), b"new");
        fs.sync_dir(&p("db")).unwrap();
        let crashed = fs.crash_clone();
        assert_eq!(crashed.read_file("db/old").unwrap(), b"new");
        assert_eq!(crashed.read_file("db/tmp"), None);
    }

    #[test]
    fn remove_is_undone_by_power_loss_unless_directory_synced() {
        let fs = fs();
        fs.write_file("db/a", b"a");
        fs.remove_file(&p("db/a")).unwrap();
        assert!(!fs.exists(&p("db/a")).unwrap());
        assert_eq!(fs.crash_clone().read_file("db/a").unwrap(), b"a");
        fs.sync_dir(&p("db")).unwrap();
        assert_eq!(fs.crash_clone().read_file("db/a"), None);
        assert!(fs.remove_file(&p("db/a")).is_err());
    }

    #[test]
    fn truncate_is_durable() {
        let fs = fs();
        fs.write_file("db/a", b"0123456789");
        let f = fs.open_append(&p("db/a")).unwrap();
        f.append(b"unsynced").unwrap();
        fs.truncate(&p("db/a"), 4).unwrap();
        assert_eq!(fs.read_file("db/a").unwrap(), b"0123");
        assert_eq!(fs.crash_clone().read_file("db/a").unwrap(), b"0123");
        assert_eq!(fs.file_size(&p("db/a")).unwrap(), 4);
        // Appends after a truncate land at the new end and are not durable until synced.
        f.append(b"xy").unwrap();
        assert_eq!(fs.read_file("db/a").unwrap(), b"0123xy");
        assert_eq!(fs.crash_clone().read_file("db/a").unwrap(), b"0123");
    }

    #[test]
    fn create_new_refuses_existing_path_and_missing_parent() {
        let fs = fs();
        fs.create_new(&p("db/a")).unwrap();
        match fs.create_new(&p("db/a")) {
            Err(Error::Io { op, source, .. }) => {
                assert_eq!(op, "create");
                assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
            }
            other => panic!("expected AlreadyExists, got {:?}", other.err()),
        }
        match fs.create_new(&p("nodir/a")) {
            Err(Error::Io { source, .. }) => assert_eq!(source.kind(), io::ErrorKind::NotFound),
            other => panic!("expected NotFound, got {:?}", other.err()),
        }
        assert!(fs.open_append(&p("db/missing")).is_err());
        assert!(fs.open_read(&p("db/missing")).is_err());
    }

    #[test]
    fn lock_twice_is_locked_until_dropped() {
        let fs = fs();
        let held = fs.lock(&p("db/LOCK")).unwrap();
        match fs.clone().lock(&p("db/LOCK")) {
            Err(Error::Locked { path, pid }) => {
                assert_eq!(path, p("db"));
                assert_eq!(pid, Some(std::process::id()));
            }
            other => panic!("expected Locked, got {:?}", other.err()),
        }
        // A crash clone is another machine: the lock is not held there.
        let clone = fs.crash_clone();
        drop(clone.lock(&p("db/LOCK")).unwrap());
        drop(held);
        let _again = fs.lock(&p("db/LOCK")).unwrap();
        assert!(fs.exists(&p("db/LOCK")).unwrap());
    }

    #[test]
    fn read_past_end_fails() {
        let fs = fs();
        fs.write_file("db/a", b"abc");
        let r = fs.open_read(&p("db/a")).unwrap();
        assert_eq!(r.size(), 3);
        let mut buf = [0u8; 2];
        r.read_exact_at(1, &mut buf).unwrap();
        assert_eq!(&buf, b"bc");
        match r.read_exact_at(2, &mut buf) {
            Err(Error::Io { op, source, .. }) => {
                assert_eq!(op, "read");
                assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof);
            }
            other => panic!("expected UnexpectedEof, got {other:?}"),
        }
        assert!(r.read_exact_at(u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn rename_no_replace_refuses_existing_target() {
        let fs = fs();
        fs.write_file("db/a", b"new");
        fs.write_file("db/b", b"old");
        match fs.rename_no_replace(&p("db/a"), &p("db/b")) {
            Err(Error::Io { op, path, source }) => {
                assert_eq!(op, "rename-no-replace");
                assert_eq!(path, p("db/b"));
                assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert_eq!(fs.read_file("db/b").unwrap(), b"old");
        fs.remove_file(&p("db/b")).unwrap();
        fs.rename_no_replace(&p("db/a"), &p("db/b")).unwrap();
        assert_eq!(fs.read_file("db/b").unwrap(), b"new");
    }

    #[test]
    fn list_dir_names_files_and_subdirectories_sorted() {
        let fs = fs();
        fs.create_dir_all(&p("db/wal")).unwrap();
        fs.write_file("db/b", b"");
        fs.write_file("db/a", b"");
        fs.write_file("db/wal/000001.wal", b"");
        assert_eq!(fs.list_dir(&p("db")).unwrap(), vec!["a", "b", "wal"]);
        assert_eq!(fs.list_dir(&p("db/wal")).unwrap(), vec!["000001.wal"]);
        assert!(fs.list_dir(&p("nope")).is_err());
        assert_eq!(
            fs.file_names(),
            vec![p("db/a"), p("db/b"), p("db/wal/000001.wal")]
        );
    }

    #[test]
    fn open_reader_sees_later_writes() {
        let fs = fs();
        let w = fs.create_new(&p("db/a")).unwrap();
        w.append(b"ab").unwrap();
        let r = fs.open_read(&p("db/a")).unwrap();
        w.append(b"cd").unwrap();
        assert_eq!(r.size(), 2);
        let mut buf = [0u8; 4];
        r.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"abcd");
    }
}
