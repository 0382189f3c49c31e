//! Fault injection: [`FaultVfs`], a [`Vfs`] wrapper that records every operation (including
//! those on the files it opens) and can fail or "crash" at the k-th operation of a given kind
//! or path, with errors named exactly as the real filesystem names them.
//!
//! Every operation is recorded, then checked against the rules, then (if no rule stops it)
//! forwarded to the inner [`Vfs`]. A failed or crashed operation has no effect, except a
//! [`FaultAction::CrashTornWrite`] firing on a `Write`, which first forwards half the bytes.
//! Over a [`super::MemVfs`], a crash followed by [`super::MemVfs::crash_clone`] models a power
//! loss at that exact operation.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{FileLock, ReadableFile, Vfs, WritableFile};
use crate::error::{Error, Result};

/// The kinds of operation the engine performs on a [`Vfs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `create_new`
    Create,
    /// `open_append`
    OpenAppend,
    /// `open_read`
    OpenRead,
    /// `ReadableFile::read_exact_at`
    Read,
    /// `WritableFile::append`
    Write,
    /// `WritableFile::sync`
    Sync,
    /// `rename`
    Rename,
    /// `rename_no_replace`
    RenameNoReplace,
    /// `remove_file`
    Remove,
    /// `truncate`
    Truncate,
    /// `sync_dir`
    SyncDir,
    /// `create_dir_all`
    CreateDir,
    /// `list_dir`
    ListDir,
    /// `exists`
    Exists,
    /// `file_size`
    FileSize,
    /// `lock`
    Lock,
}

impl OpKind {
    /// True for operations that change what is on disk.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            OpKind::Create
                | OpKind::Write
                | OpKind::Sync
                | OpKind::Rename
                | OpKind::RenameNoReplace
                | OpKind::Remove
                | OpKind::Truncate
                | OpKind::SyncDir
                | OpKind::CreateDir
        )
    }
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// What was done.
    pub kind: OpKind,
    /// The path it was done to (for a rename, the source).
    pub path: PathBuf,
}

/// Which operations a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpSelector {
    /// Every operation.
    All,
    /// Operations that change the disk ([`OpKind::is_mutating`]).
    Mutating,
    /// One kind.
    Kind(OpKind),
}

/// What happens when a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Fail this operation with the OS error `errno`, without effect; later ones proceed.
    FailOnce(i32),
    /// Fail this and every later matching operation with `errno`.
    FailAlways(i32),
    /// Simulated crash: this and every later operation of any kind fail without effect.
    Crash,
    /// Like `Crash`, but a `Write` that fires it first writes the first half of its bytes.
    CrashTornWrite,
}

/// Fires `action` at the `nth` (0-based) operation that matches `select` and whose path
/// contains `path_contains` (when set).
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Which operations are counted.
    pub select: OpSelector,
    /// Only operations whose path contains this string are counted.
    pub path_contains: Option<String>,
    /// Fire at this matching operation (0-based).
    pub nth: u64,
    /// What to do.
    pub action: FaultAction,
}

impl OpKind {
    /// The operation name the real filesystem puts in [`Error::Io`] for this kind.
    pub fn io_op_name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::OpenAppend | OpKind::OpenRead => "open",
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Sync => "fsync",
            OpKind::Rename => "rename",
            OpKind::RenameNoReplace => "rename-no-replace",
            OpKind::Remove => "remove",
            OpKind::Truncate => "truncate",
            OpKind::SyncDir => "fsync directory",
            OpKind::CreateDir => "create directory",
            OpKind::ListDir => "list directory",
            OpKind::Exists | OpKind::FileSize => "stat",
            OpKind::Lock => "lock",
        }
    }
}

impl OpSelector {
    /// Whether this selector counts an operation of `kind`.
    pub fn matches(self, kind: OpKind) -> bool {
        match self {
            OpSelector::All => true,
            OpSelector::Mutating => kind.is_mutating(),
            OpSelector::Kind(k) => k == kind,
        }
    }
}

