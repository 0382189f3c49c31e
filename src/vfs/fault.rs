//! Fault injection: a [`Vfs`] wrapper that records every operation and can fail or "crash" at
//! the k-th operation of a given kind or path.
//!
//! PLACEHOLDER API — implementation in progress.

use std::path::PathBuf;
use std::sync::Arc;

use super::Vfs;

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

/// A fault-injecting wrapper around another [`Vfs`].
#[derive(Debug)]
pub struct FaultVfs {
    _inner: Arc<dyn Vfs>,
}
