//! `nokv compact`: a full manual compaction.
//!
//! The engine has no compaction yet; [`compact`] is the one place to wire it.

use std::path::Path;

use crate::Options;

use super::engine_options;
use crate::cli::args::{CompactArgs, GlobalArgs};
use crate::cli::CliError;

/// Runs `compact`.
///
/// # Errors
/// "not yet supported".
pub fn run(global: &GlobalArgs, _args: &CompactArgs) -> Result<(), CliError> {
    compact(&global.workdir, engine_options(global))
}

/// Compacts the whole database at `dir` and makes the result durable.
///
/// When the engine gains `Db::compact`, this becomes: open with `opts`, `db.compact()?`,
/// `close(db)` (and a summary on stderr).
fn compact(dir: &Path, opts: Options) -> Result<(), CliError> {
    let _ = (dir, opts);
    Err(CliError::Failed(
        "compact is not yet supported by this version of the engine".into(),
    ))
}