impl FaultRule {
    /// A rule firing `action` at the `nth` (0-based) operation matching `select`, any path.
    pub fn new(select: OpSelector, nth: u64, action: FaultAction) -> Self {
        FaultRule {
            select,
            path_contains: None,
            nth,
            action,
        }
    }

    /// Restricts the rule to operations whose path contains `needle`.
    pub fn on_path(mut self, needle: impl Into<String>) -> Self {
        self.path_contains = Some(needle.into());
        self
    }

    /// Whether the rule counts this operation.
    pub fn matches(&self, op: &Op) -> bool {
        self.select.matches(op.kind)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|needle| op.path.to_string_lossy().contains(needle))
    }
}

/// The error every operation gets once a simulated crash has happened.
fn crash_error() -> io::Error {
    io::Error::other("simulated crash")
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    /// Matching operations seen so far.
    seen: u64,
    /// A `FailAlways` rule that has fired.
    stuck: bool,
}

#[derive(Debug, Default)]
struct State {
    ops: Vec<Op>,
    op_count: u64,
    mutating_op_count: u64,
    rules: Vec<RuleState>,
    crashed: bool,
    fired: bool,
}

/// What the rules decided for one operation.
enum Verdict {
    Proceed,
    Fail(io::Error),
    /// A crash fired by `CrashTornWrite` on a write: forward half the bytes, then fail.
    TornWrite,
}

/// The shared recorder and rule book; file handles keep a reference so their operations are
/// recorded and checked too.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the operation and decides its fate.
    fn check(&self, kind: OpKind, path: &Path) -> Verdict {
        let mut state = self.state();
        let op = Op {
            kind,
            path: path.to_path_buf(),
        };
        state.op_count += 1;
        if kind.is_mutating() {
            state.mutating_op_count += 1;
        }
        let already_crashed = state.crashed;
        let mut crash = None;
        let mut fail = None;
        let mut fired = false;
        // Every rule counts the operation, even when an earlier one already decided its fate.
        for rule in &mut state.rules {
            if !rule.rule.matches(&op) {
                continue;
            }
            let n = rule.seen;
            rule.seen += 1;
            if rule.stuck {
                if let FaultAction::FailAlways(errno) = rule.rule.action {
                    fail.get_or_insert(errno);
                }
                continue;
            }
            if n != rule.rule.nth {
                continue;
            }
            fired = true;
            match rule.rule.action {
                FaultAction::FailOnce(errno) => {
                    fail.get_or_insert(errno);
                }
                FaultAction::FailAlways(errno) => {
                    rule.stuck = true;
                    fail.get_or_insert(errno);
                }
                FaultAction::Crash => crash = Some(false),
                FaultAction::CrashTornWrite => {
                    crash.get_or_insert(kind == OpKind::Write);
                }
            }
        }
        state.ops.push(op);
        state.fired |= fired;
        if already_crashed {
            return Verdict::Fail(crash_error());
        }
        if let Some(torn) = crash {
            state.crashed = true;
            return if torn {
                Verdict::TornWrite
            } else {
                Verdict::Fail(crash_error())
            };
        }
        match fail {
            Some(errno) => Verdict::Fail(io::Error::from_raw_os_error(errno)),
            None => Verdict::Proceed,
        }
    }

    /// Records and checks an operation that is not a write: `Err` when a rule stops it.
    fn gate(&self, kind: OpKind, path: &Path) -> Result<()> {
        match self.check(kind, path) {
            Verdict::Proceed => Ok(()),
            // Only a `Write` can tear; anything else crashes whole.
            Verdict::TornWrite => Err(Error::io(kind.io_op_name(), path)(crash_error())),
            Verdict::Fail(err) => Err(Error::io(kind.io_op_name(), path)(err)),
        }
    }
}

/// A fault-injecting wrapper around another [`Vfs`]. Cheap to clone; clones and the file
/// handles it returns share one record and one rule book.
#[derive(Debug, Clone)]
pub struct FaultVfs {
    inner: Arc<dyn Vfs>,
    shared: Arc<Shared>,
}

