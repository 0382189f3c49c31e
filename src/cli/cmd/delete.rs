//! `nokv delete KEY...`: write tombstones, all in one atomic batch. Silent on success.

use crate::WriteBatch;

use super::{close, key_arg, open_existing_for_write};
use crate::cli::args::{DeleteArgs, GlobalArgs};
use crate::cli::CliError;

/// Runs `delete`.
///
/// # Errors
/// Usage errors for bad arguments; engine errors.
pub fn run(global: &GlobalArgs, args: &DeleteArgs) -> Result<(), CliError> {
    let mut batch = WriteBatch::new();
    for (i, arg) in args.keys.iter().enumerate() {
        let key = key_arg(arg, args.hex, &format!("KEY #{}", i + 1))?;
        batch.delete(&key)?;
    }
    let db = open_existing_for_write(global)?;
    db.write(&mut batch)?;
    close(db)
}
