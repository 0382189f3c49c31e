//! Helpers shared by the integration suites that need them (`mod common;`).

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nokv::vfs::{FileLock, MemVfs, ReadableFile, Vfs, WritableFile};

/// A [`Vfs`] over [`MemVfs`] that can hold one thread at a chosen operation: the first
/// `create_new` by a thread with the armed name, of a path containing the armed needle,
/// blocks until [`Gate::release`]. Lets a test stop a background job mid-way, run something
/// else, then let the job finish: a thread schedule made deterministic.
#[derive(Debug, Clone)]
pub struct GateVfs {
    pub inner: MemVfs,
    pub gate: Arc<Gate>,
    /// Every fsync of a file takes this long (so concurrent writers queue behind one).
    pub sync_delay: Duration,
}

struct SlowSync {
    inner: Box<dyn WritableFile>,
    delay: Duration,
}

impl WritableFile for SlowSync {
    fn append(&self, data: &[u8]) -> nokv::Result<()> {
        self.inner.append(data)
    }
    fn sync(&self) -> nokv::Result<()> {
        std::thread::sleep(self.delay);
        self.inner.sync()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    /// The thread name and the path needle to hold at.
    armed: Option<(String, String)>,
    held: bool,
    released: bool,
}

impl Gate {
    pub fn arm(&self, thread: &str, needle: &str) {
        *self.state.lock().unwrap() = GateState {
            armed: Some((thread.into(), needle.into())),
            held: false,
            released: false,
        };
    }

    /// Waits until the armed thread is held.
    pub fn wait_held(&self) {
        let mut state = self.state.lock().unwrap();
        while !state.held {
            let (next, timeout) = self
                .changed
                .wait_timeout(state, Duration::from_secs(30))
                .unwrap();
            assert!(!timeout.timed_out(), "the gated thread never arrived");
            state = next;
        }
    }

    pub fn release(&self) {
        let mut state = self.state.lock().unwrap();
        state.armed = None;
        state.released = true;
        self.changed.notify_all();
    }

    fn pass(&self, path: &Path) {
        let mut state = self.state.lock().unwrap();
        let name = std::thread::current().name().unwrap_or("").to_string();
        let hit = state.armed.as_ref().is_some_and(|(thread, needle)| {
            *thread == name && path.to_string_lossy().contains(needle.as_str())
        });
        if !hit {
            return;
        }
        state.armed = None;
        state.held = true;
        self.changed.notify_all();
        while !state.released {
            state = self.changed.wait(state).unwrap();
        }
    }
}

impl GateVfs {
    pub fn new() -> GateVfs {
        GateVfs {
            inner: MemVfs::new(),
            gate: Arc::default(),
            sync_delay: Duration::ZERO,
        }
    }

    fn slow(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        if self.sync_delay.is_zero() {
            return file;
        }
        Box::new(SlowSync {
            inner: file,
            delay: self.sync_delay,
        })
    }
}

impl Vfs for GateVfs {
    fn create_new(&self, path: &Path) -> nokv::Result<Box<dyn WritableFile>> {
        self.gate.pass(path);
        Ok(self.slow(self.inner.create_new(path)?))
    }
    fn open_append(&self, path: &Path) -> nokv::Result<Box<dyn WritableFile>> {
        Ok(self.slow(self.inner.open_append(path)?))
    }
    fn open_read(&self, path: &Path) -> nokv::Result<Arc<dyn ReadableFile>> {
        self.inner.open_read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> nokv::Result<()> {
        self.inner.rename(from, to)
    }
    fn rename_no_replace(&self, from: &Path, to: &Path) -> nokv::Result<()> {
        self.inner.rename_no_replace(from, to)
    }
    fn remove_file(&self, path: &Path) -> nokv::Result<()> {
        self.inner.remove_file(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> nokv::Result<()> {
        self.inner.truncate(path, len)
    }
    fn sync_dir(&self, path: &Path) -> nokv::Result<()> {
        self.inner.sync_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> nokv::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> nokv::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> nokv::Result<bool> {
        self.inner.exists(path)
    }
    fn file_size(&self, path: &Path) -> nokv::Result<u64> {
        self.inner.file_size(path)
    }
    fn lock(&self, path: &Path) -> nokv::Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
    fn lock_holder(&self, path: &Path) -> nokv::Result<Option<Option<u32>>> {
        self.inner.lock_holder(path)
    }
}