impl FaultVfs {
    /// Wraps `inner` with no rules.
    pub fn new(inner: Arc<dyn Vfs>) -> Self {
        FaultVfs {
            inner,
            shared: Arc::default(),
        }
    }

    /// The wrapped filesystem.
    pub fn inner(&self) -> &Arc<dyn Vfs> {
        &self.inner
    }

    /// Adds a rule. It counts operations from now on.
    pub fn add_rule(&self, rule: FaultRule) {
        self.shared.state().rules.push(RuleState {
            rule,
            seen: 0,
            stuck: false,
        });
    }

    /// Removes every rule (a crash that has happened stays in effect).
    pub fn clear_rules(&self) {
        self.shared.state().rules.clear();
    }

    /// Every operation attempted since creation or [`FaultVfs::clear_ops`], in order,
    /// including failed ones.
    pub fn ops(&self) -> Vec<Op> {
        self.shared.state().ops.clone()
    }

    /// Forgets the recorded operations and resets [`FaultVfs::op_count`] and
    /// [`FaultVfs::mutating_op_count`]. Rules keep their counts.
    pub fn clear_ops(&self) {
        let mut state = self.shared.state();
        state.ops.clear();
        state.op_count = 0;
        state.mutating_op_count = 0;
    }

    /// Operations attempted since creation or [`FaultVfs::clear_ops`].
    pub fn op_count(&self) -> u64 {
        self.shared.state().op_count
    }

    /// Mutating operations ([`OpKind::is_mutating`]) attempted since creation or
    /// [`FaultVfs::clear_ops`].
    pub fn mutating_op_count(&self) -> u64 {
        self.shared.state().mutating_op_count
    }

    /// Whether a simulated crash has happened.
    pub fn crashed(&self) -> bool {
        self.shared.state().crashed
    }

    /// Whether any rule has fired.
    pub fn fired(&self) -> bool {
        self.shared.state().fired
    }
}

struct FaultWritable {
    inner: Box<dyn WritableFile>,
    shared: Arc<Shared>,
}

impl WritableFile for FaultWritable {
    fn append(&self, data: &[u8]) -> Result<()> {
        let path = self.inner.path();
        match self.shared.check(OpKind::Write, path) {
            Verdict::Proceed => self.inner.append(data),
            Verdict::Fail(err) => Err(Error::io("write", path)(err)),
            Verdict::TornWrite => {
                let half = &data[..data.len() / 2];
                if !half.is_empty() {
                    // The crash error wins over whatever the partial write says.
                    let _ = self.inner.append(half);
                }
                Err(Error::io("write", path)(crash_error()))
            }
        }
    }

    fn sync(&self) -> Result<()> {
        self.shared.gate(OpKind::Sync, self.inner.path())?;
        self.inner.sync()
    }

    fn path(&self) -> &Path {
        self.inner.path()
    }
}

struct FaultReadable {
    inner: Arc<dyn ReadableFile>,
    shared: Arc<Shared>,
}

impl ReadableFile for FaultReadable {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.shared.gate(OpKind::Read, self.inner.path())?;
        self.inner.read_exact_at(offset, buf)
    }

    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn path(&self) -> &Path {
        self.inner.path()
    }
}

