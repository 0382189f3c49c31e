//! An in-memory filesystem that models power loss. PLACEHOLDER — implementation in progress.

/// In-memory filesystem.
#[derive(Debug, Clone, Default)]
pub struct MemVfs {}