impl Vfs for FaultVfs {
    fn create_new(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.shared.gate(OpKind::Create, path)?;
        Ok(Box::new(FaultWritable {
            inner: self.inner.create_new(path)?,
            shared: self.shared.clone(),
        }))
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.shared.gate(OpKind::OpenAppend, path)?;
        Ok(Box::new(FaultWritable {
            inner: self.inner.open_append(path)?,
            shared: self.shared.clone(),
        }))
    }

    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        self.shared.gate(OpKind::OpenRead, path)?;
        Ok(Arc::new(FaultReadable {
            inner: self.inner.open_read(path)?,
            shared: self.shared.clone(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.shared.gate(OpKind::Rename, from)?;
        self.inner.rename(from, to)
    }

    fn rename_no_replace(&self, from: &Path, to: &Path) -> Result<()> {
        match self.shared.check(OpKind::RenameNoReplace, from) {
            Verdict::Proceed => self.inner.rename_no_replace(from, to),
            Verdict::Fail(err) => Err(super::rename_no_replace_error(from, to, err)),
            Verdict::TornWrite => Err(super::rename_no_replace_error(from, to, crash_error())),
        }
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        self.shared.gate(OpKind::Remove, path)?;
        self.inner.remove_file(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        self.shared.gate(OpKind::Truncate, path)?;
        self.inner.truncate(path, len)
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.shared.gate(OpKind::SyncDir, path)?;
        self.inner.sync_dir(path)
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        self.shared.gate(OpKind::CreateDir, path)?;
        self.inner.create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        self.shared.gate(OpKind::ListDir, path)?;
        self.inner.list_dir(path)
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        self.shared.gate(OpKind::Exists, path)?;
        self.inner.exists(path)
    }

    fn file_size(&self, path: &Path) -> Result<u64> {
        self.shared.gate(OpKind::FileSize, path)?;
        self.inner.file_size(path)
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        self.shared.gate(OpKind::Lock, path)?;
        self.inner.lock(path)
    }

    fn lock_holder(&self, path: &Path) -> Result<Option<Option<u32>>> {
        self.shared.gate(OpKind::Lock, path)?;
        self.inner.lock_holder(path)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        // A new directory entry, like a create (of `to`).
        self.shared.gate(OpKind::Create, to)?;
        self.inner.hard_link(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemVfs;

    const EIO: i32 = 5;
    const ENOSPC: i32 = 28;
    const EINVAL: i32 = 22;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn setup() -> (MemVfs, FaultVfs) {
        let mem = MemVfs::new();
        mem.create_dir_all(&p("db")).unwrap();
        let fault = FaultVfs::new(Arc::new(mem.clone()));
        (mem, fault)
    }

    fn os_error(err: &Error) -> Option<i32> {
        match err {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    fn is_crash(err: &Error) -> bool {
        matches!(err, Error::Io { source, .. }
            if source.kind() == io::ErrorKind::Other && source.to_string() == "simulated crash")
    }

    #[test]
    fn records_operations_in_order() {
        let (_mem, fs) = setup();
        let f = fs.create_new(&p("db/a")).unwrap();
        f.append(b"x").unwrap();
        f.sync().unwrap();
        fs.sync_dir(&p("db")).unwrap();
        fs.rename(&p("db/a"), &p("db/b")).unwrap();
        let r = fs.open_read(&p("db/b")).unwrap();
        let mut buf = [0u8; 1];
        r.read_exact_at(0, &mut buf).unwrap();
        assert!(fs.exists(&p("db/zzz")).is_ok());
        let expected = [
            (OpKind::Create, "db/a"),
            (OpKind::Write, "db/a"),
            (OpKind::Sync, "db/a"),
            (OpKind::SyncDir, "db"),
            (OpKind::Rename, "db/a"),
            (OpKind::OpenRead, "db/b"),
            (OpKind::Read, "db/b"),
            (OpKind::Exists, "db/zzz"),
        ]
        .map(|(kind, path)| Op {
            kind,
            path: p(path),
        });
        assert_eq!(fs.ops(), expected);
        assert_eq!(fs.op_count(), 8);
        assert_eq!(fs.mutating_op_count(), 5);
        assert!(!fs.fired());
        fs.clear_ops();
        assert!(fs.ops().is_empty());
        assert_eq!(fs.op_count(), 0);
    }

    #[test]
    fn fail_once_fails_only_the_nth_sync() {
        let (mem, fs) = setup();
        fs.add_rule(FaultRule::new(
            OpSelector::Kind(OpKind::Sync),
            1,
            FaultAction::FailOnce(EIO),
        ));
        let f = fs.create_new(&p("db/a")).unwrap();
        f.append(b"1").unwrap();
        f.sync().unwrap();
        f.append(b"2").unwrap();
        let err = f.sync().unwrap_err();
        assert_eq!(os_error(&err), Some(EIO));
        assert!(matches!(err, Error::Io { op: "fsync", ref path, .. } if path == &p("db/a")));
        assert!(fs.fired());
        assert!(!fs.crashed());
        fs.sync_dir(&p("db")).unwrap();
        // The failed sync had no effect.
        assert_eq!(mem.crash_clone().read_file("db/a").unwrap(), b"1");
        f.sync().unwrap();
        assert_eq!(mem.crash_clone().read_file("db/a").unwrap(), b"12");
        // The failed op is recorded too.
        let syncs = fs.ops().iter().filter(|o| o.kind == OpKind::Sync).count();
        assert_eq!(syncs, 3);
    }

    #[test]
    fn fail_always_keeps_failing_matching_ops() {
        let (mem, fs) = setup();
        fs.add_rule(FaultRule::new(
            OpSelector::Kind(OpKind::Write),
            1,
            FaultAction::FailAlways(ENOSPC),
        ));
        let f = fs.create_new(&p("db/a")).unwrap();
        f.append(b"ok").unwrap();
        for _ in 0..3 {
            let err = f.append(b"no").unwrap_err();
            assert_eq!(os_error(&err), Some(ENOSPC));
            assert!(matches!(err, Error::Io { op: "write", .. }));
        }
        // Other kinds still proceed.
        f.sync().unwrap();
        assert_eq!(mem.read_file("db/a").unwrap(), b"ok");
        fs.clear_rules();
        f.append(b"!").unwrap();
        assert_eq!(mem.read_file("db/a").unwrap(), b"ok!");
    }

    #[test]
    fn crash_fails_every_later_op_without_effect() {
        let (mem, fs) = setup();
        fs.add_rule(FaultRule::new(OpSelector::Mutating, 2, FaultAction::Crash));
        let f = fs.create_new(&p("db/a")).unwrap(); // mutating #0
        f.append(b"abc").unwrap(); // #1
        let err = f.sync().unwrap_err(); // #2: crash
        assert!(is_crash(&err), "{err}");
        assert!(fs.crashed());
        assert!(is_crash(&f.append(b"def").unwrap_err()));
        assert!(is_crash(&fs.sync_dir(&p("db")).unwrap_err()));
        assert!(is_crash(&fs.exists(&p("db/a")).unwrap_err()));
        assert!(is_crash(&fs.create_new(&p("db/b")).err().unwrap()));
        assert!(is_crash(&fs.remove_file(&p("db/a")).unwrap_err()));
        // Nothing after the crash reached the inner filesystem.
        assert_eq!(mem.read_file("db/a").unwrap(), b"abc");
        assert_eq!(mem.file_names(), vec![p("db/a")]);
        let after = mem.crash_clone();
        assert!(after.file_names().is_empty(), "{:?}", after.file_names());
        // Failed ops are still recorded.
        assert_eq!(fs.ops().len(), 8);
    }

    #[test]
    fn torn_write_leaves_half_the_bytes() {
        let (mem, fs) = setup();
        fs.add_rule(FaultRule::new(
            OpSelector::Kind(OpKind::Write),
            1,
            FaultAction::CrashTornWrite,
        ));
        let f = fs.create_new(&p("db/a")).unwrap();
        f.append(b"head").unwrap();
        let err = f.append(b"12345678").unwrap_err();
        assert!(is_crash(&err), "{err}");
        assert!(fs.crashed());
        assert_eq!(mem.read_file("db/a").unwrap(), b"head1234");
        assert!(f.append(b"more").is_err());
        assert_eq!(mem.read_file("db/a").unwrap(), b"head1234");
    }

    #[test]
    fn torn_write_rule_on_other_op_crashes_whole() {
        let (mem, fs) = setup();
        fs.add_rule(FaultRule::new(
            OpSelector::Kind(OpKind::Sync),
            0,
            FaultAction::CrashTornWrite,
        ));
        let f = fs.create_new(&p("db/a")).unwrap();
        f.append(b"abcd").unwrap();
        assert!(is_crash(&f.sync().unwrap_err()));
        assert_eq!(mem.read_file("db/a").unwrap(), b"abcd");
    }

    #[test]
    fn injected_einval_on_rename_no_replace_is_unsupported() {
        let (mem, fs) = setup();
        mem.write_file("db/a", b"a");
        fs.add_rule(FaultRule::new(
            OpSelector::Kind(OpKind::RenameNoReplace),
            0,
            FaultAction::FailOnce(EINVAL),
        ));
        match fs.rename_no_replace(&p("db/a"), &p("db/b")) {
            Err(Error::RenameNoReplaceUnsupported { from, to, .. }) => {
                assert_eq!(from, p("db/a"));
                assert_eq!(to, p("db/b"));
            }
            other => panic!("expected RenameNoReplaceUnsupported, got {other:?}"),
        }
        assert!(mem.exists(&p("db/a")).unwrap());
        assert!(!mem.exists(&p("db/b")).unwrap());
        fs.rename_no_replace(&p("db/a"), &p("db/b")).unwrap();
        assert!(mem.exists(&p("db/b")).unwrap());
    }

    #[test]
    fn path_filter_counts_only_matching_paths() {
        let (mem, fs) = setup();
        fs.add_rule(
            FaultRule::new(OpSelector::All, 1, FaultAction::FailOnce(EIO)).on_path("CURRENT"),
        );
        let other = fs.create_new(&p("db/000001.sst")).unwrap();
        other.append(b"x").unwrap();
        other.sync().unwrap();
        let current = fs.create_new(&p("db/CURRENT")).unwrap(); // match #0
        let err = current.append(b"MANIFEST").unwrap_err(); // match #1
        assert!(matches!(err, Error::Io { op: "write", ref path, .. } if path == &p("db/CURRENT")));
        current.append(b"MANIFEST").unwrap();
        other.append(b"y").unwrap();
        assert_eq!(mem.read_file("db/CURRENT").unwrap(), b"MANIFEST");
        assert_eq!(mem.read_file("db/000001.sst").unwrap(), b"xy");
    }

    #[test]
    fn errors_are_named_like_the_real_filesystem() {
        let (_mem, fs) = setup();
        fs.add_rule(FaultRule::new(
            OpSelector::All,
            0,
            FaultAction::FailAlways(EIO),
        ));
        let cases: Vec<(&str, Error)> = vec![
            ("create", fs.create_new(&p("db/a")).err().unwrap()),
            ("open", fs.open_append(&p("db/a")).err().unwrap()),
            ("open", fs.open_read(&p("db/a")).err().unwrap()),
            ("rename", fs.rename(&p("db/a"), &p("db/b")).unwrap_err()),
            (
                "rename-no-replace",
                fs.rename_no_replace(&p("db/a"), &p("db/b")).unwrap_err(),
            ),
            ("remove", fs.remove_file(&p("db/a")).unwrap_err()),
            ("truncate", fs.truncate(&p("db/a"), 0).unwrap_err()),
            ("fsync directory", fs.sync_dir(&p("db")).unwrap_err()),
            (
                "create directory",
                fs.create_dir_all(&p("db/x")).unwrap_err(),
            ),
            ("list directory", fs.list_dir(&p("db")).unwrap_err()),
            ("stat", fs.exists(&p("db/a")).unwrap_err()),
            ("stat", fs.file_size(&p("db/a")).unwrap_err()),
            ("lock", fs.lock(&p("db/LOCK")).unwrap_err()),
        ];
        for (want, err) in cases {
            match err {
                Error::Io { op, source, .. } => {
                    assert_eq!(op, want);
                    assert_eq!(source.raw_os_error(), Some(EIO));
                }
                other => panic!("expected Io for {want}, got {other:?}"),
            }
        }
    }

    #[test]
    fn shared_through_arc_dyn_vfs() {
        let (_mem, fault) = setup();
        let fault = Arc::new(fault);
        let vfs: Arc<dyn Vfs> = fault.clone();
        vfs.create_new(&p("db/a")).unwrap().append(b"x").unwrap();
        assert_eq!(fault.op_count(), 2);
    }
}
